package lzma

import (
	"encoding/binary"
	"hash/crc32"
	"hash/crc64"
)

// CRC64Table is the table of xz's CRC64 check (ECMA-182, as hash/crc64
// computes it).
var CRC64Table = crc64.MakeTable(crc64.ECMA)

const (
	checkCRC64  = 0x04
	filterLZMA2 = 0x21
)

var streamFlags = []byte{0, checkCRC64}

// AppendXZ appends to dst one complete xz stream of data: a stream header,
// one block (none for empty data) of LZMA2 with a CRC64 check, the index
// and the stream footer. xz streams concatenate: xz and Go's readers read
// several as one.
func (e *Encoder) AppendXZ(dst, data []byte) []byte {
	if len(data) == 0 {
		return AppendXZTrailer(AppendXZStreamHeader(dst), nil, 0, 0, 0)
	}
	dst = AppendXZStreamHeader(dst)
	start := len(dst)
	// The block header holds the compressed size: the LZMA2 data is
	// written after room for the largest header, and moved back.
	const maxHeader = 1 + 1 + 10 + 10 + 3 + 3 + 4
	dst = append(dst, make([]byte, maxHeader)...)
	dst = e.EncodeLZMA2(dst, data)
	comp := len(dst) - start - maxHeader
	hdr := appendBlockHeader(nil, e.DictSize(len(data)), comp, len(data))
	copy(dst[start+len(hdr):], dst[start+maxHeader:])
	copy(dst[start:], hdr)
	dst = dst[:start+len(hdr)+comp]
	return AppendXZTrailer(dst, hdr, int64(comp), int64(len(data)), crc64.Checksum(data, CRC64Table))
}

// AppendXZStreamHeader appends the header of an xz stream with a CRC64
// check.
func AppendXZStreamHeader(dst []byte) []byte {
	dst = append(dst, 0xFD, '7', 'z', 'X', 'Z', 0)
	dst = append(dst, streamFlags...)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(streamFlags))
}

// AppendXZBlockHeader appends the header of a block of LZMA2 data for a
// dictionary of dictSize bytes, with no sizes in it, for a block written as
// it is compressed.
func AppendXZBlockHeader(dst []byte, dictSize int) []byte {
	return appendBlockHeader(dst, dictSize, -1, -1)
}

// appendBlockHeader appends a block header, with the compressed and
// uncompressed sizes when they are not negative.
func appendBlockHeader(dst []byte, dictSize, comp, size int) []byte {
	start := len(dst)
	flags := byte(0) // one filter
	if comp >= 0 {
		flags |= 0xC0
	}
	dst = append(dst, 0, flags)
	if comp >= 0 {
		dst = appendVLI(dst, uint64(comp))
		dst = appendVLI(dst, uint64(size))
	}
	dst = append(dst, filterLZMA2, 1, dictByte(dictSize))
	for (len(dst)-start)%4 != 0 {
		dst = append(dst, 0)
	}
	dst[start] = byte((len(dst)-start+4)/4 - 1)
	return binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(dst[start:]))
}

// AppendXZTrailer ends an xz stream: the padding and check of its one block,
// whose header was blockHeader and whose LZMA2 data (with its end marker)
// was comp bytes, for size bytes of input of CRC64 crc, then the index and
// the stream footer. A nil blockHeader means a stream of no blocks.
func AppendXZTrailer(dst, blockHeader []byte, comp, size int64, crc uint64) []byte {
	index := []byte{0} // the index indicator
	if blockHeader == nil {
		index = appendVLI(index, 0)
	} else {
		for n := comp; n%4 != 0; n++ {
			dst = append(dst, 0)
		}
		dst = binary.LittleEndian.AppendUint64(dst, crc)
		index = appendVLI(index, 1)
		// The unpadded size: header, compressed data and check.
		index = appendVLI(index, uint64(int64(len(blockHeader))+comp+8))
		index = appendVLI(index, uint64(size))
	}
	for len(index)%4 != 0 {
		index = append(index, 0)
	}
	index = binary.LittleEndian.AppendUint32(index, crc32.ChecksumIEEE(index))
	dst = append(dst, index...)

	footer := binary.LittleEndian.AppendUint32(nil, uint32(len(index)/4-1))
	footer = append(footer, streamFlags...)
	dst = binary.LittleEndian.AppendUint32(dst, crc32.ChecksumIEEE(footer))
	dst = append(dst, footer...)
	return append(dst, 'Y', 'Z')
}

func appendVLI(b []byte, v uint64) []byte {
	for v >= 0x80 {
		b = append(b, byte(v)|0x80)
		v >>= 7
	}
	return append(b, byte(v))
}
