package rpm

import (
	"bytes"
	"encoding/binary"
	"sort"
)

// Header data types (rpmtag.h).
const (
	typeInt16       = 3
	typeInt32       = 4
	typeString      = 6
	typeBin         = 7
	typeStringArray = 8
	typeI18NString  = 9
)

// Region tags: the first entry of the signature and of the main header,
// whose trailer says every entry is in the immutable region.
const (
	tagHeaderSignatures = 62
	tagHeaderImmutable  = 63
)

var headerMagic = []byte{0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0}

// header is an rpm header being built: entries of a tag, a type, a count
// and data, written as an index and a data store, each value aligned to
// its type's size.
type header struct {
	entries []entry
}

type entry struct {
	tag, typ, count uint32
	data            []byte
	align           int
}

func (h *header) add(tag, typ, count uint32, data []byte, align int) {
	h.entries = append(h.entries, entry{tag, typ, count, data, align})
}

func (h *header) str(tag uint32, s string) { h.add(tag, typeString, 1, append([]byte(s), 0), 1) }

func (h *header) i18n(tag uint32, s string) { h.add(tag, typeI18NString, 1, append([]byte(s), 0), 1) }

func (h *header) strs(tag uint32, ss []string) {
	var b []byte
	for _, s := range ss {
		b = append(append(b, s...), 0)
	}
	h.add(tag, typeStringArray, uint32(len(ss)), b, 1)
}

func (h *header) int32s(tag uint32, vs []uint32) {
	b := make([]byte, 4*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint32(b[4*i:], v)
	}
	h.add(tag, typeInt32, uint32(len(vs)), b, 4)
}

func (h *header) int16s(tag uint32, vs []uint16) {
	b := make([]byte, 2*len(vs))
	for i, v := range vs {
		binary.BigEndian.PutUint16(b[2*i:], v)
	}
	h.add(tag, typeInt16, uint32(len(vs)), b, 2)
}

func (h *header) bin(tag uint32, b []byte) { h.add(tag, typeBin, uint32(len(b)), b, 1) }

// marshal writes the header with region as its immutable region: the
// region entry first, the other entries by tag, and the region's trailer
// at the end of the data store, as rpm writes and checks them.
func (h *header) marshal(region uint32) []byte {
	es := append([]entry(nil), h.entries...)
	sort.SliceStable(es, func(i, j int) bool { return es[i].tag < es[j].tag })
	n := len(es) + 1
	var store bytes.Buffer
	index := make([]byte, 0, 16*n)
	put := func(tag, typ uint32, off int, count uint32) {
		index = binary.BigEndian.AppendUint32(index, tag)
		index = binary.BigEndian.AppendUint32(index, typ)
		index = binary.BigEndian.AppendUint32(index, uint32(int32(off)))
		index = binary.BigEndian.AppendUint32(index, count)
	}
	var rest []byte
	for _, e := range es {
		for store.Len()%e.align != 0 {
			store.WriteByte(0)
		}
		off := store.Len()
		store.Write(e.data)
		rest = binary.BigEndian.AppendUint32(rest, e.tag)
		rest = binary.BigEndian.AppendUint32(rest, e.typ)
		rest = binary.BigEndian.AppendUint32(rest, uint32(off))
		rest = binary.BigEndian.AppendUint32(rest, e.count)
	}
	trailer := store.Len()
	var tr []byte
	tr = binary.BigEndian.AppendUint32(tr, region)
	tr = binary.BigEndian.AppendUint32(tr, typeBin)
	tr = binary.BigEndian.AppendUint32(tr, uint32(int32(-16*n)))
	tr = binary.BigEndian.AppendUint32(tr, 16)
	store.Write(tr)
	put(region, typeBin, trailer, 16)
	index = append(index, rest...)

	out := append([]byte(nil), headerMagic...)
	out = binary.BigEndian.AppendUint32(out, uint32(n))
	out = binary.BigEndian.AppendUint32(out, uint32(store.Len()))
	out = append(out, index...)
	return append(out, store.Bytes()...)
}
