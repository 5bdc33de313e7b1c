// Package lzma is gpack's own LZMA2 encoder and xz container writer, made
// to compress about as small as `xz -6` and to run in parallel on
// segments of one stream. It follows the ideas that liblzma and the LZMA
// SDK document (bt4 match finder, "normal" price-driven optimal parse),
// not their code.
//
// An encode runs in three parts:
//
//  1. Matches (matchFinder): bt4. The last position of each 2-byte value
//     and of each 3-byte hash give the nearest matches of length 2 and 3;
//     a binary search tree per 4-byte hash, over the positions of the
//     dictionary ordered by the strings that start there, gives the
//     longer ones: inserting a position walks down from the tree's root
//     (the last position with that hash), re-links the nodes it passes
//     around the new one, and the nodes on that walk are those with the
//     longest common prefixes, so one walk of at most Depth nodes both
//     inserts and yields the matches, by increasing length. A match of
//     NiceLen ends the walk and is extended up to 273 bytes.
//  2. Parse (parse, step): liblzma's normal mode. From a position, the
//     cheapest way to reach each of the following positions (up to 4096)
//     is found in one forward pass, with prices in 1/16 bit taken from
//     the coder's current probabilities: literals (plain or matched
//     against the byte at rep0), short reps, rep0 to rep3 matches,
//     matches of every length up to each match found, and the two-step
//     sequences match+literal+rep0, rep+literal+rep0 and literal+rep0.
//     Each position keeps the state and reps of its cheapest path. The
//     window ends where no path reaches further, or at a match of
//     NiceLen, and the path is read back. Length prices are refreshed per
//     position state after each table's worth of uses, distance prices
//     every 128 matches and align prices every 16 uses of them.
//  3. Coding: the range coder with lc=3, lp=0, pb=2, into LZMA2 chunks of
//     at most 2 MiB of input and 64 KiB of output; a chunk that did not
//     get smaller is written stored, and the next one resets the state.
//
// EncodeSegment encodes a segment that continues a stream: its match finder
// is first primed with the dictionary's worth of input before it (inserted,
// not parsed), and its first chunk resets the state and properties but not
// the dictionary, so segments encoded on separate cores concatenate into
// one LZMA2 stream in which matches reach back across segments as in one.
// Priming 8 MiB costs about two fifths of encoding it (1.7 to 1.9 s against
// 8.6 to 9.3 s for 16 MiB of the Go toolchain's tar, one core).
//
// The output is a function of the input, the dictionary before it and the
// options alone; an Encoder resets all it reads and may be reused. Version
// names the output for caches.
//
// Memory, for a dictionary of D bytes: 8 D of binary trees, a hash table
// of up to D/2 entries of 4 bytes (16 MiB at 8 MiB), 512 KiB of short
// hashes, and a copy of the segment with its dictionary.
package lzma
