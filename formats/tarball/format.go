package tarball

import (
	"context"
	"io"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
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

// Flags: a relocatable tarball takes an entry point, which ./run starts.
func (format) Flags() []string { return []string{"entry-point", "entry-point-argument"} }

// Prepare gives a relocatable tarball with an entry point its ./run: the
// launcher, which runs the entry point with its arguments (-A) and then
// the caller's. A tarball without -R is for tar -x -C /, where a ./run
// would land on the host's /run: it takes no entry point.
func (format) Prepare(o *pack.Options, _ string, opts *formats.Options) {
	if opts.EntryPoint == "" {
		return
	}
	if !o.Relocatable {
		o.Refuse = &usererr.Error{Kind: usererr.Usage, What: "--entry-point with -f tarball needs -R: ./run is then the launcher, which starts it",
			Fix: "add -R, or drop --entry-point (a tarball without -R is unpacked at / and run by store path)"}
		return
	}
	o.Entry = append([]string{opts.EntryPoint}, opts.EntryArgs...)
}

// Check: a tarball is a stream, so it can go to standard output.
func (format) Check(out string, _ *formats.Options) error {
	if out == formats.Stdout {
		return nil
	}
	return atomicfile.Check(out)
}

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	size, err := formats.WriteStream(ctx, out, opts, func(w io.Writer) error {
		return Write(ctx, w, t, Options{Compression: opts.Compression, Level: opts.Level, Concurrency: opts.Concurrency, Progress: opts.Progress})
	})
	if err != nil {
		return nil, err
	}
	return &formats.Result{Output: out, Size: size}, nil
}
