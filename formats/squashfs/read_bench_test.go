package squashfs

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// benchImages are the images of benchDir the read benchmarks share, by
// compressor and block size, written once per test binary.
var benchImages struct {
	sync.Mutex
	m   map[string]string
	dir string
}

// benchImage returns an image of benchDir written with algo and bs, in a
// temporary directory that TestMain removes.
func benchImage(b *testing.B, algo compress.Algo, bs int) (string, *pack.Tree) {
	b.Helper()
	tr := dirTree(b, benchDir())
	benchImages.Lock()
	defer benchImages.Unlock()
	key := fmt.Sprintf("%s-%d", algo, bs)
	if p, ok := benchImages.m[key]; ok {
		return p, tr
	}
	if benchImages.m == nil {
		benchImages.m = map[string]string{}
		dir, err := os.MkdirTemp("", "gpack-bench-read")
		if err != nil {
			b.Fatal(err)
		}
		benchImages.dir = dir
	}
	p := filepath.Join(benchImages.dir, key+".squashfs")
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	if err := Write(context.Background(), f, tr, Options{Compression: algo, BlockSize: bs}); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	benchImages.m[key] = p
	return p, tr
}

// TestMain removes the benchmarks' images.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchImages.dir != "" {
		os.RemoveAll(benchImages.dir)
	}
	os.Exit(code)
}

// openBench opens an image file for a benchmark; the file stays open.
func openBench(b *testing.B, p string, opts ReadOptions) *Image {
	b.Helper()
	f, err := os.Open(p)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { f.Close() })
	fi, err := f.Stat()
	if err != nil {
		b.Fatal(err)
	}
	// Warm the page cache: the benchmarks measure the reader, not the
	// disk.
	if _, err := io.Copy(io.Discard, f); err != nil {
		b.Fatal(err)
	}
	im, err := Open(f, fi.Size(), opts)
	if err != nil {
		b.Fatal(err)
	}
	return im
}

// benchFiles opens every regular file of the tree in im, and returns them
// with the running total of their sizes.
func benchFiles(b *testing.B, im *Image, tr *pack.Tree) ([]*File, []int64) {
	var files []*File
	var cum []int64
	var total int64
	for _, e := range tr.Entries {
		if e.Kind != pack.File || e.Size == 0 {
			continue
		}
		n, err := im.Lookup(e.Path)
		if err != nil {
			b.Fatal(err)
		}
		f, err := n.Open()
		if err != nil {
			b.Fatal(err)
		}
		files = append(files, f)
		total += e.Size
		cum = append(cum, total)
	}
	return files, cum
}

// BenchmarkReadAt is random access, as a FUSE server sees it: reads of
// 4 KiB or 128 KiB at random offsets of benchDir's files (chosen in
// proportion to their size), from GOMAXPROCS goroutines, with the default
// cache and with none.
func BenchmarkReadAt(b *testing.B) {
	for _, c := range []struct {
		algo  compress.Algo
		bs    int
		cache int64
	}{
		{compress.Gzip, 128 << 10, 0}, {compress.Gzip, 128 << 10, -1}, {compress.Zstd, 128 << 10, 0}, {compress.LZ4, 128 << 10, 0},
		{compress.Xz, 128 << 10, 0}, {compress.Gzip, 1 << 20, 0},
	} {
		for _, size := range []int{4 << 10, 128 << 10} {
			b.Run(fmt.Sprintf("%s-%dk-cache%d-read%dk", c.algo, c.bs>>10, c.cache>>20, size>>10), func(b *testing.B) {
				p, tr := benchImage(b, c.algo, c.bs)
				im := openBench(b, p, ReadOptions{CacheSize: c.cache})
				files, cum := benchFiles(b, im, tr)
				total := cum[len(cum)-1]
				b.SetBytes(int64(size))
				b.ResetTimer()
				var seed uint64
				var mu sync.Mutex
				b.RunParallel(func(pb *testing.PB) {
					mu.Lock()
					seed++
					rng := rand.New(rand.NewPCG(seed, 9))
					mu.Unlock()
					buf := make([]byte, size)
					for pb.Next() {
						at := rng.Int64N(total)
						i := sort.Search(len(cum), func(i int) bool { return cum[i] > at })
						f := files[i]
						off := rng.Int64N(f.Size())
						if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
							b.Fatal(err)
						}
					}
				})
			})
		}
	}
}

// BenchmarkLookup looks up random paths of benchDir's image: Image.Lookup
// from the root, with the metadata in the cache (the usual case: a
// quarter of the default cache holds some 100,000 files' worth).
func BenchmarkLookup(b *testing.B) {
	p, tr := benchImage(b, compress.Gzip, 128<<10)
	for _, cache := range []int64{0, -1} {
		b.Run(fmt.Sprintf("cache%d", cache>>20), func(b *testing.B) {
			im := openBench(b, p, ReadOptions{CacheSize: cache})
			paths := make([]string, len(tr.Entries))
			for i, e := range tr.Entries {
				paths[i] = e.Path
			}
			rng := rand.New(rand.NewPCG(1, 2))
			b.ResetTimer()
			for b.Loop() {
				if _, err := im.Lookup(paths[rng.IntN(len(paths))]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkReadAll reads every file of benchDir's image to io.Discard
// (WriteTo), with 1 and 2 goroutines taking files from a list.
func BenchmarkReadAll(b *testing.B) {
	for _, algo := range []compress.Algo{compress.Gzip, compress.Zstd, compress.LZ4} {
		for _, workers := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s-128k-%dworkers", algo, workers), func(b *testing.B) {
				p, tr := benchImage(b, algo, 128<<10)
				im := openBench(b, p, ReadOptions{})
				_, size := tr.Totals()
				b.SetBytes(size)
				for b.Loop() {
					if err := readEvery(im, tr, workers); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// runs cuts n files, whose sizes size gives, into a run for each of
// workers, of about the same number of bytes: neighbours share fragment
// blocks, which workers taking files in turn would wait for each other to
// decompress. It returns where each run starts, and n.
func runs(n, workers int, size func(int) int64) []int {
	var total int64
	for i := range n {
		total += size(i)
	}
	starts := []int{0}
	var sum int64
	for i := range n {
		if len(starts) < workers && sum >= total*int64(len(starts))/int64(workers) {
			starts = append(starts, i)
		}
		sum += size(i)
	}
	for len(starts) <= workers {
		starts = append(starts, n)
	}
	starts[workers] = n
	return starts[:workers+1]
}

// readEvery reads every file of tr from im to io.Discard, on workers
// goroutines, each a run of files (see runs).
func readEvery(im *Image, tr *pack.Tree, workers int) error {
	var files []*pack.Entry
	for i := range tr.Entries {
		if e := &tr.Entries[i]; e.Kind == pack.File {
			files = append(files, e)
		}
	}
	at := runs(len(files), workers, func(i int) int64 { return files[i].Size })
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, e := range files[at[w]:at[w+1]] {
				p := e.Path
				f, err := im.Open(p)
				if err != nil {
					errs <- err
					return
				}
				_, err = f.(*File).WriteTo(io.Discard)
				f.Close()
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	return <-errs
}

// BenchmarkVsUnsquashfs extracts benchDir's image into a directory with
// the reader (directories and symlinks first, then the files on 2 workers,
// modes and mtimes set) and with unsquashfs -d -processors 2, one after the
// other in each iteration, and reports the best wall time of each. The
// directory is on a tmpfs (/dev/shm, or $GPACK_BENCH_EXTRACT), so that
// the disk does not decide.
func BenchmarkVsUnsquashfs(b *testing.B) {
	need(b, "unsquashfs", "squashfs-tools")
	base := os.Getenv("GPACK_BENCH_EXTRACT")
	if base == "" {
		if err := unix.Access("/dev/shm", unix.W_OK); err == nil {
			base = "/dev/shm"
		}
	}
	for _, algo := range []compress.Algo{compress.Gzip, compress.Zstd, compress.LZ4} {
		b.Run(fmt.Sprintf("%s-128k", algo), func(b *testing.B) {
			p, tr := benchImage(b, algo, 128<<10)
			im := openBench(b, p, ReadOptions{})
			tmp, err := os.MkdirTemp(base, "gpack-bench-extract")
			if err != nil {
				b.Fatal(err)
			}
			defer os.RemoveAll(tmp)
			var ours, theirs time.Duration
			for b.Loop() {
				dir := filepath.Join(tmp, "gpack")
				start := time.Now()
				if err := extract(im, dir, 2); err != nil {
					b.Fatal(err)
				}
				if d := time.Since(start); ours == 0 || d < ours {
					ours = d
				}
				os.RemoveAll(dir)
				dir = filepath.Join(tmp, "unsquashfs")
				start = time.Now()
				if out, err := exec.Command("unsquashfs", "-q", "-n", "-no-xattrs", "-processors", "2", "-d", dir, p).CombinedOutput(); err != nil {
					b.Fatalf("unsquashfs: %v\n%s", err, out)
				}
				if d := time.Since(start); theirs == 0 || d < theirs {
					theirs = d
				}
				os.RemoveAll(dir)
			}
			_, size := tr.Totals()
			b.ReportMetric(0, "ns/op")
			b.ReportMetric(ours.Seconds(), "gpack-s")
			b.ReportMetric(theirs.Seconds(), "unsquashfs-s")
			b.ReportMetric(ours.Seconds()/theirs.Seconds(), "time-ratio")
			b.ReportMetric(float64(size)/ours.Seconds()/1e6, "gpack-MB/s")
		})
	}
}

// extract writes every entry of im under dir, as a launcher's cache
// would, without the care (atomic rename, verification) it needs: the
// directories and symlinks first, then the files, a run of them for each
// worker (see runs), and the directories' modes and mtimes last.
func extract(im *Image, dir string, workers int) error {
	type file struct {
		p string
		n *Inode
	}
	type dirAttr struct {
		p string
		n *Inode
	}
	var files []file
	var dirs []dirAttr
	var walk func(p string, d *Inode) error
	walk = func(p string, d *Inode) error {
		if err := os.Mkdir(p, 0o700); err != nil {
			return err
		}
		dirs = append(dirs, dirAttr{p, d})
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
			n, err := e.Inode()
			if err != nil {
				return err
			}
			q := path.Join(p, e.Name())
			switch {
			case n.IsDir():
				if err := walk(q, n); err != nil {
					return err
				}
			case n.IsRegular():
				files = append(files, file{q, n})
			default:
				t, err := n.Readlink()
				if err != nil {
					return err
				}
				if err := os.Symlink(t, q); err != nil {
					return err
				}
			}
		}
	}
	if err := walk(dir, im.Root()); err != nil {
		return err
	}
	at := runs(len(files), workers, func(i int) int64 { return files[i].n.Size() })
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for _, f := range files[at[w]:at[w+1]] {
				if err := extractFile(f.n, f.p); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if err := os.Chmod(d.p, d.n.Mode()&(fs.ModePerm|fs.ModeSticky)); err != nil {
			return err
		}
		if err := os.Chtimes(d.p, d.n.ModTime(), d.n.ModTime()); err != nil {
			return err
		}
	}
	return nil
}

func extractFile(n *Inode, p string) error {
	f, err := n.Open()
	if err != nil {
		return err
	}
	out, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := f.WriteTo(out); err != nil {
		out.Close()
		return err
	}
	if err := out.Chmod(n.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(p, n.ModTime(), n.ModTime())
}
