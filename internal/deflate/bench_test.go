package deflate

import (
	"compress/flate"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSample encodes the file named by $DEFLATE_SAMPLE in 1 MiB blocks
// primed with the 32 KiB before, on 2 goroutines as gpack's gzip does, at
// each level of $DEFLATE_LEVELS (default: all), and reports the size.
func BenchmarkSample(b *testing.B) {
	path := os.Getenv("DEFLATE_SAMPLE")
	if path == "" {
		b.Skip("set DEFLATE_SAMPLE to a file")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		b.Fatal(err)
	}
	if n, err := strconv.Atoi(os.Getenv("DEFLATE_MB")); err == nil {
		data = data[:min(len(data), n<<20)]
	}
	var lv []int
	for _, f := range strings.Split(os.Getenv("DEFLATE_LEVELS"), ",") {
		if l, err := strconv.Atoi(f); err == nil {
			lv = append(lv, l)
		}
	}
	if lv == nil {
		for l := MinLevel; l <= MaxLevel; l++ {
			lv = append(lv, l)
		}
	}
	// $DEFLATE_PARAMS=depth,nice,passes,segment-KiB[,skipDepth,lazy,good] overrides the first level's.
	if f := strings.Split(os.Getenv("DEFLATE_PARAMS"), ","); len(f) >= 4 {
		var v [7]int
		for i := range min(len(f), len(v)) {
			v[i], _ = strconv.Atoi(f[i])
		}
		defer func(p params) { levels[lv[0]] = p }(levels[lv[0]])
		levels[lv[0]] = params{depth: v[0], nice: v[1], passes: v[2], segment: v[3] << 10, skipDepth: v[4], lazy: v[5], good: v[6]}
	}
	for _, level := range lv {
		b.Run("level"+strconv.Itoa(level), func(b *testing.B) {
			for b.Loop() {
				const bs = 1 << 20
				nb := (len(data) + bs - 1) / bs
				outs := make([][]byte, nb)
				var wg sync.WaitGroup
				next := make(chan int, nb)
				for i := range nb {
					next <- i
				}
				close(next)
				start, cpu0 := time.Now(), cpuTime()
				workers := 2
				if w, err := strconv.Atoi(os.Getenv("DEFLATE_WORKERS")); err == nil {
					workers = w
				}
				for range workers {
					wg.Go(func() {
						e, _ := NewEncoder(level)
						for i := range next {
							lo, hi := i*bs, min((i+1)*bs, len(data))
							outs[i] = e.Encode(nil, data[lo:hi], data[max(0, lo-maxDist):lo], i == nb-1)
						}
					})
				}
				wg.Wait()
				el := time.Since(start)
				total := 0
				for _, o := range outs {
					total += len(o)
				}
				b.ReportMetric(float64(total), "bytes")
				b.ReportMetric(el.Seconds(), "s")
				b.ReportMetric((cpuTime() - cpu0).Seconds(), "cpu-s")
				_ = flate.BestCompression
			}
		})
	}
}

// cpuTime is the CPU time of the process so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
