package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
)

// metaTable is the inode or the directory table: metadata blocks one after
// the other from start to end. Open finds where each block starts by
// walking their headers (reading 64 KiB at a time, decompressing nothing),
// 4 bytes per block of 8 KiB of metadata. Every block but the last must
// hold 8 KiB, so the table is one stream of bytes in which position p lies
// in block p/8192 at p%8192: positions are what directory listings,
// indexes and block lists are read by.
type metaTable struct {
	name       string
	start, end uint64
	blocks     []uint32 // offset of each block from start
}

// scanMeta finds the metadata blocks of a table.
func (im *Image) scanMeta(name string, start, end uint64) (metaTable, error) {
	t := metaTable{name: name, start: start, end: end}
	if end-start > math.MaxUint32 {
		// References hold a block's offset in 32 bits.
		return t, corrupt("%s at %d is %d bytes long, more than squashfs can address", name, start, end-start)
	}
	var buf []byte
	var bufAt uint64
	for pos := start; pos < end; {
		if end-pos < 2 {
			return t, corrupt("%s: %d byte left at %d, too few for a metadata block header", name, end-pos, pos)
		}
		if pos < bufAt || pos+2 > bufAt+uint64(len(buf)) {
			n := min(64<<10, end-pos)
			if cap(buf) < int(n) {
				buf = make([]byte, n)
			}
			buf = buf[:n]
			if err := im.readAt(buf, pos, name); err != nil {
				return t, err
			}
			bufAt = pos
		}
		hdr := binary.LittleEndian.Uint16(buf[pos-bufAt:])
		size := uint64(hdr &^ metaRaw)
		next := pos + 2 + size
		switch {
		case size == 0 || size > metaSize:
			return t, corrupt("%s: metadata block at %d: header %#04x gives a size of %d", name, pos, hdr, size)
		case next > end:
			return t, corrupt("%s: metadata block at %d of %d bytes runs past the table's end at %d", name, pos, size, end)
		case hdr&metaRaw != 0 && size != metaSize && next != end:
			return t, corrupt("%s: uncompressed metadata block at %d holds %d bytes, but only the last block may hold less than 8192", name, pos, size)
		}
		t.blocks = append(t.blocks, uint32(pos-start))
		pos = next
	}
	return t, nil
}

// size is an upper bound of the table's uncompressed length.
func (t *metaTable) size() uint64 { return uint64(len(t.blocks)) * metaSize }

// blockAt returns the block index of the block that starts at off from the
// table's start.
func (t *metaTable) blockAt(off uint64) (int, bool) {
	i := sort.Search(len(t.blocks), func(i int) bool { return uint64(t.blocks[i]) >= off })
	return i, i < len(t.blocks) && uint64(t.blocks[i]) == off
}

// pos turns a reference (block start << 16 | offset) into a position.
func (t *metaTable) pos(ref uint64) (uint64, error) {
	start, off := ref>>16, ref&0xffff
	i, ok := t.blockAt(start)
	if !ok || off >= metaSize {
		return 0, corrupt("reference %#x into the %s: no metadata block starts at %d of the table (%d), or offset %d is past 8192",
			ref, t.name, start, t.start+start, off)
	}
	return uint64(i)*metaSize + off, nil
}

// refString describes where a reference points, for errors.
func (t *metaTable) refString(ref uint64) string {
	return fmt.Sprintf("%s+%d", fmtOffset(t.start+ref>>16), ref&0xffff)
}

// posString describes a position, for errors.
func (t *metaTable) posString(p uint64) string {
	i := p / metaSize
	if i < uint64(len(t.blocks)) {
		return fmt.Sprintf("%s+%d", fmtOffset(t.start+uint64(t.blocks[i])), p%metaSize)
	}
	return fmt.Sprintf("position %d past the %s's end", p, t.name)
}

// fmtOffset formats an offset in the image: "offset 1234".
func fmtOffset(off uint64) string { return fmt.Sprintf("offset %d", off) }

// block returns the content of block i of t: 8192 bytes, or 1 to 8192 for
// the last.
func (im *Image) block(t *metaTable, i int) ([]byte, error) {
	if i < 0 || i >= len(t.blocks) {
		return nil, corrupt("%s: reading past its end (%d metadata blocks)", t.name, len(t.blocks))
	}
	off := t.start + uint64(t.blocks[i])
	end := t.end
	if i+1 < len(t.blocks) {
		end = t.start + uint64(t.blocks[i+1])
	}
	b, err := im.metaBlock(off, end, t.name)
	if err != nil {
		return nil, err
	}
	if i+1 < len(t.blocks) && len(b) != metaSize {
		return nil, corrupt("%s: metadata block at %d holds %d bytes, but only the last block may hold less than 8192", t.name, off, len(b))
	}
	return b, nil
}

// metaBlock returns the content of the metadata block at off, which must
// end by limit.
func (im *Image) metaBlock(off, limit uint64, what string) ([]byte, error) {
	return im.cache.get(cacheKey{off, metaKey}, &im.cache.meta, func() ([]byte, error) {
		n := min(limit-off, 2+metaSize)
		bp := im.src.Get().(*[]byte)
		defer im.src.Put(bp)
		buf := (*bp)[:n]
		if n < 2 {
			return nil, corrupt("%s: metadata block at %d: no room for its header before %d", what, off, limit)
		}
		if err := im.readAt(buf, off, what); err != nil {
			return nil, err
		}
		hdr := binary.LittleEndian.Uint16(buf)
		size := uint64(hdr &^ metaRaw)
		if size == 0 || size > metaSize || 2+size > n {
			return nil, corrupt("%s: metadata block at %d: header %#04x gives a size of %d, with room for %d", what, off, hdr, size, n-2)
		}
		src := buf[2 : 2+size]
		if hdr&metaRaw != 0 {
			out := make([]byte, size)
			copy(out, src)
			return out, nil
		}
		out, err := im.decompress(make([]byte, 0, metaSize), src)
		if errors.Is(err, errors.ErrUnsupported) {
			return nil, fmt.Errorf("squashfs: %s: metadata block at %d: %w", what, off, err)
		}
		if err != nil {
			return nil, corrupt("%s: metadata block at %d: %v", what, off, err)
		}
		if len(out) == 0 {
			return nil, corrupt("%s: metadata block at %d decompresses to nothing", what, off)
		}
		return out, nil
	})
}

// metaReader reads a metadata table as one stream from a position.
type metaReader struct {
	im  *Image
	t   *metaTable
	p   uint64 // position of the next byte
	cur []byte // the block that holds p, or nil
	tmp []byte
}

func (im *Image) metaReader(t *metaTable, p uint64) metaReader {
	return metaReader{im: im, t: t, p: p}
}

func (r *metaReader) seek(p uint64) {
	if p/metaSize != r.p/metaSize {
		r.cur = nil
	}
	r.p = p
}

// read returns the next n bytes, which stay valid until the next call.
func (r *metaReader) read(n int) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	r.tmp = r.tmp[:0]
	for {
		if r.cur == nil {
			b, err := r.im.block(r.t, int(r.p/metaSize))
			if err != nil {
				return nil, err
			}
			r.cur = b
		}
		off := int(r.p % metaSize)
		if off >= len(r.cur) {
			return nil, corrupt("%s: reading past its end at %s", r.t.name, r.t.posString(r.p))
		}
		take := min(n-len(r.tmp), len(r.cur)-off)
		var p []byte
		if len(r.tmp) == 0 && take == n {
			p = r.cur[off : off+n]
		} else {
			r.tmp = append(r.tmp, r.cur[off:off+take]...)
			p = r.tmp
		}
		r.p += uint64(take)
		if off+take == len(r.cur) {
			r.cur = nil
		}
		if len(p) == n {
			return p, nil
		}
	}
}

// lookupTable is a fragment, export, id or xattr id table: entries of one
// size packed into metadata blocks, found through an index of the blocks'
// offsets.
type lookupTable struct {
	name      string
	count     uint64
	entrySize int
	blocks    []uint64 // where each block starts
	end       uint64   // where the last block must end: the index, or the header before it
}

// openLookup reads the index at `at` of a lookup table of count entries
// and checks it as the kernel does: it ends at or before next (exactly at
// next if exact), its blocks are in increasing order at most a metadata
// block apart, and the last lies before blocksEnd, within a block of it.
func (im *Image) openLookup(name string, at, count uint64, entrySize int, next uint64, exact bool, blocksEnd uint64) (lookupTable, error) {
	t := lookupTable{name: name, count: count, entrySize: entrySize, end: blocksEnd}
	nblocks := (count*uint64(entrySize) + metaSize - 1) / metaSize
	ilen := 8 * nblocks
	switch {
	case at >= next || ilen > next-at:
		return t, corrupt("%s at %d: its index of %d blocks (%d entries) runs past %d, where the next table starts", name, at, nblocks, count, next)
	case exact && ilen != next-at:
		return t, corrupt("%s at %d: its index of %d blocks (%d entries) ends at %d, but the next table starts at %d", name, at, nblocks, count, at+ilen, next)
	}
	idx := make([]byte, ilen)
	if err := im.readAt(idx, at, name+" index"); err != nil {
		return t, err
	}
	t.blocks = make([]uint64, nblocks)
	for k := range t.blocks {
		t.blocks[k] = binary.LittleEndian.Uint64(idx[8*k:])
	}
	for k, b := range t.blocks {
		limit := blocksEnd
		if k+1 < len(t.blocks) {
			limit = t.blocks[k+1]
		}
		if b < im.dataStart || b >= limit || limit-b > 2+metaSize {
			return t, corrupt("%s: its block %d at %d does not lie before %d (its next block, or its index) and within 8194 bytes of it", name, k, b, limit)
		}
	}
	return t, nil
}

// lookupEntry returns entry i of t.
func (im *Image) lookupEntry(t *lookupTable, i uint64) ([]byte, error) {
	if i >= t.count {
		return nil, corrupt("%s: entry %d of %d", t.name, i, t.count)
	}
	at := i * uint64(t.entrySize)
	k := at / metaSize
	limit := t.end
	if k+1 < uint64(len(t.blocks)) {
		limit = t.blocks[k+1]
	}
	b, err := im.metaBlock(t.blocks[k], limit, t.name)
	if err != nil {
		return nil, err
	}
	want := min(metaSize, t.count*uint64(t.entrySize)-k*metaSize)
	if uint64(len(b)) != want {
		return nil, corrupt("%s: metadata block %d at %d holds %d bytes, want %d", t.name, k, t.blocks[k], len(b), want)
	}
	off := at % metaSize
	return b[off : off+uint64(t.entrySize)], nil
}
