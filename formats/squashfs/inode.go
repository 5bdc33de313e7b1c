package squashfs

import (
	"encoding/binary"
	"fmt"
	"math"
	"strings"

	"github.com/gpack/gpack/pack"
)

// Inode types. Directory entries always carry the basic type.
const (
	typeDir     = 1
	typeFile    = 2
	typeSymlink = 3
	typeExtDir  = 8
	typeExtFile = 9
)

// Limits of the format, or of the kernel where it is stricter.
const (
	// maxName is NAME_MAX. The format could hold 256 bytes, but no Linux
	// file system call takes a longer name than 255.
	maxName = 255
	// maxTarget is the longest symlink target: symlink(2) takes at most
	// PATH_MAX (4096) bytes with the NUL, and the kernel's squashfs
	// refuses a target longer than a page anyway.
	maxTarget = 4095
	// maxBlocks: the kernel indexes a file's blocks with an int
	// (read_blocklist in fs/squashfs/file.c).
	maxBlocks = math.MaxInt32
)

// node is an inode of the image: the root, a directory, a file (with all
// its hard links) or a symlink.
type node struct {
	entry    *pack.Entry // nil for the root
	kind     pack.Kind   // Dir, File or Symlink
	parent   int32       // the directory that holds the node's first name
	children []child     // of a directory, in name order
	subdirs  uint32      // of a directory
	nlink    uint32      // of a file: 1 + its hard links
	ino      uint32      // inode number, 1..count, in the order inodes are written
	ref      uint64      // inode reference, once written
	data     *dataRec    // of a file
}

// child is a directory entry.
type child struct {
	name string
	node int32
	link bool // a hard link: the node's inode is written where its first name is
}

// tree is a pack.Tree turned into inodes.
type tree struct {
	nodes []node
	// order is the order in which inodes are written and numbered: each
	// directory after everything below it, since its listing needs their
	// references, and the other nodes in tree order. The root is last.
	order []int32
	// files maps the tree's File entries, in order, to their nodes.
	files []int32
}

// buildTree checks that every entry fits the format and turns the entries
// into inodes and directory listings. It reads no file, so a tree the
// format cannot hold is refused before anything is written.
func buildTree(t *pack.Tree, blockSize int) (*tree, error) {
	tr := &tree{nodes: make([]node, 1, len(t.Entries)+1)}
	tr.nodes[0] = node{kind: pack.Dir, parent: 0}
	byPath := make(map[string]int32, len(t.Entries))
	maxSize := int64(maxBlocks) * int64(blockSize)
	for i := range t.Entries {
		e := &t.Entries[i]
		dir, name := "", e.Path
		if j := strings.LastIndexByte(e.Path, '/'); j >= 0 {
			dir, name = e.Path[:j], e.Path[j+1:]
		}
		if err := checkName(name); err != nil {
			return nil, fmt.Errorf("squashfs: %s: %w", e.Path, err)
		}
		parent := int32(0)
		if dir != "" {
			p, ok := byPath[dir]
			if !ok || tr.nodes[p].kind != pack.Dir {
				return nil, fmt.Errorf("squashfs: %s: its parent %s is not an earlier directory", e.Path, dir)
			}
			parent = p
		}
		if e.Kind == pack.HardLink {
			n, ok := byPath[e.Target]
			if !ok || tr.nodes[n].kind != pack.File {
				return nil, fmt.Errorf("squashfs: %s: hard link to %s, which is not an earlier file", e.Path, e.Target)
			}
			tr.nodes[n].nlink++
			tr.nodes[parent].children = append(tr.nodes[parent].children, child{name: name, node: n, link: true})
			continue
		}
		switch e.Kind {
		case pack.Dir:
			tr.nodes[parent].subdirs++
		case pack.File:
			if e.Size > maxSize {
				return nil, fmt.Errorf("squashfs: %s: %d bytes is more than a file can hold in an image with %d-byte blocks (%d); use larger blocks",
					e.Path, e.Size, blockSize, maxSize)
			}
		case pack.Symlink:
			switch {
			case len(e.Target) > maxTarget:
				return nil, fmt.Errorf("squashfs: %s: symlink target of %d bytes is longer than Linux allows (%d)", e.Path, len(e.Target), maxTarget)
			case e.Target == "" || strings.IndexByte(e.Target, 0) >= 0:
				return nil, fmt.Errorf("squashfs: %s: symlink target %q is empty or holds a NUL byte", e.Path, e.Target)
			}
		default:
			return nil, fmt.Errorf("squashfs: %s: unknown kind %s", e.Path, e.Kind)
		}
		n := int32(len(tr.nodes))
		tr.nodes = append(tr.nodes, node{entry: e, kind: e.Kind, parent: parent, nlink: 1})
		tr.nodes[parent].children = append(tr.nodes[parent].children, child{name: name, node: n})
		byPath[e.Path] = n
		if e.Kind == pack.File {
			tr.files = append(tr.files, n)
		}
	}
	for i := range tr.nodes {
		if c := tr.nodes[i].children; len(c) > 1 {
			for k := 1; k < len(c); k++ {
				// Readers stop a lookup at the first name greater
				// than the one sought: names must be in byte order.
				if c[k-1].name >= c[k].name {
					return nil, fmt.Errorf("squashfs: %q comes after %q in a directory: entries are not sorted", c[k].name, c[k-1].name)
				}
			}
		}
	}
	tr.number()
	return tr, nil
}

// checkName checks one path component.
func checkName(name string) error {
	switch {
	case name == "" || name == "." || name == "..":
		return fmt.Errorf("%q is not a file name", name)
	case len(name) > maxName:
		return fmt.Errorf("name of %d bytes is longer than %d", len(name), maxName)
	case strings.IndexByte(name, 0) >= 0:
		return fmt.Errorf("name %q holds a NUL byte", name)
	case strings.IndexByte(name, '/') >= 0:
		return fmt.Errorf("name %q holds a slash", name)
	}
	return nil
}

// number fills order and the inode numbers.
func (tr *tree) number() {
	tr.order = make([]int32, 0, len(tr.nodes))
	var visit func(d int32)
	visit = func(d int32) {
		for _, c := range tr.nodes[d].children {
			switch {
			case c.link:
			case tr.nodes[c.node].kind == pack.Dir:
				visit(c.node)
			default:
				tr.order = append(tr.order, c.node)
			}
		}
		tr.order = append(tr.order, d)
	}
	visit(0)
	for i, n := range tr.order {
		tr.nodes[n].ino = uint32(i + 1)
	}
}

// inodeHeader appends the header every inode starts with. Every inode is
// owned by root: uid and gid are both index 0 of the id table, which holds
// 0.
func inodeHeader(b []byte, typ uint16, mode uint16, mtime, ino uint32) []byte {
	le := binary.LittleEndian
	b = le.AppendUint16(b, typ)
	b = le.AppendUint16(b, mode)
	b = le.AppendUint16(b, 0) // uid index
	b = le.AppendUint16(b, 0) // gid index
	b = le.AppendUint32(b, mtime)
	return le.AppendUint32(b, ino)
}

// fileInode appends a file's inode. It is a basic one unless the file
// needs the extended one, as mksquashfs decides: a size or start that
// needs 64 bits, hard links, or sparse blocks.
func fileInode(b []byte, n *node, mtime uint32) []byte {
	le := binary.LittleEndian
	d := n.data.resolve()
	size := uint64(n.entry.Size)
	mode := uint16(n.entry.Mode)
	if size <= math.MaxUint32 && d.start <= math.MaxUint32 && n.nlink == 1 && d.sparse == 0 {
		b = inodeHeader(b, typeFile, mode, mtime, n.ino)
		b = le.AppendUint32(b, uint32(d.start))
		b = le.AppendUint32(b, d.frag)
		b = le.AppendUint32(b, d.fragOff)
		b = le.AppendUint32(b, uint32(size))
	} else {
		b = inodeHeader(b, typeExtFile, mode, mtime, n.ino)
		b = le.AppendUint64(b, d.start)
		b = le.AppendUint64(b, size)
		// The kernel computes the blocks a file takes as
		// ((size - sparse - 1) >> 9) + 1 in unsigned arithmetic: a
		// sparse count equal to the size would wrap around. mksquashfs
		// records size - 1 for a file that is all holes, and so do we.
		b = le.AppendUint64(b, min(d.sparse, size-1))
		b = le.AppendUint32(b, n.nlink)
		b = le.AppendUint32(b, d.frag)
		b = le.AppendUint32(b, d.fragOff)
		b = le.AppendUint32(b, noXattr)
	}
	for _, w := range d.sizes {
		b = le.AppendUint32(b, w)
	}
	return b
}

// symlinkInode appends a symlink's inode. A symlink has no hard links
// (the tree cannot make one) and no xattrs, so it is always basic.
func symlinkInode(b []byte, n *node, mtime uint32) []byte {
	le := binary.LittleEndian
	b = inodeHeader(b, typeSymlink, uint16(n.entry.Mode), mtime, n.ino)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, uint32(len(n.entry.Target)))
	return append(b, n.entry.Target...)
}

// basicType is the type a directory entry records for n.
func basicType(n *node) uint16 {
	switch n.kind {
	case pack.Dir:
		return typeDir
	case pack.Symlink:
		return typeSymlink
	}
	return typeFile
}
