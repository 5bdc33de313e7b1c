// Package compress is gpack's compression: the one vocabulary of
// compressors (Algo, and Compressor for the levels a format takes), the
// ordered block pipeline (Pipeline) that compresses blocks in parallel and
// hands them back in order, and the streaming compressors of tarballs and
// image layers: gzip, zstd, xz and none, each parallel, deterministic and
// bounded in memory. squashfs compresses its data blocks through the same
// Pipeline with codecs of its own.
//
// Deterministic means that the same input and level give the same bytes
// whatever Options.Concurrency, GOMAXPROCS and the sizes of the Write calls
// are, and that nothing about the time or the host is written. Each
// compressor gets there its own way:
//
//   - gzip: the input is cut into 1 MiB blocks, each deflated on its own,
//     on a worker of the Pipeline, primed with the 32 KiB of input before
//     it (pigz's scheme) and ended with a sync flush (an empty stored
//     block, which byte-aligns it), and the blocks are concatenated into
//     one gzip member with a fixed header (mtime 0, no name, OS Unix) and a
//     CRC taken in input order. Level 9, the default, deflates with gpack's
//     own near-optimal encoder (internal/deflate: binary-tree match finder,
//     a cost-driven optimal parse, codes from the parse), one reused per
//     worker, each block from scratch; levels 1 to 8 with a fresh
//     klauspost/compress/flate encoder per block.
//     klauspost/pgzip was measured and not used, although its output does
//     not depend on its number of blocks in flight either: it primes blocks
//     with 16 KiB only (its output is 0.02 % larger), writes the zero
//     time.Time as mtime (2288912640, a date in 2042) unless ModTime is
//     set, accepts a Write after Close, and leaves a goroutine behind when
//     the destination fails.
//   - zstd: klauspost/compress/zstd's block-parallel mode, whose jobs are
//     cut at fixed offsets (see newZstdWriter), with at least 2 goroutines:
//     with 1 the library falls back to a serial encoder whose output differs.
//     Streams stay with klauspost: its parallel mode is what makes zstd
//     fast on big inputs. squashfs's small blocks (one frame per 128 KiB
//     block) at levels 12 and up use gpack's own encoder, internal/zstd,
//     whose optimal parse is what libzstd does for small inputs: on 128
//     KiB pieces of the pkg/tool tarball (every 4th of split -b 128K, 129
//     pieces) klauspost's best gives 6,076,412 bytes with any of its
//     options (WithWindowSize, WithAllLitEntropyCompression,
//     WithLowerEncoderMem, WithZeroFrames: the same bytes), zstd -15
//     5,612,065, internal/zstd at level 15 5,651,110 (+0.70 %).
//   - xz: one xz stream of one LZMA2 block, as `xz -6` writes, from
//     gpack's own LZMA encoder (internal/lzma). The input is cut into
//     segments of 16 MiB (twice the dictionary; see xzBlockSize), each
//     encoded on a worker of the Pipeline with its match finder primed
//     with the 8 MiB of input before it and its first LZMA2 chunk
//     resetting the coder's state but not the dictionary, so that the
//     segments concatenate into one LZMA2 stream whose matches reach
//     back across segments as in one; the stream gets one block header,
//     the CRC64 of the input taken in input order, and the index.
//   - none: the input, unchanged.
//
// Memory is bounded by the blocks in flight, not the input: with 2 workers
// TestMemoryBounded measured a peak live heap of about 15 MiB for gzip
// (each worker's internal/deflate encoder keeps about 2 MiB),
// 318 MiB for xz (each internal/lzma encoder keeps about 106 MiB: 8
// bytes of binary tree per byte of dictionary, a hash table and a copy
// of its segment with the 8 MiB before it) and 214 MiB for zstd (its
// jobs are 32 MiB), and it grows linearly with Concurrency.
//
// # Levels
//
// gzip, measured with cmd/gpack-compress (2 workers) against the tools on
// two tarballs (`tar --sort=name --format=gnu --mtime=@1 --owner=0
// --group=0 --numeric-owner -cf`), best wall time of 2 runs, on 2 cores
// shared with other jobs (load average 6 to 11: the wall times are those
// of a crowded machine, the user seconds are what each command cost):
//
// /usr/local/go/pkg/tool, the Go 1.26 compiler and tools (67,450,880 bytes):
//
//	command         size         vs gzip -9n   wall      user
//	gzip -9n        24,595,621                 11.54 s   11.01 s
//	pigz -6         24,702,393   +0.43 %        2.93 s    3.38 s
//	pigz -9         24,560,497   -0.14 %       11.15 s   10.65 s
//	gpack 9         24,312,003   -1.15 %        6.90 s    6.67 s
//	gpack 8         25,111,551   +2.10 %        2.29 s    2.29 s
//	gpack 7         25,288,814   +2.82 %        1.72 s    1.68 s
//	gpack 6         25,642,703   +4.26 %        1.00 s    0.94 s
//
// python3 and coreutils from /nix/store (50,094,080 bytes):
//
//	command         size         vs gzip -9n   wall      user
//	gzip -9n        17,061,336                 10.46 s    7.89 s
//	pigz -6         17,161,567   +0.59 %        1.63 s    1.81 s
//	pigz -9         17,020,485   -0.24 %       12.65 s    7.38 s
//	gpack 9         16,908,819   -0.89 %       14.04 s    5.71 s
//	gpack 8         17,536,642   +2.79 %        3.33 s    1.77 s
//	gpack 7         17,667,867   +3.56 %        2.04 s    1.30 s
//	gpack 6         17,968,587   +5.32 %        1.30 s    0.64 s
//
// Against gzip 9 before, klauspost's level 9 (the main branch's
// gpack-compress, run right after the current one, load average 11 to 13):
// on the Go sample 25,057,737 bytes (+1.88 %) for 10.08 s of CPU where
// gpack 9 now took 7.20 s; on the Nix sample 17,489,305 bytes (+2.51 %)
// for 5.36 s, against 4.82 s.
//
// The default is 9, internal/deflate at its level 5 (search depth 8, nice
// length 16, one optimal parse after a greedy estimate, 32 KiB deflate
// blocks): the only level no larger than gzip -9n, by 1.15 and 0.89 %,
// for 0.61 and 0.72 of its CPU time. On the first 16 MiB of the Go
// sample, one core, at a lighter load (3.6), it took 1.22 to 1.36 s where
// gzip -9n took 2.34 to 2.55 s and klauspost's level 9, which gzip 9 was
// before, 2.12 s for 1.8 % more than gzip -9n. Levels 1 to 8 stay
// klauspost's: internal/deflate has no level as fast as them (klauspost's 8
// took 0.66 s on those 16 MiB, internal/deflate at search depth 1 0.90 s), and
// klauspost's deflate, even as a single stream, is 1 % larger than
// zlib's, which is why 9 is gpack's own.
//
// internal/deflate's levels, on those 16 MiB (gzip -9n: 6,343,492 bytes):
//
//	level   depth  nice  parses  size         vs gzip -9n
//	1       2      16    1       6,443,596    +1.58 %
//	2       3      16    1       6,380,597    +0.58 %
//	3       4      16    1       6,341,330    -0.03 %
//	4       6      16    1       6,297,606    -0.72 %
//	5       8      16    1       6,275,481    -1.07 %
//	6       12     24    1       6,221,605    -1.92 %
//	7       16     32    2       6,177,523    -2.62 %
//	8       32     64    2       6,158,246    -2.92 %
//	9       64     258   3       6,153,248    -3.00 %
//
// Not reached yet: the default at twice gzip -9's speed per core (it is
// 1.4 to 1.9 times, depending on the data and the load), and a level with
// pigz -6's size at twice pigz -6's speed (klauspost's 8 is 1.5 % larger
// than pigz -6; internal/deflate's level 3, a little smaller than pigz -6,
// took 1.0 to 1.3 s on those 16 MiB where pigz -6 -p 1 took 0.88 s).
//
// zstd: the default, level 3, is klauspost's SpeedDefault: 63,615,453
// bytes, 0.7 % more than zstd -3 -T0 (63,175,093).
//
// xz: the default, level 6, has xz -6's 8 MiB dictionary, nice length
// 64 and search depth 48, and xz's CRC64 check; level 5 has xz -5's
// (8 MiB, 32, 32). Measured with cmd/gpack-compress (2 workers) against
// xz 5.4.1 on the two tarballs below, made as above, 2 interleaved runs
// each, best wall time, on 2 cores shared with other jobs (the load
// average of each set is given: the wall times of a crowded machine, the
// user seconds are what each command cost):
//
// /usr/local/go/pkg/tool (67,450,880 bytes; load 1.4 to 1.9, and xz -6
// -T1 in a set at 2.6 to 3.6):
//
//	command         size         vs xz -6     wall      user
//	xz -6 -T1       15,395,860                34.20 s   33.48 s
//	xz -T0 -6       16,137,520   +4.82 %      18.71 s   30.80 s
//	gpack 6         15,440,048   +0.29 %      22.52 s   43.21 s
//	gpack 5         15,540,056   +0.94 %      19.61 s   38.03 s
//
// /usr/lib/python3, /usr/share/perl and coreutils' /usr/bin (71,249,920
// bytes; load 2.6 to 3.6, in which gpack 6 got 1.2 cores):
//
//	command         size         vs xz -6     wall      user
//	xz -6 -T1       12,342,956                35.09 s   34.36 s
//	xz -T0 -6       12,744,708   +3.26 %      20.21 s   31.54 s
//	gpack 6         12,361,060   +0.15 %      39.84 s   46.88 s
//	gpack 5         12,545,232   +1.64 %      23.59 s   37.76 s
//
// In one more run at load 2.5 on the second tarball, xz -T0 -6 took
// 27.37 s and gpack 6 27.31 s. Its five segments took 8.4, 11.3, 11.4,
// 10.9 and 3.0 s on one core, which 2 workers get through in about 23 s.
//
// xz -T0 cuts its input into independent 24 MiB blocks, which costs it 3
// to 5 %; gpack's segments of one stream cost it 0.15 to 0.3 % over one
// xz -6 thread.
//
// Not reached yet: xz -T0 -6's speed at level 6 (gpack 6 took 0.83 of
// it on the Go sample, level 5 0.95). gpack 6 takes 1.4 times xz -6's
// CPU, and priming each segment adds a fifth of that: on 16 MiB of the
// Go sample, one core, 57 % of the time goes to finding matches (the walks
// down the binary trees, which miss the caches), 27 % to the parse, 9 %
// to inserting the positions that matches cover, 2 % to the range coder.
// Priming with 4 MiB instead of 8 took 5 % less time for 0.9 % more
// output on the Go sample; nice length 32 and depth 32 (level 5) take
// 12 % less CPU for 0.7 % more.
package compress
