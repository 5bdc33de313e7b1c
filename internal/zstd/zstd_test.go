package zstd

import (
	"bytes"
	"math/rand/v2"
	"os/exec"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
)

// decodeGo decodes a frame with klauspost/compress's decoder.
func decodeGo(t testing.TB, frame []byte) []byte {
	t.Helper()
	d, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1), kzstd.WithDecoderMaxWindow(1<<30))
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	out, err := d.DecodeAll(frame, nil)
	if err != nil {
		t.Fatalf("klauspost decoder: %v", err)
	}
	return out
}

// decodeTool decodes a frame with the reference zstd command.
func decodeTool(t testing.TB, frame []byte) []byte {
	t.Helper()
	if _, err := exec.LookPath("zstd"); err != nil {
		t.Fatalf("zstd command: %v (scripts/deps.sh installs it)", err)
	}
	cmd := exec.Command("zstd", "-d", "-c", "-q")
	cmd.Stdin = bytes.NewReader(frame)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("zstd -d: %v: %s", err, stderr.Bytes())
	}
	return out
}

// corpus builds inputs of the shapes squashfs hands the encoder.
func corpus() []struct {
	name string
	b    []byte
} {
	r := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	text := func(n int, alpha string) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = alpha[r.IntN(len(alpha))]
		}
		return b
	}
	// Repetitive: words from a small vocabulary, so that matches, repeat
	// offsets and long literal runs all occur.
	words := func(n int) []byte {
		vocab := []string{"func ", "return ", "if err != nil ", "{\n", "}\n", "package ", "import ", "\t", "x", "y := ", "0x", "squashfs", "zstd"}
		var b []byte
		for len(b) < n {
			b = append(b, vocab[r.IntN(len(vocab))]...)
			if r.IntN(7) == 0 {
				b = append(b, byte(r.Uint32()))
			}
		}
		return b[:n]
	}
	zeros := make([]byte, 128<<10)
	mostlyZero := make([]byte, 128<<10)
	for i := 0; i < len(mostlyZero); i += 1000 {
		mostlyZero[i] = byte(i)
	}
	return []struct {
		name string
		b    []byte
	}{
		{"empty", nil},
		{"1 byte", []byte{7}},
		{"2 bytes", []byte{7, 8}},
		{"15 bytes", text(15, "ab")},
		{"all zero 128k", zeros},
		{"mostly zero 128k", mostlyZero},
		{"random 128k", random(128 << 10)},
		{"random 100", random(100)},
		{"text 128k", text(128<<10, "abcdefgh")},
		{"words 128k", words(128 << 10)},
		{"words 8k metadata", words(8 << 10)},
		{"words 300", words(300)},
		{"words 1500", words(1500)},
		{"words 300k, three blocks", words(300 << 10)},
		{"words then random", append(words(64<<10), random(64<<10)...)},
	}
}

func TestRoundTrip(t *testing.T) {
	for _, level := range []int{MinLevel, 15, 19, 22} {
		e, err := NewEncoder(level)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range corpus() {
			f := e.Encode(nil, c.b)
			if got := decodeGo(t, f); !bytes.Equal(got, c.b) {
				t.Errorf("level %d, %s: klauspost decodes %d bytes that differ from the %d in", level, c.name, len(got), len(c.b))
			}
			if got := decodeTool(t, f); !bytes.Equal(got, c.b) {
				t.Errorf("level %d, %s: zstd -d decodes %d bytes that differ from the %d in", level, c.name, len(got), len(c.b))
			}
			// Compressible inputs must compress: a raw-only encoder
			// would pass the round trips.
			if len(c.b) >= 8<<10 && c.name != "random 128k" && len(f) > len(c.b)*3/4 {
				t.Errorf("level %d, %s: %d bytes in, %d out", level, c.name, len(c.b), len(f))
			}
		}
	}
}

// TestFrameHeader checks what mksquashfs's libzstd writes too: a single
// segment frame with the content size and no checksum.
func TestFrameHeader(t *testing.T) {
	e, _ := NewEncoder(15)
	for _, tc := range []struct {
		n    int
		want []byte
	}{
		{0, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 0}},
		{255, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x20, 255}},
		{256, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x60, 0, 0}},
		{65791, []byte{0x28, 0xb5, 0x2f, 0xfd, 0x60, 0xff, 0xff}},
		{128 << 10, []byte{0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x00, 0x02, 0x00}},
		{65536 + 256, []byte{0x28, 0xb5, 0x2f, 0xfd, 0xa0, 0x00, 0x01, 0x01, 0x00}},
	} {
		f := e.Encode(nil, make([]byte, tc.n))
		if !bytes.HasPrefix(f, tc.want) {
			t.Errorf("%d bytes: header % x, want % x", tc.n, f[:len(tc.want)], tc.want)
		}
	}
}

// TestDeterministic: an encoder's output depends on its input alone, not
// on what it encoded before.
func TestDeterministic(t *testing.T) {
	cs := corpus()
	fresh := make([][]byte, len(cs))
	for i, c := range cs {
		e, _ := NewEncoder(15)
		fresh[i] = e.Encode(nil, c.b)
	}
	e, _ := NewEncoder(15)
	for round := 0; round < 2; round++ {
		for i := len(cs) - 1; i >= 0; i-- {
			if got := e.Encode([]byte("prefix"), cs[i].b); !bytes.Equal(got[6:], fresh[i]) {
				t.Errorf("%s: a reused encoder writes other bytes", cs[i].name)
			}
		}
	}
}

func TestLevels(t *testing.T) {
	for _, l := range []int{MinLevel - 1, 23, 0} {
		if _, err := NewEncoder(l); err == nil {
			t.Errorf("level %d: no error", l)
		}
	}
}

// FuzzRoundTrip decodes every frame with klauspost's decoder and the zstd
// command.
func FuzzRoundTrip(f *testing.F) {
	for _, c := range corpus() {
		if len(c.b) <= 8<<10 {
			f.Add(c.b, uint8(15))
		}
	}
	f.Fuzz(func(t *testing.T, b []byte, level uint8) {
		l := MinLevel + int(level)%(23-MinLevel)
		e, err := NewEncoder(l)
		if err != nil {
			t.Fatal(err)
		}
		fr := e.Encode(nil, b)
		if got := decodeGo(t, fr); !bytes.Equal(got, b) {
			t.Fatalf("level %d: klauspost decodes other bytes", l)
		}
		if got := decodeTool(t, fr); !bytes.Equal(got, b) {
			t.Fatalf("level %d: zstd -d decodes other bytes", l)
		}
	})
}
