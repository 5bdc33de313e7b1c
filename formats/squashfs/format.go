package squashfs

import (
	"context"
	"math"
	"time"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Format is the image of gpack pack -f squashfs, made for
// Apptainer/Singularity as guix pack makes it (see Prepare).
var Format formats.Format = format{}

type format struct{}

func (format) Name() string { return "squashfs" }

func (format) Extensions() []formats.Extension {
	return []formats.Extension{{Suffix: ".squashfs"}, {Suffix: ".sqfs"}}
}

func (format) Compressors() []compress.Compressor { return Compressors }

// Flags: squashfs takes a block size, and an entry point for its
// runscript.
func (format) Flags() []string { return []string{"block-size", "entry-point", "entry-point-argument"} }

// Prepare gives the image what Apptainer and Singularity expect, as guix
// pack does: /bin as the profile's bin (pack.ImageLinks) and the
// metadata of pack.Singularity.
func (format) Prepare(o *pack.Options, profile string, opts *formats.Options) {
	o.Symlinks = o.ImageLinks(profile)
	es, err := pack.Singularity(pack.SingularityOptions{Profile: profile, View: o.Profile, EntryPoint: opts.EntryPoint, EntryArgs: opts.EntryArgs, Env: opts.Env, Links: o.Symlinks})
	if err != nil {
		o.Refuse = err
	}
	o.Extra = append(o.Extra, es...)
}

func (f format) Check(out string, opts *formats.Options) error {
	if out == formats.Stdout {
		return formats.StdoutRefused(f, "its superblock is written last, at the start of the image")
	}
	if m := opts.Mtime; !m.IsZero() && (m.Unix() < 0 || m.Unix() > math.MaxUint32) {
		e := usererr.Usagef("SOURCE_DATE_EPOCH=%d: squashfs holds times up to %d (%s)", m.Unix(), uint32(math.MaxUint32),
			time.Unix(math.MaxUint32, 0).UTC().Format(time.DateOnly))
		e.Fix = "set it to an earlier time, or write another format"
		return e
	}
	if bs := opts.BlockSize; bs != 0 && (bs < MinBlockSize || bs > MaxBlockSize || bs&(bs-1) != 0) {
		return usererr.Usagef("--block-size %d: want a power of two from 4K to 1M", bs)
	}
	return atomicfile.Check(out)
}

// noShell is the warning for an image without /bin/sh.
const noShell = "warning: the image has no /bin/sh: apptainer exec works, but apptainer shell, and apptainer run " +
	"without --entry-point, need one; add a shell (bash or dash) to the packed items"

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	size, err := formats.WriteFile(ctx, out, opts.Progress, func(w formats.File) error {
		return Write(ctx, w, t, Options{Compression: opts.Compression, Level: opts.Level, BlockSize: opts.BlockSize,
			Concurrency: opts.Concurrency, Progress: opts.Progress})
	})
	if err != nil {
		return nil, err
	}
	r := &formats.Result{Output: out, Size: size}
	// Asked of the image itself, as a container would see it: /bin/sh
	// may come from -S links, the profile, or -R's wrappers.
	if e, ok := t.Resolve("bin/sh"); !ok || e.Kind != pack.File && e.Kind != pack.HardLink {
		r.Warnings = append(r.Warnings, noShell)
	}
	return r, nil
}
