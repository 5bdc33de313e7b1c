package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"sync"
	"time"

	"github.com/gpack/gpack/formats/compress"
)

// ErrCorrupt is what every error about a malformed image wraps: a field
// out of range, a table that is not where the superblock says, a block
// that does not decompress to what it must, an image shorter than its
// superblock says. The message says what is wrong and where (an offset in
// the image, an inode, a path). Errors of the io.ReaderAt are passed on
// wrapped, not as ErrCorrupt.
var ErrCorrupt = errors.New("corrupt image")

// corrupt returns an ErrCorrupt error: "squashfs: corrupt image: ...".
func corrupt(format string, args ...any) error {
	return fmt.Errorf("squashfs: %w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// DefaultCacheSize is the cache of decompressed blocks that Open keeps
// when ReadOptions.CacheSize is 0: 32 MiB, 256 data blocks of the default
// size, and room for the whole metadata of an image of some 100,000 files.
const DefaultCacheSize = 32 << 20

// ReadOptions are the options of Open. The zero value means the defaults.
type ReadOptions struct {
	// CacheSize bounds, in bytes, the decompressed blocks kept for reuse:
	// up to a quarter (and at least 64 KiB) for metadata (inodes,
	// directories, lookup tables), the rest for data and fragment blocks.
	// 0 means DefaultCacheSize; a negative value keeps none, so that every
	// read decompresses what it needs.
	CacheSize int64
}

// Info describes an image, from its superblock.
type Info struct {
	Compression compress.Algo // gzip (which "none" images say too), xz, zstd or lz4
	BlockSize   int           // data block size
	Inodes      uint32        // number of inodes
	Fragments   uint32        // number of fragment blocks
	IDs         int           // number of distinct owners and groups
	Mtime       time.Time     // when the image was made (its superblock's mkfs time)
	BytesUsed   int64         // the image's length, without the padding after it
	Exportable  bool          // an export table: Image.Inode finds inodes by number
	Xattrs      bool          // an xattr table (whose attributes the reader ignores)
}

// Image is an open SquashFS 4.0 image. Its methods are safe for concurrent
// use; files and directories opened from it are not, except File.ReadAt.
// See the package comment, "Reading", for what it checks and what it
// keeps in memory.
type Image struct {
	r         io.ReaderAt
	sb        superblock
	xattrIDs  uint32 // entries of the xattr id table, 0 without one
	hasXattr  bool
	dataStart uint64 // the first byte after the superblock and compressor options
	algo      compress.Algo
	dec       decompressor
	dictMax   int // xz: the largest dictionary a block may use

	inodes, dirs metaTable
	frags        lookupTable
	export       *lookupTable // nil without an export table
	ids          []uint32
	root         *Inode

	cache *blockCache
	src   sync.Pool // *[]byte of max(blockSize, 8192)+2 bytes: compressed blocks on their way in

	// Without an export table: the reference of every directory inode
	// read so far, by inode number, so that two directories cannot share
	// a number (see checkNumber).
	dirMu   sync.Mutex
	dirRefs map[uint32]uint64
}

// Open reads the image of size bytes in r and checks its superblock,
// compressor options and tables. It reads no file and lists no directory
// (but the root inode), so it is cheap on large images; what a later call
// reads is checked when it is read. r may be a section of a larger file,
// such as the image inside an AppImage (io.NewSectionReader).
func Open(r io.ReaderAt, size int64, opts ReadOptions) (*Image, error) {
	if size < superblockSize {
		return nil, corrupt("an image of %d bytes is shorter than a superblock (96 bytes)", size)
	}
	im := &Image{r: r}
	b := make([]byte, superblockSize)
	if n, err := r.ReadAt(b, 0); n < len(b) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("squashfs: reading the superblock: %w", err)
	}
	xattrTable, err := im.parseSuper(b, size)
	if err != nil {
		return nil, err
	}
	cacheSize := opts.CacheSize
	if cacheSize == 0 {
		cacheSize = DefaultCacheSize
	}
	im.cache = newBlockCache(cacheSize)
	bufSize := max(int(im.sb.blockSize), metaSize) + 2
	im.src.New = func() any { b := make([]byte, bufSize); return &b }
	if err := im.readCompOptions(); err != nil {
		return nil, err
	}
	if err := im.openTables(xattrTable); err != nil {
		return nil, err
	}
	root, err := im.inode(im.sb.rootInode)
	if err != nil {
		return nil, fmt.Errorf("%w (the root directory)", err)
	}
	if !root.IsDir() {
		return nil, corrupt("the root inode (%s) is a %s, not a directory", im.inodes.refString(im.sb.rootInode), typeName(root.typ))
	}
	im.root = root
	return im, nil
}

// parseSuper parses and checks the superblock, and returns the xattr id
// table's start.
func (im *Image) parseSuper(b []byte, size int64) (uint64, error) {
	le := binary.LittleEndian
	if m := le.Uint32(b); m != magic {
		if m == 0x68737173 {
			return 0, corrupt("a big-endian image (squashfs 3 or older): only squashfs 4.0 is read")
		}
		return 0, corrupt("not a squashfs image: magic %#08x at offset 0, want %#08x (hsqs)", m, magic)
	}
	s := &im.sb
	s.inodes, s.mkfsTime, s.blockSize, s.fragments = le.Uint32(b[4:]), le.Uint32(b[8:]), le.Uint32(b[12:]), le.Uint32(b[16:])
	s.compressor, s.flags, s.ids = le.Uint16(b[20:]), le.Uint16(b[24:]), le.Uint16(b[26:])
	blockLog := le.Uint16(b[22:])
	major, minor := le.Uint16(b[28:]), le.Uint16(b[30:])
	s.rootInode, s.bytesUsed, s.idTable = le.Uint64(b[32:]), le.Uint64(b[40:]), le.Uint64(b[48:])
	xattr := le.Uint64(b[56:])
	s.inodeTable, s.dirTable, s.fragTable, s.exportTable = le.Uint64(b[64:]), le.Uint64(b[72:]), le.Uint64(b[80:]), le.Uint64(b[88:])
	bs := s.blockSize
	switch {
	case major != 4 || minor != 0:
		return 0, corrupt("squashfs version %d.%d: only 4.0 is read", major, minor)
	case bs < MinBlockSize || bs > MaxBlockSize || bs&(bs-1) != 0:
		return 0, corrupt("block size %d (superblock offset 12) is not a power of two from 4 KiB to 1 MiB", bs)
	case uint32(1)<<(blockLog&31) != bs || blockLog > 31:
		return 0, corrupt("block log %d (superblock offset 22) does not match the block size %d", blockLog, bs)
	case s.inodes == 0:
		return 0, corrupt("inode count 0 (superblock offset 4): there is not even a root")
	case s.ids == 0:
		return 0, corrupt("id count 0 (superblock offset 26): every inode has an owner")
	case s.bytesUsed < superblockSize:
		return 0, corrupt("bytes used %d (superblock offset 40) is less than the superblock", s.bytesUsed)
	case s.bytesUsed > uint64(size):
		return 0, corrupt("the superblock says the image is %d bytes long, but it is %d: truncated", s.bytesUsed, size)
	}
	switch s.compressor {
	case 1:
		im.algo = compress.Gzip
	case 4:
		im.algo = compress.Xz
	case 5:
		im.algo = compress.LZ4
	case 6:
		im.algo = compress.Zstd
	case 2, 3:
		return 0, fmt.Errorf("squashfs: %s compression (superblock offset 20) is not supported: %w",
			map[uint16]string{2: "lzma", 3: "lzo"}[s.compressor], errors.ErrUnsupported)
	default:
		return 0, corrupt("unknown compressor %d (superblock offset 20)", s.compressor)
	}
	return xattr, nil
}

// readCompOptions reads the compressor options, if the superblock says
// there are some, and sets up the decompressor. The checks are the
// kernel's: lz4 images must have options, of version 1.
func (im *Image) readCompOptions() error {
	le := binary.LittleEndian
	im.dataStart = superblockSize
	var opts []byte
	if im.sb.flags&flagCompOpts != 0 {
		var h [2]byte
		if err := im.readAt(h[:], superblockSize, "the compressor options' header"); err != nil {
			return err
		}
		hdr := le.Uint16(h[:])
		n := hdr &^ metaRaw
		if hdr&metaRaw == 0 || n == 0 {
			return corrupt("compressor options at offset 96: header %#04x, want an uncompressed block", hdr)
		}
		opts = make([]byte, n)
		if err := im.readAt(opts, superblockSize+2, "the compressor options"); err != nil {
			return err
		}
		im.dataStart += 2 + uint64(n)
	}
	bs := int(im.sb.blockSize)
	im.dictMax = max(bs, metaSize)
	want := map[compress.Algo]int{compress.Gzip: 8, compress.Xz: 8, compress.LZ4: 8, compress.Zstd: 4}[im.algo]
	if opts != nil && len(opts) != want {
		return corrupt("%s compressor options of %d bytes at offset 98, want %d", im.algo, len(opts), want)
	}
	switch im.algo {
	case compress.Gzip:
		if opts != nil {
			level, window, strategy := le.Uint32(opts), le.Uint16(opts[4:]), le.Uint16(opts[6:])
			if level < 1 || level > 9 || window < 8 || window > 15 || strategy&^0x1f != 0 {
				return corrupt("gzip compressor options: level %d, window %d, strategies %#x (level 1 to 9, window 8 to 15)", level, window, strategy)
			}
		}
	case compress.Xz:
		if opts != nil {
			// The kernel's check: a power of two, or 3 times one.
			d := le.Uint32(opts)
			n := bits.TrailingZeros32(d)
			// mksquashfs's: no larger than the block size, which bounds
			// the memory each block's decoder takes.
			if d < metaSize || (d != 1<<n && d != 3<<n) || int(d) > im.dictMax {
				return corrupt("xz compressor options: dictionary size %d is not 2^n or 3·2^n, from 8 KiB to the block size", d)
			}
			im.dictMax = int(d)
		}
	case compress.LZ4:
		if opts == nil {
			return corrupt("an lz4 image without compressor options, which the kernel requires")
		}
		if v, f := le.Uint32(opts), le.Uint32(opts[4:]); v != 1 || f > 1 {
			return corrupt("lz4 compressor options: version %d, flags %#x (want version 1, flags 0 or 1)", v, f)
		}
	case compress.Zstd:
		if opts != nil {
			if l := le.Uint32(opts); l < 1 || l > 22 {
				return corrupt("zstd compressor options: level %d is not 1 to 22", l)
			}
		}
	}
	dec, err := newDecompressor(im.algo, bs, im.dictMax)
	if err != nil {
		return fmt.Errorf("squashfs: %s decompressor: %w", im.algo, err)
	}
	im.dec = dec
	return nil
}

// openTables reads the lookup tables' indexes and the id table, and finds
// where the inode and directory tables' metadata blocks start, checking
// the layout the kernel checks: from the end of the image backwards, each
// table's index ends before the next table's blocks begin, and the blocks
// of each lie just before its index.
//
// On disk: data, inode table, directory table, fragment table, export
// table, id table, xattr table. Each lookup table is its metadata blocks
// followed by the array of their offsets, which the superblock points at.
func (im *Image) openTables(xattrTable uint64) error {
	s := &im.sb
	next := s.bytesUsed
	if xattrTable != noTable {
		kv, err := im.openXattrs(xattrTable)
		if err != nil {
			return err
		}
		next = kv
	}
	ids, err := im.openLookup("id table", s.idTable, uint64(s.ids), 4, next, true, s.idTable)
	if err != nil {
		return err
	}
	next = ids.blocks[0]
	if s.flags&flagExportable != 0 || s.exportTable != noTable {
		if s.exportTable == noTable {
			return corrupt("the superblock's flags say there is an export table, but its start (offset 88) is unset")
		}
		exp, err := im.openLookup("export table", s.exportTable, uint64(s.inodes), 8, next, false, s.exportTable)
		if err != nil {
			return err
		}
		im.export = &exp
		next = exp.blocks[0]
	}
	if s.fragments > 0 {
		if im.frags, err = im.openLookup("fragment table", s.fragTable, uint64(s.fragments), 16, next, false, s.fragTable); err != nil {
			return err
		}
		next = im.frags.blocks[0]
	}
	switch {
	case s.inodeTable < im.dataStart || s.inodeTable >= s.dirTable:
		return corrupt("inode table at %d (superblock offset 64): it must lie after the superblock and compressor options (%d) and before the directory table at %d",
			s.inodeTable, im.dataStart, s.dirTable)
	case s.dirTable > next:
		return corrupt("directory table at %d (superblock offset 72) lies past the first block of the lookup tables at %d", s.dirTable, next)
	}
	if im.inodes, err = im.scanMeta("inode table", s.inodeTable, s.dirTable); err != nil {
		return err
	}
	if im.dirs, err = im.scanMeta("directory table", s.dirTable, next); err != nil {
		return err
	}
	// Every inode takes at least 20 bytes (a fifo's); an image cannot
	// have more than its table holds, which bounds what the inode count
	// is trusted for.
	if max := uint64(len(im.inodes.blocks)) * metaSize / 20; uint64(s.inodes) > max {
		return corrupt("inode count %d (superblock offset 4) is more than an inode table of %d metadata blocks holds", s.inodes, len(im.inodes.blocks))
	}

	// The ids, all of them: at most 65,536, 256 KiB.
	im.ids = make([]uint32, 0, s.ids)
	for i := range uint64(s.ids) {
		e, err := im.lookupEntry(&ids, i)
		if err != nil {
			return err
		}
		im.ids = append(im.ids, binary.LittleEndian.Uint32(e))
	}
	return nil
}

// openXattrs checks the xattr id table: a header {key-value area start,
// count, unused} at start, the index of the id entries' metadata blocks
// right after it, ending at the end of the image, and the blocks before
// the header. It returns where the key-value area starts, which is where
// the id table must end. The attributes themselves are not read.
func (im *Image) openXattrs(start uint64) (uint64, error) {
	var h [16]byte
	if err := im.readAt(h[:], start, "the xattr id table"); err != nil {
		return 0, err
	}
	le := binary.LittleEndian
	kv, n := le.Uint64(h[:]), le.Uint32(h[8:])
	if n == 0 {
		return 0, corrupt("xattr id table at %d (superblock offset 56) with no ids", start)
	}
	t, err := im.openLookup("xattr id table", start+16, uint64(n), 16, im.sb.bytesUsed, true, start)
	if err != nil {
		return 0, err
	}
	if kv < im.dataStart || kv >= t.blocks[0] {
		return 0, corrupt("xattr id table at %d: its key-value area at %d does not lie before its blocks at %d", start, kv, t.blocks[0])
	}
	im.xattrIDs, im.hasXattr = n, true
	return kv, nil
}

// readAt reads len(p) bytes at off, which must lie within the bytes used.
func (im *Image) readAt(p []byte, off uint64, what string) error {
	if off > im.sb.bytesUsed || uint64(len(p)) > im.sb.bytesUsed-off {
		return corrupt("%s: %d bytes at %d, past the end of the image at %d", what, len(p), off, im.sb.bytesUsed)
	}
	n, err := im.r.ReadAt(p, int64(off))
	if n == len(p) {
		return nil
	}
	if err == nil || err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return fmt.Errorf("squashfs: reading %s (%d bytes at %d): %w", what, len(p), off, err)
}

// Info describes the image.
func (im *Image) Info() Info {
	return Info{
		Compression: im.algo,
		BlockSize:   int(im.sb.blockSize),
		Inodes:      im.sb.inodes,
		Fragments:   im.sb.fragments,
		IDs:         int(im.sb.ids),
		Mtime:       time.Unix(int64(im.sb.mkfsTime), 0),
		BytesUsed:   int64(im.sb.bytesUsed),
		Exportable:  im.export != nil,
		Xattrs:      im.hasXattr,
	}
}

// Root returns the root directory.
func (im *Image) Root() *Inode { return im.root }

// Inode returns the inode numbered ino, from 1 to Info().Inodes, through
// the export table: a FUSE server or an NFS export can keep inode numbers
// instead of inodes. An image without an export table gives an error
// wrapping errors.ErrUnsupported.
func (im *Image) Inode(ino uint32) (*Inode, error) {
	if im.export == nil {
		return nil, fmt.Errorf("squashfs: finding inode %d by number: the image has no export table: %w", ino, errors.ErrUnsupported)
	}
	if ino == 0 || ino > im.sb.inodes {
		return nil, fmt.Errorf("squashfs: inode number %d is not in 1..%d", ino, im.sb.inodes)
	}
	ref, err := im.exportRef(ino)
	if err != nil {
		return nil, err
	}
	return im.inode(ref)
}

// exportRef returns the export table's reference for inode number ino.
func (im *Image) exportRef(ino uint32) (uint64, error) {
	e, err := im.lookupEntry(im.export, uint64(ino-1))
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(e), nil
}

// checkNumber makes sure that no two directories have one inode number:
// with the export table, whose entry for the number must be the inode's
// reference; without one, against the directories read before. With the
// parent checks of Inode.child, it is what rules out directory cycles (see
// the package comment).
func (im *Image) checkNumber(n *Inode) error {
	if im.export != nil {
		ref, err := im.exportRef(n.ino)
		if err != nil {
			return err
		}
		if ref != n.ref {
			return corrupt("%s has inode number %d, which the export table gives to the inode at %s",
				im.inodes.refString(n.ref), n.ino, im.inodes.refString(ref))
		}
		return nil
	}
	if !n.IsDir() {
		return nil
	}
	im.dirMu.Lock()
	defer im.dirMu.Unlock()
	if im.dirRefs == nil {
		im.dirRefs = make(map[uint32]uint64)
	}
	if ref, ok := im.dirRefs[n.ino]; ok && ref != n.ref {
		return corrupt("directories at %s and %s have the same inode number %d", im.inodes.refString(ref), im.inodes.refString(n.ref), n.ino)
	}
	im.dirRefs[n.ino] = n.ref
	return nil
}

// id returns the id at index i of the id table.
func (im *Image) id(i uint16) (uint32, bool) {
	if int(i) >= len(im.ids) {
		return 0, false
	}
	return im.ids[i], true
}
