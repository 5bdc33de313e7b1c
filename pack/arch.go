package pack

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ELF e_machine values (from the System V ABI and elf.h).
const (
	em386       = 3
	emMIPS      = 8
	emPPC64     = 21
	emS390      = 22
	emARM       = 40
	emX86_64    = 62
	emAArch64   = 183
	emRISCV     = 243
	emLoongArch = 258
)

// ELFArch maps an ELF header (the first 20 bytes at least) to a GOARCH
// name. ok is false for a file that is not ELF; an ELF file of a machine
// gpack does not know gives an error.
func ELFArch(h []byte) (arch string, ok bool, err error) {
	if len(h) < 20 || !bytes.Equal(h[:4], []byte("\x7fELF")) {
		return "", false, nil
	}
	class64 := h[4] == 2
	var bo binary.ByteOrder = binary.LittleEndian
	if h[5] == 2 {
		bo = binary.BigEndian
	}
	le := bo == binary.LittleEndian
	switch m := bo.Uint16(h[18:20]); m {
	case em386:
		return "386", true, nil
	case emX86_64:
		return "amd64", true, nil
	case emARM:
		return "arm", true, nil
	case emAArch64:
		return "arm64", true, nil
	case emPPC64:
		if le {
			return "ppc64le", true, nil
		}
		return "ppc64", true, nil
	case emS390:
		if class64 {
			return "s390x", true, nil
		}
	case emRISCV:
		if class64 {
			return "riscv64", true, nil
		}
	case emLoongArch:
		if class64 {
			return "loong64", true, nil
		}
	case emMIPS:
		switch {
		case class64 && le:
			return "mips64le", true, nil
		case class64:
			return "mips64", true, nil
		case le:
			return "mipsle", true, nil
		}
		return "mips", true, nil
	default:
		return "", true, fmt.Errorf("ELF machine %d", m)
	}
	return "", true, fmt.Errorf("ELF machine %d in a %d-bit file", bo.Uint16(h[18:20]), map[bool]int{true: 64, false: 32}[class64])
}

// Arch returns the architecture, as a GOARCH name, of the first ELF file of
// the tree's store items, in tree order. The first one is enough: a
// closure is built for one system, and looking further would read headers
// of every file.
func (t *Tree) Arch() (string, error) {
	return entriesArch(t.Store, t.Entries)
}

// entriesArch is Arch for entries in the order given.
func entriesArch(store string, entries []Entry) (string, error) {
	storeRel := strings.TrimPrefix(store, "/") + "/"
	var h [20]byte
	for i := range entries {
		e := &entries[i]
		if e.Kind != File || e.Size < int64(len(h)) || !strings.HasPrefix(e.Path, storeRel) {
			continue
		}
		r, err := e.Open()
		if err != nil {
			return "", fmt.Errorf("reading ELF headers: %w", err)
		}
		_, err = io.ReadFull(r, h[:])
		r.Close()
		if err != nil {
			return "", fmt.Errorf("reading ELF headers of /%s: %w", e.Path, err)
		}
		arch, ok, err := ELFArch(h[:])
		if err != nil {
			return "", fmt.Errorf("/%s: unknown architecture (%v)", e.Path, err)
		}
		if ok {
			return arch, nil
		}
	}
	return "", errors.New("no ELF file in the closure to tell the architecture from")
}
