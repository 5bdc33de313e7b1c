package squashfs

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"runtime"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// Block sizes: a power of two from MinBlockSize to MaxBlockSize.
const (
	DefaultBlockSize = 128 << 10 // mksquashfs's default
	MinBlockSize     = 4 << 10
	MaxBlockSize     = 1 << 20
)

// Options choose the compression and block size and where progress goes.
// The zero value means the defaults.
type Options struct {
	// Compression is the compressor of data and metadata, one of
	// Compressors; default gzip.
	Compression compress.Algo
	// Level is the compression level, within the compressor's Levels in
	// Compressors; 0 means its Default. The image depends on it.
	Level int
	// BlockSize is the size of data blocks, a power of two from 4 KiB to
	// 1 MiB; 0 means 128 KiB. Larger blocks compress better and are
	// slower to read at random.
	BlockSize int
	// Concurrency is how many blocks are compressed at once; 0 means
	// runtime.GOMAXPROCS(0). The image does not depend on it.
	Concurrency int
	// Progress receives the content as it is read, and each file once
	// it is; nil means none.
	Progress pack.Progress
}

// Output is where Write puts an image: written front to back through
// Write, then the 96-byte superblock, which records where the tables
// ended up, written over its placeholder at offset 0 with one WriteAt at
// the end. An *os.File is an Output; it should be empty, since an image
// shorter than what the file held before would leave its tail behind.
type Output interface {
	io.Writer
	io.WriterAt
}

// Write writes t to w as a SquashFS 4.0 image. It is a pure function of the
// tree and the options: every inode has the tree's mtime, owner and group 0
// (root), no xattrs, and the root directory mode 0755; the superblock's
// creation time is the tree's mtime too; blocks are compressed in parallel
// but written in order.
//
// It refuses, before writing anything, a tree the format cannot hold: a
// name longer than 255 bytes or holding a slash or NUL, a symlink target
// longer than 4095 bytes, a file too large for the block size, an mtime
// outside 1970..2106. After an error, w holds a partial image whose
// superblock is still zero, which no reader takes for an image.
func Write(ctx context.Context, w Output, t *pack.Tree, opts Options) error {
	cfg, err := opts.defaults()
	if err != nil {
		return err
	}
	if err := pack.Validate(t); err != nil {
		return fmt.Errorf("squashfs: %w", err)
	}
	mtime := t.Mtime.Unix()
	if mtime < 0 || mtime > math.MaxUint32 {
		return fmt.Errorf("squashfs: mtime %s is outside what squashfs can record (1970 to 2106)", t.Mtime.UTC())
	}
	tr, err := buildTree(t, cfg.BlockSize)
	if err != nil {
		return err
	}
	iw := &imageWriter{
		o:     &output{w: bufio.NewWriterSize(w, 1<<20)},
		opts:  cfg,
		tree:  tr,
		mtime: uint32(mtime),
	}
	if err := iw.write(ctx); err != nil {
		return err
	}
	// The output's errors name it ("writing OUT: no space left on
	// device"): they come back as they are.
	if err := iw.o.w.Flush(); err != nil {
		return err
	}
	if _, err := w.WriteAt(iw.sb.marshal(), 0); err != nil {
		return err
	}
	return nil
}

// defaults fills in and checks the options.
func (o Options) defaults() (Options, error) {
	if o.Compression == "" {
		o.Compression = Compressors[0].Algo
	}
	c, ok := compress.Find(Compressors, o.Compression)
	if !ok {
		return o, fmt.Errorf("squashfs: compression %q: an image takes %s", string(o.Compression), compress.List(compress.AlgosOf(Compressors)))
	}
	level, err := c.Level(o.Level)
	if err != nil {
		return o, fmt.Errorf("squashfs: compression level %d: %w", o.Level, err)
	}
	o.Level = level
	if o.BlockSize == 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.BlockSize < MinBlockSize || o.BlockSize > MaxBlockSize || o.BlockSize&(o.BlockSize-1) != 0 {
		return o, fmt.Errorf("squashfs: block size %d is not a power of two from %d to %d", o.BlockSize, MinBlockSize, MaxBlockSize)
	}
	switch {
	case o.Concurrency < 0:
		return o, fmt.Errorf("squashfs: concurrency %d is negative", o.Concurrency)
	case o.Concurrency == 0:
		o.Concurrency = runtime.GOMAXPROCS(0)
	}
	if o.Progress == nil {
		o.Progress = pack.NoProgress{}
	}
	return o, nil
}

// imageWriter lays the image out in the order the kernel insists on:
// superblock, compressor options, data and fragment blocks, inode table,
// directory table, fragment table, export table, id table; then padding
// to 4 KiB, which bytes_used does not count.
type imageWriter struct {
	o     *output
	opts  Options
	tree  *tree
	mtime uint32
	sb    superblock
}

func (iw *imageWriter) write(ctx context.Context) error {
	o, opts := iw.o, iw.opts
	algo := opts.Compression
	iw.sb = superblock{
		mkfsTime:   iw.mtime,
		blockSize:  uint32(opts.BlockSize),
		compressor: algoID(algo),
		flags:      flagAlwaysFragment | flagDuplicates | flagExportable | flagNoXattrs,
		ids:        1,
	}
	if algo == compress.None {
		iw.sb.flags |= flagInodesRaw | flagDataRaw | flagFragmentsRaw | flagIDsRaw
	}
	// The superblock's place, filled in at the end.
	if err := o.write(make([]byte, superblockSize)); err != nil {
		return err
	}
	if copts := algoOptions(algo, opts.Level); copts != nil {
		iw.sb.flags |= flagCompOpts
		b := binary.LittleEndian.AppendUint16(nil, uint16(len(copts))|metaRaw)
		if err := o.write(append(b, copts...)); err != nil {
			return err
		}
	}

	// Data.
	d, err := newDataWriter(ctx, o, algo, opts.Level, opts.BlockSize, opts.Concurrency)
	d.prog = opts.Progress
	if err != nil {
		return err
	}
	defer d.close()
	for _, n := range iw.tree.files {
		if err := ctx.Err(); err != nil {
			return err
		}
		node := &iw.tree.nodes[n]
		rec, err := d.addFile(node.entry)
		if err != nil {
			return err
		}
		node.data = rec
		opts.Progress.Add(1, 0)
	}
	if err := d.flush(); err != nil {
		return err
	}
	d.close()

	// Inodes and directories.
	metaCodec, err := newCodec(algo, opts.Level, opts.BlockSize)
	if err != nil {
		return fmt.Errorf("squashfs: %s level %d: %w", algo, opts.Level, err)
	}
	inodes, dirs, err := iw.tree.writeMetadata(metaCodec, iw.mtime)
	if err != nil {
		return err
	}
	iw.sb.inodeTable = o.pos
	if err := o.write(inodes); err != nil {
		return err
	}
	iw.sb.dirTable = o.pos
	if err := o.write(dirs); err != nil {
		return err
	}

	// Lookup tables. With no fragments, the fragment table's start is
	// where it would be, as mksquashfs has it: unsquashfs takes it as the
	// end of the directory table.
	iw.sb.fragments = uint32(len(d.frags))
	iw.sb.fragTable = o.pos
	if len(d.frags) > 0 {
		if iw.sb.fragTable, err = writeLookupTable(o, metaCodec, d.fragmentTable()); err != nil {
			return err
		}
	}
	if iw.sb.exportTable, err = writeLookupTable(o, metaCodec, iw.tree.exportTable()); err != nil {
		return err
	}
	// One id, 0: root owns everything.
	if iw.sb.idTable, err = writeLookupTable(o, metaCodec, make([]byte, 4)); err != nil {
		return err
	}
	iw.sb.bytesUsed = o.pos
	iw.sb.inodes = uint32(len(iw.tree.order))
	iw.sb.rootInode = iw.tree.nodes[0].ref
	if pad := (devBlock - o.pos%devBlock) % devBlock; pad > 0 {
		return o.write(make([]byte, pad))
	}
	return nil
}

// writeMetadata writes every inode to an inode table and every listing to
// a directory table, in tree.order, and returns the two tables.
func (tr *tree) writeMetadata(c codec, mtime uint32) (inodes, dirs []byte, err error) {
	im, dm := newMetaWriter(c), newMetaWriter(c)
	var b, listing []byte
	for _, i := range tr.order {
		n := &tr.nodes[i]
		switch n.kind {
		case pack.Dir:
			if listing, err = tr.writeDir(im, dm, n, mtime, listing); err != nil {
				return nil, nil, err
			}
			continue
		case pack.File:
			b = fileInode(b[:0], n, mtime)
		case pack.Symlink:
			b = symlinkInode(b[:0], n, mtime)
		}
		n.ref = im.ref()
		im.write(b)
	}
	if inodes, err = im.finish(); err != nil {
		return nil, nil, err
	}
	if dirs, err = dm.finish(); err != nil {
		return nil, nil, err
	}
	// Directory headers hold inode-table block starts in 32 bits, and
	// directory inodes and indexes directory-table ones.
	if len(inodes) > math.MaxUint32 || len(dirs) > math.MaxUint32 {
		return nil, nil, fmt.Errorf("squashfs: the inode or directory table passes 4 GiB, more than squashfs can address")
	}
	return inodes, dirs, nil
}

// exportTable maps each inode number, from 1, to its inode reference, for
// NFS export and open_by_handle_at.
func (tr *tree) exportTable() []byte {
	b := make([]byte, 8*len(tr.order))
	for i, n := range tr.order {
		binary.LittleEndian.PutUint64(b[8*i:], tr.nodes[n].ref)
	}
	return b
}
