package oci

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/gpack/gpack/pack"
)

// knownArch are the GOARCH names an image config may carry, as the OCI
// image spec asks (it defers to GOARCH).
var knownArch = map[string]bool{
	"386": true, "amd64": true, "arm": true, "arm64": true, "loong64": true,
	"mips": true, "mipsle": true, "mips64": true, "mips64le": true,
	"ppc64": true, "ppc64le": true, "riscv64": true, "s390x": true,
}

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

// elfArch maps an ELF header (the first 20 bytes at least) to a GOARCH
// name. ok is false for a file that is not ELF; an ELF file of a machine
// gpack does not know gives an error.
func elfArch(h []byte) (arch string, ok bool, err error) {
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

// detectArch returns the architecture of the first ELF file of the tree's
// store items, in tree order. The first one is enough: a closure is built
// for one system, and looking further would read headers of every file.
func detectArch(t *pack.Tree) (string, error) {
	storeRel := strings.TrimPrefix(t.Store, "/") + "/"
	var h [20]byte
	for i := range t.Entries {
		e := &t.Entries[i]
		if e.Kind != pack.File || e.Size < int64(len(h)) || !strings.HasPrefix(e.Path, storeRel) {
			continue
		}
		r, err := e.Open()
		if err != nil {
			return "", fmt.Errorf("oci: reading ELF headers: %w", err)
		}
		_, err = io.ReadFull(r, h[:])
		r.Close()
		if err != nil {
			return "", fmt.Errorf("oci: reading ELF headers of /%s: %w", e.Path, err)
		}
		arch, ok, err := elfArch(h[:])
		if err != nil {
			return "", fmt.Errorf("oci: /%s: unknown architecture (%v): give the architecture explicitly (--arch)", e.Path, err)
		}
		if ok {
			return arch, nil
		}
	}
	return "", fmt.Errorf("oci: no ELF file in the closure to tell the architecture from: give it explicitly (--arch amd64, arm64, ...)")
}
