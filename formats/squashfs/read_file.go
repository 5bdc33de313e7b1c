package squashfs

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
)

// markEvery is how far apart, in blocks, a File keeps the offsets of its
// blocks: finding block i adds up the sizes of at most markEvery-1 blocks
// before it, read from the inode table (through the cache), and a file
// keeps 8 bytes per markEvery blocks, whatever its size.
const markEvery = 64

// File is an open regular file of an image. ReadAt is safe for concurrent
// use, and reads through the image's cache, as random access does best
// (a FUSE server reads that way). Read, Seek and WriteTo share a position
// and are not; they read one block at a time into a buffer of the File's
// own, taking a block from the cache when it is there but not adding it,
// so that reading whole files (extracting an image) does not push out
// what other readers use.
type File struct {
	n     *Inode
	name  string
	marks []uint64 // marks[k]: offset in the image of block k*markEvery
	frag  fragEntry
	pos   int64

	buf    []byte // Read's block: block bufIdx
	bufIdx uint64
	bufOK  bool

	closed bool
}

var (
	_ fs.File     = (*File)(nil)
	_ io.ReaderAt = (*File)(nil)
	_ io.Seeker   = (*File)(nil)
	_ io.WriterTo = (*File)(nil)
)

// Open opens a regular file to read its content. It reads the whole list
// of the file's block sizes and checks it: sizes within the block size,
// blocks within the data area, the fragment's entry.
func (n *Inode) Open() (*File, error) { return n.open("") }

func (n *Inode) open(name string) (*File, error) {
	if !n.IsRegular() {
		return nil, fmt.Errorf("squashfs: opening %s as a regular file: %w", n, fs.ErrInvalid)
	}
	im := n.im
	f := &File{n: n, name: name}
	f.marks = make([]uint64, 0, (n.nblocks+markEvery-1)/markEvery)
	r := im.metaReader(&im.inodes, n.list)
	off := n.start
	for i := uint64(0); i < n.nblocks; {
		k := min(n.nblocks-i, 1024)
		b, err := r.read(int(4 * k))
		if err != nil {
			return nil, fmt.Errorf("%w (the block list of %s)", err, n)
		}
		for j := range k {
			if i%markEvery == 0 {
				f.marks = append(f.marks, off)
			}
			w := binary.LittleEndian.Uint32(b[4*j:])
			size, err := f.checkWord(i, w)
			if err != nil {
				return nil, err
			}
			if size > 0 && (off < im.dataStart || off+size > im.sb.inodeTable) {
				return nil, corrupt("block %d of %s at %d+%d lies outside the data area, %d to %d", i, n, off, size, im.dataStart, im.sb.inodeTable)
			}
			off += size
			i++
		}
	}
	if n.frag != noFragment {
		e, err := im.lookupEntry(&im.frags, uint64(n.frag))
		if err != nil {
			return nil, fmt.Errorf("%w (the fragment of %s)", err, n)
		}
		le := binary.LittleEndian
		f.frag = fragEntry{start: le.Uint64(e), word: le.Uint32(e[8:])}
		size := uint64(f.frag.word &^ dataRaw)
		switch {
		case f.frag.word&^(dataRaw|(dataRaw-1)) != 0 || size == 0 || size > uint64(im.sb.blockSize):
			return nil, corrupt("fragment %d (of %s): size word %#x", n.frag, n, f.frag.word)
		case f.frag.start < im.dataStart || f.frag.start+size > im.sb.inodeTable:
			return nil, corrupt("fragment %d (of %s) at %d+%d lies outside the data area, %d to %d", n.frag, n, f.frag.start, size, im.dataStart, im.sb.inodeTable)
		case f.frag.word&dataRaw == 0 && im.sb.flags&flagFragmentsRaw != 0:
			return nil, corrupt("fragment %d (of %s) is compressed, but the superblock says fragments are not", n.frag, n)
		}
	}
	return f, nil
}

// want is the length block i decompresses to.
func (f *File) want(i uint64) uint64 {
	bs := uint64(f.n.im.sb.blockSize)
	if i == f.n.nblocks-1 && f.n.frag == noFragment && f.n.size%bs != 0 {
		return f.n.size % bs
	}
	return bs
}

// checkWord checks the size word of block i and returns the block's size
// on disk.
func (f *File) checkWord(i uint64, w uint32) (uint64, error) {
	if w == 0 {
		return 0, nil // sparse: all zeros, nothing on disk
	}
	size := uint64(w &^ dataRaw)
	switch {
	case w&^(dataRaw|(dataRaw-1)) != 0 || size == 0 || size > uint64(f.n.im.sb.blockSize):
		return 0, corrupt("block %d of %s: size word %#x", i, f.n, w)
	case w&dataRaw != 0 && size != f.want(i):
		return 0, corrupt("block %d of %s: an uncompressed block of %d bytes, want %d", i, f.n, size, f.want(i))
	case w&dataRaw == 0 && f.n.im.sb.flags&flagDataRaw != 0:
		return 0, corrupt("block %d of %s is compressed, but the superblock says data is not", i, f.n)
	}
	return size, nil
}

// cursor walks a file's blocks from block i: its offset and its size word.
type cursor struct {
	f   *File
	r   metaReader
	i   uint64 // the block next returns
	off uint64 // its offset
}

// at returns a cursor at block i, which must be one of the file's.
func (f *File) at(i uint64) (*cursor, error) {
	m := i / markEvery * markEvery
	c := &cursor{f: f, r: f.n.im.metaReader(&f.n.im.inodes, f.n.list+4*m), i: m, off: f.marks[i/markEvery]}
	for c.i < i {
		if _, _, err := c.next(); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// next returns the offset and size word of the cursor's block, and moves
// on to the next block. The sizes were checked by open, and are checked
// again: the metadata may have been read again since, from an image that
// changed.
func (c *cursor) next() (uint64, uint32, error) {
	b, err := c.r.read(4)
	if err != nil {
		return 0, 0, err
	}
	w := binary.LittleEndian.Uint32(b)
	size, err := c.f.checkWord(c.i, w)
	if err != nil {
		return 0, 0, err
	}
	off := c.off
	c.off += size
	c.i++
	return off, w, nil
}

// ReadAt reads len(p) bytes at off, as io.ReaderAt says: fewer only at
// the end of the file, with io.EOF.
func (f *File) ReadAt(p []byte, off int64) (int, error) {
	if f.closed {
		return 0, f.pathErr("read", fs.ErrClosed)
	}
	if off < 0 {
		return 0, f.pathErr("read", errors.New("negative offset"))
	}
	n, err := f.read(p, off, true)
	if err != nil {
		return n, f.pathErr("read", err)
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// Read reads from the file's position.
func (f *File) Read(p []byte) (int, error) {
	if f.closed {
		return 0, f.pathErr("read", fs.ErrClosed)
	}
	if f.pos >= f.Size() {
		return 0, io.EOF
	}
	n, err := f.read(p, f.pos, false)
	f.pos += int64(n)
	if err != nil {
		return n, f.pathErr("read", err)
	}
	return n, nil
}

// Size returns the file's size.
func (f *File) Size() int64 { return int64(f.n.size) }

// read copies the content at off into p, up to the end of the file, with
// the cache (cached) or the File's buffer.
func (f *File) read(p []byte, off int64, cached bool) (int, error) {
	size := f.Size()
	if off >= size || len(p) == 0 {
		return 0, nil
	}
	p = p[:min(int64(len(p)), size-off)]
	bs := int64(f.n.im.sb.blockSize)
	blocksEnd := min(size, int64(f.n.nblocks)*bs)
	n := 0
	var c *cursor
	for pos := off; n < len(p) && pos < blocksEnd; {
		i := uint64(pos / bs)
		if c == nil || c.i != i {
			var err error
			if c, err = f.at(i); err != nil {
				return n, err
			}
		}
		boff, w, err := c.next()
		if err != nil {
			return n, err
		}
		in := pos - int64(i)*bs
		k := min(int64(len(p)-n), int64(f.want(i))-in)
		if w == 0 {
			clear(p[n : n+int(k)])
		} else {
			b, err := f.block(i, boff, w, cached)
			if err != nil {
				return n, err
			}
			copy(p[n:n+int(k)], b[in:])
		}
		n += int(k)
		pos += k
	}
	if n < len(p) {
		// The tail, in the fragment.
		b, err := f.fragment()
		if err != nil {
			return n, err
		}
		in := off + int64(n) - blocksEnd
		copy(p[n:], b[int64(f.n.fragOff)+in:])
		n = len(p)
	}
	return n, nil
}

// block returns the content of block i at off with size word w, which is
// not sparse.
func (f *File) block(i, off uint64, w uint32, cached bool) ([]byte, error) {
	im := f.n.im
	want := f.want(i)
	k := cacheKey{off, w}
	load := func(dst []byte) ([]byte, error) {
		b, err := im.dataBlock(dst, off, w)
		if err != nil {
			return nil, fmt.Errorf("%w (block %d of %s)", err, i, f.n)
		}
		return b, nil
	}
	var b []byte
	var err error
	if cached {
		b, err = im.cache.get(k, &im.cache.data, func() ([]byte, error) { return load(make([]byte, 0, want)) })
	} else if f.bufOK && f.bufIdx == i {
		return f.buf, nil
	} else if b = im.cache.peek(k); b == nil {
		f.bufOK = false
		if cap(f.buf) < int(want) {
			// A block, or less for a small file: a FUSE server may
			// hold many files open.
			f.buf = make([]byte, 0, min(uint64(im.sb.blockSize), f.n.size))
		}
		b, err = load(f.buf[:0:want])
		f.buf, f.bufIdx, f.bufOK = b, i, err == nil
	}
	if err != nil {
		return nil, err
	}
	if uint64(len(b)) != want {
		return nil, corrupt("block %d of %s at %d decompresses to %d bytes, want %d", i, f.n, off, len(b), want)
	}
	return b, nil
}

// fragment returns the file's tail: its fragment block, checked to hold
// it.
func (f *File) fragment() ([]byte, error) {
	im := f.n.im
	k := cacheKey{f.frag.start, f.frag.word}
	load := func() ([]byte, error) {
		b, err := im.dataBlock(make([]byte, 0, im.sb.blockSize), f.frag.start, f.frag.word)
		if err != nil {
			return nil, fmt.Errorf("%w (fragment %d, of %s)", err, f.n.frag, f.n)
		}
		return b, nil
	}
	// Fragments are shared by many files: always worth caching.
	b, err := im.cache.get(k, &im.cache.data, load)
	if err != nil {
		return nil, err
	}
	tail := f.n.size % uint64(im.sb.blockSize)
	if uint64(f.n.fragOff)+tail > uint64(len(b)) {
		return nil, corrupt("the tail of %s, %d bytes at %d of fragment %d, lies past its %d bytes", f.n, tail, f.n.fragOff, f.n.frag, len(b))
	}
	return b, nil
}

// dataBlock reads and decompresses the data or fragment block at off with
// size word w into dst[:0], within cap(dst).
func (im *Image) dataBlock(dst []byte, off uint64, w uint32) ([]byte, error) {
	size := int(w &^ dataRaw)
	if w&dataRaw != 0 {
		if size > cap(dst) {
			return nil, corrupt("an uncompressed block of %d bytes at %d, want at most %d", size, off, cap(dst))
		}
		out := dst[:size]
		if err := im.readAt(out, off, "a data block"); err != nil {
			return nil, err
		}
		return out, nil
	}
	bp := im.src.Get().(*[]byte)
	defer im.src.Put(bp)
	src := (*bp)[:size]
	if err := im.readAt(src, off, "a data block"); err != nil {
		return nil, err
	}
	out, err := im.decompress(dst[:0], src)
	if errors.Is(err, errors.ErrUnsupported) {
		return nil, fmt.Errorf("squashfs: the data block at %d+%d: %w", off, size, err)
	}
	if err != nil {
		return nil, corrupt("the data block at %d+%d: %v", off, size, err)
	}
	return out, nil
}

// zeros is what sparse blocks hold, for WriteTo.
var zeros [MaxBlockSize]byte

// WriteTo writes the file from its position to the end to w, one block at
// a time, with no copy but the decompression.
func (f *File) WriteTo(w io.Writer) (int64, error) {
	if f.closed {
		return 0, f.pathErr("read", fs.ErrClosed)
	}
	size := f.Size()
	bs := int64(f.n.im.sb.blockSize)
	blocksEnd := min(size, int64(f.n.nblocks)*bs)
	var total int64
	var c *cursor
	for f.pos < blocksEnd {
		i := uint64(f.pos / bs)
		if c == nil || c.i != i {
			var err error
			if c, err = f.at(i); err != nil {
				return total, f.pathErr("read", err)
			}
		}
		boff, word, err := c.next()
		if err != nil {
			return total, f.pathErr("read", err)
		}
		in := f.pos - int64(i)*bs
		var b []byte
		if word == 0 {
			b = zeros[:f.want(i)]
		} else if b, err = f.block(i, boff, word, false); err != nil {
			return total, f.pathErr("read", err)
		}
		m, err := w.Write(b[in:])
		total += int64(m)
		f.pos += int64(m)
		if err != nil {
			return total, err
		}
	}
	if f.pos < size {
		b, err := f.fragment()
		if err != nil {
			return total, f.pathErr("read", err)
		}
		in := f.pos - blocksEnd
		tail := size - blocksEnd
		m, err := w.Write(b[int64(f.n.fragOff)+in : int64(f.n.fragOff)+tail])
		total += int64(m)
		f.pos += int64(m)
		if err != nil {
			return total, err
		}
	}
	return total, nil
}

// Seek sets the position of Read and WriteTo.
func (f *File) Seek(offset int64, whence int) (int64, error) {
	if f.closed {
		return 0, f.pathErr("seek", fs.ErrClosed)
	}
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += f.pos
	case io.SeekEnd:
		offset += f.Size()
	default:
		return 0, f.pathErr("seek", fs.ErrInvalid)
	}
	if offset < 0 {
		return 0, f.pathErr("seek", fs.ErrInvalid)
	}
	f.pos = offset
	return offset, nil
}

// Stat returns the file's attributes.
func (f *File) Stat() (fs.FileInfo, error) { return fileInfo{f.name, f.n}, nil }

// Inode returns the file's inode.
func (f *File) Inode() *Inode { return f.n }

// Close closes the file.
func (f *File) Close() error {
	f.closed = true
	f.buf = nil
	return nil
}

func (f *File) pathErr(op string, err error) error {
	return &fs.PathError{Op: op, Path: f.name, Err: err}
}
