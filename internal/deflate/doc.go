// Package deflate is gpack's own deflate encoder (RFC 1951), made for
// compressing 1 MiB blocks in parallel to about the size of `gzip -9n` or
// less, at twice its speed per core or more. It follows the ideas that
// libdeflate and zopfli publish, not their code.
//
// An Encode runs in three steps on its input, which it prefixes with the
// dictionary (the 32 KiB before it) so that matches reach across blocks as
// in one stream:
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
// A block that is not final is followed by an empty stored block, the
// sync flush of zlib, so that it ends on a byte boundary and the outputs of
// Encodes concatenate into one stream; gpack's gzip writer relies on it.
//
// The output is a function of the data, the dictionary, final and the
// level alone: an Encode resets all the state it reads, so an Encoder may
// be reused, from a pool or a worker, without that showing. Version names
// the output for caches.
//
// Memory: about 0.5 MiB of tables and a copy of the input, plus, per byte
// of a segment, 16 bytes and 4 per match found.
package deflate
