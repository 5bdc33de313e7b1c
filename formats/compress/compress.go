package compress

import (
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
)

// Algo names a compressor: "gzip", "zstd", "xz" or "none".
type Algo string

// The compressors.
const (
	Gzip Algo = "gzip"
	Zstd Algo = "zstd"
	Xz   Algo = "xz"
	None Algo = "none"
)

// Options tune NewWriter. The zero value means the defaults.
type Options struct {
	// Level is the compression level, within Algo.LevelRange; 0 means
	// Algo.DefaultLevel. The output depends on the level.
	Level int
	// Concurrency is how many blocks are compressed at once; 0 means
	// runtime.GOMAXPROCS(0). The output does not depend on it. zstd
	// always runs at least 2 (see newZstdWriter).
	Concurrency int
}

// ErrClosed is returned by a Write after Close.
var ErrClosed = errors.New("write after Close")

// ParseAlgo parses a compressor name as given to -C: gzip (or gz), zstd
// (or zst), xz or none.
func ParseAlgo(s string) (Algo, error) {
	switch strings.ToLower(s) {
	case "gzip", "gz":
		return Gzip, nil
	case "zstd", "zst":
		return Zstd, nil
	case "xz":
		return Xz, nil
	case "none":
		return None, nil
	}
	return "", fmt.Errorf("unknown compression %q: use gzip, zstd, xz or none", s)
}

// String returns the canonical name.
func (a Algo) String() string { return string(a) }

// Ext is the file name extension of the compressed output, with its dot:
// ".gz", ".zst", ".xz", or "" for none.
func (a Algo) Ext() string {
	switch a {
	case Gzip:
		return ".gz"
	case Zstd:
		return ".zst"
	case Xz:
		return ".xz"
	}
	return ""
}

// LevelRange returns the smallest and largest valid Options.Level other
// than 0 (which always means the default). None has no levels: (0, 0).
//
// The gzip levels are klauspost/compress/flate's. The xz levels pick the
// dictionary size of the xz presets (1 MiB at 1, 8 MiB at 6, 64 MiB at 9);
// all use ulikunitz/xz's one fast match finder. The zstd levels are those of
// the zstd command, mapped onto klauspost/compress's four encoders (1-2
// fastest, 3-5 default, 6-9 better, 10-22 best), so several levels give the
// same output.
func (a Algo) LevelRange() (lo, hi int) {
	switch a {
	case Gzip, Xz:
		return 1, 9
	case Zstd:
		return 1, 22
	}
	return 0, 0
}

// DefaultLevel is the level used when Options.Level is 0. See
// gzipDefaultLevel, zstdDefaultLevel and xzDefaultLevel for the reasons.
func (a Algo) DefaultLevel() int {
	switch a {
	case Gzip:
		return gzipDefaultLevel
	case Zstd:
		return zstdDefaultLevel
	case Xz:
		return xzDefaultLevel
	}
	return 0
}

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
	lo, hi := algo.LevelRange()
	switch {
	case algo.Ext() == "" && algo != None:
		return nil, fmt.Errorf("unknown compression %q: use gzip, zstd, xz or none", string(algo))
	case opts.Level != 0 && (opts.Level < lo || opts.Level > hi):
		if algo == None {
			return nil, fmt.Errorf("compression none takes no level (got %d)", opts.Level)
		}
		return nil, fmt.Errorf("%s level %d out of range %d-%d", algo, opts.Level, lo, hi)
	case opts.Concurrency < 0:
		return nil, fmt.Errorf("%s concurrency %d is negative", algo, opts.Concurrency)
	}
	level := opts.Level
	if level == 0 {
		level = algo.DefaultLevel()
	}
	workers := opts.Concurrency
	if workers == 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var (
		inner io.WriteCloser
		err   error
	)
	switch algo {
	case Gzip:
		inner = newGzipWriter(w, level, workers, gzipBlockSize)
	case Zstd:
		inner, err = newZstdWriter(w, level, workers)
	case Xz:
		inner = newXzWriter(w, level, workers, xzBlockSize(level))
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
