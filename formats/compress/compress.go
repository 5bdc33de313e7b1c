package compress

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// Algo names a compressor: "gzip", "zstd", "xz", "lz4" or "none". It is
// the one compression vocabulary of gpack: every format names its
// compressors with it, and says which it takes and with what levels with a
// Compressor.
type Algo string

// The compressors. A format takes some of them (see Compressor): tarballs
// and image layers every one but lz4, squashfs every one.
const (
	Gzip Algo = "gzip"
	Zstd Algo = "zstd"
	Xz   Algo = "xz"
	LZ4  Algo = "lz4"
	None Algo = "none"
)

// Algos are every compressor, in the order messages list them.
var Algos = []Algo{Gzip, Zstd, Xz, LZ4, None}

// ParseAlgo parses a compressor name as given to -C: gzip (or gz, zlib),
// zstd (or zst), xz, lz4 or none, in any case.
func ParseAlgo(s string) (Algo, error) {
	switch strings.ToLower(s) {
	case "gzip", "gz", "zlib":
		return Gzip, nil
	case "zstd", "zst":
		return Zstd, nil
	case "xz":
		return Xz, nil
	case "lz4":
		return LZ4, nil
	case "none":
		return None, nil
	}
	return "", fmt.Errorf("unknown compression %q: use %s", s, List(Algos))
}

// String returns the canonical name.
func (a Algo) String() string { return string(a) }

// Ext is the file name extension of a stream compressed with a, with its
// dot: ".gz", ".zst", ".xz", ".lz4", or "" for none.
func (a Algo) Ext() string {
	switch a {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	case Xz:
		return ".xz"
	case LZ4:
		return ".lz4"
	}
	return ""
}

// List names algos for a message: "gzip, zstd, xz or none".
func List(algos []Algo) string {
	var b strings.Builder
	for i, a := range algos {
		switch {
		case i == 0:
		case i == len(algos)-1:
			b.WriteString(" or ")
		default:
			b.WriteString(", ")
		}
		b.WriteString(string(a))
	}
	return b.String()
}

// Levels are the compression levels a compressor takes in one format: Min
// to Max, and Default, the one a level of 0 stands for. A compressor with
// no levels (none, and squashfs's xz) has all three 0.
type Levels struct {
	Min, Max, Default int
}

// Compressor is a compressor as one format offers it: the levels depend on
// the format (squashfs's zstd defaults to mksquashfs's 15, a tarball's to
// zstd's own 3).
type Compressor struct {
	Algo Algo
	Levels
}

// Level returns the level to use when level is asked for: Default for 0,
// level itself when the compressor takes it, and otherwise an error that
// says what it takes ("gzip takes 1 to 9", "none has no levels").
func (c Compressor) Level(level int) (int, error) {
	switch {
	case level == 0:
		return c.Default, nil
	case c.Min == 0 && c.Max == 0:
		return 0, fmt.Errorf("%s has no levels", c.Algo)
	case level < c.Min || level > c.Max:
		return 0, fmt.Errorf("%s takes %d to %d", c.Algo, c.Min, c.Max)
	}
	return level, nil
}

// Streams are the compressors of NewWriter, which compresses one stream:
// tarballs and image layers.
//
// The gzip levels 1 to 8 are klauspost/compress/flate's; 9, the default,
// is gpack's own near-optimal deflate (internal/deflate), smaller than
// gzip -9n and faster than klauspost's 9. The xz levels pick the
// dictionary size of the xz presets (1 MiB at 1, 8 MiB at 6, 64 MiB at 9);
// all use gpack's own LZMA encoder (internal/lzma), with xz's searches
// from 6 on and shorter ones below (lzma.Preset). The zstd levels are those
// of the zstd command, mapped onto klauspost/compress's four encoders (1-2
// fastest, 3-5 default, 6-9 better, 10-22 best), so several levels give
// the same output. See gzipDefaultLevel, zstdDefaultLevel and
// xzDefaultLevel for the defaults.
var Streams = []Compressor{
	{Gzip, Levels{1, 9, gzipDefaultLevel}},
	{Zstd, Levels{1, 22, zstdDefaultLevel}},
	{Xz, Levels{1, 9, xzDefaultLevel}},
	{None, Levels{}},
}

// Find returns the entry of cs for a.
func Find(cs []Compressor, a Algo) (Compressor, bool) {
	for _, c := range cs {
		if c.Algo == a {
			return c, true
		}
	}
	return Compressor{}, false
}

// AlgosOf returns the algorithms of cs, in order.
func AlgosOf(cs []Compressor) []Algo {
	as := make([]Algo, len(cs))
	for i, c := range cs {
		as[i] = c.Algo
	}
	return as
}

// Options tune NewWriter. The zero value means the defaults.
type Options struct {
	// Level is the compression level, within the Levels of the algorithm
	// in Streams; 0 means its Default. The output depends on the level.
	Level int
	// Concurrency is how many blocks are compressed at once; 0 means
	// runtime.GOMAXPROCS(0). The output does not depend on it. zstd
	// always runs at least 2 (see newZstdWriter).
	Concurrency int
}

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("write after Close")

// NewWriter returns a WriteCloser that compresses what is written to it into
// w. Close flushes and writes the trailer but does not close w; it must be
// called even after an error, to release the workers. Errors from w come
// back from Write or Close (for zstd possibly from a later Write than the
// one whose data failed, since its output is written in the background).
//
// For the same input and Level the output is byte-identical whatever
// Concurrency, GOMAXPROCS and the sizes of the Write calls are, and it holds
// no time, name or host information. Memory is bounded by Concurrency times
// a per-algorithm block size, whatever the input size.
func NewWriter(w io.Writer, algo Algo, opts Options) (io.WriteCloser, error) {
	c, ok := Find(Streams, algo)
	if !ok {
		return nil, fmt.Errorf("compression %q: a stream takes %s", string(algo), List(AlgosOf(Streams)))
	}
	level, err := c.Level(opts.Level)
	if err != nil {
		return nil, fmt.Errorf("compression level %d: %w", opts.Level, err)
	}
	if opts.Concurrency < 0 {
		return nil, fmt.Errorf("%s concurrency %d is negative", algo, opts.Concurrency)
	}
	workers := opts.Concurrency
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var inner io.WriteCloser
	switch algo {
	case Gzip:
		inner = newGzipWriter(w, level, workers, gzipBlockSize)
	case Zstd:
		inner, err = newZstdWriter(w, level, workers)
	case Xz:
		inner = newXzWriter(w, level, workers, xzSegment(level))
	case None:
		inner = nopCloser{w}
	}
	if err != nil {
		return nil, err
	}
	return &guard{w: inner}, nil
}

// guard gives every format the same life cycle: a Write after Close fails
// with ErrClosed, the first error sticks, and the inner Close runs once.
type guard struct {
	w      io.WriteCloser
	closed bool
	err    error
}

func (g *guard) Write(p []byte) (int, error) {
	if g.closed {
		return 0, ErrClosed
	}
	if g.err != nil {
		return 0, g.err
	}
	n, err := g.w.Write(p)
	if err == nil && n < len(p) {
		err = io.ErrShortWrite
	}
	g.err = err
	return n, err
}

// Close returns the result of the first Close again when called twice.
func (g *guard) Close() error {
	if g.closed {
		return g.err
	}
	g.closed = true
	// The inner Close runs even after a Write error: it waits for the
	// workers to stop.
	if err := g.w.Close(); g.err == nil {
		g.err = err
	}
	return g.err
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }
