package pack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/usererr"
)

// LinkRequest is a -S LINK=TARGET request: a relative symlink at LINK that points
// to TARGET inside the profile (the first item, or the profile of several), as guix pack's -S does.
type LinkRequest struct {
	Link   string // absolute in the pack, e.g. /bin
	Target string // relative to the profile, e.g. bin
}

// WrappersLink is -S /bin=bin, which guix pack users give for a /bin of the
// profile's programs. With Options.Relocatable the wrappers' bin/ is that
// /bin already (each wrapper runs a program of the profile's bin/ or
// sbin/), so Build leaves the link out instead of refusing two /bin.
var WrappersLink = LinkRequest{Link: "/bin", Target: "bin"}

// ParseSymlink parses LINK=TARGET.
func ParseSymlink(s string) (LinkRequest, error) {
	link, target, ok := strings.Cut(s, "=")
	link = path.Clean("/" + link)
	if !ok || link == "/" {
		return LinkRequest{}, fmt.Errorf("-S %q: want LINK=TARGET, e.g. -S /bin=bin", s)
	}
	target = path.Clean("/" + target)
	return LinkRequest{Link: link, Target: strings.TrimPrefix(target, "/")}, nil
}

// Options say what goes into the tree besides the closure.
type Options struct {
	// Symlinks are the -S requests. With Relocatable, WrappersLink is left
	// out: the wrappers are /bin.
	Symlinks []LinkRequest
	// Relocatable adds the launcher, the manifest and a bin/ wrapper for
	// every executable in bin/ and sbin/ of the root items.
	Relocatable bool
	// Launcher returns the launcher binary for an architecture (a GOARCH
	// name), needed when Relocatable. The pack's architecture is that of
	// its programs (programArch), so that an aarch64 closure gets the
	// aarch64 launcher; an error refuses the pack.
	Launcher func(arch string) ([]byte, error)
	// Manifest renders the manifest for the wrappers; needed when
	// Relocatable. It is a function so that this package does not depend
	// on the launcher's.
	Manifest func(ManifestInput) ([]byte, error)
	// Env are the variables the wrappers set for their programs (-R
	// --env: the profile's SearchPaths, and -E).
	Env []EnvVar
	// Entry is, with Relocatable, the entry point that ROOT/run starts:
	// a store program and the arguments it gets first. EntryPath is the
	// launcher's hard link for it, EntryLink the symlink to that.
	Entry                []string
	EntryPath, EntryLink string
	// Refuse is what a format's Prepare found it cannot do with these
	// options (an entry point's arguments where nothing can pass them);
	// Build returns it before any work.
	Refuse error
	// LauncherPath, ManifestPath and RootDir are where the launcher, its
	// manifest and its empty mount point go, relative to the pack root.
	LauncherPath, ManifestPath, RootDir string
	// FirstWins resolves two root items that offer the same program name
	// in favour of the first; otherwise that is an error, unless both
	// names resolve to one file (a profile and the package it links to).
	FirstWins bool
	// Mtime is every entry's modification time (default: 1 s after the
	// epoch, as guix pack and Nix use).
	Mtime time.Time
	// Profile is the profile NewProfile made of several items, which the
	// pack holds as an item of its own and in whose place the -S links,
	// the -R wrappers and images' /bin point; nil when one item is its
	// own profile (the first root).
	Profile *Profile
	// Extra are more entries (directories and generated files, such as
	// the Apptainer metadata of Singularity), added with their parents
	// after everything else.
	Extra []Entry
}

// ManifestInput is what a relocatable pack's manifest says: the store, the
// store program each wrapper name runs, the entry point that ./run starts
// with its arguments (nil for none), and the variables the wrappers set.
type ManifestInput struct {
	Store    string
	Programs map[string]string
	Entry    []string
	Env      []EnvVar
}

// Modes of the directories gpack makes: the store's ancestors are plain
// directories; the store itself gets the sticky, group-writable mode that the
// Nix and Guix daemons give it, so that a pack extracted at / keeps a usable
// store directory.
const (
	dirMode   fs.FileMode = 0o755
	storeMode fs.FileMode = 0o1775
)

// Build lays out the closure g as a tree.
func Build(ctx context.Context, g *closure.Graph, opts Options) (*Tree, error) {
	if opts.Refuse != nil {
		return nil, opts.Refuse
	}
	if opts.Mtime.IsZero() {
		opts.Mtime = time.Unix(1, 0)
	}
	t := &Tree{Store: g.Store, Items: g.Requisites(g.Roots...), Roots: g.Roots, Mtime: opts.Mtime.UTC()}
	if len(g.Roots) > 0 {
		t.Profile = g.Roots[0]
	}
	if opts.Profile != nil {
		t.Profile = opts.Profile.Path
		t.Items = append(t.Items, opts.Profile.Path)
	}
	storeRel := strings.TrimPrefix(g.Store, "/")
	if storeRel == "" {
		return nil, fmt.Errorf("the store directory cannot be /")
	}
	b := &builder{t: t, g: g, view: opts.Profile, index: map[string]int{}}

	comps := strings.Split(storeRel, "/")
	for i := range comps {
		mode := dirMode
		if i == len(comps)-1 {
			mode = storeMode
		}
		if err := b.add(Entry{Path: strings.Join(comps[:i+1], "/"), Kind: Dir, Mode: mode}); err != nil {
			return nil, err
		}
	}
	for _, item := range t.Items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if opts.Profile != nil && item == opts.Profile.Path {
			for _, e := range opts.Profile.entries(storeRel + "/" + filepath.Base(item)) {
				if err := b.add(e); err != nil {
					return nil, err
				}
			}
			continue
		}
		if err := b.walk(ctx, item, storeRel+"/"+filepath.Base(item)); err != nil {
			return nil, err
		}
	}
	for _, s := range opts.Symlinks {
		if opts.Relocatable && s == WrappersLink {
			// guix pack users spell the profile's /bin this way; with
			// -R the wrappers are that /bin.
			continue
		}
		if err := b.symlink(s, g); err != nil {
			return nil, err
		}
	}
	if opts.Relocatable {
		if err := b.wrappers(g, opts); err != nil {
			return nil, err
		}
	}
	for _, e := range opts.Extra {
		if err := b.parents(e.Path); err != nil {
			return nil, err
		}
		if err := b.add(e); err != nil {
			return nil, err
		}
	}
	sort.Slice(t.Entries, func(i, j int) bool { return Less(t.Entries[i].Path, t.Entries[j].Path) })
	if err := Validate(t); err != nil {
		return nil, fmt.Errorf("pack tree: %w", err)
	}
	return t, nil
}

type builder struct {
	t     *Tree
	g     *closure.Graph
	view  *Profile       // the made profile's paths, and the host's
	index map[string]int // path -> entry index
}

// add appends e, or checks that an entry already there is the same
// directory (parents are added by several requests).
func (b *builder) add(e Entry) error {
	if i, ok := b.index[e.Path]; ok {
		old := b.t.Entries[i]
		if old.Kind == Dir && e.Kind == Dir {
			return nil
		}
		return &usererr.Error{Path: "/" + e.Path, What: fmt.Sprintf("two entries of the pack want this path (a %s and a %s)", old.Kind, e.Kind), Fix: "change the -S links so they do not meet the store, bin/ of -R, or each other"}
	}
	b.index[e.Path] = len(b.t.Entries)
	b.t.Entries = append(b.t.Entries, e)
	return nil
}

// parents adds the directories above rel.
func (b *builder) parents(rel string) error {
	dir := path.Dir(rel)
	if dir == "." {
		return nil
	}
	if err := b.parents(dir); err != nil {
		return err
	}
	return b.add(Entry{Path: dir, Kind: Dir, Mode: dirMode})
}

// walk adds the file tree at src (a store item) under rel.
func (b *builder) walk(ctx context.Context, src, rel string) error {
	fi, err := os.Lstat(src)
	if err != nil {
		return readError(src, err)
	}
	// Keep the store's permission bits, in tar's numbering, but for the
	// set-user-ID and set-group-ID bits: the Nix and Guix daemons clear
	// them in every item they add, so one found here was set by hand,
	// and a pack must not hand it on (an unpacked setuid root program).
	perm := fi.Mode().Perm()
	if fi.Mode()&fs.ModeSticky != 0 {
		perm |= 0o1000
	}
	if fi.Mode()&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
		b.t.ClearedSetID = append(b.t.ClearedSetID, src)
	}
	switch {
	case fi.Mode().IsRegular():
		// The stamp the closure scan saw: a file rewritten since may
		// refer to what the closure lacks.
		st := closure.StampOf(fi)
		if scanned, ok := b.scanned(src); ok && scanned != st {
			return closure.Changed(src, scanned, st)
		}
		return b.add(Entry{Path: rel, Kind: File, Mode: perm, Size: fi.Size(), Source: src, Stamp: st})
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return readError(src, err)
		}
		return b.add(Entry{Path: rel, Kind: Symlink, Mode: 0o777, Target: target})
	case fi.IsDir():
		if err := b.add(Entry{Path: rel, Kind: Dir, Mode: perm}); err != nil {
			return err
		}
		ents, err := os.ReadDir(src)
		if err != nil {
			return readError(src, err)
		}
		for _, e := range ents {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := b.walk(ctx, src+"/"+e.Name(), rel+"/"+e.Name()); err != nil {
				return err
			}
		}
		return nil
	}
	return &usererr.Error{Path: src, What: "a special file inside a store item", Fix: "store items hold only files, directories and symlinks"}
}

func readError(p string, err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return &usererr.Error{Path: p, What: "permission denied", Fix: "make it readable or run gpack as its owner", Err: err}
	}
	return &usererr.Error{Path: p, What: err.Error(), Err: err}
}

// symlink adds a -S link, relative to its own directory.
func (b *builder) symlink(s LinkRequest, g *closure.Graph) error {
	if b.t.Profile == "" {
		return fmt.Errorf("-S needs an item to point into")
	}
	storeRel := strings.TrimPrefix(g.Store, "/")
	link := strings.TrimPrefix(s.Link, "/")
	if link == storeRel || strings.HasPrefix(link, storeRel+"/") || strings.HasPrefix(storeRel, link+"/") {
		return &usererr.Error{Path: s.Link, What: "-S link would replace the store or one of its parents", Fix: "choose a LINK outside " + g.Store}
	}
	target := strings.TrimPrefix(b.t.Profile, "/")
	if s.Target != "" {
		target += "/" + s.Target
	}
	if _, err := b.view.Lstat("/" + target); err != nil {
		return &usererr.Error{Path: "/" + target, What: "-S target does not exist in the profile", Fix: "TARGET is relative to " + b.t.Profile}
	}
	rel, err := filepath.Rel(path.Dir(link), target)
	if err != nil {
		return fmt.Errorf("-S %s: %w", s.Link, err)
	}
	if err := b.parents(link); err != nil {
		return err
	}
	return b.add(Entry{Path: link, Kind: Symlink, Mode: 0o777, Target: rel})
}

// wrappers adds the launcher, one hard link to it per program of the root
// items' bin/ and sbin/, and the manifest.
func (b *builder) wrappers(g *closure.Graph, opts Options) error {
	if opts.Launcher == nil || opts.Manifest == nil || opts.LauncherPath == "" || opts.ManifestPath == "" {
		return fmt.Errorf("a relocatable pack needs the launcher and its manifest")
	}
	programs := map[string]string{}
	from := map[string]string{} // name -> the item that offers it
	roots := g.Roots
	if b.view != nil {
		roots = []string{b.view.Path}
	}
	for _, item := range roots {
		mine := map[string]bool{}
		for _, dir := range []string{"bin", "sbin"} {
			if fi, err := b.view.Stat(item + "/" + dir); err != nil || !fi.IsDir() {
				continue
			}
			ents, err := b.view.ReadDir(item + "/" + dir)
			if err != nil {
				return readError(item+"/"+dir, err)
			}
			for _, e := range ents {
				name := e.Name()
				prog := item + "/" + dir + "/" + name
				if !b.runnable(g, prog) || mine[name] {
					continue
				}
				mine[name] = true
				if other, ok := from[name]; ok {
					// A profile and the package it links to offer
					// one file under one name: nothing to choose.
					if opts.FirstWins || b.sameFile(programs[name], prog) {
						continue
					}
					return &usererr.Error{Path: prog, What: "program name " + name + " is offered by both " + other + " and " + item, Fix: "pack one of them, or pass --collisions=first to keep the first item's"}
				}
				if strings.ContainsAny(name, "\t\n") {
					return &usererr.Error{Path: prog, What: "a program name with a tab or newline cannot be wrapped", Fix: "rename it in the item"}
				}
				from[name] = item
				programs[name] = prog
			}
		}
	}
	if len(programs) == 0 {
		return &usererr.Error{Path: b.t.Profile, What: "no executable in bin/ or sbin/ of the given items, so -R has nothing to wrap", Fix: "give the item (or profile) that holds the programs"}
	}
	manifest, err := opts.Manifest(ManifestInput{Store: g.Store, Programs: programs, Entry: opts.Entry, Env: opts.Env})
	if err != nil {
		return fmt.Errorf("manifest: %w", err)
	}
	arch, archOf, err := b.programArch(programs)
	if err != nil {
		return err
	}
	launcher, err := opts.Launcher(arch)
	if err != nil {
		return &usererr.Error{Path: archOf, What: "-R: " + err.Error()}
	}
	b.t.LauncherArch = arch
	for _, p := range []string{opts.LauncherPath, opts.ManifestPath, opts.RootDir} {
		if p != "" {
			if err := b.parents(p); err != nil {
				return err
			}
		}
	}
	if err := b.add(Entry{Path: opts.LauncherPath, Kind: File, Mode: 0o555, Size: int64(len(launcher)), Data: launcher}); err != nil {
		return err
	}
	if err := b.add(Entry{Path: opts.ManifestPath, Kind: File, Mode: 0o444, Size: int64(len(manifest)), Data: manifest}); err != nil {
		return err
	}
	if opts.RootDir != "" {
		if err := b.add(Entry{Path: opts.RootDir, Kind: Dir, Mode: 0o555}); err != nil {
			return err
		}
	}
	if err := b.add(Entry{Path: "bin", Kind: Dir, Mode: dirMode}); err != nil {
		return err
	}
	for name := range programs {
		if err := b.add(Entry{Path: "bin/" + name, Kind: HardLink, Mode: 0o555, Target: opts.LauncherPath}); err != nil {
			return err
		}
	}
	if len(opts.Entry) > 0 {
		if opts.EntryPath == "" || opts.EntryLink == "" {
			return fmt.Errorf("a relocatable pack with an entry point needs the paths of its ./run")
		}
		rel, err := filepath.Rel(path.Dir(opts.EntryLink), opts.EntryPath)
		if err != nil {
			return err
		}
		if err := b.add(Entry{Path: opts.EntryPath, Kind: HardLink, Mode: 0o555, Target: opts.LauncherPath}); err != nil {
			return err
		}
		if err := b.add(Entry{Path: opts.EntryLink, Kind: Symlink, Mode: 0o777, Target: rel}); err != nil {
			return err
		}
	}
	b.t.Programs = programs
	return nil
}

// programArch is the architecture of the programs the wrappers run: that of
// the first, in name order, that is an ELF file after its symlinks, else
// (scripts only) that of the first ELF file of the closure. It also returns
// the file it read.
func (b *builder) programArch(programs map[string]string) (string, string, error) {
	for _, name := range slices.Sorted(maps.Keys(programs)) {
		real, err := b.view.EvalSymlinks(programs[name])
		if err != nil {
			continue
		}
		f, err := os.Open(real)
		if err != nil {
			continue
		}
		var h [20]byte
		_, err = io.ReadFull(f, h[:])
		f.Close()
		if err != nil {
			continue
		}
		arch, ok, err := ELFArch(h[:])
		if err != nil {
			return "", real, &usererr.Error{Path: real, What: "-R: the program's architecture is unknown (" + err.Error() + ")",
				Fix: "pack without -R, and run the pack extracted at /"}
		}
		if ok {
			return arch, real, nil
		}
	}
	arch, err := entriesArch(b.t.Store, b.t.Entries)
	if err != nil {
		return "", "", &usererr.Error{Path: b.t.Store, What: "-R: " + err.Error(), Fix: "pack without -R"}
	}
	return arch, b.t.Store, nil
}

// sameFile reports whether two programs are, after their symlinks, one
// file.
func (b *builder) sameFile(x, y string) bool {
	ra, err1 := b.view.EvalSymlinks(x)
	rb, err2 := b.view.EvalSymlinks(y)
	return err1 == nil && err2 == nil && ra == rb
}

// runnable reports whether prog, after its symlinks, is an executable
// regular file of the closure.
func (b *builder) runnable(g *closure.Graph, prog string) bool {
	fi, err := b.view.Stat(prog)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return false
	}
	real, err := b.view.EvalSymlinks(prog)
	if err != nil {
		return false
	}
	// The store directory may itself be reached through a symlink.
	store := g.Store
	if s, err := filepath.EvalSymlinks(store); err == nil {
		store = s
	}
	rel, ok := strings.CutPrefix(real, store+"/")
	if !ok {
		return false
	}
	item, _, _ := strings.Cut(rel, "/")
	return g.Items[g.Store+"/"+item] != nil
}

// scanned is the stamp the closure scan took of the store file src, if it
// scanned it.
func (b *builder) scanned(src string) (closure.Stamp, bool) {
	rel, ok := strings.CutPrefix(src, b.g.Store+"/")
	if !ok {
		return closure.Stamp{}, false
	}
	name, inside, _ := strings.Cut(rel, "/")
	it := b.g.Items[b.g.Store+"/"+name]
	if it == nil {
		return closure.Stamp{}, false
	}
	return it.Stamp(inside)
}
