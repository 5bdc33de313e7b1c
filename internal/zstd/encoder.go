package zstd

import (
	"encoding/binary"
	"errors"

	"github.com/klauspost/compress/huff0"
)

// MaxBlockSize is the largest input the encoder is made for: it codes
// larger ones, but as independent 128 KiB blocks that never match across.
const MaxBlockSize = maxBlockSize

const (
	magic        = 0xFD2FB528
	maxBlockSize = 128 << 10
	minMatch     = 3
	hashLog      = 17
)

// Params are the match finder's and parser's effort.
type params struct {
	depth   int // hash chain candidates looked at per position
	nice    int // a match this long is taken at once
	passes  int // optimal parses, each priced by the previous one's result
	maxCand int // matches kept per position
}

// levelParams maps levels to effort; levels below MinLevel are not
// served here.
func levelParams(level int) params {
	switch {
	case level <= 14:
		return params{depth: 24, nice: 48, passes: 2, maxCand: 6}
	case level <= 16:
		return params{depth: 48, nice: 96, passes: 2, maxCand: 8}
	case level <= 18:
		return params{depth: 128, nice: 192, passes: 3, maxCand: 10}
	}
	return params{depth: 512, nice: 512, passes: 3, maxCand: 12}
}

// MinLevel is the lowest level this encoder takes; below it, klauspost's
// encoders are as small and much faster.
const MinLevel = 12

// An Encoder writes one zstd frame per call. It is not safe for
// concurrent use; its output depends on the input and level alone.
type Encoder struct {
	p          params
	head       []int32
	prev       []int32
	cands      []match
	cstart     []int32
	opt        []node
	seqs       []seq
	lits       []byte
	huff       huff0.Scratch
	st         stats
	tmp        []byte
	bw         bitWriter
	lt, mt, ot fseTable
}

type match struct{ len, off uint32 }

type seq struct {
	ll, ml, offBase uint32
}

// node is the optimal parser's arrival at a position.
type node struct {
	price   int64
	litlen  uint32
	mlen    uint32 // 0: reached by a literal
	offBase uint32
	reps    [3]uint32
}

// NewEncoder returns an encoder for a zstd level (MinLevel to 22).
func NewEncoder(level int) (*Encoder, error) {
	if level < MinLevel || level > 22 {
		return nil, errors.New("zstd: level out of range")
	}
	return &Encoder{p: levelParams(level)}, nil
}

// Encode appends to dst one frame holding src: single segment, content
// size, no checksum (what libzstd's ZSTD_compress writes, and what squashfs
// wants).
func (e *Encoder) Encode(dst, src []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, magic)
	n := len(src)
	switch {
	case n < 256:
		dst = append(dst, 0<<6|1<<5, byte(n))
	case n < 65536+256:
		dst = append(dst, 1<<6|1<<5)
		dst = binary.LittleEndian.AppendUint16(dst, uint16(n-256))
	default:
		dst = append(dst, 2<<6|1<<5)
		dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	}
	if n == 0 {
		return appendBlockHeader(dst, true, 0, 0)
	}
	reps := [3]uint32{1, 4, 8}
	for p := 0; p < n; p += maxBlockSize {
		end := min(p+maxBlockSize, n)
		dst = e.block(dst, src[p:end], end == n, &reps)
	}
	return dst
}

func appendBlockHeader(dst []byte, last bool, typ, size int) []byte {
	h := uint32(size)<<3 | uint32(typ)<<1
	if last {
		h |= 1
	}
	return append(dst, byte(h), byte(h>>8), byte(h>>16))
}

// block appends one block: compressed, or RLE or raw when not larger.
func (e *Encoder) block(dst, b []byte, last bool, reps *[3]uint32) []byte {
	rle := true
	for _, c := range b[1:] {
		if c != b[0] {
			rle = false
			break
		}
	}
	if rle {
		return append(appendBlockHeader(dst, last, 1, len(b)), b[0])
	}
	saved := *reps
	if len(b) >= 16 {
		e.parse(b, reps)
		body, ok := e.compressed(e.tmp[:0], b)
		e.tmp = body
		if ok && len(body) < len(b) {
			dst = appendBlockHeader(dst, last, 2, len(body))
			return append(dst, body...)
		}
	}
	// A raw block has no sequences: the repeat offsets stay as they were.
	*reps = saved
	dst = appendBlockHeader(dst, last, 0, len(b))
	return append(dst, b...)
}
