// Package squashfs writes a pack.Tree as a SquashFS 4.0 image, the file
// system that the kernel mounts and Singularity/Apptainer runs. It is
// gpack's own writer, made from the format documentation (the kernel's
// Documentation/filesystems/squashfs.rst and squashfs_fs.h,
// squashfs-tools-ng's doc/format.adoc): no mksquashfs, no copy of the tree.
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
// gzip (zlib streams; klauspost/compress), xz (ulikunitz/xz, a complete
// xz stream with a CRC32 check per block, with a dictionary no larger than
// the kernel's), zstd (klauspost/compress, frames whose window is the
// block size, as the kernel needs), lz4 (pierrec/lz4, raw LZ4 blocks,
// with the compressor options the kernel requires), and none (every block
// stored as is, in an image that says gzip). Default levels are
// mksquashfs's: gzip 9, zstd 15, lz4 fast. The Go encoders are not the C
// ones: images are a little larger than mksquashfs's (see the package
// README for measurements).
//
// # Limits
//
// Write refuses, before writing anything, what the format or the kernel
// cannot hold: names over 255 bytes or with a slash or NUL, symlink
// targets over 4095 bytes, files of 2^31 blocks or more, an mtime outside
// 1970 to 2106.
package squashfs
