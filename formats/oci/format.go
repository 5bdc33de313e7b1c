package oci

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Docker is the image of gpack pack -f docker: a `docker load` archive,
// and/or a push.
var Docker formats.Format = imageFormat{name: "docker"}

// OCI is the image of gpack pack -f oci: an OCI image layout directory,
// or an oci-archive for an output named X.tar, and/or a push.
var OCI formats.Format = imageFormat{name: "oci"}

type imageFormat struct{ name string }

func (f imageFormat) Name() string { return f.name }

func (f imageFormat) Extensions() []formats.Extension {
	if f.name == "docker" {
		return []formats.Extension{{Suffix: ".docker.tar"}, {Suffix: ".tar"}}
	}
	return []formats.Extension{{Suffix: ".oci"}, {Suffix: ".tar"}}
}

func (imageFormat) Compressors() []compress.Compressor { return Compressors }

// Flags: what only images take, and --entry-point, the Entrypoint.
func (imageFormat) Flags() []string {
	return []string{"push", "insecure", "max-layers", "arch", "cmd", "image-tag", "entry-point", "entry-point-argument", "no-cache"}
}

// Prepare gives the image a /bin, as guix pack does (pack.ImageLinks).
func (imageFormat) Prepare(o *pack.Options, profile string, _ *formats.Options) {
	o.Symlinks = o.ImageLinks(profile)
}

// archive reports whether out is a file (a docker archive, an oci-archive;
// standard output gets an archive too) rather than a layout directory.
func (f imageFormat) archive(out string) bool {
	return f.name == "docker" || strings.HasSuffix(out, ".tar") || out == formats.Stdout
}

func (f imageFormat) Check(out string, opts *formats.Options) error {
	img := &opts.Image
	if img.MaxLayers != 0 && img.MaxLayers < 2 {
		return usererr.Usagef("--max-layers %d: an image needs at least 2 layers (the items, and the rest of the tree)", img.MaxLayers)
	}
	if img.Tag != "" {
		if _, err := ParseTag(img.Tag, &pack.Tree{}); err != nil {
			return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Err: err}
		}
	}
	if img.Arch != "" && !knownArch[img.Arch] {
		return usererr.Usagef("--arch %q: the architectures are GOARCH names such as amd64, arm64, 386, arm, ppc64le, riscv64 or s390x", img.Arch)
	}
	if img.Push != "" {
		if _, err := ParseReference(img.Push, img.Insecure); err != nil {
			return err
		}
	}
	switch {
	case out == "", out == formats.Stdout:
		return nil
	case f.archive(out):
		return atomicfile.Check(out)
	}
	return CheckLayout(out)
}

// Write builds the image and writes it to out and/or pushes it. A blob of
// the layer cache found damaged while the image is written is removed from
// the cache, with a warning, and the image is built and written once more
// (but for standard output, where what went out cannot be taken back).
func (f imageFormat) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	img := &opts.Image
	tag, err := ParseTag(img.Tag, t)
	if err != nil {
		return nil, err
	}
	var entry []string
	if opts.EntryPoint != "" {
		entry = append([]string{opts.EntryPoint}, opts.EntryArgs...)
	}
	bopts := Options{
		Compression: opts.Compression,
		Level:       opts.Level,
		MaxLayers:   img.MaxLayers,
		References:  img.References,
		Arch:        img.Arch,
		Entrypoint:  entry,
		Env:         imageEnv(opts.Env),
		Cmd:         img.Cmd,
		CacheDir:    img.CacheDir,
		NoCache:     img.NoCache,
		Jobs:        opts.Concurrency,
		Progress:    opts.Progress,
	}
	var warnings []string
	for try := 0; ; try++ {
		im, err := Build(ctx, t, bopts)
		if err != nil {
			return nil, err
		}
		r, err := f.write(ctx, im, tag, out, opts)
		if err != nil && im.Damaged() {
			warnings = append(warnings, im.DropDamaged()...)
			im.Close()
			if try == 0 && out != formats.Stdout {
				continue
			}
			return nil, fmt.Errorf("%w (%s); the damaged blobs are removed from the cache: run gpack again", err, strings.Join(warnings, "; "))
		}
		im.Close()
		if err != nil {
			return nil, err
		}
		r.Warnings = append(append(warnings, im.Warnings...), r.Warnings...)
		return r, nil
	}
}

// write writes the built image im to out and/or pushes it.
func (f imageFormat) write(ctx context.Context, im *Image, tag name.Tag, out string, opts *formats.Options) (*formats.Result, error) {
	img := &opts.Image
	r := &formats.Result{Output: out, Image: &formats.ImageResult{Tag: tag.String(), Layers: len(im.Info), Reused: im.Reused}}
	for _, l := range im.Info {
		r.Image.LayerBytes += l.Size
	}
	var err error
	switch {
	case out == "":
	case f.archive(out):
		write := func(w io.Writer) error { return writeOCIArchive(w, im, tag) }
		what := "oci-archive"
		if f.name == "docker" {
			write = func(w io.Writer) error { return ggcrtarball.Write(tag, im, w) }
			what = "docker archive"
		}
		// Progress counted the layers' bytes as they were compressed:
		// copying them into the archive is not counted again.
		wopts := *opts
		wopts.Progress = nil
		r.Size, err = formats.WriteStream(ctx, out, &wopts, func(w io.Writer) error {
			if err := write(w); err != nil {
				return fmt.Errorf("writing %s %s: %w", what, out, err)
			}
			return nil
		})
	default:
		err = WriteLayout(ctx, out, im, tag)
		r.Size = r.Image.LayerBytes // a layout directory: its blobs
	}
	if err != nil {
		return nil, err
	}
	if img.Push != "" {
		ref, err := ParseReference(img.Push, img.Insecure)
		if err != nil {
			return nil, err
		}
		if err := Push(ctx, img.Push, im, PushOptions{Insecure: img.Insecure}); err != nil {
			if out != "" && !im.Damaged() {
				where := out
				if out == formats.Stdout {
					where = "standard output"
				}
				return nil, fmt.Errorf("the image is written to %s, but the push failed: %w", where, err)
			}
			return nil, err
		}
		r.Image.Pushed = ref.Name()
	}
	digest, err := im.Digest()
	if err != nil {
		return nil, fmt.Errorf("oci: image digest: %w", err)
	}
	r.Image.Digest = digest.String()
	return r, nil
}

// imageEnv is an image config's Env: each variable as NAME=VALUE, the
// image having no value to prefix, but for PATH, which keeps
// DefaultPath after the profile's.
func imageEnv(vars []pack.EnvVar) []string {
	var env []string
	for _, v := range vars {
		val := v.Value
		if v.Name == "PATH" && v.Prefix {
			val += ":" + DefaultPath
		}
		env = append(env, v.Name+"="+val)
	}
	return env
}
