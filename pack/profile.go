package pack

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gpack/gpack/internal/usererr"
)

// Profile is the union of several items' trees, made as Nix's buildEnv and
// Guix's profiles make one: a tree of symlinks to the items' files, in
// which a directory that one item alone provides is one symlink to it, and
// a directory that several provide is a real directory whose entries are
// merged in turn. It is what the pack's /bin, -S links, -R wrappers and
// images' PATH point into when several items are packed.
//
// A Profile is a store item that exists only in the pack: nothing is
// written to the host's store. Its name is <hash>-profile, the hash
// computed from its content (every path, kind and link target, and the
// items in their order), so the same items give the same profile and the
// same pack. Because its links are absolute store paths, it works wherever
// the pack's store appears, under every launcher engine.
//
// The pack's other parts look at the profile through its methods Stat,
// Lstat, ReadDir and EvalSymlinks, which answer for paths inside the
// profile from the union tree and pass every other path to the host. A
// nil *Profile passes every path to the host.
type Profile struct {
	// Path is the profile's store path, <store>/<hash>-profile.
	Path string
	// Items are the items it unites, in the order they were given: on a
	// conflict with FirstWins, the earlier item's file stays.
	Items []string
	root  *pnode
}

// pnode is a directory of the union (children set) or a symlink to a store
// path (target set); from is the item that gave a symlink.
type pnode struct {
	children map[string]*pnode
	target   string
	from     string
}

// ProfileMetadata are the top-level files by which a profile describes the
// packages it was built from. They describe the source profile, not the
// union, so NewProfile leaves them out of it (two Guix profiles' manifest
// files would otherwise always conflict).
var ProfileMetadata = []string{"manifest", "manifest.nix", "manifest.json"}

// NewProfile unites items (absolute store paths in store) in their order.
// Two items that offer different files at one path are a conflict that
// names both, unless firstWins keeps the earlier one; files that are one
// file after their symlinks, or have the same content and mode, are no
// conflict.
func NewProfile(store string, items []string, firstWins bool) (*Profile, error) {
	p := &Profile{Items: slices.Clone(items), root: &pnode{children: map[string]*pnode{}}}
	for _, item := range items {
		ents, err := os.ReadDir(item)
		if err != nil {
			return nil, readError(item, err)
		}
		for _, e := range ents {
			if slices.Contains(ProfileMetadata, e.Name()) {
				continue
			}
			if err := p.merge(p.root, e.Name(), item+"/"+e.Name(), item, firstWins); err != nil {
				return nil, err
			}
		}
	}
	p.Path = store + "/" + p.hash() + "-profile"
	return p, nil
}

// merge puts src (a path in item) at name in dir.
func (p *Profile) merge(dir *pnode, name, src, item string, firstWins bool) error {
	old := dir.children[name]
	if old == nil {
		dir.children[name] = &pnode{target: src, from: item}
		return nil
	}
	srcDir := isDir(src)
	if old.children == nil && old.target != "" && srcDir && isDir(old.target) {
		// Two items offer this directory: unfold the first one's link
		// into a directory of links to its entries.
		if err := p.unfold(old); err != nil {
			return err
		}
	}
	if old.children != nil && srcDir {
		ents, err := os.ReadDir(src)
		if err != nil {
			return readError(src, err)
		}
		for _, e := range ents {
			if err := p.merge(old, e.Name(), src+"/"+e.Name(), item, firstWins); err != nil {
				return err
			}
		}
		return nil
	}
	if old.children == nil && sameContent(old.target, src) {
		return nil
	}
	if firstWins {
		return nil
	}
	first := old.from
	if old.children != nil {
		first = "a directory of another item"
	}
	return &usererr.Error{Path: src, What: fmt.Sprintf("the profile has two different files here: from %s and from %s", first, item),
		Fix: "pack one of them, or pass --collisions=first to keep the first item's"}
}

// unfold turns the link n to a directory into a directory of links to its
// entries.
func (p *Profile) unfold(n *pnode) error {
	ents, err := os.ReadDir(n.target)
	if err != nil {
		return readError(n.target, err)
	}
	n.children = make(map[string]*pnode, len(ents))
	for _, e := range ents {
		n.children[e.Name()] = &pnode{target: n.target + "/" + e.Name(), from: n.from}
	}
	n.target = ""
	return nil
}

func isDir(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// sameContent reports whether a and b are, after their symlinks, one file,
// or regular files with the same mode and bytes: what buildEnv and Guix
// accept as no conflict.
func sameContent(a, b string) bool {
	ra, err1 := filepath.EvalSymlinks(a)
	rb, err2 := filepath.EvalSymlinks(b)
	if err1 != nil || err2 != nil {
		return false
	}
	if ra == rb {
		return true
	}
	fa, err1 := os.Stat(ra)
	fb, err2 := os.Stat(rb)
	if err1 != nil || err2 != nil || !fa.Mode().IsRegular() || !fb.Mode().IsRegular() ||
		fa.Size() != fb.Size() || fa.Mode() != fb.Mode() {
		return false
	}
	return sameBytes(ra, rb)
}

func sameBytes(a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		return false
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		return false
	}
	defer fb.Close()
	ba, bb := make([]byte, 64<<10), make([]byte, 64<<10)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil || eb != nil {
			return errors.Is(ea, io.ErrUnexpectedEOF) || errors.Is(ea, io.EOF)
		}
	}
}

// hash is the profile's 32-character nix-base32 hash part: the SHA-256 of
// its items and its tree, folded to 160 bits as Nix folds store path
// hashes.
func (p *Profile) hash() string {
	h := sha256.New()
	fmt.Fprintf(h, "gpack profile 1\n")
	for _, it := range p.Items {
		fmt.Fprintf(h, "item %s\n", it)
	}
	p.walk(func(rel string, n *pnode) {
		if n.children != nil {
			fmt.Fprintf(h, "d %q\n", rel)
		} else {
			fmt.Fprintf(h, "l %q %q\n", rel, n.target)
		}
	})
	sum := h.Sum(nil)
	var folded [20]byte
	for i, b := range sum {
		folded[i%20] ^= b
	}
	return nixBase32(folded[:])
}

// nixBase32 writes b in Nix's base32: its alphabet, least significant
// 5-bit group last.
func nixBase32(b []byte) string {
	const alphabet = "0123456789abcdfghijklmnpqrsvwxyz"
	n := (len(b)*8-1)/5 + 1
	out := make([]byte, n)
	for i := n - 1; i >= 0; i-- {
		bit := i * 5
		j, k := bit/8, bit%8
		v := int(b[j]) >> k
		if j+1 < len(b) {
			v |= int(b[j+1]) << (8 - k)
		}
		out[n-1-i] = alphabet[v&0x1f]
	}
	return string(out)
}

// walk calls fn for every node below the root, parents first, in name
// order.
func (p *Profile) walk(fn func(rel string, n *pnode)) {
	var rec func(prefix string, n *pnode)
	rec = func(prefix string, n *pnode) {
		for _, name := range slices.Sorted(maps.Keys(n.children)) {
			c := n.children[name]
			rel := path.Join(prefix, name)
			fn(rel, c)
			if c.children != nil {
				rec(rel, c)
			}
		}
	}
	rec("", p.root)
}

// entries are the profile's tree entries under rel, its path in the pack.
func (p *Profile) entries(rel string) []Entry {
	out := []Entry{{Path: rel, Kind: Dir, Mode: 0o555}}
	p.walk(func(r string, n *pnode) {
		if n.children != nil {
			out = append(out, Entry{Path: rel + "/" + r, Kind: Dir, Mode: 0o555})
		} else {
			out = append(out, Entry{Path: rel + "/" + r, Kind: Symlink, Mode: 0o777, Target: n.target})
		}
	})
	return out
}

// Links returns the profile's symlinks, by path inside it, and the items
// they come from: for a package manager's file list or a report.
func (p *Profile) Links() map[string]string {
	out := map[string]string{}
	p.walk(func(r string, n *pnode) {
		if n.children == nil {
			out[r] = n.target
		}
	})
	return out
}

// lookup resolves name. It returns the host path it stands for, or the
// union's directory node when name is one of the profile's own
// directories, or the union's link node when name is one of its links and
// follow is false.
func (p *Profile) lookup(name string, follow bool) (host string, n *pnode, err error) {
	if p == nil {
		return name, nil, nil
	}
	rel, ok := strings.CutPrefix(path.Clean(name), p.Path)
	if !ok || (rel != "" && rel[0] != '/') {
		return name, nil, nil
	}
	cur := p.root
	rel = strings.Trim(rel, "/")
	if rel == "" {
		return "", cur, nil
	}
	parts := strings.Split(rel, "/")
	for i, c := range parts {
		next := cur.children[c]
		if next == nil {
			return "", nil, &fs.PathError{Op: "lstat", Path: name, Err: fs.ErrNotExist}
		}
		if next.children == nil {
			if i == len(parts)-1 && !follow {
				return "", next, nil
			}
			return path.Join(append([]string{next.target}, parts[i+1:]...)...), nil, nil
		}
		cur = next
	}
	return "", cur, nil
}

// Stat is os.Stat, for the profile's paths too.
func (p *Profile) Stat(name string) (fs.FileInfo, error) {
	host, n, err := p.lookup(name, true)
	if err != nil {
		return nil, err
	}
	if n != nil {
		return nodeInfo{path.Base(name), n}, nil
	}
	return os.Stat(host)
}

// Lstat is os.Lstat, for the profile's paths too.
func (p *Profile) Lstat(name string) (fs.FileInfo, error) {
	host, n, err := p.lookup(name, false)
	if err != nil {
		return nil, err
	}
	if n != nil {
		return nodeInfo{path.Base(name), n}, nil
	}
	return os.Lstat(host)
}

// ReadDir is os.ReadDir, for the profile's paths too.
func (p *Profile) ReadDir(name string) ([]fs.DirEntry, error) {
	host, n, err := p.lookup(name, true)
	if err != nil {
		return nil, err
	}
	if n == nil {
		return os.ReadDir(host)
	}
	if n.children == nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	var out []fs.DirEntry
	for _, c := range slices.Sorted(maps.Keys(n.children)) {
		out = append(out, fs.FileInfoToDirEntry(nodeInfo{c, n.children[c]}))
	}
	return out, nil
}

// EvalSymlinks is filepath.EvalSymlinks, for the profile's paths too: a
// path through one of its links ends on the host; one of its own
// directories is itself.
func (p *Profile) EvalSymlinks(name string) (string, error) {
	host, n, err := p.lookup(name, true)
	if err != nil {
		return "", err
	}
	if n != nil {
		return path.Clean(name), nil
	}
	return filepath.EvalSymlinks(host)
}

// Open is os.Open, for the profile's paths too (its directories cannot be
// opened: nothing reads them as files).
func (p *Profile) Open(name string) (*os.File, error) {
	host, n, err := p.lookup(name, true)
	if err != nil {
		return nil, err
	}
	if n != nil {
		return nil, &fs.PathError{Op: "open", Path: name, Err: errors.New("a directory of the profile")}
	}
	return os.Open(host)
}

// nodeInfo is the fs.FileInfo of a node of the union.
type nodeInfo struct {
	name string
	n    *pnode
}

func (i nodeInfo) Name() string { return i.name }
func (i nodeInfo) Size() int64  { return 0 }
func (i nodeInfo) Mode() fs.FileMode {
	if i.n.children != nil {
		return fs.ModeDir | 0o555
	}
	return fs.ModeSymlink | 0o777
}
func (i nodeInfo) ModTime() time.Time { return time.Unix(1, 0) }
func (i nodeInfo) IsDir() bool        { return i.n.children != nil }
func (i nodeInfo) Sys() any           { return nil }
