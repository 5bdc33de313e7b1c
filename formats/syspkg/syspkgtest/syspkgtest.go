// Package syspkgtest holds what the tests of deb and rpm share: reading
// installed packages back in the terms of formattest.
package syspkgtest

import (
	"io/fs"
	"sort"
	"strings"

	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/formats/syspkg"
	"github.com/gpack/gpack/pack"
)

// Unprefix turns what a reader found of installed packages back into the
// tree's terms, for formattest.Compare: the pack package's root
// (opt/gpack/<name>, the only one under syspkg.Prefix) and its parents are
// dropped and the paths under it lose it, as do hard link targets, and
// the launcher's link to the store's top directory is dropped. skip names
// one more top directory to drop (a package database), or "".
func Unprefix(es []formattest.Entry, skip string) []formattest.Entry {
	root := ""
	for _, e := range es {
		if rest, ok := strings.CutPrefix(e.Path, syspkg.Prefix+"/"); ok && !strings.Contains(rest, "/") {
			root = e.Path
		}
	}
	var out []formattest.Entry
	for _, e := range es {
		top, _, _ := strings.Cut(e.Path, "/")
		switch {
		case skip != "" && top == skip:
			continue
		case e.Path == "opt" || e.Path == syspkg.Prefix || e.Path == root:
			continue
		case strings.HasPrefix(e.Path, root+"/"):
			e.Path = strings.TrimPrefix(e.Path, root+"/")
			if !strings.Contains(e.Path, "/") && e.Kind == pack.Symlink && strings.HasPrefix(e.Target, "../../../") {
				continue
			}
			if e.Kind == pack.HardLink {
				e.Target = strings.TrimPrefix(e.Target, root+"/")
			}
		}
		out = append(out, e)
	}
	return out
}

// RandomPackage makes a package of one store item from data, as a fuzzer
// gives it: directories, files, symlinks and hard links (also across
// directories) with names of any bytes but / and NUL, in pack order.
func RandomPackage(data []byte) *syspkg.Package {
	i := 0
	next := func() byte {
		if i >= len(data) {
			return 0
		}
		i++
		return data[i-1]
	}
	const item = "gnu/store/0123456789abcdfghijklmnpqrsvwxyz-x"
	es := []pack.Entry{
		{Path: "gnu", Kind: pack.Dir, Mode: 0o755},
		{Path: "gnu/store", Kind: pack.Dir, Mode: 0o1775},
		{Path: item, Kind: pack.Dir, Mode: 0o555},
	}
	dirs, files := []string{item}, []string{}
	seen := map[string]bool{}
	for n := int(next() % 24); n > 0; n-- {
		kind, parent := next()%4, dirs[int(next())%len(dirs)]
		name := make([]byte, 1+next()%12)
		for j := range name {
			if name[j] = next(); name[j] == '/' || name[j] == 0 {
				name[j] = 'a'
			}
		}
		if string(name) == "." || string(name) == ".." {
			name = []byte("d")
		}
		p := parent + "/" + string(name)
		if seen[p] {
			continue
		}
		seen[p] = true
		mode := fs.FileMode(next()) | 0o400
		switch {
		case kind == 0:
			es = append(es, pack.Entry{Path: p, Kind: pack.Dir, Mode: mode | 0o700&0o755})
			dirs = append(dirs, p)
		case kind == 1 || kind == 3 && len(files) == 0:
			content := make([]byte, int(next())*int(next()%8))
			for j := range content {
				content[j] = byte(j) ^ name[0]
			}
			es = append(es, pack.Entry{Path: p, Kind: pack.File, Mode: mode, Size: int64(len(content)), Data: content})
			files = append(files, p)
		case kind == 2:
			es = append(es, pack.Entry{Path: p, Kind: pack.Symlink, Mode: 0o777, Target: string(name) + "/../t"})
		default:
			es = append(es, pack.Entry{Path: p, Kind: pack.HardLink, Mode: 0, Target: files[int(next())%len(files)]})
		}
	}
	sort.SliceStable(es, func(a, b int) bool { return pack.Less(es[a].Path, es[b].Path) })
	// A hard link comes after its file, with its mode, as in a tree.
	var out []pack.Entry
	done := map[string]pack.Entry{}
	for _, e := range es {
		if e.Kind == pack.HardLink {
			f, ok := done[e.Target]
			if !ok {
				continue
			}
			e.Mode = f.Mode
		}
		done[e.Path] = e
		out = append(out, e)
	}
	return &syspkg.Package{Name: "x-01234567", Version: "0+0123456789abcdfghijklmnpqrsvwxyz", Item: "/" + item,
		Summary: "Store item x", Entries: out}
}
