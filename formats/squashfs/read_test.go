package squashfs

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"math/rand/v2"
	"path"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// openImage opens an image held in memory.
func openImage(t testing.TB, b []byte, opts ReadOptions) *Image {
	t.Helper()
	im, err := Open(bytes.NewReader(b), int64(len(b)), opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return im
}

// memImage writes tr to memory.
func memImage(t testing.TB, tr *pack.Tree, opts Options) []byte {
	t.Helper()
	var out memOutput
	if err := Write(t.Context(), &out, tr, opts); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// fsTree is fixedTree as io/fs can walk it: every symlink resolves and
// every name is UTF-8; with symlinks to directories, through "..", and
// from the root.
func fsTree(bs int) *pack.Tree {
	t := fixedTree(bs)
	t.Entries = slices.DeleteFunc(t.Entries, func(e pack.Entry) bool { return e.Path == "long-target" || e.Path == "names/\xff" })
	for _, l := range []struct{ path, target string }{
		{"links/dir", "../gnu/store/aaaa-hello"},
		{"links/abs-dir", "/gnu/store/bbbb-other"},
		{"links/chain", "dir/bin/../lib"},
		{"links/up", "../../../../../empty"},
		{"links/file", "../names/a-b"},
	} {
		t.Entries = append(t.Entries, pack.Entry{Path: l.path, Kind: pack.Symlink, Mode: 0o777, Target: l.target})
	}
	t.Entries = append(t.Entries, pack.Entry{Path: "links", Kind: pack.Dir, Mode: 0o755})
	slices.SortFunc(t.Entries, func(a, b pack.Entry) int {
		if pack.Less(a.Path, b.Path) {
			return -1
		}
		return 1
	})
	return t
}

// TestReadFS checks the image as an io/fs file system with
// testing/fstest, for every compressor, with and without a cache.
func TestReadFS(t *testing.T) {
	type c struct {
		algo  compress.Algo
		bs    int
		cache int64
	}
	cases := []c{{compress.Gzip, 128 << 10, 0}, {compress.Gzip, 4 << 10, -1}, {compress.Gzip, 4 << 10, 100 << 10}}
	for _, cc := range codecCases {
		cases = append(cases, c{cc.algo, 4 << 10, 0})
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s-%dk-cache%d", c.algo, c.bs>>10, c.cache), func(t *testing.T) {
			t.Parallel()
			tr := fsTree(c.bs)
			im := openImage(t, memImage(t, tr, Options{Compression: c.algo, BlockSize: c.bs}), ReadOptions{CacheSize: c.cache})
			var names []string
			for _, e := range tr.Entries {
				names = append(names, e.Path)
			}
			if err := fstest.TestFS(im, names...); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestReadAPI checks the reader's own API against a tree: paths, inodes
// by number, symlinks, directory listings, reads at every offset of a
// block's edges, Info.
func TestReadAPI(t *testing.T) {
	bs := 4 << 10
	tr := fsTree(bs)
	b := memImage(t, tr, Options{BlockSize: bs, Compression: compress.Zstd})
	im := openImage(t, b, ReadOptions{})
	info := im.Info()
	if info.Compression != compress.Zstd || info.BlockSize != bs || !info.Exportable || info.Xattrs || info.IDs != 1 ||
		!info.Mtime.Equal(tr.Mtime) || info.BytesUsed > int64(len(b)) || info.Fragments == 0 {
		t.Errorf("Info() = %+v", info)
	}
	inos := map[uint32]bool{}
	for _, w := range wants(tr) {
		n, err := im.Lookup(w.path)
		if err != nil {
			t.Fatal(err)
		}
		if n.Uid() != 0 || n.Gid() != 0 || !n.ModTime().Equal(tr.Mtime) {
			t.Errorf("%s: owner %d:%d, mtime %v", w.path, n.Uid(), n.Gid(), n.ModTime())
		}
		if w.kind == pack.File && n.Size() != w.size {
			t.Errorf("%s: size %d, want %d", w.path, n.Size(), w.size)
		}
		if got := fs.FileMode(n.UnixMode() & 0o7777); got != w.mode {
			t.Errorf("%s: mode %o, want %o", w.path, got, w.mode)
		}
		byNum, err := im.Inode(n.Ino())
		if err != nil || byNum.ref != n.ref {
			t.Errorf("%s: Inode(%d) = %v, %v", w.path, n.Ino(), byNum, err)
		}
		inos[n.Ino()] = true
		switch w.kind {
		case pack.Symlink:
			if got, err := n.Readlink(); err != nil || got != w.target {
				t.Errorf("%s: Readlink = %q, %v", w.path, got, err)
			}
			if got, err := im.ReadLink(w.path); err != nil || got != w.target {
				t.Errorf("%s: ReadLink = %q, %v", w.path, got, err)
			}
		case pack.File:
			checkReads(t, w.path, n, content(t, w.entry), bs)
		}
	}
	if len(inos)+1 != int(info.Inodes) { // and the root
		t.Errorf("%d inode numbers seen, %d inodes", len(inos), info.Inodes)
	}
	if _, err := im.Inode(0); err == nil {
		t.Error("Inode(0) works")
	}
	if _, err := im.Inode(info.Inodes + 1); err == nil {
		t.Error("Inode(count+1) works")
	}

	// Symlinks, followed or not.
	for _, c := range []struct{ name, want string }{
		{"links/dir/bin/hello", "gnu/store/aaaa-hello/bin/hello"},
		{"links/abs-dir/dup2", "gnu/store/bbbb-other/dup2"},
		{"links/chain/dup2", "gnu/store/bbbb-other/dup2"},
		{"links/up", "empty"},
		{"links/file", "names/a-b"},
		{"gnu/store/aaaa-hello/abs", "gnu/store/bbbb-other/dup2"},
	} {
		got, err := im.Stat(c.name)
		if err != nil {
			t.Errorf("Stat(%s): %v", c.name, err)
			continue
		}
		want, _ := im.Lookup(c.want)
		if got.Sys().(*Inode).ref != want.ref {
			t.Errorf("Stat(%s) is not %s", c.name, c.want)
		}
	}
	if fi, err := im.Lstat("links/dir"); err != nil || fi.Mode().Type() != fs.ModeSymlink {
		t.Errorf("Lstat(links/dir) = %v, %v", fi, err)
	}
	for _, name := range []string{"nope", "names/a-b/x", "links/file/x", "/names", "names/", "names/../names", "."} {
		_, err := im.Stat(name)
		if name == "." {
			if err != nil {
				t.Errorf("Stat(.): %v", err)
			}
			continue
		}
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			t.Errorf("Stat(%q) = %v, want a *fs.PathError", name, err)
		}
	}
	if _, err := im.Stat("nope"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat(nope) = %v, want ErrNotExist", err)
	}
	// Not UTF-8: io/fs cannot name it, Lookup can.
	tr2 := fixedTree(bs)
	im2 := openImage(t, memImage(t, tr2, Options{BlockSize: bs}), ReadOptions{})
	if _, err := im2.Stat("names/\xff"); err == nil {
		t.Error("Stat of a name that is not UTF-8 works")
	}
	if n, err := im2.Lookup("names/\xff"); err != nil || n.target != "high byte" {
		t.Errorf("Lookup(names/\\xff) = %v, %v", n, err)
	}
	if _, err := im2.Stat("long-target"); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Stat of a dangling symlink: %v", err)
	}
}

// checkReads reads a file with ReadAt at offsets around block edges, with
// Read in pieces of odd sizes, with Seek and with WriteTo.
func checkReads(t *testing.T, name string, n *Inode, want []byte, bs int) {
	t.Helper()
	f, err := n.Open()
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	defer f.Close()
	size := len(want)
	var offs []int
	for k := 0; k <= size/bs+1; k++ {
		offs = append(offs, k*bs-1, k*bs, k*bs+1)
	}
	for _, off := range offs {
		for _, l := range []int{1, bs - 1, bs + 2, 3 * bs} {
			if off < 0 {
				continue
			}
			p := make([]byte, l)
			k, err := f.ReadAt(p, int64(off))
			start, end := min(off, size), min(off+l, size)
			if k != end-start || !bytes.Equal(p[:k], want[start:end]) {
				t.Fatalf("%s: ReadAt(%d bytes at %d) = %d, %v", name, l, off, k, err)
			}
			if (k < l) != (err == io.EOF) {
				t.Fatalf("%s: ReadAt(%d bytes at %d) = %d, %v: io.EOF iff short", name, l, off, k, err)
			}
		}
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 1000)
	for {
		k, err := f.Read(buf[:1+len(got)%len(buf)])
		got = append(got, buf[:k]...)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: Read in pieces differs", name)
	}
	if size > 3 {
		if _, err := f.Seek(-3, io.SeekEnd); err != nil {
			t.Fatal(err)
		}
		var w bytes.Buffer
		if k, err := f.WriteTo(&w); err != nil || k != 3 || !bytes.Equal(w.Bytes(), want[size-3:]) {
			t.Fatalf("%s: WriteTo from 3 before the end = %d, %v", name, k, err)
		}
	}
}

// readAll reads everything of an image, as an extractor or a FUSE server
// would, within limits (entries, and bytes of each file), and returns the
// first error and a digest of all it read.
func readAll(im *Image, maxEntries int, maxFile int64) ([]byte, error) {
	h := sha256.New()
	entries := 0
	var walk func(dir string, d *Inode) error
	walk = func(dir string, d *Inode) error {
		od, err := d.OpenDir()
		if err != nil {
			return err
		}
		for {
			e, err := od.Next()
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if entries++; entries > maxEntries {
				return nil
			}
			n, err := e.Inode()
			if err != nil {
				return err
			}
			p := path.Join(dir, e.Name())
			fmt.Fprintf(h, "%q %d %o %d %d %d %d %d %d\n", p, n.Ino(), n.UnixMode(), n.Uid(), n.Gid(), n.mtime, n.Nlink(), n.Size(), n.Rdev())
			switch {
			case n.IsDir():
				if err := walk(p, n); err != nil {
					return err
				}
			case n.IsRegular():
				if err := readFileAll(h, n, maxFile); err != nil {
					return err
				}
			case basic(n.typ) == typeSymlink:
				h.Write([]byte(n.target))
				// Follow it, through the path API.
				if _, err := im.Stat(p); err != nil && errors.Is(err, ErrCorrupt) {
					return err
				}
			}
			if _, err := im.Lookup(p); err != nil && errors.Is(err, ErrCorrupt) {
				return err
			}
		}
	}
	err := walk("", im.Root())
	return h.Sum(nil), err
}

// readFileAll reads a file with Read, and a few ranges with ReadAt.
func readFileAll(h hash.Hash, n *Inode, maxFile int64) error {
	f, err := n.Open()
	if err != nil {
		return err
	}
	if _, err := io.CopyBuffer(h, io.LimitReader(f, maxFile), make([]byte, 8<<10)); err != nil {
		return err
	}
	p := make([]byte, 5000)
	for _, off := range []int64{0, n.Size() / 2, n.Size() - 1} {
		if off < 0 || off >= maxFile {
			continue
		}
		if k, err := f.ReadAt(p, off); err != nil && err != io.EOF {
			return err
		} else {
			h.Write(p[:k])
		}
	}
	return nil
}

// corruptTree is a small tree with every kind of table and block: an
// index, fragments, sparse and raw blocks, hard links, symlinks.
func corruptTree(bs int) *pack.Tree {
	rng := rand.New(rand.NewPCG(7, 8))
	b := newTreeBuilder()
	b.file("a/file", 0o644, randBytes(rng, 2*bs+100))
	b.file("a/raw", 0o644, incompressible(rng, bs+10))
	b.file("a/holes", 0o644, append(make([]byte, 2*bs), 'x'))
	b.hardlink("a/link", "a/file")
	b.symlink("a/sym", "file")
	b.file("b/small", 0o600, []byte("small"))
	for i := range 120 {
		b.file(fmt.Sprintf("big/%03d-%s", i, strings.Repeat("n", 60)), 0o644, []byte{byte(i)})
	}
	return b.tree(1)
}

// TestReadSuperblock sets each superblock field to values that are wrong
// for the image: Open, or reading the image, must fail with an error that
// says so.
func TestReadSuperblock(t *testing.T) {
	bs := 4 << 10
	img := memImage(t, corruptTree(bs), Options{BlockSize: bs})
	im := openImage(t, img, ReadOptions{})
	s := im.sb
	cases := []struct {
		field    string
		off, len int
		vals     []uint64
	}{
		{"magic", 0, 4, []uint64{0, 0x68737173, magic + 1}},
		{"inode count", 4, 4, []uint64{0, uint64(s.inodes) - 1, uint64(s.inodes) + 1, 1 << 31, 0xffffffff}},
		{"block size", 12, 4, []uint64{0, 1, 1000, 8192, 2 << 20, 0xffffffff}},
		{"fragment count", 16, 4, []uint64{0, uint64(s.fragments) + 1, 0xffffffff}},
		{"compressor", 20, 2, []uint64{0, 2, 3, 4, 5, 6, 7, 0xffff}},
		{"block log", 22, 2, []uint64{0, 11, 13, 32, 0xffff}},
		{"flags", 24, 2, []uint64{uint64(s.flags) | flagCompOpts, uint64(s.flags) | flagDataRaw, uint64(s.flags) | flagFragmentsRaw}},
		{"id count", 26, 2, []uint64{0, 2, 0xffff}},
		{"version", 28, 4, []uint64{3, 4 | 1<<16, 5}},
		{"root inode", 32, 8, []uint64{s.rootInode + 1, s.rootInode + 1<<16, s.rootInode - 20, s.rootInode >> 16, 1 << 48, noTable}},
		{"bytes used", 40, 8, []uint64{0, 95, s.bytesUsed - 1, s.bytesUsed + 1, uint64(len(img)) + 1, noTable}},
		{"id table", 48, 8, []uint64{0, s.idTable - 1, s.idTable + 1, s.idTable - 8, noTable}},
		{"xattr table", 56, 8, []uint64{0, s.idTable, s.bytesUsed - 16, s.inodeTable}},
		{"inode table", 64, 8, []uint64{0, s.inodeTable - 1, s.inodeTable + 1, s.dirTable, noTable}},
		{"directory table", 72, 8, []uint64{0, s.dirTable - 1, s.dirTable + 1, s.inodeTable, noTable}},
		{"fragment table", 80, 8, []uint64{0, s.fragTable - 1, s.fragTable + 1, s.fragTable + 8, noTable}},
		{"export table", 88, 8, []uint64{0, s.exportTable - 1, s.exportTable + 1, s.exportTable - 8, noTable}},
	}
	for _, c := range cases {
		for _, v := range c.vals {
			b := bytes.Clone(img)
			switch c.len {
			case 2:
				binary.LittleEndian.PutUint16(b[c.off:], uint16(v))
			case 4:
				binary.LittleEndian.PutUint32(b[c.off:], uint32(v))
			case 8:
				binary.LittleEndian.PutUint64(b[c.off:], v)
			}
			if bytes.Equal(b, img) {
				continue
			}
			err := readImageErr(b)
			if err == nil {
				t.Errorf("%s = %#x: read without an error", c.field, v)
				continue
			}
			if !errors.Is(err, ErrCorrupt) && !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("%s = %#x: %v, which is not ErrCorrupt", c.field, v, err)
			}
			t.Logf("%s = %#x: %v", c.field, v, err)
		}
	}
}

// readImageErr opens an image and reads all of it, and returns the first
// error.
func readImageErr(b []byte) error {
	im, err := Open(bytes.NewReader(b), int64(len(b)), ReadOptions{CacheSize: 1 << 20})
	if err != nil {
		return err
	}
	_, err = readAll(im, 1e6, 1<<30)
	return err
}

// TestReadTruncated cuts an image at many offsets: Open must say it is
// truncated. And an image whose reader fails part way (a file that shrank
// after Open) gives the reader's error, wrapped.
func TestReadTruncated(t *testing.T) {
	bs := 4 << 10
	img := memImage(t, corruptTree(bs), Options{BlockSize: bs, Compression: compress.LZ4})
	used := int(openImage(t, img, ReadOptions{}).sb.bytesUsed)
	for n := 0; n < used; n += 1 + n/50 {
		_, err := Open(bytes.NewReader(img[:n]), int64(n), ReadOptions{})
		if !errors.Is(err, ErrCorrupt) || (n >= superblockSize && !strings.Contains(err.Error(), "truncated")) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	failed := 0
	for n := superblockSize; n < used; n += 1 + n/50 {
		r := &failingReader{b: img, at: int64(n)}
		im, err := Open(r, int64(len(img)), ReadOptions{})
		if err == nil {
			_, err = readAll(im, 1e6, 1<<30)
		}
		if err == nil {
			t.Fatalf("reader failing at %d: no error", n)
		}
		if !errors.Is(err, errDisk) {
			t.Fatalf("reader failing at %d: %v, not the reader's error", n, err)
		}
		failed++
	}
	t.Logf("%d cuts", failed)
}

var errDisk = errors.New("disk on fire")

// failingReader reads b, and fails for what lies at or past at.
type failingReader struct {
	b  []byte
	at int64
}

func (r *failingReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > r.at {
		n := copy(p, r.b[off:max(off, r.at)])
		return n, errDisk
	}
	return copy(p, r.b[off:]), nil
}

// TestReadFlips flips each byte of each table of small images, and bytes
// of their data, and reads them all: no panic, errors that are ErrCorrupt,
// and, where a metadata block is compressed by a compressor with a
// checksum (gzip's Adler-32, xz's CRC32), either an error or exactly what
// the intact image holds. (An uncompressed block, or a zstd or lz4 one,
// has no checksum: a flipped byte in a name or a mode is a valid image
// with another name or mode.)
func TestReadFlips(t *testing.T) {
	bs := 4 << 10
	for _, algo := range []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd, compress.LZ4, compress.None} {
		t.Run(string(algo), func(t *testing.T) {
			t.Parallel()
			img := memImage(t, corruptTree(bs), Options{BlockSize: bs, Compression: algo})
			im := openImage(t, img, ReadOptions{})
			want, err := readAll(im, 1e6, 1<<30)
			if err != nil {
				t.Fatal(err)
			}
			checksummed := algo == compress.Gzip || algo == compress.Xz
			// The compressed metadata blocks, headers included.
			var compressed [][2]uint64
			addBlock := func(off uint64) {
				h := le16(img[off:])
				if h&metaRaw == 0 {
					compressed = append(compressed, [2]uint64{off, off + 2 + uint64(h)})
				}
			}
			for _, tb := range []*metaTable{&im.inodes, &im.dirs} {
				for _, o := range tb.blocks {
					addBlock(tb.start + uint64(o))
				}
			}
			for _, lt := range []*lookupTable{&im.frags, im.export} {
				for _, o := range lt.blocks {
					addBlock(o)
				}
			}
			isChecked := func(off uint64) bool {
				for _, r := range compressed {
					if r[0] <= off && off < r[1] {
						return checksummed
					}
				}
				return false
			}
			s := im.sb
			regions := []struct {
				name       string
				start, end uint64
				step       uint64
			}{
				{"superblock", 0, superblockSize, 1},
				{"data", im.dataStart, s.inodeTable, 97},
				{"inode table", s.inodeTable, s.dirTable, 1},
				{"directory table", s.dirTable, im.dirs.end, 1},
				{"fragment table", im.frags.blocks[0], s.fragTable + 8*uint64(len(im.frags.blocks)), 1},
				{"export table", im.export.blocks[0], s.exportTable + 8*uint64(len(im.export.blocks)), 1},
				{"id table", s.exportTable + 8*uint64(len(im.export.blocks)), s.bytesUsed, 1},
			}
			for _, r := range regions {
				// Every byte of small regions, 1500 of larger ones.
				r.step = max(r.step, (r.end-r.start)/1500)
				if testing.Short() {
					r.step *= 7
				}
				detected, same, differ := 0, 0, 0
				for off := r.start; off < r.end; off += r.step {
					// One bit, a different one at each byte, and all of them.
					for _, mask := range []byte{1 << (off % 8), 0xff} {
						b := bytes.Clone(img)
						b[off] ^= mask
						got, err := readAllOf(b)
						switch {
						case err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, errors.ErrUnsupported):
							t.Fatalf("%s: byte %d ^ %#x: %v, which is not ErrCorrupt", r.name, off, mask, err)
						case err != nil:
							detected++
						case bytes.Equal(got, want):
							same++
						default:
							differ++
							if isChecked(off) {
								t.Errorf("%s: byte %d ^ %#x changes what is read, undetected", r.name, off, mask)
							}
						}
					}
				}
				t.Logf("%s (%d bytes, every %d): %d flips detected, %d change nothing, %d change what is read",
					r.name, r.end-r.start, r.step, detected, same, differ)
			}
		})
	}
}

// readAllOf opens and reads an image, returning its digest.
func readAllOf(b []byte) ([]byte, error) {
	im, err := Open(bytes.NewReader(b), int64(len(b)), ReadOptions{CacheSize: 1 << 20})
	if err != nil {
		return nil, err
	}
	return readAll(im, 1e5, 64<<10)
}

// rawPos is where position p of a table of an uncompressed image lies.
func rawPos(tb *metaTable, p uint64) uint64 {
	return tb.start + uint64(tb.blocks[p/metaSize]) + 2 + p%metaSize
}

// TestReadCycles makes directory cycles in uncompressed images, by
// patching listings and inodes: the reader must refuse them, and a walk
// with fs.WalkDir must end, with an error.
func TestReadCycles(t *testing.T) {
	b := newTreeBuilder()
	b.file("a/b/f", 0o644, []byte("f"))
	img := memImage(t, b.tree(1), Options{Compression: compress.None})
	im := openImage(t, img, ReadOptions{})
	lookup := func(p string) *Inode {
		n, err := im.Lookup(p)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	root, a, bdir := im.Root(), lookup("a"), lookup("a/b")
	le := binary.LittleEndian
	// entryAt returns where the first entry of d's one-run listing lies.
	entryAt := func(d *Inode) uint64 { return rawPos(&im.dirs, d.dirPos) }
	// pointAt makes d's first entry name directory target.
	pointAt := func(img []byte, d, target *Inode, ino uint32) {
		h := entryAt(d)
		if base := le.Uint32(img[h+8:]); int64(ino)-int64(base) != int64(int16(int64(ino)-int64(base))) {
			t.Fatal("delta does not fit")
		}
		if le.Uint32(img[h+4:]) != uint32(target.ref>>16) {
			t.Fatal("not in one inode block")
		}
		e := h + dirHeader
		le.PutUint16(img[e:], uint16(target.ref))
		le.PutUint16(img[e+2:], uint16(int16(int64(ino)-int64(le.Uint32(img[h+8:])))))
		le.PutUint16(img[e+4:], typeDir)
	}
	inoAt := func(n *Inode) uint64 {
		p, _ := im.inodes.pos(n.ref)
		return rawPos(&im.inodes, p) + 12
	}
	noExport := func(img []byte) {
		le.PutUint64(img[88:], noTable)
		le.PutUint16(img[24:], le.Uint16(img[24:])&^flagExportable)
	}

	cases := []struct {
		name  string
		patch func([]byte)
		want  string
	}{
		{"b lists a", func(img []byte) { pointAt(img, bdir, a, a.ino) }, "whose parent is"},
		{"b lists the root", func(img []byte) { pointAt(img, bdir, root, root.ino) }, "names the root"},
		{"b numbered as the root lists a", func(img []byte) {
			// b gets the root's number, so that a, whose parent is the
			// root, passes for b's child.
			le.PutUint32(img[inoAt(bdir):], root.ino)
			pointAt(img, a, bdir, root.ino)
			pointAt(img, bdir, a, a.ino)
		}, "export table gives"},
		{"the same without an export table", func(img []byte) {
			le.PutUint32(img[inoAt(bdir):], root.ino)
			pointAt(img, a, bdir, root.ino)
			pointAt(img, bdir, a, a.ino)
			noExport(img)
		}, "have the same inode number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := bytes.Clone(img)
			c.patch(b)
			im, err := Open(bytes.NewReader(b), int64(len(b)), ReadOptions{})
			if err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() {
				done <- fs.WalkDir(im, ".", func(p string, d fs.DirEntry, err error) error {
					if err != nil {
						return err
					}
					_, err = d.Info()
					return err
				})
			}()
			select {
			case err := <-done:
				if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
					t.Errorf("fs.WalkDir: %v, want an error that says %q", err, c.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("fs.WalkDir does not end")
			}
			if _, err := readAll(im, 1e6, 1<<30); !errors.Is(err, ErrCorrupt) {
				t.Errorf("readAll: %v", err)
			}
		})
	}

	// Symlink loops.
	lb := newTreeBuilder()
	lb.symlink("l1", "l2")
	lb.symlink("l2", "/l1")
	lb.symlink("self", "./self")
	lb.symlink("d/up", "..")
	im = openImage(t, memImage(t, lb.tree(1), Options{}), ReadOptions{})
	for _, name := range []string{"l1", "self", "l1/x"} {
		if _, err := im.Stat(name); !errors.Is(err, errLoop) {
			t.Errorf("Stat(%s) = %v, want %v", name, err, errLoop)
		}
	}
	if fi, err := im.Stat(strings.Repeat("d/up/", 30) + "d"); err != nil || !fi.IsDir() {
		t.Errorf("Stat(d/up/d/up/...) = %v, %v", fi, err)
	}
	if err := fstest.TestFS(fsOnly{im}, "d"); err == nil || !strings.Contains(err.Error(), "symbolic links") {
		t.Errorf("fstest on an image with symlink loops: %v", err)
	}
}

// fsOnly hides an Image's methods but Open.
type fsOnly struct{ fs.FS }

// TestReadConcurrent reads files and looks names up from many goroutines
// at once, with caches of several sizes (run it with -race), and checks
// that the cache keeps to its bound and that no goroutine stays behind.
func TestReadConcurrent(t *testing.T) {
	bs := 4 << 10
	tr := randTree(11, 1500, bs)
	ws := wants(tr)
	contents := map[string][]byte{}
	for _, w := range ws {
		if w.kind == pack.File {
			contents[w.path] = content(t, w.entry)
		}
	}
	for _, algo := range []compress.Algo{compress.Gzip, compress.Zstd, compress.Xz} {
		img := memImage(t, tr, Options{BlockSize: bs, Compression: algo})
		sizes := []int64{-1, 64 << 10, 300 << 10, 0}
		if algo == compress.Xz {
			sizes = sizes[1:] // decompressing every lookup's blocks again is slow
		}
		for _, size := range sizes {
			t.Run(fmt.Sprintf("%s-%d", algo, size), func(t *testing.T) {
				before := runtime.NumGoroutine()
				im := openImage(t, img, ReadOptions{CacheSize: size})
				var wg sync.WaitGroup
				errs := make(chan error, 8)
				for g := range 8 {
					wg.Go(func() {
						rng := rand.New(rand.NewPCG(uint64(g), 1))
						for range 300 {
							w := ws[rng.IntN(len(ws))]
							n, err := im.Lookup(w.path)
							if err != nil {
								errs <- err
								return
							}
							if w.kind != pack.File {
								continue
							}
							f, err := n.Open()
							if err != nil {
								errs <- err
								return
							}
							want := contents[w.path]
							off := rng.IntN(len(want) + 1)
							p := make([]byte, rng.IntN(3*bs))
							k, err := f.ReadAt(p, int64(off))
							if (err != nil && err != io.EOF) || !bytes.Equal(p[:k], want[off:min(off+len(p), len(want))]) {
								errs <- fmt.Errorf("%s: ReadAt(%d at %d) = %d, %v", w.path, len(p), off, k, err)
								return
							}
						}
					})
				}
				wg.Wait()
				close(errs)
				for err := range errs {
					t.Error(err)
				}
				meta, data, _ := im.cache.stats()
				if meta > im.cache.meta.max || data > im.cache.data.max {
					t.Errorf("cache holds %d bytes of metadata (bound %d) and %d of data (bound %d)", meta, im.cache.meta.max, data, im.cache.data.max)
				}
				if size > 0 && im.cache.meta.max+im.cache.data.max != size {
					t.Errorf("cache bounds %d+%d, want %d", im.cache.meta.max, im.cache.data.max, size)
				}
				if n := goroutinesLeft(before); n > 0 {
					t.Errorf("%d goroutines left behind", n)
				}
			})
		}
	}
}

// TestReadLookupIndex looks up names that are not there, around every
// index entry of a large directory, and every name that is.
func TestReadLookupIndex(t *testing.T) {
	tr := fixedTree(4 << 10)
	im := openImage(t, memImage(t, tr, Options{BlockSize: 4 << 10}), ReadOptions{})
	big, err := im.Lookup("big")
	if err != nil {
		t.Fatal(err)
	}
	if len(big.index) < 2 {
		t.Fatalf("big has %d index entries", len(big.index))
	}
	for _, x := range big.index {
		for _, name := range []string{x.name[:len(x.name)-1], x.name + "\x00", x.name + "~", "\x01" + x.name, "\xff"} {
			if _, err := big.Lookup(name); !errors.Is(err, fs.ErrNotExist) {
				t.Errorf("Lookup(%q) = %v, want ErrNotExist", name, err)
			}
		}
		if _, err := big.Lookup(x.name); err != nil {
			t.Errorf("Lookup(%q): %v", x.name, err)
		}
	}
	d, err := big.OpenDir()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		e, err := d.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if got, err := big.Lookup(e.Name()); err != nil || got.Ino() != e.Ino() {
			t.Errorf("Lookup(%q) = %v, %v", e.Name(), got, err)
		}
		n++
	}
	if n != 300 {
		t.Errorf("%d entries, want 300", n)
	}
}

// TestReadCachePanic checks that a block whose loading panics does not
// leave the goroutines waiting for it waiting for ever, and is not kept.
func TestReadCachePanic(t *testing.T) {
	c := newBlockCache(1 << 20)
	k := cacheKey{1, 2}
	started, release := make(chan struct{}), make(chan struct{})
	go func() {
		defer func() { recover() }()
		c.get(k, &c.data, func() ([]byte, error) {
			close(started)
			<-release
			panic("a bug")
		})
	}()
	<-started
	waiter := make(chan error)
	go func() {
		_, err := c.get(k, &c.data, func() ([]byte, error) { return []byte("again"), nil })
		waiter <- err
	}()
	time.Sleep(10 * time.Millisecond) // the waiter finds the load under way
	close(release)
	select {
	case err := <-waiter:
		if err == nil {
			t.Log("the waiter came after the failed load and loaded the block itself")
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the waiter waits for ever")
	}
	if b, err := c.get(k, &c.data, func() ([]byte, error) { return []byte("new"), nil }); err != nil || string(b) == "" {
		t.Errorf("after a panic: %q, %v", b, err)
	}
}
