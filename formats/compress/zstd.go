package compress

import (
	"errors"
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// zstdDefaultLevel is the level of `zstd -3`, zstd's own default, which
// klauspost/compress calls SpeedDefault.
const zstdDefaultLevel = 3

// newZstdWriter uses klauspost/compress's block-parallel mode: the input is
// cut into jobs of 4 × the window (32 MiB at the default 8 MiB window), each
// compressed on its own goroutine with the end of the previous job as
// prefix (window/8 at the default level), and written in order as one
// frame. Job boundaries
// depend on the window only, so the output is the same for any concurrency
// of 2 or more. With a concurrency of 1, though, the library silently falls
// back to its serial encoder, whose output differs (it has no job
// boundaries): so the encoder always gets at least 2 goroutines, even when
// Options.Concurrency is 1. TestDeterministic checks 1, 2, 3 and 8.
//
// Memory: up to workers+2 jobs, each 32 MiB of input plus its output.
func newZstdWriter(w io.Writer, level, workers int) (io.WriteCloser, error) {
	dst := &dstWriter{w: w}
	enc, err := zstd.NewWriter(dst,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithConcurrentBlocks(true),
		zstd.WithEncoderConcurrency(max(workers, 2)),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd level %d: %w", level, err)
	}
	return zstdWriter{enc, dst}, nil
}

// zstdWriter names the format in the encoder's own errors, which do not.
// The destination's errors come back as they are: they name the output
// already, and "zstd: zstd: writing OUT" said it twice.
type zstdWriter struct {
	enc *zstd.Encoder
	dst *dstWriter
}

func (z zstdWriter) Write(p []byte) (int, error) {
	n, err := z.enc.Write(p)
	return n, z.wrap(err)
}

func (z zstdWriter) Close() error { return z.wrap(z.enc.Close()) }

func (z zstdWriter) wrap(err error) error {
	switch {
	case err == nil:
		return nil
	case z.dst.err != nil && errors.Is(err, z.dst.err):
		return z.dst.err
	}
	return fmt.Errorf("zstd: %w", err)
}

// dstWriter keeps the first error of the destination, so that it can be
// told from the encoder's own.
type dstWriter struct {
	w   io.Writer
	err error
}

func (d *dstWriter) Write(p []byte) (int, error) {
	n, err := d.w.Write(p)
	if err != nil && d.err == nil {
		d.err = err
	}
	return n, err
}
