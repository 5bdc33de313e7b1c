// Package deflate is gpack's own deflate encoder (RFC 1951), made for
// compressing 1 MiB blocks in parallel to about the size of `gzip -9n` or
// less, at twice its speed per core or more. It follows the ideas that
// libdeflate and zopfli publish, not their code.
//
// Levels 3 to 9 (the default is 5) parse optimally; 1 and 2 lazily, for
// speed. ForGzipLevel says which serves each gzip level.
//
// An Encode at levels 3 to 9 runs in three steps on its input, which it
// prefixes with the dictionary (the 32 KiB before it) so that matches
// reach across blocks as in one stream:
//
//  1. Matches. A binary-tree match finder (matchFinder) keeps, per hash of
//     the next 4 bytes, a search tree of earlier positions ordered by the
//     strings that start there. Inserting a position walks down from the
//     root, splitting the tree around the new string, and the nodes it
//     meets are those with the longest common prefixes, so one walk of at
//     most depth nodes both inserts and yields every match worth having,
//     by increasing length. A table of the last position of each 3-byte
//     hash adds length-3 matches. The dictionary is only inserted. After a
//     match of nice length the positions it covers are only inserted too.
//  2. Parse. The input is cut into segments (32 KiB: each becomes one
//     deflate block with codes of its own). A greedy parse of the matches
//     found gives first symbol statistics, whose Huffman code lengths are
//     the first costs, in bits, of each literal, length and distance code
//     with its extra bits. Then a backward pass finds the cheapest parse
//     of the segment under those costs: the cost of a position is the
//     smallest of a literal, or a match of any length up to each match
//     found there, plus the cost of where the step lands. Further passes,
//     at the higher levels, take the costs from the codes of the parse
//     before.
//  3. Codes. Huffman codes are built from the final parse's frequencies
//     (a plain Huffman tree; when it is deeper than 15 bits, or 7 for the
//     code-length code, the frequencies are halved and it is built again,
//     which keeps the code complete as zlib's and Go's decoders require),
//     and the block is written dynamic, fixed or stored, whichever is
//     exactly the smallest.
//
// Levels 1 and 2 replace the first two steps with zlib's lazy parse
// (lazyParse): hash chains of the positions whose next 4 bytes hash alike,
// walked newest first up to 16 or 32 of them, plus the last position of
// each 3-byte hash for length-3 matches within 4 KiB (zlib's limit); a
// match shorter than 32 or 16 gives way to the next position's if that
// one is longer by more than the extra distance bits it adds, counted at 4
// bits a byte (zlib takes any longer one; this made 0.4 % less). Inserting a position is two stores, so the positions inside
// a match cost next to nothing. What they gain over zlib -6 (pigz -6) is
// the third step: 32 KiB blocks, each with codes from its real
// frequencies, the smallest of dynamic, fixed or stored. Asking the
// position after next too, as libdeflate's lazy2 does, made the Go
// toolchain sample larger.
//
// Measured with BenchmarkSample, one worker, on the first 16 MiB of the Go
// pkg/tool tarball and of a python3.11 + coreutils tarball (see
// formats/compress), load average 3 to 7:
//
//	DEFLATE_SAMPLE=go16 DEFLATE_WORKERS=1 go test -run '^$' -bench Sample
//
//	           Go pkg/tool            python3 + coreutils
//	           size        CPU        size        CPU
//	level 1    6,377,998   0.36 s     5,330,493   0.31 s
//	level 2    6,349,470   0.38 s     5,307,531   0.35 s
//	level 3    6,341,305   1.05 s     5,329,496   1.03 s
//	level 5    6,275,406   1.19 s     5,273,281   1.22 s
//	pigz -6    6,373,721   0.65 s     5,349,690   0.49 s  (-p 1)
//	gzip -9n   6,343,088   2.35 s     5,296,442   3.91 s
//
// Profiled at level 5, the binary-tree walk is about 60 % of the time and
// spread over its loads (cache misses, not one hot spot), the parse 25 %.
// Inserting the positions inside a long match at depth 2 instead of 8
// saved 13 % of CPU and cost 0.5 % in size, so they keep the full depth.
//
// A block that is not final is followed by an empty stored block, the
// sync flush of zlib, so that it ends on a byte boundary and the outputs of
// Encodes concatenate into one stream; gpack's gzip writer relies on it.
//
// The output is a function of the data, the dictionary, final and the
// level alone: an Encode resets all the state it reads, so an Encoder may
// be reused, from a pool or a worker, without that showing. Version names
// the output for caches.
//
// Memory: about 0.5 MiB of tables (0.4 MiB at levels 1 and 2) and a copy
// of the input, plus, per byte of a segment, 16 bytes and 4 per match found
// at levels 3 to 9, and 4 bytes per token at 1 and 2.
package deflate
