package squashfs

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io/fs"
	"strings"
	"time"
)

// The inode types the writer does not make.
const (
	typeBlockDev    = 4
	typeCharDev     = 5
	typeFifo        = 6
	typeSocket      = 7
	typeExtSymlink  = 10
	typeExtBlockDev = 11
	typeExtCharDev  = 12
	typeExtFifo     = 13
	typeExtSocket   = 14
)

// basic returns the basic type of an inode type: what directory entries
// record.
func basic(typ uint16) uint16 {
	if typ > 7 {
		return typ - 7
	}
	return typ
}

// typeName names an inode type, for errors.
func typeName(typ uint16) string {
	switch basic(typ) {
	case typeDir:
		return "directory"
	case typeFile:
		return "regular file"
	case typeSymlink:
		return "symlink"
	case typeBlockDev:
		return "block device"
	case typeCharDev:
		return "character device"
	case typeFifo:
		return "fifo"
	case typeSocket:
		return "socket"
	}
	return fmt.Sprintf("type %d", typ)
}

// Inode is an inode of an image: a directory, a regular file, a symlink, a
// device, a fifo or a socket, with its attributes. It is read, and
// checked, when it is looked up, and does not change after: it is safe
// for concurrent use. Hard links are entries with the same inode.
type Inode struct {
	im    *Image
	ref   uint64 // where it is: inode table block << 16 | offset
	typ   uint16
	perm  uint16 // permissions, setuid, setgid, sticky
	uid   uint32
	gid   uint32
	mtime uint32
	ino   uint32
	nlink uint32
	size  uint64 // file: its size; directory: listing + 3; symlink: the target's length
	xattr uint32

	// Regular files.
	start   uint64 // first data block
	frag    uint32 // fragment holding the tail, or noFragment
	fragOff uint32
	sparse  uint64
	nblocks uint64 // full blocks, and the last one when there is no fragment
	list    uint64 // position of the block sizes in the inode table

	// Directories.
	dirPos uint64 // position of the listing in the directory table
	parent uint32
	index  []dirIndex

	target string // symlinks
	rdev   uint32 // devices
}

// dirIndex is a directory index entry: the position of a header in the
// listing, and its first name.
type dirIndex struct {
	off  uint32
	name string
}

// inode reads and checks the inode at ref.
func (im *Image) inode(ref uint64) (*Inode, error) {
	p, err := im.inodes.pos(ref)
	if err != nil {
		return nil, err
	}
	n := &Inode{im: im, ref: ref}
	r := im.metaReader(&im.inodes, p)
	if err := n.parse(&r); err != nil {
		return nil, err
	}
	if err := im.checkNumber(n); err != nil {
		return nil, err
	}
	return n, nil
}

// maxIndexName bounds a directory entry's (or index entry's) name, as the
// format does: its length is stored less one in 8 (16) bits, and the
// kernel refuses more than 256.
const maxIndexName = 256

// parse reads the inode from r, checking each field.
func (n *Inode) parse(r *metaReader) error {
	im := n.im
	le := binary.LittleEndian
	bad := func(format string, args ...any) error {
		return corrupt("the inode at %s: %s", im.inodes.refString(n.ref), fmt.Sprintf(format, args...))
	}
	read := func(k int) ([]byte, error) {
		b, err := r.read(k)
		if err != nil {
			return nil, fmt.Errorf("%w (reading the inode at %s)", err, im.inodes.refString(n.ref))
		}
		return b, nil
	}
	b, err := read(16)
	if err != nil {
		return err
	}
	n.typ, n.perm, n.mtime, n.ino = le.Uint16(b), le.Uint16(b[2:]), le.Uint32(b[8:]), le.Uint32(b[12:])
	uidIdx, gidIdx := le.Uint16(b[4:]), le.Uint16(b[6:])
	var ok bool
	switch {
	case n.typ < typeDir || n.typ > typeExtSocket:
		return bad("type %d is not one of squashfs's 1 to 14", n.typ)
	case n.perm&^0o7777 != 0:
		return bad("mode %#o has bits beyond the permissions", n.perm)
	case n.ino == 0 || n.ino > im.sb.inodes:
		return bad("inode number %d is not in 1..%d", n.ino, im.sb.inodes)
	}
	if n.uid, ok = im.id(uidIdx); !ok {
		return bad("owner index %d, but the id table has %d ids", uidIdx, len(im.ids))
	}
	if n.gid, ok = im.id(gidIdx); !ok {
		return bad("group index %d, but the id table has %d ids", gidIdx, len(im.ids))
	}
	n.xattr = noXattr
	n.frag = noFragment

	bs := uint64(im.sb.blockSize)
	var start uint32
	var offset uint16
	var icount int
	switch n.typ {
	case typeDir:
		if b, err = read(16); err != nil {
			return err
		}
		start, n.nlink, n.size, offset, n.parent = le.Uint32(b), le.Uint32(b[4:]), uint64(le.Uint16(b[8:])), le.Uint16(b[10:]), le.Uint32(b[12:])
	case typeExtDir:
		if b, err = read(24); err != nil {
			return err
		}
		n.nlink, n.size, start, n.parent = le.Uint32(b), uint64(le.Uint32(b[4:])), le.Uint32(b[8:]), le.Uint32(b[12:])
		icount, offset, n.xattr = int(le.Uint16(b[16:])), le.Uint16(b[18:]), le.Uint32(b[20:])
	case typeFile:
		if b, err = read(16); err != nil {
			return err
		}
		n.start, n.frag, n.fragOff, n.size = uint64(le.Uint32(b)), le.Uint32(b[4:]), le.Uint32(b[8:]), uint64(le.Uint32(b[12:]))
		n.nlink = 1
	case typeExtFile:
		if b, err = read(40); err != nil {
			return err
		}
		n.start, n.size, n.sparse = le.Uint64(b), le.Uint64(b[8:]), le.Uint64(b[16:])
		n.nlink, n.frag, n.fragOff, n.xattr = le.Uint32(b[24:]), le.Uint32(b[28:]), le.Uint32(b[32:]), le.Uint32(b[36:])
	case typeSymlink, typeExtSymlink:
		if b, err = read(8); err != nil {
			return err
		}
		n.nlink, n.size = le.Uint32(b), uint64(le.Uint32(b[4:]))
		if n.size == 0 || n.size > maxTarget {
			return bad("symlink target of %d bytes: Linux takes 1 to %d", n.size, maxTarget)
		}
		if b, err = read(int(n.size)); err != nil {
			return err
		}
		n.target = string(b)
		if strings.IndexByte(n.target, 0) >= 0 {
			return bad("symlink target %q holds a NUL byte", n.target)
		}
		if n.typ == typeExtSymlink {
			if b, err = read(4); err != nil {
				return err
			}
			n.xattr = le.Uint32(b)
		}
	case typeBlockDev, typeCharDev, typeExtBlockDev, typeExtCharDev:
		k := 8
		if n.typ > 7 {
			k = 12
		}
		if b, err = read(k); err != nil {
			return err
		}
		n.nlink, n.rdev = le.Uint32(b), le.Uint32(b[4:])
		if k == 12 {
			n.xattr = le.Uint32(b[8:])
		}
	case typeFifo, typeSocket, typeExtFifo, typeExtSocket:
		k := 4
		if n.typ > 7 {
			k = 8
		}
		if b, err = read(k); err != nil {
			return err
		}
		n.nlink = le.Uint32(b)
		if k == 8 {
			n.xattr = le.Uint32(b[4:])
		}
	}
	if n.nlink == 0 {
		return bad("link count 0")
	}
	if n.xattr != noXattr && (!im.hasXattr || n.xattr >= im.xattrIDs) {
		return bad("xattr index %d, but the image has %d xattr ids", n.xattr, im.xattrIDs)
	}

	switch basic(n.typ) {
	case typeDir:
		if n.size < 3 {
			return bad("directory size %d: an empty one is 3 (the kernel's . and ..)", n.size)
		}
		if n.parent > im.sb.inodes+1 {
			return bad("parent inode number %d is not in 1..%d", n.parent, im.sb.inodes+1)
		}
		listing := n.size - 3
		if listing == 0 {
			// Never read: where it points does not matter, as long as
			// it is within the table.
			if uint64(start) > im.dirs.end-im.dirs.start || offset >= metaSize {
				return bad("empty directory at %d+%d, past the directory table", start, offset)
			}
			break
		}
		if n.dirPos, err = im.dirs.pos(uint64(start)<<16 | uint64(offset)); err != nil {
			return fmt.Errorf("%w (the listing of the directory inode at %s)", err, im.inodes.refString(n.ref))
		}
		if n.dirPos+listing > im.dirs.size() {
			return bad("a listing of %d bytes at %s runs past the directory table", listing, im.dirs.posString(n.dirPos))
		}
		// Each index entry names a header of the listing; each header
		// comes with at least one entry, 21 bytes.
		if icount > 0 && uint64(icount) > listing/(dirHeader+dirEntry+1) {
			return bad("%d directory index entries for a listing of %d bytes", icount, listing)
		}
		if err := n.parseIndex(read, bad, icount); err != nil {
			return err
		}
	case typeFile:
		if n.typ == typeExtFile && n.sparse > n.size {
			return bad("%d sparse bytes in a file of %d", n.sparse, n.size)
		}
		tail := n.size % bs
		n.nblocks = n.size / bs
		if n.frag == noFragment {
			if tail != 0 {
				n.nblocks++
			}
		} else {
			switch {
			case n.frag >= im.sb.fragments:
				return bad("fragment %d, but the image has %d", n.frag, im.sb.fragments)
			case tail == 0:
				return bad("a fragment for a file of %d bytes, a whole number of blocks", n.size)
			case uint64(n.fragOff)+tail > bs:
				return bad("a tail of %d bytes at offset %d of a fragment block of %d", tail, n.fragOff, bs)
			}
		}
		if n.nblocks > maxBlocks {
			return bad("a file of %d bytes has %d blocks, more than the kernel reads", n.size, n.nblocks)
		}
		n.list = r.p
		if n.list+4*n.nblocks > im.inodes.size() {
			return bad("the sizes of %d blocks run past the inode table", n.nblocks)
		}
	}
	return nil
}

// parseIndex reads the index of an extended directory and checks it: the
// entries in order of position and name, each at a position in the
// listing that lies in the metadata block it says.
func (n *Inode) parseIndex(read func(int) ([]byte, error), bad func(string, ...any) error, count int) error {
	im := n.im
	le := binary.LittleEndian
	listing := n.size - 3
	for i := range count {
		b, err := read(12)
		if err != nil {
			return err
		}
		off, start, size := le.Uint32(b), le.Uint32(b[4:]), le.Uint32(b[8:])+1
		if size > maxIndexName {
			return bad("directory index entry %d: a name of %d bytes", i, size)
		}
		if b, err = read(int(size)); err != nil {
			return err
		}
		name := string(b)
		if err := checkReadName(b); err != nil {
			return bad("directory index entry %d: %v", i, err)
		}
		if uint64(off) >= listing {
			return bad("directory index entry %d at %d of a listing of %d bytes", i, off, listing)
		}
		if i > 0 {
			prev := n.index[i-1]
			if off <= prev.off || name <= prev.name {
				return bad("directory index entry %d (%d, %q) does not come after entry %d (%d, %q)", i, off, name, i-1, prev.off, prev.name)
			}
		}
		blk, ok := im.dirs.blockAt(uint64(start))
		if !ok || uint64(blk) != (n.dirPos+uint64(off))/metaSize {
			return bad("directory index entry %d (%q) says its header is in the metadata block at %d of the directory table, but it is at %s",
				i, name, start, im.dirs.posString(n.dirPos+uint64(off)))
		}
		n.index = append(n.index, dirIndex{off: off, name: name})
	}
	return nil
}

// checkReadName checks a name read from an image: a name of a directory
// entry must be one that a file system can have, with no way to climb out
// of the directory it is extracted into.
func checkReadName(name []byte) error {
	switch {
	case string(name) == "." || string(name) == "..":
		return fmt.Errorf("the name %q", name)
	case bytes.IndexByte(name, '/') >= 0:
		return fmt.Errorf("the name %q holds a slash", name)
	case bytes.IndexByte(name, 0) >= 0:
		return fmt.Errorf("the name %q holds a NUL byte", name)
	}
	return nil
}

// Ino returns the inode number, from 1 to Info().Inodes.
func (n *Inode) Ino() uint32 { return n.ino }

// Mode returns the type and permission bits as io/fs has them.
func (n *Inode) Mode() fs.FileMode {
	m := fs.FileMode(n.perm & 0o777)
	if n.perm&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n.perm&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n.perm&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m | typeMode(n.typ)
}

// typeMode is the io/fs type of an inode or entry type.
func typeMode(typ uint16) fs.FileMode {
	switch basic(typ) {
	case typeDir:
		return fs.ModeDir
	case typeSymlink:
		return fs.ModeSymlink
	case typeBlockDev:
		return fs.ModeDevice
	case typeCharDev:
		return fs.ModeDevice | fs.ModeCharDevice
	case typeFifo:
		return fs.ModeNamedPipe
	case typeSocket:
		return fs.ModeSocket
	}
	return 0
}

// UnixMode returns the mode as stat(2) has it: S_IFMT bits and the
// permissions, setuid, setgid and sticky bits.
func (n *Inode) UnixMode() uint32 {
	ifmt := [8]uint32{typeDir: 0o040000, typeFile: 0o100000, typeSymlink: 0o120000, typeBlockDev: 0o060000,
		typeCharDev: 0o020000, typeFifo: 0o010000, typeSocket: 0o140000}[basic(n.typ)]
	return ifmt | uint32(n.perm)
}

// IsDir says whether the inode is a directory.
func (n *Inode) IsDir() bool { return basic(n.typ) == typeDir }

// IsRegular says whether the inode is a regular file.
func (n *Inode) IsRegular() bool { return basic(n.typ) == typeFile }

// Uid returns the owner's user id.
func (n *Inode) Uid() uint32 { return n.uid }

// Gid returns the group id.
func (n *Inode) Gid() uint32 { return n.gid }

// ModTime returns the modification time.
func (n *Inode) ModTime() time.Time { return time.Unix(int64(n.mtime), 0) }

// Nlink returns the link count: the number of names of a file, 2 and the
// number of subdirectories for a directory.
func (n *Inode) Nlink() uint32 { return n.nlink }

// Size returns the length of a regular file's content or a symlink's
// target, and what the kernel reports for a directory (its listing's
// size on disk, plus 3); 0 for other inodes.
func (n *Inode) Size() int64 {
	switch basic(n.typ) {
	case typeFile, typeDir, typeSymlink:
		return int64(n.size)
	}
	return 0
}

// Blocks returns the number of 512-byte blocks stat(2) reports, as the
// kernel computes it: from the size, less the sparse bytes.
func (n *Inode) Blocks() int64 {
	// gensquashfs records a file of holes as all sparse, for which the
	// kernel's sum wraps around; mksquashfs records one byte less.
	if !n.IsRegular() || n.sparse >= n.size {
		return 0
	}
	return int64((n.size-n.sparse-1)>>9) + 1
}

// Rdev returns a device's number as stat(2)'s st_rdev has it.
func (n *Inode) Rdev() uint64 { return uint64(n.rdev) }

// Parent returns a directory's parent's inode number; for the root, one
// more than the number of inodes (mksquashfs's convention).
func (n *Inode) Parent() uint32 { return n.parent }

// Readlink returns a symlink's target.
func (n *Inode) Readlink() (string, error) {
	if basic(n.typ) != typeSymlink {
		return "", fmt.Errorf("squashfs: readlink of a %s: %w", typeName(n.typ), fs.ErrInvalid)
	}
	return n.target, nil
}

// String describes the inode, for errors: "directory 12 at offset
// 123456+88".
func (n *Inode) String() string {
	return fmt.Sprintf("%s %d at %s", typeName(n.typ), n.ino, n.im.inodes.refString(n.ref))
}
