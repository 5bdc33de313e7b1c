package squashfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
	"github.com/ulikunitz/xz/lzma"

	"github.com/gpack/gpack/formats/compress"
)

// A decompressor decompresses one block, data or metadata. It is safe for
// concurrent use.
type decompressor interface {
	// decompress decompresses src into dst[:0], never past cap(dst): a
	// block that decompresses to more is an error, and so is one with
	// bytes after its end.
	decompress(dst, src []byte) ([]byte, error)
}

// errTooLong is a block that decompresses to more than it may.
var errTooLong = errors.New("decompresses to more than a block")

// newDecompressor returns the decompressor of algo for an image of the
// given block size. dictMax bounds xz's dictionary.
func newDecompressor(algo compress.Algo, blockSize, dictMax int) (decompressor, error) {
	switch algo {
	case compress.Gzip:
		return new(zlibDecompressor), nil
	case compress.Xz:
		return xzDecompressor{dictMax: dictMax}, nil
	case compress.LZ4:
		return lz4Decompressor{}, nil
	case compress.Zstd:
		limit := uint64(max(blockSize, metaSize))
		d, err := zstd.NewReader(nil,
			// The kernel's window: max(block size, 8 KiB)
			// (zstd_wrapper.c); a frame that needs more is refused,
			// as it is there.
			zstd.WithDecoderMaxWindow(max(limit, zstd.MinWindowSize)),
			zstd.WithDecoderMaxMemory(limit),
			zstd.WithDecodeAllCapLimit(true),
			// DecodeAll calls at once, each with its own state; with
			// a nil reader the decoder starts no goroutine.
			zstd.WithDecoderConcurrency(0),
		)
		if err != nil {
			return nil, err
		}
		return zstdDecompressor{d}, nil
	}
	return nil, fmt.Errorf("unknown compression %q", string(algo))
}

// zlibDecompressor reads zlib streams, squashfs's "gzip", with readers
// reused through a pool.
type zlibDecompressor struct{ pool sync.Pool }

func (z *zlibDecompressor) decompress(dst, src []byte) ([]byte, error) {
	br := bytes.NewReader(src)
	var zr io.ReadCloser
	if v, ok := z.pool.Get().(io.ReadCloser); ok {
		if err := v.(zlib.Resetter).Reset(br, nil); err != nil {
			return nil, err
		}
		zr = v
	} else {
		var err error
		if zr, err = zlib.NewReader(br); err != nil {
			return nil, err
		}
	}
	out, err := readBlock(zr, dst)
	z.pool.Put(zr)
	if err == nil && br.Len() > 0 {
		err = fmt.Errorf("%d bytes after the end of the zlib stream", br.Len())
	}
	return out, err
}

// readBlock reads r to its end into dst[:0], and fails if that is more
// than cap(dst). A reader that returns neither data nor an error is given
// up on after a hundred tries.
func readBlock(r io.Reader, dst []byte) ([]byte, error) {
	buf := dst[:cap(dst)]
	n, idle := 0, 0
	for n < len(buf) {
		m, err := r.Read(buf[n:])
		n += m
		switch {
		case err == io.EOF:
			return buf[:n], nil
		case err != nil:
			return nil, err
		case m == 0:
			if idle++; idle > 100 {
				return nil, io.ErrNoProgress
			}
		}
	}
	// Full: the stream must end here.
	var one [1]byte
	for idle = 0; ; {
		m, err := r.Read(one[:])
		switch {
		case m > 0:
			return nil, errTooLong
		case err == io.EOF:
			return buf, nil
		case err != nil:
			return nil, err
		}
		if idle++; idle > 100 {
			return nil, io.ErrNoProgress
		}
	}
}

// xzDecompressor reads xz streams as the kernel does (xz_wrapper.c), and
// as mksquashfs writes them: one stream of one LZMA2 block, with a CRC32
// check or none, whose dictionary is no larger than dictMax. The stream's
// index (at its end, found from the footer) and the block header are
// checked before the stream is decoded, since the decoder allocates the
// dictionary a block header asks for.
type xzDecompressor struct{ dictMax int }

func (x xzDecompressor) decompress(dst, src []byte) ([]byte, error) {
	if err := checkXz(src, x.dictMax); err != nil {
		return nil, err
	}
	// DictCap is a floor (the reader takes the larger of it and the
	// block's): the smallest, so that the block's own is used.
	xr, err := xz.ReaderConfig{DictCap: lzma.MinDictCap, SingleStream: true}.NewReader(bytes.NewReader(src))
	if err != nil {
		return nil, err
	}
	return readBlock(xr, dst)
}

// checkXz checks an xz stream's structure: header, footer, an index of one
// record, and the one block's header with its filter, LZMA2 with a
// dictionary of at most dictMax.
func checkXz(b []byte, dictMax int) error {
	le := binary.LittleEndian
	if len(b) < 12+12+12 || string(b[:6]) != "\xfd7zXZ\x00" {
		return errors.New("not an xz stream")
	}
	if crc32.ChecksumIEEE(b[6:8]) != le.Uint32(b[8:]) {
		return errors.New("xz stream header: bad CRC32")
	}
	if b[6] != 0 || (b[7] != 0 && b[7] != 1) {
		return fmt.Errorf("xz stream flags %#02x %#02x: the kernel reads streams with a CRC32 check or none", b[6], b[7])
	}
	f := b[len(b)-12:]
	if string(f[10:]) != "YZ" || crc32.ChecksumIEEE(f[4:10]) != le.Uint32(f) || !bytes.Equal(f[8:10], b[6:8]) {
		return errors.New("xz stream footer missing or damaged (bytes after the stream?)")
	}
	isize := (uint64(le.Uint32(f[4:])) + 1) * 4
	if isize > uint64(len(b)-24) {
		return fmt.Errorf("xz index of %d bytes does not fit in the stream", isize)
	}
	index := b[len(b)-12-int(isize) : len(b)-12]
	if index[0] != 0 || index[1] != 1 {
		return errors.New("xz stream of more than one block, or a damaged index")
	}
	// The block header: size, flags, optional sizes, filter flags,
	// padding, CRC32.
	h := b[12:]
	hsize := (int(h[0]) + 1) * 4
	if h[0] == 0 || hsize > len(h) {
		return errors.New("xz block header missing or too long")
	}
	h = h[:hsize]
	if crc32.ChecksumIEEE(h[:hsize-4]) != le.Uint32(h[hsize-4:]) {
		return errors.New("xz block header: bad CRC32")
	}
	flags := h[1]
	switch {
	case flags&0x3c != 0:
		return fmt.Errorf("xz block flags %#02x: reserved bits set", flags)
	case flags&3 != 0:
		return fmt.Errorf("xz block of %d filters: only LZMA2 alone is read, not BCJ filters (mksquashfs -Xbcj): %w", flags&3+1, errors.ErrUnsupported)
	}
	return checkXzFilter(h, flags, dictMax)
}

// checkXzFilter checks the filter flags of block header h: one LZMA2
// filter, with one byte of properties, a dictionary within dictMax.
func checkXzFilter(h []byte, flags byte, dictMax int) error {
	end := len(h) - 4
	p := 2
	vli := func() (uint64, error) {
		var v uint64
		for i := 0; i < 9; i++ {
			if p >= end {
				return 0, errors.New("xz block header: truncated field")
			}
			c := h[p]
			p++
			v |= uint64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				return v, nil
			}
		}
		return 0, errors.New("xz block header: field too long")
	}
	if flags&0x40 != 0 { // compressed size
		if _, err := vli(); err != nil {
			return err
		}
	}
	if flags&0x80 != 0 { // uncompressed size
		if _, err := vli(); err != nil {
			return err
		}
	}
	id, err := vli()
	if err != nil {
		return err
	}
	if id != 0x21 {
		return fmt.Errorf("xz filter %#x: only LZMA2 (0x21) is read, not BCJ filters (mksquashfs -Xbcj): %w", id, errors.ErrUnsupported)
	}
	if n, err := vli(); err != nil || n != 1 {
		return errors.New("xz block header: LZMA2 properties of other than one byte")
	}
	if p >= end {
		return errors.New("xz block header: truncated")
	}
	d := int(h[p])
	if d > 40 {
		return fmt.Errorf("xz dictionary code %d", d)
	}
	dict := uint64(2|d&1) << (d/2 + 11)
	if dict > uint64(dictMax) {
		return fmt.Errorf("xz dictionary of %d bytes, more than the kernel's %d", dict, dictMax)
	}
	for _, c := range h[p+1 : end] {
		if c != 0 {
			return errors.New("xz block header: padding is not zero")
		}
	}
	return nil
}

// zstdDecompressor reads zstd frames with one shared decoder, whose
// DecodeAll runs concurrently.
type zstdDecompressor struct{ d *zstd.Decoder }

func (z zstdDecompressor) decompress(dst, src []byte) ([]byte, error) {
	out, err := z.d.DecodeAll(src, dst[:0])
	if err != nil {
		return nil, err
	}
	if len(out) > cap(dst) {
		return nil, errTooLong
	}
	return out, nil
}

// lz4Decompressor reads raw LZ4 blocks.
type lz4Decompressor struct{}

func (lz4Decompressor) decompress(dst, src []byte) ([]byte, error) {
	n, err := lz4.UncompressBlock(src, dst[:cap(dst)])
	if err != nil {
		return nil, err
	}
	return dst[:n], nil
}

// decompress decompresses one block of the image into dst. The
// decompressors are other people's code, fed whatever a corrupt image
// holds: a panic in one is turned into an error about the block, so that
// it cannot take a FUSE server down.
func (im *Image) decompress(dst, src []byte) (out []byte, err error) {
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, fmt.Errorf("the %s decompressor failed: %v", im.algo, r)
		}
	}()
	return im.dec.decompress(dst, src)
}
