package oci

import (
	"errors"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// cacheLockName is the lock file of the layer cache. Every build holds it
// shared for as long as its temporary files may exist (until Image.Close);
// a build that gets it exclusive first knows that no other build is
// running, so that every temporary file in the cache was left behind by a
// build that was killed, and removes them. flock locks go away with the
// process that holds them, however it ends, which a pid in the name would
// not tell as surely (pids are reused, and a container sharing the cache
// has pids of its own).
const cacheLockName = ".lock"

// cacheLock is a build's shared hold on the cache's lock file.
type cacheLock struct{ f *os.File }

// lockCache takes the cache's lock, shared, and before that removes what
// killed builds left, when no other build holds the lock. A file system
// without flock gets no cleaning and no lock, rather than no cache.
func lockCache(dir string) (*cacheLock, error) {
	f, err := os.OpenFile(filepath.Join(dir, cacheLockName), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, err
	}
	fd := int(f.Fd())
	if err := unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB); err == nil {
		removeStale(dir)
	} else if !errors.Is(err, unix.EWOULDBLOCK) {
		f.Close()
		return &cacheLock{}, nil
	}
	// Turning the exclusive lock into a shared one may let another build
	// take it exclusive in between: that is harmless, since this build
	// has no temporary file yet.
	if err := unix.Flock(fd, unix.LOCK_SH); err != nil {
		f.Close()
		return &cacheLock{}, nil
	}
	return &cacheLock{f: f}, nil
}

// unlock lets go of the lock.
func (l *cacheLock) unlock() {
	if l != nil && l.f != nil {
		l.f.Close()
		l.f = nil
	}
}

// isTemp reports whether a name in the cache is a temporary file or
// directory: a build's own blob directory (.tmp-*), an atomicfile temporary
// (.<name>.tmp-*), or one of the names older gpacks used (.layer-*.tmp,
// .meta-*.tmp). Blobs and records (<key>.blob, <key>.json) never start
// with a dot.
func isTemp(name string) bool {
	return strings.HasPrefix(name, ".") && name != cacheLockName &&
		(strings.Contains(name, ".tmp-") || strings.HasSuffix(name, ".tmp"))
}

// removeStale removes every temporary file and directory of dir. Its
// caller holds the cache's lock exclusive, so none belongs to a live build.
// Errors are ignored: what cannot be removed now is tried again next time.
func removeStale(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if isTemp(e.Name()) {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}
