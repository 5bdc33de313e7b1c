package compress

import (
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
	enc, err := zstd.NewWriter(w,
		zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
		zstd.WithConcurrentBlocks(true),
		zstd.WithEncoderConcurrency(max(workers, 2)),
	)
	if err != nil {
		return nil, fmt.Errorf("zstd level %d: %w", level, err)
	}
	return zstdWriter{enc}, nil
}

// zstdWriter names the format in the errors of the encoder, which does not.
type zstdWriter struct{ enc *zstd.Encoder }

func (z zstdWriter) Write(p []byte) (int, error) {
	n, err := z.enc.Write(p)
	if err != nil {
		return n, fmt.Errorf("zstd: %w", err)
	}
	return n, nil
}

func (z zstdWriter) Close() error {
	if err := z.enc.Close(); err != nil {
		return fmt.Errorf("zstd: %w", err)
	}
	return nil
}
