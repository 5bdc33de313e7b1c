package oci

import (
	"archive/tar"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Annotation keys of an image in an OCI layout's index.json.
const (
	// annotationRefName is the OCI key for the tag, which skopeo's and
	// umoci's oci:DIR:TAG references look up.
	annotationRefName = "org.opencontainers.image.ref.name"
	// annotationImageName is containerd's key for the full image name,
	// which docker load and ctr import of an oci-archive use as the
	// image's name.
	annotationImageName = "io.containerd.image.name"
)

// ParseTag parses an image tag such as "hello:latest" or
// "registry.example/hello:1.0"; "" gives DefaultTag(t).
func ParseTag(s string, t *pack.Tree) (name.Tag, error) {
	if s == "" {
		s = DefaultTag(t)
	}
	tag, err := name.NewTag(s)
	if err != nil {
		return name.Tag{}, fmt.Errorf("image tag %q: %w: want NAME[:TAG], NAME in lower-case letters, digits and . _ - /, TAG in letters, digits and . _ -", s, err)
	}
	return tag, nil
}

// DefaultTag is "<first-item-name>:latest", the first root item's name
// lower-cased with every character that an image name cannot hold turned
// into "-" (store names may hold "+" or capitals, as in gtk+-3.24).
func DefaultTag(t *pack.Tree) string {
	n := "image"
	if len(t.Roots) > 0 {
		n = ItemName(t.Roots[0])
	}
	b := []byte(strings.ToLower(n))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	// A repository name must start and end with a letter or digit.
	n = strings.Trim(string(b), "._-")
	if n == "" {
		n = "image"
	}
	return n + ":latest"
}

// WriteDocker writes img as a `docker load` archive (docker-archive: the
// config, the layer blobs and manifest.json) to path, atomically: on an
// error or a cancelled ctx nothing is left at path.
func WriteDocker(ctx context.Context, path string, img v1.Image, tag name.Tag) error {
	return atomicfile.WriteFile(ctx, path, func(w io.Writer) error {
		if err := ggcrtarball.Write(tag, img, w); err != nil {
			return fmt.Errorf("writing docker archive %s: %w", path, err)
		}
		return nil
	})
}

// WriteLayout writes img as an OCI image layout directory at dir, with tag
// in its index. The layout is written beside dir and renamed into place
// (atomicfile.Dir); an existing layout at dir is replaced, any other
// existing file or non-empty directory is an error (CheckLayout).
func WriteLayout(ctx context.Context, dir string, img v1.Image, tag name.Tag) error {
	if err := CheckLayout(dir); err != nil {
		return err
	}
	d, err := atomicfile.CreateDir(dir)
	if err != nil {
		return err
	}
	defer d.Abort()
	p, err := layout.Write(d.Name(), empty.Index)
	if err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := p.AppendImage(img, layout.WithAnnotations(indexAnnotations(tag))); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("writing OCI layout %s: %w", dir, err)
	}
	return d.Commit()
}

// CheckLayout tells, before any work, whether WriteLayout may write dir:
// nothing is there, or an empty directory, or an OCI layout (which is
// replaced), and its parent takes new entries. It removes the temporary
// layouts of dir that killed runs left (atomicfile.CheckDir).
func CheckLayout(dir string) error {
	dir = filepath.Clean(dir)
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return &usererr.Error{Path: dir, What: "exists and is not a directory, so no OCI layout can go there", Fix: "remove it or choose another output"}
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("writing OCI layout %s: %w", dir, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "oci-layout")); len(ents) > 0 && err != nil {
			return &usererr.Error{Path: dir, What: "is a non-empty directory that is not an OCI layout", Fix: "remove it or choose another output"}
		}
	}
	return atomicfile.CheckDir(dir)
}

func indexAnnotations(tag name.Tag) map[string]string {
	return map[string]string{annotationRefName: tag.TagStr(), annotationImageName: tag.Name()}
}

// WriteOCIArchive writes img as an oci-archive to path, atomically: a tar
// of an OCI image layout (oci-layout, index.json, blobs/sha256/...), with
// sorted names and fixed headers, so that it too is a function of the image.
func WriteOCIArchive(ctx context.Context, path string, img v1.Image, tag name.Tag) error {
	return atomicfile.WriteFile(ctx, path, func(w io.Writer) error {
		if err := writeOCIArchive(w, img, tag); err != nil {
			return fmt.Errorf("writing oci-archive %s: %w", path, err)
		}
		return nil
	})
}

func writeOCIArchive(w io.Writer, img v1.Image, tag name.Tag) error {
	cf, err := img.ConfigFile()
	if err != nil {
		return fmt.Errorf("reading the config: %w", err)
	}
	manifest, err := img.RawManifest()
	if err != nil {
		return fmt.Errorf("reading the manifest: %w", err)
	}
	mdigest, err := img.Digest()
	if err != nil {
		return err
	}
	mt, err := img.MediaType()
	if err != nil {
		return err
	}
	config, err := img.RawConfigFile()
	if err != nil {
		return err
	}
	cdigest, err := img.ConfigName()
	if err != nil {
		return err
	}
	index, err := json.Marshal(v1.IndexManifest{
		SchemaVersion: 2,
		MediaType:     types.OCIImageIndex,
		Manifests: []v1.Descriptor{{
			MediaType:   mt,
			Size:        int64(len(manifest)),
			Digest:      mdigest,
			Annotations: indexAnnotations(tag),
		}},
	})
	if err != nil {
		return err
	}
	type blob struct {
		hex  string
		size int64
		data []byte
		open func() (io.ReadCloser, error)
	}
	blobs := map[string]blob{
		mdigest.Hex: {hex: mdigest.Hex, size: int64(len(manifest)), data: manifest},
		cdigest.Hex: {hex: cdigest.Hex, size: int64(len(config)), data: config},
	}
	layers, err := img.Layers()
	if err != nil {
		return fmt.Errorf("reading the layers: %w", err)
	}
	for _, l := range layers {
		d, err := l.Digest()
		if err != nil {
			return err
		}
		size, err := l.Size()
		if err != nil {
			return err
		}
		blobs[d.Hex] = blob{hex: d.Hex, size: size, open: l.Compressed}
	}
	hexes := make([]string, 0, len(blobs))
	for h := range blobs {
		hexes = append(hexes, h)
	}
	sort.Strings(hexes)

	tw := tar.NewWriter(w)
	hdr := func(name string, typ byte, mode, size int64) *tar.Header {
		return &tar.Header{Name: name, Typeflag: typ, Mode: mode, Size: size, Uname: "root", Gname: "root",
			ModTime: cf.Created.Time, Format: tar.FormatGNU}
	}
	file := func(name string, data []byte) error {
		if err := tw.WriteHeader(hdr(name, tar.TypeReg, 0o644, int64(len(data)))); err != nil {
			return err
		}
		_, err := tw.Write(data)
		return err
	}
	if err := tw.WriteHeader(hdr("blobs/", tar.TypeDir, 0o755, 0)); err != nil {
		return err
	}
	if err := tw.WriteHeader(hdr("blobs/sha256/", tar.TypeDir, 0o755, 0)); err != nil {
		return err
	}
	for _, h := range hexes {
		b := blobs[h]
		name := "blobs/sha256/" + h
		if b.open == nil {
			if err := file(name, b.data); err != nil {
				return err
			}
			continue
		}
		if err := tw.WriteHeader(hdr(name, tar.TypeReg, 0o644, b.size)); err != nil {
			return err
		}
		r, err := b.open()
		if err != nil {
			return err
		}
		_, err = io.Copy(tw, r)
		r.Close()
		if err != nil {
			return fmt.Errorf("copying layer %s: %w", h, err)
		}
	}
	if err := file("index.json", index); err != nil {
		return err
	}
	if err := file("oci-layout", []byte(`{"imageLayoutVersion":"1.0.0"}`)); err != nil {
		return err
	}
	return tw.Close()
}

// ParseReference parses a registry reference for Push, such as
// localhost:5000/hello:1.0; its Name() is the full reference
// (index.docker.io/library/hello:latest for "hello").
func ParseReference(ref string, insecure bool) (name.Reference, error) {
	var nopts []name.Option
	if insecure {
		nopts = append(nopts, name.Insecure)
	}
	r, err := name.ParseReference(ref, nopts...)
	if err != nil {
		return nil, &usererr.Error{Kind: usererr.Usage, Path: ref, What: "push: bad reference: " + err.Error(),
			Fix: "want REGISTRY/NAME[:TAG], e.g. localhost:5000/hello:latest", Err: err}
	}
	return r, nil
}

// PushOptions tune Push.
type PushOptions struct {
	// Insecure allows a registry over plain HTTP or with a certificate
	// that does not verify. Loopback registries (localhost, 127.0.0.0/8)
	// get plain HTTP without it.
	Insecure bool
	// Transport replaces the HTTP transport (tests count requests with
	// it); nil means pushTransport: go-containerregistry's default with
	// every wait bounded by Timeout, and insecure with Insecure.
	Transport http.RoundTripper
	// Timeout bounds each wait of a request (see DefaultPushTimeout,
	// what 0 means).
	Timeout time.Duration
	// Jobs is how many blobs are uploaded at once; 0 means
	// go-containerregistry's default (4).
	Jobs int
	// Progress, if not nil, receives upload progress; Push closes it.
	Progress chan<- v1.Update
}

// Push sends img to the registry at ref (such as
// registry.example/hello:1.0), authenticating through the Docker and
// Podman configuration and credential helpers (authn.DefaultKeychain).
// Blobs the registry already has are not uploaded again, so pushing an image
// that changed in one layer uploads that layer, the config and the
// manifest.
func Push(ctx context.Context, ref string, img v1.Image, opts PushOptions) error {
	r, err := ParseReference(ref, opts.Insecure)
	if err != nil {
		return err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultPushTimeout
	}
	tr := opts.Transport
	if tr == nil {
		tr = pushTransport(opts.Insecure, timeout)
	}
	ropts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(authn.DefaultKeychain),
		remote.WithTransport(tr),
		remote.WithRetryBackoff(pushRetry),
		remote.WithRetryStatusCodes(pushRetryStatus...),
	}
	if opts.Jobs > 0 {
		ropts = append(ropts, remote.WithJobs(opts.Jobs))
	}
	if opts.Progress != nil {
		ropts = append(ropts, remote.WithProgress(opts.Progress))
	}
	if err := remote.Write(r, img, ropts...); err != nil {
		return pushError(ctx, r.Name(), r.Context().RegistryStr(), timeout, err)
	}
	return nil
}
