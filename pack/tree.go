// Package pack lays a closure out as one deterministic file tree, the Tree
// that every output format writes: the store items at their store path, their
// parent directories, -S symlinks, and for relocatable packs the launcher,
// one hard link to it per program, and the manifest that says which store
// program each link runs. Determinism, permissions, hard links and symlinks
// are decided here once, not once per format.
package pack

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/usererr"
)

// Kind is the type of a tree entry.
type Kind uint8

// The kinds of entries. Devices, fifos and sockets never occur: store items
// cannot hold them, and the closure scan refuses them.
const (
	Dir Kind = iota
	File
	Symlink
	HardLink // a second name for an earlier File entry of the tree
)

func (k Kind) String() string {
	return [...]string{"dir", "file", "symlink", "hardlink"}[k]
}

// Entry is one file of the tree.
type Entry struct {
	// Path is relative to the pack root, without a leading "./" or "/",
	// e.g. "nix/store/<hash>-hello/bin/hello".
	Path string
	Kind Kind
	// Mode holds the permission bits only (at most 0o7777).
	Mode fs.FileMode
	// Size is the content size of a File.
	Size int64
	// Target is a Symlink's target, or the Path of the File a HardLink
	// names.
	Target string
	// Source is the file on disk that holds a File's content, when Data
	// is nil.
	Source string
	// Stamp is Source's size and times when the tree was built (when
	// the closure was scanned): Open and the reader it returns fail
	// when the file's stamp is another.
	Stamp closure.Stamp
	// Data is the content of a File that gpack generates (the launcher,
	// the manifest).
	Data []byte
}

// Open returns a File entry's content. It fails when the source file's
// stamp (size, mtime, ctime) is not the one recorded when the tree was
// built, and so does the reader once it has read the content, so that a
// file changed while packing, even rewritten in place with its size, gives
// an error instead of a corrupt pack or one that lacks an item the new
// content refers to.
func (e *Entry) Open() (io.ReadCloser, error) {
	if e.Kind != File {
		return nil, fmt.Errorf("open %s: a %s has no content", e.Path, e.Kind)
	}
	if e.Data != nil || e.Source == "" {
		return io.NopCloser(bytes.NewReader(e.Data)), nil
	}
	f, err := os.Open(e.Source)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", e.Source, err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("stat %s: %w", e.Source, err)
	}
	want := e.Stamp
	if want == (closure.Stamp{}) {
		want = closure.Stamp{Size: e.Size} // a tree built by hand: the size only
	}
	if got := closure.StampOf(fi); got.Size != want.Size || want.Ctime != 0 && got != want {
		f.Close()
		return nil, closure.Changed(e.Source, want, got)
	}
	return &exactReader{f: f, left: e.Size, name: e.Source, stamp: want}, nil
}

// beforeLastStat, when set (by tests only), runs once a File's content has
// been read and before its stamp is taken again.
var beforeLastStat func(path string)

// exactReader reads exactly the recorded size and fails if the file ends
// early, since a tar header already promised that many bytes, or if the
// file's stamp moved while it was read.
type exactReader struct {
	f     *os.File
	left  int64
	name  string
	stamp closure.Stamp
	done  bool
}

func (r *exactReader) Read(p []byte) (int, error) {
	if r.left <= 0 {
		if err := r.end(); err != nil {
			return 0, err
		}
		return 0, io.EOF
	}
	if int64(len(p)) > r.left {
		p = p[:r.left]
	}
	n, err := r.f.Read(p)
	r.left -= int64(n)
	if err == io.EOF && r.left > 0 {
		return n, closure.Changed(r.name, r.stamp, closure.Stamp{Size: r.stamp.Size - r.left})
	}
	if err != nil && err != io.EOF {
		return n, fmt.Errorf("read %s: %w", r.name, err)
	}
	if r.left == 0 {
		// Checked with the last bytes: a reader that stops at the
		// size it knows never asks for the EOF.
		return n, r.end()
	}
	return n, nil
}

// end checks, once, that the file's stamp is the one it had at Open.
func (r *exactReader) end() error {
	if r.done || r.stamp.Ctime == 0 {
		return nil
	}
	r.done = true
	if beforeLastStat != nil {
		beforeLastStat(r.name)
	}
	fi, err := r.f.Stat()
	if err != nil {
		return fmt.Errorf("stat %s: %w", r.name, err)
	}
	if got := closure.StampOf(fi); got != r.stamp {
		return closure.Changed(r.name, r.stamp, got)
	}
	return nil
}

func (r *exactReader) Close() error { return r.f.Close() }

// Tree is a pack's file tree: entries sorted by Less, parents before their
// children, every path unique.
type Tree struct {
	Entries []Entry
	// Store is the store directory the items come from, e.g. /gnu/store.
	Store string
	// Items are the closure's items, dependencies first.
	Items []string
	// Roots are the items the pack was asked for.
	Roots []string
	// Profile is the item whose bin/ the pack's programs come from and
	// into which -S links point: the profile gpack made of several
	// items (Options.Profile), else the first root.
	Profile string
	// Programs maps each wrapper name of a relocatable pack to the store
	// program it runs; empty for other packs.
	Programs map[string]string
	// LauncherArch is the architecture (a GOARCH name) of a relocatable pack's
	// programs, whose launcher the pack carries; "" without -R.
	LauncherArch string
	// Mtime is the modification time of every entry.
	Mtime time.Time
	// ClearedSetID are the store files and directories whose
	// set-user-ID or set-group-ID bits Build cleared, in walk order.
	ClearedSetID []string
}

// Warnings are what the user is told about the tree once it is written:
// one line naming the files whose set-user-ID or set-group-ID bits were
// cleared, if any.
func (t *Tree) Warnings() []string {
	n := len(t.ClearedSetID)
	if n == 0 {
		return nil
	}
	const shown = 5
	var quoted []string
	for _, p := range t.ClearedSetID[:min(n, shown)] {
		quoted = append(quoted, usererr.Quote(p))
	}
	names := strings.Join(quoted, ", ")
	if n > shown {
		names += fmt.Sprintf(" and %d more", n-shown)
	}
	files := "1 file"
	if n > 1 {
		files = fmt.Sprintf("%d files", n)
	}
	return []string{"warning: cleared the set-user-ID and set-group-ID bits of " + files +
		", which the Nix and Guix daemons never leave in a store: " + names}
}

// Totals counts the tree's files and the bytes of their contents.
func (t *Tree) Totals() (files int, bytes int64) {
	for i := range t.Entries {
		if t.Entries[i].Kind == File {
			files++
			bytes += t.Entries[i].Size
		}
	}
	return files, bytes
}

// Resolve returns the entry that p (relative to the pack root) names once
// the symlinks on the way are followed inside the tree, as a reader of the
// unpacked pack or a container would: an absolute target starts again at
// the pack root. It reports false when nothing is there, or the links loop.
func (t *Tree) Resolve(p string) (*Entry, bool) {
	index := make(map[string]int, len(t.Entries))
	for i := range t.Entries {
		index[t.Entries[i].Path] = i
	}
	cur := ""
	rest := strings.Split(p, "/")
	for hops := 0; len(rest) > 0; {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if cur = path.Dir(cur); cur == "." {
				cur = ""
			}
			continue
		}
		next := path.Join(cur, c)
		i, ok := index[next]
		if !ok {
			return nil, false
		}
		if e := &t.Entries[i]; e.Kind == Symlink {
			// Linux's limit on links followed in one lookup.
			if hops++; hops > 40 {
				return nil, false
			}
			if strings.HasPrefix(e.Target, "/") {
				cur = ""
			}
			rest = append(strings.Split(e.Target, "/"), rest...)
			continue
		}
		cur = next
	}
	if cur == "" {
		return nil, false
	}
	return &t.Entries[index[cur]], true
}

// Less is the order of a tree's entries: closure.PathLess, GNU tar's
// --sort=name order, in which a directory's children follow it at once.
func Less(a, b string) bool { return closure.PathLess(a, b) }

// Validate checks the invariants every format relies on: entries sorted and
// unique, each parent a directory that comes first, clean relative paths,
// permission bits only, hard links to earlier files outside the store, and
// symlinks with targets.
func Validate(t *Tree) error {
	seen := make(map[string]Kind, len(t.Entries))
	storeRel := strings.TrimPrefix(t.Store, "/") + "/"
	for i := range t.Entries {
		e := &t.Entries[i]
		if e.Path == "" || strings.HasPrefix(e.Path, "/") || strings.HasSuffix(e.Path, "/") ||
			strings.Contains(e.Path, "//") || strings.Contains(e.Path, "\x00") {
			return fmt.Errorf("entry %q: not a clean relative path", e.Path)
		}
		for _, c := range strings.Split(e.Path, "/") {
			if c == "." || c == ".." {
				return fmt.Errorf("entry %q: not a clean relative path", e.Path)
			}
		}
		if i > 0 && !Less(t.Entries[i-1].Path, e.Path) {
			return fmt.Errorf("entry %q: not sorted after %q, or a duplicate", e.Path, t.Entries[i-1].Path)
		}
		if j := strings.LastIndexByte(e.Path, '/'); j >= 0 {
			if k, ok := seen[e.Path[:j]]; !ok || k != Dir {
				return fmt.Errorf("entry %q: its parent is not an earlier directory", e.Path)
			}
		}
		if e.Mode&^0o7777 != 0 {
			return fmt.Errorf("entry %q: mode %o has more than permission bits", e.Path, e.Mode)
		}
		switch e.Kind {
		case Symlink:
			if e.Target == "" {
				return fmt.Errorf("entry %q: symlink without a target", e.Path)
			}
		case HardLink:
			if k, ok := seen[e.Target]; !ok || k != File {
				return fmt.Errorf("entry %q: hard link to %q, which is not an earlier file", e.Path, e.Target)
			}
			if strings.HasPrefix(e.Target, storeRel) || strings.HasPrefix(e.Path, storeRel) {
				return fmt.Errorf("entry %q: hard link inside the store", e.Path)
			}
		case File:
			if e.Size < 0 || (e.Data != nil && int64(len(e.Data)) != e.Size) {
				return fmt.Errorf("entry %q: size %d does not match its content", e.Path, e.Size)
			}
		}
		seen[e.Path] = e.Kind
	}
	return nil
}

// Progress receives what a format has read and written so far, for a
// display that tells the truth while the work is long (a big file, the
// last blocks of a slow compressor). Formats report content bytes as they
// read them, each file once it is done (Add(1, 0)), and output bytes as
// they are written, so that over a whole write the Adds sum to
// Tree.Totals(). A Progress need not be safe for concurrent use.
type Progress interface {
	// Add reports files finished and bytes of content read since the
	// last call.
	Add(files int, bytes int64)
	// Wrote reports bytes of output written since the last call.
	Wrote(bytes int64)
}

// NoProgress discards progress.
type NoProgress struct{}

// Add does nothing.
func (NoProgress) Add(int, int64) {}

// Wrote does nothing.
func (NoProgress) Wrote(int64) {}

// ProgressReader returns a reader that reports what is read from r to p,
// so that a large file moves the display while it is read.
func ProgressReader(r io.Reader, p Progress) io.Reader { return progressReader{r, p} }

type progressReader struct {
	r io.Reader
	p Progress
}

func (pr progressReader) Read(b []byte) (int, error) {
	n, err := pr.r.Read(b)
	if n > 0 {
		pr.p.Add(0, int64(n))
	}
	return n, err
}

// ProgressWriter returns a writer that reports what is written to w as
// output.
func ProgressWriter(w io.Writer, p Progress) io.Writer { return progressWriter{w, p} }

type progressWriter struct {
	w io.Writer
	p Progress
}

func (pw progressWriter) Write(b []byte) (int, error) {
	n, err := pw.w.Write(b)
	if n > 0 {
		pw.p.Wrote(int64(n))
	}
	return n, err
}

// ContextReader returns a reader that fails with ctx's error once ctx ends,
// so that a format copying a large file stops at Ctrl-C mid-file rather than
// at the next entry.
func ContextReader(ctx context.Context, r io.Reader) io.Reader { return ctxReader{ctx, r} }

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
