package zstd

import (
	"github.com/klauspost/compress/huff0"
)

// compressed appends the body of a compressed block for the sequences
// and literals parse chose; ok is false when it cannot be coded (the
// caller then stores the block raw).
func (e *Encoder) compressed(dst, b []byte) ([]byte, bool) {
	dst = e.literals(dst)
	return e.sequences(dst)
}

// literals appends the literals section: Huffman-coded (one stream up to
// 1023 bytes, four above), or raw or RLE when that is not larger.
func (e *Encoder) literals(dst []byte) []byte {
	lits := e.lits
	n := len(lits)
	rle := n > 1
	for _, c := range lits {
		if c != lits[0] {
			rle = false
			break
		}
	}
	if rle {
		return append(appendLitHeader(dst, 1, n), lits[0])
	}
	if n >= 32 {
		// A fresh table every time: the output depends on this block
		// only.
		e.huff = huff0.Scratch{Reuse: huff0.ReusePolicyNone}
		var out []byte
		var err error
		four := n > 1023
		if four {
			out, _, err = huff0.Compress4X(lits, &e.huff)
		} else {
			out, _, err = huff0.Compress1X(lits, &e.huff)
		}
		if err == nil && len(out)+5 < n {
			c := len(out)
			var sf, nb uint
			switch {
			case !four:
				sf, nb = 0, 10
			case n <= 1023 && c <= 1023:
				sf, nb = 1, 10
			case n <= 16383 && c <= 16383:
				sf, nb = 2, 14
			default:
				sf, nb = 3, 18
			}
			h := uint64(2) | uint64(sf)<<2 | uint64(n)<<4 | uint64(c)<<(4+nb)
			hb := (4 + 2*nb + 7) / 8
			for k := uint(0); k < hb; k++ {
				dst = append(dst, byte(h>>(8*k)))
			}
			return append(dst, out...)
		}
	}
	return append(appendLitHeader(dst, 0, n), lits...)
}

// appendLitHeader appends a raw (typ 0) or RLE (typ 1) literals header.
func appendLitHeader(dst []byte, typ byte, n int) []byte {
	switch {
	case n < 32:
		return append(dst, typ|byte(n)<<3)
	case n < 4096:
		return append(dst, typ|1<<2|byte(n)<<4, byte(n>>4))
	}
	return append(dst, typ|3<<2|byte(n)<<4, byte(n>>4), byte(n>>12))
}

// Symbol compression modes.
const (
	modePredefined = 0
	modeRLE        = 1
	modeFSE        = 2
)

// codeStream is one of the three code streams and its chosen table.
type codeStream struct {
	codes  []uint8
	hist   []uint32
	mode   int
	rleSym uint8
	norm   []int16
	log    uint8
}

// sequences appends the sequences section.
func (e *Encoder) sequences(dst []byte) ([]byte, bool) {
	seqs := e.seqs
	n := len(seqs)
	switch {
	case n < 128:
		dst = append(dst, byte(n))
	case n < 0x7F00:
		dst = append(dst, byte(n>>8)+128, byte(n))
	default:
		dst = append(dst, 0xFF, byte(n-0x7F00), byte((n-0x7F00)>>8))
	}
	if n == 0 {
		return dst, true
	}
	ll := codeStream{codes: make([]uint8, n), hist: make([]uint32, 36)}
	ml := codeStream{codes: make([]uint8, n), hist: make([]uint32, 53)}
	of := codeStream{codes: make([]uint8, n), hist: make([]uint32, 32)}
	for i, q := range seqs {
		c := llCode(q.ll)
		ll.codes[i] = c
		ll.hist[c]++
		c = mlCode(q.ml)
		ml.codes[i] = c
		ml.hist[c]++
		c = ofCode(q.offBase)
		of.codes[i] = c
		of.hist[c]++
	}
	ll.choose(llDefault, 6, 9, n)
	of.choose(ofDefault, 5, 8, n)
	ml.choose(mlDefault, 6, 9, n)
	dst = append(dst, byte(ll.mode<<6|of.mode<<4|ml.mode<<2))
	for _, s := range []*codeStream{&ll, &of, &ml} {
		switch s.mode {
		case modeRLE:
			dst = append(dst, s.rleSym)
		case modeFSE:
			dst = writeNCount(dst, s.norm, s.log)
		}
	}
	e.lt.build(ll.norm, ll.log)
	e.ot.build(of.norm, of.log)
	e.mt.build(ml.norm, ml.log)
	w := &e.bw
	w.out, w.acc, w.nbits = dst, 0, 0
	var sl, so, sm fseState
	last := n - 1
	if ll.mode != modeRLE {
		sl.init(&e.lt, ll.codes[last])
	}
	if of.mode != modeRLE {
		so.init(&e.ot, of.codes[last])
	}
	if ml.mode != modeRLE {
		sm.init(&e.mt, ml.codes[last])
	}
	// Reverse order, so that the decoder reads forward: per sequence the
	// decoder takes offset, match and literal extra bits, then updates
	// the literal, match and offset states.
	put := func(i int) {
		q := seqs[i]
		c := ll.codes[i]
		w.add(q.ll-llBase[c], llBits[c])
		c = ml.codes[i]
		w.add(q.ml-mlBase[c], mlBits[c])
		c = of.codes[i]
		w.add(q.offBase-1<<c, c)
	}
	put(last)
	for i := last - 1; i >= 0; i-- {
		if of.mode != modeRLE {
			so.encode(w, of.codes[i])
		}
		if ml.mode != modeRLE {
			sm.encode(w, ml.codes[i])
		}
		if ll.mode != modeRLE {
			sl.encode(w, ll.codes[i])
		}
		put(i)
	}
	if ml.mode != modeRLE {
		sm.flush(w)
	}
	if of.mode != modeRLE {
		so.flush(w)
	}
	if ll.mode != modeRLE {
		sl.flush(w)
	}
	return w.close(), true
}

// choose picks the cheapest of the predefined table, RLE and a table of
// its own at each accuracy from 5 to maxLog, by estimated bits.
func (s *codeStream) choose(def []int16, defLog, maxLog uint8, n int) {
	distinct, sym := 0, 0
	for c, h := range s.hist {
		if h > 0 {
			distinct++
			sym = c
		}
	}
	if distinct == 1 {
		s.mode, s.rleSym = modeRLE, uint8(sym)
		// Any valid table: the states are never used.
		s.norm, s.log = def, defLog
		return
	}
	best := int64(inf)
	ok := true
	var cost int64
	for c, h := range s.hist {
		if h == 0 {
			continue
		}
		if c >= len(def) || def[c] == 0 {
			ok = false
			break
		}
		p := int64(def[c])
		if p < 0 {
			p = 1
		}
		cost += int64(h) * (int64(defLog)<<8 - log2fix(uint32(p)))
	}
	if ok {
		s.mode, s.norm, s.log, best = modePredefined, def, defLog, cost
	}
	norm := make([]int16, len(s.hist))
	var hdr []byte
	for log := uint8(5); log <= maxLog; log++ {
		if !normalize(norm, s.hist, n, log) {
			continue
		}
		hdr = writeNCount(hdr[:0], norm, log)
		cost := int64(len(hdr)) << 11
		for c, h := range s.hist {
			if h > 0 {
				cost += int64(h) * (int64(log)<<8 - log2fix(uint32(norm[c])))
			}
		}
		if cost < best {
			best = cost
			s.mode, s.log = modeFSE, log
			s.norm = append([]int16(nil), norm...)
		}
	}
}
