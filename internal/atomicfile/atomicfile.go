// Package atomicfile writes outputs that appear complete or not at all: the
// one atomic-output mechanism of gpack, for pack files, image archives and
// layouts, and the entries of the layer cache.
//
// A File is written under a temporary name in the target's directory (so
// that the final rename stays within one file system and is atomic), synced,
// and renamed into place by Commit; Abort removes it. Callers defer Abort
// right after Create, so an error, a panic or a cancelled context (Ctrl-C in
// the CLI cancels it) leaves neither a partial output nor a temporary file.
// WriteFile packages that pattern. A Dir does the same for a directory (an
// OCI image layout): filled under a temporary name, synced, renamed into
// place. Check tells, before any work, whether a file could be created.
//
// The target of a File is a regular file or nothing: a directory, a
// device node, a fifo or a socket there is refused, since the rename would
// replace it (as root, -o /dev/null would turn the device into a file). A
// symlink to a regular file is written through: the temporary file goes
// beside the file it names, and replaces that file, leaving the link.
//
// Temporary names are .<base>.tmp-<pid>-<random>, so a directory listing
// shows whose they are, and the name stays within NAME_MAX however long
// base is (a long base is cut short in the temporary name). Each run holds
// an flock on its temporary file or directory for as long as it exists. A
// run killed with SIGKILL cannot remove its temporary file, so Check and
// CheckDir remove the temporary files of the same target that such runs
// left: those whose process is gone and whose lock is free. The pid alone
// would not prove it (pids are reused, and a run in another pid namespace
// has a pid that means nothing here), nor would the lock alone (a file is
// created a moment before it is locked); together they never remove the
// file of a live run. The package keeps no global state and installs no
// signal handler: the caller owns the context.
package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/internal/usererr"
)

// Mode is the permission of every committed file. It is set explicitly,
// because a mode that depends on the umask would make outputs differ
// between users.
const Mode fs.FileMode = 0o644

type state int

const (
	open state = iota
	closed
	committed
	aborted
)

// File is an output file written under a temporary name next to its target
// and renamed into place by Commit. It is not safe for concurrent use.
type File struct {
	f     *os.File
	path  string   // target, as the caller named it: errors name it
	dest  string   // the file the rename replaces: path, or what its symlink names
	lock  *os.File // holds the temporary file's flock until it is renamed or removed
	state state
	fd    int   // of f, fetched once: Fd() is not free
	off   int64 // bytes written so far
	flush int64 // offset up to which writeback has been started
}

// writeback is how far the file may run ahead of the disk: each time this
// much more is written, writeback of it starts in the background
// (sync_file_range), so that the fsync in Commit finds little left to do.
// Without it a pack of a few hundred megabytes waits seconds for the disk
// at the end, after all the compression work is done.
const writeback = 8 << 20

// Create starts writing path: it creates <dir>/.<base>.tmp-<pid>-<random>
// in the target's directory with mode 0644 whatever the umask, and locks
// it. The target is not touched until Commit.
//
// What is at path is checked here, before any work, rather than by the
// rename in Commit: a regular file is replaced, a symlink to a regular
// file is written through (the temporary file goes beside the file it
// names), and anything else (a directory, a device, a fifo, a socket, a
// symlink to one of them or to nothing) is refused.
func Create(path string) (*File, error) {
	_, base := filepath.Split(path)
	if base == "" {
		return nil, &usererr.Error{Path: path, What: "not a file name", Fix: "give the name of the file to write"}
	}
	dest, err := target(path)
	if err != nil {
		return nil, err
	}
	dir, base := filepath.Split(dest)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, tempPattern(base))
	if err != nil {
		return nil, createError(path, dir, err)
	}
	// CreateTemp makes the file 0600; Chmod is not subject to the umask.
	if err := f.Chmod(Mode); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	return &File{f: f, fd: int(f.Fd()), path: path, dest: dest, lock: lockTemp(f.Name())}, nil
}

// target returns the file that writing path replaces: path itself when
// nothing or a regular file is there, the regular file a symlink at path
// leads to; anything else is refused with what to do.
func target(path string) (string, error) {
	fi, err := os.Lstat(path)
	if err != nil {
		// Nothing there, or a directory on the way that cannot be
		// searched: creating the temporary file says which.
		return path, nil
	}
	switch {
	case fi.Mode().IsRegular():
		return path, nil
	case fi.IsDir():
		return "", &usererr.Error{Path: path, What: "is a directory, not a file that can be written",
			Fix: "give the name of a file to write (it may be inside this directory), or remove the directory"}
	case fi.Mode()&fs.ModeSymlink == 0:
		return "", notRegular(path, "is "+kind(fi.Mode())+", not a regular file that an output can replace")
	}
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return "", notRegular(path, "is a symlink that leads to no file ("+errText(unwrapPath(err))+")")
	}
	rfi, err := os.Stat(real)
	switch {
	case err != nil:
		return "", notRegular(path, "is a symlink to "+usererr.Quote(real)+", which cannot be read ("+errText(unwrapPath(err))+")")
	case rfi.Mode().IsRegular():
		return real, nil
	case rfi.IsDir():
		return "", &usererr.Error{Path: path, What: "is a symlink to the directory " + usererr.Quote(real) + ", not a file that can be written",
			Fix: "give the name of a file to write (it may be inside that directory)"}
	}
	return "", notRegular(path, "is a symlink to "+usererr.Quote(real)+", "+kind(rfi.Mode())+", not a regular file that an output can replace")
}

// notRegular refuses an output that is not a regular file: the rename
// that makes the output appear would replace it.
func notRegular(path, what string) error {
	return &usererr.Error{Path: path, What: what, Fix: "give the name of a regular file to write, or - for standard output"}
}

// kind names what a file of mode m is, for a message.
func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeCharDevice != 0:
		return "a character device"
	case m&fs.ModeDevice != 0:
		return "a block device"
	case m&fs.ModeNamedPipe != 0:
		return "a fifo"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeSymlink != 0:
		return "a symlink"
	}
	return "a special file"
}

// createError says why a temporary file could not be created in dir.
func createError(path, dir string, err error) error {
	dir = filepath.Clean(dir)
	err = unwrapPath(err)
	notWritable := &usererr.Error{Path: path, What: "cannot create it: directory " + dir + " is not writable (" + errText(err) + ")",
		Fix: "write it to a directory you can write", Err: err}
	switch {
	case isNotWritable(err):
		return notWritable
	case errors.Is(err, fs.ErrNotExist):
		// A directory that exists and still says "no such file" takes
		// no new files at all: /proc, for one.
		if fi, serr := os.Stat(dir); serr == nil && fi.IsDir() {
			return notWritable
		}
		return &usererr.Error{Path: path, What: "cannot create it: directory " + dir + " does not exist",
			Fix: "create the directory first, or write it elsewhere", Err: err}
	}
	return fmt.Errorf("creating %s: %w", path, err)
}

// errText is an error without the "open PATH: " that the path already
// says.
func errText(err error) string {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errno.Error()
	}
	return err.Error()
}

// Check tells, before any work, whether path could be written: nothing or
// a regular file (or a symlink to one) is there, and the directory exists
// and takes new files. It creates a temporary file there and removes it at
// once, since only that answers for every file system (a read-only mount,
// /proc, an ACL). On the way it removes the temporary files of path that
// killed runs left (see the package documentation).
func Check(path string) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	removeStale(f.dest)
	return f.Abort()
}

func isNotWritable(err error) bool {
	return errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS)
}

// Chmod sets the temporary file's mode, which the target gets: 0755 for
// an executable output (an AppImage). It is not subject to the umask.
func (f *File) Chmod(mode fs.FileMode) error {
	if f.state != open {
		return f.stateError("writing")
	}
	if err := f.f.Chmod(mode); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, unwrapPath(err))
	}
	return nil
}

// Name returns the temporary file's path.
func (f *File) Name() string { return f.f.Name() }

// Write writes to the temporary file. Errors name the target, not the
// temporary file, since that is the name the user knows.
func (f *File) Write(p []byte) (int, error) {
	if f.state != open {
		return 0, f.stateError("writing")
	}
	n, err := f.f.Write(p)
	f.off += int64(n)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", f.path, unwrapPath(err))
	}
	if f.off-f.flush >= writeback {
		// Only a hint: a file system without it (or a pipe) still gets
		// the fsync in Commit, so errors are ignored here.
		_ = unix.SyncFileRange(f.fd, f.flush, f.off-f.flush, unix.SYNC_FILE_RANGE_WRITE)
		f.flush = f.off
	}
	return n, nil
}

// WriteAt writes at an offset of the temporary file: image formats such
// as squashfs write a header last, over its placeholder.
func (f *File) WriteAt(p []byte, off int64) (int, error) {
	if f.state != open {
		return 0, f.stateError("writing")
	}
	n, err := f.f.WriteAt(p, off)
	if err != nil {
		return n, fmt.Errorf("writing %s: %w", f.path, unwrapPath(err))
	}
	return n, nil
}

// Commit makes the file durable and visible: it fsyncs the file, closes it,
// renames it to the target (replacing any file there) and fsyncs the
// directory so the rename survives a crash. After a failed Commit the target
// is unchanged, unless only the directory fsync failed, and Abort still
// removes the temporary file.
func (f *File) Commit() error {
	if f.state != open {
		return f.stateError("committing")
	}
	// Sync before rename: otherwise a crash can leave the new name
	// pointing at a file whose data never reached the disk.
	if err := f.f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, unwrapPath(err))
	}
	// Close can report a delayed write error (NFS): check it.
	f.state = closed
	if err := f.f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", f.path, unwrapPath(err))
	}
	if err := os.Rename(f.f.Name(), f.dest); err != nil {
		return fmt.Errorf("moving %s into place: %w", f.path, unwrapLink(err))
	}
	f.state = committed
	f.unlock()
	return syncDir(filepath.Dir(f.dest))
}

// unlock lets go of the temporary file's lock: once it is renamed or
// removed, nothing can mistake it for a killed run's.
func (f *File) unlock() {
	if f.lock != nil {
		f.lock.Close()
		f.lock = nil
	}
}

// Abort closes and removes the temporary file. It does nothing after
// Commit or a previous Abort, so callers can always `defer f.Abort()`.
func (f *File) Abort() error {
	switch f.state {
	case committed, aborted:
		return nil
	case open:
		// The data is being thrown away: a close error says nothing useful.
		f.f.Close()
	}
	f.state = aborted
	defer f.unlock()
	if err := os.Remove(f.f.Name()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing temporary file for %s: %w", f.path, err)
	}
	return nil
}

func (f *File) stateError(doing string) error {
	switch f.state {
	case committed:
		return fmt.Errorf("%s %s: already committed", doing, f.path)
	case aborted:
		return fmt.Errorf("%s %s: aborted", doing, f.path)
	}
	return fmt.Errorf("%s %s: a previous commit failed", doing, f.path)
}

// unwrapPath drops the *fs.PathError naming the temporary file.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func unwrapLink(err error) error {
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// WriteFile writes path atomically with write, and commits only if write
// returns nil and ctx is not done. Once ctx is done, every Write fails with
// an error wrapping ctx's error, so a long write stops at its next Write
// and the temporary file is removed: that is how Ctrl-C (which cancels ctx
// in the CLI) leaves nothing behind.
func WriteFile(ctx context.Context, path string, write func(w io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(ctxWriter{ctx, f}); err != nil {
		return err
	}
	// A cancel that lands after the last Write still wins: the user asked
	// for no output.
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Commit()
}

type ctxWriter struct {
	ctx context.Context
	f   *File
}

func (w ctxWriter) Write(p []byte) (int, error) {
	if err := w.ctx.Err(); err != nil {
		return 0, fmt.Errorf("writing %s: %w", w.f.path, err)
	}
	return w.f.Write(p)
}

// Dir is an output directory written under a temporary name beside its
// target and renamed into place by Commit: an OCI image layout, whose
// readers must never see one half written. It is not safe for concurrent
// use.
type Dir struct {
	tmp   string
	path  string   // target
	lock  *os.File // holds the temporary directory's flock
	state state
}

// CreateDir starts writing the directory path: it creates
// <parent>/.<base>.tmp-<pid>-<random>, mode 0755 whatever the umask, for
// the caller to fill, and locks it. The target is not touched until
// Commit.
func CreateDir(path string) (*Dir, error) {
	path = filepath.Clean(path)
	parent, base := filepath.Split(path)
	if base == "" || base == "." || base == ".." || base == "/" {
		return nil, &usererr.Error{Path: path, What: "not a directory name", Fix: "give the name of the directory to write"}
	}
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, tempPattern(base))
	if err != nil {
		return nil, createError(path, parent, err)
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		os.Remove(tmp)
		return nil, fmt.Errorf("creating %s: %w", path, err)
	}
	return &Dir{tmp: tmp, path: path, lock: lockTemp(tmp)}, nil
}

// CheckDir is Check for a directory that CreateDir will write: it tells
// whether path's parent takes a new directory, and removes the temporary
// directories of path that killed runs left. What is at path is for the
// caller to judge.
func CheckDir(path string) error {
	d, err := CreateDir(path)
	if err != nil {
		return err
	}
	removeStale(d.path)
	return d.Abort()
}

func (d *Dir) unlock() {
	if d.lock != nil {
		d.lock.Close()
		d.lock = nil
	}
}

// Name returns the temporary directory's path, where the caller writes.
func (d *Dir) Name() string { return d.tmp }

// Commit makes the directory durable and visible: it fsyncs every file and
// directory under it, renames it to the target and fsyncs the parent. A
// directory already at the target is replaced: it is moved aside first,
// since rename cannot replace a non-empty directory, and removed once the
// new one is in place; if the rename fails the old one is put back. The
// caller decides beforehand whether what is at the target may be replaced.
func (d *Dir) Commit() error {
	if d.state != open {
		return fmt.Errorf("committing %s: already committed or aborted", d.path)
	}
	if err := syncTree(d.tmp); err != nil {
		return fmt.Errorf("writing %s: %w", d.path, err)
	}
	old := ""
	if _, err := os.Lstat(d.path); err == nil {
		old = d.tmp + ".old"
		if err := os.Rename(d.path, old); err != nil {
			return fmt.Errorf("writing %s: moving the old one aside: %w", d.path, unwrapLink(err))
		}
	}
	if err := os.Rename(d.tmp, d.path); err != nil {
		if old != "" {
			os.Rename(old, d.path)
		}
		return fmt.Errorf("moving %s into place: %w", d.path, unwrapLink(err))
	}
	d.state = committed
	defer d.unlock()
	if old != "" {
		if err := os.RemoveAll(old); err != nil {
			return fmt.Errorf("writing %s: removing the old one: %w", d.path, err)
		}
	}
	if err := syncDir(filepath.Dir(d.path)); err != nil {
		return err
	}
	return nil
}

// Abort removes the temporary directory and everything in it. It does
// nothing after Commit or a previous Abort, so callers can always
// `defer d.Abort()`.
func (d *Dir) Abort() error {
	if d.state != open {
		return nil
	}
	d.state = aborted
	defer d.unlock()
	if err := os.RemoveAll(d.tmp); err != nil {
		return fmt.Errorf("removing temporary directory for %s: %w", d.path, err)
	}
	return nil
}

// syncTree fsyncs every file and directory under dir, so that the rename
// that publishes it cannot land before its contents.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, unwrapPath(err))
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %s: %w", dir, unwrapPath(err))
	}
	return nil
}
