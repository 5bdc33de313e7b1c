// Package syspkg cuts a pack.Tree into system packages, for gpack pack -f
// deb and -f rpm: one package per store item, and one for the pack.
//
// An item package holds one store item at its store path, with the store's
// parent directories (the same in every item package, which both dpkg and
// rpm allow for directories). Its name comes from the item's name, its
// version from its hash, and it depends on the packages of the items it
// references, at their exact version. Two packs that share glibc thus
// share glibc's package, and the package manager keeps it while any
// installed package still depends on it.
//
// The pack package holds everything else of the tree (-S links, the -R
// launcher, manifest and wrappers) under Prefix/<pack name>, never at the
// top of the file system, where /bin would replace the system's: a pack
// of hello is /opt/gpack/hello-2.12/bin/hello. It depends on the packages
// of the root items. With -R it also holds a relative symlink
// /opt/gpack/<name>/gnu to ../../../gnu (the store's top directory), so
// that the launcher finds ROOT/gnu/store wherever the packages are
// installed together (rpm --prefix moves them all).
//
// Names are mangled to fit both dpkg's rules (lower case letters, digits,
// +, - and ., starting with a letter or digit) and rpm's: the item name
// is lowered, any other byte becomes -, leading bytes that are not a
// letter or digit are dropped, and the first 8 characters of the hash
// are appended, so that two items of one name (two builds of glibc) are
// two packages that install side by side, as they live side by side in
// the store: /gnu/store/<hash>-glibc-2.39 is glibc-2.39-<hash[:8]>. The
// version is 0+<hash>, valid for both (digits, lower case letters, +).
// The pack package is gpack-<mangled first root name>, version 0+ and the
// first 32 hex digits of the SHA-256 of the roots' store paths.
//
// With Single, the whole closure is one package, named as the pack
// package, as guix pack does.
package syspkg

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/gpack/gpack/pack"
)

// Prefix is where pack packages put what is not a store item.
const Prefix = "opt/gpack"

// Package is one system package of a pack.
type Package struct {
	// Name and Version are valid under dpkg's and rpm's rules.
	Name, Version string
	// Item is the store item the package holds, "" for the pack package.
	Item string
	// Summary is one line about the package.
	Summary string
	// Depends are the packages this one needs, at their exact version,
	// sorted by name.
	Depends []Dep
	// Entries are the package's files, at their installed path (relative
	// to /), sorted as pack.Less sorts, parents first.
	Entries []pack.Entry
	// Root is the directory the pack package puts the rest of the tree
	// under (opt/gpack/<name>); "" for an item package.
	Root string
}

// Description is the package's long description, in lines of at most 79
// bytes (but a store path, which may be longer, has a line to itself).
func (p *Package) Description() []string {
	if p.Item != "" {
		return []string{
			"This package holds one store item at its store path, as gpack packed it,",
			"and depends on the packages of the items it refers to. The item is",
			p.Item,
		}
	}
	return []string{
		"This package holds what gpack pack adds to the store items it depends on",
		"(-S links, the -R launcher and wrappers), under /" + p.Root + ".",
	}
}

// Dep is a dependency on a package at one version.
type Dep struct{ Name, Version string }

// Options say how to cut the tree.
type Options struct {
	// References are the closure's direct references (store path to
	// store paths), which become the dependencies.
	References map[string][]string
	// Single puts the whole closure in one package.
	Single bool
}

// Split cuts t into packages: the item packages in t.Items order, then
// the pack package. Each entry of t is in exactly one package but for the
// store's parent directories, which are in every item package.
func Split(t *pack.Tree, opts Options) ([]*Package, error) {
	if len(t.Roots) == 0 {
		return nil, fmt.Errorf("a pack without root items has no name")
	}
	storeRel := strings.TrimPrefix(t.Store, "/")
	byItem := map[string]*Package{}
	var pkgs []*Package
	if !opts.Single {
		for _, item := range t.Items {
			name, version, err := ItemName(item)
			if err != nil {
				return nil, err
			}
			p := &Package{Name: name, Version: version, Item: item, Summary: "Store item " + path.Base(item)}
			byItem[path.Base(item)] = p
			pkgs = append(pkgs, p)
		}
		for _, p := range pkgs {
			for _, r := range opts.References[p.Item] {
				if r == p.Item {
					continue
				}
				d := byItem[path.Base(r)]
				if d == nil {
					return nil, fmt.Errorf("%s refers to %s, which is not in the pack", p.Item, r)
				}
				p.Depends = append(p.Depends, Dep{d.Name, d.Version})
			}
		}
	}
	name, version := PackName(t)
	pp := &Package{Name: name, Version: version, Root: Prefix + "/" + strings.TrimPrefix(name, "gpack-"),
		Summary: "Pack of " + path.Base(t.Roots[0]) + ", made by gpack"}
	for _, r := range t.Roots {
		if d := byItem[path.Base(r)]; d != nil {
			pp.Depends = append(pp.Depends, Dep{d.Name, d.Version})
		}
	}
	var parents []pack.Entry // the store and its ancestors
	var rest []pack.Entry    // what goes under the pack's root
	for _, e := range t.Entries {
		switch {
		case e.Path == storeRel || strings.HasPrefix(storeRel, e.Path+"/"):
			parents = append(parents, e)
		case strings.HasPrefix(e.Path, storeRel+"/"):
			if opts.Single {
				pp.Entries = append(pp.Entries, e)
				continue
			}
			base, _, _ := strings.Cut(strings.TrimPrefix(e.Path, storeRel+"/"), "/")
			p := byItem[base]
			if p == nil {
				return nil, fmt.Errorf("/%s: not in any item of the pack", e.Path)
			}
			p.Entries = append(p.Entries, e)
		default:
			rest = append(rest, e)
		}
	}
	for _, p := range pkgs {
		p.Entries = append(slices.Clone(parents), p.Entries...)
	}
	if opts.Single {
		pp.Entries = append(slices.Clone(parents), pp.Entries...)
	}
	moved, err := under(pp.Root, rest, storeRel, len(t.Programs) > 0)
	if err != nil {
		return nil, err
	}
	pp.Entries = append(pp.Entries, moved...)
	sort.SliceStable(pp.Entries, func(i, j int) bool { return pack.Less(pp.Entries[i].Path, pp.Entries[j].Path) })
	for _, p := range pkgs {
		slices.SortFunc(p.Depends, func(a, b Dep) int { return strings.Compare(a.Name, b.Name) })
	}
	slices.SortFunc(pp.Depends, func(a, b Dep) int { return strings.Compare(a.Name, b.Name) })
	pp.Depends = slices.Compact(pp.Depends)
	return append(pkgs, pp), nil
}

// under moves the entries outside the store under root, with root's
// parents: hard links follow their files, and relative symlinks are
// rewritten to reach what they reached from where they were. With
// launcher, root also gets a relative symlink to the store's top
// directory, where the launcher looks for the store.
func under(root string, rest []pack.Entry, storeRel string, launcher bool) ([]pack.Entry, error) {
	var out []pack.Entry
	comps := strings.Split(root, "/")
	for i := range comps {
		out = append(out, pack.Entry{Path: strings.Join(comps[:i+1], "/"), Kind: pack.Dir, Mode: 0o755})
	}
	if launcher {
		top, _, _ := strings.Cut(storeRel, "/")
		out = append(out, pack.Entry{Path: root + "/" + top, Kind: pack.Symlink, Mode: 0o777,
			Target: strings.Repeat("../", len(comps)) + top})
	}
	for _, e := range rest {
		old := e.Path
		e.Path = root + "/" + e.Path
		switch e.Kind {
		case pack.HardLink:
			e.Target = root + "/" + e.Target
		case pack.Symlink:
			if !strings.HasPrefix(e.Target, "/") {
				dest := path.Join(path.Dir(old), e.Target)
				if dest == ".." || strings.HasPrefix(dest, "../") {
					return nil, fmt.Errorf("/%s: symlink %s leaves the pack", old, e.Target)
				}
				if !strings.HasPrefix(dest, storeRel+"/") && dest != storeRel {
					dest = root + "/" + dest
				}
				e.Target = relative(path.Dir(e.Path), dest)
			}
		}
		out = append(out, e)
	}
	return out, nil
}

// relative is the path from directory dir to target, both relative to /.
func relative(dir, target string) string {
	d, t := strings.Split(dir, "/"), strings.Split(target, "/")
	i := 0
	for i < len(d) && i < len(t) && d[i] == t[i] {
		i++
	}
	rel := strings.Repeat("../", len(d)-i) + strings.Join(t[i:], "/")
	if rel == "" {
		return "."
	}
	return strings.TrimSuffix(rel, "/")
}

// ItemName is the package name and version of a store item.
func ItemName(item string) (name, version string, err error) {
	base := path.Base(item)
	hash, n, ok := strings.Cut(base, "-")
	if !ok || len(hash) != 32 || n == "" {
		return "", "", fmt.Errorf("%s: not a store item name (<32-character hash>-<name>)", item)
	}
	for _, c := range hash {
		if !isLower(c) && !isDigit(c) {
			return "", "", fmt.Errorf("%s: the hash %q is not nix-base32", item, hash)
		}
	}
	return Mangle(n) + "-" + hash[:8], "0+" + hash, nil
}

// PackName is the name and version of the pack package of t.
func PackName(t *pack.Tree) (name, version string) {
	base := path.Base(t.Roots[0])
	_, n, _ := strings.Cut(base, "-")
	h := sha256.Sum256([]byte(strings.Join(t.Roots, "\n")))
	return "gpack-" + Mangle(n), "0+" + hex.EncodeToString(h[:16])
}

// Mangle makes s a valid package name under both dpkg's and rpm's rules:
// lower case, bytes other than letters, digits, + and . become -, and
// leading bytes that are not a letter or digit are dropped. An s with no
// letter or digit gives "item".
func Mangle(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if !isLower(rune(c)) && !isDigit(rune(c)) && c != '+' && c != '.' {
			b[i] = '-'
		}
	}
	r := strings.TrimLeftFunc(string(b), func(c rune) bool { return !isLower(c) && !isDigit(c) })
	if r == "" {
		return "item"
	}
	return r
}

func isLower(c rune) bool { return c >= 'a' && c <= 'z' }
func isDigit(c rune) bool { return c >= '0' && c <= '9' }

// InstalledSize is what the package's files take once installed, in bytes:
// their contents, rounded up to 1 KiB each as dpkg counts, and 1 KiB for
// each other entry.
func (p *Package) InstalledSize() int64 {
	var n int64
	for _, e := range p.Entries {
		if e.Kind == pack.File {
			n += (e.Size + 1023) / 1024 * 1024
		} else {
			n += 1024
		}
	}
	return n
}
