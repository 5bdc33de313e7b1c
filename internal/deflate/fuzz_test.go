package deflate

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpack/gpack/internal/need"
)

// encodeSplit encodes data as blocks cut at the offsets of cuts (taken
// modulo the length, in order), each primed with everything before it,
// the last one final, as gpack's gzip pipeline does.
func encodeSplit(e *Encoder, data []byte, cuts []uint16) []byte {
	var z []byte
	off := 0
	for _, c := range cuts {
		end := off + int(c)%(len(data)-off+1)
		if end == len(data) {
			break
		}
		z = e.Encode(z, data[off:end], data[:off], false)
		off = end
	}
	return e.Encode(z, data[off:], data[:off], true)
}

// FuzzEncode encodes the input at a level and in blocks picked by the
// fuzzer and decodes it with compress/flate; it also decodes the input as
// one zlib stream with compress/zlib.
func FuzzEncode(f *testing.F) {
	for name, data := range inputs() {
		// Small seeds: the fuzzer minimizes every new input it finds,
		// which for 100 KB ones takes minutes.
		if len(data) > 8_000 {
			data = data[:8_000]
		}
		f.Add(data, uint8(len(name)), uint16(1000), uint16(4_000))
	}
	f.Add(bytes.Repeat([]byte("ab"), 500), uint8(9), uint16(0), uint16(3))
	// The lazy levels, 1 and 2, with matches cut at block ends.
	f.Add(bytes.Repeat([]byte("abcd"), 300), uint8(0), uint16(5), uint16(1001))
	f.Add(bytes.Repeat([]byte("xyz"), 3000), uint8(1), uint16(4), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, level uint8, cut1, cut2 uint16) {
		e, err := NewEncoder(MinLevel + int(level)%(MaxLevel-MinLevel+1))
		if err != nil {
			t.Fatal(err)
		}
		z := encodeSplit(e, data, []uint16{cut1, cut2})
		if got := inflate(t, z); !bytes.Equal(got, data) {
			t.Fatalf("level %d, cuts %d %d: got %d bytes back, want %d", level, cut1, cut2, len(got), len(data))
		}
		zl := e.EncodeZlib(nil, data)
		r, err := zlib.NewReader(bytes.NewReader(zl))
		if err != nil {
			t.Fatalf("zlib header: %v", err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("zlib: got %d bytes back, want %d: %v", len(got), len(data), err)
		}
	})
}

// gzipMember wraps a deflate stream of data into a gzip member.
func gzipMember(z, data []byte) []byte {
	out := append([]byte{0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3}, z...)
	out = binary.LittleEndian.AppendUint32(out, crc32.ChecksumIEEE(data))
	return binary.LittleEndian.AppendUint32(out, uint32(len(data)))
}

// TestGzipTool checks the output with gzip itself: gzip -t, and the bytes
// gzip -dc gives back, for every input and level, in blocks.
func TestGzipTool(t *testing.T) {
	gz := need.Tool(t, "gzip", "gzip")
	dir := t.TempDir()
	for name, data := range inputs() {
		for level := MinLevel; level <= MaxLevel; level++ {
			e, err := NewEncoder(level)
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, "in.gz")
			z := encodeSplit(e, data, []uint16{12345, 54321})
			if err := os.WriteFile(path, gzipMember(z, data), 0o644); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(gz, "-t", path).CombinedOutput(); err != nil {
				t.Fatalf("%s, level %d: gzip -t: %v\n%s", name, level, err, out)
			}
			got, err := exec.Command(gz, "-dc", path).Output()
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%s, level %d: gzip -dc gave %d bytes, want %d: %v", name, level, len(got), len(data), err)
			}
		}
	}
}
