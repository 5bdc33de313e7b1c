package deflate

// clSym is one symbol of a dynamic block header's code lengths: a length
// (0 to 15) or a repeat (16 to 18) with its extra bits.
type clSym struct {
	sym, extra uint8
}

// header is a dynamic block's header, ready to write.
type header struct {
	nlit, ndist, nclen int
	syms               []clSym
	clLens             [numCL]uint8
	clCodes            [numCL]uint16
	bits               int // size of the header, block type included
}

// makeHeader run-length codes the code lengths of litLens and distLens
// (RFC 1951, 3.2.7) into h.
func (e *Encoder) makeHeader(h *header) {
	h.nlit = numLitLen
	for h.nlit > 257 && e.litLens[h.nlit-1] == 0 {
		h.nlit--
	}
	h.ndist = numDist
	for h.ndist > 1 && e.distLens[h.ndist-1] == 0 {
		h.ndist--
	}
	var all [numLitLen + numDist]uint8
	n := copy(all[:], e.litLens[:h.nlit])
	n += copy(all[n:], e.distLens[:h.ndist])
	lens := all[:n]
	h.syms = h.syms[:0]
	for i := 0; i < len(lens); {
		l := lens[i]
		run := 1
		for i+run < len(lens) && lens[i+run] == l {
			run++
		}
		i += run
		if l == 0 {
			for run >= 11 {
				r := min(run, 138)
				h.syms = append(h.syms, clSym{18, uint8(r - 11)})
				run -= r
			}
			if run >= 3 {
				h.syms = append(h.syms, clSym{17, uint8(run - 3)})
				run = 0
			}
		} else {
			h.syms = append(h.syms, clSym{l, 0})
			run--
			for run >= 3 {
				r := min(run, 6)
				h.syms = append(h.syms, clSym{16, uint8(r - 3)})
				run -= r
			}
		}
		for ; run > 0; run-- {
			h.syms = append(h.syms, clSym{l, 0})
		}
	}
	var freq [numCL]uint32
	for _, s := range h.syms {
		freq[s.sym]++
	}
	e.hf.lengths(freq[:], h.clLens[:], 7)
	canonical(h.clLens[:], h.clCodes[:])
	h.nclen = numCL
	for h.nclen > 4 && h.clLens[codeLenOrder[h.nclen-1]] == 0 {
		h.nclen--
	}
	h.bits = 3 + 5 + 5 + 4 + 3*h.nclen
	for _, s := range h.syms {
		h.bits += int(h.clLens[s.sym]) + clExtra(s.sym)
	}
}

func clExtra(sym uint8) int {
	switch sym {
	case 16:
		return 2
	case 17:
		return 3
	case 18:
		return 7
	}
	return 0
}

// dataBits is the size of the tokens, and the end of block, in the codes
// of litLens and distLens.
func (e *Encoder) dataBits(litLens []uint8, distLens []uint8) int {
	n := 0
	for s, f := range e.litFreq {
		n += int(f) * int(litLens[s])
		if s > endBlock {
			n += int(f) * int(lengthExtra[s-257])
		}
	}
	for s, f := range e.distFreq {
		n += int(f) * (int(distLens[s]) + int(distExtra[s]))
	}
	return n
}

// writeBlock writes the tokens of buf[lo:hi] as the smallest of a dynamic
// block, a fixed one and stored blocks.
func (e *Encoder) writeBlock(lo, hi int, final bool) {
	var h header
	e.makeHeader(&h)
	dynamic := h.bits + e.dataBits(e.litLens[:], e.distLens[:])
	fixed := 3 + e.dataBits(fixedLitLenLens[:], fixedDistLens[:])
	n := hi - lo
	// Stored: each block of up to 65535 bytes has 3 header bits,
	// padding to a byte and 4 bytes of lengths.
	nstored := max(1, (n+65534)/65535)
	stored := 8*n + 40*nstored + int(8-(e.bw.nbits+3)%8)%8 - 5
	fin := uint32(0)
	if final {
		fin = 1
	}
	switch {
	case stored < dynamic && stored < fixed:
		for i := 0; i < nstored; i++ {
			a, b := lo+n*i/nstored, lo+n*(i+1)/nstored
			last := uint32(0)
			if i == nstored-1 {
				last = fin
			}
			e.bw.write(last, 3)
			e.bw.align()
			k := b - a
			e.bw.out = append(e.bw.out, byte(k), byte(k>>8), ^byte(k), ^byte(k>>8))
			e.bw.out = append(e.bw.out, e.buf[a:b]...)
		}
	case fixed <= dynamic:
		e.bw.write(fin|1<<1, 3)
		canonical(fixedLitLenLens[:], e.litCodes[:])
		canonical(fixedDistLens[:], e.dstCodes[:])
		e.writeTokens(fixedLitLenLens[:], fixedDistLens[:])
	default:
		e.bw.write(fin|2<<1, 3)
		e.bw.write(uint32(h.nlit-257), 5)
		e.bw.write(uint32(h.ndist-1), 5)
		e.bw.write(uint32(h.nclen-4), 4)
		for _, s := range codeLenOrder[:h.nclen] {
			e.bw.write(uint32(h.clLens[s]), 3)
		}
		for _, s := range h.syms {
			e.bw.write(uint32(h.clCodes[s.sym]), uint(h.clLens[s.sym]))
			if x := clExtra(s.sym); x > 0 {
				e.bw.write(uint32(s.extra), uint(x))
			}
		}
		canonical(e.litLens[:], e.litCodes[:])
		canonical(e.distLens[:], e.dstCodes[:])
		e.writeTokens(e.litLens[:], e.distLens[:])
	}
}

// writeTokens writes the tokens and the end of block in the codes of
// e.litCodes and e.dstCodes, whose lengths are litLens and distLens.
func (e *Encoder) writeTokens(litLens, distLens []uint8) {
	bw := &e.bw
	for _, t := range e.tokens {
		if t < 256 {
			bw.write(uint32(e.litCodes[t]), uint(litLens[t]))
			continue
		}
		l := int(t >> 16)
		c := int(lengthCode[l])
		s := 257 + c
		bw.write(uint32(e.litCodes[s])|uint32(l-int(lengthBase[c]))<<litLens[s], uint(litLens[s])+uint(lengthExtra[c]))
		d := int(t & 0xffff)
		ds := distSlot(d)
		bw.write(uint32(e.dstCodes[ds])|uint32(d-int(distBase[ds]))<<distLens[ds], uint(distLens[ds])+uint(distExtra[ds]))
	}
	bw.write(uint32(e.litCodes[endBlock]), uint(litLens[endBlock]))
}
