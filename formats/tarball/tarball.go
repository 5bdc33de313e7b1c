// Package tarball writes a pack.Tree as a tar archive, GNU format, compressed
// with gzip, zstd, xz or nothing.
package tarball

import (
	"archive/tar"
	"context"
	"fmt"
	"io"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// Options choose the compression and where progress goes.
type Options struct {
	Compression compress.Algo // default gzip
	Level       int           // 0: the compressor's default
	Concurrency int           // 0: GOMAXPROCS
	Progress    pack.Progress // content read, as it is read; nil: none
}

// Write writes t to w as a tar archive. Headers are filled in field by field
// from the tree (never from the host's files): names ./<path>, owner and
// group 0 named root, the tree's mtime, no access or change times, no
// extended attributes, hard links only where the tree has them. So the
// archive is a pure function of the tree and the options.
func Write(ctx context.Context, w io.Writer, t *pack.Tree, opts Options) error {
	if opts.Compression == "" {
		opts.Compression = compress.Gzip
	}
	if opts.Progress == nil {
		opts.Progress = pack.NoProgress{}
	}
	cw, err := compress.NewWriter(w, opts.Compression, compress.Options{Level: opts.Level, Concurrency: opts.Concurrency})
	if err != nil {
		return err
	}
	closed := false
	defer func() {
		if !closed {
			cw.Close() // release the compressor's workers; the error is already on its way
		}
	}()
	tw := tar.NewWriter(cw)
	buf := make([]byte, 1<<20)
	for i := range t.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &t.Entries[i]
		if err := writeEntry(ctx, tw, e, t, buf, opts.Progress); err != nil {
			return err
		}
		if e.Kind == pack.File {
			opts.Progress.Add(1, 0)
		}
	}
	if err := tw.Close(); err != nil {
		return fmt.Errorf("tar: %w", err)
	}
	closed = true
	if err := cw.Close(); err != nil {
		return fmt.Errorf("%s: %w", opts.Compression, err)
	}
	return nil
}

func writeEntry(ctx context.Context, tw *tar.Writer, e *pack.Entry, t *pack.Tree, buf []byte, prog pack.Progress) error {
	hdr := &tar.Header{
		Name:    "./" + e.Path,
		Mode:    int64(e.Mode),
		Uname:   "root",
		Gname:   "root",
		ModTime: t.Mtime,
		Format:  tar.FormatGNU,
	}
	switch e.Kind {
	case pack.Dir:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case pack.File:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = e.Size
	case pack.Symlink:
		hdr.Typeflag = tar.TypeSymlink
		hdr.Linkname = e.Target
	case pack.HardLink:
		hdr.Typeflag = tar.TypeLink
		hdr.Linkname = "./" + e.Target
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("tar header for %s: %w", e.Path, err)
	}
	if e.Kind != pack.File {
		return nil
	}
	r, err := e.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	if _, err := io.CopyBuffer(tw, pack.ContextReader(ctx, pack.ProgressReader(r, prog)), buf); err != nil {
		return fmt.Errorf("archive %s: %w", e.Path, err)
	}
	return nil
}
