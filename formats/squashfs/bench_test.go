package squashfs

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
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

// TestCompareMksquashfs times gpack's writer against mksquashfs on the
// same tree, same compressor and block size and 2 cores, and prints sizes
// and wall times. It runs only when GPACK_SQUASHFS_COMPARE is set (to
// a directory, or to 1 for benchDir); it measures, it asserts nothing.
func TestCompareMksquashfs(t *testing.T) {
	dir := os.Getenv("GPACK_SQUASHFS_COMPARE")
	if dir == "" {
		t.Skip("set GPACK_SQUASHFS_COMPARE=1 (or a directory) to compare with mksquashfs")
	}
	if dir == "1" {
		dir = benchDir()
	}
	need(t, "mksquashfs", "squashfs-tools")
	tr := dirTree(t, dir)
	files, size := tr.Totals()
	algos := []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd}
	if s := os.Getenv("GPACK_SQUASHFS_ALGOS"); s != "" {
		algos = nil
		for _, a := range strings.Split(s, ",") {
			algos = append(algos, compress.Algo(a))
		}
	}
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("GPACK_SQUASHFS_RUNS")); err == nil && n > 0 {
		runs = n
	}
	tmp := t.TempDir()
	// Warm the page cache, so that neither side pays for the disk.
	run(t, "tar", "cf", "/dev/null", dir)
	var report strings.Builder
	fmt.Fprintf(&report, "%s: %d files, %d bytes; 2 workers each, best wall time of %d runs (CPU time of that run)\n", dir, files, size, runs)
	fmt.Fprintf(&report, "%-11s %11s %7s %7s   %11s %7s %7s   %7s %6s\n", "comp/block", "mksquashfs", "wall", "cpu", "gpack", "wall", "cpu", "size", "wall")
	for _, algo := range algos {
		for _, bs := range []int{128 << 10, 1 << 20} {
			var mk, ours result
			for range runs {
				// Alternate the two, so that both see the same load.
				mk = mk.best(runMksquashfs(t, dir, filepath.Join(tmp, "mk.img"), algo, bs))
				ours = ours.best(runWrite(t, tr, filepath.Join(tmp, "gpack.img"), algo, bs))
			}
			fmt.Fprintf(&report, "%-11s %11d %6.2fs %6.2fs   %11d %6.2fs %6.2fs   %+6.2f%% %5.2fx\n", fmt.Sprintf("%s/%dK", algo, bs>>10),
				mk.size, mk.wall.Seconds(), mk.cpu.Seconds(), ours.size, ours.wall.Seconds(), ours.cpu.Seconds(),
				100*(float64(ours.size)/float64(mk.size)-1), ours.wall.Seconds()/mk.wall.Seconds())
		}
	}
	t.Log("\n" + report.String())
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

func runMksquashfs(t *testing.T, dir, img string, algo compress.Algo, bs int) result {
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

func runWrite(t *testing.T, tr *pack.Tree, img string, algo compress.Algo, bs int) result {
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
