package formattest

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/pack"
)

// Entry is one file, directory or link of an output as a reader sees it,
// in the tree's terms, so that what a reader found compares with the tree.
type Entry struct {
	// Path is relative to the pack root, as in pack.Entry.
	Path string
	// Kind is Dir, File or Symlink, or HardLink for every name of a
	// file but the first in tree order, whose Path is then Target.
	Kind pack.Kind
	// Mode holds the permission bits (0 for a symlink, whose mode means
	// nothing), in tar's numbering as pack.Entry.Mode.
	Mode fs.FileMode
	// Target is a symlink's target, or the first name of a hard link.
	Target string
	// Digest is the SHA-256 of a file's content, and Size its length.
	Digest string
	Size   int64
	// Uid, Gid are the owner; Mtime the modification time, zero where the
	// reader cannot tell (symlinks).
	Uid, Gid int
	Mtime    time.Time

	// inode groups the names of one file while a reader's view is
	// turned into Entries.
	inode string
}

func (e Entry) String() string {
	s := fmt.Sprintf("%s %s %04o", e.Path, e.Kind, e.Mode)
	switch e.Kind {
	case pack.Symlink, pack.HardLink:
		s += " -> " + e.Target
	case pack.File:
		s += fmt.Sprintf(" %d bytes %.12s", e.Size, e.Digest)
	}
	return s
}

// Want lists what a reader should find in an output of t: every entry,
// with its content's digest, owned by root, with the tree's mtime.
func Want(tb testing.TB, t *pack.Tree) []Entry {
	tb.Helper()
	byPath := map[string]*pack.Entry{}
	var out []Entry
	for i := range t.Entries {
		e := &t.Entries[i]
		byPath[e.Path] = e
		w := Entry{Path: e.Path, Kind: e.Kind, Mode: e.Mode, Target: e.Target, Mtime: t.Mtime}
		switch e.Kind {
		case pack.Symlink:
			w.Mode, w.Mtime = 0, time.Time{}
		case pack.File:
			r, err := e.Open()
			if err != nil {
				tb.Fatal(err)
			}
			w.Digest, w.Size = digest(tb, r)
			r.Close()
		case pack.HardLink:
			f := byPath[e.Target]
			w.Mode = f.Mode
		}
		out = append(out, w)
	}
	for i := range out {
		if out[i].Kind == pack.HardLink {
			for _, f := range out {
				if f.Path == out[i].Target {
					out[i].Digest, out[i].Size = f.Digest, f.Size
				}
			}
		}
	}
	return out
}

func digest(tb testing.TB, r io.Reader) (string, int64) {
	tb.Helper()
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil)), n
}

// ReadDir lists a directory tree that a real reader unpacked (tar -x,
// unsquashfs -d, umoci unpack): every name under root, with the names of
// one inode as a file and its hard links.
func ReadDir(tb testing.TB, root string) []Entry {
	tb.Helper()
	var out []Entry
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		e := Entry{Path: rel, Mode: fs.FileMode(st.Mode & 0o7777), Uid: int(st.Uid), Gid: int(st.Gid),
			Mtime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec)}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			e.Kind = pack.Dir
		case syscall.S_IFREG:
			e.Kind = pack.File
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			e.Digest, e.Size = digest(tb, f)
			f.Close()
			e.inode = fmt.Sprint(st.Dev, st.Ino)
		case syscall.S_IFLNK:
			e.Kind, e.Mode, e.Mtime = pack.Symlink, 0, time.Time{}
			if e.Target, err = os.Readlink(p); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: a %v, which no pack holds", rel, fi.Mode().Type())
		}
		out = append(out, e)
		return nil
	})
	if err != nil {
		tb.Fatalf("reading %s: %v", root, err)
	}
	return links(out)
}

// ReadTar lists a tar stream that a real reader produced (an image's
// flattened file system, sqfs2tar): every entry, with TypeLink entries as
// hard links.
func ReadTar(tb testing.TB, r io.Reader) []Entry {
	tb.Helper()
	tr := tar.NewReader(r)
	var out []Entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatalf("reading tar: %v", err)
		}
		p := strings.Trim(strings.TrimPrefix(h.Name, "./"), "/")
		if p == "" || p == "." {
			continue
		}
		e := Entry{Path: p, Mode: fs.FileMode(h.Mode & 0o7777), Uid: h.Uid, Gid: h.Gid, Mtime: h.ModTime}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Kind = pack.Dir
		case tar.TypeReg:
			e.Kind, e.inode = pack.File, p
			e.Digest, e.Size = digest(tb, tr)
		case tar.TypeLink:
			e.Kind, e.inode = pack.File, strings.Trim(strings.TrimPrefix(h.Linkname, "./"), "/")
		case tar.TypeSymlink:
			e.Kind, e.Mode, e.Target, e.Mtime = pack.Symlink, 0, h.Linkname, time.Time{}
		default:
			tb.Fatalf("%s: tar type %c, which no pack holds", h.Name, h.Typeflag)
		}
		out = append(out, e)
	}
	// A TypeLink has no content of its own: it takes its file's.
	files := map[string]Entry{}
	for _, e := range out {
		if e.Kind == pack.File && e.inode == e.Path {
			files[e.Path] = e
		}
	}
	for i, e := range out {
		if e.Kind == pack.File && e.inode != e.Path {
			f := files[e.inode]
			out[i].Digest, out[i].Size, out[i].Mode = f.Digest, f.Size, f.Mode
		}
	}
	return links(out)
}

// links sorts entries in tree order and turns every name of an inode but
// the first into a HardLink to the first.
func links(es []Entry) []Entry {
	sort.Slice(es, func(i, j int) bool { return pack.Less(es[i].Path, es[j].Path) })
	first := map[string]string{}
	for i := range es {
		e := &es[i]
		if e.inode == "" {
			continue
		}
		if f, ok := first[e.inode]; ok {
			e.Kind, e.Target = pack.HardLink, f
		} else {
			first[e.inode] = e.Path
		}
		e.inode = ""
	}
	return es
}

// Compare reports, as test errors, every difference between what a reader
// found and what the tree wants (Diff), the first 20 of them in full.
func Compare(tb testing.TB, reader string, got, want []Entry) {
	tb.Helper()
	d := Diff(got, want)
	for i, msg := range d {
		if i == 20 {
			tb.Errorf("%s: %d differences in all", reader, len(d))
			break
		}
		tb.Errorf("%s: %s", reader, msg)
	}
}

// Diff lists every difference between what a reader found and what the
// tree wants: missing, extra or different entries, an owner other than
// root, another mtime.
func Diff(got, want []Entry) []string {
	g := map[string]Entry{}
	for _, e := range got {
		g[e.Path] = e
	}
	var d []string
	for _, w := range want {
		e, ok := g[w.Path]
		delete(g, w.Path)
		switch {
		case !ok:
			d = append(d, fmt.Sprintf("%s: missing", w.Path))
			continue
		case e.Kind != w.Kind || e.Mode != w.Mode || e.Target != w.Target || e.Digest != w.Digest || e.Size != w.Size:
			d = append(d, fmt.Sprintf("read %s, want %s", e, w))
		}
		if e.Uid != 0 || e.Gid != 0 {
			d = append(d, fmt.Sprintf("%s: owner %d:%d, want root", w.Path, e.Uid, e.Gid))
		}
		if !w.Mtime.IsZero() && !e.Mtime.IsZero() && !e.Mtime.Equal(w.Mtime) {
			d = append(d, fmt.Sprintf("%s: mtime %v, want %v", w.Path, e.Mtime.UTC(), w.Mtime.UTC()))
		}
	}
	for _, e := range got {
		if _, ok := g[e.Path]; ok {
			d = append(d, fmt.Sprintf("%s: not in the tree", e))
		}
	}
	return d
}
