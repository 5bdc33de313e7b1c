package tarball

import (
	"context"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/pack"
)

// Format is the tarball of gpack pack -f tarball: the tree as a tar
// archive compressed by one of compress.Streams, whose name (x.tar.zst)
// may choose the compressor.
var Format formats.Format = format{}

type format struct{}

func (format) Name() string { return "tarball" }

func (format) Extensions() []formats.Extension {
	return []formats.Extension{
		{Suffix: ".tar.gz", Algo: compress.Gzip}, {Suffix: ".tgz", Algo: compress.Gzip},
		{Suffix: ".tar.zst", Algo: compress.Zstd}, {Suffix: ".tzst", Algo: compress.Zstd},
		{Suffix: ".tar.xz", Algo: compress.Xz}, {Suffix: ".txz", Algo: compress.Xz},
		{Suffix: ".tar", Algo: compress.None},
	}
}

func (format) Compressors() []compress.Compressor { return compress.Streams }

// Prepare adds nothing: a tarball is the tree as it is.
func (format) Prepare(*pack.Options, string, *formats.Options) {}

func (f format) Check(out string, opts *formats.Options) error {
	if err := formats.NotAnImage(f, opts); err != nil {
		return err
	}
	return atomicfile.Check(out)
}

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	size, err := formats.WriteFile(ctx, out, opts.Progress, func(w formats.File) error {
		return Write(ctx, w, t, Options{Compression: opts.Compression, Level: opts.Level, Concurrency: opts.Concurrency, Progress: opts.Progress})
	})
	if err != nil {
		return nil, err
	}
	r := &formats.Result{Output: out, Size: size}
	if opts.EntryPoint != "" {
		r.Warnings = append(r.Warnings, "note: --entry-point is used by images; a tarball ignores it")
	}
	return r, nil
}
