package ptrace

import (
	"os"
	"strings"
	"syscall"
)

// maxSymlinks is the kernel's limit on symlinks followed in one lookup
// (MAXSYMLINKS): past it, the tracer answers ELOOP as the kernel would.
const maxSymlinks = 40

// translator maps the paths a traced program uses, which name the store at
// its store path (/nix/store/…), to the pack's copy (ROOT/nix/store/…), and
// back. It resolves symlinks itself along every path that reaches the store,
// because profiles are forests of absolute symlinks into the store, and the
// kernel would resolve those against the host's root, where the store is
// missing. A host path may reach the store too, through a symlink outside it
// (a venv's bin/python, ~/bin/tool): the translator follows the host's links
// as the kernel would, and leaves the path alone unless one leads into a
// store or a pack.
//
// The pack's store is immutable while programs run (store items are
// read-only), so what lstat and readlink say about it is cached for the life
// of the launcher. What lookups found of host paths is kept too, until a
// traced call may change it, but only to decide that a path is the kernel's
// (see hostFacts).
type translator struct {
	store string // the store directory the programs expect, e.g. /nix/store
	real  string // where the pack holds it: ROOT/nix/store, symlink-free
	root  string // the pack's root, symlink-free

	// linkLimit is how many symlinks one lookup may follow: maxSymlinks,
	// or 0 for openat2's RESOLVE_NO_SYMLINKS.
	linkLimit int

	cache map[string]linkInfo // real path → what lstat found, under real only
	lstat func(string) (linkInfo, error)

	// Other packs whose programs the program ran (a nested call: one
	// pack's program starts another pack's wrapper). Their stores join
	// the view: a traced process cannot be traced again, so the inner
	// launcher could not run an engine of its own; it finds its program
	// at the store path and execs it.
	others []otherPack
	items  map[string]string // item name → real store holding it, once others share tr.store

	// hostFacts is what lookups found of host paths (outside the stores
	// and the packs): a path there is plain, missing, on procfs or a
	// symlink. They may be stale (the host may change them behind the
	// tracer's back), so they only ever decide that the kernel can take a
	// path as the program wrote it, which it then resolves itself: a
	// lookup that used a kept symlink and reached a store is made again
	// with fresh ones before its result is used. Nothing is learnt while
	// hostFrozen is above 0, the number of calls under way that may make a
	// host name a symlink (beginHostChange).
	hostFacts  map[string]hostEntry
	hostFrozen int
	hostLstats int    // lstats of host paths, for GPACK_DEBUG
	procDev    uint64 // the device of /proc, whose links only the kernel can follow
	hasProcDev bool
}

// hostFact is what a lookup found at a host path.
type hostFact uint8

const (
	hostUnknown hostFact = iota
	// hostPlain: it exists and is no symlink, and the lookup reached it
	// by a path without one: nothing on the way to it leads elsewhere.
	hostPlain
	// hostMissing: it does not exist, or a component above it is not a
	// directory: the kernel's lookup ends there.
	hostMissing
	// hostKernel: it is on procfs, whose links (/proc/self,
	// /proc/PID/fd/N …) mean what they mean to the program, not to the
	// tracer: the kernel resolves the rest.
	hostKernel
	// hostLink: a symlink, with its target.
	hostLink
	// hostError: lstat failed otherwise (EACCES …), which the kernel will
	// say too. Not kept.
	hostError
)

type hostEntry struct {
	fact   hostFact
	target string // a symlink's
}

// maxHostFacts bounds hostFacts (some 4 MB): once it is full, a random
// quarter goes. A quarter rather than all, so that a program that goes
// round a larger tree still finds most of it known.
const maxHostFacts = 1 << 15

type otherPack struct{ root, store, real string }

// addPack adds another pack's store to the view. Where two packs hold the
// same store directory, an item of the first pack wins.
func (tr *translator) addPack(root, store, real string) {
	if root == tr.root {
		return
	}
	for _, o := range tr.others {
		if o.root == root {
			return
		}
	}
	tr.others = append(tr.others, otherPack{root, store, real})
	tr.items = map[string]string{}
}

// addAlias makes alias a second name of the pack's own store: a relocated
// pack's files name its relocation prefix instead of the store, and the
// tracer resolves those paths itself rather than follow the prefix's link,
// which another user may hold on this node.
func (tr *translator) addAlias(alias string) {
	tr.others = append(tr.others, otherPack{root: tr.root, store: alias, real: tr.real})
	tr.items = map[string]string{}
}

// inStore reports whether p lies in a store directory of the view.
func (tr *translator) inStore(p string) bool {
	if hasPathPrefix(p, tr.store) {
		return true
	}
	for _, o := range tr.others {
		if hasPathPrefix(p, o.store) {
			return true
		}
	}
	return false
}

// storeOf returns the store directory of the view that holds p, or "" if
// p lies in none: a path of the host, or of a pack by its own path.
func (tr *translator) storeOf(p string) string {
	if hasPathPrefix(p, tr.store) {
		return tr.store
	}
	for _, o := range tr.others {
		if hasPathPrefix(p, o.store) {
			return o.store
		}
	}
	return ""
}

// aboveStore reports whether p is a proper ancestor of a store directory
// or of a pack: /nix on the way to /nix/store.
func (tr *translator) aboveStore(p string) bool {
	if isAncestor(p, tr.store) || isAncestor(p, tr.root) {
		return true
	}
	for _, o := range tr.others {
		if isAncestor(p, o.store) || isAncestor(p, o.root) {
			return true
		}
	}
	return false
}

// inPack reports whether p lies in one of the packs.
func (tr *translator) inPack(p string) bool {
	if hasPathPrefix(p, tr.root) {
		return true
	}
	for _, o := range tr.others {
		if hasPathPrefix(p, o.root) {
			return true
		}
	}
	return false
}

// inRealStore reports whether p lies in one of the packs' stores.
func (tr *translator) inRealStore(p string) bool {
	if hasPathPrefix(p, tr.real) {
		return true
	}
	for _, o := range tr.others {
		if hasPathPrefix(p, o.real) {
			return true
		}
	}
	return false
}

// realStoreOf returns the pack's store directory (real) that holds the real
// path p, or "".
func (tr *translator) realStoreOf(p string) string {
	if hasPathPrefix(p, tr.real) {
		return tr.real
	}
	for _, o := range tr.others {
		if hasPathPrefix(p, o.real) {
			return o.real
		}
	}
	return ""
}

// storeFor returns the real store that holds the item named by the first
// component of rest ("/<hash>-name/…").
func (tr *translator) storeFor(rest string) string {
	item, _ := nextComponent(rest)
	if item == "" {
		return tr.real
	}
	if r, ok := tr.items[item]; ok {
		return r
	}
	r := tr.real
	if i, err := tr.lstat(tr.real + "/" + item); err != nil || !i.exists {
		for _, o := range tr.others {
			if o.store != tr.store {
				continue
			}
			if i, err := tr.lstat(o.real + "/" + item); err == nil && i.exists {
				r = o.real
				break
			}
		}
	}
	tr.items[item] = r
	return r
}

// linkInfo is what the translator needs to know about one path component.
type linkInfo struct {
	exists   bool
	symlink  bool
	target   string // for a symlink
	readOnly bool   // a directory no one may write to
}

func newTranslator(store, real, root string) *translator {
	tr := &translator{store: store, real: real, root: root, linkLimit: maxSymlinks, cache: map[string]linkInfo{}, lstat: lstatInfo,
		hostFacts: map[string]hostEntry{}}
	var st syscall.Stat_t
	if syscall.Stat("/proc", &st) == nil {
		tr.procDev, tr.hasProcDev = uint64(st.Dev), true
	}
	return tr
}

func lstatInfo(p string) (linkInfo, error) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		if err == syscall.ENOENT || err == syscall.ENOTDIR {
			return linkInfo{}, nil
		}
		return linkInfo{}, err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		return linkInfo{exists: true, readOnly: st.Mode&syscall.S_IFMT == syscall.S_IFDIR && st.Mode&0o222 == 0}, nil
	}
	t, err := os.Readlink(p)
	if err != nil {
		return linkInfo{}, err
	}
	return linkInfo{exists: true, symlink: true, target: t}, nil
}

// hasPathPrefix reports whether p is dir or lies below it.
func hasPathPrefix(p, dir string) bool {
	if !strings.HasPrefix(p, dir) {
		return false
	}
	return len(p) == len(dir) || p[len(dir)] == '/' || dir == "/"
}

// ours reports whether the absolute path p (as the program wrote it, maybe
// with . and ..) may reach the store or the pack, and so must be resolved
// by the tracer. A path with ".." is cleaned first: /usr/../nix/store is in
// the store.
func (tr *translator) ours(p string) bool {
	if hasPathPrefix(p, tr.store) || tr.inPack(p) || len(tr.others) > 0 && tr.inStore(p) {
		return true
	}
	if strings.Contains(p, "/..") || strings.Contains(p, "/./") || strings.Contains(p, "//") {
		c := cleanPath(p)
		return tr.inStore(c) || tr.inPack(c)
	}
	return false
}

// toReal maps a program's view of a path to the host's.
func (tr *translator) toReal(v string) string {
	if hasPathPrefix(v, tr.store) {
		if len(tr.others) > 0 {
			return tr.storeFor(v[len(tr.store):]) + v[len(tr.store):]
		}
		return tr.real + v[len(tr.store):]
	}
	for _, o := range tr.others {
		if o.store != tr.store && hasPathPrefix(v, o.store) {
			return o.real + v[len(o.store):]
		}
	}
	return v
}

// toVirtual maps a host path to the program's view: the inverse of toReal.
func (tr *translator) toVirtual(r string) string {
	if hasPathPrefix(r, tr.real) {
		return tr.store + r[len(tr.real):]
	}
	for _, o := range tr.others {
		if hasPathPrefix(r, o.real) {
			return o.store + r[len(o.real):]
		}
	}
	return r
}

// isAncestor reports whether dir is a proper ancestor of p ("/nix" of
// "/nix/store").
func isAncestor(dir, p string) bool {
	return len(dir) < len(p) && hasPathPrefix(p, dir)
}

// resolve turns the absolute path v of the program's view into the host
// path to give the kernel. Every symlink along the way is followed here, the
// last one only if follow is set (stat follows, lstat does not), inside the
// store and the pack as on the host: a link outside the store may lead into
// it. Resolution stops, and the kernel takes the rest as it is, at the first
// component that does not exist (the kernel then reports ENOENT, or creates
// it) and on procfs (whose links mean what they mean to the program, not to
// the tracer). The error is ELOOP after too many links. missing reports that
// a component inside the pack's store does not exist: the pack cannot
// change, so the path cannot name a file.
func (tr *translator) resolve(v string, follow bool) (real string, missing bool, err error) {
	_, real, missing, err = tr.resolveView(v, follow)
	return real, missing, err
}

// resolveView is resolve that also returns where the path leads in the
// program's view: a path in a store (/nix/store/…) when the lookup reached
// it through a store path, the pack's own path (ROOT/nix/store/…) when it
// came through that, or a host path. Both can end at the same real file;
// only the first is the store, which a program must not change.
func (tr *translator) resolveView(v string, follow bool) (view, real string, missing bool, err error) {
	view, missing, via, stale, err := tr.walk("/", v, follow, false, false)
	if via && stale {
		view, missing, _, _, err = tr.walk("/", v, follow, true, false)
	}
	if err != nil {
		return "", "", false, err
	}
	return view, tr.toReal(view), missing, nil
}

// resolveAt resolves a path argument, v, absolute, for a call whose lookup
// starts from base: / for an absolute argument, else the working directory
// or a directory descriptor (in the program's view, as the kernel names it:
// without symlinks), which v then starts with. via reports that the lookup
// reached a store or a pack; otherwise the kernel finds what the program
// means from the path as the program wrote it, and view and real are
// meaningless.
//
// A host path costs little once its directories are known: the lookup
// starts from the deepest ancestor in hostFacts, and a path whose parent is
// known plain needs nothing more if the call does not follow its last
// component, or if that is known too. So only the last components that were
// never seen, or that are symlinks, are looked at with lstat.
func (tr *translator) resolveAt(base, v string, follow bool) (view, real string, missing, via bool, err error) {
	if v == "" || v[0] != '/' {
		return "", "", false, false, nil // the kernel's
	}
	if tr.ours(v) {
		view, real, missing, err = tr.resolveView(v, follow)
		return view, real, missing, true, err
	}
	rel := v
	if base != "/" {
		rel = v[len(base)+1:]
		if tr.hostFacts[base].fact != hostPlain && !tr.inStore(base) && !tr.inPack(base) {
			tr.learn(base, hostEntry{fact: hostPlain})
		}
	}
	start, rest, kept := base, rel, false
	if isClean(v) {
		last := strings.LastIndexByte(v, '/')
		for i := last; i >= 0; i = strings.LastIndexByte(v[:i], '/') {
			d := v[:i]
			if i == 0 {
				d = "/"
			}
			if i > 0 && d != base && tr.hostFacts[d].fact != hostPlain && !tr.aboveStore(d) {
				continue
			}
			if i == last {
				if !follow {
					return "", "", false, false, nil
				}
				if f := tr.hostFacts[v].fact; f == hostPlain || f == hostMissing || f == hostKernel {
					return "", "", false, false, nil
				}
			}
			start, rest, kept = d, v[i+1:], i > 0 && d != base && !tr.aboveStore(d)
			break
		}
	}
	view, missing, via, stale, err := tr.walk(start, rest, follow, false, kept)
	if via && stale {
		view, missing, via, _, err = tr.walk(base, rel, follow, true, false)
	}
	if !via {
		// Nothing of the view's on the way: an ELOOP among the host's
		// links is the kernel's to report.
		return "", "", false, false, nil
	}
	if err != nil {
		return "", "", false, true, err
	}
	return view, tr.toReal(view), missing, true, nil
}

// hostTarget returns where the host path v leads, its links followed as far
// as the translator knows them (what it has kept may be stale): a hint, for
// what the caller checks anyway.
func (tr *translator) hostTarget(v string) string {
	view, _, _, _, err := tr.walk("/", v, true, false, false)
	if err != nil || view == "" {
		return v
	}
	return view
}

// walk resolves rest, relative to out (a directory of the program's view
// that needs no resolution: /, a working directory, a directory descriptor,
// or an ancestor known to be plain, which kept says), as the kernel would
// for the program, and returns where it leads in the program's view. via
// reports that the lookup went through a store or a pack.
//
// What hostFacts says of the host may be stale. Where the walk keeps a host
// name as it is, the kernel resolves that name again, so a stale fact can
// only make it leave a link into the store to the kernel. But the target of
// a kept symlink, and a ".." that climbs out of a directory known only from
// hostFacts, shape the path itself: stale reports that the walk used either.
// A caller then walks again with fresh set, which looks every host name up
// afresh, before it rewrites a path after the walk.
func (tr *translator) walk(out, rest string, follow, fresh, kept bool) (view string, missing, via, stale bool, err error) {
	// A trailing slash asks for a directory, and follows a final symlink
	// even for lstat, as the kernel does.
	slash := len(rest) > 1 && rest[len(rest)-1] == '/'
	if slash {
		follow = true
	}
	via = tr.inStore(out) || tr.inPack(out)
	links := 0
	for {
		var c string
		c, rest = nextComponent(rest)
		if c == "" {
			break
		}
		if c == "." {
			continue
		}
		if c == ".." {
			// out is where the lookup is, links resolved: its parent is
			// the kernel's "..".
			out = parentDir(out)
			stale = stale || kept
			continue
		}
		next := joinPath(out, c)
		last := isLastComponent(rest)
		var target string
		switch {
		case tr.inStore(next) || tr.inPack(next):
			via = true
			real := tr.toReal(next)
			info, err := tr.info(real)
			if err != nil {
				return "", false, via, stale, err
			}
			if !info.exists {
				return joinRest(next, rest), tr.inRealStore(real) && tr.fixed(parentDir(real)), via, stale, nil
			}
			if !info.symlink || last && !follow {
				out = next
				continue
			}
			target = info.target
		case tr.aboveStore(next):
			// /nix on the way to /nix/store: a directory in the
			// program's view even where the host lacks it.
			out = next
			continue
		case last && !follow:
			// A host name the call does not follow: the kernel takes
			// it as it is.
			out = next
			continue
		default:
			e, known := tr.hostInfo(next, fresh)
			kept = kept || known
			switch e.fact {
			case hostPlain:
				out = next
				continue
			case hostLink:
				target = e.target
				stale = stale || known
			default:
				// Missing, on procfs or unreadable: the kernel
				// resolves the rest as it is.
				return joinRest(next, rest), false, via, stale, nil
			}
		}
		links++
		if links > tr.linkLimit {
			return "", false, via, stale, syscall.ELOOP
		}
		if strings.HasPrefix(target, "/") {
			out = "/"
		}
		rest = target + "/" + rest
	}
	if slash && out != "/" {
		out += "/"
	}
	return out, false, via, stale, nil
}

// hostInfo is what lstat (and readlink) say of a host path, from
// hostFacts if known there and fresh is not set. known reports that it came
// from hostFacts.
func (tr *translator) hostInfo(p string, fresh bool) (e hostEntry, known bool) {
	if e, ok := tr.hostFacts[p]; ok && !fresh {
		return e, true
	}
	tr.hostLstats++
	var st syscall.Stat_t
	switch err := syscall.Lstat(p, &st); {
	case err == syscall.ENOENT || err == syscall.ENOTDIR:
		e.fact = hostMissing
	case err != nil:
		return hostEntry{fact: hostError}, false
	case tr.hasProcDev && uint64(st.Dev) == tr.procDev:
		e.fact = hostKernel
	case st.Mode&syscall.S_IFMT == syscall.S_IFLNK:
		t, err := os.Readlink(p)
		if err != nil || t == "" {
			// Changed meanwhile, or empty (ENOENT): the kernel's.
			return hostEntry{fact: hostError}, false
		}
		e = hostEntry{fact: hostLink, target: t}
	default:
		e.fact = hostPlain
	}
	tr.learn(p, e)
	return e, false
}

// learn keeps what a lookup found of a host path, unless a call that may
// change host names is under way.
func (tr *translator) learn(p string, e hostEntry) {
	if tr.hostFrozen > 0 {
		return
	}
	if len(tr.hostFacts) >= maxHostFacts {
		n := 0
		for k := range tr.hostFacts { // in an order of the runtime's choice
			delete(tr.hostFacts, k)
			if n++; n >= maxHostFacts/4 {
				break
			}
		}
	}
	tr.hostFacts[p] = e
}

// beginHostChange is called at the entry of a system call that may make a
// host name a symlink (symlink, link, rename) or change what a path leads to
// (mount, umount2, pivot_root, chroot): what was learnt of host paths may no
// longer hold, and nothing is learnt until endHostChange, at the call's exit,
// since a lookup made meanwhile may see the names before or after the change.
func (tr *translator) beginHostChange() {
	clear(tr.hostFacts)
	tr.hostFrozen++
}

func (tr *translator) endHostChange() { tr.hostFrozen-- }

// isClean reports whether p is absolute, without empty, . or .. components
// and without a trailing slash: its prefixes are the directories a lookup
// passes through.
func isClean(p string) bool {
	if p == "" || p[0] != '/' {
		return false
	}
	start := 1
	for i := 1; i <= len(p); i++ {
		if i == len(p) || p[i] == '/' {
			if c := p[start:i]; c == "" || c == "." || c == ".." {
				return p == "/"
			}
			start = i + 1
		}
	}
	return true
}

// info is lstat with the cache: only the pack's files are cached, since
// only they are known not to change.
func (tr *translator) info(real string) (linkInfo, error) {
	if tr.inRealStore(real) {
		if i, ok := tr.cache[real]; ok {
			return i, nil
		}
		i, err := tr.lstat(real)
		// What exists in the pack stays; what is missing stays missing
		// only in a read-only directory (a store item's, normally):
		// a program may create files where the user made the pack
		// writable.
		if err == nil && (i.exists || tr.fixed(parentDir(real))) {
			tr.cache[real] = i
		}
		return i, err
	}
	return tr.lstat(real)
}

// fixed reports whether nothing can appear in the pack's directory dir,
// which no one may write to.
func (tr *translator) fixed(dir string) bool {
	i, err := tr.info(dir)
	return err == nil && i.exists && i.readOnly
}

// nextComponent splits the first component off a slash-separated path.
func nextComponent(p string) (string, string) {
	for len(p) > 0 && p[0] == '/' {
		p = p[1:]
	}
	i := strings.IndexByte(p, '/')
	if i < 0 {
		return p, ""
	}
	return p[:i], p[i+1:]
}

// isLastComponent reports whether rest holds no further component.
func isLastComponent(rest string) bool {
	for i := 0; i < len(rest); i++ {
		if rest[i] != '/' {
			return false
		}
	}
	return true
}

func joinPath(dir, name string) string {
	if dir == "/" {
		return "/" + name
	}
	return dir + "/" + name
}

// joinRest appends the unresolved rest to a resolved prefix, keeping a
// trailing slash, which matters to the kernel.
func joinRest(prefix, rest string) string {
	if rest == "" {
		return prefix
	}
	return prefix + "/" + rest
}

func parentDir(p string) string {
	i := strings.LastIndexByte(p, '/')
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

// cleanPath is a lexical clean of an absolute path, without the allocation
// of path.Clean when there is nothing to clean.
func cleanPath(p string) string {
	out := "/"
	rest := p
	for {
		var c string
		c, rest = nextComponent(rest)
		switch c {
		case "":
			return out
		case ".":
		case "..":
			out = parentDir(out)
		default:
			out = joinPath(out, c)
		}
	}
}
