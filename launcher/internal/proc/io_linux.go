package proc

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"syscall"

	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/launcher/internal/errs"
)

// The launcher reads files with plain system calls rather than package os:
// the first os.Open of a process starts the Go runtime's network poller,
// which takes an epoll and an eventfd descriptor for the life of the
// launcher. Under a low descriptor limit (ulimit -n 6 or 7) the runtime
// then dies with "netpollinit failed" before any message can be printed,
// and even above it those two descriptors are missing from what the
// engines need. Without the poller, the direct path needs one descriptor
// beyond 0-2, and each engine needs its report pipe and little else.

// File is a file open for reading, without the Go runtime's poller.
type File struct {
	fd   int
	path string
}

// Open opens path for reading, close-on-exec.
func Open(path string) (*File, error) {
	for {
		fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: path, Err: err}
		}
		return &File{fd: fd, path: path}, nil
	}
}

// Close closes f.
func (f *File) Close() error { return syscall.Close(f.fd) }

// Stat returns f's status.
func (f *File) Stat() (syscall.Stat_t, error) {
	var st syscall.Stat_t
	err := syscall.Fstat(f.fd, &st)
	return st, errs.Wrap(err, "fstat ", f.path)
}

// ReadAt reads len(b) bytes at off. Fewer bytes come with an error, as
// with io.ReaderAt.
func (f *File) ReadAt(b []byte, off int64) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Pread(f.fd, b[n:], off+int64(n))
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, &fs.PathError{Op: "read", Path: f.path, Err: err}
		}
		if m == 0 {
			return n, io.ErrUnexpectedEOF
		}
		n += m
	}
	return n, nil
}

// ReadFile reads up to limit bytes of the file at path.
func ReadFile(path string, limit int) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := ReadAll(f.fd, limit)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	return b, nil
}

// ReadAll reads fd to its end, or up to limit bytes.
func ReadAll(fd, limit int) ([]byte, error) {
	var out []byte
	buf := make([]byte, min(limit, 64<<10))
	for len(out) < limit {
		n, err := syscall.Read(fd, buf[:min(len(buf), limit-len(out))])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return out, err
		}
		if n == 0 {
			break
		}
		out = append(out, buf[:n]...)
	}
	return out, nil
}

// DirEntry is one entry of a directory: its name and its type, as
// fs.FileMode type bits (fs.ModeDir, fs.ModeSymlink, …; 0 for a regular
// file, fs.ModeIrregular when the file system does not say).
type DirEntry struct {
	Name string
	Type fs.FileMode
}

// IsDir reports whether the entry is a directory.
func (e DirEntry) IsDir() bool { return e.Type&fs.ModeDir != 0 }

// ReadDir lists the directory at path, without "." and "..", in the order
// the file system gives.
func ReadDir(path string) ([]DirEntry, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	var out []DirEntry
	buf := make([]byte, 32<<10)
	for {
		n, err := syscall.ReadDirent(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "readdirent", Path: path, Err: err}
		}
		if n <= 0 {
			return out, nil
		}
		out = parseDirents(buf[:n], out)
	}
}

// parseDirents appends the entries of a buffer of struct linux_dirent64:
// u64 inode, s64 offset, u16 record length, u8 type, the NUL-terminated name.
func parseDirents(b []byte, out []DirEntry) []DirEntry {
	for len(b) >= 19 {
		reclen := int(binary.NativeEndian.Uint16(b[16:]))
		if reclen < 19 || reclen > len(b) {
			break
		}
		name := b[19:reclen]
		for i, c := range name {
			if c == 0 {
				name = name[:i]
				break
			}
		}
		if s := string(name); s != "." && s != ".." {
			out = append(out, DirEntry{Name: s, Type: direntType(b[18])})
		}
		b = b[reclen:]
	}
	return out
}

func direntType(t byte) fs.FileMode {
	switch t {
	case syscall.DT_REG:
		return 0
	case syscall.DT_DIR:
		return fs.ModeDir
	case syscall.DT_LNK:
		return fs.ModeSymlink
	case syscall.DT_FIFO:
		return fs.ModeNamedPipe
	case syscall.DT_SOCK:
		return fs.ModeSocket
	case syscall.DT_CHR:
		return fs.ModeDevice | fs.ModeCharDevice
	case syscall.DT_BLK:
		return fs.ModeDevice
	}
	return fs.ModeIrregular
}

// maxManifest bounds what ReadManifest reads: a manifest names a few
// thousand programs at most.
const maxManifest = 16 << 20

// ReadManifest reads the manifest of the pack at root.
func ReadManifest(root string) (*contract.Manifest, error) {
	path := root + "/" + contract.ManifestPath
	b, err := ReadFile(path, maxManifest)
	if err != nil {
		return nil, err
	}
	m, err := contract.ParseManifest(bytes.NewReader(b))
	return m, errs.Wrap(err, path)
}
