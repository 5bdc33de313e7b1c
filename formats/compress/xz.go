package compress

import (
	"bytes"
	"io"

	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"
)

// xzDefaultLevel is the level of `xz -6`, xz's own default: an 8 MiB
// dictionary.
const xzDefaultLevel = 6

// xzDictCap is the dictionary size of xz's presets -1 to -9.
var xzDictCap = [10]int{0, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}

// xzBlockSize is the input cut into one xz stream: twice the dictionary,
// and at least 16 MiB. Each block starts with an empty dictionary, so a
// block no larger than the dictionary never uses all of it. On the Go
// toolchain tarball at level 6 (first 64 MiB), 8 MiB blocks came out 2.4 %
// larger than 16 MiB ones; 24 MiB blocks (xz -T's 3 × dictionary) gained
// only 0.07 % more, and cost memory: each block in flight holds its input,
// its output and an encoder with its dictionary.
func xzBlockSize(level int) int {
	return max(16<<20, 2*xzDictCap[level])
}

// newXzWriter compresses each block of xzBlockSize bytes as a complete,
// independent xz stream (header, one LZMA2 block, index, footer) and
// concatenates them, which the xz format allows: `xz -d`, `tar -J` and Go's
// xz.Reader read them as one. ulikunitz/xz compresses on one core only,
// so this is how it gets more.
//
// The block size is an argument so that tests can cut small inputs into
// many blocks.
func newXzWriter(w io.Writer, level, workers, blockSize int) io.WriteCloser {
	cfg := xz.WriterConfig{
		DictCap:  xzDictCap[level],
		CheckSum: xz.CRC64, // xz's default check
		Matcher:  lzma.HashTable4,
	}
	encode := func(_ int, dst *bytes.Buffer, data, _ []byte, _ bool) error {
		// A dictionary larger than the block is never filled, and
		// ulikunitz/xz allocates about 6 bytes of tables per byte of it:
		// a short block (a small input, or the last block) gets one
		// just large enough. This depends on the data only, and it also
		// lowers what `xz -d` allocates.
		cfg := cfg
		cfg.DictCap = min(cfg.DictCap, max(len(data), lzma.MinDictCap))
		xw, err := cfg.NewWriter(dst)
		if err != nil {
			return err
		}
		if _, err := xw.Write(data); err != nil {
			return err
		}
		return xw.Close()
	}
	return newBlockWriter(w, "xz", encode, blockSize, 0, workers, workers)
}
