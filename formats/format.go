// Package formats is what every output format is to gpack pack: one Format
// interface, which tarball, squashfs, sif and the container images (docker,
// oci) implement in their own packages, and the rules the CLI applies to
// all of them alike.
//
// A format says its name (-f), the endings of the output names it writes
// and the compressor each stands for, the compressors it takes with their
// levels, the flags of gpack pack it takes beyond those every format takes
// (Flags), what it adds to every pack's tree (Prepare), what it refuses
// before any work (Check), and writes a tree (Write). The CLI never
// branches on a format's name: it resolves the flags against these answers
// (Lookup, Compression, CheckFlags, DefaultOutput), builds the tree, and
// calls Write.
// cmd/gpack holds the ordered list of formats, the one place that names
// them all; a new format is a package that implements Format and one line
// in that list, and passes formats/formattest.
//
// Every Write to a file is atomic: the output appears complete or not at
// all, and a cancelled context (Ctrl-C, SIGTERM, SIGHUP, SIGQUIT in the
// CLI) leaves neither output nor temporary file (internal/atomicfile). The
// output Stdout ("-") is standard output, for the formats that can write
// a stream (WriteStream); the others refuse it in Check (StdoutRefused).
package formats

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"strconv"
	"strings"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Format is one kind of output of gpack pack.
type Format interface {
	// Name is what -f takes.
	Name() string
	// Extensions are the endings of the output names the format writes,
	// the default first, each with the compressor the name stands for.
	Extensions() []Extension
	// Compressors are the compressors the format takes, the default
	// first, each with its levels.
	Compressors() []compress.Compressor
	// Flags are the flags of gpack pack, by long name, that the format
	// takes among those some format does not take ("block-size",
	// "push"): given with a format that does not list it, such a flag
	// is bad usage (CheckFlags) rather than silently ignored.
	Flags() []string
	// Prepare adds to o what the format puts into every pack besides
	// the closure (images: a /bin; squashfs: Apptainer's metadata).
	// profile is the first root item; opts are resolved.
	Prepare(o *pack.Options, profile string, opts *Options)
	// Check fails, before any work, when out cannot be written or opts
	// ask for what the format does not do.
	Check(out string, opts *Options) error
	// Write writes t to out, atomically, and says what it wrote. out is
	// "" only when opts push an image and nothing is written locally,
	// and Stdout to write to opts.Stdout.
	Write(ctx context.Context, t *pack.Tree, out string, opts *Options) (*Result, error)
}

// Stdout is the output name of standard output, as -o - gives it.
const Stdout = "-"

// Extension is an ending of output names and the compressor it stands for:
// ".tar.zst" stands for zstd, ".tar" for none; Algo "" when the name says
// nothing about compression (".squashfs").
type Extension struct {
	Suffix string
	Algo   compress.Algo
}

// Options are what gpack pack asks of a format, resolved by the CLI. Each
// format reads the fields that apply to it; Check refuses the others.
type Options struct {
	// Compression is one of the format's Compressors, and Level a level
	// it takes, resolved (Compression returns both): the default when
	// none was asked for, 0 only for a compressor without levels.
	Compression compress.Algo
	Level       int
	// BlockSize is the squashfs block size; 0 means the default.
	BlockSize int
	// EntryPoint is the program images run: an absolute store path, as
	// pack.EntryPoint returns it, or "". EntryArgs are the arguments it
	// gets first (-A), in every format: images' Entrypoint, the squashfs
	// runscript, a relocatable tarball's ./run.
	EntryPoint string
	EntryArgs  []string
	// Env is the pack's environment: the profile's search paths
	// (pack.SearchPaths) and -E. Images carry it in their config's Env,
	// squashfs in /.singularity.d/env.
	Env []pack.EnvVar
	// Image holds what only container images take. Its References are
	// set for every format: deb and rpm make them dependencies.
	Image ImageOptions
	// Single makes deb and rpm write the whole closure as one package
	// rather than one per store item and one for the pack.
	Single bool
	// AppImage holds what only AppImages take.
	AppImage AppImageOptions
	// Concurrency is how many blocks or layers are compressed at once;
	// 0 means GOMAXPROCS. No output depends on it.
	Concurrency int
	// Progress receives what is read and written; nil means none.
	Progress pack.Progress
	// Mtime is the time every entry gets (the tree's Mtime), for Check
	// to refuse one the format cannot hold before any work; zero means
	// the default.
	Mtime time.Time
	// Stdout is where the output Stdout goes.
	Stdout io.Writer
}

// AppImageOptions are the options of AppImages: files for desktop
// integration, each empty when not given.
type AppImageOptions struct {
	Desktop, Icon AppImageFile
}

// AppImageFile is a file given on the command line: its base name and
// content.
type AppImageFile struct {
	Name string
	Data []byte
}

// ImageOptions are the options of docker and oci images.
type ImageOptions struct {
	// Tag is the image's NAME:TAG; "" means <first-item-name>:latest.
	Tag string
	// Push is a registry reference to push the image to, or "".
	// Insecure allows plain HTTP or an unverified certificate there.
	Push     string
	Insecure bool
	// MaxLayers bounds the layers; 0 means the default (100).
	MaxLayers int
	// Arch is the image architecture; "" reads it from the closure.
	Arch string
	// Cmd is the image's Cmd.
	Cmd []string
	// References are the closure's direct references, which decide the
	// layers that are kept when there are too many.
	References map[string][]string
	// CacheDir is the layer cache; "" means the default. NoCache turns
	// it off.
	CacheDir string
	NoCache  bool
}

// Result is what a Write made.
type Result struct {
	// Output is the path written, "" when an image was only pushed.
	Output string
	// Size is the output's size in bytes (for a layout directory, its
	// blobs).
	Size int64
	// Image is set for container images.
	Image *ImageResult
	// Warnings are for the user, printed once the output is written.
	Warnings []string
}

// ImageResult describes a written or pushed image.
type ImageResult struct {
	Digest string // of the manifest, sha256:...
	Tag    string
	Layers int
	Reused int // layers found in the cache
	// LayerBytes is the size of the compressed layers.
	LayerBytes int64
	// Pushed is the full reference pushed to (registry/name:tag), or "".
	Pushed string
}

// Lookup returns the format of all named name.
func Lookup(all []Format, name string) (Format, error) {
	for _, f := range all {
		if f.Name() == name {
			return f, nil
		}
	}
	return nil, usererr.Usagef("-f %q: the formats are %s", name, names(all, ", "))
}

// names lists the formats' names, joined by sep, or for sep " and " as a
// sentence does: "squashfs, docker and oci".
func names(all []Format, sep string) string {
	ns := make([]string, len(all))
	for i, f := range all {
		ns[i] = f.Name()
	}
	if sep == " and " && len(ns) > 2 {
		return strings.Join(ns[:len(ns)-1], ", ") + " and " + ns[len(ns)-1]
	}
	return strings.Join(ns, sep)
}

// CheckFlags refuses, as bad usage, the first of given (long names of the
// flags the user gave) that some format of all takes and f does not:
// --block-size with a tarball, --push with squashfs.
func CheckFlags(all []Format, f Format, given []string) error {
	takes := func(f Format, flag string) bool {
		for _, n := range f.Flags() {
			if n == flag {
				return true
			}
		}
		return false
	}
	for _, flag := range given {
		if takes(f, flag) {
			continue
		}
		var takers []Format
		for _, o := range all {
			if takes(o, flag) {
				takers = append(takers, o)
			}
		}
		if len(takers) > 0 {
			return usererr.Usagef("--%s applies to -f %s, not to -f %s", flag, names(takers, " and "), f.Name())
		}
	}
	return nil
}

// Compression decides the compressor of out and its level. The compressor
// is -C's (c, "" when not given) or else the one out's ending stands for
// (x.tar.zst: zstd), or else the format's default; a -C that contradicts
// the ending is an error, as is one the format does not take (which says
// the formats of all that take it) or a level outside the compressor's.
// The level returned is never 0.
func Compression(all []Format, f Format, out, c string, level int) (compress.Algo, int, error) {
	implied := compress.Algo("")
	for _, e := range f.Extensions() {
		if e.Algo != "" && strings.HasSuffix(out, e.Suffix) && len(e.Suffix) < len(out) {
			implied = e.Algo
			break
		}
	}
	comps := f.Compressors()
	algo := comps[0].Algo
	switch {
	case c != "":
		a, err := compress.ParseAlgo(c)
		if err != nil {
			return "", 0, &usererr.Error{Kind: usererr.Usage, What: "-C " + err.Error(), Err: err}
		}
		if implied != "" && a != implied {
			return "", 0, usererr.Usagef("-C %s contradicts -o %s, a name for %s: drop -C, or name the output for %s", a, out, implied, a)
		}
		algo = a
	case implied != "":
		algo = implied
	}
	comp, ok := compress.Find(comps, algo)
	if !ok {
		e := usererr.Usagef("-C %s: -f %s takes %s", algo, f.Name(), compress.List(compress.AlgosOf(comps)))
		var takers []Format
		for _, o := range all {
			if _, ok := compress.Find(o.Compressors(), algo); ok {
				takers = append(takers, o)
			}
		}
		if len(takers) > 0 {
			e.What += fmt.Sprintf(" (%s is for -f %s only)", algo, names(takers, " and "))
		}
		return "", 0, e
	}
	l, err := comp.Level(level)
	if err != nil {
		return "", 0, usererr.Usagef("--level %d: %v", level, err)
	}
	return algo, l, nil
}

// DefaultOutput is the output name when -o is not given: name (the first
// item's name without its hash) and the first of f's Extensions that
// stands for algo or for no compressor; "" when the image is pushed,
// since a push needs no local file.
func DefaultOutput(f Format, name string, algo compress.Algo, opts *Options) string {
	if opts.Image.Push != "" {
		return ""
	}
	for _, e := range f.Extensions() {
		if e.Algo == algo || e.Algo == "" {
			return name + e.Suffix
		}
	}
	return name
}

// StdoutRefused is the Check error of a format that cannot write to
// standard output, and why (it seeks back, or writes a directory).
func StdoutRefused(f Format, why string) error {
	e := usererr.Usagef("-o -: -f %s cannot be written to standard output: %s", f.Name(), why)
	e.Fix = "give -o a file name"
	return e
}

// ParseSize reads a size as flags give it: bytes, or a number with K or M
// (binary units), such as 128K.
func ParseSize(s string) (int, error) {
	n, mult := strings.ToUpper(strings.TrimSpace(s)), 1
	switch {
	case strings.HasSuffix(n, "K"):
		n, mult = strings.TrimSuffix(n, "K"), 1<<10
	case strings.HasSuffix(n, "M"):
		n, mult = strings.TrimSuffix(n, "M"), 1<<20
	}
	v, err := strconv.Atoi(n)
	if err != nil || v <= 0 || v > 1<<30 {
		return 0, fmt.Errorf("size %q: want a number of bytes, or of K or M", s)
	}
	return v * mult, nil
}

// File is an output file being written: squashfs writes its superblock
// last, over a placeholder, hence io.WriterAt.
type File interface {
	io.Writer
	io.WriterAt
}

// WriteStream writes out with write, which needs no more than a stream:
// to opts.Stdout for the output Stdout, else atomically to a file with
// WriteFile. It returns the size written, which it reports to
// opts.Progress as it grows. A stream that fails half-way cannot be taken
// back: its reader sees it end early (tar: unexpected end of file).
func WriteStream(ctx context.Context, out string, opts *Options, write func(io.Writer) error) (int64, error) {
	if out != Stdout {
		return WriteFile(ctx, out, opts.Progress, func(f File) error { return write(ctxWriter{ctx, f}) })
	}
	if opts.Stdout == nil {
		return 0, fmt.Errorf("-o -: no standard output to write to")
	}
	prog := opts.Progress
	if prog == nil {
		prog = pack.NoProgress{}
	}
	c := &countingWriter{w: opts.Stdout, prog: prog}
	if err := write(ctxWriter{ctx, c}); err != nil {
		if c.err != nil {
			return 0, c.err
		}
		return 0, err
	}
	return c.n, ctx.Err()
}

// ctxWriter fails every Write once ctx is done, so that a long copy
// stops at Ctrl-C rather than at its end.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

type countingWriter struct {
	w    io.Writer
	n    int64
	prog pack.Progress
	err  error // the first write error
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.prog.Wrote(int64(n))
	if err != nil {
		err = fmt.Errorf("writing to standard output: %w", err)
		if c.err == nil {
			c.err = err
		}
	}
	return n, err
}

// WriteFile writes the file out atomically with write and returns its
// size, which it reports to prog (nil: none) as it grows. Nothing is left
// at out, nor any temporary file, if write fails or ctx ends before the
// file is in place.
func WriteFile(ctx context.Context, out string, prog pack.Progress, write func(File) error) (int64, error) {
	return WriteFileMode(ctx, out, atomicfile.Mode, prog, write)
}

// WriteFileMode is WriteFile for an output of the given mode, whatever
// the umask: 0755 for an executable.
func WriteFileMode(ctx context.Context, out string, mode fs.FileMode, prog pack.Progress, write func(File) error) (int64, error) {
	f, err := atomicfile.Create(out)
	if err != nil {
		return 0, err
	}
	defer f.Abort()
	if mode != atomicfile.Mode {
		if err := f.Chmod(mode); err != nil {
			return 0, err
		}
	}
	if prog == nil {
		prog = pack.NoProgress{}
	}
	c := &countingFile{f: f, prog: prog}
	if err := write(c); err != nil {
		// The file's own error says what failed, naming it: whatever
		// the format wrapped around it would say it twice.
		if c.err != nil {
			return 0, c.err
		}
		return 0, err
	}
	// A cancel that lands after the last write still wins: the user
	// asked for no output.
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := f.Commit(); err != nil {
		return 0, err
	}
	return c.n, nil
}

// countingFile counts the size of the output: what was appended, since a
// WriteAt only overwrites.
type countingFile struct {
	f    *atomicfile.File
	n    int64
	prog pack.Progress
	err  error // the first write error
}

func (c *countingFile) Write(p []byte) (int, error) {
	n, err := c.f.Write(p)
	c.n += int64(n)
	c.prog.Wrote(int64(n))
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

func (c *countingFile) WriteAt(p []byte, off int64) (int, error) {
	n, err := c.f.WriteAt(p, off)
	if end := off + int64(n); end > c.n {
		c.prog.Wrote(end - c.n)
		c.n = end
	}
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}
