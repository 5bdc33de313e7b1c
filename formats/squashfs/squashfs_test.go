package squashfs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	needpkg "github.com/gpack/gpack/internal/need"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// randBytes returns n bytes of seeded data that compresses somewhat, like
// programs do: runs of a few distinct words with random bytes between.
func randBytes(rng *rand.Rand, n int) []byte {
	words := []string{"store", "closure", "squashfs", "\x00\x00\x00\x00", "\x7fELF\x02\x01\x01", "/gnu/store/", "lib", "bin", "\xff\xfe"}
	b := make([]byte, 0, n)
	for len(b) < n {
		if rng.IntN(3) == 0 {
			b = append(b, byte(rng.Uint32()))
		} else {
			b = append(b, words[rng.IntN(len(words))]...)
		}
	}
	return b[:n]
}

// incompressible returns n random bytes.
func incompressible(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// fixedTree has every kind of entry and every case the format treats
// specially, for a block size of bs.
func fixedTree(bs int) *pack.Tree {
	rng := rand.New(rand.NewPCG(1, 2))
	b := newTreeBuilder()
	b.dir("empty", 0o755)
	b.dir("gnu/store/aaaa-hello/share/empty", 0o700)
	b.file("gnu/store/aaaa-hello/bin/hello", 0o555, randBytes(rng, 3*bs+17))
	b.file("gnu/store/aaaa-hello/bin/setuid", 0o4755, randBytes(rng, 100))
	b.file("gnu/store/aaaa-hello/bin/modes", 0o2710, randBytes(rng, 10))
	b.file("gnu/store/aaaa-hello/sticky", 0o1644, nil)
	b.file("gnu/store/aaaa-hello/empty-file", 0o644, nil)
	b.file("gnu/store/aaaa-hello/one-block", 0o644, randBytes(rng, bs))
	b.file("gnu/store/aaaa-hello/two-blocks", 0o644, randBytes(rng, 2*bs))
	b.file("gnu/store/aaaa-hello/two-blocks-and-one", 0o644, randBytes(rng, 2*bs+1))
	b.file("gnu/store/aaaa-hello/block-less-one", 0o644, randBytes(rng, bs-1))
	b.file("gnu/store/aaaa-hello/random", 0o644, incompressible(rng, 2*bs+100))
	b.file("gnu/store/aaaa-hello/zeros", 0o644, make([]byte, 3*bs))
	b.file("gnu/store/aaaa-hello/zeros-and-tail", 0o644, make([]byte, 2*bs+5))
	holes := randBytes(rng, 4*bs+3)
	clear(holes[bs : 3*bs])
	b.file("gnu/store/aaaa-hello/holes", 0o644, holes)
	dup := randBytes(rng, bs+300)
	b.file("gnu/store/aaaa-hello/dup1", 0o644, dup)
	b.file("gnu/store/bbbb-other/dup2", 0o444, bytes.Clone(dup))
	small := randBytes(rng, 50)
	b.file("gnu/store/aaaa-hello/small-dup1", 0o644, small)
	b.file("gnu/store/bbbb-other/small-dup2", 0o644, bytes.Clone(small))
	b.file("gnu/store/bbbb-other/same-size", 0o644, randBytes(rng, 50))
	b.symlink("gnu/store/aaaa-hello/lib", "../bbbb-other")
	b.symlink("gnu/store/aaaa-hello/abs", "/gnu/store/bbbb-other/dup2")
	b.symlink("long-target", strings.Repeat("x/", maxTarget/2)+"y")
	b.file("bin/launcher", 0o755, randBytes(rng, 5000))
	b.hardlink("bin/prog1", "bin/launcher")
	b.hardlink("bin/prog2", "bin/launcher")
	b.hardlink("bin2/prog3", "bin/launcher")
	b.file("names/"+strings.Repeat("n", maxName), 0o644, []byte("long name"))
	b.file("names/with space  and\ttab", 0o644, []byte("space"))
	b.file("names/ünïcødé", 0o644, []byte("utf-8"))
	b.file("names/a-b", 0o644, []byte("a-b"))
	b.file("names/a.b", 0o644, []byte("a.b"))
	b.file("names/a/x", 0o644, []byte("a/x"))
	b.symlink("names/\xff", "high byte")
	// A directory whose listing is several metadata blocks long, so that
	// it gets an index.
	for i := range 300 {
		b.file(fmt.Sprintf("big/%03d-%s", i, strings.Repeat("x", 40+i%50)), 0o644, []byte{byte(i)})
	}
	return b.tree(1700000000)
}

// codecCases are the compressors and levels the tests go through.
var codecCases = []struct {
	algo  compress.Algo
	level int
}{
	{compress.Gzip, 0}, {compress.Xz, 0}, {compress.Zstd, 0}, {compress.LZ4, 0}, {compress.LZ4, 9}, {compress.None, 0}, {compress.Gzip, 1}, {compress.Zstd, 3},
}

// TestTools writes the fixed tree with every compressor at two block
// sizes and reads each image back with the Go reader, unsquashfs and
// squashfs-tools-ng.
func TestTools(t *testing.T) {
	for _, c := range codecCases {
		for _, bs := range []int{4 << 10, 128 << 10} {
			if c.algo == compress.Xz && bs > 4<<10 && testing.Short() {
				continue
			}
			t.Run(fmt.Sprintf("%s-%d-%dk", c.algo, c.level, bs>>10), func(t *testing.T) {
				t.Parallel()
				tr := fixedTree(bs)
				img, b := writeImage(t, tr, Options{Compression: c.algo, Level: c.level, BlockSize: bs})
				im := readBack(t, tr, b)
				if im.indexes == 0 {
					t.Errorf("no directory index written")
				}
				if im.sparseBlocks == 0 {
					t.Errorf("no sparse block written")
				}
				if c.algo != compress.None && im.rawData == 0 {
					t.Errorf("incompressible blocks were not stored raw")
				}
				checkUnsquashfs(t, tr, img)
				checkNg(t, tr, img)
			})
		}
	}
}

// TestDeterministic writes the same trees with 1, 2 and 8 workers: the
// images must be byte-identical, and identical again on a second run.
func TestDeterministic(t *testing.T) {
	for _, c := range codecCases {
		t.Run(fmt.Sprintf("%s-%d", c.algo, c.level), func(t *testing.T) {
			t.Parallel()
			for _, tr := range []*pack.Tree{fixedTree(4 << 10), randTree(9, 500, 4<<10)} {
				var first []byte
				for _, workers := range []int{1, 2, 8, 1} {
					_, b := writeImage(t, tr, Options{Compression: c.algo, Level: c.level, BlockSize: 4 << 10, Concurrency: workers})
					if first == nil {
						first = b
					} else if !bytes.Equal(b, first) {
						t.Fatalf("%d workers: image differs from 1 worker's", workers)
					}
				}
			}
		})
	}
}

// TestCodecReuse checks that a codec's output for a block does not depend
// on the blocks it compressed before: workers reuse their codecs, and
// which blocks a worker gets depends on scheduling.
func TestCodecReuse(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	var blocks [][]byte
	for i := range 40 {
		switch i % 4 {
		case 0:
			blocks = append(blocks, randBytes(rng, 1+rng.IntN(64<<10)))
		case 1:
			blocks = append(blocks, incompressible(rng, 1+rng.IntN(64<<10)))
		case 2:
			blocks = append(blocks, bytes.Repeat([]byte("abc"), 1+rng.IntN(20000)))
		default:
			blocks = append(blocks, randBytes(rng, 1+rng.IntN(100)))
		}
	}
	for _, c := range append(codecCases, struct {
		algo  compress.Algo
		level int
	}{compress.Zstd, 1}, struct {
		algo  compress.Algo
		level int
	}{compress.Zstd, 7}, struct {
		algo  compress.Algo
		level int
	}{compress.Gzip, 5}) {
		comp, _ := compress.Find(Compressors, c.algo)
		level, err := comp.Level(c.level)
		if err != nil {
			t.Fatal(err)
		}
		reused, err := newCodec(c.algo, level, 64<<10)
		if err != nil {
			t.Fatal(err)
		}
		for i, b := range blocks {
			fresh, err := newCodec(c.algo, level, 64<<10)
			if err != nil {
				t.Fatal(err)
			}
			want, err1 := fresh.compress(nil, b)
			got, err2 := reused.compress(make([]byte, 0, 100), b)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s level %d: block %d compresses differently after other blocks", c.algo, level, i)
			}
		}
	}
}

// TestBadInput checks that trees and options the format cannot take are
// refused with an error that names the problem, before anything is
// written.
func TestBadInput(t *testing.T) {
	good := func() *treeBuilder {
		b := newTreeBuilder()
		b.file("ok/file", 0o644, []byte("x"))
		return b
	}
	cases := []struct {
		name string
		tree func() *pack.Tree
		opts Options
		want string
	}{
		{"slash in name", func() *pack.Tree {
			t := good().tree(1)
			// "a/b" names b in a directory a that does not exist: a
			// name with a slash in it, as far as the tree goes.
			t.Entries = append(t.Entries, pack.Entry{Path: "ok/a/b", Kind: pack.File, Data: []byte{}})
			return t
		}, Options{}, "ok/a/b"},
		{"empty name", func() *pack.Tree {
			t := good().tree(1)
			t.Entries = append(t.Entries, pack.Entry{Path: "ok//b", Kind: pack.File, Data: []byte{}})
			return t
		}, Options{}, "ok//b"},
		{"NUL in name", func() *pack.Tree {
			t := good().tree(1)
			t.Entries = append(t.Entries, pack.Entry{Path: "ok/a\x00b", Kind: pack.File, Data: []byte{}})
			return t
		}, Options{}, `ok/a\x00b`},
		{"name too long", func() *pack.Tree {
			b := good()
			b.file("ok/"+strings.Repeat("y", maxName+1), 0o644, nil)
			return b.tree(1)
		}, Options{}, "longer than 255"},
		{"symlink target too long", func() *pack.Tree {
			b := good()
			b.symlink("ok/link", strings.Repeat("t", maxTarget+1))
			return b.tree(1)
		}, Options{}, "symlink target of 4096 bytes"},
		{"file too large", func() *pack.Tree {
			t := good().tree(1)
			// No content: the size alone must be refused, before
			// anything is read.
			t.Entries = append(t.Entries, pack.Entry{Path: "ok/huge", Kind: pack.File, Size: maxBlocks*4096 + 1})
			return t
		}, Options{BlockSize: 4096}, "more than a file can hold"},
		{"mtime before 1970", func() *pack.Tree { return good().tree(-1) }, Options{}, "mtime"},
		{"mtime after 2106", func() *pack.Tree { return good().tree(1 << 32) }, Options{}, "mtime"},
		{"block size not a power of two", func() *pack.Tree { return good().tree(1) }, Options{BlockSize: 5000}, "block size 5000"},
		{"block size too large", func() *pack.Tree { return good().tree(1) }, Options{BlockSize: 2 << 20}, "block size"},
		{"block size too small", func() *pack.Tree { return good().tree(1) }, Options{BlockSize: 2048}, "block size"},
		{"unknown compression", func() *pack.Tree { return good().tree(1) }, Options{Compression: "lzo"}, `compression "lzo": an image takes gzip, xz, zstd, lz4 or none`},
		{"gzip level", func() *pack.Tree { return good().tree(1) }, Options{Level: 10}, "level 10: gzip takes 1 to 9"},
		{"xz level", func() *pack.Tree { return good().tree(1) }, Options{Compression: compress.Xz, Level: 6}, "level 6: xz has no levels"},
		{"none level", func() *pack.Tree { return good().tree(1) }, Options{Compression: compress.None, Level: 1}, "level 1: none has no levels"},
		{"concurrency", func() *pack.Tree { return good().tree(1) }, Options{Concurrency: -1}, "negative"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out memOutput
			err := Write(context.Background(), &out, c.tree(), c.opts)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.HasPrefix(err.Error(), "squashfs: ") || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want one that starts with squashfs: and mentions %q", err, c.want)
			}
			if out.Len() != 0 {
				t.Errorf("%d bytes written before the error", out.Len())
			}
		})
	}
	for _, name := range []string{"a/b", "a\x00b", "", ".", "..", strings.Repeat("x", 256)} {
		if checkName(name) == nil {
			t.Errorf("checkName(%q) accepts it", name)
		}
	}
}

// TestReadErrors checks errors while reading content, cancellation and a
// failing output: each comes back from Write, and no goroutine stays
// behind.
func TestReadErrors(t *testing.T) {
	before := runtime.NumGoroutine()
	b := newTreeBuilder()
	b.file("a/big", 0o644, randBytes(rand.New(rand.NewPCG(5, 6)), 1<<20))
	short := b.tree(1)
	short.Entries = append(short.Entries, pack.Entry{Path: "a/short", Kind: pack.File, Size: 10})
	var out memOutput
	if err := Write(context.Background(), &out, short, Options{BlockSize: 4096}); err == nil || !strings.Contains(err.Error(), "a/short") {
		t.Errorf("short content: %v", err)
	}

	src := filepath.Join(t.TempDir(), "changed")
	if err := os.WriteFile(src, []byte("12345"), 0o644); err != nil {
		t.Fatal(err)
	}
	changed := b.tree(1)
	changed.Entries = append(changed.Entries, pack.Entry{Path: "a/changed", Kind: pack.File, Size: 4, Source: src})
	if err := Write(context.Background(), &memOutput{}, changed, Options{}); err == nil || !strings.Contains(err.Error(), "changed while gpack read it") {
		t.Errorf("changed source: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Write(ctx, &memOutput{}, b.tree(1), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}

	fail := &memOutput{failAfter: 100 << 10}
	if err := Write(context.Background(), fail, b.tree(1), Options{BlockSize: 4096, Compression: compress.None}); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("failing output: %v", err)
	}

	if n := goroutinesLeft(before); n > 0 {
		t.Errorf("%d goroutines left behind", n)
	}
}

// memOutput is an Output in memory, which fails with "disk full" after
// failAfter bytes if that is set.
type memOutput struct {
	bytes.Buffer
	failAfter int
}

func (m *memOutput) Write(p []byte) (int, error) {
	if m.failAfter > 0 && m.Len()+len(p) > m.failAfter {
		return 0, errors.New("disk full")
	}
	return m.Buffer.Write(p)
}

func (m *memOutput) WriteAt(p []byte, off int64) (int, error) {
	if int(off)+len(p) > m.Len() {
		return 0, errors.New("WriteAt past the end")
	}
	return copy(m.Bytes()[off:], p), nil
}

// TestMemOutput checks that writing to memory gives the same image as
// writing to a file.
func TestMemOutput(t *testing.T) {
	tr := fixedTree(4096)
	_, want := writeImage(t, tr, Options{BlockSize: 4096})
	var out memOutput
	if err := Write(context.Background(), &out, tr, Options{BlockSize: 4096}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), want) {
		t.Error("image in memory differs from the one in a file")
	}
}

// TestEmptyTree writes a tree with no entries: an image with only the
// root directory.
func TestEmptyTree(t *testing.T) {
	tr := &pack.Tree{Mtime: time.Unix(1, 0)}
	img, b := writeImage(t, tr, Options{})
	readBack(t, tr, b)
	checkUnsquashfs(t, tr, img)
	checkNg(t, tr, img)
	if os.Geteuid() == 0 {
		compareDir(t, tr, mount(t, img, "mount", "-t", "squashfs", "-o", "loop,ro"), true)
	}
}

// TestFileInodeChoice checks the choice between basic and extended file
// inodes, and the fields of each, for the cases no test tree reaches
// cheaply: data that starts past 4 GiB, or a file larger than 4 GiB.
func TestFileInodeChoice(t *testing.T) {
	cases := []struct {
		size           int64
		start          uint64
		nlink          uint32
		sparse         uint64
		wantType       uint16
		wantSparseWord uint64
	}{
		{100, 0, 1, 0, typeFile, 0},
		{1 << 32, 1 << 20, 1, 0, typeExtFile, 0},
		{1<<32 - 1, 1 << 20, 1, 0, typeFile, 0},
		{100, 1 << 32, 1, 0, typeExtFile, 0},
		{100, 1<<32 - 1, 1, 0, typeFile, 0},
		{100, 0, 2, 0, typeExtFile, 0},
		{3 << 17, 0, 1, 1 << 17, typeExtFile, 1 << 17},
		{2 << 17, 0, 1, 2 << 17, typeExtFile, 2<<17 - 1}, // all holes: size - 1
	}
	for _, c := range cases {
		bs := int64(128 << 10)
		rec := &dataRec{start: c.start, frag: noFragment, sizes: make([]uint32, c.size/bs), sparse: c.sparse}
		if c.size%bs != 0 {
			rec.frag, rec.fragOff = 7, uint32(bs-c.size%bs) // the tail at the end of the block
		}
		for i := range rec.sizes {
			rec.sizes[i] = uint32(i + 1)
		}
		n := &node{entry: &pack.Entry{Size: c.size, Mode: 0o755}, nlink: c.nlink, ino: 5, data: &dataRec{same: rec}}
		im := inodeImage(t, fileInode(nil, n, 42), int(bs), 5, 8)
		in, err := im.inode(0)
		if err != nil {
			t.Fatalf("%+v: %v", c, err)
		}
		if in.typ != c.wantType || in.size != uint64(c.size) || in.start != c.start || in.nlink != c.nlink ||
			in.sparse != c.wantSparseWord || in.frag != rec.frag || in.fragOff != rec.fragOff || in.perm != 0o755 || in.mtime != 42 || in.ino != 5 {
			t.Errorf("%+v: read back %+v", c, in)
		}
		if in.nblocks != uint64(len(rec.sizes)) {
			t.Errorf("%+v: %d blocks, want %d", c, in.nblocks, len(rec.sizes))
		} else if in.nblocks > 0 {
			r := im.metaReader(&im.inodes, in.list)
			b, err := r.read(4 * int(in.nblocks))
			if err != nil {
				t.Fatal(err)
			}
			if last := le32(b[len(b)-4:]); last != rec.sizes[len(rec.sizes)-1] {
				t.Errorf("%+v: last block size %d, want %d", c, last, rec.sizes[len(rec.sizes)-1])
			}
		}
	}
}

// inodeImage returns an Image whose inode table holds one inode, b, for
// reading inodes on their own: block size bs, the number of inodes and
// fragments given, one id, no export table.
func inodeImage(t testing.TB, b []byte, bs int, inodes, frags uint32) *Image {
	t.Helper()
	m := newMetaWriter(noneCodec{})
	m.write(b)
	table, err := m.finish()
	if err != nil {
		t.Fatal(err)
	}
	im := &Image{r: bytes.NewReader(table), ids: []uint32{0}, cache: newBlockCache(0)}
	im.sb = superblock{inodes: inodes, blockSize: uint32(bs), fragments: frags, bytesUsed: uint64(len(table))}
	im.src.New = func() any { b := make([]byte, bs+metaSize+2); return &b }
	if im.inodes, err = im.scanMeta("inode table", 0, uint64(len(table))); err != nil {
		t.Fatal(err)
	}
	return im
}

// TestHugeSparseFile packs a 5 GiB sparse file (from disk; it costs no
// space) with one byte of data at its end: an extended inode with a
// block list that spans many metadata blocks, and a tail in a fragment.
// Reading and hashing 5 GiB takes about 10 s, so it runs only when
// GPACK_TEST_HUGE is set; TestFileInodeChoice covers the inode's encoding
// on every run.
func TestHugeSparseFile(t *testing.T) {
	if os.Getenv("GPACK_TEST_HUGE") == "" {
		t.Skip("set GPACK_TEST_HUGE=1 to pack a 5 GiB file")
	}
	src := filepath.Join(t.TempDir(), "sparse")
	f, err := os.Create(src)
	if err != nil {
		t.Fatal(err)
	}
	const size = 5<<30 + 1
	if _, err := f.WriteAt([]byte{'!'}, size-1); err != nil {
		t.Fatal(err)
	}
	f.Close()
	tr := &pack.Tree{Mtime: time.Unix(1, 0), Entries: []pack.Entry{
		{Path: "big", Kind: pack.File, Mode: 0o644, Size: size, Source: src},
		{Path: "small", Kind: pack.File, Mode: 0o644, Size: 5, Data: []byte("small")},
	}}
	img, b := writeImage(t, tr, Options{Compression: compress.LZ4, BlockSize: 1 << 20})
	if len(b) > 1<<20 {
		t.Errorf("image of %d bytes for a sparse file", len(b))
	}
	checkUnsquashfsList(t, tr, img)
	needpkg.Root(t) // the rest mounts the image
	dir := mount(t, img, "mount", "-t", "squashfs", "-o", "loop,ro")
	g, err := os.Open(filepath.Join(dir, "big"))
	if err != nil {
		t.Fatal(err)
	}
	defer g.Close()
	fi, err := g.Stat()
	if err != nil || fi.Size() != size {
		t.Fatalf("kernel: size %v (%v)", fi.Size(), err)
	}
	buf := make([]byte, 4096)
	for _, off := range []int64{0, 4 << 30, size - 4096} {
		n, err := g.ReadAt(buf, off)
		if err != nil && !(err == io.EOF && off+int64(n) == size) {
			t.Fatalf("kernel: read at %d: %v", off, err)
		}
		want := make([]byte, n)
		if off+int64(n) == size {
			want[n-1] = '!'
		}
		if !bytes.Equal(buf[:n], want) {
			t.Errorf("kernel: wrong bytes at %d", off)
		}
	}
}
