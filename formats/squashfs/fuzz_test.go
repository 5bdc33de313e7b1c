package squashfs

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"io/fs"
	"math/rand/v2"
	"runtime/metrics"
	"strings"
	"sync/atomic"
	"testing"
	"time"

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
// with the package's reader (Open), which checks the structure the kernel
// relies on, and the checks of gpack's own layout (check_test.go).
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

// FuzzRead reads images made by mutating valid ones (written by Write,
// with every compressor): Open and a walk of everything, through the
// inodes and through io/fs, must give an error that wraps ErrCorrupt (or
// errors.ErrUnsupported), never a panic; every input must be read within
// 10 seconds, and with a live heap that stays within 256 MiB of where it
// started (sampled every 100 µs; the cache is 256 KiB). The walk is
// bounded (2,000 entries, 1 MiB of each file): a mutated size may make a
// valid image of a file of terabytes of holes.
func FuzzRead(f *testing.F) {
	for i, seed := range [][]byte{
		{0x00, 1, 1, 0, 3, 'a', 'b', 'c', 1, 1, 1, 'f', 200, 2, 4, 0, 1, 'h', 0},
		{0x41, 3, 0, 0, 2, 'd', 'i', 'r', 2, 1, 5, 'f', 'i', 'l', 'e', 'x', 64, 1, 3, 1, 3, 'l', 'n', 'k', 5, 0, 1, 'd', 0},
		{0x82, 0, 0x81, 0, 4, 'z', 'e', 'r', 'o', 255, 2, 2, 0, 1, 's', 10, 0, 4, 0, 1, 'l', 0},
		{0x03, 2, 0, 0, 1, 'x', 1, 0, 1, 'y', 63, 1},
		{0x04, 1, 2, 0, 254, 'n', 'n', 'n', 'n'},
	} {
		tr, opts := fuzzTree(seed)
		var out memOutput
		if err := Write(context.Background(), &out, tr, opts); err != nil {
			f.Fatal(err)
		}
		f.Add(out.Bytes())
		// And the small tree of every table with each compressor.
		algo := []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd, compress.LZ4, compress.None}[i]
		out.Reset()
		if err := Write(context.Background(), &out, corruptTree(4096), Options{BlockSize: 4096, Compression: algo}); err != nil {
			f.Fatal(err)
		}
		f.Add(out.Bytes())
	}
	f.Fuzz(func(t *testing.T, img []byte) {
		check := func(what string, err error) {
			if err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("%s: %v: not ErrCorrupt", what, err)
			}
		}
		base := heapBytes()
		var peak atomic.Uint64
		done := make(chan struct{})
		go func() {
			defer close(done)
			im, err := Open(bytes.NewReader(img), int64(len(img)), ReadOptions{CacheSize: 256 << 10})
			if err != nil {
				check("Open", err)
				return
			}
			_, err = readAll(im, 2000, 1<<20)
			check("reading every inode", err)
			n := 0
			err = fs.WalkDir(im, ".", func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if n++; n > 2000 {
					return fs.SkipAll
				}
				if d.Type().IsRegular() {
					f, err := im.Open(p)
					if err != nil {
						return err
					}
					defer f.Close()
					if _, err := io.CopyN(io.Discard, f, 1<<20); err != nil && err != io.EOF {
						return err
					}
				}
				return nil
			})
			// A symlink's business; or a name that is not UTF-8,
			// which io/fs cannot open.
			if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errLoop) || errors.Is(err, errNotDir) || errors.Is(err, fs.ErrInvalid) {
				err = nil
			}
			check("fs.WalkDir", err)
		}()
		tick := time.NewTicker(100 * time.Microsecond)
		defer tick.Stop()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case <-done:
				if p := peak.Load(); p > base+256<<20 {
					t.Fatalf("live heap went from %d to %d bytes reading an image of %d", base, p, len(img))
				}
				return
			case <-tick.C:
				if h := heapBytes(); h > peak.Load() {
					peak.Store(h)
				}
			case <-timeout:
				t.Fatalf("reading an image of %d bytes takes more than 10 s", len(img))
			}
		}
	})
}

// heapBytes is the memory that live and not yet swept heap objects take.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}
