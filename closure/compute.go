package closure

import (
	"context"
	"errors"
	"fmt"
	"github.com/gpack/gpack/internal/usererr"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
)

// Options tune Compute. The zero value means the defaults.
type Options struct {
	// Workers is the number of files scanned at once. The default, two per
	// CPU, keeps a CPU busy while another read waits for the disk on a cold
	// page cache; on a warm cache the extra workers cost nothing. More than
	// MaxWorkers() is taken as MaxWorkers(): each worker holds a buffer,
	// and -j 100000 once took 3.4 GB for a 66 MB closure.
	Workers int
	// ChunkSize is the read size per file (default ChunkSize).
	ChunkSize int
	// AllItems scans every item of the store, not only the closure of the
	// roots; the graph then holds the whole store.
	AllItems bool
}

// EvidenceKind says where in an item a reference was found.
type EvidenceKind uint8

// Where a reference can be found, in Nix's order within a NAR.
const (
	InContents EvidenceKind = iota // a regular file's bytes
	InName                         // the name of a directory entry
	InTarget                       // a symlink's target
)

func (k EvidenceKind) String() string {
	switch k {
	case InName:
		return "name"
	case InTarget:
		return "symlink target"
	}
	return "contents"
}

// Evidence locates one reference inside an item: the first place, in NAR
// order, that holds the referenced hash.
type Evidence struct {
	File   string       // path inside the item, "" for the item itself
	Kind   EvidenceKind // contents, name or symlink target
	Offset int64        // offset of the hash in the contents or the string
}

// MissingRef is a spelled-out store path whose item is not in the store.
type MissingRef struct {
	Path     string   // <store>/<hash>-… up to the hash and its dash
	Evidence Evidence // where the item mentions it
}

// Item is one store item of a graph.
type Item struct {
	Path       string       // absolute store path
	NarSize    int64        // size of its NAR serialisation, as nix path-info -s reports
	References []string     // sorted absolute paths of the items it references, itself included when it does
	Missing    []MissingRef // mentioned store paths that are not in the store, sorted
	evidence   map[string]Evidence
	stamps     map[string]Stamp // by path inside the item, of every regular file scanned
}

// Stamp returns the stamp a regular file of the item had when it was
// scanned; rel is its path inside the item. A reader of the file later (the
// pack) compares it with the file's stamp then: a file rewritten after the
// scan may refer to what the closure lacks.
func (it *Item) Stamp(rel string) (Stamp, bool) {
	s, ok := it.stamps[rel]
	return s, ok
}

// Evidence returns where item it references ref.
func (it *Item) Evidence(ref string) (Evidence, bool) {
	e, ok := it.evidence[ref]
	return e, ok
}

// Graph is the reference graph of a closure.
type Graph struct {
	Store string           // the store directory
	Roots []string         // the items the closure was computed for, sorted
	Items map[string]*Item // every item of the closure, by path
	// Files and Bytes count what was scanned.
	Files, Bytes int64
}

type itemState struct {
	path    string
	narSize atomic.Int64
	mu      sync.Mutex
	refs    map[int32]Evidence
	missing map[string]Evidence
	stamps  map[string]Stamp
}

// note records e for key when it comes before what is there in NAR order.
func note[K comparable](m map[K]Evidence, k K, e Evidence) {
	if old, ok := m[k]; ok && !narBefore(e, old) {
		return
	}
	m[k] = e
}

// narBefore orders evidence as a NAR walk meets it: by path with "/" below
// every other byte (a directory's entries come right after its name),
// then entry name before its contents.
func narBefore(a, b Evidence) bool {
	if a.File != b.File {
		return PathLess(a.File, b.File)
	}
	if a.Kind != b.Kind {
		return a.Kind == InName
	}
	return a.Offset < b.Offset
}

// PathLess orders paths as a depth-first walk that visits each directory's
// names in byte order meets them, which is the order of a NAR and of GNU
// tar's --sort=name: "/" sorts below every other byte, so
// "a/b" < "a.b" < "ab".
func PathLess(a, b string) bool {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return true
		}
		if cb == '/' {
			return false
		}
		return ca < cb
	}
	return len(a) < len(b)
}

// afterScan, when set (by tests only), runs after a file is scanned and
// before its stamp is taken again: where a rewrite of the file in place
// must be noticed.
var afterScan func(path string)

type job struct {
	it   *itemState
	rel  string      // path inside the item; "" is the item itself
	mode fs.FileMode // type bits; for the item itself unknown until lstat
}

type run struct {
	ctx   context.Context
	store *Store
	m     *Matcher
	opts  Options

	mu      sync.Mutex
	cond    *sync.Cond
	queue   []job
	pending int // queued or running jobs
	items   map[int32]*itemState
	errs    []error

	files, bytes atomic.Int64
}

// Compute scans the closure of roots (absolute item paths in s) and returns
// its reference graph.
func Compute(ctx context.Context, s *Store, roots []string, opts Options) (*Graph, error) {
	if opts.Workers <= 0 {
		opts.Workers = 2 * runtime.GOMAXPROCS(0)
	}
	opts.Workers = min(opts.Workers, MaxWorkers())
	r := &run{ctx: ctx, store: s, opts: opts, items: map[int32]*itemState{}}
	r.cond = sync.NewCond(&r.mu)
	r.m = NewMatcher(s.hashes, s.Dir)
	index := make(map[string]int32, len(s.hashes))
	for i, h := range s.hashes {
		index[s.paths[h]] = int32(i)
	}
	var rootList []string
	r.mu.Lock()
	for _, p := range roots {
		i, ok := index[p]
		if !ok {
			r.mu.Unlock()
			return nil, &usererr.Error{Path: p, What: "not an item of the store " + usererr.Quote(s.Dir), Fix: "give items of one store"}
		}
		rootList = append(rootList, p)
		r.visitLocked(i)
	}
	if opts.AllItems {
		for i := range s.hashes {
			r.visitLocked(int32(i))
		}
	}
	r.mu.Unlock()

	var wg sync.WaitGroup
	for w := 0; w < opts.Workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.work()
		}()
	}
	stop := context.AfterFunc(ctx, func() {
		r.mu.Lock()
		r.cond.Broadcast()
		r.mu.Unlock()
	})
	wg.Wait()
	stop()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(r.errs) > 0 {
		return nil, r.firstError()
	}
	sort.Strings(rootList)
	return r.graph(uniq(rootList))
}

func uniq(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// firstError picks the error about the first path, so that the message does
// not depend on which worker failed first, and says how many more there are.
func (r *run) firstError() error {
	key := func(e error) string {
		var ue *usererr.Error
		if errors.As(e, &ue) {
			return ue.Path
		}
		return e.Error()
	}
	sort.SliceStable(r.errs, func(i, j int) bool { return key(r.errs[i]) < key(r.errs[j]) })
	if len(r.errs) == 1 {
		return r.errs[0]
	}
	return &moreErrors{first: r.errs[0], more: len(r.errs) - 1}
}

type moreErrors struct {
	first error
	more  int
}

func (e *moreErrors) Error() string {
	return fmt.Sprintf("%v (and %d more problems)", e.first, e.more)
}

func (e *moreErrors) Unwrap() error { return e.first }

// visitLocked queues item i unless it is known. Precondition: r.mu held.
func (r *run) visitLocked(i int32) {
	if _, ok := r.items[i]; ok {
		return
	}
	it := &itemState{path: r.store.paths[r.store.hashes[i]], refs: map[int32]Evidence{}}
	r.items[i] = it
	r.pushLocked(job{it: it})
}

func (r *run) pushLocked(j job) {
	r.queue = append(r.queue, j)
	r.pending++
	r.cond.Signal()
}

func (r *run) work() {
	sc := r.m.NewScanner(r.opts.ChunkSize)
	var h Hits
	var local []job
	for {
		r.mu.Lock()
		for len(r.queue) == 0 && r.pending > 0 && r.ctx.Err() == nil {
			r.cond.Wait()
		}
		if len(r.queue) == 0 || r.ctx.Err() != nil {
			r.mu.Unlock()
			return
		}
		// Last in, first out: a depth-first walk keeps the queue short.
		j := r.queue[len(r.queue)-1]
		r.queue = r.queue[:len(r.queue)-1]
		r.mu.Unlock()

		local = local[:0]
		err := r.do(j, sc, &h, &local)

		r.mu.Lock()
		if err != nil {
			r.errs = append(r.errs, err)
		}
		for _, c := range local {
			r.pushLocked(c)
		}
		r.pending--
		if r.pending == 0 {
			r.cond.Broadcast()
		}
		r.mu.Unlock()
	}
}

// do handles one directory entry. Children found in a directory go to out.
func (r *run) do(j job, sc *Scanner, h *Hits, out *[]job) error {
	full := j.it.path
	if j.rel != "" {
		full += "/" + j.rel
	}
	if j.rel == "" {
		fi, err := os.Lstat(full)
		if err != nil {
			return readError(full, err)
		}
		j.mode = fi.Mode().Type()
		j.it.narSize.Add(narHeader)
	}
	switch {
	case j.mode.IsDir():
		f, err := os.Open(full)
		if err != nil {
			return readError(full, err)
		}
		ents, err := f.ReadDir(-1)
		f.Close()
		if err != nil {
			return readError(full, err)
		}
		size := narDir
		for _, e := range ents {
			name := e.Name()
			rel := name
			if j.rel != "" {
				rel = j.rel + "/" + name
			}
			size += narEntry(len(name))
			h.Reset()
			r.m.ScanBytes([]byte(name), h)
			r.record(j.it, h, Evidence{File: rel, Kind: InName})
			t := e.Type()
			switch {
			case t.IsDir(), t.IsRegular():
				*out = append(*out, job{it: j.it, rel: rel, mode: t})
			case t&fs.ModeSymlink != 0:
				if err := r.symlink(j.it, full+"/"+name, rel, h); err != nil {
					return err
				}
			default:
				return specialFile(full+"/"+name, t)
			}
		}
		j.it.narSize.Add(size)
		return nil
	case j.mode.IsRegular():
		return r.file(j.it, full, j.rel, sc, h)
	case j.mode&fs.ModeSymlink != 0:
		return r.symlink(j.it, full, j.rel, h)
	}
	return specialFile(full, j.mode)
}

func (r *run) file(it *itemState, full, rel string, sc *Scanner, h *Hits) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	f, err := os.Open(full)
	if err != nil {
		return readError(full, err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return readError(full, err)
	}
	if !fi.Mode().IsRegular() {
		return specialFile(full, fi.Mode().Type())
	}
	it.narSize.Add(narRegular(fi.Size(), fi.Mode()&0o100 != 0))
	h.Reset()
	if err := sc.ScanFile(f, fi.Size(), h); err != nil {
		return readError(full, err)
	}
	if afterScan != nil {
		afterScan(full)
	}
	// A rewrite in place while the file was read leaves a scan of a mix
	// of old and new bytes, which may lack a reference: the file's
	// stamp must not have moved.
	before := StampOf(fi)
	if fi, err = f.Stat(); err != nil {
		return readError(full, err)
	}
	if after := StampOf(fi); after != before {
		return Changed(full, before, after)
	}
	it.mu.Lock()
	if it.stamps == nil {
		it.stamps = map[string]Stamp{}
	}
	it.stamps[rel] = before
	it.mu.Unlock()
	r.files.Add(1)
	r.bytes.Add(fi.Size())
	r.record(it, h, Evidence{File: rel, Kind: InContents})
	return nil
}

func (r *run) symlink(it *itemState, full, rel string, h *Hits) error {
	t, err := os.Readlink(full)
	if err != nil {
		return readError(full, err)
	}
	it.narSize.Add(narSymlink(len(t)))
	h.Reset()
	r.m.ScanBytes([]byte(t), h)
	r.record(it, h, Evidence{File: rel, Kind: InTarget})
	return nil
}

// record merges one entry's hits into its item and queues newly met items.
func (r *run) record(it *itemState, h *Hits, at Evidence) {
	if h.Len() == 0 && len(h.Missing) == 0 {
		return
	}
	it.mu.Lock()
	for _, hit := range h.List() {
		e := at
		e.Offset = hit.Offset
		note(it.refs, int32(hit.Index), e)
	}
	for _, m := range h.Missing {
		if it.missing == nil {
			it.missing = map[string]Evidence{}
		}
		note(it.missing, m, at)
	}
	it.mu.Unlock()
	if h.Len() > 0 {
		r.mu.Lock()
		for _, hit := range h.List() {
			r.visitLocked(int32(hit.Index))
		}
		r.mu.Unlock()
	}
}

func readError(p string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.Is(err, fs.ErrPermission):
		return &usererr.Error{Path: p, What: "permission denied", Fix: "gpack must read every file of the closure; make it readable or run gpack as its owner", Err: err}
	case errors.Is(err, fs.ErrNotExist):
		return &usererr.Error{Path: p, What: "vanished while it was scanned", Fix: "do not run the garbage collector while gpack runs", Err: err}
	}
	return &usererr.Error{Path: p, What: "cannot read: " + errText(err), Err: err}
}

func specialFile(p string, t fs.FileMode) error {
	kind := "special file"
	switch {
	case t&fs.ModeNamedPipe != 0:
		kind = "fifo"
	case t&fs.ModeSocket != 0:
		kind = "socket"
	case t&fs.ModeCharDevice != 0:
		kind = "character device"
	case t&fs.ModeDevice != 0:
		kind = "block device"
	}
	return &usererr.Error{Path: p, What: "a " + kind + " inside a store item", Fix: "store items hold only files, directories and symlinks; remove it or rebuild the item"}
}

// graph turns the scan's state into a Graph.
func (r *run) graph(roots []string) (*Graph, error) {
	g := &Graph{Store: r.store.Dir, Roots: roots, Items: make(map[string]*Item, len(r.items)), Files: r.files.Load(), Bytes: r.bytes.Load()}
	for _, st := range r.items {
		it := &Item{Path: st.path, NarSize: st.narSize.Load(), evidence: make(map[string]Evidence, len(st.refs)), stamps: st.stamps}
		var drvRefs map[string]bool
		isDrv := false
		if strings.HasSuffix(st.path, ".drv") {
			var err error
			if drvRefs, isDrv, err = drvReferences(st.path); err != nil {
				return nil, err
			}
		}
		for idx, e := range st.refs {
			h := r.store.hashes[idx]
			if isDrv && !drvRefs[h] {
				continue
			}
			p := r.store.paths[h]
			it.References = append(it.References, p)
			it.evidence[p] = e
		}
		sort.Strings(it.References)
		for h, e := range st.missing {
			it.Missing = append(it.Missing, MissingRef{Path: r.store.Dir + "/" + h + "-", Evidence: e})
		}
		sort.Slice(it.Missing, func(i, j int) bool { return it.Missing[i].Path < it.Missing[j].Path })
		g.Items[it.Path] = it
	}
	// References a .drv spells out but does not hold were dropped above;
	// items reached only through them are not in the closure.
	if len(roots) > 0 {
		keep := g.reach(roots)
		for p := range g.Items {
			if !keep[p] && !r.opts.AllItems {
				delete(g.Items, p)
			}
		}
	}
	return g, nil
}
