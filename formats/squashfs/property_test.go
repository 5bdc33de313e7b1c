package squashfs

import (
	"bytes"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	needpkg "github.com/gpack/gpack/internal/need"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// randName returns a name of 1 to maxLen bytes: mostly printable ASCII,
// some UTF-8 and some bytes that are not UTF-8 at all, never a slash, a
// NUL or a control character (which would garble unsquashfs's listing).
func randName(rng *rand.Rand, maxLen int) string {
	n := 1 + rng.IntN(maxLen)
	if rng.IntN(4) == 0 {
		n = 1 + rng.IntN(12) // short names are the common case
	}
	const alpha = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+@ ~"
	var b strings.Builder
	for b.Len() < n {
		switch rng.IntN(20) {
		case 0:
			b.WriteString("é")
		case 1:
			b.WriteByte(byte(0x80 + rng.IntN(0x80)))
		default:
			b.WriteByte(alpha[rng.IntN(len(alpha))])
		}
	}
	name := b.String()
	if len(name) > n {
		name = name[:n]
	}
	if name == "." || name == ".." {
		name = "x"
	}
	return name
}

// randTree builds a random tree of about n entries with every kind of
// entry and every size that the format treats specially, for block size
// bs. Content is kept small (well under a megabyte per file) so that
// thousands of entries stay fast.
func randTree(seed uint64, n, bs int) *pack.Tree {
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	b := newTreeBuilder()
	dirs := []string{""}
	var files []string
	var dups [][]byte
	join := func(d, name string) string {
		if d == "" {
			return name
		}
		return d + "/" + name
	}
	fresh := func(d string) string {
		for {
			p := join(d, randName(rng, maxName))
			if _, ok := b.entries[p]; !ok {
				return p
			}
		}
	}
	// A deep path.
	deep := ""
	for range 40 + rng.IntN(40) {
		deep = join(deep, randName(rng, 20))
	}
	b.dir(deep, 0o755)
	dirs = append(dirs, deep)
	// A directory whose listing spans many metadata blocks, so that it
	// gets an index, with more than 256 entries per inode block run.
	big := fresh("")
	b.dir(big, 0o755)
	for range 600 {
		p := fresh(big)
		b.file(p, 0o644, []byte(p))
		files = append(files, p)
	}
	// Always some holes and a hard link, however small the tree.
	b.file("zeros", 0o644, make([]byte, 2*bs+1))
	b.hardlink("zeros-link", "zeros")
	files = append(files, "zeros")
	for len(b.entries) < n {
		d := dirs[rng.IntN(len(dirs))]
		p := fresh(d)
		switch r := rng.IntN(100); {
		case r < 15:
			b.dir(p, []fs.FileMode{0o755, 0o700, 0o555, 0o1777}[rng.IntN(4)])
			dirs = append(dirs, p)
		case r < 25:
			target := randName(rng, 64)
			if rng.IntN(10) == 0 {
				target = strings.Repeat("../", rng.IntN(maxTarget/3)) + target
				target = target[:min(len(target), maxTarget)]
			}
			b.symlink(p, target)
		case r < 30 && len(files) > 0:
			b.hardlink(p, files[rng.IntN(len(files))])
		case r < 38 && len(dups) > 0:
			b.file(p, 0o644, bytes.Clone(dups[rng.IntN(len(dups))]))
			files = append(files, p)
		default:
			var data []byte
			switch rng.IntN(10) {
			case 0: // empty
			case 1: // exactly whole blocks
				data = randBytes(rng, bs*(1+rng.IntN(3)))
			case 2: // whole blocks and one byte
				data = randBytes(rng, bs*(1+rng.IntN(3))+1)
			case 3: // all zero: sparse blocks
				data = make([]byte, bs*rng.IntN(4)+rng.IntN(bs))
			case 4: // holes in the middle
				data = randBytes(rng, bs*4+rng.IntN(bs))
				clear(data[bs : 3*bs])
			case 5:
				data = incompressible(rng, rng.IntN(3*bs))
			default:
				data = randBytes(rng, rng.IntN(bs))
			}
			b.file(p, []fs.FileMode{0o644, 0o755, 0o600, 0o4755, 0o444}[rng.IntN(5)], data)
			files = append(files, p)
			if rng.IntN(5) == 0 {
				dups = append(dups, data)
			}
		}
	}
	// Hard links must name an earlier file in tree order: drop the ones
	// that do not.
	t := b.tree(int64(rng.Uint32()))
	index := map[string]int{}
	kept := t.Entries[:0]
	for _, e := range t.Entries {
		if e.Kind == pack.HardLink {
			if _, ok := index[e.Target]; !ok {
				continue
			}
		}
		index[e.Path] = len(kept)
		kept = append(kept, e)
	}
	t.Entries = kept
	return t
}

// TestProperty writes random trees of thousands of entries with each
// compressor and reads them back with the Go reader and unsquashfs.
func TestProperty(t *testing.T) {
	cases := []struct {
		seed  uint64
		n     int
		bs    int
		algo  compress.Algo
		level int
	}{
		{1, 3000, 4 << 10, compress.LZ4, 0},
		{2, 3000, 4 << 10, compress.Zstd, 3},
		{3, 3000, 8 << 10, compress.Gzip, 1},
		{4, 2000, 4 << 10, compress.None, 0},
		{5, 1500, 16 << 10, compress.Zstd, 0},
		{6, 800, 4 << 10, compress.Gzip, 0},
		{7, 400, 4 << 10, compress.Xz, 0},
		{8, 1000, 64 << 10, compress.LZ4, 9},
	}
	if testing.Short() {
		cases = cases[:2]
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("seed%d-%s-%d-%dk", c.seed, c.algo, c.level, c.bs>>10), func(t *testing.T) {
			t.Parallel()
			tr := randTree(c.seed, c.n, c.bs)
			if err := pack.Validate(tr); err != nil {
				t.Fatalf("generated tree: %v", err)
			}
			img, b := writeImage(t, tr, Options{Compression: c.algo, Level: c.level, BlockSize: c.bs})
			im := readBack(t, tr, b)
			if im.indexes == 0 || im.sparseBlocks == 0 || im.extFiles == 0 {
				t.Errorf("tree did not exercise indexes (%d), sparse blocks (%d) or extended files (%d)", im.indexes, im.sparseBlocks, im.extFiles)
			}
			checkUnsquashfs(t, tr, img)
		})
	}
}

// TestInodeDelta has a directory whose entries' inode numbers are further
// apart than a directory header's signed 16-bit delta can reach: a file,
// a subdirectory holding 40000 inodes, and another file.
func TestInodeDelta(t *testing.T) {
	b := newTreeBuilder()
	b.file("d/a", 0o644, []byte("a"))
	for i := range 40000 {
		b.file(fmt.Sprintf("d/b/%05d", i), 0o644, nil)
	}
	b.file("d/c", 0o644, []byte("c"))
	tr := b.tree(1)
	img, data := writeImage(t, tr, Options{Compression: compress.LZ4})
	readBack(t, tr, data)
	// Extracting 40000 files takes unsquashfs several seconds: the
	// listing, and the kernel below, read every directory entry too.
	checkUnsquashfsList(t, tr, img)
	needpkg.Root(t) // the rest mounts the image
	// The kernel: d's listing, and the files on either side of b.
	dir := mount(t, img, "mount", "-t", "squashfs", "-o", "loop,ro")
	ents, err := os.ReadDir(filepath.Join(dir, "d"))
	if err != nil || len(ents) != 3 || ents[0].Name() != "a" || ents[1].Name() != "b" || ents[2].Name() != "c" {
		t.Fatalf("kernel lists d as %v (%v)", ents, err)
	}
	for _, name := range []string{"a", "c"} {
		if b, err := os.ReadFile(filepath.Join(dir, "d", name)); err != nil || string(b) != name {
			t.Errorf("kernel reads d/%s as %q (%v)", name, b, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "d/b/39999")); err != nil {
		t.Error(err)
	}
}
