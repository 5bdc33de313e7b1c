package relocate

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/internal/errs"
	"github.com/gpack/gpack/launcher/internal/proc"
)

// The lock that one launcher holds while it rewrites a pack, so that the
// others (64 started at once on a fresh pack, on one node or several that
// share the pack over NFS) wait for it. It is a directory, made with mkdir,
// which is atomic on NFS where flock may not be; in it, the file "owner"
// says who holds it (host, pid, a random nonce), and its mtime is the
// holder's heartbeat, renewed every heartbeat interval. A lock whose owner
// file has not changed for patience, by the waiter's own clock (clocks of
// nodes disagree), is stale: its holder died or is stopped. A waiter takes
// it over by renaming the directory away, checking that the owner it
// renamed is the stale one it watched, and making the lock anew.
const (
	heartbeat = 2 * time.Second
	patience  = 60 * time.Second
	poll      = 50 * time.Millisecond
)

type lock struct {
	dir   string
	nonce string
	held  atomic.Bool
	stop  chan struct{}
}

func newNonce() string {
	// getrandom(2) and strconv rather than crypto/rand and encoding/hex,
	// which would bring fmt into the launcher. A failure still leaves the time and
	// pid, unique enough to tell two holders apart.
	var b [8]byte
	unix.Getrandom(b[:], 0)
	return strconv.FormatUint(binary.LittleEndian.Uint64(b[:]), 36) + "-" + strconv.FormatInt(time.Now().UnixNano(), 36) + strconv.Itoa(os.Getpid())
}

// tryLock makes the lock directory dir; false if another holds it.
func tryLock(dir string) (*lock, bool, error) {
	if err := syscall.Mkdir(dir, 0o700); err != nil {
		if err == syscall.EEXIST {
			return nil, false, nil
		}
		return nil, false, errs.Wrap(err, "making the relocation lock ", dir)
	}
	l := &lock{dir: dir, nonce: newNonce(), stop: make(chan struct{})}
	host, _ := os.Hostname()
	owner := host + "\t" + strconv.Itoa(os.Getpid()) + "\t" + l.nonce + "\n"
	if err := writeFile(dir+"/owner", []byte(owner)); err != nil {
		syscall.Rmdir(dir)
		return nil, false, errs.Wrap(err, "writing the relocation lock's owner")
	}
	l.held.Store(true)
	go l.beat()
	return l, true, nil
}

// beat renews the heartbeat until release, and notices when the lock is
// no longer ours.
func (l *lock) beat() {
	t := time.NewTicker(heartbeat)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if !l.mine() {
				l.held.Store(false)
				return
			}
			unix.UtimesNanoAt(unix.AT_FDCWD, l.dir+"/owner", nil, 0)
		}
	}
}

// mine reports whether the lock directory still holds our owner file.
func (l *lock) mine() bool {
	b, err := proc.ReadFile(l.dir+"/owner", 4096)
	return err == nil && len(b) > 0 && ownerNonce(string(b)) == l.nonce
}

func ownerNonce(owner string) string {
	f := strings.Fields(owner)
	if len(f) < 3 {
		return ""
	}
	return f[2]
}

// owns reports whether the lock is still held: false once the heartbeat
// found another owner.
func (l *lock) owns() bool { return l.held.Load() }

// release removes the lock, if it is still ours.
func (l *lock) release() {
	close(l.stop)
	if l.mine() {
		syscall.Unlink(l.dir + "/owner")
		syscall.Rmdir(l.dir)
	}
}

// watcher follows a lock held by another, to tell when it is stale.
type watcher struct {
	owner string
	mtime int64
	since time.Time
}

// stale reports whether the lock at dir has kept one owner and heartbeat
// for longer than patience, as seen from here, and returns that owner.
func (w *watcher) stale(dir string) (bool, string) {
	b, err := proc.ReadFile(dir+"/owner", 4096)
	var st unix.Stat_t
	if err != nil || unix.Stat(dir+"/owner", &st) != nil {
		// Being made, or just released: not stale.
		w.owner, w.since = "", time.Time{}
		return false, ""
	}
	owner, mtime := string(b), st.Mtim.Nano()
	if deadHere(owner) {
		return true, owner
	}
	if owner != w.owner || mtime != w.mtime || w.since.IsZero() {
		w.owner, w.mtime, w.since = owner, mtime, time.Now()
		return false, ""
	}
	return time.Since(w.since) > patience, owner
}

// deadHere reports whether owner names a process of this host that is
// gone: then the lock is stale at once, without waiting for patience.
func deadHere(owner string) bool {
	f := strings.Fields(owner)
	host, _ := os.Hostname()
	if len(f) < 3 || f[0] != host {
		return false
	}
	pid, err := strconv.Atoi(f[1])
	return err == nil && pid > 0 && syscall.Kill(pid, 0) == syscall.ESRCH
}

// takeOver removes the stale lock at dir whose owner file said owner. It
// renames the directory away first and looks at what it renamed: if a new
// holder made the lock meanwhile, that one is put back.
func takeOver(dir, owner string) {
	dead := dir + ".stale-" + newNonce()
	if err := syscall.Rename(dir, dead); err != nil {
		return
	}
	b, _ := proc.ReadFile(dead+"/owner", 4096)
	if string(b) != owner {
		// A live lock: give it back, unless yet another was made.
		if syscall.Rename(dead, dir) == nil {
			return
		}
	}
	syscall.Unlink(dead + "/owner")
	syscall.Rmdir(dead)
}
