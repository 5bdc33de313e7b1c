package squashfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path"
	"sort"

	"github.com/klauspost/compress/zlib"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/ulikunitz/xz"
)

// This file is a strict SquashFS reader for the tests: it reads an image
// back into entries and checks, on the way, the rules that readers rely on
// and unsquashfs does not check (the kernel does, and so does the
// directory index lookup below, which unsquashfs never uses). It is
// written from the format documentation, independently of the writer's
// code paths.

// readEntry is a file read back from an image.
type readEntry struct {
	Path   string
	Mode   fs.FileMode // type and permission bits
	Size   int64       // file content size
	Target string      // symlink
	Data   []byte      // file content
	Ino    uint32
	Nlink  uint32
	Mtime  uint32
}

// sqImage is a parsed image.
type sqImage struct {
	b         []byte
	sb        superblock
	flags     uint16
	blockSize int
	comp      uint16
	inodes    []byte            // inode table, uncompressed
	inodeMap  map[uint64]uint64 // compressed block start -> uncompressed start
	dirs      []byte
	dirMap    map[uint64]uint64
	frags     []fragEntry
	export    []uint64
	seen      map[uint32]uint64 // inode number -> reference
	dataStart uint64
	zstdDec   *zstd.Decoder
	// Counters the tests look at.
	extFiles, extDirs, indexes, sparseBlocks, rawMeta, rawData int
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// readImage parses and checks an image and returns its entries in tree
// order (paths relative to the root, which is not listed).
func readImage(b []byte) (entries []readEntry, im *sqImage, err error) {
	defer func() {
		// A corrupt image may make the parser index out of range; that
		// is a failure to report, not a crash of the test binary.
		if r := recover(); r != nil {
			err = fmt.Errorf("reader panic: %v", r)
		}
	}()
	im = &sqImage{b: b}
	if err := im.parseSuper(); err != nil {
		return nil, im, err
	}
	if err := im.readTables(); err != nil {
		return nil, im, err
	}
	root, err := im.inode(im.sb.rootInode)
	if err != nil {
		return nil, im, fmt.Errorf("root inode: %w", err)
	}
	if root.typ != typeDir && root.typ != typeExtDir {
		return nil, im, fmt.Errorf("root inode has type %d", root.typ)
	}
	if root.ino != im.sb.inodes {
		return nil, im, fmt.Errorf("root inode number %d, want the last, %d", root.ino, im.sb.inodes)
	}
	if root.parent != im.sb.inodes+1 {
		return nil, im, fmt.Errorf("root's parent %d, want inode count + 1 = %d", root.parent, im.sb.inodes+1)
	}
	im.seen = map[uint32]uint64{}
	if err := im.walk("", root, &entries); err != nil {
		return nil, im, err
	}
	if uint32(len(im.seen)) != im.sb.inodes {
		return nil, im, fmt.Errorf("%d inodes reachable, superblock says %d", len(im.seen)+1, im.sb.inodes)
	}
	return entries, im, nil
}

func (im *sqImage) parseSuper() error {
	b := im.b
	if len(b) < superblockSize {
		return errors.New("image shorter than a superblock")
	}
	if len(b)%devBlock != 0 {
		return fmt.Errorf("image size %d is not a multiple of %d", len(b), devBlock)
	}
	if le32(b) != magic {
		return fmt.Errorf("bad magic %#x", le32(b))
	}
	s := &im.sb
	s.inodes, s.mkfsTime, s.blockSize, s.fragments = le32(b[4:]), le32(b[8:]), le32(b[12:]), le32(b[16:])
	s.compressor, im.flags, s.ids = le16(b[20:]), le16(b[24:]), le16(b[26:])
	s.rootInode, s.bytesUsed, s.idTable = le64(b[32:]), le64(b[40:]), le64(b[48:])
	s.inodeTable, s.dirTable, s.fragTable, s.exportTable = le64(b[64:]), le64(b[72:]), le64(b[80:]), le64(b[88:])
	im.blockSize, im.comp = int(s.blockSize), s.compressor
	switch {
	case le16(b[28:]) != 4 || le16(b[30:]) != 0:
		return fmt.Errorf("version %d.%d", le16(b[28:]), le16(b[30:]))
	case im.blockSize < MinBlockSize || im.blockSize > MaxBlockSize || im.blockSize&(im.blockSize-1) != 0:
		return fmt.Errorf("block size %d", im.blockSize)
	case 1<<le16(b[22:]) != im.blockSize:
		return fmt.Errorf("block log %d does not match block size %d", le16(b[22:]), im.blockSize)
	case le64(b[56:]) != noTable || im.flags&flagNoXattrs == 0:
		return errors.New("xattr table present or NO_XATTRS flag missing")
	case im.flags&flagExportable == 0 || s.exportTable == noTable:
		return errors.New("no export table")
	case s.bytesUsed > uint64(len(b)) || len(b)-int(s.bytesUsed) >= devBlock:
		return fmt.Errorf("bytes_used %d, image size %d", s.bytesUsed, len(b))
	case s.ids != 1:
		return fmt.Errorf("%d ids, want 1", s.ids)
	case s.inodes == 0:
		return errors.New("no inodes")
	}
	im.dataStart = superblockSize
	if im.flags&flagCompOpts != 0 {
		h := le16(b[superblockSize:])
		if h&metaRaw == 0 {
			return errors.New("compressor options block is compressed")
		}
		im.dataStart += 2 + uint64(h&^metaRaw)
		opts := b[superblockSize+2 : im.dataStart]
		switch im.comp {
		case 1:
			if len(opts) != 8 || le32(opts) < 1 || le32(opts) > 9 || le16(opts[4:]) != 15 {
				return fmt.Errorf("bad gzip options %x", opts)
			}
		case 6:
			if len(opts) != 4 || le32(opts) < 1 || le32(opts) > 22 {
				return fmt.Errorf("bad zstd options %x", opts)
			}
		case 5:
			if len(opts) != 8 || le32(opts) != 1 || le32(opts[4:]) > 1 {
				return fmt.Errorf("bad lz4 options %x", opts)
			}
		default:
			return fmt.Errorf("options for compressor %d", im.comp)
		}
	} else if im.comp == 5 {
		return errors.New("lz4 image without compressor options")
	}
	if im.comp == 6 {
		// The kernel's window: max(block size, 8 KiB).
		d, err := zstd.NewReader(nil, zstd.WithDecoderMaxWindow(uint64(max(im.blockSize, metaSize))), zstd.WithDecoderConcurrency(1))
		if err != nil {
			return err
		}
		im.zstdDec = d
	}
	return nil
}

// decompress decompresses one block of at most max bytes.
func (im *sqImage) decompress(src []byte, maxOut int) ([]byte, error) {
	var out []byte
	var err error
	switch im.comp {
	case 1:
		var r io.ReadCloser
		if r, err = zlib.NewReader(bytes.NewReader(src)); err == nil {
			out, err = io.ReadAll(io.LimitReader(r, int64(maxOut)+1))
			r.Close()
		}
	case 4:
		if err = checkXzHeader(src, max(im.blockSize, metaSize)); err != nil {
			return nil, err
		}
		var r *xz.Reader
		if r, err = xz.NewReader(bytes.NewReader(src)); err == nil {
			out, err = io.ReadAll(io.LimitReader(r, int64(maxOut)+1))
		}
	case 5:
		out = make([]byte, maxOut)
		var n int
		n, err = lz4.UncompressBlock(src, out)
		out = out[:n]
	case 6:
		out, err = im.zstdDec.DecodeAll(src, nil)
	default:
		return nil, fmt.Errorf("compressor %d", im.comp)
	}
	if err != nil {
		return nil, err
	}
	if len(out) > maxOut {
		return nil, fmt.Errorf("block decompresses to more than %d bytes", maxOut)
	}
	return out, nil
}

// checkXzHeader checks what the kernel's xz decoder needs: a CRC32 check
// and a dictionary no larger than it preallocates.
func checkXzHeader(b []byte, dictMax int) error {
	if len(b) < 24 || string(b[:6]) != "\xfd7zXZ\x00" {
		return errors.New("not an xz stream")
	}
	if b[7] != 1 {
		return fmt.Errorf("xz check type %d, want CRC32 (1)", b[7])
	}
	h := b[12:]
	flags := h[1]
	if flags&3 != 0 {
		return errors.New("xz block with more than one filter")
	}
	p := 2
	vli := func() uint64 {
		var v uint64
		for i := 0; ; i++ {
			c := h[p]
			p++
			v |= uint64(c&0x7f) << (7 * i)
			if c&0x80 == 0 {
				return v
			}
		}
	}
	if flags&0x40 != 0 {
		vli()
	}
	if flags&0x80 != 0 {
		vli()
	}
	if id := vli(); id != 0x21 {
		return fmt.Errorf("xz filter %#x, want LZMA2", id)
	}
	if n := vli(); n != 1 {
		return fmt.Errorf("LZMA2 properties of %d bytes", n)
	}
	d := int(h[p])
	dict := (2 | d&1) << (d/2 + 11)
	if dict > dictMax {
		return fmt.Errorf("xz dictionary %d larger than the kernel's %d", dict, dictMax)
	}
	return nil
}

// readMetaBlock reads the metadata block at off and returns its content
// and the offset of the next block.
func (im *sqImage) readMetaBlock(off uint64) ([]byte, uint64, error) {
	if off+2 > im.sb.bytesUsed {
		return nil, 0, fmt.Errorf("metadata block at %d past the end", off)
	}
	h := le16(im.b[off:])
	n := uint64(h &^ metaRaw)
	if n == 0 || n > metaSize || off+2+n > im.sb.bytesUsed {
		return nil, 0, fmt.Errorf("metadata block at %d: bad header %#x", off, h)
	}
	src := im.b[off+2 : off+2+n]
	if h&metaRaw != 0 {
		im.rawMeta++
		return src, off + 2 + n, nil
	}
	if im.flags&flagInodesRaw != 0 {
		return nil, 0, fmt.Errorf("compressed metadata block at %d in an uncompressed image", off)
	}
	out, err := im.decompress(src, metaSize)
	if err != nil {
		return nil, 0, fmt.Errorf("metadata block at %d: %w", off, err)
	}
	return out, off + 2 + n, nil
}

// readMetaTable reads the metadata blocks from start to end into one
// buffer, mapping each block's start (relative to the table) to its
// offset in the buffer. Every block but the last must be full.
func (im *sqImage) readMetaTable(start, end uint64) ([]byte, map[uint64]uint64, error) {
	var out []byte
	m := map[uint64]uint64{}
	for off := start; off < end; {
		if len(out)%metaSize != 0 {
			return nil, nil, fmt.Errorf("short metadata block before %d", off)
		}
		m[off-start] = uint64(len(out))
		b, next, err := im.readMetaBlock(off)
		if err != nil {
			return nil, nil, err
		}
		out = append(out, b...)
		off = next
		if off > end {
			return nil, nil, fmt.Errorf("metadata block overruns its table end %d", end)
		}
	}
	m[end-start] = uint64(len(out)) // a reference may point just past the end
	return out, m, nil
}

// readLookup reads a lookup table of n entries of size bytes at index,
// checking the kernel's rules: blocks contiguous, right before the index
// array, which ends at or before next.
func (im *sqImage) readLookup(index uint64, n, size int, next uint64, exact bool) ([]byte, error) {
	nblocks := (n*size + metaSize - 1) / metaSize
	end := index + 8*uint64(nblocks)
	if end > next || (exact && end != next) {
		return nil, fmt.Errorf("lookup table at %d ends at %d, next table at %d", index, end, next)
	}
	var out []byte
	var prev uint64
	for i := range nblocks {
		at := le64(im.b[index+8*uint64(i):])
		if i > 0 && at != prev {
			return nil, fmt.Errorf("lookup table blocks not contiguous at %d", at)
		}
		b, nx, err := im.readMetaBlock(at)
		if err != nil {
			return nil, err
		}
		if i < nblocks-1 && len(b) != metaSize {
			return nil, errors.New("short lookup table block")
		}
		out = append(out, b...)
		prev = nx
	}
	if prev != index {
		return nil, fmt.Errorf("lookup table blocks end at %d, not at their index %d", prev, index)
	}
	if len(out) != n*size {
		return nil, fmt.Errorf("lookup table of %d bytes, want %d", len(out), n*size)
	}
	return out, nil
}

func (im *sqImage) readTables() error {
	s := &im.sb
	ids, err := im.readLookup(s.idTable, int(s.ids), 4, s.bytesUsed, true)
	if err != nil {
		return fmt.Errorf("id table: %w", err)
	}
	if le32(ids) != 0 {
		return fmt.Errorf("id %d, want 0", le32(ids))
	}
	next := le64(im.b[s.idTable:])
	exp, err := im.readLookup(s.exportTable, int(s.inodes), 8, next, true)
	if err != nil {
		return fmt.Errorf("export table: %w", err)
	}
	for i := range int(s.inodes) {
		im.export = append(im.export, le64(exp[8*i:]))
	}
	next = le64(im.b[s.exportTable:])
	dirEnd := next
	if s.fragments > 0 {
		ft, err := im.readLookup(s.fragTable, int(s.fragments), 16, next, false)
		if err != nil {
			return fmt.Errorf("fragment table: %w", err)
		}
		for i := range int(s.fragments) {
			e := fragEntry{start: le64(ft[16*i:]), word: le32(ft[16*i+8:])}
			if le32(ft[16*i+12:]) != 0 {
				return errors.New("fragment entry's unused field is not 0")
			}
			im.frags = append(im.frags, e)
		}
		dirEnd = le64(im.b[s.fragTable:])
	} else if s.fragTable != dirEnd {
		return fmt.Errorf("no fragments, but the fragment table start %d is not the directory table's end %d", s.fragTable, dirEnd)
	}
	if !(im.dataStart <= s.inodeTable && s.inodeTable < s.dirTable && s.dirTable <= dirEnd) {
		return errors.New("tables out of order")
	}
	if im.inodes, im.inodeMap, err = im.readMetaTable(s.inodeTable, s.dirTable); err != nil {
		return fmt.Errorf("inode table: %w", err)
	}
	if im.dirs, im.dirMap, err = im.readMetaTable(s.dirTable, dirEnd); err != nil {
		return fmt.Errorf("directory table: %w", err)
	}
	return nil
}

// sqInode is a parsed inode.
type sqInode struct {
	ref                    uint64
	typ                    uint16
	mode                   uint16
	mtime, ino             uint32
	nlink                  uint32
	size                   uint64
	start                  uint64 // file: blocks start; dir: directory block
	offset                 uint32 // dir: offset; file: fragment offset
	frag                   uint32
	sparse                 uint64
	blocks                 []uint32
	parent                 uint32
	target                 string
	index                  []indexEntryRead
	extendedWithoutReasons bool
}

type indexEntryRead struct {
	index, start uint32
	name         string
}

func (im *sqImage) inode(ref uint64) (*sqInode, error) {
	base, ok := im.inodeMap[ref>>16]
	if !ok || ref&0xffff >= metaSize {
		return nil, fmt.Errorf("inode reference %#x: no such block", ref)
	}
	b := im.inodes[base+ref&0xffff:]
	in := &sqInode{ref: ref, typ: le16(b), mode: le16(b[2:]), mtime: le32(b[8:]), ino: le32(b[12:])}
	if le16(b[4:]) != 0 || le16(b[6:]) != 0 {
		return nil, errors.New("uid or gid index is not 0")
	}
	if in.mode&^0o7777 != 0 {
		return nil, fmt.Errorf("mode %o", in.mode)
	}
	if in.ino == 0 || in.ino > im.sb.inodes {
		return nil, fmt.Errorf("inode number %d out of 1..%d", in.ino, im.sb.inodes)
	}
	if im.export[in.ino-1] != ref {
		return nil, fmt.Errorf("export table maps inode %d to %#x, not %#x", in.ino, im.export[in.ino-1], ref)
	}
	b = b[16:]
	bs := uint64(im.blockSize)
	switch in.typ {
	case typeDir:
		in.start, in.nlink, in.size, in.offset, in.parent = uint64(le32(b)), le32(b[4:]), uint64(le16(b[8:])), uint32(le16(b[10:])), le32(b[12:])
	case typeExtDir:
		im.extDirs++
		in.nlink, in.size, in.start, in.parent = le32(b), uint64(le32(b[4:])), uint64(le32(b[8:])), le32(b[12:])
		n, off := int(le16(b[16:])), le16(b[18:])
		in.offset = uint32(off)
		if le32(b[20:]) != noXattr {
			return nil, errors.New("xattr index set")
		}
		if n == 0 && in.size <= metaSize+3 {
			in.extendedWithoutReasons = true
		}
		p := b[24:]
		for range n {
			e := indexEntryRead{index: le32(p), start: le32(p[4:])}
			sz := int(le32(p[8:])) + 1
			e.name = string(p[12 : 12+sz])
			p = p[12+sz:]
			in.index = append(in.index, e)
		}
		im.indexes += n
	case typeFile, typeExtFile:
		if in.typ == typeFile {
			in.start, in.frag, in.offset, in.size = uint64(le32(b)), le32(b[4:]), le32(b[8:]), uint64(le32(b[12:]))
			in.nlink = 1
			b = b[16:]
		} else {
			im.extFiles++
			in.start, in.size, in.sparse = le64(b), le64(b[8:]), le64(b[16:])
			in.nlink, in.frag, in.offset = le32(b[24:]), le32(b[28:]), le32(b[32:])
			if le32(b[36:]) != noXattr {
				return nil, errors.New("xattr index set")
			}
			b = b[40:]
			if in.size <= math.MaxUint32 && in.start <= math.MaxUint32 && in.nlink == 1 && in.sparse == 0 {
				in.extendedWithoutReasons = true
			}
		}
		n := in.size / bs
		if in.frag == noFragment && in.size%bs != 0 {
			n++
		}
		if in.frag != noFragment && in.size%bs == 0 {
			return nil, errors.New("file with a fragment but a size that is a multiple of the block size")
		}
		for i := range n {
			in.blocks = append(in.blocks, le32(b[4*i:]))
		}
	case typeSymlink:
		in.nlink = le32(b)
		n := le32(b[4:])
		if n == 0 || n > maxTarget {
			return nil, fmt.Errorf("symlink target of %d bytes", n)
		}
		in.target = string(b[8 : 8+n])
		in.size = uint64(n)
	default:
		return nil, fmt.Errorf("inode type %d", in.typ)
	}
	return in, nil
}

// walk reads directory d's listing, checking its structure, and recurses.
func (im *sqImage) walk(dir string, d *sqInode, out *[]readEntry) error {
	if prev, ok := im.seen[d.ino]; ok && prev != d.ref {
		return fmt.Errorf("inode %d at two references", d.ino)
	}
	im.seen[d.ino] = d.ref
	if d.extendedWithoutReasons {
		return fmt.Errorf("%s: extended directory inode that a basic one could hold", dir)
	}
	if d.typ == typeDir && len(d.index) == 0 && d.size > metaSize+3 {
		return fmt.Errorf("%s: listing of %d bytes without an index", dir, d.size-3)
	}
	if d.size < 3 {
		return fmt.Errorf("%s: directory size %d", dir, d.size)
	}
	listing := d.size - 3
	base, ok := im.dirMap[d.start]
	if !ok || d.offset >= metaSize {
		return fmt.Errorf("%s: directory block %d not found", dir, d.start)
	}
	pos := base + uint64(d.offset)
	if pos+listing > uint64(len(im.dirs)) {
		return fmt.Errorf("%s: listing past the directory table", dir)
	}
	l := im.dirs[pos : pos+listing]
	type dent struct {
		name string
		ref  uint64
		ino  uint32
		typ  uint16
	}
	var ents []dent
	headers := map[uint32]string{} // listing offset of each header -> its first name
	for p := uint64(0); p < listing; {
		if p+dirHeader > listing {
			return fmt.Errorf("%s: truncated header", dir)
		}
		count, blk, ref := le32(l[p:])+1, le32(l[p+4:]), le32(l[p+8:])
		if count > dirRun {
			return fmt.Errorf("%s: header with %d entries", dir, count)
		}
		hdrAt := p
		p += dirHeader
		for i := range count {
			off, delta, typ, n := le16(l[p:]), int16(le16(l[p+2:])), le16(l[p+4:]), int(le16(l[p+6:]))+1
			if n > maxName {
				return fmt.Errorf("%s: name of %d bytes", dir, n)
			}
			name := string(l[p+8 : p+8+uint64(n)])
			if i == 0 {
				headers[uint32(hdrAt)] = name
			}
			p += dirEntry + uint64(n)
			ents = append(ents, dent{name: name, ref: uint64(blk)<<16 | uint64(off), ino: uint32(int64(ref) + int64(delta)), typ: typ})
		}
		if p > listing {
			return fmt.Errorf("%s: entries overrun the listing", dir)
		}
	}
	// Index: each entry names a header, the first in its block, with its
	// block's start.
	for i, x := range d.index {
		if first, ok := headers[x.index]; !ok || first != x.name {
			return fmt.Errorf("%s: index entry %d (%d, %q) does not name a header", dir, i, x.index, x.name)
		}
		at := pos + uint64(x.index)
		if b, ok := im.dirMap[uint64(x.start)]; !ok || b != at/metaSize*metaSize {
			return fmt.Errorf("%s: index entry %d gives block %d, header is in another", dir, i, x.start)
		}
		if i > 0 && x.name <= d.index[i-1].name {
			return fmt.Errorf("%s: index not sorted", dir)
		}
	}
	subdirs := uint32(0)
	for i, e := range ents {
		if i > 0 && ents[i-1].name >= e.name {
			return fmt.Errorf("%s: %q after %q: listing not sorted", dir, e.name, ents[i-1].name)
		}
		if got := im.lookup(d, pos, listing, e.name); got != e.ref {
			return fmt.Errorf("%s: looking up %q through the index finds %#x, not %#x", dir, e.name, got, e.ref)
		}
		in, err := im.inode(e.ref)
		if err != nil {
			return fmt.Errorf("%s/%s: %w", dir, e.name, err)
		}
		if in.ino != e.ino {
			return fmt.Errorf("%s/%s: entry says inode %d, inode says %d", dir, e.name, e.ino, in.ino)
		}
		if want := (in.typ-1)%7 + 1; e.typ != want {
			return fmt.Errorf("%s/%s: entry type %d for inode type %d", dir, e.name, e.typ, in.typ)
		}
		p := path.Join(dir, e.name)
		re := readEntry{Path: p, Ino: in.ino, Nlink: in.nlink, Mtime: in.mtime, Mode: fs.FileMode(in.mode)}
		switch e.typ {
		case typeDir:
			subdirs++
			if in.parent != d.ino {
				return fmt.Errorf("%s: parent %d, want %d", p, in.parent, d.ino)
			}
			re.Mode |= fs.ModeDir
			*out = append(*out, re)
			if err := im.walk(p, in, out); err != nil {
				return err
			}
			continue
		case typeSymlink:
			re.Mode |= fs.ModeSymlink
			re.Target = in.target
			if in.nlink != 1 {
				return fmt.Errorf("%s: symlink nlink %d", p, in.nlink)
			}
		case typeFile:
			if prev, ok := im.seen[in.ino]; ok && prev != in.ref {
				return fmt.Errorf("inode %d at two references", in.ino)
			}
			im.seen[in.ino] = in.ref
			if in.extendedWithoutReasons {
				return fmt.Errorf("%s: extended file inode that a basic one could hold", p)
			}
			data, err := im.readFile(in)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			re.Size, re.Data = int64(in.size), data
		}
		im.seen[in.ino] = in.ref
		*out = append(*out, re)
	}
	if d.nlink != 2+subdirs {
		return fmt.Errorf("%s: nlink %d with %d subdirectories", dir, d.nlink, subdirs)
	}
	return nil
}

// lookup finds name in a directory as the kernel does (fs/squashfs/
// namei.c): skip to the last index entry whose name is not greater, then
// scan headers and entries from there, stopping at the first greater name.
func (im *sqImage) lookup(d *sqInode, pos, listing uint64, name string) uint64 {
	var length uint64
	start := pos
	for _, x := range d.index {
		if x.name > name {
			break
		}
		length = uint64(x.index)
		start = im.dirMap[uint64(x.start)] + (uint64(d.offset)+length)%metaSize
	}
	l := im.dirs[start : pos+listing]
	for p := uint64(0); length < listing; {
		count, blk := le32(l[p:])+1, le32(l[p+4:])
		p += dirHeader
		length += dirHeader
		for range count {
			off, n := le16(l[p:]), uint64(le16(l[p+6:]))+1
			ename := string(l[p+8 : p+8+n])
			p += dirEntry + n
			length += dirEntry + n
			if name[0] < ename[0] {
				return 0
			}
			if ename == name {
				return uint64(blk)<<16 | uint64(off)
			}
		}
	}
	return 0
}

// readFile reads a file's content, checking its blocks.
func (im *sqImage) readFile(in *sqInode) ([]byte, error) {
	bs := uint64(im.blockSize)
	out := make([]byte, 0, in.size)
	pos := in.start
	var sparse uint64
	for i, w := range in.blocks {
		want := bs
		if uint64(i) == in.size/bs {
			want = in.size % bs
		}
		if w == 0 {
			out = append(out, make([]byte, want)...)
			sparse += want
			im.sparseBlocks++
			continue
		}
		n := uint64(w &^ dataRaw)
		if n > bs || w&^(dataRaw|(dataRaw-1)) != 0 {
			return nil, fmt.Errorf("block %d: size word %#x", i, w)
		}
		if pos < im.dataStart || pos+n > im.sb.inodeTable {
			return nil, fmt.Errorf("block %d at %d+%d outside the data area", i, pos, n)
		}
		src := im.b[pos : pos+n]
		pos += n
		if w&dataRaw != 0 {
			im.rawData++
			if n != want {
				return nil, fmt.Errorf("block %d: raw block of %d bytes, want %d", i, n, want)
			}
			out = append(out, src...)
			continue
		}
		if im.flags&flagDataRaw != 0 {
			return nil, errors.New("compressed block in an uncompressed image")
		}
		b, err := im.decompress(src, int(bs))
		if err != nil {
			return nil, fmt.Errorf("block %d: %w", i, err)
		}
		if uint64(len(b)) != want {
			return nil, fmt.Errorf("block %d decompresses to %d bytes, want %d", i, len(b), want)
		}
		out = append(out, b...)
	}
	if min(sparse, in.size-1) != in.sparse {
		return nil, fmt.Errorf("sparse %d bytes, inode says %d", sparse, in.sparse)
	}
	if in.frag != noFragment {
		if in.frag >= uint32(len(im.frags)) {
			return nil, fmt.Errorf("fragment %d of %d", in.frag, len(im.frags))
		}
		f := im.frags[in.frag]
		n := uint64(f.word &^ dataRaw)
		if n == 0 || n > bs || f.start < im.dataStart || f.start+n > im.sb.inodeTable {
			return nil, fmt.Errorf("fragment %d at %d+%d", in.frag, f.start, n)
		}
		var fb []byte
		if f.word&dataRaw != 0 {
			fb = im.b[f.start : f.start+n]
		} else {
			var err error
			if fb, err = im.decompress(im.b[f.start:f.start+n], int(bs)); err != nil {
				return nil, fmt.Errorf("fragment %d: %w", in.frag, err)
			}
		}
		tail := in.size % bs
		if uint64(in.offset)+tail > uint64(len(fb)) {
			return nil, fmt.Errorf("tail at %d+%d past fragment %d's %d bytes", in.offset, tail, in.frag, len(fb))
		}
		out = append(out, fb[in.offset:uint64(in.offset)+tail]...)
	}
	if uint64(len(out)) != in.size {
		return nil, fmt.Errorf("read %d bytes, size %d", len(out), in.size)
	}
	return out, nil
}

// sortEntries sorts by path, for comparisons independent of order.
func sortEntries(e []readEntry) {
	sort.Slice(e, func(i, j int) bool { return e[i].Path < e[j].Path })
}
