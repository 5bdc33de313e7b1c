package squashfs

import (
	"bufio"
	"encoding/binary"
	"fmt"
)

// On-disk constants of SquashFS 4.0 (squashfs_fs.h).
const (
	magic          = 0x73717368 // "hsqs"
	superblockSize = 96
	metaSize       = 8192    // uncompressed size of a full metadata block
	metaRaw        = 0x8000  // metadata header bit: stored uncompressed
	dataRaw        = 1 << 24 // data size word bit: stored uncompressed
	noFragment     = 0xFFFFFFFF
	noXattr        = 0xFFFFFFFF
	noTable        = 0xFFFFFFFFFFFFFFFF
	devBlock       = 4096 // images are padded to a multiple of this

	// Superblock flags. Only flagCompOpts means anything to the kernel;
	// the others record how the image was made, as mksquashfs does.
	flagInodesRaw      = 0x0001
	flagDataRaw        = 0x0002
	flagFragmentsRaw   = 0x0008
	flagAlwaysFragment = 0x0020 // tail ends are packed too
	flagDuplicates     = 0x0040
	flagExportable     = 0x0080
	flagNoXattrs       = 0x0200
	flagCompOpts       = 0x0400
	flagIDsRaw         = 0x0800
)

// output writes the image front to back and counts the bytes, which are
// the offsets every table and block is found by.
type output struct {
	w   *bufio.Writer
	pos uint64
}

func (o *output) write(p []byte) error {
	n, err := o.w.Write(p)
	o.pos += uint64(n)
	return err // the output's, which names it ("writing OUT: ...")
}

// metaWriter packs a stream of records (inodes, directory listings, table
// entries) into metadata blocks: 8 KiB of input each, compressed on its own
// and preceded by a 16-bit header, in memory. Records may straddle blocks.
//
// Metadata blocks are compressed as soon as they fill, on the caller's
// goroutine, so that the on-disk start of the block being filled is known
// at once: an inode's reference is needed by its directory entry, and a
// directory's position by its inode, right after they are written.
// Metadata is a small part of an image; compressing it serially costs
// little.
type metaWriter struct {
	c      codec
	buf    []byte   // the block being filled, < metaSize bytes
	out    []byte   // finished blocks, headers included
	starts []uint64 // starts[k]: offset in out of the k-th block; the last is the open block's
	tmp    []byte
	err    error // sticky: the first compression error
}

func newMetaWriter(c codec) *metaWriter {
	return &metaWriter{c: c, buf: make([]byte, 0, metaSize), starts: []uint64{0}}
}

// ref returns the reference of the next byte written: the start of its
// block relative to the table, shifted left by 16, and its offset within
// the uncompressed block.
func (m *metaWriter) ref() uint64 {
	return m.starts[len(m.starts)-1]<<16 | uint64(len(m.buf))
}

// pos is the number of uncompressed bytes written so far.
func (m *metaWriter) pos() uint64 {
	return uint64(len(m.starts)-1)*metaSize + uint64(len(m.buf))
}

// blockStart returns the on-disk start, relative to the table, of the
// block that holds uncompressed position p, which must be written already
// or be the next byte.
func (m *metaWriter) blockStart(p uint64) uint64 { return m.starts[p/metaSize] }

func (m *metaWriter) write(p []byte) {
	for len(p) > 0 {
		n := min(len(p), metaSize-len(m.buf))
		m.buf = append(m.buf, p[:n]...)
		p = p[n:]
		// A full block is compressed at once, so that ref never
		// points at the end of a block.
		if len(m.buf) == metaSize {
			m.flush()
		}
	}
}

// flush compresses the open block, if it holds anything, and opens the
// next one.
func (m *metaWriter) flush() {
	if len(m.buf) == 0 {
		return
	}
	var hdr uint16
	c, err := m.c.compress(m.tmp, m.buf)
	if err != nil && m.err == nil {
		m.err = fmt.Errorf("squashfs: compressing metadata: %w", err)
	}
	if c != nil {
		m.tmp = c
		hdr = uint16(len(c))
	} else {
		c = m.buf
		hdr = uint16(len(c)) | metaRaw
	}
	m.out = binary.LittleEndian.AppendUint16(m.out, hdr)
	m.out = append(m.out, c...)
	m.buf = m.buf[:0]
	m.starts = append(m.starts, uint64(len(m.out)))
}

// finish flushes the last block and returns the table.
func (m *metaWriter) finish() ([]byte, error) {
	m.flush()
	return m.out, m.err
}

// writeLookupTable writes a lookup table (fragment, export or id): the
// entries packed into metadata blocks, then the uncompressed array of the
// blocks' absolute offsets, whose offset it returns for the superblock.
// The kernel checks that the blocks lie right before the array.
func writeLookupTable(o *output, c codec, entries []byte) (uint64, error) {
	m := newMetaWriter(c)
	m.write(entries)
	blocks, err := m.finish()
	if err != nil {
		return 0, err
	}
	base := o.pos
	if err := o.write(blocks); err != nil {
		return 0, err
	}
	start := o.pos
	var index []byte
	for _, s := range m.starts[:len(m.starts)-1] {
		index = binary.LittleEndian.AppendUint64(index, base+s)
	}
	return start, o.write(index)
}

// superblock holds the fields of the 96-byte superblock that vary.
type superblock struct {
	inodes      uint32
	mkfsTime    uint32
	blockSize   uint32
	fragments   uint32
	compressor  uint16
	flags       uint16
	ids         uint16
	rootInode   uint64
	bytesUsed   uint64
	idTable     uint64
	inodeTable  uint64
	dirTable    uint64
	fragTable   uint64
	exportTable uint64
}

func (s *superblock) marshal() []byte {
	b := make([]byte, superblockSize)
	le := binary.LittleEndian
	le.PutUint32(b[0:], magic)
	le.PutUint32(b[4:], s.inodes)
	le.PutUint32(b[8:], s.mkfsTime)
	le.PutUint32(b[12:], s.blockSize)
	le.PutUint32(b[16:], s.fragments)
	le.PutUint16(b[20:], s.compressor)
	le.PutUint16(b[22:], uint16(log2(int(s.blockSize))))
	le.PutUint16(b[24:], s.flags)
	le.PutUint16(b[26:], s.ids)
	le.PutUint16(b[28:], 4) // version 4.0
	le.PutUint16(b[30:], 0)
	le.PutUint64(b[32:], s.rootInode)
	le.PutUint64(b[40:], s.bytesUsed)
	le.PutUint64(b[48:], s.idTable)
	le.PutUint64(b[56:], noTable) // no xattrs
	le.PutUint64(b[64:], s.inodeTable)
	le.PutUint64(b[72:], s.dirTable)
	le.PutUint64(b[80:], s.fragTable)
	le.PutUint64(b[88:], s.exportTable)
	return b
}

// log2 of a power of two.
func log2(n int) int {
	l := 0
	for n > 1 {
		n >>= 1
		l++
	}
	return l
}
