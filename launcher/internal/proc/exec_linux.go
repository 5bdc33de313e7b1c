package proc

import (
	"bytes"
	"encoding/binary"
	"syscall"
)

// ParseShebang splits the rest of a "#!" line as Linux does: the
// interpreter up to the first blank, then everything else, trimmed, as one
// argument.
func ParseShebang(b []byte) (string, string) {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	b = bytes.Trim(b, " \t")
	i := bytes.IndexAny(b, " \t")
	if i < 0 {
		return string(b), ""
	}
	return string(b[:i]), string(bytes.Trim(b[i:], " \t"))
}

// ELFInterp returns the PT_INTERP of a 64-bit little-endian ELF file, or
// "". The seccomp filter refuses the system calls of other ABIs anyway.
func ELFInterp(f *File, hdr []byte) string {
	if len(hdr) < 64 || hdr[4] != 2 || hdr[5] != 1 {
		return ""
	}
	le := binary.LittleEndian
	phoff := le.Uint64(hdr[0x20:])
	phentsize := int(le.Uint16(hdr[0x36:]))
	phnum := int(le.Uint16(hdr[0x38:]))
	if phentsize < 56 || phnum == 0 || phnum > 512 {
		return ""
	}
	ph := make([]byte, phentsize*phnum)
	if _, err := f.ReadAt(ph, int64(phoff)); err != nil {
		return ""
	}
	for i := 0; i < phnum; i++ {
		p := ph[i*phentsize:]
		if le.Uint32(p) != 3 { // PT_INTERP
			continue
		}
		off, size := le.Uint64(p[8:]), le.Uint64(p[32:])
		if size == 0 || size > 4096 {
			return ""
		}
		s := make([]byte, size)
		if _, err := f.ReadAt(s, int64(off)); err != nil {
			return ""
		}
		return string(bytes.TrimRight(s, "\x00"))
	}
	return ""
}

// Interpreters returns what the kernel would look for to execute the file
// at path: the interpreter of its "#!" line, or the PT_INTERP of an ELF
// file, or "" for either when there is none or the file cannot be read.
func Interpreters(path string) (shebang, elf string) {
	f, err := Open(path)
	if err != nil {
		return "", ""
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return "", ""
	}
	var hdr [256]byte
	n, _ := f.ReadAt(hdr[:], 0)
	b := hdr[:n]
	switch {
	case bytes.HasPrefix(b, []byte("#!")):
		shebang, _ = ParseShebang(b[2:])
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		elf = ELFInterp(f, b)
	}
	return shebang, elf
}
