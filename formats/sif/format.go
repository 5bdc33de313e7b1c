package sif

import (
	"context"
	"math"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/apptainer/sif/v2/pkg/sif"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Format is the image of gpack pack -f sif: the tree of -f squashfs, with
// its labels, in a SIF file for Apptainer and SingularityCE.
var Format formats.Format = format{}

type format struct{}

func (format) Name() string { return "sif" }

func (format) Extensions() []formats.Extension { return []formats.Extension{{Suffix: ".sif"}} }

// Compressors are squashfs's: Apptainer mounts the partition with the
// kernel or squashfuse, or extracts it with unsquashfs, which all read
// them (gzip is what `apptainer build` writes).
func (format) Compressors() []compress.Compressor { return squashfs.Compressors }

// Flags: the partition's block size, an entry point for the runscript, and
// the architecture the image records.
func (format) Flags() []string {
	return []string{"block-size", "entry-point", "entry-point-argument", "arch"}
}

// Prepare is squashfs's (/bin, Apptainer's /.singularity.d, the mount
// points, /etc), plus /.singularity.d/labels.json with the labels that do
// not need the built tree.
func (format) Prepare(o *pack.Options, profile string, opts *formats.Options) {
	squashfs.Format.Prepare(o, profile, opts)
	roots := []string{profile}
	if o.Profile != nil {
		roots = slices.Sorted(slices.Values(o.Profile.Items))
	}
	mtime := o.Mtime
	if mtime.IsZero() {
		mtime = time.Unix(1, 0) // pack.Build's default
	}
	o.Extra = append(o.Extra, labelsEntry(Labels(roots, path.Dir(profile), mtime)))
}

func (f format) Check(out string, opts *formats.Options) error {
	if out == formats.Stdout {
		return formats.StdoutRefused(f, "its header and descriptors are written last, at the start of the image")
	}
	if m := opts.Mtime; !m.IsZero() && (m.Unix() < 0 || m.Unix() > math.MaxUint32) {
		e := usererr.Usagef("SOURCE_DATE_EPOCH=%d: a SIF image's squashfs holds times up to %d (%s)", m.Unix(), uint32(math.MaxUint32),
			time.Unix(math.MaxUint32, 0).UTC().Format(time.DateOnly))
		e.Fix = "set it to an earlier time, or write another format"
		return e
	}
	if bs := opts.BlockSize; bs != 0 && (bs < squashfs.MinBlockSize || bs > squashfs.MaxBlockSize || bs&(bs-1) != 0) {
		return usererr.Usagef("--block-size %d: want a power of two from 4K to 1M", bs)
	}
	if a := opts.Image.Arch; a != "" {
		if err := CheckArch(a); err != nil {
			return &usererr.Error{Kind: usererr.Usage, What: "--arch " + err.Error(), Err: err}
		}
	}
	return atomicfile.Check(out)
}

// Arches are the architectures a SIF image records (GOARCH names).
var Arches = []string{"386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le", "ppc64", "ppc64le", "riscv64", "s390x"}

// CheckArch fails for an architecture the SIF library cannot record.
func CheckArch(arch string) error {
	if _, err := sif.NewDescriptorInput(sif.DataPartition, strings.NewReader(""), sif.OptPartitionMetadata(sif.FsSquash, sif.PartPrimSys, arch)); err != nil {
		return usererr.Usagef("%s: a SIF image records %s", arch, strings.Join(Arches, ", "))
	}
	return nil
}

// noShell is the warning for an image without /bin/sh.
const noShell = "warning: the image has no /bin/sh: apptainer exec works, but apptainer shell, and apptainer run " +
	"without --entry-point, need one; add a shell to the first item (a profile with bash or dash)"

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	size, err := formats.WriteFile(ctx, out, opts.Progress, func(w formats.File) error {
		return Write(ctx, w, t, Options{
			Squashfs: squashfs.Options{Compression: opts.Compression, Level: opts.Level, BlockSize: opts.BlockSize,
				Concurrency: opts.Concurrency, Progress: opts.Progress},
			Arch: opts.Image.Arch,
		})
	})
	if err != nil {
		return nil, err
	}
	r := &formats.Result{Output: out, Size: size}
	if e, ok := t.Resolve("bin/sh"); !ok || e.Kind != pack.File && e.Kind != pack.HardLink {
		r.Warnings = append(r.Warnings, noShell)
	}
	return r, nil
}
