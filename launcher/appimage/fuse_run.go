package appimage

import (
	"os"
	"sync"

	"github.com/gpack/gpack/launcher"
)

// runFUSE runs the program with the image mounted over FUSE, served by
// this process, on an empty directory of $TMPDIR in the program's user and
// mount namespaces (the userns engine's child mounts it): nothing is
// extracted. ran says it ran; otherwise err says why not (no user
// namespaces, no /dev/fuse), and the caller extracts instead.
func (r *run) runFUSE(name string, args []string) (status int, err error, ran bool) {
	mnt, err := os.MkdirTemp("", "gpack-appimage-")
	if err != nil {
		return 0, err, false
	}
	// Only the program's mount namespace has the file system on it: on
	// the host the directory stays empty.
	defer os.Remove(mnt)
	var once sync.Once
	damaged := func(err error) {
		once.Do(func() { r.say(r.exe + " is damaged (copy it again): " + err.Error()) })
	}
	serve := func(fd int) error { return serveFUSE(r.im, fd, damaged) }
	status, ran, err = launcher.RunFUSE(r.start, mnt, r.m, name, args, r.env(mnt, args[0]), serve)
	return status, err, ran
}
