// Package formattest is the suite every format of gpack passes, as every
// restic backend passes restic's backend suite and every go-containerregistry
// image passes validate.Image. A format's tests call Run with the format and
// the real readers of its outputs; Run checks, for every compressor the
// format takes:
//
//   - the suite's tree (Tree) passes pack.Validate, and what each real
//     reader finds in the output (tar and bsdtar for tarballs, unsquashfs
//     for squashfs, go-containerregistry and umoci for images) is that
//     tree: kinds, modes, contents, link targets, hard links, root as the
//     owner, the tree's mtime;
//   - writing again gives the same bytes, and so does GOMAXPROCS 1
//     against 4;
//   - the progress a format reports adds up: the tree's files and bytes
//     in, the output's size out, and a big file in several steps;
//   - a context cancelled in the middle of a write (Ctrl-C) leaves nothing:
//     no output, no temporary file, in the output's directory or the
//     format's scratch directory (the layer cache);
//   - SIGHUP sent to a real `gpack pack -f NAME`, built from this module,
//     in the middle of a big write, makes it exit 129 and leave nothing
//     either.
package formattest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// Reader is a real reader of a format's outputs.
type Reader struct {
	// Name says which reader it is, for messages: "GNU tar".
	Name string
	// Read lists what the reader finds in out, written with opts;
	// ReadDir and ReadTar turn what it unpacks into Entries.
	Read func(t *testing.T, out string, opts *formats.Options) []Entry
}

// Suite describes a format for Run.
type Suite struct {
	Format formats.Format
	// Readers read outputs back; each must agree with the tree.
	Readers []Reader
	// Outputs are the endings of the output names to write, each a kind
	// of output of its own (oci: ".oci" a layout, ".tar" an archive);
	// nil means the format's default name only.
	Outputs []string
	// Tree, if not nil, adjusts the suite's tree before the suite uses
	// it: it adds what the format's Prepare would add to every pack of it
	// (appimage: AppRun and the launcher's manifest), which the readers
	// must find, or drops what a format refuses (dpkg refuses newlines in
	// names; the format's own tests check that refusal).
	Tree func(t *testing.T, tr *pack.Tree) *pack.Tree
	// Options, if not nil, adjusts the options of each write: scratch is
	// a fresh directory for whatever the format keeps besides its output
	// (a layer cache), which must hold no temporary file after a failed
	// write.
	Options func(scratch string, o *formats.Options)
}

// Run runs the suite. The SIGHUP test builds gpack and needs the go
// command; -short skips it.
func Run(t *testing.T, s Suite) {
	tr := Tree(t)
	if s.Tree != nil {
		tr = s.Tree(t, tr)
	}
	t.Run("validate", func(t *testing.T) {
		if err := pack.Validate(tr); err != nil {
			t.Fatal(err)
		}
	})
	want := Want(t, tr)
	outputs := s.Outputs
	if outputs == nil {
		outputs = []string{""}
	}
	for _, c := range s.Format.Compressors() {
		for _, ext := range outputs {
			t.Run(string(c.Algo)+ext, func(t *testing.T) {
				t.Run("readers", func(t *testing.T) {
					out, opts := s.write(t, tr, c.Algo, ext)
					for _, r := range s.Readers {
						t.Run(r.Name, func(t *testing.T) { Compare(t, r.Name, r.Read(t, out, opts), want) })
					}
				})
				t.Run("rerun", func(t *testing.T) {
					a, _ := s.write(t, tr, c.Algo, ext)
					b, _ := s.write(t, tr, c.Algo, ext)
					if da, db := outputDigest(t, a), outputDigest(t, b); da != db {
						t.Errorf("two writes of one tree differ: %s and %s", da, db)
					}
				})
				t.Run("GOMAXPROCS", func(t *testing.T) {
					defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
					runtime.GOMAXPROCS(1)
					one, _ := s.write(t, tr, c.Algo, ext)
					runtime.GOMAXPROCS(4)
					four, _ := s.write(t, tr, c.Algo, ext)
					if da, db := outputDigest(t, one), outputDigest(t, four); da != db {
						t.Errorf("GOMAXPROCS 1 and 4 give different outputs: %s and %s", da, db)
					}
				})
			})
		}
	}
	t.Run("progress", func(t *testing.T) { s.progress(t, tr) })
	t.Run("cancel", func(t *testing.T) { s.cancel(t, tr) })
	t.Run("SIGHUP", func(t *testing.T) {
		if testing.Short() {
			t.Skip("builds gpack and packs a big item")
		}
		s.hangup(t)
	})
}

// options returns the options of one write with algo at its default level.
func (s Suite) options(t *testing.T, scratch string, algo compress.Algo) *formats.Options {
	t.Helper()
	c, ok := compress.Find(s.Format.Compressors(), algo)
	if !ok {
		t.Fatalf("%s does not take %s", s.Format.Name(), algo)
	}
	o := &formats.Options{Compression: algo, Level: c.Default}
	if s.Options != nil {
		s.Options(scratch, o)
	}
	return o
}

// output is the output's path in a fresh directory: out<ext>, or named as
// gpack pack would name it.
func (s Suite) output(t *testing.T, algo compress.Algo, ext string) string {
	name := "out" + ext
	if ext == "" {
		name = formats.DefaultOutput(s.Format, "out", algo, &formats.Options{})
	}
	return filepath.Join(t.TempDir(), name)
}

// write writes tr with algo to an output ending in ext and returns the
// output and the options used.
func (s Suite) write(t *testing.T, tr *pack.Tree, algo compress.Algo, ext string) (string, *formats.Options) {
	t.Helper()
	out := s.output(t, algo, ext)
	opts := s.options(t, t.TempDir(), algo)
	if err := s.Format.Check(out, opts); err != nil {
		t.Fatalf("Check: %v", err)
	}
	r, err := s.Format.Write(context.Background(), tr, out, opts)
	if err != nil {
		t.Fatalf("Write: %v", err)
	}
	if r.Output != out {
		t.Errorf("Write says it wrote %q, not %q", r.Output, out)
	}
	return out, opts
}

// outputDigest hashes an output file, or every file of an output
// directory with its name.
func outputDigest(t *testing.T, out string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(out, p)
		io.WriteString(h, rel+"\x00")
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// recorder is a pack.Progress that keeps what it is told, and can act on
// the first bytes read.
type recorder struct {
	files        int
	in, out      int64
	pieces, most int // reports of bytes since a file was last done, and the most of them
	onFirstBytes func()
}

func (r *recorder) Add(files int, bytes int64) {
	if bytes > 0 {
		if r.onFirstBytes != nil {
			r.onFirstBytes()
			r.onFirstBytes = nil
		}
		r.pieces++
		r.most = max(r.most, r.pieces)
	}
	if files > 0 {
		r.pieces = 0
	}
	r.files += files
	r.in += bytes
}

func (r *recorder) Wrote(bytes int64) { r.out += bytes }

// syncRecorder is a recorder that formats may call from several
// goroutines, as a Progress need not allow.
type syncRecorder struct {
	mu chan struct{}
	r  recorder
}

func newSyncRecorder() *syncRecorder { return &syncRecorder{mu: make(chan struct{}, 1)} }

func (s *syncRecorder) Add(files int, bytes int64) { s.mu <- struct{}{}; s.r.Add(files, bytes); <-s.mu }
func (s *syncRecorder) Wrote(bytes int64)          { s.mu <- struct{}{}; s.r.Wrote(bytes); <-s.mu }

// progress checks that what a write reports adds up.
func (s Suite) progress(t *testing.T, tr *pack.Tree) {
	algo := s.Format.Compressors()[0].Algo
	out := s.output(t, algo, "")
	opts := s.options(t, t.TempDir(), algo)
	rec := newSyncRecorder()
	opts.Progress = rec
	res, err := s.Format.Write(context.Background(), tr, out, opts)
	if err != nil {
		t.Fatal(err)
	}
	files, bytes := tr.Totals()
	r := rec.r
	if r.files != files || r.in != bytes {
		t.Errorf("progress says %d files and %d bytes read, the tree has %d and %d", r.files, r.in, files, bytes)
	}
	if r.out <= 0 {
		t.Errorf("progress says %d bytes written", r.out)
	}
	if res.Image == nil && r.out != res.Size {
		t.Errorf("progress says %d bytes written, the output has %d", r.out, res.Size)
	}
	// The tree has a file of 4.25 MiB: its bytes must come as they are
	// read, not in one report at its end.
	if r.most < 2 {
		t.Errorf("every file's content came in at most %d report(s); want a big one's as it is read", r.most)
	}
}

// cancel cancels the context once the write has read its first bytes.
func (s Suite) cancel(t *testing.T, tr *pack.Tree) {
	algo := s.Format.Compressors()[0].Algo
	out := s.output(t, algo, "")
	scratch := t.TempDir()
	opts := s.options(t, scratch, algo)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	rec := newSyncRecorder()
	rec.r.onFirstBytes = cancel
	opts.Progress = rec
	_, err := s.Format.Write(ctx, tr, out, opts)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Write cancelled in the middle: %v, want context.Canceled", err)
	}
	NoLeftovers(t, filepath.Dir(out), scratch)
}

// NoLeftovers fails if outDir holds anything at all, or any directory of
// scratch a temporary name (.NAME.tmp-*, .tmp-*).
func NoLeftovers(t *testing.T, outDir string, scratch ...string) {
	t.Helper()
	if names := list(t, outDir); len(names) > 0 {
		t.Errorf("%s holds %v, want nothing", outDir, names)
	}
	for _, d := range scratch {
		filepath.WalkDir(d, func(p string, de fs.DirEntry, err error) error {
			if err == nil && strings.Contains(de.Name(), ".tmp") {
				t.Errorf("%s is left behind", p)
			}
			return nil
		})
	}
}

func list(t *testing.T, dir string) []string {
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	return names
}
