package lzma

import (
	"encoding/binary"
	"math/bits"
)

// match is a match found at a position: its length and distance (from 1).
type match struct {
	len  uint32
	dist uint32
}

const (
	hash2Size = 1 << 16 // exact: the two bytes themselves
	hash3Bits = 16
	hash3Size = 1 << hash3Bits
)

// matchFinder is a bt4 match finder: the last position of each 2-byte value
// and of each 3-byte hash give the nearest short matches, and a binary
// search tree per 4-byte hash, of the positions in the dictionary ordered
// by the strings that start there, gives the longer ones. Inserting a
// position walks the tree from its root (the previous position with that
// hash) and re-links the nodes it meets around the new one, which becomes
// the root; the nodes on that walk are the ones with the longest common
// prefixes, so the same walk yields the matches, by increasing length and
// distance. The tree's nodes live in son, two links per position, indexed
// cyclically over the dictionary: a link to a position that fell out of
// the dictionary is cut off by the distance test.
type matchFinder struct {
	data       []byte
	hash2      []uint32
	hash3      []uint32
	hash4      []uint32
	son        []uint32
	hash4Shift uint
	cyclicSize uint32
	cyclicPos  uint32
	pos        int    // next position to insert
	offset     uint32 // stored value = position + offset, so 0 is "none"
	niceLen    int
	depth      int
}

func hash4Bits(dictSize int) int {
	// As many entries as half the dictionary, between 2^16 and 2^24.
	b := bits.Len(uint(max(dictSize, 2)-1)) - 1
	return min(max(b, 16), 24)
}

// reset prepares the finder for data with a dictionary of dictSize bytes,
// reusing its tables when they are large enough.
func (m *matchFinder) reset(data []byte, dictSize, niceLen, depth int) {
	cyc := min(dictSize, len(data)) + 1
	hb := hash4Bits(min(dictSize, max(len(data), 1<<16)))
	m.data = data
	m.hash2 = clearOrMake(m.hash2, hash2Size)
	m.hash3 = clearOrMake(m.hash3, hash3Size)
	m.hash4 = clearOrMake(m.hash4, 1<<hb)
	m.hash4Shift = uint(32 - hb)
	if cap(m.son) < 2*cyc {
		m.son = make([]uint32, 2*cyc)
		adviseHuge(m.son)
	}
	m.son = m.son[:2*cyc]
	m.cyclicSize = uint32(cyc)
	m.cyclicPos = 0
	m.pos = 0
	m.offset = uint32(cyc)
	m.niceLen = niceLen
	m.depth = depth
}

func clearOrMake(t []uint32, n int) []uint32 {
	if cap(t) < n {
		t = make([]uint32, n)
		adviseHuge(t)
		return t
	}
	t = t[:n]
	clear(t)
	return t
}

// matchLen is the length of the common prefix of data[a:] and data[b:],
// from start, at most limit.
func matchLen(data []byte, a, b, start, limit int) int {
	n := start
	for n+8 <= limit {
		x := binary.LittleEndian.Uint64(data[a+n:]) ^ binary.LittleEndian.Uint64(data[b+n:])
		if x != 0 {
			return n + bits.TrailingZeros64(x)>>3
		}
		n += 8
	}
	for n < limit && data[a+n] == data[b+n] {
		n++
	}
	return n
}

func (m *matchFinder) advance() {
	m.pos++
	m.cyclicPos++
	if m.cyclicPos == m.cyclicSize {
		m.cyclicPos = 0
	}
}

// find inserts the next position and appends its matches to ms, by
// increasing length; a match of nice length is extended as far as it goes.
func (m *matchFinder) find(ms []match) []match {
	p := m.pos
	data := m.data
	avail := len(data) - p
	limit := min(m.niceLen, avail)
	if limit < 4 {
		m.advance()
		return ms
	}
	v := binary.LittleEndian.Uint32(data[p:])
	h2 := v & 0xFFFF
	h3 := ((v & 0xFFFFFF) * 0x9E3779B1) >> (32 - hash3Bits)
	h4 := (v * 0x85EBCA77) >> m.hash4Shift
	cur := uint32(p) + m.offset
	cyc := m.cyclicSize
	d2 := cur - m.hash2[h2]
	d3 := cur - m.hash3[h3]
	curMatch := m.hash4[h4]
	m.hash2[h2] = cur
	m.hash3[h3] = cur
	m.hash4[h4] = cur

	first := len(ms)
	best := 1
	bestDist := uint32(0)
	if d2 < cyc {
		best, bestDist = 2, d2
		ms = append(ms, match{2, d2})
	}
	if d3 != d2 && d3 < cyc && binary.LittleEndian.Uint32(data[p-int(d3):])&0xFFFFFF == v&0xFFFFFF {
		best, bestDist = 3, d3
		ms = append(ms, match{3, d3})
	}
	if len(ms) > first {
		best = matchLen(data, p, p-int(bestDist), best, limit)
		ms[len(ms)-1].len = uint32(best)
		if best == limit {
			m.skipTree(cur, curMatch, limit)
			m.advance()
			return m.extend(ms, avail)
		}
	}
	best = max(best, 3)

	son := m.son
	cp := m.cyclicPos
	ptr0 := cp<<1 + 1
	ptr1 := cp << 1
	len0, len1 := 0, 0
	for depth := m.depth; ; depth-- {
		delta := cur - curMatch
		if depth == 0 || delta >= cyc {
			son[ptr0] = 0
			son[ptr1] = 0
			break
		}
		pair := cp - delta
		if delta > cp {
			pair += cyc
		}
		pair <<= 1
		q := p - int(delta)
		l := min(len0, len1)
		if data[q+l] == data[p+l] {
			l = matchLen(data, p, q, l+1, limit)
			if l > best {
				best = l
				ms = append(ms, match{uint32(l), delta})
				if l == limit {
					son[ptr1] = son[pair]
					son[ptr0] = son[pair+1]
					break
				}
			}
		}
		if data[q+l] < data[p+l] {
			son[ptr1] = curMatch
			ptr1 = pair + 1
			curMatch = son[ptr1]
			len1 = l
		} else {
			son[ptr0] = curMatch
			ptr0 = pair
			curMatch = son[ptr0]
			len0 = l
		}
	}
	m.advance()
	if best == limit {
		return m.extend(ms, avail)
	}
	return ms
}

// extend lengthens the last match, of nice length, up to maxMatchLen.
func (m *matchFinder) extend(ms []match, avail int) []match {
	last := &ms[len(ms)-1]
	if int(last.len) == m.niceLen {
		p := m.pos - 1
		last.len = uint32(matchLen(m.data, p, p-int(last.dist), int(last.len), min(avail, maxMatchLen)))
	}
	return ms
}

// skip inserts the next n positions without reporting matches.
func (m *matchFinder) skip(n int) {
	for range n {
		p := m.pos
		data := m.data
		limit := min(m.niceLen, len(data)-p)
		if limit < 4 {
			m.advance()
			continue
		}
		v := binary.LittleEndian.Uint32(data[p:])
		h2 := v & 0xFFFF
		h3 := ((v & 0xFFFFFF) * 0x9E3779B1) >> (32 - hash3Bits)
		h4 := (v * 0x85EBCA77) >> m.hash4Shift
		cur := uint32(p) + m.offset
		curMatch := m.hash4[h4]
		m.hash2[h2] = cur
		m.hash3[h3] = cur
		m.hash4[h4] = cur
		m.skipTree(cur, curMatch, limit)
		m.advance()
	}
}

// skipTree inserts position cur into the tree whose root is curMatch.
func (m *matchFinder) skipTree(cur, curMatch uint32, limit int) {
	son := m.son
	data := m.data
	cyc := m.cyclicSize
	cp := m.cyclicPos
	p := int(cur - m.offset)
	ptr0 := cp<<1 + 1
	ptr1 := cp << 1
	len0, len1 := 0, 0
	for depth := m.depth; ; depth-- {
		delta := cur - curMatch
		if depth == 0 || delta >= cyc {
			son[ptr0] = 0
			son[ptr1] = 0
			return
		}
		pair := cp - delta
		if delta > cp {
			pair += cyc
		}
		pair <<= 1
		q := p - int(delta)
		l := min(len0, len1)
		if data[q+l] == data[p+l] {
			l = matchLen(data, p, q, l+1, limit)
			if l == limit {
				son[ptr1] = son[pair]
				son[ptr0] = son[pair+1]
				return
			}
		}
		if data[q+l] < data[p+l] {
			son[ptr1] = curMatch
			ptr1 = pair + 1
			curMatch = son[ptr1]
			len1 = l
		} else {
			son[ptr0] = curMatch
			ptr0 = pair
			curMatch = son[ptr0]
			len0 = l
		}
	}
}
