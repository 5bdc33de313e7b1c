package rpm

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/formats/syspkg"
	"github.com/gpack/gpack/pack"
)

// TestTooLarge: a file rpm's 32-bit sizes cannot hold is refused, naming
// it, before anything is read or written.
func TestTooLarge(t *testing.T) {
	for _, size := range []int64{Max + 1, 1 << 40} {
		p := &syspkg.Package{Name: "x-01234567", Version: "0+0123456789abcdfghijklmnpqrsvwxyz", Entries: []pack.Entry{
			{Path: "gnu", Kind: pack.Dir, Mode: 0o755},
			{Path: "gnu/big", Kind: pack.File, Mode: 0o444, Size: size, Source: "/nonexistent/big"},
		}}
		err := WritePackage(context.Background(), io.Discard, p, Options{Mtime: time.Unix(1, 0), Scratch: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "/gnu/big") || !strings.Contains(err.Error(), "up to 4 GiB") {
			t.Errorf("size %d: %v", size, err)
		}
	}
}

func TestArch(t *testing.T) {
	for goarch, want := range map[string]string{"amd64": "x86_64", "arm64": "aarch64", "386": "i686", "riscv64": "riscv64", "": "noarch"} {
		if got := Arch(goarch); got != want {
			t.Errorf("Arch(%q) = %q, want %q", goarch, got, want)
		}
	}
}
