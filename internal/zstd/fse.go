package zstd

import "math/bits"

// Sequence codes: literal and match lengths map to a code and extra bits
// (RFC 8878 section 3.1.1.3.2.1.1); offsets are their own code's extra bits.
var (
	llBase = [36]uint32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
		16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096,
		8192, 16384, 32768, 65536}
	llBits = [36]uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12,
		13, 14, 15, 16}
	mlBase = [53]uint32{3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
		19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
		35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051,
		4099, 8195, 16387, 32771, 65539}
	mlBits = [53]uint8{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11,
		12, 13, 14, 15, 16}

	// The predefined distributions (RFC 8878 section 3.1.1.3.2.2).
	llDefault = []int16{4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1,
		2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
		-1, -1, -1, -1}
	mlDefault = []int16{1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1,
		-1, -1, -1, -1, -1}
	ofDefault = []int16{1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
		1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1}
)

// llCode and mlCode return a length's code.
func llCode(ll uint32) uint8 {
	if ll < 16 {
		return uint8(ll)
	}
	if ll >= 65536 {
		return 35
	}
	c := uint8(16)
	for c < 35 && llBase[c+1] <= ll {
		c++
	}
	return c
}

func mlCode(ml uint32) uint8 {
	if ml < 35 {
		return uint8(ml - 3)
	}
	if ml >= 65539 {
		return 52
	}
	c := uint8(32)
	for c < 52 && mlBase[c+1] <= ml {
		c++
	}
	return c
}

// ofCode is the code of an offset value (offBase: 1-3 repeat, else
// offset+3).
func ofCode(offBase uint32) uint8 { return uint8(bits.Len32(offBase) - 1) }

// bitWriter appends bits LSB first, the order the zstd decoder reads
// backwards from the stream's end.
type bitWriter struct {
	out   []byte
	acc   uint64
	nbits uint
}

func (w *bitWriter) add(v uint32, n uint8) {
	if n == 0 {
		return
	}
	w.acc |= uint64(v&(1<<n-1)) << w.nbits
	w.nbits += uint(n)
	for w.nbits >= 8 {
		w.out = append(w.out, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
}

// close ends the stream with the 1 bit that marks its last byte.
func (w *bitWriter) close() []byte {
	w.add(1, 1)
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	w.acc, w.nbits = 0, 0
	return w.out
}

// fseTable is an FSE encoding table built from a normalized distribution
// (counts summing to 1<<log; -1 is a "less than one" probability).
type fseTable struct {
	log        uint8
	states     []uint16
	deltaBits  []uint32
	deltaState []int32
}

func (t *fseTable) build(norm []int16, log uint8) {
	size := 1 << log
	mask := size - 1
	t.log = log
	sym := make([]uint8, size)
	high := size - 1
	for s, c := range norm {
		if c == -1 {
			sym[high] = uint8(s)
			high--
		}
	}
	step := size>>1 + size>>3 + 3
	pos := 0
	for s, c := range norm {
		for i := 0; i < int(c); i++ {
			sym[pos] = uint8(s)
			pos = (pos + step) & mask
			for pos > high {
				pos = (pos + step) & mask
			}
		}
	}
	cumul := make([]int, len(norm)+1)
	for s, c := range norm {
		n := int(c)
		if c == -1 {
			n = 1
		}
		cumul[s+1] = cumul[s] + n
	}
	t.states = make([]uint16, size)
	for u := 0; u < size; u++ {
		s := sym[u]
		t.states[cumul[s]] = uint16(size + u)
		cumul[s]++
	}
	t.deltaBits = make([]uint32, len(norm))
	t.deltaState = make([]int32, len(norm))
	total := 0
	for s, c := range norm {
		switch {
		case c == 0:
			t.deltaBits[s] = (uint32(log)+1)<<16 - uint32(size)
		case c == -1 || c == 1:
			t.deltaBits[s] = uint32(log)<<16 - uint32(size)
			t.deltaState[s] = int32(total - 1)
			total++
		default:
			maxOut := uint32(log) - uint32(bits.Len32(uint32(c)-1)-1)
			t.deltaBits[s] = maxOut<<16 - uint32(c)<<maxOut
			t.deltaState[s] = int32(total - int(c))
			total += int(c)
		}
	}
}

// fseState is one stream's encoder state.
type fseState struct {
	t     *fseTable
	state uint32
}

func (e *fseState) init(t *fseTable, s uint8) {
	e.t = t
	nb := (t.deltaBits[s] + 1<<15) >> 16
	v := nb<<16 - t.deltaBits[s]
	e.state = uint32(t.states[int32(v>>nb)+t.deltaState[s]])
}

func (e *fseState) encode(w *bitWriter, s uint8) {
	nb := (e.state + e.t.deltaBits[s]) >> 16
	w.add(e.state, uint8(nb))
	e.state = uint32(e.t.states[int32(e.state>>nb)+e.t.deltaState[s]])
}

func (e *fseState) flush(w *bitWriter) { w.add(e.state, e.t.log) }

// normalize scales counts (total n, at least 2 symbols present) to sum to
// 1<<log, every present symbol keeping at least 1, rounding so that the
// coded size is least: the error is given to or taken from the symbols for
// which one count more or less costs or saves the most.
func normalize(norm []int16, counts []uint32, n int, log uint8) bool {
	size := 1 << log
	sum := 0
	present := 0
	for s, c := range counts {
		if c == 0 {
			norm[s] = 0
			continue
		}
		present++
		v := int((uint64(c)*uint64(size) + uint64(n)/2) / uint64(n))
		v = max(v, 1)
		norm[s] = int16(v)
		sum += v
	}
	if present > size {
		return false
	}
	// Gain (in bits × counts) of moving a symbol's count by one:
	// c·log2((v+1)/v). Compare c1·log2(1+1/v1) via a fixed-point log.
	for sum != size {
		best, bestGain := -1, int64(-1)
		for s, c := range counts {
			if c == 0 {
				continue
			}
			v := int64(norm[s])
			var g int64
			if sum < size {
				g = int64(c) * (log2fix(uint32(v+1)) - log2fix(uint32(v)))
			} else {
				if v <= 1 {
					continue
				}
				g = -int64(c) * (log2fix(uint32(v)) - log2fix(uint32(v-1)))
			}
			if best < 0 || g > bestGain {
				best, bestGain = s, g
			}
		}
		if best < 0 {
			return false
		}
		if sum < size {
			norm[best]++
			sum++
		} else {
			norm[best]--
			sum--
		}
	}
	return true
}

// writeNCount appends the distribution's header (RFC 8878 section
// 4.1.1).
func writeNCount(dst []byte, norm []int16, log uint8) []byte {
	w := bitWriter{out: dst}
	w.add(uint32(log)-5, 4)
	size := 1 << log
	remaining := size + 1
	threshold := size
	nb := log + 1
	last := len(norm) - 1
	for last > 0 && norm[last] == 0 {
		last--
	}
	for s := 0; s <= last && remaining > 1; {
		c := int(norm[s])
		maxv := 2*threshold - 1 - remaining
		v := c + 1
		if v < maxv {
			w.add(uint32(v), nb-1)
		} else {
			if v >= threshold {
				v += maxv
			}
			w.add(uint32(v), nb)
		}
		if c < 0 {
			remaining++
		} else {
			remaining -= c
		}
		for remaining < threshold {
			nb--
			threshold >>= 1
		}
		s++
		if c == 0 {
			z := 0
			for s+z <= last && norm[s+z] == 0 {
				z++
			}
			s += z
			for z >= 3 {
				w.add(3, 2)
				z -= 3
			}
			w.add(uint32(z), 2)
		}
	}
	// Byte aligned, no end marker.
	if w.nbits > 0 {
		w.out = append(w.out, byte(w.acc))
	}
	return w.out
}

// log2fix is log2(x) in 1/256 bits, by integer arithmetic so that prices
// are the same on every machine.
func log2fix(x uint32) int64 {
	if x == 0 {
		return 0
	}
	n := bits.Len32(x) - 1
	// Mantissa in Q30: 1.0 <= m < 2.0.
	m := uint64(x) << (30 - n) // n <= 31; for n > 30 shift right
	if n > 30 {
		m = uint64(x) >> (n - 30)
	}
	r := int64(n) << 8
	for i := 7; i >= 0; i-- {
		m = m * m >> 30
		if m >= 2<<30 {
			m >>= 1
			r |= 1 << i
		}
	}
	return r
}
