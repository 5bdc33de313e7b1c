package deflate

import "math/bits"

// The length and distance codes of RFC 1951, section 3.2.5.
var (
	lengthBase = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31,
		35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2,
		3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193,
		257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6,
		7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	// codeLenOrder is the order in which a dynamic block header lists
	// the lengths of the code-length code.
	codeLenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}

	// lengthCode maps a match length (3 to 258) to its index in
	// lengthBase, that is its symbol minus 257.
	lengthCode [maxMatch + 1]uint8
)

const (
	minMatch = 3
	maxMatch = 258
	maxDist  = 32768

	numLitLen = 286 // symbols a dynamic block may use: 0-255, 256 (end), 257-285
	numDist   = 30
	numCL     = 19
	endBlock  = 256
)

func init() {
	for c := range lengthBase {
		for l := int(lengthBase[c]); l < int(lengthBase[c])+1<<lengthExtra[c] && l <= maxMatch; l++ {
			lengthCode[l] = uint8(c) // 285 comes last and takes 258 from 284
		}
	}
}

// distSlot returns the distance code (0 to 29) of distance d (1 to 32768).
func distSlot(d int) int {
	d--
	if d < 4 {
		return d
	}
	n := bits.Len32(uint32(d)) - 1
	return 2*n + (d>>(n-1))&1
}

// fixedLitLenLens and fixedDistLens are the code lengths of the fixed
// codes (block type 1).
var fixedLitLenLens, fixedDistLens = func() (l [288]uint8, d [numDist]uint8) {
	for i := range l {
		switch {
		case i < 144:
			l[i] = 8
		case i < 256:
			l[i] = 9
		case i < 280:
			l[i] = 7
		default:
			l[i] = 8
		}
	}
	for i := range d {
		d[i] = 5
	}
	return
}()
