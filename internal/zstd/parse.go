package zstd

import "math"

// Prices are in 1/256 bit.
const inf = math.MaxInt64 / 4

// stats are the code prices the parser works with: from the block's byte
// histogram and the predefined distributions at first, then from what the
// previous pass chose.
type stats struct {
	lit [256]int64
	ll  [36]int64
	ml  [53]int64
	of  [32]int64

	// mlP and llP are the lengths' prices, code and extra bits, for the
	// lengths the parser looks up most.
	mlP [1024]int64
	llP [1024]int64
}

// tables fills mlP and llP from the code prices.
func (s *stats) tables() {
	for l := range s.llP {
		c := llCode(uint32(l))
		s.llP[l] = s.ll[c] + int64(llBits[c])<<8
	}
	for l := minMatch; l < len(s.mlP); l++ {
		c := mlCode(uint32(l))
		s.mlP[l] = s.ml[c] + int64(mlBits[c])<<8
	}
}

func (s *stats) initial(b []byte) {
	var h [256]uint32
	for _, c := range b {
		h[c]++
	}
	tot := log2fix(uint32(len(b)))
	for i, c := range h {
		s.lit[i] = min(tot-log2fix(c+1)+16, 11<<8)
	}
	fromNorm := func(dst []int64, norm []int16, log uint8) {
		for i := range dst {
			c := int16(1)
			if i < len(norm) && norm[i] > 1 {
				c = norm[i]
			}
			dst[i] = int64(log)<<8 - log2fix(uint32(c))
			if i >= len(norm) {
				dst[i] += 2 << 8
			}
		}
	}
	fromNorm(s.ll[:], llDefault, 6)
	fromNorm(s.ml[:], mlDefault, 6)
	fromNorm(s.of[:], ofDefault, 5)
}

// fromSeqs prices each code by its frequency in the previous parse.
func (s *stats) fromSeqs(lits []byte, seqs []seq) {
	var lh [256]uint32
	for _, c := range lits {
		lh[c]++
	}
	set := func(dst []int64, h []uint32, total int, cap int64) {
		t := log2fix(uint32(total + len(h)))
		for i, c := range h {
			dst[i] = min(t-log2fix(c+1), cap)
		}
	}
	set(s.lit[:], lh[:], len(lits), 11<<8)
	var llh [36]uint32
	var mlh [53]uint32
	var ofh [32]uint32
	for _, q := range seqs {
		llh[llCode(q.ll)]++
		mlh[mlCode(q.ml)]++
		ofh[ofCode(q.offBase)]++
	}
	set(s.ll[:], llh[:], len(seqs), 12<<8)
	set(s.ml[:], mlh[:], len(seqs), 12<<8)
	set(s.of[:], ofh[:], len(seqs), 12<<8)
}

func (s *stats) llPrice(ll uint32) int64 {
	if ll < uint32(len(s.llP)) {
		return s.llP[ll]
	}
	c := llCode(ll)
	return s.ll[c] + int64(llBits[c])<<8
}

// offPrice is an offset value's price, code and extra bits.
func (s *stats) offPrice(offBase uint32) int64 {
	oc := ofCode(offBase)
	return s.of[oc] + int64(oc)<<8
}

func (s *stats) mlPrice(ml uint32) int64 {
	if ml < uint32(len(s.mlP)) {
		return s.mlP[ml]
	}
	mc := mlCode(ml)
	return s.ml[mc] + int64(mlBits[mc])<<8
}

func hash3(b []byte, i int) uint32 {
	v := uint32(b[i]) | uint32(b[i+1])<<8 | uint32(b[i+2])<<16
	return v * 506832829 >> (32 - hashLog)
}

func matchLen(b []byte, i, j, max int) int {
	n := 0
	for n < max && b[i+n] == b[j+n] {
		n++
	}
	return n
}

// findMatches records, for each position, up to maxCand earlier matches
// of growing length from a hash chain of 3-byte prefixes. After a match of
// nice length or more, the positions it covers are only inserted: the
// parser takes such a match whole.
func (e *Encoder) findMatches(b []byte) {
	n := len(b)
	if e.head == nil {
		e.head = make([]int32, 1<<hashLog)
	}
	for i := range e.head {
		e.head[i] = -1
	}
	e.prev = grow(e.prev, n)
	e.cstart = grow(e.cstart, n+1)
	e.cands = e.cands[:0]
	skip := 0
	for i := 0; i < n; i++ {
		e.cstart[i] = int32(len(e.cands))
		if i+minMatch > n {
			continue
		}
		h := hash3(b, i)
		if i >= skip {
			best := minMatch - 1
			limit := n - i
			k := 0
			for c := e.head[h]; c >= 0 && k < e.p.depth; c = e.prev[c] {
				k++
				ci := int(c)
				if b[ci+best] != b[i+best] || b[ci] != b[i] {
					continue
				}
				l := matchLen(b, ci, i, limit)
				if l <= best {
					continue
				}
				best = l
				m := match{uint32(l), uint32(i - ci)}
				if int(int32(len(e.cands)))-int(e.cstart[i]) < e.p.maxCand {
					e.cands = append(e.cands, m)
				} else {
					e.cands[len(e.cands)-1] = m
				}
				if l >= e.p.nice || l == limit {
					skip = i + l
					break
				}
			}
		}
		e.prev[i] = e.head[h]
		e.head[h] = int32(i)
	}
	e.cstart[n] = int32(len(e.cands))
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// newReps is the repeat offsets after a sequence (RFC 8878 section
// 3.1.2.5).
func newReps(r [3]uint32, offBase, ll uint32) [3]uint32 {
	if offBase > 3 {
		return [3]uint32{offBase - 3, r[0], r[1]}
	}
	idx := offBase - 1
	if ll == 0 {
		idx++
	}
	switch idx {
	case 0:
		return r
	case 1:
		return [3]uint32{r[1], r[0], r[2]}
	case 2:
		return [3]uint32{r[2], r[0], r[1]}
	}
	return [3]uint32{r[0] - 1, r[0], r[1]}
}

// repOffset is the offset a repeat code stands for.
func repOffset(r [3]uint32, offBase, ll uint32) uint32 {
	idx := offBase - 1
	if ll == 0 {
		idx++
	}
	if idx == 3 {
		return r[0] - 1
	}
	return r[idx]
}

// parse chooses the block's sequences: passes of a shortest-path parse
// over the prices, each pass priced by the one before.
func (e *Encoder) parse(b []byte, reps *[3]uint32) {
	e.findMatches(b)
	e.st.initial(b)
	start := *reps
	for pass := 0; pass < e.p.passes; pass++ {
		if pass > 0 {
			e.st.fromSeqs(e.lits, e.seqs)
		}
		e.st.tables()
		*reps = e.optimal(b, start)
	}
}

func (e *Encoder) optimal(b []byte, reps [3]uint32) [3]uint32 {
	n := len(b)
	st := &e.st
	e.opt = grow(e.opt, n+1)
	opt := e.opt
	for i := range opt {
		opt[i].price = inf
	}
	opt[0] = node{price: st.llPrice(0), reps: reps}
	ll0 := st.llPrice(0)
	skip := 0
	for i := 0; i < n; i++ {
		cur := &opt[i]
		if i < skip {
			continue
		}
		// A literal.
		p := cur.price + st.lit[b[i]] + st.llPrice(cur.litlen+1) - st.llPrice(cur.litlen)
		if nx := &opt[i+1]; p < nx.price {
			*nx = node{price: p, litlen: cur.litlen + 1, reps: cur.reps}
		}
		if i+minMatch > n {
			continue
		}
		limit := n - i
		longest := 0
		relax := func(offBase uint32, from, to int) {
			base := cur.price + st.offPrice(offBase) + ll0
			for l := from; l <= to; l++ {
				p := base + st.mlPrice(uint32(l))
				if nx := &opt[i+l]; p < nx.price {
					*nx = node{price: p, mlen: uint32(l), offBase: offBase,
						reps: newReps(cur.reps, offBase, cur.litlen)}
				}
			}
		}
		// Repeat offsets first: with equal prices the cheaper code wins
		// by coming first.
		for ob := uint32(1); ob <= 3; ob++ {
			off := int(repOffset(cur.reps, ob, cur.litlen))
			if off <= 0 || off > i {
				continue
			}
			if b[i] != b[i-off] || b[i+1] != b[i+1-off] {
				continue
			}
			l := matchLen(b, i-off, i, limit)
			if l < minMatch {
				continue
			}
			if l >= e.p.nice {
				relax(ob, l, l)
			} else {
				relax(ob, minMatch, l)
			}
			longest = max(longest, l)
		}
		prevLen := minMatch - 1
		for _, m := range e.cands[e.cstart[i]:e.cstart[i+1]] {
			l := int(m.len)
			if l >= e.p.nice {
				relax(m.off+3, l, l)
			} else {
				relax(m.off+3, prevLen+1, l)
			}
			prevLen = l
			longest = max(longest, l)
		}
		if longest >= e.p.nice {
			skip = i + longest
		}
	}
	// Back from the end.
	e.seqs = e.seqs[:0]
	j := n
	for j > 0 {
		nd := &opt[j]
		if nd.mlen == 0 {
			j--
			continue
		}
		e.seqs = append(e.seqs, seq{ml: nd.mlen, offBase: nd.offBase})
		j -= int(nd.mlen)
	}
	// Reverse and fill in the literal lengths.
	for a, z := 0, len(e.seqs)-1; a < z; a, z = a+1, z-1 {
		e.seqs[a], e.seqs[z] = e.seqs[z], e.seqs[a]
	}
	e.lits = e.lits[:0]
	pos := 0
	// Walk forward: each sequence starts after its literals; find the
	// start by replaying the ends recorded in opt.
	ends := make([]int, 0, len(e.seqs))
	j = n
	for j > 0 {
		nd := &opt[j]
		if nd.mlen == 0 {
			j--
			continue
		}
		ends = append(ends, j)
		j -= int(nd.mlen)
	}
	for k := range e.seqs {
		end := ends[len(ends)-1-k]
		s := end - int(e.seqs[k].ml)
		e.seqs[k].ll = uint32(s - pos)
		e.lits = append(e.lits, b[pos:s]...)
		pos = end
	}
	e.lits = append(e.lits, b[pos:]...)
	return opt[n].reps
}
