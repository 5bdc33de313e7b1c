package appimage

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/formats/squashfs"
)

// entry is one entry of the image, by its path from the root.
type entry struct {
	path string
	n    *squashfs.Inode
}

// entries lists the image's entries, parents before their children, in
// the image's (sorted) order.
func entries(im *squashfs.Image) ([]entry, error) {
	var out []entry
	var walk func(dir *squashfs.Inode, rel string) error
	walk = func(dir *squashfs.Inode, rel string) error {
		d, err := dir.OpenDir()
		if err != nil {
			return err
		}
		defer d.Close()
		for {
			e, err := d.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			n, err := e.Inode()
			if err != nil {
				return err
			}
			p := path.Join(rel, e.Name())
			out = append(out, entry{p, n})
			if n.IsDir() {
				if err := walk(n, p); err != nil {
					return err
				}
			}
		}
	}
	return out, walk(im.Root(), "")
}

// extract writes the entries of im for which keep is true (nil: all), and
// the directories above them, under dst, which must exist: directories,
// files with their modes and contents, symlinks, and files with several
// names as hard links, every entry with the image's mtime. Directories
// get their modes once their contents are in place, deepest first, so
// that read-only store directories can be filled.
func extract(im *squashfs.Image, dst string, keep func(p string) bool) error {
	all, err := entries(im)
	if err != nil {
		return err
	}
	if keep != nil {
		want := map[string]bool{}
		for _, e := range all {
			if keep(e.path) {
				for p := e.path; p != "." && !want[p]; p = path.Dir(p) {
					want[p] = true
				}
			}
		}
		var kept []entry
		for _, e := range all {
			if want[e.path] {
				kept = append(kept, e)
			}
		}
		all = kept
	}
	links := map[uint32]string{} // inode number -> the first path extracted
	var dirs []entry
	for _, e := range all {
		p := filepath.Join(dst, e.path)
		if e.n.IsDir() {
			if err := os.Mkdir(p, 0o700); err != nil {
				return err
			}
			dirs = append(dirs, e)
			continue
		}
		if err := extractOne(e.n, p, links); err != nil {
			return fmt.Errorf("extracting %s: %w", e.path, err)
		}
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		p := filepath.Join(dst, d.path)
		if err := os.Chmod(p, perm(d.n)); err != nil {
			return err
		}
		if err := setTime(p, d.n); err != nil {
			return err
		}
	}
	return nil
}

// perm is the permission bits of n as os.Chmod takes them.
func perm(n *squashfs.Inode) fs.FileMode {
	return n.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// setTime gives p, which is not followed, n's mtime as atime and mtime.
func setTime(p string, n *squashfs.Inode) error {
	t := unix.NsecToTimespec(n.ModTime().UnixNano())
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, []unix.Timespec{t, t}, unix.AT_SYMLINK_NOFOLLOW)
}

// extractOne writes the non-directory n at p.
func extractOne(n *squashfs.Inode, p string, links map[uint32]string) error {
	switch {
	case n.Mode()&fs.ModeSymlink != 0:
		t, err := n.Readlink()
		if err != nil {
			return err
		}
		if err := os.Symlink(t, p); err != nil {
			return err
		}
		return setTime(p, n)
	case n.IsRegular():
		if n.Nlink() > 1 {
			if first, ok := links[n.Ino()]; ok {
				return os.Link(first, p)
			}
			links[n.Ino()] = p
		}
		f, err := n.Open()
		if err != nil {
			return err
		}
		defer f.Close()
		out, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		if _, err := f.WriteTo(out); err != nil {
			out.Close()
			return err
		}
		if err := out.Chmod(perm(n)); err != nil {
			out.Close()
			return err
		}
		if err := out.Close(); err != nil {
			return err
		}
		return setTime(p, n)
	}
	return fmt.Errorf("a %s, which a pack never holds", n.Mode().Type())
}

// removeTree removes p and everything under it, making its directories
// writable first: extracted store directories are read-only.
func removeTree(p string) error {
	filepath.WalkDir(p, func(q string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(q, 0o700)
		}
		return nil
	})
	return os.RemoveAll(p)
}
