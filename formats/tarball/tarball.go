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
	// An error of the compressor or of w comes back as it is: it says
	// what failed already ("writing OUT: no space left on device", "zstd:
	// ..."), and a prefix here said it twice ("zstd: zstd: ..."). Only
	// errors of the tar writer itself get the entry they are about.
	out := &recorder{w: cw}
	tw := tar.NewWriter(out)
	buf := make([]byte, 1<<20)
	for i := range t.Entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		e := &t.Entries[i]
		if err := writeEntry(ctx, tw, e, t, buf, opts.Progress); err != nil {
			if out.err != nil {
				return out.err
			}
			return err
		}
		if e.Kind == pack.File {
			opts.Progress.Add(1, 0)
		}
	}
	if err := tw.Close(); err != nil {
		return err // archive/tar's own say "archive/tar: "
	}
	closed = true
	return cw.Close()
}

// recorder keeps the first error of the writer under the tar writer.
type recorder struct {
	w   io.Writer
	err error
}

func (r *recorder) Write(p []byte) (int, error) {
	n, err := r.w.Write(p)
	if err != nil && r.err == nil {
		r.err = err
	}
	return n, err
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
	// The reader's errors name the store file they are about.
	_, err = io.CopyBuffer(tw, pack.ContextReader(ctx, pack.ProgressReader(r, prog)), buf)
	return err
}
