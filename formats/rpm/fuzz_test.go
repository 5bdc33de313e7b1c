package rpm

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/syspkg/syspkgtest"
	"github.com/gpack/gpack/pack"
)

// parsedHeader is an rpm header as parseHeader reads it: each tag's type,
// count and data.
type parsedHeader map[uint32]entry

// parseHeader reads a header strictly: magic, index and store sizes
// within b, the region entry first with a trailer that closes the store
// and counts every entry, entries sorted by tag, each within the store
// and aligned to its type. It returns the header and its length.
func parseHeader(b []byte, region uint32) (parsedHeader, int, error) {
	if len(b) < 16 || !bytes.Equal(b[:8], headerMagic) {
		return nil, 0, fmt.Errorf("no header magic")
	}
	n, size := int(binary.BigEndian.Uint32(b[8:])), int(binary.BigEndian.Uint32(b[12:]))
	if n < 1 || 16+16*n+size > len(b) {
		return nil, 0, fmt.Errorf("%d entries and %d bytes do not fit", n, size)
	}
	index, store := b[16:16+16*n], b[16+16*n:16+16*n+size]
	h := parsedHeader{}
	last := uint32(0)
	for i := range n {
		e := index[16*i:]
		tag, typ := binary.BigEndian.Uint32(e), binary.BigEndian.Uint32(e[4:])
		off, count := int(int32(binary.BigEndian.Uint32(e[8:]))), binary.BigEndian.Uint32(e[12:])
		if i == 0 {
			if tag != region || typ != typeBin || count != 16 || off != size-16 {
				return nil, 0, fmt.Errorf("region entry %d %d %d %d", tag, typ, off, count)
			}
			tr := store[off:]
			if binary.BigEndian.Uint32(tr) != region || int32(binary.BigEndian.Uint32(tr[8:])) != int32(-16*n) {
				return nil, 0, fmt.Errorf("region trailer %x", tr)
			}
			continue
		}
		if tag <= last {
			return nil, 0, fmt.Errorf("tag %d after %d", tag, last)
		}
		last = tag
		width := map[uint32]int{typeInt16: 2, typeInt32: 4}[typ]
		var end int
		switch typ {
		case typeInt16, typeInt32:
			if off%width != 0 {
				return nil, 0, fmt.Errorf("tag %d: offset %d not aligned", tag, off)
			}
			end = off + width*int(count)
		case typeBin:
			end = off + int(count)
		case typeString, typeI18NString, typeStringArray:
			if typ != typeStringArray && count != 1 {
				return nil, 0, fmt.Errorf("tag %d: a string of count %d", tag, count)
			}
			end = off
			for range count {
				k := bytes.IndexByte(store[min(end, len(store)):], 0)
				if k < 0 {
					return nil, 0, fmt.Errorf("tag %d: unterminated string", tag)
				}
				end += k + 1
			}
		default:
			return nil, 0, fmt.Errorf("tag %d: type %d", tag, typ)
		}
		if off < 0 || end > size-16 {
			return nil, 0, fmt.Errorf("tag %d: data %d-%d outside the store", tag, off, end)
		}
		h[tag] = entry{tag: tag, typ: typ, count: count, data: store[off:end]}
	}
	return h, 16 + 16*n + size, nil
}

func (h parsedHeader) strs(tag uint32) []string {
	e, ok := h[tag]
	if !ok {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(e.data), "\x00"), "\x00")[:e.count]
}

func (h parsedHeader) ints(tag uint32) []uint32 {
	e := h[tag]
	var out []uint32
	for i := range int(e.count) {
		if e.typ == typeInt16 {
			out = append(out, uint32(binary.BigEndian.Uint16(e.data[2*i:])))
		} else {
			out = append(out, binary.BigEndian.Uint32(e.data[4*i:]))
		}
	}
	return out
}

// cpioEntry is a member of a newc cpio archive.
type cpioEntry struct {
	h    CpioHeader
	data []byte
}

// Name is the entry's name.
func (c cpioEntry) Name() string { return c.h.Name }

// readCpio parses a newc archive up to its trailer, strictly: magic,
// hexadecimal fields, the name's NUL and the padding to 4 bytes.
func readCpio(b []byte) ([]cpioEntry, error) {
	var out []cpioEntry
	off := 0
	for {
		if len(b)-off < 110 || string(b[off:off+6]) != "070701" {
			return nil, fmt.Errorf("offset %d: no newc header", off)
		}
		var f [13]uint64
		for i := range f {
			v, err := strconv.ParseUint(string(b[off+6+8*i:off+14+8*i]), 16, 32)
			if err != nil {
				return nil, fmt.Errorf("offset %d: field %d: %v", off, i, err)
			}
			f[i] = v
		}
		namesize, size := int(f[11]), int(f[6])
		start := off + 110
		if namesize < 1 || start+namesize > len(b) || b[start+namesize-1] != 0 {
			return nil, fmt.Errorf("offset %d: name", off)
		}
		name := string(b[start : start+namesize-1])
		data := (start + namesize + 3) &^ 3
		if data+size > len(b) {
			return nil, fmt.Errorf("%q: data beyond the end", name)
		}
		e := cpioEntry{CpioHeader{Ino: uint32(f[0]), Mode: uint32(f[1]), Nlink: uint32(f[4]), Mtime: uint32(f[5]), Size: uint32(size), Name: name}, b[data : data+size]}
		off = (data + size + 3) &^ 3
		if name == "TRAILER!!!" {
			if off != len(b) {
				return nil, fmt.Errorf("%d bytes after the trailer", len(b)-off)
			}
			return out, nil
		}
		out = append(out, e)
	}
}

// FuzzWrite writes random packages and reads them back with parseHeader
// and readCpio: the signature's sizes and digests hold, the file list is
// sorted and matches the payload, every file's digest its content, hard
// links share an inode within a directory and carry content once.
func FuzzWrite(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x10\x01\x00ab\x07\x41\x05\x03\x03\x00x\x11\x44\x02\x02y\x01\x00\x03\x01\x00z\x09\x00"))
	f.Add(bytes.Repeat([]byte{7, 1, 3, 'n', 0x55, 9, 2, 3, 3, 1, 1, 0}, 30))
	mtime := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := syspkgtest.RandomPackage(data)
		var buf bytes.Buffer
		if err := WritePackage(context.Background(), &buf, p, Options{Compression: compress.Gzip, Arch: "x86_64", Mtime: mtime, Scratch: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if len(b) < 96 || !bytes.Equal(b[:4], []byte{0xed, 0xab, 0xee, 0xdb}) {
			t.Fatal("no lead")
		}
		sig, n, err := parseHeader(b[96:], tagHeaderSignatures)
		if err != nil {
			t.Fatalf("signature: %v", err)
		}
		rest := b[96+(n+7)&^7:]
		h, hn, err := parseHeader(rest, tagHeaderImmutable)
		if err != nil {
			t.Fatalf("header: %v", err)
		}
		hdr, payload := rest[:hn], rest[hn:]
		s256 := sha256.Sum256(hdr)
		m := md5.Sum(rest)
		if sig.strs(sigSHA256)[0] != hex.EncodeToString(s256[:]) || !bytes.Equal(sig[sigMD5].data, m[:]) || sig.ints(sigSize)[0] != uint32(len(rest)) {
			t.Error("the signature's digests or size do not match")
		}
		ps := sha256.Sum256(payload)
		if h.strs(tagPayloadDigest)[0] != hex.EncodeToString(ps[:]) {
			t.Error("payload digest")
		}
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		raw, err := io.ReadAll(zr)
		if err != nil {
			t.Fatal(err)
		}
		if sig.ints(sigPayloadSize)[0] != uint32(len(raw)) {
			t.Error("payload size")
		}
		cp, err := readCpio(raw)
		if err != nil {
			t.Fatal(err)
		}
		dirs, bases, idx := h.strs(tagDirNames), h.strs(tagBaseNames), h.ints(tagDirIndexes)
		sizes, modes, inodes, digests, links := h.ints(tagFileSizes), h.ints(tagFileModes), h.ints(tagFileInodes), h.strs(tagFileDigests), h.strs(tagFileLinkTos)
		var names []string
		for i := range bases {
			names = append(names, dirs[idx[i]]+bases[i])
		}
		if !sort.StringsAreSorted(names) || !sort.StringsAreSorted(dirs) || len(names) != len(p.Entries) || len(cp) != len(names) {
			t.Fatalf("file list %q (dirs %q), %d entries, %d in the payload", names, dirs, len(p.Entries), len(cp))
		}
		byPath := map[string]pack.Entry{}
		for _, e := range p.Entries {
			byPath["/"+e.Path] = e
		}
		// The payload has the names of the list, but for the hard links of
		// a file, which come together, at the first of them, the content
		// with the last, as rpm's own writer puts them.
		byName := map[string]cpioEntry{}
		groups := map[uint32]bool{}
		for k := 0; k < len(cp); {
			c := cp[k]
			byName[c.Name()] = c
			k++
			if c.h.Nlink < 2 {
				continue
			}
			if groups[c.h.Ino] {
				t.Errorf("%q: the hard links of inode %d apart", c.h.Name, c.h.Ino)
			}
			groups[c.h.Ino] = true
			rest := int(c.h.Nlink) - 1
			last := c
			for ; rest > 0 && k < len(cp) && cp[k].h.Ino == c.h.Ino; rest-- {
				if last.h.Size != 0 {
					t.Errorf("%q: content before the last link", last.h.Name)
				}
				last = cp[k]
				byName[last.Name()] = last
				k++
			}
			if rest != 0 {
				t.Errorf("%q: %d links missing after it", c.h.Name, rest)
			}
		}
		content := map[uint32]int{} // inode -> names holding content
		for i, name := range names {
			e, c := byPath[name], byName["."+name]
			if c.h.Name != "."+name || c.h.Mtime != uint32(mtime.Unix()) || c.h.Mode != modes[i] || c.h.Ino != inodes[i] {
				t.Errorf("%q: payload %+v, header mode %o inode %d", name, c.h, modes[i], inodes[i])
			}
			if modes[i]&0o7777 != uint32(e.Mode) {
				t.Errorf("%q: mode %o, want %o", name, modes[i], e.Mode)
			}
			switch e.Kind {
			case pack.Symlink:
				if links[i] != e.Target || string(c.data) != e.Target {
					t.Errorf("%q: link %q, payload %q, want %q", name, links[i], c.data, e.Target)
				}
			case pack.File, pack.HardLink:
				src := e
				if e.Kind == pack.HardLink {
					src = byPath["/"+e.Target]
				}
				d := sha256.Sum256(src.Data)
				if digests[i] != hex.EncodeToString(d[:]) || sizes[i] != uint32(len(src.Data)) {
					t.Errorf("%q: digest or size", name)
				}
				if len(c.data) > 0 || c.h.Nlink == 1 {
					content[inodes[i]]++
					if !bytes.Equal(c.data, src.Data) {
						t.Errorf("%q: content differs", name)
					}
				}
			}
		}
		for i, name := range names {
			if e := byPath[name]; (e.Kind == pack.File || e.Kind == pack.HardLink) && len(byPath[name].Data) > 0 && content[inodes[i]] != 1 {
				t.Errorf("%q: content %d times", name, content[inodes[i]])
			}
			for j := range names {
				if inodes[j] == inodes[i] && j != i && dirs[idx[j]] != dirs[idx[i]] {
					t.Errorf("%q and %q: one inode in two directories", name, names[j])
				}
			}
		}
	})
}
