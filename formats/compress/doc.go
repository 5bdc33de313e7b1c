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
//     CRC taken in input order. Levels 6 to 9 deflate with gpack's own
//     encoder (internal/deflate, at the level deflate.ForGzipLevel gives),
//     one reused per worker, each block from scratch: 9, the default, and
//     8 with its near-optimal parse (binary-tree match finder, a
//     cost-driven optimal parse, codes from the parse), 7 and 6 with its
//     lazy one (hash chains, zlib's lazy matching, codes from each 32 KiB
//     block's real frequencies); levels 1 to 5 with a fresh
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
// gzip, measured with cmd/gpack-compress against the tools on two
// tarballs (`tar --sort=name --format=gnu --mtime=@1 --owner=0 --group=0
// --numeric-owner -cf`), each command run twice, interleaved, the best
// taken, on 2 cores shared with other jobs: `/usr/bin/time -f '%e %U %S'
// CMD <in.tar >out.gz`, every output checked with gzip. "CPU" is user
// plus system seconds, what a command costs whatever the load; "1 core"
// is gpack-compress at GOMAXPROCS=1 (one worker, the same bytes), to set
// against gzip -9n and pigz -6 -p 1; the wall times are those of a shared
// machine. The rows of gpack 6 and 7 come from a second session, with
// pigz -6 run again beside them (its rows there are marked 2).
//
// /usr/local/go/pkg/tool, the Go compiler and tools (67,450,880 bytes;
// load average 2.5 to 3.7, second session 3.8 to 6.6):
//
//	command          size         vs gzip -9n   wall      CPU      1 core
//	gzip -9n         24,596,423                 10.27 s   10.26 s
//	pigz -9          24,560,444   -0.15 %        8.67 s    9.28 s
//	pigz -6          24,702,335   +0.43 %        1.90 s    2.70 s   2.53 s
//	pigz -6 (2)      24,702,335   +0.43 %        3.13 s    2.85 s   2.74 s
//	gpack 9          24,311,174   -1.16 %        2.74 s    4.83 s   4.75 s
//	gpack 8          24,558,899   -0.15 %        2.11 s    4.15 s
//	gpack 7 (2)      24,602,851   +0.03 %        2.52 s    1.70 s   1.51 s
//	gpack 6 (2)      24,697,887   +0.41 %        2.17 s    1.42 s   1.35 s
//
// /usr/lib/python3.11 and coreutils' binaries (58,204,160 bytes; load
// average 2.0 to 3.7, second session 4.0 to 11):
//
//	command          size         vs gzip -9n   wall      CPU      1 core
//	gzip -9n         17,101,105                 14.22 s   13.88 s
//	pigz -9          17,082,419   -0.11 %        6.96 s   12.91 s
//	pigz -6          17,280,873   +1.05 %        1.18 s    1.75 s   1.71 s
//	pigz -6 (2)      17,280,873   +1.05 %        2.65 s    1.86 s   1.80 s
//	gpack 9          17,093,590   -0.04 %        2.24 s    4.38 s   4.41 s
//	gpack 8          17,271,915   +1.00 %        1.85 s    3.63 s
//	gpack 7 (2)      17,172,627   +0.42 %        2.06 s    1.28 s   1.16 s
//	gpack 6 (2)      17,248,846   +0.86 %        1.71 s    1.03 s   0.99 s
//
// The default is 9, internal/deflate at its level 5 (search depth 8, nice
// length 16, one optimal parse after a greedy estimate, 32 KiB deflate
// blocks): no larger than gzip -9n, by 1.16 and 0.04 %, for 2.16 and 3.15
// times less CPU on one core; on 2 cores its wall time is 3.75 and 6.3
// times shorter than gzip -9n's (the issue asks 4 on the Go tarball: not
// quite, at that load). 8 is internal/deflate's level 3 (depth 4): about
// gzip -9n's size on the Go binaries, 1 % more on Python. 6 is its lazy
// level 1 (chains of 16, matches under 32 lazily checked): no larger than
// pigz -6 (-0.02 and -0.19 %) for 2.03 and 1.82 times less CPU per core;
// 7, its level 2 (chains of 32), 0.4 % smaller than pigz -6, for 1.8 and
// 1.55 times less. Levels 1 to 5 stay klauspost's, which are faster than
// any of internal/deflate's; before this, 6 to 8 were klauspost's too, and
// its 8 made 25,111,551 and 17,536,642 bytes of these tarballs (+2.1 and
// +2.8 % against gzip -9n) in 2.29 and 1.77 s of CPU, at another load.
//
// internal/deflate's levels on the first 16 MiB of those two tarballs, one
// worker, and the tools on the same (internal/deflate's package
// documentation has the command):
//
//	                 Go pkg/tool            python3 + coreutils
//	                 size        CPU        size        CPU
//	1 (lazy, 16)     6,377,998   0.36 s     5,330,493   0.31 s
//	2 (lazy, 32)     6,349,470   0.38 s     5,307,531   0.35 s
//	3 (depth 4)      6,341,305   1.05 s     5,329,496   1.03 s
//	5 (depth 8)      6,275,406   1.19 s     5,273,281   1.22 s
//	pigz -6 -p 1     6,373,721   0.65 s     5,349,690   0.49 s
//	gzip -9n         6,343,088   2.35 s     5,296,442   3.91 s
//
// Not reached: 6 at twice pigz -6's speed per core on the Python tarball
// (1.82 times), and the default's 4 times gzip -9n's wall time on 2 cores
// on the Go tarball (3.75). The binary-tree walk is 60 % of the default's
// time, spread over cache misses rather than one hot spot. On data that
// is compressed already the default loses to gzip -9n, whose hash chains
// are short there: on the first 32 MiB of a tar of /usr/share/doc (mostly
// .gz files), gpack 9 took 1.28 s of CPU on one core where gzip -9n took
// 0.92 s, and came out 0.12 % larger (23,104,878 bytes against
// 23,077,371). Skipping the search after runs of positions without a
// match (tried: 32 misses, then growing steps) saved a quarter of that
// time but cost 0.4 to 0.8 % of size on the Go binaries, so it is not
// done.
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
