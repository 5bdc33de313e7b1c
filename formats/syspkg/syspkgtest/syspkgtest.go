// Package syspkgtest holds what the tests of deb and rpm share: reading
// installed packages back in the terms of formattest.
package syspkgtest

import (
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
