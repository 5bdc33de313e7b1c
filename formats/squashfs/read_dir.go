package squashfs

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
)

// DirEntry is an entry of a directory: a name, and the number, type and
// place of the inode it names. It implements fs.DirEntry.
type DirEntry struct {
	dir  *Inode
	name string
	ref  uint64
	ino  uint32
	typ  uint16 // basic type
}

var _ fs.DirEntry = (*DirEntry)(nil)

// Name returns the entry's name.
func (e *DirEntry) Name() string { return e.name }

// IsDir says whether the entry names a directory.
func (e *DirEntry) IsDir() bool { return e.typ == typeDir }

// Type returns the type bits of the inode the entry names, as the entry
// records them (Inode checks that the inode agrees).
func (e *DirEntry) Type() fs.FileMode { return typeMode(e.typ) }

// Ino returns the inode number of the inode the entry names, as the entry
// records it.
func (e *DirEntry) Ino() uint32 { return e.ino }

// Info returns the inode's attributes.
func (e *DirEntry) Info() (fs.FileInfo, error) {
	n, err := e.Inode()
	if err != nil {
		return nil, err
	}
	return fileInfo{e.name, n}, nil
}

// Inode reads the inode the entry names, and checks that it is the one the
// entry describes.
func (e *DirEntry) Inode() (*Inode, error) { return e.dir.child(e) }

func (e *DirEntry) String() string { return fs.FormatDirEntry(e) }

// child reads the inode of an entry of directory d and checks it against
// the entry: its number and type, and, for a directory, that its parent
// is d and that it is not the root. With checkNumber (one inode per
// number) that keeps the directories a tree: a cycle would need a
// directory listed in two others, with one parent number.
func (d *Inode) child(e *DirEntry) (*Inode, error) {
	im := d.im
	where := func() string { return fmt.Sprintf("entry %q of directory %d", e.name, d.ino) }
	if e.ref == im.sb.rootInode {
		return nil, corrupt("%s names the root directory", where())
	}
	n, err := im.inode(e.ref)
	if err != nil {
		return nil, fmt.Errorf("%w (%s)", err, where())
	}
	switch {
	case n.ino != e.ino:
		return nil, corrupt("%s says inode %d, but the inode at %s is %d", where(), e.ino, im.inodes.refString(e.ref), n.ino)
	case basic(n.typ) != e.typ:
		return nil, corrupt("%s says a %s, but inode %d is a %s", where(), typeName(e.typ), n.ino, typeName(n.typ))
	case n.IsDir() && n.parent != d.ino:
		return nil, corrupt("%s is directory %d, whose parent is %d", where(), n.ino, n.parent)
	}
	return n, nil
}

// listing reads a directory's listing: runs of entries, each behind a
// header that gives the inode table block of their inodes and the number
// their inode numbers are deltas from.
type listing struct {
	d     *Inode
	r     metaReader
	at    uint64 // offset in the listing of the next byte
	end   uint64 // the listing's size
	count uint32 // entries left in the run
	block uint32 // the run's inode table block
	base  uint32 // the run's reference inode number
	// index holds the index entries not checked yet, when the whole
	// listing is read: each must be at a header, with its first name.
	index []dirIndex
	err   error // sticky

	// The entry read last, its name in a buffer of the listing's own,
	// and the name before it.
	name, prev []byte
	buf        [2][64]byte // where name and prev start
	ref        uint64
	ino        uint32
	typ        uint16
}

// listing returns a reader of d's listing from offset at, where a header
// must start. check says whether to check the index against the headers.
func (d *Inode) listing(at uint64, check bool) *listing {
	l := &listing{d: d, r: d.im.metaReader(&d.im.dirs, d.dirPos+at), at: at, end: d.size - 3}
	l.name, l.prev = l.buf[0][:0], l.buf[1][:0]
	if check {
		l.index = d.index
	}
	return l
}

// next reads the next entry into l, or returns io.EOF at the end.
func (l *listing) next() error {
	if l.err == nil {
		l.err = l.read()
	}
	return l.err
}

// entry returns the entry read last.
func (l *listing) entry() *DirEntry {
	return &DirEntry{dir: l.d, name: string(l.name), ref: l.ref, ino: l.ino, typ: l.typ}
}

func (l *listing) read() error {
	im, d := l.d.im, l.d
	le := binary.LittleEndian
	bad := func(format string, args ...any) error {
		return corrupt("the listing of directory %d, at %d of its %d bytes (%s): %s", d.ino, l.at, l.end,
			im.dirs.posString(d.dirPos+l.at), fmt.Sprintf(format, args...))
	}
	read := func(n uint64) ([]byte, error) {
		if n > l.end-l.at {
			return nil, bad("%d more bytes wanted, past its end", n)
		}
		b, err := l.r.read(int(n))
		if err != nil {
			return nil, fmt.Errorf("%w (the listing of directory %d)", err, d.ino)
		}
		l.at += n
		return b, nil
	}
	var first *dirIndex // the index entry of the header just read
	if l.count == 0 {
		if l.at == l.end {
			if len(l.index) > 0 {
				return bad("directory index entry at %d (%q) names no header", l.index[0].off, l.index[0].name)
			}
			return io.EOF
		}
		hdrAt := l.at
		b, err := read(dirHeader)
		if err != nil {
			return err
		}
		count, start, base := le.Uint32(b)+1, le.Uint32(b[4:]), le.Uint32(b[8:])
		if count > dirRun {
			return bad("a header of %d entries, more than %d", count, dirRun)
		}
		if _, ok := im.inodes.blockAt(uint64(start)); !ok {
			return bad("a header for inodes in the block at %d of the inode table, where no metadata block starts", start)
		}
		l.count, l.block, l.base = count, start, base
		if len(l.index) > 0 && uint64(l.index[0].off) < hdrAt {
			return bad("directory index entry at %d (%q) names no header", l.index[0].off, l.index[0].name)
		}
		if len(l.index) > 0 && uint64(l.index[0].off) == hdrAt {
			first = &l.index[0]
			l.index = l.index[1:]
		}
	}
	b, err := read(dirEntry)
	if err != nil {
		return err
	}
	off, delta, typ, size := le.Uint16(b), int16(le.Uint16(b[2:])), le.Uint16(b[4:]), uint64(le.Uint16(b[6:]))+1
	ino := int64(l.base) + int64(delta)
	switch {
	case off >= metaSize:
		return bad("an inode at offset %d of a metadata block", off)
	case typ < typeDir || typ > typeSocket:
		return bad("entry type %d is not a basic type, 1 to 7", typ)
	case size > maxIndexName:
		return bad("a name of %d bytes", size)
	case ino < 1 || ino > int64(im.sb.inodes):
		return bad("inode number %d (%d%+d) is not in 1..%d", ino, l.base, delta, im.sb.inodes)
	}
	if b, err = read(size); err != nil {
		return err
	}
	l.prev, l.name = l.name, append(l.prev[:0], b...)
	if err := checkReadName(l.name); err != nil {
		return bad("%v", err)
	}
	if first != nil && first.name != string(l.name) {
		return bad("directory index entry at %d names %q, but the header's first entry is %q", first.off, first.name, l.name)
	}
	if len(l.prev) > 0 && bytes.Compare(l.name, l.prev) <= 0 {
		return bad("%q comes after %q: names are not in order", l.name, l.prev)
	}
	l.count--
	l.ref, l.ino, l.typ = uint64(l.block)<<16|uint64(off), uint32(ino), typ
	return nil
}

// errNotDir is the error of a directory operation on another inode.
var errNotDir = errors.New("not a directory")

// Lookup returns the inode that name, a single file name, names in
// directory d, or an error wrapping fs.ErrNotExist. In a directory with an
// index, it reads only the run of the listing where the name would be,
// as the kernel does.
func (d *Inode) Lookup(name string) (*Inode, error) {
	e, err := d.lookup(name)
	if err != nil {
		return nil, err
	}
	return d.child(e)
}

func (d *Inode) lookup(name string) (*DirEntry, error) {
	if !d.IsDir() {
		return nil, fmt.Errorf("squashfs: looking up %q in %s: %w", name, d, errNotDir)
	}
	if d.size == 3 {
		return nil, fs.ErrNotExist
	}
	// The last index entry whose name is not greater.
	var at uint64
	if i := sort.Search(len(d.index), func(i int) bool { return d.index[i].name > name }); i > 0 {
		at = uint64(d.index[i-1].off)
	}
	l := d.listing(at, false)
	for {
		err := l.next()
		if err == io.EOF {
			return nil, fs.ErrNotExist
		}
		if err != nil {
			return nil, err
		}
		switch c := strings.Compare(string(l.name), name); {
		case c == 0:
			return l.entry(), nil
		case c > 0:
			return nil, fs.ErrNotExist
		}
	}
}

// Dir is an open directory: its entries, in order, one after the other.
// It implements fs.ReadDirFile. A Dir is not safe for concurrent use.
type Dir struct {
	n      *Inode
	name   string
	l      *listing
	closed bool
}

var _ fs.ReadDirFile = (*Dir)(nil)

// OpenDir opens a directory to read its entries.
func (n *Inode) OpenDir() (*Dir, error) { return n.openDir("") }

func (n *Inode) openDir(name string) (*Dir, error) {
	if !n.IsDir() {
		return nil, fmt.Errorf("squashfs: opening %s: %w", n, errNotDir)
	}
	return &Dir{n: n, name: name, l: n.listing(0, true)}, nil
}

// Next returns the next entry, or io.EOF after the last. The whole listing
// is checked as it is read, its index too.
func (d *Dir) Next() (*DirEntry, error) {
	if d.closed {
		return nil, fs.ErrClosed
	}
	if err := d.l.next(); err != nil {
		return nil, err
	}
	return d.l.entry(), nil
}

// ReadDir returns the next count entries, or all that are left if count
// is 0 or less, as fs.ReadDirFile says.
func (d *Dir) ReadDir(count int) ([]fs.DirEntry, error) {
	var list []fs.DirEntry
	for count <= 0 || len(list) < count {
		e, err := d.Next()
		if err == io.EOF {
			if count > 0 && len(list) == 0 {
				return nil, io.EOF
			}
			return list, nil
		}
		if err != nil {
			return list, &fs.PathError{Op: "readdir", Path: d.name, Err: err}
		}
		list = append(list, e)
	}
	return list, nil
}

// Stat returns the directory's attributes.
func (d *Dir) Stat() (fs.FileInfo, error) { return fileInfo{d.name, d.n}, nil }

// Inode returns the directory's inode.
func (d *Dir) Inode() *Inode { return d.n }

// Read fails: d is a directory.
func (d *Dir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

// Close closes the directory.
func (d *Dir) Close() error {
	d.closed = true
	return nil
}
