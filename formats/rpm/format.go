package rpm

import (
	"context"
	"io"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/syspkg"
	"github.com/gpack/gpack/pack"
)

// Format is gpack pack -f rpm: a directory of .rpm packages, one per
// store item and one for the pack (formats/syspkg), or one in all with
// --single.
var Format formats.Format = format{}

type format struct{}

func (format) Name() string { return "rpm" }

// Extensions: the output is a directory, named <first-item-name>-rpm by
// default; no name chooses the compressor.
func (format) Extensions() []formats.Extension { return []formats.Extension{{Suffix: "-rpm"}} }

// Compressors: the payload compressors of rpm (zstd since rpm 4.14) that
// gpack has; an uncompressed payload has no name every rpm reads.
func (format) Compressors() []compress.Compressor {
	var cs []compress.Compressor
	for _, c := range compress.Streams {
		if _, ok := payloadCompressors[c.Algo]; ok {
			cs = append(cs, c)
		}
	}
	return cs
}

func (format) Flags() []string { return []string{"single"} }

// Prepare adds nothing: the pack package's prefix is decided by the split.
func (format) Prepare(*pack.Options, string, *formats.Options) {}

func (f format) Check(out string, _ *formats.Options) error { return syspkg.CheckDir(f, out, ".rpm") }

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	pkgs, err := syspkg.Split(t, syspkg.Options{References: opts.Image.References, Single: opts.Single})
	if err != nil {
		return nil, err
	}
	arch := syspkg.TreeArch(t, Arch, "noarch")
	size, err := syspkg.WriteDir(ctx, out, pkgs, opts.Progress,
		func(p *syspkg.Package) string { return FileName(p, arch) },
		func(ctx context.Context, w io.Writer, p *syspkg.Package, scratch string) error {
			return WritePackage(ctx, w, p, Options{Compression: opts.Compression, Level: opts.Level, Concurrency: opts.Concurrency,
				Arch: arch, Mtime: t.Mtime, Progress: opts.Progress, Scratch: scratch})
		})
	if err != nil {
		return nil, err
	}
	return &formats.Result{Output: out, Size: size}, nil
}
