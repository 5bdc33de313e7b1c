package relocate

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/internal/errs"
)

// errNotOurs marks a link path that another user holds: the pack cannot use
// it, and must not follow it.
var errNotOurs = errors.New("taken by another user")

// ensureLink makes link a symlink, owned by the user, to target, and
// checks that nobody else can change it: its directory must be sticky (or
// writable by its owner only, root or the user), so that only we may
// remove or rename our link. Any other file at link is refused, never
// followed or replaced: that is how another user could make our program
// load their files.
func ensureLink(link, target string) error {
	if err := safeDir(filepath.Dir(link)); err != nil {
		return err
	}
	uid := uint32(os.Geteuid())
	for range 3 {
		var st unix.Stat_t
		err := unix.Lstat(link, &st)
		if err == unix.ENOENT {
			err := syscall.Symlink(target, link)
			if err == syscall.EEXIST {
				continue // made meanwhile: look again
			}
			if err != nil {
				return errs.Wrap(err, "making the symlink ", link)
			}
			return nil
		}
		if err != nil {
			return errs.Wrap(err, "looking at ", link)
		}
		if st.Uid != uid {
			return errs.Wrap(errNotOurs, link, " belongs to user "+strconv.Itoa(int(st.Uid)))
		}
		if st.Mode&unix.S_IFMT != unix.S_IFLNK {
			return errs.Wrap(errNotOurs, link, " is not a symlink")
		}
		old, err := os.Readlink(link)
		if err != nil {
			return errs.Wrap(err, "reading ", link)
		}
		if old == target {
			return touch(link)
		}
		// Ours, to an earlier place of the pack (it was moved or
		// copied): point it here, atomically.
		tmp := filepath.Dir(link) + "/." + filepath.Base(link) + ".tmp-" + strconv.Itoa(os.Getpid())
		syscall.Unlink(tmp)
		if err := syscall.Symlink(target, tmp); err != nil {
			return errs.Wrap(err, "making the symlink ", tmp)
		}
		if err := syscall.Rename(tmp, link); err != nil {
			syscall.Unlink(tmp)
			return errs.Wrap(err, "replacing ", link)
		}
		return nil
	}
	return errors.New(link + " keeps changing")
}

// safeDir checks that only root, the user, or a sticky bit's rules decide
// what happens to names in dir.
func safeDir(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return errs.Wrap(err, "looking at ", dir)
	}
	if st.Uid != 0 && st.Uid != uint32(os.Geteuid()) {
		return errors.New(dir + " belongs to user " + strconv.Itoa(int(st.Uid)))
	}
	if st.Mode&0o022 != 0 && st.Mode&unix.S_ISVTX == 0 {
		return errors.New(dir + " is writable by others and not sticky: another user could replace the link")
	}
	return nil
}

// touch renews the link's times, so that /tmp cleaners, which remove what
// has not been used for days, leave it while a program needs it.
func touch(link string) error {
	return errs.Wrap(unix.UtimesNanoAt(unix.AT_FDCWD, link, nil, unix.AT_SYMLINK_NOFOLLOW), "renewing the times of ", link)
}
