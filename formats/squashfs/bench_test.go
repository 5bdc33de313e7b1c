package squashfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// benchDir is the tree the benchmarks pack: $GPACK_BENCH_DIR, or the Go
// toolchain (about 250 MB of programs, archives and source text, a fair
// stand-in for a store closure).
func benchDir() string {
	if d := os.Getenv("GPACK_BENCH_DIR"); d != "" {
		return d
	}
	return runtime.GOROOT()
}

// BenchmarkWrite packs benchDir with each compressor at 128 KiB and 1 MiB
// blocks, reporting the image size.
func BenchmarkWrite(b *testing.B) {
	tr := dirTree(b, benchDir())
	files, size := tr.Totals()
	b.Logf("%s: %d files, %d bytes", benchDir(), files, size)
	for _, algo := range []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd, compress.LZ4} {
		for _, bs := range []int{128 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s-%dk", algo, bs>>10), func(b *testing.B) {
				out := filepath.Join(b.TempDir(), "img")
				b.SetBytes(size)
				for b.Loop() {
					f, err := os.Create(out)
					if err != nil {
						b.Fatal(err)
					}
					if err := Write(context.Background(), f, tr, Options{Compression: algo, BlockSize: bs}); err != nil {
						b.Fatal(err)
					}
					f.Close()
				}
				fi, err := os.Stat(out)
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(fi.Size()), "image-bytes")
			})
		}
	}
}

// BenchmarkVsMksquashfs is make bench's row of gpack's writer against
// mksquashfs on the same tree ($GPACK_BENCH_DIR, else the Go toolchain),
// same compressor and block size, 2 cores each. Every iteration runs both,
// one after the other so that both see the same load, and the row reports
// the best wall time of each, the CPU time of that run, the sizes, and
// gpack's size and time relative to mksquashfs's. GPACK_SQUASHFS_ALGOS
// (comma-separated) limits the compressors.
func BenchmarkVsMksquashfs(b *testing.B) {
	dir := benchDir()
	need(b, "mksquashfs", "squashfs-tools")
	tr := dirTree(b, dir)
	files, size := tr.Totals()
	b.Logf("%s: %d files, %d bytes", dir, files, size)
	algos := []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd}
	if s := os.Getenv("GPACK_SQUASHFS_ALGOS"); s != "" {
		algos = nil
		for _, a := range strings.Split(s, ",") {
			algos = append(algos, compress.Algo(a))
		}
	}
	tmp := b.TempDir()
	// Warm the page cache, so that neither side pays for the disk.
	run(b, "tar", "cf", "/dev/null", dir)
	for _, algo := range algos {
		for _, bs := range []int{128 << 10, 1 << 20} {
			b.Run(fmt.Sprintf("%s-%dk", algo, bs>>10), func(b *testing.B) {
				var mk, ours result
				for b.Loop() {
					mk = mk.best(runMksquashfs(b, dir, filepath.Join(tmp, "mk.img"), algo, bs))
					ours = ours.best(runWrite(b, tr, filepath.Join(tmp, "gpack.img"), algo, bs))
				}
				b.ReportMetric(0, "ns/op") // the two wall times below say it
				b.ReportMetric(ours.wall.Seconds(), "gpack-s")
				b.ReportMetric(ours.cpu.Seconds(), "gpack-cpu-s")
				b.ReportMetric(mk.wall.Seconds(), "mksquashfs-s")
				b.ReportMetric(mk.cpu.Seconds(), "mksquashfs-cpu-s")
				b.ReportMetric(float64(ours.size), "gpack-bytes")
				b.ReportMetric(float64(mk.size), "mksquashfs-bytes")
				b.ReportMetric(float64(ours.size)/float64(mk.size), "size-ratio")
				b.ReportMetric(ours.wall.Seconds()/mk.wall.Seconds(), "time-ratio")
			})
		}
	}
}

// result is one run's image size, wall time and CPU time.
type result struct {
	size      int64
	wall, cpu time.Duration
}

func (r result) best(s result) result {
	if r.wall == 0 || s.wall < r.wall {
		return s
	}
	return r
}

func runMksquashfs(t testing.TB, dir, img string, algo compress.Algo, bs int) result {
	os.Remove(img)
	cmd := exec.Command("mksquashfs", dir, img, "-comp", string(algo), "-b", fmt.Sprint(bs), "-processors", "2",
		"-all-root", "-no-xattrs", "-all-time", "1", "-mkfs-time", "1", "-noappend", "-quiet", "-no-progress")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	wall := time.Since(start)
	fi, err := os.Stat(img)
	if err != nil {
		t.Fatal(err)
	}
	return result{fi.Size(), wall, cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()}
}

func runWrite(t testing.TB, tr *pack.Tree, img string, algo compress.Algo, bs int) result {
	f, err := os.Create(img)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	cpu0 := cpuTime()
	start := time.Now()
	if err := Write(context.Background(), f, tr, Options{Compression: algo, BlockSize: bs, Concurrency: 2}); err != nil {
		t.Fatal(err)
	}
	wall := time.Since(start)
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	return result{fi.Size(), wall, cpuTime() - cpu0}
}

// cpuTime is the CPU time this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
