package lzma

import "math/bits"

// The literal and position contexts are fixed at xz's defaults: lc=3, lp=0,
// pb=2.
const (
	lc          = 3
	pbBits      = 2
	posStates   = 1 << pbBits
	posMask     = posStates - 1
	propsByte   = (pbBits*5+0)*9 + lc // (pb*5+lp)*9+lc
	numStates   = 12
	numReps     = 4
	minMatchLen = 2
	maxMatchLen = 273

	lenLowBits  = 3
	lenMidBits  = 3
	lenHighBits = 8
	lenLow      = 1 << lenLowBits
	lenMid      = 1 << lenMidBits
	lenSymbols  = lenLow + lenMid + 1<<lenHighBits

	distStates     = 4
	distSlotBits   = 6
	startDistModel = 4
	endDistModel   = 14
	fullDistances  = 1 << (endDistModel >> 1) // 128
	alignBits      = 4
	alignSize      = 1 << alignBits
)

func literalNext(s uint32) uint32 {
	switch {
	case s < 4:
		return 0
	case s < 10:
		return s - 3
	default:
		return s - 6
	}
}

func matchNext(s uint32) uint32 {
	if s < 7 {
		return 7
	}
	return 10
}

func repNext(s uint32) uint32 {
	if s < 7 {
		return 8
	}
	return 11
}

func shortRepNext(s uint32) uint32 {
	if s < 7 {
		return 9
	}
	return 11
}

func isLiteralState(s uint32) bool { return s < 7 }

// distSlot is the slot of a distance code (distance-1).
func distSlot(d uint32) uint32 {
	if d < 4 {
		return d
	}
	n := uint32(bits.Len32(d)) - 1
	return n<<1 | (d>>(n-1))&1
}

// lenCoder codes match lengths (from 2), with prices per position state.
type lenCoder struct {
	choice  prob
	choice2 prob
	low     [posStates][lenLow]prob
	mid     [posStates][lenMid]prob
	high    [1 << lenHighBits]prob

	prices   [posStates][maxMatchLen - minMatchLen + 1]uint32
	counters [posStates]int
}

func (l *lenCoder) reset() {
	l.choice, l.choice2 = probInit, probInit
	for i := range l.low {
		for j := range l.low[i] {
			l.low[i][j] = probInit
			l.mid[i][j] = probInit
		}
	}
	for i := range l.high {
		l.high[i] = probInit
	}
}

func (l *lenCoder) encode(rc *rangeEncoder, n uint32, ps uint32) {
	n -= minMatchLen
	if n < lenLow {
		rc.encodeBit(&l.choice, 0)
		rc.encodeTree(l.low[ps][:], n, lenLowBits)
	} else if n < lenLow+lenMid {
		rc.encodeBit(&l.choice, 1)
		rc.encodeBit(&l.choice2, 0)
		rc.encodeTree(l.mid[ps][:], n-lenLow, lenMidBits)
	} else {
		rc.encodeBit(&l.choice, 1)
		rc.encodeBit(&l.choice2, 1)
		rc.encodeTree(l.high[:], n-lenLow-lenMid, lenHighBits)
	}
}

// updatePrices fills the prices of lengths 2 to 2+size-1 at ps.
func (l *lenCoder) updatePrices(ps uint32, size int) {
	p := &l.prices[ps]
	a0, a1 := price0(l.choice), price1(l.choice)
	b0, b1 := a1+price0(l.choice2), a1+price1(l.choice2)
	i := 0
	for ; i < lenLow && i < size; i++ {
		p[i] = a0 + treePrice(l.low[ps][:], uint32(i), lenLowBits)
	}
	for ; i < lenLow+lenMid && i < size; i++ {
		p[i] = b0 + treePrice(l.mid[ps][:], uint32(i-lenLow), lenMidBits)
	}
	for ; i < size; i++ {
		p[i] = b1 + treePrice(l.high[:], uint32(i-lenLow-lenMid), lenHighBits)
	}
}

// model is the adaptive state of an LZMA coder: what a state reset resets.
type model struct {
	state uint32
	reps  [numReps]uint32 // distance codes (distance-1)

	isMatch     [numStates][posStates]prob
	isRep       [numStates]prob
	isRepG0     [numStates]prob
	isRepG1     [numStates]prob
	isRepG2     [numStates]prob
	isRep0Long  [numStates][posStates]prob
	literal     [1 << lc][0x300]prob
	distSlot    [distStates][1 << distSlotBits]prob
	distSpecial [fullDistances - endDistModel + 1]prob // from index 1
	align       [alignSize]prob
	matchLen    lenCoder
	repLen      lenCoder
}

func resetProbs(p []prob) {
	for i := range p {
		p[i] = probInit
	}
}

func (m *model) reset() {
	m.state = 0
	m.reps = [numReps]uint32{}
	for i := range m.isMatch {
		resetProbs(m.isMatch[i][:])
		resetProbs(m.isRep0Long[i][:])
	}
	resetProbs(m.isRep[:])
	resetProbs(m.isRepG0[:])
	resetProbs(m.isRepG1[:])
	resetProbs(m.isRepG2[:])
	for i := range m.literal {
		resetProbs(m.literal[i][:])
	}
	for i := range m.distSlot {
		resetProbs(m.distSlot[i][:])
	}
	resetProbs(m.distSpecial[:])
	resetProbs(m.align[:])
	m.matchLen.reset()
	m.repLen.reset()
}

func (m *model) literalProbs(prevByte byte) *[0x300]prob {
	return &m.literal[prevByte>>(8-lc)]
}

// literalPrice is the price of the literal b after prevByte, not counting
// isMatch; matched says the state is after a match, whose rep0 byte is
// matchByte.
func (m *model) literalPrice(prevByte byte, matched bool, matchByte, b byte) uint32 {
	probs := m.literalProbs(prevByte)
	price := uint32(0)
	sym := uint32(1)
	if !matched {
		for i := 7; i >= 0; i-- {
			bit := uint32(b>>uint(i)) & 1
			price += priceBit(probs[sym], bit)
			sym = sym<<1 | bit
		}
		return price
	}
	offs := uint32(0x100)
	for i := 7; i >= 0; i-- {
		bit := uint32(b>>uint(i)) & 1
		mb := uint32(matchByte>>uint(i)) & 1 << 8
		price += priceBit(probs[offs+(mb&offs)+sym], bit)
		sym = sym<<1 | bit
		if bit<<8 != mb {
			offs = 0
		}
	}
	return price
}

func (m *model) encodeLiteral(rc *rangeEncoder, prevByte byte, matchByte, b byte) {
	probs := m.literalProbs(prevByte)
	sym := uint32(1)
	if isLiteralState(m.state) {
		for i := 7; i >= 0; i-- {
			bit := uint32(b>>uint(i)) & 1
			rc.encodeBit(&probs[sym], bit)
			sym = sym<<1 | bit
		}
	} else {
		offs := uint32(0x100)
		for i := 7; i >= 0; i-- {
			bit := uint32(b>>uint(i)) & 1
			mb := uint32(matchByte>>uint(i)) & 1 << 8
			rc.encodeBit(&probs[offs+(mb&offs)+sym], bit)
			sym = sym<<1 | bit
			if bit<<8 != mb {
				offs = 0
			}
		}
	}
	m.state = literalNext(m.state)
}

func (m *model) shortRepPrice(state, ps uint32) uint32 {
	return price0(m.isRepG0[state]) + price0(m.isRep0Long[state][ps])
}

// pureRepPrice is the price of choosing rep i (after isMatch and isRep),
// without the length.
func (m *model) pureRepPrice(i, state, ps uint32) uint32 {
	if i == 0 {
		return price0(m.isRepG0[state]) + price1(m.isRep0Long[state][ps])
	}
	price := price1(m.isRepG0[state])
	if i == 1 {
		return price + price0(m.isRepG1[state])
	}
	return price + price1(m.isRepG1[state]) + priceBit(m.isRepG2[state], i-2)
}
