package closure

import (
	"os"
	"runtime"
	"strconv"
	"strings"
)

// workersPerCPU bounds Options.Workers by the CPUs: scanners beyond a
// few per CPU only wait for one another, on a slow disk or a network file
// system too.
const workersPerCPU = 16

// workerMemory is what one scanner holds: its chunk buffer, the tail it
// carries across chunks, and its hits; rounded up.
const workerMemory = ChunkSize + 64<<10

// MaxWorkers is the most files Compute scans at once: workersPerCPU per
// CPU that Go may use, and no more than a quarter of the memory available
// to gpack (the machine's, or its cgroup's, whichever is less) holds. It is
// at least 1.
func MaxWorkers() int {
	n := workersPerCPU * runtime.GOMAXPROCS(0)
	if avail := availableMemory(); avail > 0 {
		n = min(n, int(avail/4/workerMemory))
	}
	return max(n, 1)
}

// availableMemory is MemAvailable of /proc/meminfo, or less when the
// cgroup gpack runs in (as a container or a batch job sees it mounted at
// /sys/fs/cgroup) has a lower memory limit; 0 when nothing says.
func availableMemory() int64 {
	var avail int64
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(l, "MemAvailable:"); ok {
				if kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(rest, "kB")), 10, 64); err == nil {
					avail = kb << 10
				}
			}
		}
	}
	// cgroup v2, then v1; "max" and v1's huge "no limit" fall out of
	// the min.
	for _, f := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if limit, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64); err == nil && limit > 0 && (avail == 0 || limit < avail) {
			avail = limit
		}
		break
	}
	return avail
}
