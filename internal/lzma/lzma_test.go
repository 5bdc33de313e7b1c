package lzma

import (
	"bytes"
	"fmt"
	"hash/crc64"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/ulikunitz/xz"

	"github.com/gpack/gpack/internal/need"
)

// text is compressible input: words of a small vocabulary, numbers and
// line breaks, from a fixed seed.
func text(n int, seed uint64) []byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	words := strings.Fields("the of and to in is that for it as with was on be by this are or from at which an have not but all they were had one their has more been can")
	var b bytes.Buffer
	for b.Len() < n {
		switch rng.IntN(10) {
		case 0:
			fmt.Fprintf(&b, "%d ", rng.IntN(100000))
		case 1:
			b.WriteString(".\n")
		default:
			b.WriteString(words[rng.IntN(len(words))])
			b.WriteByte(' ')
		}
	}
	return b.Bytes()[:n]
}

func random(n int, seed uint64) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewPCG(seed, 2))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// goDecode decodes an xz stream with ulikunitz/xz's reader.
func goDecode(z []byte) ([]byte, error) {
	r, err := xz.NewReader(bytes.NewReader(z))
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

// xzDecode decodes an xz stream with the xz command.
func xzDecode(t testing.TB, z []byte) []byte {
	t.Helper()
	cmd := exec.Command(need.Tool(t, "xz", "xz-utils"), "-dc")
	cmd.Stdin = bytes.NewReader(z)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz -dc: %v: %s", err, stderr.String())
	}
	return out
}

// segmented is an xz stream of data whose LZMA2 stream is made of
// EncodeSegment's segments cut at cuts, each primed with what came before,
// as gpack's xz writer makes it.
func segmented(e *Encoder, data []byte, cuts []int) []byte {
	z := AppendXZStreamHeader(nil)
	if len(data) == 0 {
		return AppendXZTrailer(z, nil, 0, 0, 0)
	}
	hdr := AppendXZBlockHeader(nil, e.DictSize(len(data)))
	z = append(z, hdr...)
	start := len(z)
	off := 0
	for _, c := range append(cuts, len(data)) {
		c = min(c, len(data))
		z = e.EncodeSegment(z, data[:off], data[off:c])
		off = c
	}
	z = append(z, 0)
	return AppendXZTrailer(z, hdr, int64(len(z)-start), int64(len(data)), crc64.Checksum(data, CRC64Table))
}

func checkBoth(t *testing.T, what string, z, data []byte) {
	t.Helper()
	got, err := goDecode(z)
	if err != nil {
		t.Fatalf("%s: ulikunitz/xz: %v", what, err)
	}
	if !bytes.Equal(got, data) {
		t.Fatalf("%s: ulikunitz/xz decoded %d bytes, want the %d of the input", what, len(got), len(data))
	}
	if got := xzDecode(t, z); !bytes.Equal(got, data) {
		t.Fatalf("%s: xz -dc decoded %d bytes, want the %d of the input", what, len(got), len(data))
	}
}

func TestRoundTrip(t *testing.T) {
	small := Options{DictSize: 4096, NiceLen: 32, Depth: 8}
	runs := bytes.Repeat([]byte{0}, 5<<20)
	copy(runs[3<<20:], bytes.Repeat([]byte("ab"), 1<<19))
	for _, tc := range []struct {
		name string
		data []byte
		opts Options
		cuts []int
	}{
		{"empty", nil, Preset(6), nil},
		{"one byte", []byte("x"), Preset(6), nil},
		{"two bytes", []byte("xx"), Preset(6), nil},
		{"short", []byte("hello, hello, hello world"), Preset(6), nil},
		{"text", text(300_000, 1), Preset(6), []int{100_000, 100_004}},
		{"text, 4 KiB dictionary", text(100_000, 2), small, []int{50_000}},
		{"text, 5001-byte dictionary", text(60_000, 14), Options{DictSize: 5001, NiceLen: 64, Depth: 16}, []int{20_000}},
		{"random", random(300_000, 3), Preset(6), []int{65_536}},
		{"random, exactly a stored chunk", random(65_536, 4), Preset(6), nil},
		{"runs", runs, Preset(6), []int{2 << 20}},
		{"text, exactly a chunk", text(2<<20, 5), Preset(1), nil},
		{"text, a chunk and a byte", text(2<<20+1, 6), Preset(1), nil},
		{"text and random", append(text(1<<20, 7), random(1<<20, 8)...), Preset(1), []int{1 << 20, 3 << 19}},
		{"more than one chunk", text(5<<20, 9), Preset(3), []int{1 << 20}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := NewEncoder(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			z := e.AppendXZ(nil, tc.data)
			checkBoth(t, "one segment", z, tc.data)
			if again := e.AppendXZ(nil, tc.data); !bytes.Equal(again, z) {
				t.Errorf("a reused encoder made other bytes")
			}
			if tc.cuts != nil {
				checkBoth(t, "segments", segmented(e, tc.data, tc.cuts), tc.data)
			}
			// Stored chunks bound the output of any input.
			if limit := len(tc.data) + 3*(len(tc.data)>>16+1) + 128; len(z) > limit {
				t.Errorf("%d bytes in, %d out: more than the %d of stored chunks", len(tc.data), len(z), limit)
			}
		})
	}
}

// TestCompresses: text gets much smaller, and priming a segment with the
// input before it makes the matches into it count.
func TestCompresses(t *testing.T) {
	data := text(1<<20, 10)
	data = append(data, data...)
	e, err := NewEncoder(Preset(6))
	if err != nil {
		t.Fatal(err)
	}
	whole := len(e.AppendXZ(nil, data))
	if whole > len(data)/5 {
		t.Errorf("text: %d bytes to %d, want at most a fifth", len(data), whole)
	}
	half := len(e.EncodeSegment(nil, data[:1<<20], data[1<<20:]))
	if half > 1000 {
		t.Errorf("a segment that repeats its dictionary took %d bytes", half)
	}
}

func TestDeterministic(t *testing.T) {
	data := append(text(1<<20, 11), random(100_000, 12)...)
	var first []byte
	for i := range 3 {
		e, err := NewEncoder(Preset(6))
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 {
			e.AppendXZ(nil, random(1<<20, 13)) // a used encoder
		}
		z := e.AppendXZ(nil, data)
		if first == nil {
			first = z
		} else if !bytes.Equal(z, first) {
			t.Fatalf("encoder %d made other bytes", i)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, o := range []Options{{DictSize: 100, NiceLen: 64, Depth: 1}, {DictSize: 1 << 20, NiceLen: 7, Depth: 1}, {DictSize: 1 << 20, NiceLen: 300, Depth: 1}, {DictSize: 1 << 20, NiceLen: 64}} {
		if _, err := NewEncoder(o); err == nil {
			t.Errorf("NewEncoder(%+v) took them", o)
		}
	}
	for level := 1; level <= 9; level++ {
		if _, err := NewEncoder(Preset(level)); err != nil {
			t.Errorf("level %d: %v", level, err)
		}
	}
}

func TestDictByte(t *testing.T) {
	for _, tc := range []struct{ n, want int }{{1, 4096}, {4096, 4096}, {4097, 6144}, {8 << 20, 8 << 20}, {8<<20 + 1, 12 << 20}} {
		if got := dictSizeOf(dictByte(tc.n)); got != tc.want {
			t.Errorf("dictionary for %d bytes: %d, want %d", tc.n, got, tc.want)
		}
	}
}
