package compress

import (
	"bytes"
	"io"
	"math/rand/v2"
	"testing"
)

// FuzzRoundTrip compresses random data in random Write sizes with one
// algorithm, level and concurrency picked by the fuzzer, and decompresses it
// with the Go readers. For gzip and xz it also runs the block writer with
// tiny blocks (the public ones are larger than any fuzz input), so block
// boundaries, the gzip dictionary carried across them and the ordering of
// results are fuzzed too. One algorithm per input keeps each run short:
// creating a zstd or xz encoder clears tens of MiB.
func FuzzRoundTrip(f *testing.F) {
	for i := range algos {
		a := uint8(i)
		f.Add([]byte(""), uint64(0), uint16(100), a, uint8(0))
		f.Add([]byte("a"), uint64(1), uint16(0), a, uint8(1))
		f.Add(bytes.Repeat([]byte("abcabd"), 3000), uint64(2), uint16(7), a, uint8(0))
		f.Add(synthetic(50_000), uint64(3), uint16(1000), a, uint8(5))
	}
	f.Fuzz(func(t *testing.T, data []byte, seed uint64, block uint16, algo, level uint8) {
		a := algos[int(algo)%len(algos)]
		c, _ := Find(Streams, a)
		opts := Options{Concurrency: int(seed % 5)} // 0 is GOMAXPROCS
		if l := int(level) % (c.Max - c.Min + 2); l > 0 {
			opts.Level = c.Min + l - 1
		}
		rng := rand.New(rand.NewPCG(seed, seed>>32))
		z := compress(t, a, opts, data, rng)
		check(t, string(a), a, z, data)

		// Cap the number of blocks: every xz segment clears and primes
		// its encoder's match finder, and the fuzzer takes an input that
		// runs for 10 s for a hang.
		bs := func(most int) int { return max(1+int(block), len(data)/most) }
		var zw io.WriteCloser
		var buf bytes.Buffer
		switch a {
		case Gzip:
			zw = newGzipWriter(&buf, max(opts.Level, 1), opts.Concurrency+1, bs(256))
		case Xz:
			zw = newXzWriter(&buf, max(opts.Level, 1), opts.Concurrency+1, bs(16))
		default:
			return
		}
		writeChunks(t, zw, data, rng)
		if err := zw.Close(); err != nil {
			t.Fatalf("%s with small blocks: Close: %v", a, err)
		}
		check(t, string(a)+" with small blocks", a, buf.Bytes(), data)
	})
}

func check(t *testing.T, what string, a Algo, z, data []byte) {
	t.Helper()
	got, err := goDecompress(a, z)
	if err != nil {
		t.Fatalf("%s: decompressing %d bytes: %v", what, len(z), err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s: got %d bytes back, want %d (first difference at %d)", what, len(got), len(data), firstDiff(got, data))
	}
}
