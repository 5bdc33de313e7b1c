package oci

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/formats"
	needpkg "github.com/gpack/gpack/internal/need"
)

// readImage reads back what Docker or OCI wrote to out.
func readImage(t *testing.T, out string) v1.Image {
	t.Helper()
	if strings.HasSuffix(out, ".docker.tar") {
		img, err := ggcrtarball.ImageFromPath(out, nil)
		must(t, err)
		return img
	}
	dir := out
	if strings.HasSuffix(out, ".tar") {
		dir = t.TempDir()
		run(t, "tar", "-xf", out, "-C", dir)
	}
	idx, err := layout.ImageIndexFromPath(dir)
	must(t, err)
	m, err := idx.IndexManifest()
	must(t, err)
	img, err := idx.Image(m.Manifests[0].Digest)
	must(t, err)
	return img
}

// biggestBlob is the largest blob of the cache.
func biggestBlob(t *testing.T, cache string) string {
	t.Helper()
	blobs, _ := filepath.Glob(filepath.Join(cache, "*.blob"))
	best, size := "", int64(-1)
	for _, b := range blobs {
		if fi, err := os.Stat(b); err == nil && fi.Size() > size {
			best, size = b, fi.Size()
		}
	}
	if best == "" {
		t.Fatalf("no blob in the cache %s", cache)
	}
	return best
}

// TestDamagedBlob flips one byte of a cached blob, keeping its size: the
// next write must notice it while copying the blob out, drop it from the
// cache with a warning, compress the layer again, and write a valid
// image, for each kind of image output.
func TestDamagedBlob(t *testing.T) {
	s := newFakeStore(t, 4, 5000)
	tr, g := s.tree(t)
	for _, tc := range []struct {
		f   formats.Format
		out string
	}{
		{Docker, "x.docker.tar"},
		{OCI, "x.oci"},
		{OCI, "x.tar"},
	} {
		t.Run(tc.out, func(t *testing.T) {
			cache := t.TempDir()
			opts := func() *formats.Options {
				return &formats.Options{Image: formats.ImageOptions{References: g.References(), CacheDir: cache}}
			}
			out := filepath.Join(t.TempDir(), tc.out)
			first, err := tc.f.Write(context.Background(), tr, out, opts())
			must(t, err)
			blob := biggestBlob(t, cache)
			data, err := os.ReadFile(blob)
			must(t, err)
			data[len(data)/2] ^= 0x20
			must(t, os.WriteFile(blob, data, 0o644))

			r, err := tc.f.Write(context.Background(), tr, out, opts())
			if err != nil {
				t.Fatalf("write with a damaged blob in the cache: %v", err)
			}
			if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "did not match its digest") || !strings.Contains(r.Warnings[0], blob) {
				t.Errorf("warnings %q, want one that names %s", r.Warnings, blob)
			}
			if r.Image.Digest != first.Image.Digest {
				t.Errorf("image %s after the repair, want %s", r.Image.Digest, first.Image.Digest)
			}
			if err := validate.Image(readImage(t, out)); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
			// The blob is whole again: the next write reuses every
			// item layer without a word.
			again, err := tc.f.Write(context.Background(), tr, out, opts())
			must(t, err)
			if len(again.Warnings) != 0 || again.Image.Reused != again.Image.Layers-1 {
				t.Errorf("third write: warnings %q, %d of %d layers reused", again.Warnings, again.Image.Reused, again.Image.Layers)
			}
		})
	}
}

// TestCacheUnusable: a layer cache that cannot be used is a warning, and
// the image is written without it; --no-cache (NoCache) is quiet and
// leaves the cache alone.
func TestCacheUnusable(t *testing.T) {
	s := newFakeStore(t, 3, 100)
	tr, g := s.tree(t)
	file := filepath.Join(t.TempDir(), "a-file")
	must(t, os.WriteFile(file, nil, 0o644))
	for _, tc := range []struct {
		name    string
		setup   func(t *testing.T) (cache string)
		noCache bool
		warn    string // "" for none
	}{
		{"no HOME, no XDG_CACHE_HOME", func(t *testing.T) string {
			t.Setenv("HOME", "")
			t.Setenv("XDG_CACHE_HOME", "")
			return ""
		}, false, "$HOME"},
		{"read-only", func(t *testing.T) string {
			needpkg.Root(t) // mounts
			dir := t.TempDir()
			must(t, unix.Mount("tmpfs", dir, "tmpfs", unix.MS_RDONLY, ""))
			t.Cleanup(func() { unix.Unmount(dir, 0) })
			return filepath.Join(dir, "gpack", "layers")
		}, false, "read-only file system"},
		{"a file", func(*testing.T) string { return filepath.Join(file, "layers") }, false, "not a directory"},
		{"--no-cache", func(t *testing.T) string { return t.TempDir() }, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cache := tc.setup(t)
			out := filepath.Join(t.TempDir(), "x.docker.tar")
			r, err := Docker.Write(context.Background(), tr, out, &formats.Options{
				Image: formats.ImageOptions{References: g.References(), CacheDir: cache, NoCache: tc.noCache}})
			if err != nil {
				t.Fatalf("write: %v", err)
			}
			if tc.warn == "" && len(r.Warnings) != 0 {
				t.Errorf("warnings %q, want none", r.Warnings)
			}
			if tc.warn != "" && (len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "the layer cache cannot be used") || !strings.Contains(r.Warnings[0], tc.warn)) {
				t.Errorf("warnings %q, want one saying %q", r.Warnings, tc.warn)
			}
			if r.Image.Reused != 0 {
				t.Errorf("%d layers reused without a cache", r.Image.Reused)
			}
			if err := validate.Image(readImage(t, out)); err != nil {
				t.Errorf("validate.Image: %v", err)
			}
			if tc.noCache {
				if ents, _ := os.ReadDir(cache); len(ents) != 0 {
					t.Errorf("--no-cache wrote into the cache: %v", ents)
				}
			}
		})
	}
}
