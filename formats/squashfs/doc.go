// Package squashfs writes a pack.Tree as a SquashFS 4.0 image, the file
// system that the kernel mounts and Singularity/Apptainer runs, and reads
// images back. It is gpack's own writer and reader, made from the format
// documentation (the kernel's Documentation/filesystems/squashfs.rst and
// squashfs_fs.h, squashfs-tools-ng's doc/format.adoc): no mksquashfs, no
// copy of the tree.
//
// # Streaming
//
// The image is written front to back in one pass over the tree, in the
// order the kernel insists on: superblock, compressor options, data and
// fragment blocks, inode table, directory table, fragment, export and id
// tables, padding to 4 KiB. The superblock records where the tables ended
// up, so it is written last, over a zeroed placeholder, with one WriteAt:
// hence Output, which is io.Writer plus io.WriterAt (an *os.File is one).
// Until then the image has no magic number, so a failed or interrupted
// Write never leaves something a reader takes for an image.
//
// Memory does not grow with the size of the files: data blocks are in
// flight between the reader and the output in bounded numbers. It grows
// with the number of entries: the inode and directory tables, which are
// written after the data, are built in memory (tens of bytes per entry),
// as are the block lists of the files (4 bytes per block).
//
// # Determinism
//
// An image is a function of the tree and the options alone. Every inode
// has the tree's mtime, owner and group 0 (root; the id table holds only
// 0), and no xattrs; the root directory is mode 0755; the superblock's
// creation time is the tree's mtime. Data blocks are cut at fixed offsets
// of each file, compressed on a compress.Pipeline of Options.Concurrency
// workers, each with its own compressor whose output depends on the block
// alone, and written in the order they were cut; metadata is compressed in order on the calling
// goroutine. So the bytes do not depend on the number of workers,
// GOMAXPROCS or scheduling (TestDeterministic, TestCodecReuse).
//
// # Layout choices
//
//   - Files are stored in tree order. Full blocks that are all zero are
//     sparse (size 0, no data). A block that does not shrink is stored as
//     it is, with the size word's uncompressed bit; so is a metadata block.
//   - Tail-end packing: the end of every file that is not a whole number
//     of blocks (a file smaller than a block is all end) goes into a
//     fragment block. Tails are grouped by class (file name extension,
//     and text or binary) into up to 8 fragment blocks filled at once,
//     which compresses better than tree order (see fragOpen).
//   - Files with the same content are stored once and share blocks and
//     fragment; they stay distinct inodes. Equal content is equal SHA-256
//     (see addFile). Hard links (pack.HardLink) are one inode with its
//     link count.
//   - Inodes are numbered and written in the order the kernel's lookups
//     favour: the entries of a directory in tree order, each directory
//     after its contents, the root last. Basic inodes are used unless
//     mksquashfs would use extended ones: a file larger than 4 GiB, data
//     past 4 GiB, hard links or sparse blocks; a directory whose listing
//     is longer than a metadata block, which then gets an index (one entry
//     per metadata block of the listing, so that a lookup decompresses one
//     block). Directory runs hold at most 256 entries of one inode block
//     within a 16-bit inode number delta.
//   - The export table (inode number to inode) is always written, so the
//     image can be exported over NFS and opened by file handle.
//
// # Compressors
//
// gzip (zlib streams; from level 6 to the default 9 gpack's own
// deflate, internal/deflate, below it klauspost/compress), xz (ulikunitz/xz, a complete
// xz stream with a CRC32 check per block, with a dictionary no larger than
// the kernel's), zstd (frames whose window is the block size, as the
// kernel needs: levels 12 to 22 at blocks up to 128 KiB from gpack's own
// optimal-parse encoder, internal/zstd, the rest from klauspost/compress), lz4 (pierrec/lz4, raw LZ4 blocks,
// with the compressor options the kernel requires), and none (every block
// stored as is, in an image that says gzip). Default levels are
// mksquashfs's: gzip 9, zstd 15, lz4 fast. The Go encoders are not the C
// ones: images are a little larger than mksquashfs's (see the package
// README for measurements).
//
// zstd at the default level 15, 128 KiB blocks, against mksquashfs -comp
// zstd -b 128K -processors 2 (BenchmarkVsMksquashfs, -benchtime 2x, best
// run; gzip rows to separate the layout from the encoder; load average
// 0.8 to 8.9 on 2 shared cores, so CPU seconds are rough):
//
//	tree              gpack bytes   mksquashfs   ratio   CPU s gpack/mk
//	Go 1.26 GOROOT    59,961,344    59,461,632   1.0084  58.5 / 26.4
//	  same, gzip 9    65,490,944    65,912,832   0.9936  15.6 / 22.9
//	/usr/lib/python3  12,820,480    12,652,544   1.0133  10.1 / 5.2
//	  same, gzip 9    13,860,864    13,930,496   0.9950   3.2 / 4.5
//
// With klauspost's best encoder the zstd images were 8.3 % larger than
// mksquashfs's on the Go tree. Command: GPACK_SQUASHFS_ALGOS=zstd,gzip
// [GPACK_BENCH_DIR=/usr/lib/python3] go test -run '^$' -bench
// 'BenchmarkVsMksquashfs/(zstd|gzip)-128k' -benchtime 2x ./formats/squashfs/
//
// # Reading
//
// Open reads an image from an io.ReaderAt (an *os.File, or a section of one,
// such as the image inside an AppImage) and gives an *Image: an io/fs file
// system (fs.StatFS, fs.ReadDirFS and fs.ReadLinkFS; symlinks are followed
// as in a chroot at the image's root; names that are not UTF-8, which io/fs
// cannot take, only through Lookup and the inodes), and under it, the
// inodes: Image.Root, Image.Inode by number (through the export table),
// Image.Lookup by path, Inode.Lookup of a name in a directory (through its
// index, as the kernel does: the one metadata block where the name would
// be), Inode.OpenDir for the entries in order, and Inode.Open for a File
// with ReadAt (safe for concurrent use), Read, Seek and WriteTo. That is
// what a FUSE server asks (lookup, getattr with inode numbers for node ids,
// readdir, read, readlink) and what an extractor does. Images from other
// writers read too: mksquashfs's and gensquashfs's, with owners, devices,
// fifos, sockets, xattrs (which are not read), without an export table or
// fragments (TestReadOtherWriters). lzma and lzo compression, and xz blocks
// with BCJ filters, give errors that wrap errors.ErrUnsupported.
//
// Memory does not grow with the files, only with the metadata, a little, and
// with what callers hold. Open reads the superblock, the lookup tables'
// indexes, the id table and the root inode, and walks the headers of the
// inode and directory tables' metadata blocks (64 KiB read at a time,
// nothing decompressed) to know where each block starts: 4 bytes per 8 KiB
// block of metadata (456 bytes for the Go toolchain's 15,000 files). All
// else is read when asked for, through one cache of decompressed blocks, at
// most ReadOptions.CacheSize bytes (DefaultCacheSize, 32 MiB): a quarter for
// metadata, the rest for data and fragment blocks, each in LRU order, so
// that reading through large files does not push out the metadata every
// lookup needs. Goroutines that want a block being decompressed wait for it
// instead of decompressing it again. A File keeps 8 bytes per 64 blocks
// (where they start; a block's offset is found by adding up at most 63 sizes
// from there), and for Read and WriteTo a buffer of one block, which they
// fill without adding to the cache (but fragments, which many files share);
// an Inode of a large directory keeps its index.
//
// Every field is checked before it is used, and a block is read only where
// the layout puts it. The superblock: magic, version, block size and log,
// counts, the compressor and its options as the kernel checks them, bytes
// used against the image's size. The tables: each where the one after it
// says it ends, lookup table blocks as the kernel checks them, every
// metadata block's header, every block but a table's last one holding 8 KiB;
// references to blocks that start where they say. Inodes: type, mode bits,
// owner and group indexes, a number within the count that the export table
// gives that inode, link counts, sizes, fragment indexes and tails, block
// sizes within the block size and blocks within the data area, symlink
// targets of 1 to 4095 bytes without NUL, xattr indexes. Listings: headers
// of at most 256 entries for inode blocks that exist, names of 1 to 256
// bytes without a slash or NUL and not . or .., in increasing order, entry
// types and inode numbers that match the inodes, the listing read to its
// last byte; and their indexes: in order, within the listing, in the
// metadata block they say, at a header whose first name they hold. Blocks
// decompress to exactly their size: the output is bounded before it is made,
// and xz's dictionary is checked before the decoder allocates it. So no
// allocation is larger than the image or these limits make it, whatever a
// field says, and a panic in a decompressor (other people's code, fed
// whatever an image holds) becomes an error. Errors wrap ErrCorrupt and say
// what and where, as "squashfs: corrupt image: the listing of directory 12,
// at 40 of its 96 bytes (offset 73912+1040): "b" comes after "c": names are
// not in order". Not checked, as the kernel does not: the superblock's flags
// but those for compressor options, uncompressed data and fragments; unused
// fields; that every inode is reachable; the sparse count, which only
// st_blocks shows. The tests check those too, of the images Write makes
// (check_test.go).
//
// Cycles cannot be made. An entry that names a directory is taken only if
// that directory's parent is the directory that lists it and it is not the
// root; and no two directories share an inode number (the export table's
// entry for the number must be the inode itself; without an export table,
// the numbers of the directories read are remembered, a map entry each).
// Then the directories form a tree, since a cycle needs a directory that two
// others list with one number. A path goes through at most 40 symlinks
// (ELOOP). Tables are read forwards only, so no reference loops.
//
// # Limits
//
// Write refuses, before writing anything, what the format or the kernel
// cannot hold: names over 255 bytes or with a slash or NUL, symlink
// targets over 4095 bytes, files of 2^31 blocks or more, an mtime outside
// 1970 to 2106.
package squashfs
