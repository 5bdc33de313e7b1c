// Package zstd is gpack's zstd encoder for small inputs: one frame per
// call (single segment, content size, no checksum, as libzstd's
// ZSTD_compress writes and squashfs wants), for squashfs's 128 KiB data
// and 8 KiB metadata blocks, where klauspost/compress's best level is 8 %
// larger than libzstd, which switches to optimal parsing for small
// inputs.
//
// Matches come from a hash chain of 3-byte prefixes, up to a dozen of
// growing length per position, found once per block. The parse is a
// shortest path over the block (each position's best arrival keeps its
// repeat offsets and literal run), priced in 1/256 bits: first from the
// block's byte histogram and the predefined sequence distributions, then,
// for each further pass, from the codes the previous pass chose. Literals
// are Huffman coded with klauspost's huff0 (one stream up to 1023 bytes,
// four above; raw or RLE when not larger); each sequence code stream takes
// the cheapest of the predefined table, RLE and a table of its own at
// every accuracy from 5 to its maximum. Blocks that do not shrink are
// stored raw or as RLE. Inputs over 128 KiB are cut into 128 KiB blocks
// that do not match across each other.
//
// Measured on 129 pieces of 128 KiB (every 4th of split -b 128K of the Go
// toolchain's pkg/tool tarball): level 15 5,651,110 bytes, zstd -15
// 5,612,065 (+0.70 %), klauspost's best 6,076,412. It is about twice
// libzstd's CPU time (see formats/squashfs's doc for images).
package zstd
