package layout

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"errors"
	"os"
	"testing"
)

// elf64 builds a minimal 64-bit little-endian ELF header with one program
// header ending at segEnd and a section table at shoff of shnum entries.
func elf64(segEnd, shoff uint64, shnum uint16) []byte {
	b := make([]byte, 64+56)
	copy(b, "\x7fELF\x02\x01\x01")
	le := binary.LittleEndian
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint64(b[40:], shoff)
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[56:], 1)  // e_phnum
	le.PutUint16(b[58:], 64) // e_shentsize
	le.PutUint16(b[60:], shnum)
	le.PutUint64(b[64+8:], 0)       // p_offset
	le.PutUint64(b[64+32:], segEnd) // p_filesz
	return b
}

func TestELFEnd(t *testing.T) {
	for _, c := range []struct {
		name string
		hdr  []byte
		want int64
		err  bool
	}{
		{"sections last", elf64(1000, 2000, 3), 2000 + 3*64, false},
		{"segment last", elf64(5000, 2000, 3), 5000, false},
		{"no sections", elf64(300, 0, 0), 300, false},
		{"short", []byte("\x7fELF"), 0, true},
		{"not elf", bytes.Repeat([]byte{1}, 64), 0, true},
		{"32-bit", append([]byte("\x7fELF\x01\x01"), make([]byte, 58)...), 0, true},
		{"huge offset", elf64(100, 1<<50, 1), 0, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := ELFEnd(c.hdr)
			if c.err {
				if !errors.Is(err, ErrNotAppImage) {
					t.Fatalf("ELFEnd = %d, %v; want an ErrNotAppImage", got, err)
				}
				return
			}
			if err != nil || got != c.want {
				t.Fatalf("ELFEnd = %d, %v; want %d", got, err, c.want)
			}
		})
	}
}

// TestRuntime prepares a real Go binary, the test itself, as the runtime
// of an AppImage: it must then end where ELFEnd says, carry the magic, and
// keep its sections for debug/elf.
func TestRuntime(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Runtime(b)
	if err != nil {
		t.Fatal(err)
	}
	end, err := ELFEnd(r[:headerSize])
	if err != nil {
		t.Fatal(err)
	}
	if end != int64(len(r)) {
		t.Fatalf("ELFEnd = %d, the runtime has %d bytes", end, len(r))
	}
	if !bytes.Equal(r[MagicOffset:MagicOffset+3], Magic) {
		t.Fatalf("no AppImage magic at %d: % x", MagicOffset, r[:16])
	}
	before, err := elf.NewFile(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	after, err := elf.NewFile(bytes.NewReader(r))
	if err != nil {
		t.Fatal(err)
	}
	if len(before.Sections) != len(after.Sections) {
		t.Fatalf("%d sections, was %d", len(after.Sections), len(before.Sections))
	}
	for i, s := range before.Sections {
		if after.Sections[i].Name != s.Name || after.Sections[i].Offset != s.Offset {
			t.Errorf("section %d: %s at %d, was %s at %d", i, after.Sections[i].Name, after.Sections[i].Offset, s.Name, s.Offset)
		}
	}
	again, err := Runtime(r)
	if err != nil || !bytes.Equal(again, r) {
		t.Errorf("Runtime of a runtime changed it (%v)", err)
	}
}

func TestRead(t *testing.T) {
	elf := elf64(200, 0, 0)
	elf = append(elf, make([]byte, 200-len(elf))...)
	image := bytes.Repeat([]byte("squashfs"), 100)
	l := &Layout{Offset: 200, Size: int64(len(image)), Digest: sha256.Sum256(image)}
	file := append(append(append([]byte{}, elf...), image...), l.Trailer()...)
	got, err := Read(bytes.NewReader(file), int64(len(file)))
	if err != nil {
		t.Fatal(err)
	}
	if *got != *l {
		t.Fatalf("Read = %+v, want %+v", got, l)
	}
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"truncated", file[:len(file)-100]},
		{"cut in the trailer", file[:len(file)-1]},
		{"bytes added", append(append([]byte{}, file...), 0)},
		{"elf only", elf},
		{"empty", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			if _, err := Read(bytes.NewReader(c.file), int64(len(c.file))); !errors.Is(err, ErrNotAppImage) {
				t.Fatalf("Read = %v, want an ErrNotAppImage", err)
			}
		})
	}
}

// FuzzRead feeds Read any file: it must return a layout inside the file
// or an ErrNotAppImage, never panic.
func FuzzRead(f *testing.F) {
	elf := elf64(200, 0, 0)
	elf = append(elf, make([]byte, 200-len(elf))...)
	l := &Layout{Offset: 200, Size: 8}
	f.Add(append(append(elf, "squashfs"...), l.Trailer()...))
	f.Add(elf64(5000, 2000, 3))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := Read(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrNotAppImage) {
				t.Fatalf("Read: %v is not an ErrNotAppImage", err)
			}
			return
		}
		if l.Offset < 64 || l.Size <= 0 || l.Offset+l.Size+TrailerSize != int64(len(b)) {
			t.Fatalf("Read = %+v for %d bytes", l, len(b))
		}
	})
}
