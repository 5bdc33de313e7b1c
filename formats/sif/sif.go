package sif

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"slices"

	"github.com/apptainer/sif/v2/pkg/sif"
	"github.com/google/uuid"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/pack"
)

// LaunchScript is the header's launch script, as Apptainer writes it: an
// image made executable (chmod +x) runs through Apptainer's run-singularity.
const LaunchScript = "#!/usr/bin/env run-singularity\n"

// MetadataName is the name of the JSON object `apptainer inspect` reads.
const MetadataName = "inspect-metadata.json"

// Options are what Write takes.
type Options struct {
	// Squashfs are the options of the partition's image: compressor,
	// level, block size, concurrency and progress.
	Squashfs squashfs.Options
	// Arch is the architecture recorded in the image, a GOARCH name; ""
	// reads it from the closure's first ELF file (pack.Tree.Arch).
	Arch string
}

// Output is where Write puts an image: written through Write, with the
// header, the descriptors and the squashfs superblock written over their
// places at the end through WriteAt. An empty *os.File is an Output.
type Output interface {
	io.Writer
	io.WriterAt
}

// Write writes t to w as a SIF image: the metadata object, then t as the
// squashfs partition, then the descriptors and the header. It is a pure
// function of the tree and the options (see the package documentation).
// After an error w holds no SIF header.
func Write(ctx context.Context, w Output, t *pack.Tree, opts Options) error {
	arch := opts.Arch
	if arch == "" {
		var err error
		if arch, err = t.Arch(); err != nil {
			return fmt.Errorf("sif: %w: give the architecture explicitly (--arch amd64, arm64, ...)", err)
		}
	}
	if err := CheckArch(arch); err != nil {
		return err
	}
	labels, err := treeLabels(t)
	if err != nil {
		return err
	}
	labels[LabelArch] = arch
	md, err := inspectMetadata(t, labels)
	if err != nil {
		return err
	}
	t = relativeRunscript(t)
	meta, err := sif.NewDescriptorInput(sif.DataGenericJSON, bytes.NewReader(md), sif.OptObjectName(MetadataName))
	if err != nil {
		return fmt.Errorf("sif: metadata object: %w", err)
	}
	part := &partition{ctx: ctx, tree: t, opts: opts.Squashfs}
	root, err := sif.NewDescriptorInput(sif.DataPartition, part, sif.OptPartitionMetadata(sif.FsSquash, sif.PartPrimSys, arch))
	if err != nil {
		return fmt.Errorf("sif: partition: %w", err)
	}
	out := &seekWriter{w: w}
	f, err := sif.CreateContainer(out,
		sif.OptCreateWithLaunchScript(LaunchScript),
		sif.OptCreateWithID(imageID(t, opts, arch, md).String()),
		sif.OptCreateWithTime(t.Mtime),
		sif.OptCreateWithDescriptors(meta, root),
		sif.OptCreateWithCloseOnUnload(false),
	)
	if err != nil {
		// The partition's and the output's errors say what failed
		// (writing OUT: no space left on device; context canceled).
		if part.err != nil {
			return part.err
		}
		if out.err != nil {
			return out.err
		}
		return fmt.Errorf("sif: %w", err)
	}
	if err := f.UnloadContainer(); err != nil {
		return fmt.Errorf("sif: %w", err)
	}
	return nil
}

// partition is the squashfs partition's data object: io.Copy, which the
// SIF library copies data objects with, calls WriteTo, which writes the
// image in place. Read is never called by the library version this is
// built with; it fails rather than let a later one copy nothing.
type partition struct {
	ctx  context.Context
	tree *pack.Tree
	opts squashfs.Options
	err  error // what WriteTo failed with
}

// errNotRead is Read's error.
var errNotRead = errors.New("sif: the squashfs partition is written in place (io.WriterTo), not read")

func (p *partition) Read([]byte) (int, error) { return 0, errNotRead }

// WriteTo writes the squashfs image to w, which must be the seekWriter
// Write gave the library, at its current offset.
func (p *partition) WriteTo(w io.Writer) (int64, error) {
	sw, ok := w.(*seekWriter)
	if !ok {
		p.err = fmt.Errorf("sif: the library copies the partition to a %T, not to the output", w)
		return 0, p.err
	}
	base := sw.off
	if err := squashfs.Write(p.ctx, offsetOutput{sw, base}, p.tree, p.opts); err != nil {
		p.err = err
		return sw.off - base, err
	}
	return sw.off - base, nil
}

// offsetOutput is a squashfs.Output at offset base of a seekWriter.
type offsetOutput struct {
	w    *seekWriter
	base int64
}

func (o offsetOutput) Write(p []byte) (int, error) { return o.w.Write(p) }

func (o offsetOutput) WriteAt(p []byte, off int64) (int, error) { return o.w.WriteAt(p, o.base+off) }

// seekWriter is the sif.ReadWriter the library writes a new image
// through: it seeks, and writes at the offset sought. What lands past the
// end of the output goes through w.Write, in order (sequential writes let
// atomicfile start writeback as it goes), after zeros for the gap the
// library seeks over (alignment), as a new file would read anyway; what
// lands before the end (the descriptors, the header, the superblock) goes
// through w.WriteAt. Creating an image reads nothing and truncates
// nothing: ReadAt and Truncate fail.
type seekWriter struct {
	w   Output
	off int64 // where the next Write goes
	end int64 // how much w.Write has written: the output's size
	err error // the output's first error
}

func (s *seekWriter) Write(p []byte) (int, error) {
	n, err := s.WriteAt(p, s.off)
	s.off += int64(n)
	return n, err
}

func (s *seekWriter) WriteAt(p []byte, off int64) (int, error) {
	n, err := s.writeAt(p, off)
	if err != nil && s.err == nil {
		s.err = err
	}
	return n, err
}

func (s *seekWriter) writeAt(p []byte, off int64) (int, error) {
	n := 0
	if off < s.end {
		k := min(int64(len(p)), s.end-off)
		m, err := s.w.WriteAt(p[:k], off)
		n += m
		if err != nil || k == int64(len(p)) {
			return n, err
		}
		p, off = p[k:], off+k
	}
	for s.end < off {
		m, err := s.w.Write(zeros[:min(int64(len(zeros)), off-s.end)])
		s.end += int64(m)
		if err != nil {
			return n, err
		}
	}
	m, err := s.w.Write(p)
	s.end += int64(m)
	return n + m, err
}

var zeros [4096]byte

func (s *seekWriter) Seek(offset int64, whence int) (int64, error) {
	switch whence {
	case io.SeekStart:
	case io.SeekCurrent:
		offset += s.off
	case io.SeekEnd:
		offset += s.end
	default:
		return 0, fmt.Errorf("sif: seek whence %d", whence)
	}
	if offset < 0 {
		return 0, fmt.Errorf("sif: seek to %d", offset)
	}
	s.off = offset
	return offset, nil
}

// errWriteOnly is what ReadAt and Truncate fail with.
var errWriteOnly = errors.New("sif: the output is written, not read or truncated")

func (s *seekWriter) ReadAt([]byte, int64) (int, error) { return 0, errWriteOnly }

func (s *seekWriter) Truncate(int64) error { return errWriteOnly }

// idSpace is the namespace of gpack's image IDs (a name-based UUID of
// gpack's address).
var idSpace = uuid.NewSHA1(uuid.NameSpaceURL, []byte("https://github.com/gpack/gpack/formats/sif"))

// imageID is the image's ID: a name-based UUID of what the image is made
// of, without reading the store files (their store paths name their
// contents).
func imageID(t *pack.Tree, opts Options, arch string, md []byte) uuid.UUID {
	h := sha256.New()
	field := func(b []byte) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(b)))
		h.Write(n[:])
		h.Write(b)
	}
	sq := opts.Squashfs
	if sq.Compression == "" {
		sq.Compression = squashfs.Compressors[0].Algo
	}
	if c, ok := compress.Find(squashfs.Compressors, sq.Compression); ok {
		sq.Level, _ = c.Level(sq.Level) // 0 and the default are one image
	}
	if sq.BlockSize == 0 {
		sq.BlockSize = squashfs.DefaultBlockSize
	}
	field(fmt.Appendf(nil, "%s %d %d %s %d", sq.Compression, sq.Level, sq.BlockSize, arch, t.Mtime.Unix()))
	field(md)
	for i := range t.Entries {
		e := &t.Entries[i]
		field(fmt.Appendf(nil, "%s\x00%d\x00%o\x00%d\x00%s", e.Path, e.Kind, e.Mode, e.Size, e.Target))
		if e.Data != nil {
			field(e.Data)
		}
	}
	return uuid.NewSHA1(idSpace, h.Sum(nil))
}

// runscripts are the links to the entry point that pack.Singularity makes.
var runscripts = []string{".singularity.d/actions/run", ".singularity.d/runscript"}

// relativeRunscript returns t with its runscript links made relative, to
// the file they lead to inside the image: `apptainer build new.sif
// old.sif` extracts the image and then chmods the runscripts, through
// the links, which would otherwise lead out of the extracted tree (an
// absolute target, or a profile's absolute links into the items) to the
// host's own store, failing as a user and changing the host's files as
// root. In the container, the relative link leads to the same program.
func relativeRunscript(t *pack.Tree) *pack.Tree {
	var c *pack.Tree
	for i := range t.Entries {
		e := &t.Entries[i]
		if e.Kind != pack.Symlink || !slices.Contains(runscripts, e.Path) {
			continue
		}
		f, ok := t.Resolve(e.Target)
		if !ok || f.Kind != pack.File && f.Kind != pack.HardLink {
			continue
		}
		rel, err := filepath.Rel(path.Dir(e.Path), f.Path)
		if err != nil {
			continue
		}
		if c == nil {
			cp := *t
			cp.Entries = slices.Clone(t.Entries)
			c = &cp
		}
		c.Entries[i].Target = rel
	}
	if c == nil {
		return t
	}
	return c
}
