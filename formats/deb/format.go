package deb

import (
	"context"
	"io"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/syspkg"
	"github.com/gpack/gpack/pack"
)

// Format is gpack pack -f deb: a directory of .deb packages, one per
// store item and one for the pack (formats/syspkg), or one in all with
// --single.
var Format formats.Format = format{}

type format struct{}

func (format) Name() string { return "deb" }

// Extensions: the output is a directory, named <first-item-name>-deb by
// default; no name chooses the compressor.
func (format) Extensions() []formats.Extension { return []formats.Extension{{Suffix: "-deb"}} }

// Compressors: those of data.tar that dpkg reads (zstd since dpkg 1.21.18,
// Debian 12).
func (format) Compressors() []compress.Compressor { return compress.Streams }

func (format) Flags() []string { return []string{"single"} }

// Prepare adds nothing: the pack package's prefix is decided by the split.
func (format) Prepare(*pack.Options, string, *formats.Options) {}

func (f format) Check(out string, _ *formats.Options) error { return syspkg.CheckDir(f, out, ".deb") }

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	pkgs, err := syspkg.Split(t, syspkg.Options{References: opts.Image.References, Single: opts.Single})
	if err != nil {
		return nil, err
	}
	arch := syspkg.TreeArch(t, Arch, "all")
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
