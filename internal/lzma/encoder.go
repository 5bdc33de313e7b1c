package lzma

import "fmt"

// Options are an encoder's parameters.
type Options struct {
	DictSize int // the dictionary, in bytes: the farthest a match reaches
	NiceLen  int // a match this long is taken without looking further (8 to 273)
	Depth    int // how many tree nodes the match finder visits per position
}

// Preset returns the options of xz's preset level (1 to 9): its dictionary
// size, and nice lengths and depths that grow with the level. From 6 on
// they are xz's own for -6 to -9 (nice length 64, depth 48); below, gpack
// keeps its one parser and match finder (xz's -1 to -3 have a faster
// parser of their own) with shorter searches.
func Preset(level int) Options {
	dict := [10]int{0, 1 << 20, 2 << 20, 4 << 20, 4 << 20, 8 << 20, 8 << 20, 16 << 20, 32 << 20, 64 << 20}
	nice := [10]int{0, 16, 16, 32, 32, 32, 64, 64, 64, 64}
	depth := [10]int{0, 8, 16, 16, 24, 32, 48, 48, 48, 48}
	level = min(max(level, 1), 9)
	return Options{DictSize: dict[level], NiceLen: nice[level], Depth: depth[level]}
}

func (o Options) check() error {
	if o.DictSize < 4096 || o.DictSize > 1<<30 {
		return fmt.Errorf("lzma: dictionary size %d out of range [4096, 1 GiB]", o.DictSize)
	}
	if o.NiceLen < 8 || o.NiceLen > maxMatchLen {
		return fmt.Errorf("lzma: nice length %d out of range [8, %d]", o.NiceLen, maxMatchLen)
	}
	if o.Depth < 1 {
		return fmt.Errorf("lzma: depth %d below 1", o.Depth)
	}
	return nil
}

const (
	optsSize      = 1 << 12 // the parser's window, in positions
	maxChunkData  = 1 << 21 // uncompressed bytes of an LZMA2 chunk
	maxChunkPack  = 1 << 16 // compressed bytes of an LZMA2 chunk
	maxStoredData = 1 << 16 // bytes of a stored LZMA2 chunk
	symbolMargin  = 64      // more than one symbol's coded bytes
	// prices of distances and align bits are refreshed after this many uses
	distPriceUpdate  = 1 << 7
	alignPriceUpdate = alignSize
)

// symbol is one step of a parse: a literal (code symLiteral, len 1), a
// rep match (code 0 to 3; len 1 and code 0 is a short rep), or a match of
// distance code code-numReps.
type symbol struct {
	len  uint32
	code int32
}

const symLiteral = -1

// optimal is one position of the parser's window: the cheapest way found
// to get there from the window's start, and the coder state it leaves.
type optimal struct {
	price    uint32
	posPrev  int32
	backPrev int32 // as symbol.code
	// prev1IsLiteral: the step is a literal at posPrev-1 and then rep0
	// from posPrev; with prev2, the literal follows a step from posPrev2
	// of code backPrev2.
	prev1IsLiteral bool
	prev2          bool
	posPrev2       int32
	backPrev2      int32
	state          uint32
	reps           [numReps]uint32
}

// Encoder compresses blocks into LZMA2. It may be reused: each Encode starts
// from scratch, and only allocations are kept.
type Encoder struct {
	opts Options
	m    model
	rc   rangeEncoder
	mf   matchFinder

	// shadow are the reps that the parse works with. They are the coder's
	// own (m.reps) except after a state reset, which clears the coder's
	// reps while symbols parsed with the old ones are still pending.
	shadow [numReps]uint32

	distSlotPrices [distStates][64]uint32
	distPrices     [distStates][fullDistances]uint32
	alignPrices    [alignSize]uint32
	matchCount     int
	alignCount     int
	distSlots      uint32

	window  []optimal
	matches []match
	pending []symbol
	next    int // next symbol of pending to code

	chunk []byte // the LZMA chunk being coded
	buf   []byte // dict and data of EncodeSegment
}

// NewEncoder returns an encoder with options o.
func NewEncoder(o Options) (*Encoder, error) {
	if err := o.check(); err != nil {
		return nil, err
	}
	return &Encoder{opts: o, window: make([]optimal, optsSize+maxMatchLen+2)}, nil
}

// DictSize is the dictionary size that a decoder needs for data: the
// options' dictionary, or less when data is shorter, rounded up to a size
// that the LZMA2 dictionary byte can say.
func (e *Encoder) DictSize(n int) int {
	return dictSizeOf(dictByte(min(e.opts.DictSize, max(n, 4096))))
}

// dictByte is LZMA2's encoding of a dictionary of at least n bytes.
func dictByte(n int) byte {
	for b := 0; b < 40; b++ {
		if dictSizeOf(byte(b)) >= n {
			return byte(b)
		}
	}
	return 40
}

func dictSizeOf(b byte) int {
	if b >= 40 {
		return 0xFFFFFFFF
	}
	return (2 | int(b)&1) << (b/2 + 11)
}

func (e *Encoder) resetState() {
	e.m.reset()
	e.updateAllPrices()
}

func (e *Encoder) updateAllPrices() {
	e.updateDistPrices()
	e.updateAlignPrices()
	for ps := uint32(0); ps < posStates; ps++ {
		e.m.matchLen.updatePrices(ps, e.opts.NiceLen+1-minMatchLen)
		e.m.repLen.updatePrices(ps, e.opts.NiceLen+1-minMatchLen)
		e.m.matchLen.counters[ps] = e.opts.NiceLen + 1 - minMatchLen
		e.m.repLen.counters[ps] = e.opts.NiceLen + 1 - minMatchLen
	}
}

func (e *Encoder) updateDistPrices() {
	e.matchCount = 0
	m := &e.m
	for ds := range distStates {
		sp := &e.distSlotPrices[ds]
		for s := uint32(0); s < e.distSlots; s++ {
			sp[s] = treePrice(m.distSlot[ds][:], s, distSlotBits)
		}
		for s := uint32(endDistModel); s < e.distSlots; s++ {
			sp[s] += ((s>>1 - 1) - alignBits) << priceShift
		}
		for d := uint32(0); d < startDistModel; d++ {
			e.distPrices[ds][d] = sp[d]
		}
	}
	for d := uint32(startDistModel); d < fullDistances; d++ {
		slot := distSlot(d)
		footer := slot>>1 - 1
		base := (2 | slot&1) << footer
		price := reversePrice(m.distSpecial[base-slot:], d-base, int(footer))
		for ds := range distStates {
			e.distPrices[ds][d] = price + e.distSlotPrices[ds][slot]
		}
	}
}

func (e *Encoder) updateAlignPrices() {
	e.alignCount = 0
	for i := range uint32(alignSize) {
		e.alignPrices[i] = reversePrice(e.m.align[:], i, alignBits)
	}
}

func distState(n uint32) uint32 { return min(n-minMatchLen, distStates-1) }

// matchPrice is the price of a match of distance code d and length n, after
// isMatch and isRep.
func (e *Encoder) matchPrice(d, n, ps uint32) uint32 {
	ds := distState(n)
	var price uint32
	if d < fullDistances {
		price = e.distPrices[ds][d]
	} else {
		price = e.distSlotPrices[ds][distSlot(d)] + e.alignPrices[d&(alignSize-1)]
	}
	return price + e.m.matchLen.prices[ps][n-minMatchLen]
}

func (e *Encoder) repPrice(i, n, state, ps uint32) uint32 {
	return e.m.pureRepPrice(i, state, ps) + e.m.repLen.prices[ps][n-minMatchLen]
}

func (e *Encoder) encodeLen(l *lenCoder, n, ps uint32) {
	l.encode(&e.rc, n, ps)
	l.counters[ps]--
	if l.counters[ps] <= 0 {
		l.updatePrices(ps, e.opts.NiceLen+1-minMatchLen)
		l.counters[ps] = e.opts.NiceLen + 1 - minMatchLen
	}
}

// codeSymbol codes s at position pos of data.
func (e *Encoder) codeSymbol(data []byte, pos int, s symbol) {
	// What the parse meant, as a distance code, from the shadow reps.
	var dist uint32
	switch {
	case s.code == symLiteral:
	case s.code < numReps:
		i := s.code
		dist = e.shadow[i]
		copy(e.shadow[1:i+1], e.shadow[:i])
		e.shadow[0] = dist
	default:
		dist = uint32(s.code - numReps)
		copy(e.shadow[1:], e.shadow[:numReps-1])
		e.shadow[0] = dist
	}
	m := &e.m
	rc := &e.rc
	ps := uint32(pos) & posMask
	state := m.state
	if s.code == symLiteral || (s.len == 1 && dist != m.reps[0]) {
		rc.encodeBit(&m.isMatch[state][ps], 0)
		var prev, mb byte
		if pos > 0 {
			prev = data[pos-1]
			if pos > int(m.reps[0]) {
				mb = data[pos-int(m.reps[0])-1]
			}
		}
		m.encodeLiteral(rc, prev, mb, data[pos])
		return
	}
	rc.encodeBit(&m.isMatch[state][ps], 1)
	rep := uint32(numReps)
	for i := range uint32(numReps) {
		if m.reps[i] == dist {
			rep = i
			break
		}
	}
	if rep == numReps {
		rc.encodeBit(&m.isRep[state], 0)
		m.state = matchNext(state)
		e.encodeLen(&m.matchLen, s.len, ps)
		slot := distSlot(dist)
		rc.encodeTree(m.distSlot[distState(s.len)][:], slot, distSlotBits)
		if slot >= startDistModel {
			footer := slot>>1 - 1
			base := (2 | slot&1) << footer
			reduced := dist - base
			if slot < endDistModel {
				rc.encodeReverse(m.distSpecial[base-slot:], reduced, int(footer))
			} else {
				rc.encodeDirect(reduced>>alignBits, int(footer-alignBits))
				rc.encodeReverse(m.align[:], reduced&(alignSize-1), alignBits)
				e.alignCount++
			}
		}
		copy(m.reps[1:], m.reps[:numReps-1])
		m.reps[0] = dist
		e.matchCount++
		return
	}
	rc.encodeBit(&m.isRep[state], 1)
	if rep == 0 {
		rc.encodeBit(&m.isRepG0[state], 0)
		if s.len == 1 {
			rc.encodeBit(&m.isRep0Long[state][ps], 0)
			m.state = shortRepNext(state)
			return
		}
		rc.encodeBit(&m.isRep0Long[state][ps], 1)
	} else {
		rc.encodeBit(&m.isRepG0[state], 1)
		if rep == 1 {
			rc.encodeBit(&m.isRepG1[state], 0)
		} else {
			rc.encodeBit(&m.isRepG1[state], 1)
			rc.encodeBit(&m.isRepG2[state], rep-2)
		}
		copy(m.reps[1:rep+1], m.reps[:rep])
		m.reps[0] = dist
	}
	m.state = repNext(state)
	e.encodeLen(&m.repLen, s.len, ps)
}

// Version names the encoder's output: it changes whenever the bytes that
// the same input and options give change, so that caches of compressed data
// (formats/oci's layer cache, through compress.Fingerprint) never mix old
// and new bytes.
const Version = "1"
