package main

import (
	"archive/tar"
	"bytes"
	"debug/elf"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/launcher/launcherbin"
)

// elfHeader is the start of a 64-bit little-endian ELF executable for
// machine: enough for gpack to tell the architecture.
func elfHeader(machine elf.Machine) string {
	h := make([]byte, 64)
	copy(h, "\x7fELF\x02\x01\x01")
	binary.LittleEndian.PutUint16(h[16:], uint16(elf.ET_EXEC))
	binary.LittleEndian.PutUint16(h[18:], uint16(machine))
	return string(h)
}

// TestLauncherArch packs programs of other architectures with -R: an
// aarch64 closure gets the arm64 launcher, which runs (under
// qemu-aarch64-static) and finds its pack; an architecture gpack has no
// launcher for is refused in one line before anything is written.
func TestLauncherArch(t *testing.T) {
	dir := openTempDir(t)
	store := filepath.Join(dir, "store")
	for _, c := range []struct {
		name    string
		machine elf.Machine
		arch    string // "" when gpack must refuse it
	}{
		{"x86", elf.EM_X86_64, "amd64"},
		{"aarch", elf.EM_AARCH64, "arm64"},
		{"riscv", elf.EM_RISCV, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			item := addItem(t, store, c.name, map[string]string{"bin/prog": elfHeader(c.machine)})
			if err := os.Chmod(filepath.Join(item, "bin/prog"), 0o755); err != nil {
				t.Fatal(err)
			}
			out := filepath.Join(dir, c.name+".tar")
			r := gpack(t, 0, "pack", "-q", "-R", "-C", "none", "-o", out, item)
			if c.arch == "" {
				oneLineError(t, r, 1, "no launcher for riscv64", filepath.Join(item, "bin/prog"))
				if _, err := os.Stat(out); err == nil {
					t.Errorf("%s was written", out)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("gpack pack: exit %d, %s", r.code, r.stderr)
			}
			want, err := launcherbin.Binary(c.arch)
			if err != nil {
				t.Fatal(err)
			}
			if got := tarFile(t, out, ".gpack/launcher"); !bytes.Equal(got, want) {
				t.Fatalf("the pack's launcher is not the %s one (%d bytes, want %d)", c.arch, len(got), len(want))
			}
			if c.arch != "arm64" {
				return
			}
			qemu := need.Tool(t, "qemu-aarch64-static", "qemu-user-static")
			root := userDir(t)
			extract(t, "tar", out, root)
			cmd := exec.Command(qemu, filepath.Join(root, ".gpack/launcher"))
			b, err := cmd.CombinedOutput()
			want2 := "gpack-launcher: this is the launcher of the pack at " + root +
				"; run one of its programs instead: " + filepath.Join(root, "bin/prog") + "\n"
			if code := cmd.ProcessState.ExitCode(); code != 2 || string(b) != want2 {
				t.Errorf("the arm64 launcher under qemu: exit %d (%v), output %q; want 2 and %q", code, err, b, want2)
			}
		})
	}
}

// tarFile returns the contents of name in the tarball at path.
func tarFile(t *testing.T, path, name string) []byte {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			t.Fatalf("%s has no %s", path, name)
		}
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimPrefix(h.Name, "./") == name {
			b, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
	}
}
