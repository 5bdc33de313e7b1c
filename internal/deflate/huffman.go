package deflate

import (
	"math/bits"
	"slices"
)

// huffman builds length-limited Huffman codes. Its buffers are reused from
// one code to the next, so building one allocates nothing.
type huffman struct {
	leaves []uint64 // freq<<16 | symbol, sorted
	weight []uint32 // of the nodes: leaves first, then internal nodes
	parent []uint16
	depth  []uint8
	freq   []uint32 // scaled copy, when a code came out too long
}

// lengths sets lens[s] to the code length of every symbol s of freq, at
// most limit bits, so that the code is complete (the decoders of zlib and Go
// refuse an incomplete one) and has at least two symbols: symbols that are
// not used get 0, unless two must be made up, which take length 1.
//
// The tree is a plain Huffman tree (two sorted queues, ties to the leaf of
// the lower symbol). When it is deeper than limit, the frequencies are
// halved (keeping them above 0) and the tree is built again: the code stays
// complete, at a tiny cost in size, and that is rare except for the
// code-length code, whose limit is 7.
func (h *huffman) lengths(freq []uint32, lens []uint8, limit int) {
	clear(lens)
	f := freq
	for {
		h.leaves = h.leaves[:0]
		for s, n := range f {
			if n > 0 {
				h.leaves = append(h.leaves, uint64(n)<<16|uint64(s))
			}
		}
		for s := 0; len(h.leaves) < 2; s++ {
			if f[s] == 0 {
				h.leaves = append(h.leaves, uint64(s)) // weight 0
			}
		}
		slices.Sort(h.leaves)
		if h.build(limit) {
			break
		}
		h.freq = append(h.freq[:0], f...)
		for i, n := range h.freq {
			if n > 0 {
				h.freq[i] = n>>1 | 1
			}
		}
		f = h.freq
	}
	for i, l := range h.leaves {
		lens[uint16(l)] = h.depth[i]
	}
}

// build makes the tree of h.leaves and sets h.depth of each leaf; it
// reports false when a leaf is deeper than limit.
func (h *huffman) build(limit int) bool {
	n := len(h.leaves)
	total := 2*n - 1
	h.weight = slices.Grow(h.weight[:0], total)[:total]
	h.parent = slices.Grow(h.parent[:0], total)[:total]
	h.depth = slices.Grow(h.depth[:0], total)[:total]
	for i, l := range h.leaves {
		h.weight[i] = uint32(l >> 16)
	}
	leaf, inner, next := 0, n, n
	pick := func() int {
		if leaf < n && (inner >= next || h.weight[leaf] <= h.weight[inner]) {
			leaf++
			return leaf - 1
		}
		inner++
		return inner - 1
	}
	for next < total {
		a := pick()
		b := pick()
		h.weight[next] = h.weight[a] + h.weight[b]
		h.parent[a], h.parent[b] = uint16(next), uint16(next)
		next++
	}
	h.depth[total-1] = 0
	ok := true
	for i := total - 2; i >= 0; i-- {
		d := h.depth[h.parent[i]] + 1
		h.depth[i] = d
		if int(d) > limit {
			ok = false
		}
	}
	return ok
}

// canonical sets codes to the canonical code of lens (RFC 1951, 3.2.2),
// each bit-reversed, since deflate sends codes from their first bit but
// packs bits from the least significant.
func canonical(lens []uint8, codes []uint16) {
	var count [16]uint16
	for _, l := range lens {
		count[l]++
	}
	count[0] = 0
	var next [16]uint16
	code := uint16(0)
	for b := 1; b < 16; b++ {
		code = (code + count[b-1]) << 1
		next[b] = code
	}
	for s, l := range lens {
		if l > 0 {
			codes[s] = bits.Reverse16(next[l]) >> (16 - l)
			next[l]++
		}
	}
}
