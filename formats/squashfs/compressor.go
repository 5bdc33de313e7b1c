package squashfs

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/deflate"
	izstd "github.com/gpack/gpack/internal/zstd"
)

// Compressors are the compressors of an image, the default first, and the
// levels each takes. Gzip is what every squashfs reader has (Apptainer
// warns that the others "might not work with some installations"), so it
// is the default. Default levels are mksquashfs's: gzip 9, zstd 15 and
// lz4's fast (non-HC) compressor.
//
//   - gzip: zlib streams, squashfs compressor 1; zlib's levels: 6 to 9
//     (9 the default) are gpack's own deflate (internal/deflate, at the
//     levels deflate.ForGzipLevel gives: 9 near-optimal, 6 and 7 lazy),
//     1 to 5 klauspost/compress's, as in formats/compress.
//   - xz: xz streams with CRC32 checks, compressor 4. No levels: each block
//     is compressed on its own, so the dictionary of xz's presets, which is
//     what the levels change, never grows past the block size anyway.
//   - zstd: zstd frames, compressor 6; the zstd command's levels: 1 to 11
//     mapped onto klauspost/compress's encoders (1-2 fastest, 3-5
//     default, 6-9 better, 10-11 best), 12 to 22 gpack's own optimal-parse
//     encoder for small blocks (internal/zstd), 8 % smaller than
//     klauspost's best at 128 KiB and within 1 % of mksquashfs's libzstd (blocks of up to
//     128 KiB; larger ones keep klauspost's best).
//   - lz4: raw LZ4 blocks, compressor 5; 1 is its fast compressor, 2 to 9
//     its high-compression (HC) one with a growing search depth.
//   - none: every block stored as it is, flagged uncompressed, in an image
//     that says gzip (the format has no "none" compressor; mksquashfs -noI
//     -noD -noF does the same).
var Compressors = []compress.Compressor{
	{Algo: compress.Gzip, Levels: compress.Levels{Min: 1, Max: 9, Default: 9}},
	{Algo: compress.Xz},
	{Algo: compress.Zstd, Levels: compress.Levels{Min: 1, Max: 22, Default: 15}},
	{Algo: compress.LZ4, Levels: compress.Levels{Min: 1, Max: 9, Default: 1}},
	{Algo: compress.None},
}

// algoID is a compressor's number in the superblock.
func algoID(a compress.Algo) uint16 {
	switch a {
	case compress.Xz:
		return 4
	case compress.LZ4:
		return 5
	case compress.Zstd:
		return 6
	}
	return 1 // gzip, and none (see None)
}

// options returns the compressor options that follow the superblock, or
// nil for none. mksquashfs writes them only when they differ from the
// defaults, except for lz4, whose options the kernel requires.
func algoOptions(a compress.Algo, level int) []byte {
	switch a {
	case compress.Gzip:
		if level == 9 {
			return nil
		}
		// level, window bits 15, no strategy.
		b := make([]byte, 8)
		binary.LittleEndian.PutUint32(b, uint32(level))
		binary.LittleEndian.PutUint16(b[4:], 15)
		return b
	case compress.Zstd:
		if level == 15 {
			return nil
		}
		return binary.LittleEndian.AppendUint32(nil, uint32(level))
	case compress.LZ4:
		// Version 1 (the legacy format the kernel knows), flags: HC.
		var hc uint32
		if level > 1 {
			hc = 1
		}
		return binary.LittleEndian.AppendUint32(binary.LittleEndian.AppendUint32(nil, 1), hc)
	}
	return nil
}

// A codec compresses blocks, data or metadata, one at a time. Each worker
// owns one; it is not safe for concurrent use. A block's output depends on
// the block alone, never on the blocks the codec compressed before, which
// is what makes an image independent of how blocks are spread over
// workers.
type codec interface {
	// compress appends the compressed src to dst[:0] and returns it, or
	// returns nil when that would not be smaller than src, in which case
	// the block is stored as it is. src is never empty.
	compress(dst, src []byte) ([]byte, error)
}

// newCodec returns a new codec for algo at level (already defaulted and
// checked) and the image's block size.
func newCodec(algo compress.Algo, level, blockSize int) (codec, error) {
	switch algo {
	case compress.Gzip:
		if l, own := deflate.ForGzipLevel(level); own {
			e, err := deflate.NewEncoder(l)
			if err != nil {
				return nil, fmt.Errorf("gzip level %d: %w", level, err)
			}
			return &deflateCodec{e: e}, nil
		}
		zw, err := zlib.NewWriterLevel(nil, level)
		if err != nil {
			return nil, err
		}
		return &gzipCodec{zw: zw}, nil
	case compress.Xz:
		return &xzCodec{dictMax: xzDictMax(blockSize)}, nil
	case compress.Zstd:
		if level >= izstd.MinLevel && blockSize <= izstd.MaxBlockSize {
			e, err := izstd.NewEncoder(level)
			if err != nil {
				return nil, err
			}
			return &ownZstdCodec{e: e}, nil
		}
		enc, err := zstd.NewWriter(nil,
			zstd.WithEncoderLevel(zstd.EncoderLevelFromZstd(level)),
			// The kernel decompresses with a window of
			// max(block size, 8 KiB) (zstd_wrapper.c): a frame that
			// declares a larger one fails to read.
			zstd.WithWindowSize(blockSize),
			// squashfs has no use for the frame checksum; mksquashfs
			// writes none either.
			zstd.WithEncoderCRC(false),
			zstd.WithEncoderConcurrency(1),
		)
		if err != nil {
			return nil, err
		}
		return &zstdCodec{enc: enc}, nil
	case compress.LZ4:
		if level > 1 {
			return &lz4Codec{hc: &lz4.CompressorHC{Level: lz4HCLevels[level]}}, nil
		}
		return &lz4Codec{fast: new(lz4.Compressor)}, nil
	case compress.None:
		return noneCodec{}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", string(algo))
}

// appendWriter is an io.Writer that appends to a slice, so that codecs
// built on io.Writer compress into the caller's buffer.
type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

// gzipCodec writes a zlib stream (header, deflate, Adler-32), which is what
// squashfs calls gzip. One zlib.Writer is reset for each block: Reset
// clears all of the compressor's state, so the output is that of a fresh
// writer (TestCodecReuse checks it).
type gzipCodec struct {
	zw  *zlib.Writer
	out appendWriter
}

func (c *gzipCodec) compress(dst, src []byte) ([]byte, error) {
	c.out.b = dst[:0]
	c.zw.Reset(&c.out)
	if _, err := c.zw.Write(src); err != nil {
		return nil, err
	}
	if err := c.zw.Close(); err != nil {
		return nil, err
	}
	if len(c.out.b) >= len(src) {
		return nil, nil
	}
	return c.out.b, nil
}

// deflateCodec writes a zlib stream with gpack's own deflate encoder.
// Each Encode starts afresh, so the output of a block does not depend on
// the blocks before (TestCodecReuse checks it).
type deflateCodec struct {
	e *deflate.Encoder
}

func (c *deflateCodec) compress(dst, src []byte) ([]byte, error) {
	out := c.e.EncodeZlib(dst[:0], src)
	if len(out) >= len(src) {
		return nil, nil
	}
	return out, nil
}

// xzDictMax is the largest dictionary the kernel accepts without
// compressor options: max(block size, 8 KiB) (xz_wrapper.c), which is
// also what mksquashfs uses.
func xzDictMax(blockSize int) int { return max(blockSize, 8<<10) }

// xzCodec writes each block as a complete xz stream (header, one LZMA2
// block, index, footer) with a CRC32 check, the only check the kernel's
// xz decoder is sure to have. ulikunitz/xz has no Reset, so each block
// gets a new writer.
type xzCodec struct {
	dictMax int
	out     appendWriter
}

func (c *xzCodec) compress(dst, src []byte) ([]byte, error) {
	cfg := xz.WriterConfig{
		// A power of two no larger than the input: a larger dictionary
		// is never filled, and the encoder allocates about 6 bytes per
		// byte of it. It stays within dictMax, so the kernel can read
		// it, and depends on the input alone.
		DictCap:  min(c.dictMax, max(lzma.MinDictCap, 1<<bits.Len(uint(len(src)-1)))),
		CheckSum: xz.CRC32,
		Matcher:  lzma.HashTable4,
	}
	c.out.b = dst[:0]
	xw, err := cfg.NewWriter(&c.out)
	if err != nil {
		return nil, err
	}
	if _, err := xw.Write(src); err != nil {
		return nil, err
	}
	if err := xw.Close(); err != nil {
		return nil, err
	}
	if len(c.out.b) >= len(src) {
		return nil, nil
	}
	return c.out.b, nil
}

// zstdCodec writes one zstd frame per block with EncodeAll, which starts
// from fresh state on every call.
type zstdCodec struct{ enc *zstd.Encoder }

func (c *zstdCodec) compress(dst, src []byte) ([]byte, error) {
	out := c.enc.EncodeAll(src, dst[:0])
	if len(out) >= len(src) {
		return nil, nil
	}
	return out, nil
}

// ownZstdCodec is gpack's own encoder (internal/zstd), for levels 12 to
// 22 at blocks of up to 128 KiB (above, it would cut a block into
// 128 KiB zstd blocks that do not match across each other, and
// klauspost's encoder serves): it writes one frame per call, single segment, so the window it
// declares is the block's size, which the kernel accepts.
type ownZstdCodec struct{ e *izstd.Encoder }

func (c *ownZstdCodec) compress(dst, src []byte) ([]byte, error) {
	out := c.e.Encode(dst[:0], src)
	if len(out) >= len(src) {
		return nil, nil
	}
	return out, nil
}

// lz4HCLevels maps levels 2-9 to the HC compressor's search depths.
var lz4HCLevels = [10]lz4.CompressionLevel{2: lz4.Level2, lz4.Level3, lz4.Level4, lz4.Level5, lz4.Level6, lz4.Level7, lz4.Level8, lz4.Level9}

// lz4Codec writes raw LZ4 blocks, not LZ4 frames: the kernel and
// unsquashfs call LZ4_decompress_safe on them. pierrec/lz4 clears its
// tables at each call, so its output depends on the input alone.
type lz4Codec struct {
	fast *lz4.Compressor
	hc   *lz4.CompressorHC
}

func (c *lz4Codec) compress(dst, src []byte) ([]byte, error) {
	// With room for the worst case, the compressors never give up early,
	// so the size test below is the only one.
	bound := lz4.CompressBlockBound(len(src))
	if cap(dst) < bound {
		dst = make([]byte, bound)
	}
	dst = dst[:bound]
	var n int
	var err error
	if c.hc != nil {
		n, err = c.hc.CompressBlock(src, dst)
	} else {
		n, err = c.fast.CompressBlock(src, dst)
	}
	if err != nil {
		return nil, err
	}
	if n == 0 || n >= len(src) {
		return nil, nil
	}
	return dst[:n], nil
}

// noneCodec stores every block as it is.
type noneCodec struct{}

func (noneCodec) compress([]byte, []byte) ([]byte, error) { return nil, nil }
