// Package layout is the on-disk layout of gpack's AppImages, shared by
// the writer (formats/appimage) and the runtime that reads its own file
// (launcher/appimage): it depends on the standard library only, so the
// runtime links nothing of the writer.
//
// An AppImage of gpack is, byte for byte:
//
//	[0, Offset)             the runtime, a static ELF executable with
//	                        "AI\x02" at offset 8 (AppImage type 2)
//	[Offset, Offset+Size)   a SquashFS 4.0 image of the -R pack tree
//	[Offset+Size, end)      the trailer, TrailerSize bytes
//
// Offset is where the ELF ends, as the AppImage specification computes it
// (ELFEnd): the larger of the end of the section header table and the end
// of the last segment in the file. Tools that know AppImages
// (--appimage-offset, unsquashfs -o) find the image there and ignore what
// follows it, as a squashfs reader ignores what follows bytes_used.
//
// The trailer records the image's offset and size and its digest, the
// SHA-256 of the image's bytes: the runtime finds a truncated file from
// the trailer alone, names its extraction cache after the digest, and
// checks the digest before it trusts an extraction.
package layout

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"strconv"
)

// Magic is what AppImage type 2 puts at offset 8 of the runtime's ELF
// header (the padding of e_ident, which the kernel ignores).
var Magic = []byte{'A', 'I', 2}

// MagicOffset is where Magic goes.
const MagicOffset = 8

// TrailerSize is the size of the trailer at the end of the file.
const TrailerSize = 64

// trailerMagic opens the trailer; the version is its last byte.
var trailerMagic = []byte("gpack-appimage\x00\x01")

// ErrNotAppImage is wrapped by every error about a file that is not a
// complete AppImage of gpack's (truncated, damaged, or another file).
var ErrNotAppImage = errors.New("not a complete gpack AppImage")

// Layout says where the image is.
type Layout struct {
	// Offset and Size are the squashfs image's place in the file.
	Offset, Size int64
	// Digest is the SHA-256 of the image's bytes.
	Digest [32]byte
}

// Hex is the digest in hexadecimal, the name of the extraction cache.
func (l *Layout) Hex() string { return hex.EncodeToString(l.Digest[:]) }

// Trailer encodes l as the trailer.
func (l *Layout) Trailer() []byte {
	b := make([]byte, TrailerSize)
	copy(b, trailerMagic)
	binary.LittleEndian.PutUint64(b[16:], uint64(l.Offset))
	binary.LittleEndian.PutUint64(b[24:], uint64(l.Size))
	copy(b[32:], l.Digest[:])
	return b
}

func notAppImage(what string) error {
	return &formatError{what}
}

type formatError struct{ what string }

func (e *formatError) Error() string { return ErrNotAppImage.Error() + ": " + e.what }
func (e *formatError) Unwrap() error { return ErrNotAppImage }

// ELFEnd returns where the ELF file that starts hdr ends: the larger of
// the end of its section header table and the end of its last program
// segment in the file. hdr must hold the ELF header and the program
// headers (the first 64 KiB are plenty for any runtime); only 64-bit
// little-endian ELF is taken, the two architectures gpack packs for.
func ELFEnd(hdr []byte) (int64, error) {
	if len(hdr) < 64 || !bytes.Equal(hdr[:4], []byte("\x7fELF")) {
		return 0, notAppImage("no ELF header")
	}
	if hdr[4] != 2 || hdr[5] != 1 {
		return 0, notAppImage("not a 64-bit little-endian ELF file")
	}
	le := binary.LittleEndian
	phoff, shoff := le.Uint64(hdr[32:]), le.Uint64(hdr[40:])
	phentsize, phnum := uint64(le.Uint16(hdr[54:])), uint64(le.Uint16(hdr[56:]))
	shentsize, shnum := uint64(le.Uint16(hdr[58:])), uint64(le.Uint16(hdr[60:]))
	const max = 1 << 40 // no runtime is a terabyte: keeps the sums from wrapping
	if shoff > max || phoff > max {
		return 0, notAppImage("ELF header tables out of range")
	}
	end := shoff + shentsize*shnum
	if phnum > 0 {
		if phentsize < 56 {
			return 0, notAppImage("ELF program header entries too small")
		}
		if phoff+phentsize*phnum > uint64(len(hdr)) {
			return 0, notAppImage("ELF program headers beyond the first " + strconv.Itoa(len(hdr)) + " bytes")
		}
	}
	for i := uint64(0); i < phnum; i++ {
		ph := hdr[phoff+i*phentsize:]
		off, filesz := le.Uint64(ph[8:]), le.Uint64(ph[32:])
		if off > max || filesz > max {
			return 0, notAppImage("ELF segment out of range")
		}
		end = maxU(end, off+filesz)
	}
	if end < 64 {
		return 0, notAppImage("ELF file ends inside its header")
	}
	return int64(end), nil
}

func maxU(a, b uint64) uint64 {
	if a > b {
		return a
	}
	return b
}

// headerSize is how much of the file Read reads for the ELF headers.
const headerSize = 64 << 10

// Read finds the layout of the AppImage r of size bytes: the image starts
// where the ELF ends, and the trailer, which must agree, says how long it
// is. It does not check the digest (Verify does).
func Read(r io.ReaderAt, size int64) (*Layout, error) {
	hdr := make([]byte, min(size, headerSize))
	if _, err := r.ReadAt(hdr, 0); err != nil && err != io.EOF {
		return nil, err
	}
	off, err := ELFEnd(hdr)
	if err != nil {
		return nil, err
	}
	if size < off+TrailerSize {
		return nil, notAppImage("the file ends before its image (truncated?)")
	}
	t := make([]byte, TrailerSize)
	if _, err := r.ReadAt(t, size-TrailerSize); err != nil && err != io.EOF {
		return nil, err
	}
	l, err := ParseTrailer(t)
	if err != nil {
		return nil, err
	}
	if l.Offset != off || l.Offset+l.Size != size-TrailerSize {
		return nil, notAppImage("the trailer does not match the file (truncated, or bytes added?)")
	}
	return l, nil
}

// ParseTrailer decodes a trailer.
func ParseTrailer(t []byte) (*Layout, error) {
	if len(t) != TrailerSize || !bytes.Equal(t[:16], trailerMagic) {
		return nil, notAppImage("no trailer at the end of the file (truncated?)")
	}
	le := binary.LittleEndian
	off, size := le.Uint64(t[16:]), le.Uint64(t[24:])
	if off > 1<<62 || size > 1<<62 || size == 0 {
		return nil, notAppImage("trailer out of range")
	}
	l := &Layout{Offset: int64(off), Size: int64(size)}
	copy(l.Digest[:], t[32:])
	return l, nil
}

// Runtime returns the runtime elf as an AppImage begins: with Magic at
// MagicOffset, and ending where ELFEnd says it ends, so that the image
// can follow it. Go's linker puts the section header table right after
// the program headers and the section names after the last segment,
// where ELFEnd would not count them; so the table is copied to the end of
// the file and e_shoff pointed at the copy (an ELF file may hold its
// section table anywhere; the old one is left, unreferenced).
func Runtime(elf []byte) ([]byte, error) {
	end, err := ELFEnd(elf[:min(len(elf), headerSize)])
	if err != nil {
		return nil, err
	}
	if end > int64(len(elf)) {
		return nil, notAppImage("the runtime ends before its ELF headers say")
	}
	b := append([]byte{}, elf...)
	copy(b[MagicOffset:], Magic)
	if end == int64(len(b)) {
		return b, nil
	}
	le := binary.LittleEndian
	shoff := le.Uint64(b[40:])
	shsize := uint64(le.Uint16(b[58:])) * uint64(le.Uint16(b[60:]))
	if shsize == 0 || shoff+shsize > uint64(len(b)) {
		return nil, notAppImage("the runtime has data after its segments but no section table to move there")
	}
	// Keep the copy 8-byte aligned, as the ELF specification wants.
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	newOff := uint64(len(b))
	b = append(b, elf[shoff:shoff+shsize]...)
	le.PutUint64(b[40:], newOff)
	if end, err := ELFEnd(b[:min(len(b), headerSize)]); err != nil || end != int64(len(b)) {
		return nil, notAppImage("the runtime's section table cannot be moved to its end")
	}
	return b, nil
}
