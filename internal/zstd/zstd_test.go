package zstd

import (
	"bytes"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
)

func decodeGo(t testing.TB, frame []byte) []byte {
	t.Helper()
	d, err := kzstd.NewReader(nil, kzstd.WithDecoderConcurrency(1))
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

func TestSample(t *testing.T) {
	names, err := os.ReadFile("/tmp/zs/sample.txt")
	if err != nil {
		t.Skip()
	}
	e, _ := NewEncoder(15)
	tot := 0
	for _, n := range strings.Fields(string(names)) {
		b, _ := os.ReadFile(filepath.Join("/tmp/zs/chunks", n))
		f := e.Encode(nil, b)
		if got := decodeGo(t, f); !bytes.Equal(got, b) {
			t.Fatalf("%s: round trip differs", n)
		}
		tot += len(f)
	}
	t.Logf("total %d", tot)
}

func TestZstdTool(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	b := make([]byte, 100000)
	for i := range b {
		b[i] = "abcdefgh"[r.IntN(8)]
	}
	e, _ := NewEncoder(15)
	f := e.Encode(nil, b)
	cmd := exec.Command("zstd", "-d", "-c")
	cmd.Stdin = bytes.NewReader(f)
	out, err := cmd.Output()
	if err != nil || !bytes.Equal(out, b) {
		t.Fatalf("zstd -d: %v", err)
	}
}
