package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/oci"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// imageSummary is --json for -f docker and -f oci: the pack summary and
// the image's identity.
type imageSummary struct {
	packSummary
	Digest string `json:"digest"`
	Tag    string `json:"tag"`
	Pushed string `json:"pushed,omitempty"`
	Layers int    `json:"layers"`
	Reused int    `json:"layersReused"`
}

// runImage builds the container image of tree and writes it (docker
// archive, OCI layout or oci-archive) and/or pushes it.
func runImage(ctx context.Context, stdout, stderr io.Writer, opts packOptions, g *closure.Graph, tree *pack.Tree, algo compress.Algo, start time.Time) error {
	tag, err := oci.ParseTag(opts.ImageTag, tree)
	if err != nil {
		return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Err: err}
	}
	var entry []string
	if opts.EntryPoint != "" {
		entry = []string{opts.EntryPoint}
	}
	files, bytesIn := tree.Totals()
	prog := newProgress(stderr, opts.Quiet || opts.JSON, files, bytesIn)
	im, err := oci.Build(ctx, tree, oci.Options{
		Compression: algo,
		Level:       opts.Level,
		MaxLayers:   opts.MaxLayers,
		References:  oci.ReferencesOf(g),
		Arch:        opts.Arch,
		Entrypoint:  entry,
		Cmd:         opts.Cmd,
		Progress:    prog,
	})
	prog.Done()
	if err != nil {
		return err
	}
	defer im.Close()

	out := opts.Output
	if out == "" && opts.Push == "" {
		out = itemName(g.Roots[0]) + ".docker.tar"
		if opts.Format == "oci" {
			out = itemName(g.Roots[0]) + ".oci"
		}
	}
	if out != "" {
		switch {
		case opts.Format == "docker":
			err = oci.WriteDocker(ctx, out, im, tag)
		case strings.HasSuffix(out, ".tar"):
			err = oci.WriteOCIArchive(ctx, out, im, tag)
		default:
			err = oci.WriteLayout(ctx, out, im, tag)
		}
		if err != nil {
			return err
		}
	}
	if opts.Push != "" {
		if err := oci.Push(ctx, opts.Push, im, oci.PushOptions{Insecure: opts.Insecure}); err != nil {
			return err
		}
	}
	digest, err := im.Digest()
	if err != nil {
		return fmt.Errorf("image digest: %w", err)
	}
	if opts.JSON {
		s := imageSummary{Digest: digest.String(), Tag: tag.String(), Pushed: opts.Push,
			Layers: len(im.Info), Reused: im.Reused}
		s.Items, s.Files, s.BytesIn, s.Seconds = len(tree.Items), files, bytesIn, time.Since(start).Seconds()
		for _, l := range im.Info {
			s.BytesOut += l.Size
		}
		if out != "" {
			s.Output, _ = filepath.Abs(out)
			s.Size = s.BytesOut // a layout directory: its blobs
			if fi, err := os.Stat(out); err == nil && fi.Mode().IsRegular() {
				s.Size = fi.Size()
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if out != "" {
		fmt.Fprintln(stdout, out)
	}
	if opts.Push != "" {
		fmt.Fprintln(stdout, opts.Push+"@"+digest.String())
	}
	return nil
}
