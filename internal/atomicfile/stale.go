package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/sys/unix"
)

// nameMax is NAME_MAX, the longest file name Linux file systems take.
const nameMax = 255

// maxTempBase is how much of the target's name a temporary name keeps:
// what NAME_MAX leaves after ".", ".tmp-", a pid (at most 10 digits), "-",
// CreateTemp's random number (at most 10 digits) and Dir.Commit's ".old".
// An output named with 240 to 255 bytes still gets a temporary name that
// the file system takes.
const maxTempBase = nameMax - len(".") - len(".tmp-") - 10 - len("-") - 10 - len(".old")

// shortBase is base cut to maxTempBase bytes, at the start of a character
// when base is UTF-8.
func shortBase(base string) string {
	if len(base) <= maxTempBase {
		return base
	}
	cut := maxTempBase
	if utf8.ValidString(base) {
		for cut > 0 && !utf8.RuneStart(base[cut]) {
			cut--
		}
	}
	return base[:cut]
}

// tempPrefix is how the temporary names of base begin.
func tempPrefix(base string) string { return "." + shortBase(base) + ".tmp-" }

// tempPattern is the os.CreateTemp pattern of base's temporary names:
// .<base>.tmp-<pid>-<random>.
func tempPattern(base string) string {
	return tempPrefix(base) + strconv.Itoa(os.Getpid()) + "-*"
}

// lockTemp takes an flock on the temporary file or directory name, held
// through its own descriptor so that it lasts until the name is renamed or
// removed (File.Commit closes its file before the rename). A file system
// without flock gives nil: the pid in the name still protects the file.
func lockTemp(name string) *os.File {
	f, err := os.Open(name)
	if err != nil {
		return nil
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		return nil
	}
	return f
}

// parseTemp splits a temporary name of base, without its prefix, into the
// pid of the run that made it and whether it is an old layout that
// Dir.Commit moved aside (.old). ok is false for any other name.
func parseTemp(rest string) (pid int, old, ok bool) {
	rest, old = strings.CutSuffix(rest, ".old")
	p, random, found := strings.Cut(rest, "-")
	if !found || !digits(p) || !digits(random) {
		return 0, false, false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return 0, false, false
	}
	return pid, old, true
}

func digits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// alive reports whether process pid exists (in this pid namespace).
func alive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// removeStale removes the temporary files and directories that runs
// writing target left in its directory when they were killed: those whose
// process is gone and whose lock can be taken. Errors are ignored: what
// cannot be removed now is tried again by the next run.
func removeStale(target string) {
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	prefix := tempPrefix(base)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		rest, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok {
			continue
		}
		pid, old, ok := parseTemp(rest)
		if !ok || pid == os.Getpid() || alive(pid) {
			continue
		}
		name := filepath.Join(dir, e.Name())
		lockName := name
		if old {
			// An old layout moved aside is not locked itself: the
			// run's lock is on the new one beside it, if that is
			// still there.
			lockName = strings.TrimSuffix(name, ".old")
			if _, err := os.Lstat(lockName); errors.Is(err, os.ErrNotExist) {
				os.RemoveAll(name)
				continue
			}
		}
		removeIfUnlocked(name, lockName)
	}
}

// removeIfUnlocked removes name if the lock of lockName can be taken, that
// is, no live run holds it. The lock is held while name is removed, and
// taken on the very file found under lockName.
func removeIfUnlocked(name, lockName string) {
	fd, err := unix.Open(lockName, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return
	}
	defer unix.Close(fd)
	if unix.Flock(fd, unix.LOCK_EX|unix.LOCK_NB) != nil {
		return
	}
	var held, now unix.Stat_t
	if unix.Fstat(fd, &held) != nil || unix.Lstat(lockName, &now) != nil || held.Dev != now.Dev || held.Ino != now.Ino {
		return
	}
	os.RemoveAll(name)
}
