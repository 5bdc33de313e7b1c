package lzma

import "math"

// prob is an adaptive probability of a 0 bit, out of 1<<probBits.
type prob uint16

const (
	probBits   = 11
	probInit   = 1 << (probBits - 1)
	moveBits   = 5
	topValue   = 1 << 24
	priceShift = 4 // prices are in 1/16 of a bit
	infPrice   = 1 << 30
)

// bitPrices[p>>4] is the price of coding a bit whose probability is p/2048.
var bitPrices [1 << (probBits - priceShift)]uint32

func init() {
	for i := range bitPrices {
		p := (float64(i)*16 + 8) / (1 << probBits)
		bitPrices[i] = uint32(math.Round(-math.Log2(p) * (1 << priceShift)))
	}
}

func price0(p prob) uint32 { return bitPrices[p>>priceShift] }
func price1(p prob) uint32 { return bitPrices[((1<<probBits)-p)>>priceShift] }
func priceBit(p prob, bit uint32) uint32 {
	if bit == 0 {
		return price0(p)
	}
	return price1(p)
}

// rangeEncoder is LZMA's range coder, writing to out.
type rangeEncoder struct {
	low       uint64
	rng       uint32
	cache     byte
	cacheSize int
	out       []byte
}

func (rc *rangeEncoder) reset(out []byte) {
	*rc = rangeEncoder{rng: 0xFFFFFFFF, cacheSize: 1, out: out}
}

func (rc *rangeEncoder) shiftLow() {
	if uint32(rc.low) < 0xFF000000 || rc.low>>32 != 0 {
		carry := byte(rc.low >> 32)
		temp := rc.cache
		for {
			rc.out = append(rc.out, temp+carry)
			temp = 0xFF
			rc.cacheSize--
			if rc.cacheSize == 0 {
				break
			}
		}
		rc.cache = byte(rc.low >> 24)
	}
	rc.cacheSize++
	rc.low = (rc.low & 0x00FFFFFF) << 8
}

func (rc *rangeEncoder) encodeBit(p *prob, bit uint32) {
	bound := (rc.rng >> probBits) * uint32(*p)
	if bit == 0 {
		rc.rng = bound
		*p += ((1 << probBits) - *p) >> moveBits
	} else {
		rc.low += uint64(bound)
		rc.rng -= bound
		*p -= *p >> moveBits
	}
	for rc.rng < topValue {
		rc.rng <<= 8
		rc.shiftLow()
	}
}

// encodeDirect codes the low n bits of v, most significant first, each at
// probability one half.
func (rc *rangeEncoder) encodeDirect(v uint32, n int) {
	for i := n - 1; i >= 0; i-- {
		rc.rng >>= 1
		if (v>>uint(i))&1 != 0 {
			rc.low += uint64(rc.rng)
		}
		for rc.rng < topValue {
			rc.rng <<= 8
			rc.shiftLow()
		}
	}
}

func (rc *rangeEncoder) flush() {
	for range 5 {
		rc.shiftLow()
	}
}

// pending is an upper bound of the bytes the coder has written once flushed.
func (rc *rangeEncoder) pending() int { return len(rc.out) + rc.cacheSize + 5 }

// encodeTree codes the low n bits of v, most significant first, with the
// bit tree probs (of 1<<n entries, index 1 the root).
func (rc *rangeEncoder) encodeTree(probs []prob, v uint32, n int) {
	m := uint32(1)
	for i := n - 1; i >= 0; i-- {
		bit := (v >> uint(i)) & 1
		rc.encodeBit(&probs[m], bit)
		m = m<<1 | bit
	}
}

// encodeReverse codes the low n bits of v, least significant first.
func (rc *rangeEncoder) encodeReverse(probs []prob, v uint32, n int) {
	m := uint32(1)
	for range n {
		bit := v & 1
		v >>= 1
		rc.encodeBit(&probs[m], bit)
		m = m<<1 | bit
	}
}

func treePrice(probs []prob, v uint32, n int) uint32 {
	price := uint32(0)
	m := uint32(1)
	for i := n - 1; i >= 0; i-- {
		bit := (v >> uint(i)) & 1
		price += priceBit(probs[m], bit)
		m = m<<1 | bit
	}
	return price
}

func reversePrice(probs []prob, v uint32, n int) uint32 {
	price := uint32(0)
	m := uint32(1)
	for range n {
		bit := v & 1
		v >>= 1
		price += priceBit(probs[m], bit)
		m = m<<1 | bit
	}
	return price
}
