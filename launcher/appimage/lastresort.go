package appimage

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gpack/gpack/launcher"
	"github.com/gpack/gpack/launcher/engine"
)

// The last resorts, for a host without user namespaces whose cache
// cannot be written (a full or read-only home, a quota): the image
// mounted by the setuid fusermount3 (or fusermount) on a directory of
// $TMPDIR, which the host's processes see, served by this process; and,
// without fusermount, an extraction into $TMPDIR for this run alone,
// removed after it. Neither tree may be rewritten for good (the mount is
// read-only, the extraction is gone after the run), so both run the
// program with the ptrace engine, which reads the pack as it is.

// mountHost mounts the image with fusermount on a new directory of
// $TMPDIR and serves it; unmount unmounts it and removes the directory.
func (r *run) mountHost() (mnt string, unmount func(), err error) {
	mnt, err = os.MkdirTemp("", "gpack-appimage-")
	if err != nil {
		return "", nil, err
	}
	var once sync.Once
	fsys := newFuseFS(r.im)
	fsys.damaged = func(err error) {
		once.Do(func() { r.say(r.exe + " is damaged (copy it again): " + err.Error()) })
	}
	opts := mountOptions()
	// As the runtime's own mounts in a user namespace: read-only, and the
	// kernel checks the modes.
	opts.Options = append(opts.Options, "ro", "default_permissions")
	srv, err := fuse.NewServer(fsys, mnt, opts)
	if err != nil {
		os.Remove(mnt)
		return "", nil, err
	}
	fsys.started(srv)
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		fusermountUnmount(mnt)
		os.Remove(mnt)
		return "", nil, err
	}
	return mnt, func() {
		if err := fusermountUnmount(mnt); err != nil {
			r.say("cannot unmount " + mnt + ": " + err.Error())
			return
		}
		os.Remove(mnt)
	}, nil
}

// fusermountUnmount unmounts mnt with fusermount -u, which go-fuse's
// Server.Unmount also runs, but through os/exec: the runtime's size
// budget (4 MiB) has no room for it.
func fusermountUnmount(mnt string) error {
	var err error
	for _, name := range []string{"fusermount3", "fusermount"} {
		// Where go-fuse looks for it to mount: $PATH, then /bin.
		for _, dir := range append(filepath.SplitList(os.Getenv("PATH")), "/bin") {
			if !filepath.IsAbs(dir) {
				continue
			}
			bin := dir + "/" + name
			if _, serr := os.Stat(bin); serr != nil {
				continue
			}
			p, serr := os.StartProcess(bin, []string{bin, "-u", "-z", mnt}, &os.ProcAttr{Files: []*os.File{nil, nil, os.Stderr}})
			if serr != nil {
				err = serr
				continue
			}
			st, werr := p.Wait()
			if werr == nil && st.Success() {
				return nil
			}
			err = errors.New(bin + " -u failed")
		}
	}
	if err == nil {
		err = errors.New("no fusermount3 or fusermount")
	}
	return err
}

// runMounted runs the program name from the image that fusermount
// mounted, with ptrace. ran is false, with the reason, when it could not
// be mounted.
func (r *run) runMounted(name string, args []string) (status int, err error, ran bool) {
	mnt, unmount, err := r.mountHost()
	if err != nil {
		return 0, err, false
	}
	defer unmount()
	r.debug("mounted by fusermount on " + mnt + ": running with ptrace")
	return launcher.RunPackWith(r.start, mnt, "ptrace", name, args, r.env(mnt, args[0])), nil, true
}

// runTemporary extracts the image, once checked, into a new directory of
// $TMPDIR, runs the program name from it with ptrace and removes it.
func (r *run) runTemporary(name string, args []string) (int, error) {
	if err := verify(r.f, r.l); err != nil {
		return engine.ExitCannotRun, err
	}
	dir, err := os.MkdirTemp("", "gpack-appimage-run-")
	if err != nil {
		return engine.ExitCannotRun, fmt.Errorf("neither the cache nor $TMPDIR can be written: %w", err)
	}
	defer removeTree(dir)
	if err := extract(r.im, dir, nil); err != nil {
		return engine.ExitCannotRun, fmt.Errorf("neither the cache nor $TMPDIR can be written: extracting into %s: %w", dir, err)
	}
	if err := os.Chmod(dir, perm(r.im.Root())); err != nil {
		return engine.ExitCannotRun, err
	}
	r.debug("extracted into " + dir + " for this run: running with ptrace")
	return launcher.RunPackWith(r.start, dir, "ptrace", name, args, r.env(dir, args[0])), nil
}

// mountOnly is --appimage-mount: the image mounted by fusermount, its
// path printed, until SIGINT, SIGTERM or SIGHUP. The runtime's own mounts,
// in a user namespace, are the program's alone: the host's processes need
// fusermount's.
func (r *run) mountOnly() (int, error) {
	mnt, unmount, err := r.mountHost()
	if err != nil {
		return 1, errors.New("--appimage-mount needs fusermount3 or fusermount, which could not mount the image: " + err.Error() +
			" (use --appimage-extract, or run the programs with --gpack-run NAME)")
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	fmt.Println(mnt)
	<-stop
	signal.Stop(stop)
	unmount()
	return 0, nil
}
