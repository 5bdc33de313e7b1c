package pack

import (
	"fmt"
	"path"
	"strings"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/usererr"
)

// EntryPoint normalises --entry-point, once for every format: "bin/x" and
// "/bin/x" both name bin/x of the first root item (the profile, whose bin
// images show as /bin), and must stay inside it ("../other-item/bin/x" is
// refused: a program of another item is named by its store path); an
// absolute path in the store names itself. It returns the absolute store
// path, which must lie in an item of the closure and be an executable
// file (after its symlinks); "" stays "". prof is the profile made of
// several items, whose bin/ "bin/x" then names; nil when the first root
// item is the profile.
func EntryPoint(g *closure.Graph, prof *Profile, s string) (string, error) {
	if s == "" {
		return "", nil
	}
	profile := g.Roots[0]
	if prof != nil {
		profile = prof.Path
	}
	bad := func(what string) error {
		return &usererr.Error{Kind: usererr.Usage, Path: s, What: "--entry-point " + what,
			Fix: "give a program of the profile, as bin/NAME or " + profile + "/bin/NAME, or the store path of another item's program"}
	}
	p := path.Clean(s)
	if !strings.HasPrefix(s, g.Store+"/") {
		p = path.Join(profile, strings.TrimPrefix(s, "/"))
		if p != profile && !strings.HasPrefix(p, profile+"/") {
			return "", bad(fmt.Sprintf("%s is outside the profile %s", p, profile))
		}
	}
	rel, ok := strings.CutPrefix(p, g.Store+"/")
	item, _, _ := strings.Cut(rel, "/")
	if !ok || (g.Items[g.Store+"/"+item] == nil && (prof == nil || g.Store+"/"+item != prof.Path)) {
		return "", bad(fmt.Sprintf("%s is not inside an item of the closure", p))
	}
	fi, err := prof.Stat(p)
	switch {
	case err != nil:
		return "", bad(fmt.Sprintf("%s does not exist", p))
	case fi.IsDir():
		return "", bad(fmt.Sprintf("%s is a directory", p))
	case !fi.Mode().IsRegular():
		return "", bad(fmt.Sprintf("%s is not a regular file", p))
	case fi.Mode().Perm()&0o111 == 0:
		return "", bad(fmt.Sprintf("%s cannot be executed (mode %o)", p, fi.Mode().Perm()))
	}
	return p, nil
}

// ImageLinks returns the -S links with the /bin that images get, as guix pack
// gives its squashfs and docker images one: WrappersLink (-S /bin=bin),
// unless a link names /bin already, or relocatable puts the wrappers there
// (they run the store's programs in place inside a container), or the
// profile has no bin/.
func (o *Options) ImageLinks(profile string) []LinkRequest {
	links := o.Symlinks
	if o.Relocatable {
		return links
	}
	for _, l := range links {
		if strings.Trim(l.Link, "/") == "bin" {
			return links
		}
	}
	if fi, err := o.Profile.Stat(profile + "/bin"); err == nil && fi.IsDir() {
		return append(links, WrappersLink)
	}
	return links
}
