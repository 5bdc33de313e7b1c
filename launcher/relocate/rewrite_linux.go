package relocate

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/internal/errs"
	"github.com/gpack/gpack/launcher/internal/proc"
)

// chunk is the size of the reads of the scan.
const chunk = 1 << 20

// rewriter rewrites one pack's store in place: every reference of its items
// becomes prefix. Files keep their mode, atime and mtime; a directory whose
// symlinks change keeps its own.
type rewriter struct {
	storeDir string // ROOT + store: the pack's copy of the store
	prefix   string
	sc       *Scanner
	journal  *journal
	// owns reports whether the caller still holds the lock; checked
	// before each file, so that a holder that lost its lock (stopped for
	// longer than the lock's patience) stops at once.
	owns func() bool

	mu    sync.Mutex
	first error
	files int // rewritten
	links int
	// compressed counts the files in a compressed format, whose store
	// references (if any) no rewrite reaches; firstCompressed names one.
	compressed      int
	firstCompressed string
}

var errLostLock = errorString("the relocation lock was taken over: another launcher goes on")

type errorString string

func (e errorString) Error() string { return string(e) }

func (r *rewriter) fail(err error) {
	r.mu.Lock()
	if r.first == nil {
		r.first = err
	}
	r.mu.Unlock()
}

func (r *rewriter) failed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.first != nil
}

// run walks the store: files are scanned by a pool of workers, one per CPU;
// symlinks are rewritten by the walk itself, directory by directory.
func (r *rewriter) run() error {
	work := make(chan string, 64)
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			buf := make([]byte, chunk+r.sc.Overlap())
			for path := range work {
				if r.failed() {
					continue
				}
				if !r.owns() {
					r.fail(errLostLock)
					continue
				}
				if err := r.file(path, buf); err != nil {
					r.fail(err)
				}
			}
		})
	}
	err := r.walk(r.storeDir, work)
	close(work)
	wg.Wait()
	if err != nil {
		return err
	}
	return r.first
}

func (r *rewriter) walk(dir string, work chan<- string) error {
	entries, err := proc.ReadDir(dir)
	if err != nil {
		return errs.Wrap(err, "listing ", dir)
	}
	var links []string
	for _, e := range entries {
		if r.failed() {
			return nil
		}
		path := dir + "/" + e.Name
		t := e.Type
		if t == fs.ModeIrregular {
			fi, err := os.Lstat(path)
			if err != nil {
				return errs.Wrap(err, "reading ", path)
			}
			t = fi.Mode().Type()
		}
		switch {
		case t == 0:
			work <- path
		case t&fs.ModeSymlink != 0:
			links = append(links, path)
		case t&fs.ModeDir != 0:
			if err := r.walk(path, work); err != nil {
				return err
			}
		}
	}
	return r.symlinks(dir, links)
}

// file rewrites the references in one regular file, if it has any.
func (r *rewriter) file(path string, buf []byte) error {
	offs, err := r.scan(path, buf)
	if err != nil || len(offs) == 0 {
		return err
	}
	var st unix.Stat_t
	if err := unix.Lstat(path, &st); err != nil {
		return errs.Wrap(err, "reading ", path)
	}
	if err := r.journal.record(path, &st); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	if mode&0o200 == 0 {
		if err := syscall.Chmod(path, mode|0o200); err != nil {
			return errs.Wrap(err, "making ", path, " writable")
		}
	}
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_CLOEXEC|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return errs.Wrap(err, "opening ", path)
	}
	p := []byte(r.prefix)
	for _, off := range offs {
		if _, err := syscall.Pwrite(fd, p, off); err != nil {
			syscall.Close(fd)
			return errs.Wrap(err, "rewriting ", path)
		}
	}
	if err := syscall.Close(fd); err != nil {
		return errs.Wrap(err, "rewriting ", path)
	}
	if err := restore(path, &st); err != nil {
		return err
	}
	r.mu.Lock()
	r.files++
	r.mu.Unlock()
	return nil
}

// scan returns the offsets of the references in the file at path.
func (r *rewriter) scan(path string, buf []byte) ([]int64, error) {
	f, err := proc.Open(path)
	if err != nil {
		return nil, errs.Wrap(err, "reading ", path)
	}
	defer f.Close()
	var offs []int64
	ov := r.sc.Overlap()
	var off int64 // the file offset of buf[0]
	keep := 0     // bytes carried over at the start of buf
	for {
		n, err := f.ReadAt(buf[keep:], off+int64(keep))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errs.Wrap(err, "reading ", path)
		}
		total := keep + n
		last := err != nil // a short read: the end of the file
		end := total
		if !last {
			end = total - ov
		}
		if off == 0 && compressedMagic(buf[:total]) {
			r.mu.Lock()
			if r.compressed == 0 || path < r.firstCompressed {
				r.firstCompressed = path
			}
			r.compressed++
			r.mu.Unlock()
		}
		offs = r.sc.Find(buf[:total], end, off, offs)
		if last {
			return offs, nil
		}
		copy(buf, buf[end:total])
		off += int64(end)
		keep = total - end
	}
}

// symlinks rewrites the targets of the symlinks of dir that need it: each
// is made anew beside its old self and renamed over it, so that a crash
// leaves the old link or the new one, never none.
func (r *rewriter) symlinks(dir string, links []string) error {
	type change struct{ path, target string }
	var todo []change
	for _, l := range links {
		target, err := os.Readlink(l)
		if err != nil {
			return errs.Wrap(err, "reading the symlink ", l)
		}
		if t, ok := r.sc.Rewrite(target, r.prefix); ok {
			todo = append(todo, change{l, t})
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if !r.owns() {
		return errLostLock
	}
	var dst unix.Stat_t
	if err := unix.Lstat(dir, &dst); err != nil {
		return errs.Wrap(err, "reading ", dir)
	}
	if err := r.journal.record(dir, &dst); err != nil {
		return err
	}
	if dst.Mode&0o200 == 0 {
		if err := syscall.Chmod(dir, dst.Mode&0o7777|0o200); err != nil {
			return errs.Wrap(err, "making ", dir, " writable")
		}
	}
	for _, c := range todo {
		var lst unix.Stat_t
		if err := unix.Lstat(c.path, &lst); err != nil {
			return errs.Wrap(err, "reading ", c.path)
		}
		if err := r.journal.record(c.path, &lst); err != nil {
			return err
		}
		tmp := dir + "/.gpack-relocate-" + strconv.Itoa(os.Getpid())
		syscall.Unlink(tmp)
		if err := syscall.Symlink(c.target, tmp); err != nil {
			return errs.Wrap(err, "rewriting the symlink ", c.path)
		}
		if err := syscall.Rename(tmp, c.path); err != nil {
			syscall.Unlink(tmp)
			return errs.Wrap(err, "rewriting the symlink ", c.path)
		}
		if err := restore(c.path, &lst); err != nil {
			return err
		}
		r.mu.Lock()
		r.links++
		r.mu.Unlock()
	}
	return restore(dir, &dst)
}

// restore gives path back the mode and times of st; a symlink, its times
// alone.
func restore(path string, st *unix.Stat_t) error {
	if st.Mode&unix.S_IFMT != unix.S_IFLNK {
		if err := syscall.Chmod(path, st.Mode&0o7777); err != nil {
			return errs.Wrap(err, "restoring the mode of ", path)
		}
	}
	ts := []unix.Timespec{st.Atim, st.Mtim}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return errs.Wrap(err, "restoring the times of ", path)
	}
	return nil
}

// journal records, before anything of a file or directory changes, its mode
// and times, so that the next run after a crash puts them back: a file left
// writable, or with the time of the rewrite, would differ from the pack.
// Lines are written at once (no buffering) and so survive a SIGKILL; the
// first line of a path is the one that counts.
type journal struct {
	mu sync.Mutex
	fd int
}

func openJournal(path string) (*journal, error) {
	fd, err := syscall.Open(path, syscall.O_WRONLY|syscall.O_APPEND|syscall.O_CREAT|syscall.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, errs.Wrap(err, "opening the journal ", path)
	}
	return &journal{fd: fd}, nil
}

func (j *journal) record(path string, st *unix.Stat_t) error {
	line := strconv.FormatUint(uint64(st.Mode), 8) + "\t" +
		strconv.FormatInt(st.Atim.Nano(), 10) + "\t" + strconv.FormatInt(st.Mtim.Nano(), 10) + "\t" +
		strconv.Itoa(len(path)) + "\t" + path + "\n"
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := syscall.Write(j.fd, []byte(line)); err != nil {
		return errs.Wrap(err, "writing the relocation journal")
	}
	return nil
}

func (j *journal) close() { syscall.Close(j.fd) }

// replay puts back what the journal at path recorded, and removes it. A
// missing journal is nothing to do.
func replay(path string) error {
	b, err := proc.ReadFile(path, 1<<30)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return errs.Wrap(err, "reading the relocation journal")
	}
	seen := map[string]bool{}
	// Lines are "mode atime mtime len path", tab-separated: the path's
	// length, since a store file's name may hold a tab or a newline.
	for rest := string(b); rest != ""; {
		f := strings.SplitN(rest, "\t", 5)
		if len(f) != 5 {
			break // a torn last line: its file had not changed yet
		}
		n, err := strconv.Atoi(f[3])
		if err != nil || n < 0 || len(f[4]) < n+1 || f[4][n] != '\n' {
			break
		}
		p := f[4][:n]
		rest = f[4][n+1:]
		if seen[p] {
			continue
		}
		seen[p] = true
		mode, err1 := strconv.ParseUint(f[0], 8, 32)
		at, err2 := strconv.ParseInt(f[1], 10, 64)
		mt, err3 := strconv.ParseInt(f[2], 10, 64)
		if err1 != nil || err2 != nil || err3 != nil {
			continue
		}
		st := unix.Stat_t{Mode: uint32(mode), Atim: unix.NsecToTimespec(at), Mtim: unix.NsecToTimespec(mt)}
		if err := restore(p, &st); err != nil && !os.IsNotExist(errUnwrap(err)) {
			return err
		}
	}
	if err := syscall.Unlink(path); err != nil && err != syscall.ENOENT {
		return errs.Wrap(err, "removing the relocation journal")
	}
	return nil
}

func errUnwrap(err error) error {
	for {
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return err
		}
		err = u.Unwrap()
	}
}

// compressedMagic reports whether b starts like a gzip, xz, zstd, bzip2 or
// zip (jar, wheel) file.
func compressedMagic(b []byte) bool {
	for _, m := range []string{"\x1f\x8b", "\xfd7zXZ\x00", "\x28\xb5\x2f\xfd", "BZh", "PK\x03\x04"} {
		if strings.HasPrefix(string(b[:min(len(b), 8)]), m) {
			return true
		}
	}
	return false
}
