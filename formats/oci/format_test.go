package oci_test

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/formats/oci"
)

// imageOptions puts the layer cache in the scratch directory.
func imageOptions(scratch string, o *formats.Options) {
	o.Image.CacheDir = filepath.Join(scratch, "layers")
}

// ggcr reads an image with go-containerregistry: validate.Image, then the
// flattened file system of mutate.Extract.
func ggcr(t *testing.T, out string, opts *formats.Options) []formattest.Entry {
	var img v1.Image
	var err error
	switch {
	case strings.HasSuffix(out, ".docker.tar"):
		img, err = ggcrtarball.ImageFromPath(out, nil)
	case strings.HasSuffix(out, ".tar"):
		dir := t.TempDir()
		if b, err := exec.Command("tar", "-xf", out, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("tar -xf %s: %v\n%s", out, err, b)
		}
		img, err = layoutImage(dir)
	default:
		img, err = layoutImage(out)
	}
	if err != nil {
		t.Fatalf("reading %s: %v", out, err)
	}
	var vopts []validate.Option
	if opts.Compression == compress.Zstd {
		// validate.Image reads layers as gzip: check the digests only.
		vopts = append(vopts, validate.Fast)
	}
	if err := validate.Image(img, vopts...); err != nil {
		t.Errorf("validate.Image: %v", err)
	}
	rc := mutate.Extract(img)
	defer rc.Close()
	return formattest.ReadTar(t, rc)
}

func layoutImage(dir string) (v1.Image, error) {
	idx, err := layout.ImageIndexFromPath(dir)
	if err != nil {
		return nil, err
	}
	m, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	return idx.Image(m.Manifests[0].Digest)
}

// umoci unpacks an image as root: an OCI layout directly, a docker
// archive through skopeo.
func umoci(t *testing.T, out string, opts *formats.Options) []formattest.Entry {
	if opts.Compression == compress.Zstd && !strings.HasSuffix(out, ".docker.tar") {
		// umoci 0.4 refuses the media type: "blob is not correct
		// mediatype: application/vnd.oci.image.layer.v1.tar+zstd".
		t.Skip("Debian's umoci reads no zstd layers")
	}
	dir := t.TempDir()
	lay := out
	if strings.HasSuffix(out, ".tar") {
		lay = filepath.Join(dir, "layout")
		src := "docker-archive:" + out
		if !strings.HasSuffix(out, ".docker.tar") {
			src = "oci-archive:" + out
		}
		if b, err := exec.Command("skopeo", "copy", "--quiet", src, "oci:"+lay+":t").CombinedOutput(); err != nil {
			t.Fatalf("skopeo copy %s: %v\n%s", src, err, b)
		}
	} else {
		idx, err := layout.ImageIndexFromPath(lay)
		if err == nil {
			var m *v1.IndexManifest
			if m, err = idx.IndexManifest(); err == nil {
				lay += ":" + m.Manifests[0].Annotations["org.opencontainers.image.ref.name"]
			}
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !strings.Contains(filepath.Base(lay), ":") {
		lay += ":t"
	}
	bundle := filepath.Join(dir, "bundle")
	if b, err := exec.Command("umoci", "unpack", "--image", lay, bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack %s: %v\n%s", lay, err, b)
	}
	return formattest.ReadDir(t, filepath.Join(bundle, "rootfs"))
}

func TestDockerFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format:  oci.Docker,
		Readers: []formattest.Reader{{Name: "go-containerregistry", Read: ggcr}, {Name: "skopeo and umoci", Read: umoci}},
		Options: imageOptions,
	})
}

func TestOCIFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format:  oci.OCI,
		Readers: []formattest.Reader{{Name: "go-containerregistry", Read: ggcr}, {Name: "umoci", Read: umoci}},
		Outputs: []string{".oci", ".tar"},
		Options: imageOptions,
	})
}
