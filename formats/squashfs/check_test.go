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
)

// This file reads an image back with the package's reader (Open), which
// checks what any image must get right, and checks on top of it the rules
// of the images gpack writes, which other writers need not follow: an
// image padded to 4 KiB, one id (root), no xattrs, an export table, the
// root last, every inode reachable, basic inodes wherever mksquashfs would
// use them, exact link and sparse counts, lookup tables laid out as
// mksquashfs lays them out, every name found again through the directory
// index.

// readEntry is a file read back from an image.
type readEntry struct {
	Path   string
	Mode   fs.FileMode // type bits and the permission bits as pack.Entry has them (0o4755)
	Size   int64       // file content size
	Target string      // symlink
	Data   []byte      // file content
	Ino    uint32
	Nlink  uint32
	Mtime  uint32
}

// imageStats counts what an image holds, so that tests can make sure that
// their trees reach every case.
type imageStats struct {
	im                                                         *Image
	mkfsTime                                                   uint32
	extFiles, extDirs, indexes, sparseBlocks, rawMeta, rawData int
}

func le16(b []byte) uint16 { return binary.LittleEndian.Uint16(b) }
func le32(b []byte) uint32 { return binary.LittleEndian.Uint32(b) }
func le64(b []byte) uint64 { return binary.LittleEndian.Uint64(b) }

// readImage opens an image, checks it and returns its entries in tree
// order (paths relative to the root, which is not listed).
func readImage(b []byte) ([]readEntry, *imageStats, error) {
	im, err := Open(bytes.NewReader(b), int64(len(b)), ReadOptions{})
	if err != nil {
		return nil, nil, err
	}
	st := &imageStats{im: im, mkfsTime: im.sb.mkfsTime}
	if err := st.checkLayout(len(b)); err != nil {
		return nil, st, err
	}
	c := &checker{st: st, seen: map[uint32]uint64{}}
	root := im.Root()
	if root.ino != im.sb.inodes {
		return nil, st, fmt.Errorf("root inode number %d, want the last, %d", root.ino, im.sb.inodes)
	}
	if root.parent != im.sb.inodes+1 {
		return nil, st, fmt.Errorf("root's parent %d, want inode count + 1 = %d", root.parent, im.sb.inodes+1)
	}
	if err := c.walk("", root); err != nil {
		return nil, st, err
	}
	if uint32(len(c.seen)) != im.sb.inodes {
		return nil, st, fmt.Errorf("%d inodes reachable, superblock says %d", len(c.seen), im.sb.inodes)
	}
	return c.out, st, nil
}

// checkLayout checks the superblock and the tables as gpack lays them out.
func (st *imageStats) checkLayout(size int) error {
	im := st.im
	s := &im.sb
	switch {
	case size%devBlock != 0:
		return fmt.Errorf("image size %d is not a multiple of %d", size, devBlock)
	case size-int(s.bytesUsed) >= devBlock:
		return fmt.Errorf("bytes_used %d, image size %d: more padding than 4 KiB", s.bytesUsed, size)
	case im.hasXattr || s.flags&flagNoXattrs == 0:
		return errors.New("xattr table present or NO_XATTRS flag missing")
	case im.export == nil || s.flags&flagExportable == 0:
		return errors.New("no export table")
	case len(im.ids) != 1 || im.ids[0] != 0:
		return fmt.Errorf("ids %v, want [0]", im.ids)
	case s.fragments == 0 && s.fragTable != im.dirs.end:
		return fmt.Errorf("no fragments, but the fragment table start %d is not the directory table's end %d", s.fragTable, im.dirs.end)
	}
	if s.flags&flagCompOpts != 0 {
		var h [2]byte
		if _, err := im.r.ReadAt(h[:], superblockSize); err != nil {
			return err
		}
		opts := make([]byte, le16(h[:])&^metaRaw)
		if _, err := im.r.ReadAt(opts, superblockSize+2); err != nil {
			return err
		}
		switch im.algo {
		case "gzip":
			if le16(opts[4:]) != 15 || le16(opts[6:]) != 0 {
				return fmt.Errorf("gzip options %x, want window 15 and no strategy", opts)
			}
		case "xz":
			return errors.New("xz options: the writer writes none")
		}
	}
	// The tables' blocks: one after the other, the lookup tables' ending
	// right at their index, flagged uncompressed when the superblock says
	// so.
	for _, t := range []*metaTable{&im.inodes, &im.dirs} {
		for _, off := range t.blocks {
			if err := st.checkMetaHeader(t.start + uint64(off)); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	tables := []*lookupTable{im.export}
	if s.fragments > 0 {
		tables = append(tables, &im.frags)
	}
	for _, t := range tables {
		for k, off := range t.blocks {
			end := t.end
			if k+1 < len(t.blocks) {
				end = t.blocks[k+1]
			}
			var h [2]byte
			if _, err := im.r.ReadAt(h[:], int64(off)); err != nil {
				return err
			}
			if off+2+uint64(le16(h[:])&^metaRaw) != end {
				return fmt.Errorf("%s: block %d at %d does not end where the next begins, at %d", t.name, k, off, end)
			}
			if err := st.checkMetaHeader(off); err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
		}
	}
	for i := range uint64(s.fragments) {
		e, err := im.lookupEntry(&im.frags, i)
		if err != nil {
			return err
		}
		if le32(e[12:]) != 0 {
			return fmt.Errorf("fragment entry %d's unused field is %#x", i, le32(e[12:]))
		}
	}
	return nil
}

// checkMetaHeader checks a metadata block's header against the
// superblock's flags.
func (st *imageStats) checkMetaHeader(off uint64) error {
	var h [2]byte
	if _, err := st.im.r.ReadAt(h[:], int64(off)); err != nil {
		return err
	}
	if le16(h[:])&metaRaw != 0 {
		st.rawMeta++
	} else if st.im.sb.flags&flagInodesRaw != 0 {
		return fmt.Errorf("compressed metadata block at %d in an uncompressed image", off)
	}
	return nil
}

type checker struct {
	st   *imageStats
	seen map[uint32]uint64 // inode number -> reference
	out  []readEntry
}

// see records an inode, which must have one reference.
func (c *checker) see(n *Inode) error {
	if prev, ok := c.seen[n.ino]; ok && prev != n.ref {
		return fmt.Errorf("inode %d at two references", n.ino)
	}
	c.seen[n.ino] = n.ref
	if n.uid != 0 || n.gid != 0 {
		return fmt.Errorf("inode %d owned by %d:%d", n.ino, n.uid, n.gid)
	}
	return nil
}

// walk lists directory d (named dir) and everything below it.
func (c *checker) walk(dir string, d *Inode) error {
	st := c.st
	if err := c.see(d); err != nil {
		return err
	}
	listing := d.size - 3
	switch {
	case d.typ == typeExtDir && len(d.index) == 0 && listing <= metaSize:
		return fmt.Errorf("%s: extended directory inode that a basic one could hold", dir)
	case d.typ == typeDir && listing > metaSize:
		return fmt.Errorf("%s: listing of %d bytes without an index", dir, listing)
	}
	if d.typ == typeExtDir {
		st.extDirs++
	}
	st.indexes += len(d.index)
	od, err := d.OpenDir()
	if err != nil {
		return err
	}
	subdirs := uint32(0)
	for {
		e, err := od.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		// What the kernel finds through the index.
		if got, err := d.lookup(e.name); err != nil || got.ref != e.ref {
			return fmt.Errorf("%s: looking up %q through the index: %v", dir, e.name, err)
		}
		n, err := e.Inode()
		if err != nil {
			return err
		}
		p := path.Join(dir, e.name)
		re := readEntry{Path: p, Ino: n.ino, Nlink: n.nlink, Mtime: n.mtime, Mode: fs.FileMode(n.perm) | n.Mode().Type()}
		switch basic(n.typ) {
		case typeDir:
			subdirs++
			c.out = append(c.out, re)
			if err := c.walk(p, n); err != nil {
				return err
			}
			continue
		case typeSymlink:
			re.Target = n.target
			if n.nlink != 1 || n.typ != typeSymlink {
				return fmt.Errorf("%s: symlink nlink %d, type %d", p, n.nlink, n.typ)
			}
		case typeFile:
			if err := c.see(n); err != nil {
				return err
			}
			data, err := c.readFile(p, n)
			if err != nil {
				return err
			}
			re.Size, re.Data = int64(n.size), data
		default:
			return fmt.Errorf("%s: a %s", p, typeName(n.typ))
		}
		if err := c.see(n); err != nil {
			return err
		}
		c.out = append(c.out, re)
	}
	if d.nlink != 2+subdirs {
		return fmt.Errorf("%s: nlink %d with %d subdirectories", dir, d.nlink, subdirs)
	}
	return nil
}

// readFile reads a file twice, with Read (WriteTo) and with ReadAt, and
// checks its inode's kind and sparse count.
func (c *checker) readFile(p string, n *Inode) ([]byte, error) {
	st := c.st
	if n.typ == typeExtFile {
		st.extFiles++
		if n.size <= math.MaxUint32 && n.start <= math.MaxUint32 && n.nlink == 1 && n.sparse == 0 {
			return nil, fmt.Errorf("%s: extended file inode that a basic one could hold", p)
		}
	}
	f, err := n.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	var sparse uint64
	if n.nblocks > 0 {
		cur, err := f.at(0)
		if err != nil {
			return nil, err
		}
		for i := range n.nblocks {
			_, w, err := cur.next()
			if err != nil {
				return nil, err
			}
			switch {
			case w == 0:
				st.sparseBlocks++
				sparse += f.want(i)
			case w&dataRaw != 0:
				st.rawData++
			}
		}
	}
	if n.size > 0 && min(sparse, n.size-1) != n.sparse {
		return nil, fmt.Errorf("%s: sparse %d bytes, inode says %d", p, sparse, n.sparse)
	}
	var buf bytes.Buffer
	if _, err := io.Copy(&buf, f); err != nil {
		return nil, fmt.Errorf("%s: %w", p, err)
	}
	data := buf.Bytes()
	at := make([]byte, n.size)
	if k, err := f.ReadAt(at, 0); k != len(at) || (err != nil && err != io.EOF) {
		return nil, fmt.Errorf("%s: ReadAt: %d bytes, %v", p, k, err)
	}
	if !bytes.Equal(at, data) {
		return nil, fmt.Errorf("%s: ReadAt and Read differ", p)
	}
	return data, nil
}

// sortEntries sorts by path, for comparisons independent of order.
func sortEntries(e []readEntry) {
	sort.Slice(e, func(i, j int) bool { return e[i].Path < e[j].Path })
}
