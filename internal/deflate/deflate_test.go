package deflate

import (
	"bytes"
	"compress/flate"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// inflate decompresses a raw deflate stream with Go's decoder.
func inflate(t testing.TB, z []byte) []byte {
	t.Helper()
	got, err := io.ReadAll(flate.NewReader(bytes.NewReader(z)))
	if err != nil {
		t.Fatalf("inflating %d bytes: %v", len(z), err)
	}
	return got
}

// inputs are data of different kinds: empty, tiny, random, runs, text,
// and mixes that make every block type win somewhere.
func inputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	words := strings.Fields("the quick brown fox jumps over lazy dog store closure pack layer")
	var text bytes.Buffer
	for text.Len() < 300_000 {
		text.WriteString(words[rng.IntN(len(words))])
		text.WriteByte(" \n"[rng.IntN(2)])
	}
	mixed := append(append(append(random(70_000), bytes.Repeat([]byte{0}, 100_000)...), text.Bytes()[:80_000]...), random(5)...)
	return map[string][]byte{
		"empty":   {},
		"one":     {'a'},
		"three":   []byte("abc"),
		"four":    []byte("abab"),
		"random":  random(200_000),
		"zeros":   make([]byte, 300_000),
		"period":  bytes.Repeat([]byte("abcabd"), 50_000),
		"text":    text.Bytes(),
		"mixed":   mixed,
		"2 bytes": bytes.Repeat([]byte{1, 2}, 70_000),
	}
}

// TestRoundTrip encodes each input at every level, as a whole and as
// blocks primed with the input before, and decodes it with compress/flate.
func TestRoundTrip(t *testing.T) {
	for name, data := range inputs() {
		for level := MinLevel; level <= MaxLevel; level++ {
			e, err := NewEncoder(level)
			if err != nil {
				t.Fatal(err)
			}
			z := e.Encode(nil, data, nil, true)
			if got := inflate(t, z); !bytes.Equal(got, data) {
				t.Fatalf("%s, level %d: got %d bytes back, want %d", name, level, len(got), len(data))
			}
			// Blocks of 100 KB, each primed with what came before.
			var zs []byte
			const bs = 100_000
			for off := 0; off == 0 || off < len(data); off += bs {
				end := min(off+bs, len(data))
				zs = e.Encode(zs, data[off:end], data[:off], end == len(data))
			}
			if got := inflate(t, zs); !bytes.Equal(got, data) {
				t.Fatalf("%s, level %d, in blocks: got %d bytes back, want %d", name, level, len(got), len(data))
			}
			if level == MaxLevel {
				t.Logf("%s: %d -> %d (blocks %d)", name, len(data), len(z), len(zs))
			}
		}
	}
}

// TestSmallerThanFlate: at MaxLevel the output is smaller than
// compress/flate's at BestCompression (a zlib -9 of Go's) on text and
// mixed data, which is what the optimal parse is for. (The default level,
// with its shallow search, is not, on this text of 15 words recombined
// over and over: it is on real tarballs, see formats/compress.)
func TestSmallerThanFlate(t *testing.T) {
	in := inputs()
	for _, name := range []string{"text", "mixed"} {
		data := in[name]
		var ref bytes.Buffer
		fw, err := flate.NewWriter(&ref, flate.BestCompression)
		if err != nil {
			t.Fatal(err)
		}
		fw.Write(data)
		fw.Close()
		e, err := NewEncoder(MaxLevel)
		if err != nil {
			t.Fatal(err)
		}
		z := e.Encode(nil, data, nil, true)
		if len(z) >= ref.Len() {
			t.Errorf("%s: %d bytes at level %d, compress/flate -9 %d", name, len(z), MaxLevel, ref.Len())
		}
	}
}

// TestReuse: an Encoder's output depends on its arguments alone, not on
// what it encoded before, at every level (the lazy levels do not clear
// their chains' links between Encodes).
func TestReuse(t *testing.T) {
	in := inputs()
	for level := MinLevel; level <= MaxLevel; level++ {
		fresh := func(data, dict []byte) []byte {
			e, err := NewEncoder(level)
			if err != nil {
				t.Fatal(err)
			}
			return e.Encode(nil, data, dict, false)
		}
		e, err := NewEncoder(level)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ data, dict []byte }{
			{in["text"][100_000:], in["text"][:100_000]},
			{in["mixed"], nil},
			{in["period"][:5_000], in["text"][:40_000]},
			{in["text"][100_000:], in["text"][:100_000]},
		} {
			if got, want := e.Encode(nil, tc.data, tc.dict, false), fresh(tc.data, tc.dict); !bytes.Equal(got, want) {
				t.Fatalf("level %d: a reused encoder made %d bytes, a fresh one %d", level, len(got), len(want))
			}
		}
	}
}

// TestForGzipLevel: gzip's levels map onto this package's in order, so
// that a higher gzip level is never a faster, larger encoding, and 9
// onto the default.
func TestForGzipLevel(t *testing.T) {
	prev := 0
	for gz := 1; gz <= 9; gz++ {
		l, ok := ForGzipLevel(gz)
		if !ok {
			if prev > 0 {
				t.Errorf("gzip level %d has no level here, but %d has", gz, gz-1)
			}
			continue
		}
		if l < MinLevel || l > MaxLevel || l <= prev {
			t.Errorf("gzip level %d maps to %d, after %d", gz, l, prev)
		}
		prev = l
	}
	if l, _ := ForGzipLevel(9); l != DefaultLevel {
		t.Errorf("gzip level 9 maps to %d, not DefaultLevel %d", l, DefaultLevel)
	}
}
