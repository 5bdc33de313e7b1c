package squashfs

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Directory listing limits (squashfs_fs.h).
const (
	dirRun      = 256 // entries per header at most
	dirHeader   = 12  // count, start, inode number
	dirEntry    = 8   // offset, inode delta, type, name size; then the name
	indexHeader = 12  // index, start, name size; then the name
)

// indexEntry is a directory index entry: where a header that begins a new
// metadata block lies, and the first name after it.
type indexEntry struct {
	offset uint32 // of the header, from the start of the listing
	block  uint64 // uncompressed position of the header in the directory table
	name   string
}

// listing builds a directory's listing, to be written at uncompressed
// position base of the directory table.
//
// Entries come in runs behind a header that gives the metadata block of
// their inodes and a reference inode number. A run ends after 256
// entries, when the next inode lies in another block, or when its number
// is not within a signed 16-bit delta of the reference. With split set, a
// run also ends when the next entry would begin in another block of the
// directory table than the run's header, and the new header, the first one
// in its block, gets an index entry: the kernel looks a name up by
// scanning the index for the last entry whose name is not greater, then
// reads headers from there, so it decompresses one metadata block instead
// of the whole listing.
func (tr *tree) listing(dst []byte, d *node, base uint64, split bool) ([]byte, []indexEntry) {
	le := binary.LittleEndian
	var index []indexEntry
	hdr := -1 // offset in dst of the current run's header
	var count int
	var runBlock uint64 // inode block of the run
	var runIno uint32
	var runDirBlock uint64 // directory table block of the run's header
	for _, c := range d.children {
		n := &tr.nodes[c.node]
		iblock := n.ref >> 16
		delta := int64(n.ino) - int64(runIno)
		at := base + uint64(len(dst))
		if hdr < 0 || count == dirRun || iblock != runBlock || delta < math.MinInt16 || delta > math.MaxInt16 ||
			(split && at/metaSize != runDirBlock) {
			if hdr >= 0 {
				le.PutUint32(dst[hdr:], uint32(count-1))
			}
			if split && hdr >= 0 && at/metaSize != runDirBlock {
				index = append(index, indexEntry{offset: uint32(len(dst)), block: at, name: c.name})
			}
			hdr, count, runBlock, runIno, runDirBlock = len(dst), 0, iblock, n.ino, at/metaSize
			dst = le.AppendUint32(dst, 0) // count, filled in when the run ends
			dst = le.AppendUint32(dst, uint32(iblock))
			dst = le.AppendUint32(dst, runIno)
			delta = 0
		}
		dst = le.AppendUint16(dst, uint16(n.ref))
		dst = le.AppendUint16(dst, uint16(int16(delta)))
		dst = le.AppendUint16(dst, basicType(n))
		dst = le.AppendUint16(dst, uint16(len(c.name)-1))
		dst = append(dst, c.name...)
		count++
	}
	if hdr >= 0 {
		le.PutUint32(dst[hdr:], uint32(count-1))
	}
	return dst, index
}

// writeDir writes a directory's listing to the directory table, then its
// inode to the inode table. Every inode the listing names is written
// already.
//
// A listing that fits in a metadata block (8 KiB) gets a basic inode and no
// index; a longer one gets an extended inode with an index, as mksquashfs
// does.
func (tr *tree) writeDir(im, dm *metaWriter, d *node, mtime uint32, buf []byte) ([]byte, error) {
	le := binary.LittleEndian
	base := dm.pos()
	listing, _ := tr.listing(buf[:0], d, base, false)
	var index []indexEntry
	if len(listing) > metaSize {
		listing, index = tr.listing(listing[:0], d, base, true)
	}
	if uint64(len(listing))+3 > math.MaxUint32 || len(index) > math.MaxUint16 {
		return listing, fmt.Errorf("squashfs: %s: directory of %d entries is too large for squashfs", tr.dirName(d), len(d.children))
	}
	start := dm.blockStart(base)
	offset := uint16(base % metaSize)
	dm.write(listing)
	// The kernel invents "." and "..", at offsets 0 and 1, and looks at
	// the listing from 3 on: the size recorded is 3 more.
	size := uint32(len(listing)) + 3
	nlink := 2 + d.subdirs
	parent := tr.nodes[d.parent].ino
	if d.entry == nil {
		// The root's parent: mksquashfs records the inode count + 1,
		// a number no inode has.
		parent = uint32(len(tr.order)) + 1
	}
	mode := uint16(0o755)
	if d.entry != nil {
		mode = uint16(d.entry.Mode)
	}
	d.ref = im.ref()
	var b []byte
	if index == nil {
		b = inodeHeader(nil, typeDir, mode, mtime, d.ino)
		b = le.AppendUint32(b, uint32(start))
		b = le.AppendUint32(b, nlink)
		b = le.AppendUint16(b, uint16(size))
		b = le.AppendUint16(b, offset)
		b = le.AppendUint32(b, parent)
	} else {
		b = inodeHeader(nil, typeExtDir, mode, mtime, d.ino)
		b = le.AppendUint32(b, nlink)
		b = le.AppendUint32(b, size)
		b = le.AppendUint32(b, uint32(start))
		b = le.AppendUint32(b, parent)
		b = le.AppendUint16(b, uint16(len(index)))
		b = le.AppendUint16(b, offset)
		b = le.AppendUint32(b, noXattr)
		for _, x := range index {
			b = le.AppendUint32(b, x.offset)
			// The listing is written, so the start of every block it
			// spans is known.
			b = le.AppendUint32(b, uint32(dm.blockStart(x.block)))
			b = le.AppendUint32(b, uint32(len(x.name)-1))
			b = append(b, x.name...)
		}
	}
	im.write(b)
	return listing, nil
}

// dirName is a directory's path, for errors.
func (tr *tree) dirName(d *node) string {
	if d.entry == nil {
		return "the root directory"
	}
	return d.entry.Path
}
