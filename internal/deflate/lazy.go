package deflate

import "encoding/binary"

// chainBits is the size of the hash table of the lazy levels' chains.
const chainBits = 16

// far3 is the farthest a lazy level takes a match of 3 bytes from.
const far3 = 4096

// lazyBits is what a lazy level counts each byte of a longer match as
// worth, in bits, against the extra bits of its distance: the match at
// the next position replaces the one here when its extra length, at
// lazyBits a byte, outweighs the extra distance bits it adds (so one as
// long replaces it only when nearer in extra bits). Against zlib's
// longer-wins, it made 0.4 % less on the 16 MiB Go toolchain and Python
// samples; 2 and 8 were no better.
const lazyBits = 4

// hashChains is the match finder of the lazy levels (zlib's): per hash
// of the next 4 bytes, the last position, and per position the one before
// it with the same hash. Inserting is two stores, so the positions inside
// a match cost next to nothing, unlike in the binary tree, where each one
// is a walk; a search walks the chain newest first.
type hashChains struct {
	head []int32 // 1<<chainBits
	prev []int32 // treeSlots, by position modulo treeSlots
	h3   []int32 // 1<<hash3Bits, the last position of each 3-byte hash
}

func newHashChains() *hashChains {
	return &hashChains{head: make([]int32, 1<<chainBits), prev: make([]int32, treeSlots), h3: make([]int32, 1<<hash3Bits)}
}

// reset forgets every position; prev needs no clearing, each entry is
// written when its position is inserted, before any chain leads to it.
func (h *hashChains) reset() {
	for i := range h.head {
		h.head[i] = noPos
	}
	for i := range h.h3 {
		h.h3[i] = noPos
	}
}

func hashChain(x uint32) uint32 { return (x * 0x1e35a7bd) >> (32 - chainBits) }

// insert adds position cur, which has 4 bytes after it, to its chain.
func (h *hashChains) insert(buf []byte, cur int) {
	x := binary.LittleEndian.Uint32(buf[cur:])
	hv := hashChain(x)
	h.prev[cur&slotMask] = h.head[hv]
	h.head[hv] = int32(cur)
	h.h3[hash3(x)] = int32(cur)
}

// find inserts cur and returns the longest match of at least 4 bytes
// there, up to maxLen (at least 4), visiting at most depth earlier
// positions and stopping at a match of nice length; 0, 0 if none.
func (h *hashChains) find(buf []byte, cur, maxLen, nice, depth int) (length, dist int) {
	x := binary.LittleEndian.Uint32(buf[cur:])
	hv := hashChain(x)
	node := int(h.head[hv])
	h.head[hv] = int32(cur)
	h.prev[cur&slotMask] = int32(node)
	cutoff := cur - window
	best := minMatch // a match must beat it: 4 bytes or more
	prev := h.prev
	for ; node >= cutoff && depth > 0; depth-- {
		// The byte that would make a longer match rejects most
		// candidates with one load.
		if buf[node+best] == buf[cur+best] && binary.LittleEndian.Uint32(buf[node:]) == x {
			if l := extend(buf, node, cur, 4, maxLen); l > best {
				best, dist = l, cur-node
				if l >= nice {
					break
				}
			}
		}
		node = int(prev[node&slotMask])
	}
	if dist == 0 {
		// A match of 3 saves bits only when near: zlib's limit.
		h3 := hash3(x)
		c := int(h.h3[h3])
		h.h3[h3] = int32(cur)
		if cur-c <= far3 && binary.LittleEndian.Uint32(buf[c:])<<8 == x<<8 {
			return minMatch, cur - c
		}
		return 0, 0
	}
	h.h3[hash3(x)] = int32(cur)
	return best, dist
}

// lazyParse parses buf[lo:hi] into tokens the way zlib's lazy levels do:
// the longest match at a position is taken unless the next position has
// a longer one, in which case a literal goes first and the question is
// asked again there. (Asking the position after next too, as
// libdeflate's lazy2 does, made the Go toolchain sample larger.) Matches stop at hi, so each segment is a block of its own. Every
// position with 4 bytes after it is inserted in the chains exactly once,
// in order.
func (e *Encoder) lazyParse(lo, hi int) {
	buf := e.buf
	hc := e.hc
	end := len(buf)
	nice, depth, lazy, good := e.p.nice, e.p.depth, e.p.lazy, e.p.good
	tokens := e.tokens[:0]
	ins := lo // the next position to insert
	// search finds the longest match at p, which must be ins and have
	// 4 bytes before hi, and so inserts it.
	search := func(p, depth int) (int, int) {
		ins = p + 1
		maxLen := min(maxMatch, hi-p)
		return hc.find(buf, p, maxLen, min(nice, maxLen), depth)
	}
	for pos := lo; pos < hi; {
		if hi-pos < 4 {
			for ; ins <= pos && end-ins >= 4; ins++ {
				hc.insert(buf, ins)
			}
			tokens = append(tokens, uint32(buf[pos]))
			pos++
			continue
		}
		l, d := search(pos, depth)
		if l == 0 {
			tokens = append(tokens, uint32(buf[pos]))
			pos++
			continue
		}
		for l < lazy && hi-(pos+1) >= 4 {
			// A good match already: half the search for a better one.
			dp := depth
			if l >= good {
				dp >>= 1
			}
			l2, d2 := search(pos+1, dp)
			if l2 >= l && (l2-l)*lazyBits > int(distExtra[distSlot(d2)])-int(distExtra[distSlot(d)]) {
				tokens = append(tokens, uint32(buf[pos]))
				pos++
				l, d = l2, d2
				continue
			}
			break
		}
		tokens = append(tokens, uint32(l)<<16|uint32(d))
		pos += l
		for ; ins < pos; ins++ {
			if end-ins >= 4 {
				hc.insert(buf, ins)
			}
		}
	}
	e.tokens = tokens
}
