package deflate

import "encoding/binary"

// bitWriter packs bits the way deflate wants them: least significant bit
// first, appended to out.
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

// write appends the n low bits of v (n at most 32).
func (w *bitWriter) write(v uint32, n uint) {
	w.acc |= uint64(v) << w.nbits
	w.nbits += n
	if w.nbits >= 32 {
		w.out = binary.LittleEndian.AppendUint32(w.out, uint32(w.acc))
		w.acc >>= 32
		w.nbits -= 32
	}
}

// align pads with zero bits to the next byte boundary and flushes.
func (w *bitWriter) align() {
	for w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= min(w.nbits, 8)
	}
	w.acc = 0
}

// bitLen is the number of bits written so far.
func (w *bitWriter) bitLen() int { return 8*len(w.out) + int(w.nbits) }
