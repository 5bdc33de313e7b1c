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
//     on a worker of the Pipeline, by a fresh klauspost/compress/flate
//     encoder primed with the 32 KiB of input before it (pigz's scheme),
//     ended with a sync flush, and the
//     blocks are concatenated into one gzip member with a fixed header
//     (mtime 0, no name, OS Unix) and a CRC taken in input order.
//     klauspost/pgzip was measured and not used, although its output does
//     not depend on its number of blocks in flight either: it primes blocks
//     with 16 KiB only (its output is 0.02 % larger), writes the zero
//     time.Time as mtime (2288912640, a date in 2042) unless ModTime is
//     set, accepts a Write after Close, and leaves a goroutine behind when
//     the destination fails.
//   - zstd: klauspost/compress/zstd's block-parallel mode, whose jobs are
//     cut at fixed offsets (see newZstdWriter), with at least 2 goroutines:
//     with 1 the library falls back to a serial encoder whose output differs.
//   - xz: ulikunitz/xz compresses on one core, so the input is cut into
//     blocks of 16 MiB (twice the dictionary; see xzBlockSize), each
//     compressed as a complete xz stream on its own goroutine, and the
//     streams are concatenated, which xz, tar -J and Go readers accept.
//   - none: the input, unchanged.
//
// Memory is bounded by the blocks in flight, not the input: with 2 workers
// TestMemoryBounded measured a peak live heap of about 5 MiB for gzip,
// 146 MiB for xz (each encoder allocates about 6 bytes per byte of
// dictionary) and 214 MiB for zstd (its jobs are 32 MiB), and it grows
// linearly with Concurrency.
//
// # Levels
//
// Measured on the Go toolchain tarball (`tar --sort=name --format=gnu
// --mtime=@1 --owner=0 --group=0 --numeric-owner -cf` of /usr/local/go,
// 244,817,920 bytes) on 2 shared cores, 3 runs each; bench/compress.sh
// measures the defaults against the reference tools.
//
// gzip, against gzip -9n (66,124,117 bytes, 32 s) and pigz -9 (65,980,799
// bytes, 15 s):
//
//	level   size         vs gzip -9n   wall
//	6       68,812,662   +4.07 %        1.8 s
//	7       67,867,406   +2.64 %        3.1 s
//	8       67,187,534   +1.61 %        4.3 s
//	9       66,788,787   +1.01 %       15.0 s
//
// On a second tarball (JDK 17, /usr/share/doc and Python 3.11's library,
// 439,388,160 bytes; gzip -9n 217,521,437 bytes in 49 s, pigz -9 38 s):
// level 7 +1.03 % in 8.5 s, 8 +0.63 % in 13.4 s, 9 +0.40 % in 53.5 s.
//
// The default is 9: on both tarballs it is the only level near 1 % of
// gzip -9n (just over on the Go tarball, under on the other). No level
// stays under 1 % on the Go tarball: klauspost's deflate is 1 % larger than
// zlib's even as a single stream (66,813,484 bytes; Go's compress/flate
// 66,885,874), and its level 9 is slow on some data (the JDK above). Level
// 8 is 3.5 to 4 times faster for 0.2 to 0.6 % more.
//
// zstd: the default, level 3, is klauspost's SpeedDefault: 63,615,453
// bytes, 0.7 % more than zstd -3 -T0 (63,175,093).
//
// xz: the default, level 6, has xz -6's 8 MiB dictionary and xz's CRC64
// check. ulikunitz/xz's encoder (hash-table match finder, no optimal
// parsing) makes about 27 % more than xz -T0 -6 (44,515,760 bytes), in
// about half its time; its binary-tree match finder did not get through
// 2 MiB of the tarball in 15 minutes.
package compress
