package lzma

import (
	"bytes"
	"testing"
)

// FuzzEncode encodes the input as an xz stream of one segment and as one of
// two segments cut where the fuzzer says, with a dictionary and nice
// length it picks, and decodes both with ulikunitz/xz and xz.
func FuzzEncode(f *testing.F) {
	f.Add([]byte(""), uint8(0), uint16(0))
	f.Add([]byte("a"), uint8(1), uint16(1))
	f.Add(bytes.Repeat([]byte("abcabd"), 3000), uint8(2), uint16(7000))
	f.Add(text(20_000, 1), uint8(3), uint16(10_000))
	f.Add(random(10_000, 2), uint8(4), uint16(4))
	f.Fuzz(func(t *testing.T, data []byte, sel uint8, cut uint16) {
		o := Options{DictSize: 4096<<(sel%4) + int(cut%5), NiceLen: []int{8, 16, 64, 273}[sel>>2%4], Depth: 1 + int(sel>>4)}
		e, err := NewEncoder(o)
		if err != nil {
			t.Fatal(err)
		}
		checkBoth(t, "one segment", e.AppendXZ(nil, data), data)
		c := min(int(cut)&^3, len(data))
		checkBoth(t, "two segments", segmented(e, data, []int{c}), data)
	})
}
