package squashfs

import (
	"errors"
	"io/fs"
	"path"
	"strings"
	"time"
)

// The image is an io/fs file system, rooted at its root directory.
var (
	_ fs.FS         = (*Image)(nil)
	_ fs.StatFS     = (*Image)(nil)
	_ fs.ReadDirFS  = (*Image)(nil)
	_ fs.ReadLinkFS = (*Image)(nil)
)

// maxSymlinks is how many symlinks a path may go through, as Linux's
// MAXSYMLINKS.
const maxSymlinks = 40

// errLoop is a path that goes through too many symlinks.
var errLoop = errors.New("too many levels of symbolic links")

// walk returns the inode name (a path valid for io/fs) names. Symlinks
// are followed on the way, and at the end if follow is set, as in a
// chroot at the image's root: an absolute target starts from the root,
// and ".." at the root stays there.
func (im *Image) walk(name string, follow bool) (*Inode, error) {
	stack := []*Inode{im.root}
	rest := name
	if rest == "." {
		rest = ""
	}
	hops := 0
	for rest != "" {
		var comp string
		comp, rest, _ = strings.Cut(rest, "/")
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(stack) > 1 {
				stack = stack[:len(stack)-1]
			}
			continue
		}
		dir := stack[len(stack)-1]
		if !dir.IsDir() {
			return nil, errNotDir
		}
		n, err := dir.Lookup(comp)
		if err != nil {
			return nil, err
		}
		if basic(n.typ) == typeSymlink && (rest != "" || follow) {
			if hops++; hops > maxSymlinks {
				return nil, errLoop
			}
			if strings.HasPrefix(n.target, "/") {
				stack = stack[:1]
			}
			if rest != "" {
				rest = n.target + "/" + rest
			} else {
				rest = n.target
			}
			continue
		}
		stack = append(stack, n)
	}
	return stack[len(stack)-1], nil
}

// resolve is walk for an io/fs operation: it checks the name and returns
// errors as *fs.PathError.
func (im *Image) resolve(op, name string, follow bool) (*Inode, error) {
	// io/fs wants names in UTF-8, which Lookup does not.
	if !fs.ValidPath(name) && (op != "lookup" || !fs.ValidPath(strings.ToValidUTF8(name, "_"))) {
		return nil, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	n, err := im.walk(name, follow)
	if err != nil {
		return nil, &fs.PathError{Op: op, Path: name, Err: err}
	}
	return n, nil
}

// Lookup returns the inode that name, a slash-separated path from the
// root, names, following symlinks on the way but not the last (as
// lstat(2)). The name is valid for io/fs (fs.ValidPath), except that it
// may hold bytes that are not UTF-8, as file names on Linux may, which the
// io/fs methods cannot name.
func (im *Image) Lookup(name string) (*Inode, error) { return im.resolve("lookup", name, false) }

// Open opens the named file, following symlinks: a *File for a regular
// file, a *Dir for a directory, and for a device, a fifo or a socket, a
// file whose Read fails.
func (im *Image) Open(name string) (fs.File, error) {
	n, err := im.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	base := path.Base(name)
	switch {
	case n.IsDir():
		return n.openDir(base)
	case n.IsRegular():
		f, err := n.open(base)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return f, nil
	}
	return &special{fileInfo{base, n}}, nil
}

// Stat returns the attributes of the named file, following symlinks. The
// FileInfo's Sys is its *Inode.
func (im *Image) Stat(name string) (fs.FileInfo, error) {
	n, err := im.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return fileInfo{path.Base(name), n}, nil
}

// Lstat returns the attributes of the named file, a symlink's own if it is
// one.
func (im *Image) Lstat(name string) (fs.FileInfo, error) {
	n, err := im.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return fileInfo{path.Base(name), n}, nil
}

// ReadLink returns the target of the named symlink.
func (im *Image) ReadLink(name string) (string, error) {
	n, err := im.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if basic(n.typ) != typeSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: fs.ErrInvalid}
	}
	return n.target, nil
}

// ReadDir returns the entries of the named directory, in name order (byte
// order: the order of the listing, which is checked).
func (im *Image) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := im.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	d, err := n.openDir(name)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	// In order: the listing reader checks that it is.
	return d.ReadDir(-1)
}

// fileInfo is an inode with the name it was found by.
type fileInfo struct {
	name string
	n    *Inode
}

func (fi fileInfo) Name() string {
	if fi.name == "" {
		return "."
	}
	return fi.name
}
func (fi fileInfo) Size() int64        { return fi.n.Size() }
func (fi fileInfo) Mode() fs.FileMode  { return fi.n.Mode() }
func (fi fileInfo) ModTime() time.Time { return fi.n.ModTime() }
func (fi fileInfo) IsDir() bool        { return fi.n.IsDir() }

// Sys returns the *Inode.
func (fi fileInfo) Sys() any       { return fi.n }
func (fi fileInfo) String() string { return fs.FormatFileInfo(fi) }

// special is an open device, fifo or socket: it has attributes, and no
// content to read.
type special struct{ fi fileInfo }

func (s *special) Stat() (fs.FileInfo, error) { return s.fi, nil }
func (s *special) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: s.fi.name, Err: errors.New("a " + typeName(s.fi.n.typ) + " has no content in an image")}
}
func (s *special) Close() error { return nil }
