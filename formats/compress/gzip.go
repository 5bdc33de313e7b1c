package compress

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"

	"github.com/klauspost/compress/flate"

	"github.com/gpack/gpack/internal/deflate"
)

const (
	// gzipDefaultLevel is the one level whose output was no larger than
	// `gzip -9n`'s on every tarball measured: 9, gpack's own near-optimal
	// encoder (see gzipOwnLevel); the package documentation has the
	// measurements.
	gzipDefaultLevel = 9

	// gzipBlockSize is the unit of parallel work. At 1 MiB the sync marker
	// and the restart of the Huffman statistics at each block cost well
	// under 0.1 % of the size, and a 2-core machine has enough blocks to
	// stay busy on anything over a few MiB.
	gzipBlockSize = 1 << 20

	// gzipDictSize is the whole deflate window: each block is primed with
	// the 32 KiB of input before it, as pigz does, so a match can reach
	// back across a block boundary exactly as far as in a serial stream.
	gzipDictSize = 32 << 10

	// gzipDepth is how many blocks per worker may be in flight. Blocks are
	// written in order, so with one per worker a worker that finishes
	// early idles until the older block is done; 4 per worker (4 MiB,
	// nothing next to the encoders' state) took the level-9 run on the Go
	// toolchain tarball from 16.3 s to 14.0 s on 2 cores.
	gzipDepth = 4

	// gzipOwnLevel is the first level that gpack's own encoder
	// (internal/deflate, at the level deflate.ForGzipLevel maps it to)
	// makes instead of klauspost's: from 6 on it is smaller than
	// klauspost's at the same level, 6 near pigz -6 for about half its
	// CPU time, 9 smaller than gzip -9n; below, klauspost's are faster
	// than any level of its. The package documentation has the
	// measurements.
	gzipOwnLevel = 6
)

// gzipWriter writes one gzip member whose deflate stream is the
// concatenation of independently compressed blocks: every block but the
// last ends with a sync flush (an empty stored block, which byte-aligns it)
// and the last one with the final bit.
type gzipWriter struct {
	w           io.Writer
	level       int
	own         int                // internal/deflate's level, 0 for klauspost's
	encoders    []*deflate.Encoder // one per worker, for levels from gzipOwnLevel
	blocks      *blockWriter
	crc         uint32
	size        uint32 // input size modulo 2^32, as the trailer wants
	wroteHeader bool
}

// newGzipWriter takes the block size as an argument so that tests can cut
// small inputs into many blocks.
func newGzipWriter(w io.Writer, level, workers, blockSize int) *gzipWriter {
	g := &gzipWriter{w: w, level: level, encoders: make([]*deflate.Encoder, max(workers, 1))}
	if l, ok := deflate.ForGzipLevel(level); ok {
		g.own = l
	}
	g.blocks = newBlockWriter(w, "gzip", g.encodeBlock, blockSize, gzipDictSize, workers, gzipDepth*workers)
	return g
}

func (g *gzipWriter) encodeBlock(worker int, dst *bytes.Buffer, data, dict []byte, final bool) error {
	if g.own > 0 {
		// Each Encode starts from scratch, so which worker's encoder
		// runs a block does not show in its output; keeping one per
		// worker saves allocating its tables and buffers for every
		// block.
		e := g.encoders[worker]
		if e == nil {
			var err error
			if e, err = deflate.NewEncoder(g.own); err != nil {
				return fmt.Errorf("gzip level %d: %w", g.level, err)
			}
			g.encoders[worker] = e
		}
		dst.Write(e.Encode(dst.AvailableBuffer(), data, dict, final))
		return nil
	}
	// A fresh compressor per block, rather than one reset from a pool,
	// makes each block's output a function of its data and dict alone.
	fw, err := flate.NewWriterDict(dst, g.level, dict)
	if err != nil {
		return err
	}
	if _, err := fw.Write(data); err != nil {
		return err
	}
	if final {
		return fw.Close()
	}
	return fw.Flush()
}

// header writes the fixed 10-byte member header: no name, no comment, mtime
// 0 and OS 3 (Unix) whatever the host, which is what `gzip -n` writes on
// Unix, so the output says nothing about when or where it was made.
func (g *gzipWriter) header() error {
	if g.wroteHeader {
		return nil
	}
	g.wroteHeader = true
	h := [10]byte{0: 0x1f, 1: 0x8b, 2: 8, 9: 3}
	// XFL, informative only: 2 marks the slowest level, 4 the fastest,
	// as gzip does.
	switch g.level {
	case flate.BestCompression:
		h[8] = 2
	case flate.BestSpeed:
		h[8] = 4
	}
	if _, err := g.w.Write(h[:]); err != nil {
		return err // the destination's, as it is (see writeOne)
	}
	return nil
}

func (g *gzipWriter) Write(p []byte) (int, error) {
	if err := g.header(); err != nil {
		return 0, err
	}
	n, err := g.blocks.Write(p)
	// The checksum is taken here, in input order; crc32 runs at several
	// GB/s, far faster than deflate, so it is not worth parallelizing.
	g.crc = crc32.Update(g.crc, crc32.IEEETable, p[:n])
	g.size += uint32(n)
	return n, err
}

func (g *gzipWriter) Close() error {
	if err := g.header(); err != nil {
		return err
	}
	if err := g.blocks.Close(); err != nil {
		return err
	}
	var t [8]byte
	binary.LittleEndian.PutUint32(t[:4], g.crc)
	binary.LittleEndian.PutUint32(t[4:], g.size)
	if _, err := g.w.Write(t[:]); err != nil {
		return err
	}
	return nil
}
