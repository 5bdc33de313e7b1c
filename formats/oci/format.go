package oci

import (
	"context"
	"fmt"
	"os"
	"strings"

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

// Prepare gives the image a /bin, as guix pack does (pack.ImageLinks).
func (imageFormat) Prepare(o *pack.Options, profile string, _ *formats.Options) {
	o.Symlinks = pack.ImageLinks(o.Symlinks, profile, o.Relocatable)
}

// archive reports whether out is a file (a docker archive, an oci-archive)
// rather than a layout directory.
func (f imageFormat) archive(out string) bool {
	return f.name == "docker" || strings.HasSuffix(out, ".tar")
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
	case out == "":
		return nil
	case f.archive(out):
		return atomicfile.Check(out)
	}
	return CheckLayout(out)
}

func (f imageFormat) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	img := &opts.Image
	tag, err := ParseTag(img.Tag, t)
	if err != nil {
		return nil, err
	}
	var entry []string
	if opts.EntryPoint != "" {
		entry = []string{opts.EntryPoint}
	}
	im, err := Build(ctx, t, Options{
		Compression: opts.Compression,
		Level:       opts.Level,
		MaxLayers:   img.MaxLayers,
		References:  img.References,
		Arch:        img.Arch,
		Entrypoint:  entry,
		Cmd:         img.Cmd,
		CacheDir:    img.CacheDir,
		NoCache:     img.NoCache,
		Jobs:        opts.Concurrency,
		Progress:    opts.Progress,
	})
	if err != nil {
		return nil, err
	}
	defer im.Close()
	r := &formats.Result{Output: out, Image: &formats.ImageResult{Tag: tag.String(), Layers: len(im.Info), Reused: im.Reused}}
	for _, l := range im.Info {
		r.Image.LayerBytes += l.Size
	}
	switch {
	case out == "":
	case f.name == "docker":
		err = WriteDocker(ctx, out, im, tag)
	case f.archive(out):
		err = WriteOCIArchive(ctx, out, im, tag)
	default:
		err = WriteLayout(ctx, out, im, tag)
	}
	if err != nil {
		return nil, err
	}
	if out != "" {
		r.Size = r.Image.LayerBytes // a layout directory: its blobs
		if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
			r.Size = fi.Size()
		}
	}
	if img.Push != "" {
		ref, err := ParseReference(img.Push, img.Insecure)
		if err != nil {
			return nil, err
		}
		if err := Push(ctx, img.Push, im, PushOptions{Insecure: img.Insecure}); err != nil {
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
