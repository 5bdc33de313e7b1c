package compress

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/gpack/gpack/internal/deflate"
)

var algos = []Algo{Gzip, Zstd, Xz, None}

// blockSize is each algorithm's unit of parallel work, where the boundary
// cases lie: for zstd the job of klauspost/compress's parallel encoder
// (4 × its 8 MiB window).
func blockSize(a Algo) int {
	switch a {
	case Gzip:
		return gzipBlockSize
	case Zstd:
		return 32 << 20
	case Xz:
		return xzSegment(xzDefaultLevel)
	}
	return 1 << 20
}

// smallXzSegments makes NewWriter cut xz input into 1 MiB segments until
// the test ends: their boundaries, priming and order are what the tests
// check, and the real 16 MiB ones would take minutes per test. A test
// that calls it must not run in parallel with other top-level tests.
func smallXzSegments(t *testing.T) {
	t.Helper()
	old := xzSegment
	xzSegment = func(int) int { return 1 << 20 }
	t.Cleanup(func() { xzSegment = old })
}

// tool is the command that decompresses a to stdout, and the Debian package
// that has it.
func tool(t *testing.T, a Algo) []string {
	t.Helper()
	var cmd []string
	var pkg string
	switch a {
	case Gzip:
		cmd, pkg = []string{"gzip", "-dc"}, "gzip"
	case Zstd:
		cmd, pkg = []string{"zstd", "-dc"}, "zstd"
	case Xz:
		cmd, pkg = []string{"xz", "-dc"}, "xz-utils"
	default:
		cmd, pkg = []string{"cat"}, "coreutils"
	}
	if _, err := exec.LookPath(cmd[0]); err != nil {
		t.Fatalf("%s not found: install Debian's %s (make deps)", cmd[0], pkg)
	}
	return cmd
}

// goReader decompresses with the Go decoders.
func goReader(a Algo, r io.Reader) (io.ReadCloser, error) {
	switch a {
	case Gzip:
		return gzip.NewReader(r)
	case Zstd:
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1))
		if err != nil {
			return nil, err
		}
		return d.IOReadCloser(), nil
	case Xz:
		xr, err := xz.NewReader(r)
		return io.NopCloser(xr), err
	}
	return io.NopCloser(r), nil
}

func goDecompress(a Algo, z []byte) ([]byte, error) {
	r, err := goReader(a, bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// toolDecompress runs the real command on a file, as a user would.
func toolDecompress(t *testing.T, a Algo, z []byte) []byte {
	t.Helper()
	f := filepath.Join(t.TempDir(), "in"+a.Ext())
	if err := os.WriteFile(f, z, 0o644); err != nil {
		t.Fatal(err)
	}
	argv := append(tool(t, a), f)
	var stderr bytes.Buffer
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, stderr.Bytes())
	}
	return out
}

// compress writes data through NewWriter in pieces whose sizes come from
// rng (or in one Write when rng is nil).
func compress(t testing.TB, a Algo, opts Options, data []byte, rng *rand.Rand) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := NewWriter(&buf, a, opts)
	if err != nil {
		t.Fatal(err)
	}
	writeChunks(t, zw, data, rng)
	if err := zw.Close(); err != nil {
		t.Fatalf("%s Close: %v", a, err)
	}
	return buf.Bytes()
}

func writeChunks(t testing.TB, w io.Writer, data []byte, rng *rand.Rand) {
	t.Helper()
	for len(data) > 0 {
		n := len(data)
		if rng != nil {
			// Mostly small writes, now and then a large one that spans
			// several blocks.
			n = min(n, 1+rng.IntN(1<<uint(rng.IntN(23))))
		}
		k, err := w.Write(data[:n])
		if err != nil {
			t.Fatalf("Write: %v", err)
		}
		if k != n {
			t.Fatalf("Write wrote %d of %d bytes", k, n)
		}
		data = data[n:]
	}
}

// corpus returns n bytes of real, mixed data: the host's programs and
// libraries interleaved with Go source text, in a fixed order. It stands in
// for a store closure.
func corpus(t testing.TB, n int) []byte {
	t.Helper()
	corpusOnce.Do(func() { corpusData, corpusErr = readCorpus(96 << 20) })
	if corpusErr != nil {
		t.Fatal(corpusErr)
	}
	if n > len(corpusData) {
		t.Fatalf("corpus has %d bytes, %d wanted", len(corpusData), n)
	}
	return corpusData[:n]
}

var (
	corpusOnce sync.Once
	corpusData []byte
	corpusErr  error
)

func readCorpus(limit int) ([]byte, error) {
	var bins, texts []string
	list := func(root string, keep func(string) bool, out *[]string) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.Type().IsRegular() && keep(p) {
				*out = append(*out, p)
			}
			return nil
		})
	}
	if err := list("/usr/bin", func(string) bool { return true }, &bins); err != nil {
		return nil, fmt.Errorf("listing the corpus: %w", err)
	}
	src := filepath.Join(runtime.GOROOT(), "src")
	if err := list(src, func(p string) bool { return strings.HasSuffix(p, ".go") }, &texts); err != nil {
		return nil, fmt.Errorf("listing the corpus: %w", err)
	}
	var buf bytes.Buffer
	for i := 0; buf.Len() < limit && (i < len(bins) || i < len(texts)); i++ {
		// One program, then text worth about as much.
		if i < len(bins) {
			b, err := os.ReadFile(bins[i])
			if err != nil {
				return nil, fmt.Errorf("reading the corpus: %w", err)
			}
			buf.Write(b)
		}
		for j := i * 20; j < len(texts) && j < (i+1)*20; j++ {
			b, err := os.ReadFile(texts[j])
			if err != nil {
				return nil, fmt.Errorf("reading the corpus: %w", err)
			}
			buf.Write(b)
		}
	}
	if buf.Len() < limit {
		return nil, fmt.Errorf("corpus: /usr/bin and %s hold only %d bytes, %d wanted", src, buf.Len(), limit)
	}
	return buf.Bytes()[:limit], nil
}

func TestParseAlgo(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Algo
		ext  string
	}{
		{"gzip", Gzip, ".gz"},
		{"gz", Gzip, ".gz"},
		{"zlib", Gzip, ".gz"},
		{"zstd", Zstd, ".zst"},
		{"zst", Zstd, ".zst"},
		{"xz", Xz, ".xz"},
		{"lz4", LZ4, ".lz4"},
		{"none", None, ""},
		{"XZ", Xz, ".xz"},
	} {
		got, err := ParseAlgo(tc.in)
		if err != nil || got != tc.want || got.Ext() != tc.ext {
			t.Errorf("ParseAlgo(%q) = %q (ext %q), %v; want %q (ext %q)", tc.in, got, got.Ext(), err, tc.want, tc.ext)
		}
	}
	for _, in := range []string{"", "bzip2", "lzip", "gzip -9", "zstd3"} {
		_, err := ParseAlgo(in)
		if err == nil || !strings.Contains(err.Error(), "gzip, zstd, xz, lz4 or none") {
			t.Errorf("ParseAlgo(%q): got %v, want an error listing the choices", in, err)
		}
	}
}

// TestCompressorLevel: one check of levels for every format, whose message
// says what the compressor takes.
func TestCompressorLevel(t *testing.T) {
	gzip := Compressor{Gzip, Levels{1, 9, 6}}
	none := Compressor{None, Levels{}}
	for _, tc := range []struct {
		c     Compressor
		level int
		want  int
		err   string
	}{
		{gzip, 0, 6, ""},
		{gzip, 1, 1, ""},
		{gzip, 9, 9, ""},
		{gzip, 10, 0, "gzip takes 1 to 9"},
		{gzip, -1, 0, "gzip takes 1 to 9"},
		{none, 0, 0, ""},
		{none, 3, 0, "none has no levels"},
	} {
		got, err := tc.c.Level(tc.level)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%s level %d: %v, want error %q", tc.c.Algo, tc.level, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s level %d: %d, %v; want %d", tc.c.Algo, tc.level, got, err, tc.want)
		}
	}
	if got := List([]Algo{Gzip}); got != "gzip" {
		t.Errorf("List of one: %q", got)
	}
	if got := List(AlgosOf(Streams)); got != "gzip, zstd, xz or none" {
		t.Errorf("List of Streams: %q", got)
	}
}

func TestNewWriterRejects(t *testing.T) {
	for _, tc := range []struct {
		algo Algo
		opts Options
		want string
	}{
		{"bzip2", Options{}, `compression "bzip2": a stream takes gzip, zstd, xz or none`},
		{"gz", Options{}, `compression "gz"`}, // aliases are for ParseAlgo
		{LZ4, Options{}, `compression "lz4"`},
		{Gzip, Options{Level: 10}, "level 10: gzip takes 1 to 9"},
		{Gzip, Options{Level: -1}, "level -1: gzip takes 1 to 9"},
		{Zstd, Options{Level: 23}, "level 23: zstd takes 1 to 22"},
		{Xz, Options{Level: 10}, "level 10: xz takes 1 to 9"},
		{None, Options{Level: 1}, "level 1: none has no levels"},
		{Gzip, Options{Concurrency: -1}, "concurrency -1 is negative"},
	} {
		_, err := NewWriter(io.Discard, tc.algo, tc.opts)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("NewWriter(%q, %+v): got %v, want %q", tc.algo, tc.opts, err, tc.want)
		}
	}
	for _, c := range Streams {
		for l := c.Min; l <= c.Max; l++ {
			if _, err := NewWriter(io.Discard, c.Algo, Options{Level: l}); err != nil {
				t.Errorf("%s level %d: %v", c.Algo, l, err)
			}
		}
		if d := c.Default; d < c.Min || d > c.Max {
			t.Errorf("%s default level %d outside %d-%d", c.Algo, d, c.Min, c.Max)
		}
	}
}

// TestRoundTrip decompresses with the real tools and with the Go readers,
// at the sizes where block boundaries fall.
func TestRoundTrip(t *testing.T) {
	// Restored once the parallel subtests are done.
	smallXzSegments(t)
	for _, a := range algos {
		bs := blockSize(a)
		sizes := []struct {
			name string
			n    int
		}{
			{"empty", 0},
			{"1 byte", 1},
			{"100 KiB", 100 << 10},
			{"one block", bs},
			{"one block + 1", bs + 1},
			{"2.5 blocks", bs*2 + bs/2},
		}
		for _, sz := range sizes {
			if testing.Short() && sz.n > 8<<20 {
				continue
			}
			t.Run(fmt.Sprintf("%s/%s", a, sz.name), func(t *testing.T) {
				t.Parallel()
				data := corpus(t, sz.n)
				rng := rand.New(rand.NewPCG(uint64(sz.n), 1))
				z := compress(t, a, Options{Concurrency: 3}, data, rng)
				if a == None && !bytes.Equal(z, data) {
					t.Fatal("none changed the data")
				}
				got, err := goDecompress(a, z)
				if err != nil {
					t.Fatalf("Go reader: %v", err)
				}
				if !bytes.Equal(got, data) {
					t.Fatalf("Go reader: got %d bytes, want %d (first difference at %d)", len(got), len(data), firstDiff(got, data))
				}
				if got := toolDecompress(t, a, z); !bytes.Equal(got, data) {
					t.Fatalf("%s: got %d bytes, want %d (first difference at %d)", tool(t, a)[0], len(got), len(data), firstDiff(got, data))
				}
			})
		}
	}
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// TestGzipHeader checks that nothing about the time or the host gets into
// the gzip header: it must be the one `gzip -n` writes on Unix.
func TestGzipHeader(t *testing.T) {
	z := compress(t, Gzip, Options{}, []byte("hello\n"), nil)
	// ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=2 (level 9) OS=3 (Unix)
	want := []byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3}
	if !bytes.Equal(z[:10], want) {
		t.Errorf("header % x, want % x", z[:10], want)
	}
	ref := exec.Command("gzip", "-9n")
	ref.Stdin = strings.NewReader("hello\n")
	out, err := ref.Output()
	if err != nil {
		t.Fatalf("gzip -9n: %v", err)
	}
	if !bytes.Equal(out[:10], want) {
		t.Errorf("gzip -9n writes header % x, this test wants % x", out[:10], want)
	}
}

// TestTarDetects hands each compression of a small tarball to GNU tar,
// which must recognize it by its magic number alone.
func TestTarDetects(t *testing.T) {
	if _, err := exec.LookPath("tar"); err != nil {
		t.Fatal("tar not found: install Debian's tar")
	}
	files := map[string]string{"a.txt": "alpha\n", "dir/b.txt": strings.Repeat("beta ", 1000)}
	var tb bytes.Buffer
	tw := tar.NewWriter(&tb)
	for _, name := range slices.Sorted(maps.Keys(files)) {
		hdr := &tar.Header{Name: name, Mode: 0o644, Size: int64(len(files[name])), ModTime: time.Unix(1, 0), Typeflag: tar.TypeReg}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[name]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	for _, a := range algos {
		t.Run(string(a), func(t *testing.T) {
			tool(t, a) // tar runs the decompressor
			dir := t.TempDir()
			// A neutral name, so that tar cannot go by the extension.
			archive := filepath.Join(dir, "pack")
			if err := os.WriteFile(archive, compress(t, a, Options{}, tb.Bytes(), nil), 0o644); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command("tar", "-xf", archive, "-C", out).CombinedOutput(); err != nil {
				t.Fatalf("tar -xf: %v\n%s", err, msg)
			}
			for name, want := range files {
				got, err := os.ReadFile(filepath.Join(out, name))
				if err != nil || string(got) != want {
					t.Errorf("%s: got %q, %v", name, got, err)
				}
			}
		})
	}
}

// TestDeterministic compresses the same data with different Concurrency,
// GOMAXPROCS and Write sizes: the output must not change.
func TestDeterministic(t *testing.T) {
	smallXzSegments(t)
	// Enough for several blocks of every algorithm (zstd has the largest).
	n := 2*blockSize(Zstd) + 12345
	if testing.Short() {
		n = 6<<20 + 12345
	}
	data := corpus(t, n)
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, a := range algos {
		t.Run(string(a), func(t *testing.T) {
			var want []byte
			for _, tc := range []struct {
				procs, conc int
				rng         *rand.Rand
			}{
				// One worker against many, GOMAXPROCS 1 against 2,
				// whole writes against random ones: four runs
				// cover each pair (every run of xz's three blocks
				// costs seconds).
				{2, 1, nil},
				{2, 8, rand.New(rand.NewPCG(3, 4))},
				{1, 0, rand.New(rand.NewPCG(5, 6))},
				{1, 3, nil},
			} {
				runtime.GOMAXPROCS(tc.procs)
				opts := Options{Concurrency: tc.conc}
				in := data
				if a == Xz {
					// Three of the tests' small segments and a bit:
					// the xz encoder is the slowest by far.
					in = data[:3*blockSize(Xz)+12345]
				}
				got := compress(t, a, opts, in, tc.rng)
				if want == nil {
					want = got
					continue
				}
				if !bytes.Equal(got, want) {
					t.Errorf("GOMAXPROCS %d, Concurrency %d, random writes %v: output differs (%d bytes, first at %d; %d bytes before)",
						tc.procs, tc.conc, tc.rng != nil, len(got), firstDiff(got, want), len(want))
				}
			}
		})
	}
}

// TestGolden pins the output on synthetic data that is the same on every
// machine. A change means a dependency or the block layout changed, and
// every pack's digest with it: update the digests deliberately.
func TestGolden(t *testing.T) {
	// Several blocks of every algorithm: 2 zstd jobs, 3 xz segments.
	data := synthetic(34<<20 + 7)
	want := map[Algo]string{
		Gzip: "3949f5f97f81d419650e11dda6a5f8bb1d13c97a4025644486d89171c05d9bd0",
		Zstd: "ad43aea85161e162d441e39d9af31c4d8d5a73fe1f27ae0a9f2dabbb573c093b",
		Xz:   "4923f30e423f797b4fd47129bd06f60c5c7df50736812690aec92e165fd0de4e",
		None: "cd3da391a3fc52d054a7b7f3b995c5f02a100f5713b0761077a3aa90193de1c6",
	}
	for _, a := range algos {
		z := compress(t, a, Options{Concurrency: 2}, data, nil)
		sum := sha256.Sum256(z)
		t.Logf("%s: %d bytes", a, len(z))
		if got := hex.EncodeToString(sum[:]); got != want[a] {
			t.Errorf("%s: output sha256 %s, want %s: the compressed bytes changed (dependency bump?); if that is intended, update the digest and say so in the change", a, got, want[a])
		}
	}
}

// synthetic makes compressible data from a fixed seed: words in random order
// mixed with random bytes.
func synthetic(n int) []byte {
	rng := rand.New(rand.NewPCG(42, 42))
	words := strings.Fields("store item closure pack tarball squashfs layer digest launcher namespace ptrace profile wrapper symlink")
	var b bytes.Buffer
	for b.Len() < n {
		if rng.IntN(50) == 0 {
			for range rng.IntN(16) {
				b.WriteByte(byte(rng.Uint32()))
			}
			continue
		}
		b.WriteString(words[rng.IntN(len(words))])
		b.WriteByte(" \n/-"[rng.IntN(4)])
	}
	return b.Bytes()[:n]
}

// failWriter accepts n bytes, then fails.
type failWriter struct{ n int }

var errFull = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if len(p) <= f.n {
		f.n -= len(p)
		return len(p), nil
	}
	k := f.n
	f.n = 0
	return k, errFull
}

// TestWriterErrors: an error from the destination must come back from Write
// or Close, stick, and leave no goroutine behind.
func TestWriterErrors(t *testing.T) {
	data := corpus(t, 3<<20)
	for _, a := range algos {
		// Fail in the header, in the first block and later on.
		for _, after := range []int{0, 5, 10, 1000, 300_000} {
			t.Run(fmt.Sprintf("%s/after %d", a, after), func(t *testing.T) {
				before := runtime.NumGoroutine()
				c, _ := Find(Streams, a)
				zw, err := NewWriter(&failWriter{n: after}, a, Options{Level: c.Min, Concurrency: 2})
				if err != nil {
					t.Fatal(err)
				}
				var werr error
				for p := data; len(p) > 0 && werr == nil; p = p[min(len(p), 64<<10):] {
					_, werr = zw.Write(p[:min(len(p), 64<<10)])
				}
				cerr := zw.Close()
				if !errors.Is(werr, errFull) && !errors.Is(cerr, errFull) {
					t.Fatalf("Write: %v, Close: %v; want %v from one of them", werr, cerr, errFull)
				}
				if werr != nil && !errors.Is(cerr, errFull) {
					t.Errorf("Close after a failed Write: %v, want the error again", cerr)
				}
				if _, err := zw.Write([]byte("x")); err == nil {
					t.Error("Write after a failure succeeded")
				}
				waitGoroutines(t, before)
			})
		}
	}
}

func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines left, %d before:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestWriteAfterClose(t *testing.T) {
	for _, a := range algos {
		var buf bytes.Buffer
		zw, err := NewWriter(&buf, a, Options{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write([]byte("data")); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		n := buf.Len()
		if _, err := zw.Write([]byte("more")); !errors.Is(err, ErrClosed) {
			t.Errorf("%s: Write after Close: %v, want ErrClosed", a, err)
		}
		if err := zw.Close(); err != nil {
			t.Errorf("%s: second Close: %v", a, err)
		}
		if buf.Len() != n {
			t.Errorf("%s: output grew from %d to %d bytes after Close", a, n, buf.Len())
		}
	}
}

// TestMemoryBounded streams many blocks through each writer and checks
// that the live heap stays within the blocks in flight, not the input size.
func TestMemoryBounded(t *testing.T) {
	if testing.Short() {
		t.Skip("streams hundreds of MiB")
	}
	const workers = 2
	const MiB = 1 << 20
	// The budgets, from the designs: the block being filled plus the
	// blocks in flight (gzip: 4 per worker, xz: 1), each with its input
	// and output (and for xz the 8 MiB of input before it), plus the
	// encoders' own state (flate: about 1 MiB; internal/lzma: about
	// 106 MiB for an 8 MiB dictionary: a copy of its segment and the
	// dictionary before it, 64 MiB of binary trees and 16 MiB of hash
	// table); zstd holds up to workers+2 jobs and workers+1 encoders
	// with an 8 MiB window each. xz keeps the last 8 MiB of input, in a
	// buffer of up to 16 MiB.
	for _, tc := range []struct {
		algo  Algo
		limit int
	}{
		{Gzip, (gzipDepth*workers+1)*2*MiB + workers*MiB + 8*MiB},
		{Zstd, (workers+2)*(32+16)*MiB + (workers+1)*12*MiB + 8*MiB},
		{Xz, (workers+1)*(16+8+8)*MiB + workers*106*MiB + 32*MiB},
	} {
		t.Run(string(tc.algo), func(t *testing.T) {
			bs := blockSize(tc.algo)
			total := 8 * (workers + 2) * bs
			zw, err := NewWriter(io.Discard, tc.algo, Options{Concurrency: workers})
			if err != nil {
				t.Fatal(err)
			}
			// Mostly zeros, which every encoder gets through fast, with
			// real data so that outputs are not trivial.
			chunk := make([]byte, 4*MiB)
			copy(chunk, corpus(t, MiB/2))
			var ms runtime.MemStats
			// Twice: sync.Pools left by earlier tests are freed only by
			// the second collection, and would hide this test's growth.
			runtime.GC()
			runtime.GC()
			runtime.ReadMemStats(&ms)
			base, peak := ms.HeapAlloc, uint64(0)
			for done := 0; done < total; done += len(chunk) {
				if _, err := zw.Write(chunk); err != nil {
					t.Fatal(err)
				}
				if done%(bs/2) < len(chunk) {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapAlloc-min(base, ms.HeapAlloc))
				}
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			t.Logf("%d MiB in, peak live heap %d MiB (limit %d MiB)", total/MiB, peak/MiB, tc.limit/MiB)
			if peak > uint64(tc.limit) {
				t.Errorf("peak live heap %d MiB for %d MiB of input, limit %d MiB", peak/MiB, total/MiB, tc.limit/MiB)
			}
		})
	}
}

// TestFingerprint: the fingerprint names every parameter that changes the
// bytes, so that a cache keyed by it never serves bytes made another way.
func TestFingerprint(t *testing.T) {
	gz := Fingerprint(Gzip, 0)
	for _, want := range []string{streamRules, "gzip level 9", fmt.Sprintf("block %d", gzipBlockSize), fmt.Sprintf("dict %d", gzipDictSize), deflateLib + "@" + deflate.Version} {
		if !strings.Contains(gz, want) {
			t.Errorf("gzip fingerprint %q lacks %q", gz, want)
		}
	}
	if gz8 := Fingerprint(Gzip, gzipOwnLevel-1); !strings.Contains(gz8, "klauspost/compress@") {
		t.Errorf("gzip level %d fingerprint %q does not name klauspost/compress, its encoder", gzipOwnLevel-1, gz8)
	}
	for level := 1; level <= 9; level++ {
		_, own := deflate.ForGzipLevel(level)
		if own != (level >= gzipOwnLevel) {
			t.Errorf("gzip level %d: internal/deflate's %v, but gzipOwnLevel is %d", level, own, gzipOwnLevel)
		}
		if fp := Fingerprint(Gzip, level); own != strings.Contains(fp, deflateLib+"@") {
			t.Errorf("gzip level %d fingerprint %q: internal/deflate's is %v", level, fp, own)
		}
	}
	if xz := Fingerprint(Xz, 9); !strings.Contains(xz, fmt.Sprintf("block %d dict %d", xzBlockSize(9), xzDictCap[9])) {
		t.Errorf("xz level 9 fingerprint %q lacks its block and dictionary sizes", xz)
	}
	base := streamParams(Gzip, 9)
	distinct := map[string]string{}
	for _, tc := range []struct {
		name  string
		a     Algo
		level int
		p     params
	}{
		{"gzip", Gzip, 9, base},
		{"gzip level 8", Gzip, 8, base},
		{"gzip 512 KiB blocks", Gzip, 9, params{512 << 10, base.dict, base.lib}},
		{"gzip 16 KiB dict", Gzip, 9, params{base.block, 16 << 10, base.lib}},
		{"gzip with klauspost", Gzip, 9, streamParams(Gzip, gzipOwnLevel-1)},
		{"zstd", Zstd, 9, streamParams(Zstd, 9)},
		{"xz", Xz, 9, streamParams(Xz, 9)},
		{"xz level 6", Xz, 6, streamParams(Xz, 6)},
	} {
		fp := fingerprint(tc.a, tc.level, tc.p)
		if other, ok := distinct[fp]; ok {
			t.Errorf("%s and %s share the fingerprint %q", tc.name, other, fp)
		}
		distinct[fp] = tc.name
	}
	if Fingerprint(Gzip, 0) != Fingerprint(Gzip, 9) {
		t.Error("level 0 and the default level have different fingerprints")
	}
}
