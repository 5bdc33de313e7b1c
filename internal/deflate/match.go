package deflate

import (
	"encoding/binary"
	"math/bits"
)

const (
	hash4Bits = 16
	hash3Bits = 14
	// treeSlots is the size of the ring of tree nodes, and window how far
	// back matches reach: one less, so that the slot of a position is
	// reused only once the position is out of reach (a node is read only
	// within window of the current position, and its children are older
	// than it). Losing matches at distance 32768 costs nothing measurable;
	// a ring half as large keeps more of the tree in cache.
	treeSlots = maxDist
	slotMask  = treeSlots - 1
	window    = treeSlots - 1
	// noPos marks an empty hash bucket or child: so far before any
	// position that it is always out of the window.
	noPos = -1 << 30
)

// matchFinder finds, for each position of its buffer, the matches of
// increasing length that reach back at most maxDist bytes. It keeps a
// binary search tree of the positions whose next 4 bytes hash alike,
// ordered by the strings that start there; each new position becomes the
// root, and the walk down from the old root that splits the tree around it
// meets the previous positions whose strings share the longest prefixes
// with it (the match finder of LZMA's bt4 and libdeflate). Length-3
// matches come from a table of the last position of each 3-byte hash.
type matchFinder struct {
	hash4 []int32 // 1<<hash4Bits, the root of each tree
	hash3 []int32 // 1<<hash3Bits, the last position of each 3-byte hash
	child []int32 // treeSlots pairs: the smaller and the larger subtree
}

func newMatchFinder() *matchFinder {
	return &matchFinder{
		hash4: make([]int32, 1<<hash4Bits),
		hash3: make([]int32, 1<<hash3Bits),
		child: make([]int32, 2*treeSlots),
	}
}

// reset forgets every position. The children need no clearing: a node's
// pair is written when the node is inserted, before anything can reach it.
func (m *matchFinder) reset() {
	for i := range m.hash4 {
		m.hash4[i] = noPos
	}
	for i := range m.hash3 {
		m.hash3[i] = noPos
	}
}

func hash4(x uint32) uint32 { return (x * 0x1e35a7bd) >> (32 - hash4Bits) }
func hash3(x uint32) uint32 { return ((x << 8) * 0x9e3779b1) >> (32 - hash3Bits) }

// find inserts position cur of buf and, if record, appends to out
// the matches found, as length<<16 | distance with lengths strictly
// increasing. maxLen (at least 4) is how many bytes are left at cur, nice
// the length that ends the search (at most maxLen), depth how many tree
// nodes it may visit. It returns out and the length of the longest match.
func (m *matchFinder) find(buf []byte, cur, maxLen, nice, depth int, out []uint32, record bool) ([]uint32, int) {
	x := binary.LittleEndian.Uint32(buf[cur:])
	best := 0
	h3 := hash3(x)
	c := int(m.hash3[h3])
	m.hash3[h3] = int32(cur)
	if record && cur-c <= window && binary.LittleEndian.Uint32(buf[c:])<<8 == x<<8 {
		best = minMatch
		out = append(out, minMatch<<16|uint32(cur-c))
	}
	h4 := hash4(x)
	node := int(m.hash4[h4])
	m.hash4[h4] = int32(cur)
	child := m.child
	lt := 2 * (cur & slotMask) // where the next node smaller than cur goes
	gt := lt + 1               // and the next one larger
	ltLen, gtLen := 0, 0       // what cur shares with every node on each side
	n := 0                     // bytes known to match at the next node: min(ltLen, gtLen)
	cutoff := cur - window
	for ; node >= cutoff && depth > 0; depth-- {
		if buf[node+n] == buf[cur+n] {
			n = extend(buf, node, cur, n+1, maxLen)
			if n > best && n >= minMatch {
				best = n
				if record {
					out = append(out, uint32(n)<<16|uint32(cur-node))
				}
			}
			if n >= nice {
				s := 2 * (node & slotMask)
				child[lt], child[gt] = child[s], child[s+1]
				return out, best
			}
		}
		s := 2 * (node & slotMask)
		if buf[node+n] < buf[cur+n] {
			child[lt] = int32(node)
			lt = s + 1
			node = int(child[lt])
			ltLen = n
		} else {
			child[gt] = int32(node)
			gt = s
			node = int(child[gt])
			gtLen = n
		}
		n = min(ltLen, gtLen)
	}
	child[lt], child[gt] = noPos, noPos
	return out, best
}

// extend returns how many bytes at a and b match, knowing that n do, up
// to max; b+max is within buf.
func extend(buf []byte, a, b, n, max int) int {
	for n+8 <= max {
		if x := binary.LittleEndian.Uint64(buf[a+n:]) ^ binary.LittleEndian.Uint64(buf[b+n:]); x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < max && buf[a+n] == buf[b+n] {
		n++
	}
	return n
}
