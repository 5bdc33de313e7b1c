package compress

import (
	"bytes"
	"hash/crc64"
	"io"

	"github.com/gpack/gpack/internal/lzma"
)

// xzDefaultLevel is the level of `xz -6`, xz's own default: an 8 MiB
// dictionary.
const xzDefaultLevel = 6

// xzDictCap is the dictionary size of xz's presets -1 to -9.
var xzDictCap = [10]int{0, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}

// xzBlockSize is the input cut into one segment of the LZMA2 stream: twice
// the dictionary, and at least 16 MiB. Each segment is primed with the
// dictionary's worth of input before it (see newXzWriter), which costs
// about as much as encoding a third of that much: longer segments spend
// less of their time priming, and hold more memory.
func xzBlockSize(level int) int {
	return max(16<<20, 2*xzDictCap[level])
}

// xzSegment is the segment size NewWriter uses: xzBlockSize, except in
// tests, which cut their inputs into small segments so that crossing them
// costs seconds, not minutes (the encoder runs at a few MB/s per core).
var xzSegment = xzBlockSize

// lzmaLib names gpack's own LZMA encoder as a library for fingerprints: it
// is versioned with gpack, by lzma.Version.
const lzmaLib = "github.com/gpack/gpack/internal/lzma"

// xzWriter writes one xz stream of one block of LZMA2, as `xz -6` does,
// compressed in parallel: the input is cut into segments of blockSize
// bytes, each encoded on a worker of the Pipeline by internal/lzma as
// LZMA2 chunks that start with a state reset and whose match finder is
// first primed with the dictionary's worth of input before the segment,
// so that matches reach back across segments as in one stream. The
// segments' chunks concatenate into one LZMA2 stream, which the writer
// frames with the stream and block headers, and ends with the end marker,
// the CRC64 check taken in input order, the index and the footer.
type xzWriter struct {
	w         io.Writer
	opts      lzma.Options
	blockSize int
	encoders  []*lzma.Encoder // one per worker
	blocks    *blockWriter
	crc       uint64
	size      int64 // input bytes
	comp      int64 // LZMA2 bytes written
	header    []byte
	closed    bool
}

// newXzWriter returns the xz writer of level. The block size is an
// argument so that tests can cut small inputs into many segments; it is
// rounded up to a multiple of 4, as the position contexts of LZMA need.
func newXzWriter(w io.Writer, level, workers, blockSize int) io.WriteCloser {
	x := &xzWriter{w: w, opts: xzOptions(level), blockSize: (blockSize + 3) &^ 3, encoders: make([]*lzma.Encoder, max(workers, 1))}
	x.blocks = newBlockWriter(xzBody{x}, "xz", x.encodeBlock, x.blockSize, x.opts.DictSize, workers, workers)
	return x
}

// xzOptions are the encoder's options at level: xz's dictionary sizes
// (xzDictCap) and lzma.Preset's nice lengths and depths.
func xzOptions(level int) lzma.Options {
	o := lzma.Preset(level)
	o.DictSize = xzDictCap[level]
	return o
}

func (x *xzWriter) encodeBlock(worker int, dst *bytes.Buffer, data, dict []byte, _ bool) error {
	e := x.encoders[worker]
	if e == nil {
		var err error
		if e, err = lzma.NewEncoder(x.opts); err != nil {
			return err
		}
		x.encoders[worker] = e
	}
	dst.Write(e.EncodeSegment(dst.AvailableBuffer(), dict, data))
	return nil
}

// xzBody is where the blocks go: it writes the headers before the first
// byte of LZMA2 data, and counts those bytes for the index.
type xzBody struct{ x *xzWriter }

func (b xzBody) Write(p []byte) (int, error) {
	x := b.x
	if len(p) == 0 {
		return 0, nil
	}
	if x.header == nil {
		// An input of one segment is known whole by now (it is
		// dispatched by Close), and a decoder needs no larger a
		// dictionary than it.
		dict := x.opts.DictSize
		if x.closed && x.size <= int64(x.blockSize) {
			dict = min(dict, max(int(x.size), 4096))
		}
		x.header = lzma.AppendXZBlockHeader(nil, dict)
		if _, err := x.w.Write(lzma.AppendXZStreamHeader(nil)); err != nil {
			return 0, err
		}
		if _, err := x.w.Write(x.header); err != nil {
			return 0, err
		}
	}
	n, err := x.w.Write(p)
	x.comp += int64(n)
	return n, err
}

func (x *xzWriter) Write(p []byte) (int, error) {
	n, err := x.blocks.Write(p)
	x.crc = crc64.Update(x.crc, lzma.CRC64Table, p[:n])
	x.size += int64(n)
	return n, err
}

func (x *xzWriter) Close() error {
	if x.closed {
		return x.blocks.Close()
	}
	x.closed = true
	if err := x.blocks.Close(); err != nil {
		return err
	}
	var t []byte
	if x.header == nil { // an empty input: a stream of no blocks
		t = lzma.AppendXZTrailer(lzma.AppendXZStreamHeader(nil), nil, 0, 0, 0)
	} else {
		t = lzma.AppendXZTrailer([]byte{0}, x.header, x.comp+1, x.size, x.crc)
	}
	_, err := x.w.Write(t)
	return err
}
