package deflate

import (
	"encoding/binary"
	"fmt"
	"hash/adler32"
)

// Levels of an Encoder: MinLevel is the fastest, MaxLevel the smallest,
// DefaultLevel the one gpack's gzip uses (see formats/compress).
const (
	MinLevel     = 1
	MaxLevel     = 9
	DefaultLevel = 5
)

// params are what a level sets.
type params struct {
	depth  int // tree nodes visited per position
	nice   int // a match this long ends the search and is taken
	passes int // runs of the parse, each with the costs of the one before
	// segment is how much input the parse optimizes at once, and so the
	// size of a deflate block before the last one of an Encode: each
	// gets its own Huffman codes. 0 means defaultSegment.
	segment int
	// skipDepth is the depth of the insertions of the positions inside a
	// match of nice length, which are not searched; 0 means depth.
	skipDepth int
	// lazy, when set, makes the level a lazy one: matches from hash
	// chains (depth being their length), parsed as zlib does, where a
	// match shorter than lazy waits to see whether the next position has
	// a longer one, searched half as deep when the first is good long.
	lazy, good int
}

// levels are the params of each level. 1 and 2 are lazy, on hash chains:
// with codes from the real frequencies of each 32 KiB block, 2 makes what
// pigz -6 does and 1 a little more, for half its time or less (the package
// documentation of formats/compress has the numbers). From 3 on the parse
// is optimal: there depth is what buys size (on the Go toolchain binaries 8
// nodes make 1 % less than 4, for a fifth more time); a short nice length
// keeps the parse cheap, since the positions inside a match that long are
// only inserted.
var levels = [MaxLevel + 1]params{
	1: {depth: 16, nice: 48, lazy: 32, good: 8},
	2: {depth: 32, nice: 64, lazy: 16, good: 8},
	3: {depth: 4, nice: 16, passes: 1},
	4: {depth: 6, nice: 16, passes: 1},
	5: {depth: 8, nice: 16, passes: 1},
	6: {depth: 12, nice: 24, passes: 1},
	7: {depth: 16, nice: 32, passes: 2},
	8: {depth: 32, nice: 64, passes: 2},
	9: {depth: 64, nice: 258, passes: 3},
}

// ForGzipLevel returns the level of this package that serves gzip (and
// zlib) level gz, gzip's 1 to 9, and whether there is one: below 6 there
// is none, and a faster encoder is better (gpack uses klauspost/compress's).
// Each level it maps is smaller than klauspost's at that level, and than
// pigz -6 from 6 and gzip -9n at 9; formats/compress and formats/squashfs
// both follow it, so tarballs, layers and images deflate alike.
func ForGzipLevel(gz int) (int, bool) {
	switch gz {
	case 6:
		return 1, true
	case 7:
		return 2, true
	case 8:
		return 3, true
	case 9:
		return DefaultLevel, true
	}
	return 0, false
}

// defaultSegment is the segment of params that set none.
const defaultSegment = 32 << 10

// costScale is the unit of costs: 1/16 of a bit.
const costScale = 16

// Encoder compresses to raw deflate (RFC 1951). The zero value is not
// usable; make one with NewEncoder. An Encoder is not safe for concurrent
// use, but it may be used for any number of Encode calls, and each one's
// output depends only on its arguments and the level.
type Encoder struct {
	p   params
	mf  *matchFinder // the optimal levels'
	hc  *hashChains  // the lazy levels'
	hf  huffman
	buf []byte // dict and data, contiguous

	// One segment's parse.
	matches []uint32 // length<<16 | distance, by position
	mstart  []int32  // where each position's matches start in matches
	cost    []uint32 // cheapest cost from each position to the segment end
	choice  []uint32 // the step taken from each position: 0 for a literal
	tokens  []uint32 // the parse: a literal, or length<<16 | distance

	litCost  [256]uint32
	lenCost  [maxMatch + 1]uint32
	distCost [numDist]uint32

	litFreq  [numLitLen]uint32
	distFreq [numDist]uint32
	litLens  [numLitLen]uint8
	distLens [numDist]uint8
	litCodes [288]uint16
	dstCodes [numDist]uint16

	bw bitWriter
}

// NewEncoder returns an Encoder at level, from MinLevel to MaxLevel.
func NewEncoder(level int) (*Encoder, error) {
	if level < MinLevel || level > MaxLevel {
		return nil, fmt.Errorf("deflate level %d: takes %d to %d", level, MinLevel, MaxLevel)
	}
	e := &Encoder{p: levels[level]}
	if e.p.lazy > 0 {
		e.hc = newHashChains()
	} else {
		e.mf = newMatchFinder()
	}
	return e, nil
}

// Encode appends to dst the deflate encoding of data and returns it. dict
// is the input that came before data (the last 32 KiB of it are used):
// matches may reach into it, as they would in one stream. If final, the
// last block is marked final; otherwise the output ends with an empty
// stored block, as zlib's sync flush does, so that it ends on a byte
// boundary and another Encode's output may follow it.
func (e *Encoder) Encode(dst, data, dict []byte, final bool) []byte {
	if len(dict) > maxDist {
		dict = dict[len(dict)-maxDist:]
	}
	e.buf = append(append(e.buf[:0], dict...), data...)
	e.bw = bitWriter{out: dst}
	start := len(dict)
	// The dictionary goes into the match finder only.
	if e.hc != nil {
		e.hc.reset()
		for pos := 0; pos < start && len(e.buf)-pos >= 4; pos++ {
			e.hc.insert(e.buf, pos)
		}
	} else {
		e.mf.reset()
		for pos := 0; pos < start; pos++ {
			if len(e.buf)-pos >= 4 {
				maxLen := min(maxMatch, len(e.buf)-pos)
				e.mf.find(e.buf, pos, maxLen, min(e.p.nice, maxLen), e.p.depth, nil, false)
			}
		}
	}
	n := len(data)
	seg := e.p.segment
	if seg == 0 {
		seg = defaultSegment
	}
	nseg := max(1, (n+seg-1)/seg)
	for i := range nseg {
		lo := start + n*i/nseg
		hi := start + n*(i+1)/nseg
		e.segment(lo, hi, final && i == nseg-1)
	}
	if !final {
		// An empty stored block: 3 header bits, padding, LEN 0, NLEN.
		e.bw.write(0, 3)
		e.bw.align()
		e.bw.out = append(e.bw.out, 0, 0, 0xff, 0xff)
	}
	e.bw.align()
	out := e.bw.out
	e.bw = bitWriter{}
	return out
}

// segment parses and writes buf[lo:hi] as one block.
func (e *Encoder) segment(lo, hi int, final bool) {
	n := hi - lo
	if e.hc != nil {
		e.lazyParse(lo, hi)
		e.count()
		e.hf.lengths(e.litFreq[:], e.litLens[:], 15)
		e.hf.lengths(e.distFreq[:], e.distLens[:], 15)
		e.writeBlock(lo, hi, final)
		return
	}
	e.collect(lo, hi)
	e.initialCosts(lo, hi)
	for pass := 0; ; pass++ {
		e.parse(lo, n)
		e.count()
		e.hf.lengths(e.litFreq[:], e.litLens[:], 15)
		e.hf.lengths(e.distFreq[:], e.distLens[:], 15)
		if pass+1 >= e.p.passes {
			break
		}
		e.setCosts()
	}
	e.writeBlock(lo, hi, final)
}

// collect finds the matches of every position of buf[lo:hi]. After a
// match of nice length or more the positions it covers are only inserted:
// the parse will take that match.
func (e *Encoder) collect(lo, hi int) {
	n := hi - lo
	e.matches = e.matches[:0]
	e.mstart = grow(e.mstart, n+1)
	end := len(e.buf)
	skip := 0
	skipDepth := e.p.skipDepth
	if skipDepth == 0 {
		skipDepth = e.p.depth
	}
	for pos := lo; pos < hi; pos++ {
		e.mstart[pos-lo] = int32(len(e.matches))
		left := end - pos
		if left < 4 {
			continue
		}
		maxLen := min(maxMatch, left)
		nice := min(e.p.nice, maxLen)
		if skip > 0 {
			skip--
			e.mf.find(e.buf, pos, maxLen, nice, skipDepth, nil, false)
			continue
		}
		var best int
		e.matches, best = e.mf.find(e.buf, pos, maxLen, nice, e.p.depth, e.matches, true)
		if best >= nice {
			skip = min(best-1, hi-pos-1)
		}
	}
	e.mstart[n] = int32(len(e.matches))
}

// initialCosts sets the costs of the first parse from a greedy one, which
// takes the longest match at each position: a rough parse, but its
// statistics are near those of the optimal one, and it costs a fraction
// of a run of parse.
func (e *Encoder) initialCosts(lo, hi int) {
	n := hi - lo
	e.tokens = e.tokens[:0]
	buf := e.buf[lo:hi]
	for i := 0; i < n; {
		a, b := e.mstart[i], e.mstart[i+1]
		if a == b {
			e.tokens = append(e.tokens, uint32(buf[i]))
			i++
			continue
		}
		m := e.matches[b-1]
		l := min(int(m>>16), n-i)
		if l < minMatch {
			e.tokens = append(e.tokens, uint32(buf[i]))
			i++
			continue
		}
		e.tokens = append(e.tokens, uint32(l)<<16|m&0xffff)
		i += l
	}
	e.count()
	e.hf.lengths(e.litFreq[:], e.litLens[:], 15)
	e.hf.lengths(e.distFreq[:], e.distLens[:], 15)
	e.setCosts()
}

// setCosts sets the costs from the codes of the last parse. A symbol the
// parse did not use costs a little more than the longest code.
func (e *Encoder) setCosts() {
	maxLit := uint8(0)
	for _, l := range e.litLens {
		maxLit = max(maxLit, l)
	}
	unusedLit := uint32(min(15, maxLit+1))
	for b := range 256 {
		l := uint32(e.litLens[b])
		if l == 0 {
			l = unusedLit
		}
		e.litCost[b] = l * costScale
	}
	for l := minMatch; l <= maxMatch; l++ {
		c := lengthCode[l]
		bits := uint32(e.litLens[257+int(c)])
		if bits == 0 {
			bits = unusedLit
		}
		e.lenCost[l] = (bits + uint32(lengthExtra[c])) * costScale
	}
	maxDistLen := uint8(0)
	for _, l := range e.distLens {
		maxDistLen = max(maxDistLen, l)
	}
	for s := range numDist {
		bits := uint32(e.distLens[s])
		if bits == 0 || e.distFreq[s] == 0 {
			bits = uint32(min(15, maxDistLen+1))
		}
		e.distCost[s] = (bits + uint32(distExtra[s])) * costScale
	}
}

// parse finds the cheapest way to encode the n bytes at lo with the
// matches collected and the current costs, going backwards: the cost of a
// position is that of its cheapest step, a literal or a match of any
// length up to each match found, plus the cost of the position the step
// leads to. It leaves the parse in tokens.
func (e *Encoder) parse(lo, n int) {
	e.cost = grow(e.cost, n+1)
	e.choice = grow(e.choice, n)
	cost, choice := e.cost[:n+1], e.choice[:n]
	cost[n] = 0
	buf := e.buf[lo : lo+n]
	litCost, lenCost, distCost := &e.litCost, &e.lenCost, &e.distCost
	mstart := e.mstart[:n+1]
	nice := e.p.nice
	for i := n - 1; i >= 0; i-- {
		best := cost[i+1] + litCost[buf[i]]
		step := uint32(0)
		if ms := e.matches[mstart[i]:mstart[i+1]]; len(ms) > 0 {
			// Costs from here on; a match may not go past the end.
			after := cost[i:]
			l := minMatch
			for _, m := range ms {
				ml := min(int(m>>16), len(after)-1, maxMatch)
				if ml < l {
					continue
				}
				d := m & 0xffff
				dc := distCost[distSlot(int(d))]
				if ml > nice {
					// The positions inside a match this long were not
					// searched, so only literals could follow a shorter
					// one: its lengths past nice are not worth trying
					// but the whole.
					if l < nice {
						e.tryLengths(&best, &step, after, lenCost, dc, d, l, nice)
					}
					if c := dc + lenCost[ml] + after[ml]; c < best {
						best, step = c, uint32(ml)<<16|d
					}
					l = ml + 1
					continue
				}
				// Slices of the same length let the compiler drop the
				// bounds checks of the hot loop.
				a, lc := after[l:ml+1], lenCost[l:ml+1]
				lc = lc[:len(a)]
				for j, c := range a {
					if c += dc + lc[j]; c < best {
						best, step = c, uint32(l+j)<<16|d
					}
				}
				l = ml + 1
			}
		}
		cost[i] = best
		choice[i] = step
	}
	e.tokens = e.tokens[:0]
	for i := 0; i < n; {
		s := choice[i]
		if s == 0 {
			e.tokens = append(e.tokens, uint32(buf[i]))
			i++
			continue
		}
		e.tokens = append(e.tokens, s)
		i += int(s >> 16)
	}
}

// tryLengths lowers best, and sets step, to the cheapest match of
// distance d, distance cost dc, and a length from l to ml.
func (e *Encoder) tryLengths(best, step *uint32, after []uint32, lenCost *[maxMatch + 1]uint32, dc, d uint32, l, ml int) {
	a, lc := after[l:ml+1], lenCost[l:ml+1]
	lc = lc[:len(a)]
	for j, c := range a {
		if c += dc + lc[j]; c < *best {
			*best, *step = c, uint32(l+j)<<16|d
		}
	}
}

// count sets the symbol frequencies of the tokens, with one end of block.
func (e *Encoder) count() {
	clear(e.litFreq[:])
	clear(e.distFreq[:])
	for _, t := range e.tokens {
		if t < 256 {
			e.litFreq[t]++
			continue
		}
		e.litFreq[257+int(lengthCode[t>>16])]++
		e.distFreq[distSlot(int(t&0xffff))]++
	}
	e.litFreq[endBlock]++
}

func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n)
	}
	return s[:n]
}

// EncodeZlib appends to dst data as one complete zlib stream (RFC 1950):
// the 2-byte header, data deflated as a final block and its Adler-32.
func (e *Encoder) EncodeZlib(dst, data []byte) []byte {
	// CMF 0x78: deflate with a 32 KiB window; FLG 0xda: the "slowest"
	// level, no dictionary, and the check bits that make 0x78da a
	// multiple of 31.
	dst = append(dst, 0x78, 0xda)
	dst = e.Encode(dst, data, nil, true)
	return binary.BigEndian.AppendUint32(dst, adler32.Checksum(data))
}

// Version names the encoder's output: it changes whenever the bytes that
// some level makes of some input could, so that caches keyed by it (gpack's
// layer cache, through compress.Fingerprint) never mix old and new bytes.
const Version = "2"
