package squashfs

import (
	"bytes"
	"context"
	"flag"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// fuzzTree decodes a small tree from fuzz input, and the options to write
// it with. Every input gives a valid tree.
func fuzzTree(data []byte) (*pack.Tree, Options) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		c := data[0]
		data = data[1:]
		return c
	}
	h := next()
	algos := []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd, compress.LZ4, compress.None}
	opts := Options{
		Compression: algos[int(h)%len(algos)],
		BlockSize:   4096 << (h >> 6), // 4 to 32 KiB
		Concurrency: 1 + int(next()%4),
	}
	bs := opts.BlockSize
	b := newTreeBuilder()
	dirs := []string{""}
	var files []string
	var contents [][]byte
	for i := 0; len(data) > 0 && i < 64; i++ {
		op := next()
		parent := dirs[int(next())%len(dirs)]
		n := 1 + int(next())
		raw := make([]byte, 0, n)
		for range n {
			if len(data) == 0 {
				break
			}
			raw = append(raw, next())
		}
		name := strings.Map(func(r rune) rune {
			if r == '/' || r == 0 {
				return '_'
			}
			return r
		}, string(raw))
		if name == "" || name == "." || name == ".." || len(name) > maxName {
			name = "_"
		}
		p := name
		if parent != "" {
			p = parent + "/" + name
		}
		if _, ok := b.entries[p]; ok {
			continue
		}
		switch op % 6 {
		case 0:
			b.dir(p, 0o755)
			dirs = append(dirs, p)
		case 1, 2:
			// A size around block boundaries, content seeded by
			// the input: random or all zeros.
			size := int(next())*bs/64 + int(next()%3)*bs
			var c []byte
			if op&0x80 != 0 {
				c = make([]byte, size)
			} else {
				c = randBytes(rand.New(rand.NewPCG(uint64(op), uint64(size))), size)
			}
			b.file(p, 0o644, c)
			files, contents = append(files, p), append(contents, c)
		case 3:
			b.symlink(p, name+"-target")
		case 4:
			if len(files) > 0 {
				b.hardlink(p, files[int(next())%len(files)])
			}
		case 5:
			if len(contents) > 0 {
				c := bytes.Clone(contents[int(next())%len(contents)])
				b.file(p, 0o600, c)
				files, contents = append(files, p), append(contents, c)
			}
		}
	}
	t := b.tree(int64(h) << 20)
	// Hard links must come after their file in tree order.
	seen := map[string]bool{}
	kept := t.Entries[:0]
	for _, e := range t.Entries {
		if e.Kind == pack.HardLink && !seen[e.Target] {
			continue
		}
		seen[e.Path] = true
		kept = append(kept, e)
	}
	t.Entries = kept
	return t, opts
}

// FuzzWrite writes trees built from fuzz input and reads each image back
// with the Go reader, which checks the structure the kernel relies on.
// On the seed corpus (go test without -fuzz) unsquashfs reads each image
// too; in a fuzzing loop that would be too slow, and TestProperty runs it
// on thousands of entries instead.
func FuzzWrite(f *testing.F) {
	f.Add([]byte{0x00, 1, 1, 0, 3, 'a', 'b', 'c', 1, 1, 1, 'f', 200, 2, 4, 0, 1, 'h', 0})
	f.Add([]byte{0x41, 3, 0, 0, 2, 'd', 'i', 'r', 2, 1, 5, 'f', 'i', 'l', 'e', 'x', 64, 1, 3, 1, 3, 'l', 'n', 'k', 5, 0, 1, 'd', 0})
	f.Add([]byte{0x82, 0, 0x81, 0, 4, 'z', 'e', 'r', 'o', 255, 2, 2, 0, 1, 's', 10, 0, 4, 0, 1, 'l', 0})
	f.Add([]byte{0xc3, 2, 0, 0, 1, '/', 0, 0, 1, 0, 1, 0, 0, 0, 0, 1, '.', 0, 1, 1, 'x', 63, 1})
	f.Add([]byte{0x04, 1, 2, 0, 254, 'n', 'n', 'n', 'n'})
	fuzzing := flag.Lookup("test.fuzz").Value.String() != ""
	f.Fuzz(func(t *testing.T, data []byte) {
		tr, opts := fuzzTree(data)
		if err := pack.Validate(tr); err != nil {
			t.Fatalf("fuzzTree made an invalid tree: %v", err)
		}
		var out memOutput
		if err := Write(context.Background(), &out, tr, opts); err != nil {
			t.Fatalf("Write: %v", err)
		}
		readBack(t, tr, out.Bytes())
		if !fuzzing {
			img, _ := writeImage(t, tr, opts)
			checkUnsquashfs(t, tr, img)
		}
	})
}
