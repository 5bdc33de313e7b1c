package oci

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	ggcrtarball "github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/validate"

	"github.com/gpack/gpack/pack"
)

// skopeoInspect is the part of `skopeo inspect` the tests look at.
type skopeoInspect struct {
	Digest       string
	Architecture string
	Os           string
	Layers       []string
	Labels       map[string]string
}

// inspect runs skopeo inspect with args (options, then the reference).
func inspect(t *testing.T, args ...string) skopeoInspect {
	t.Helper()
	var si skopeoInspect
	must(t, json.Unmarshal([]byte(run(t, "skopeo", append([]string{"inspect"}, args...)...)), &si))
	return si
}

func layerDigests(t *testing.T, im *Image) (digests, diffIDs []string) {
	for _, l := range im.Info {
		digests = append(digests, l.Digest.String())
		diffIDs = append(diffIDs, l.DiffID.String())
	}
	return digests, diffIDs
}

// inspectDiffIDs returns the diff_ids of the config skopeo reads at ref.
func inspectDiffIDs(t *testing.T, ref string) []string {
	t.Helper()
	var cf v1.ConfigFile
	must(t, json.Unmarshal([]byte(run(t, "skopeo", "inspect", "--config", ref)), &cf))
	var ds []string
	for _, d := range cf.RootFS.DiffIDs {
		ds = append(ds, d.String())
	}
	return ds
}

// checkRef checks what skopeo sees at ref: the layers (as blobs, or for a
// docker-archive, which skopeo reads as uncompressed layers, as diff_ids)
// and the config's diff_ids.
func checkRef(t *testing.T, ref string, digests, diffIDs []string) {
	t.Helper()
	want := digests
	if strings.HasPrefix(ref, "docker-archive:") {
		want = diffIDs
	}
	if si := inspect(t, ref); strings.Join(si.Layers, " ") != strings.Join(want, " ") {
		t.Errorf("%s: layers %v, want %v", ref, si.Layers, want)
	}
	if got := inspectDiffIDs(t, ref); strings.Join(got, " ") != strings.Join(diffIDs, " ") {
		t.Errorf("%s: diff_ids %v, want %v", ref, got, diffIDs)
	}
}

// writeAll writes im in the three file formats under dir.
func writeAll(t *testing.T, im *Image, tag name.Tag, dir string) (docker, lay, archive string) {
	t.Helper()
	ctx := context.Background()
	docker, lay, archive = filepath.Join(dir, "img.docker.tar"), filepath.Join(dir, "layout"), filepath.Join(dir, "img.oci.tar")
	must(t, WriteDocker(ctx, docker, im, tag))
	must(t, WriteLayout(ctx, lay, im, tag))
	must(t, WriteOCIArchive(ctx, archive, im, tag))
	return docker, lay, archive
}

func TestSkopeo(t *testing.T) {
	need(t, "skopeo")
	s := newFakeStore(t, 4, 1000)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References(), Entrypoint: []string{"bin/hello"}})
	tag, err := ParseTag("", tr)
	must(t, err)
	dir := t.TempDir()
	docker, lay, archive := writeAll(t, im, tag, dir)
	digest, err := im.Digest()
	must(t, err)
	digests, diffIDs := layerDigests(t, im)

	for _, ref := range []string{"docker-archive:" + docker, "oci:" + lay + ":latest", "oci-archive:" + archive + ":latest"} {
		checkRef(t, ref, digests, diffIDs)
		si := inspect(t, ref)
		if si.Architecture != "amd64" || si.Os != "linux" || si.Labels[LabelRoots] != s.items[len(s.items)-1] {
			t.Errorf("%s: %s/%s labels %v", ref, si.Os, si.Architecture, si.Labels)
		}
		// docker-archive has no manifest of ours; skopeo makes one.
		if !strings.HasPrefix(ref, "docker-archive:") && si.Digest != digest.String() {
			t.Errorf("%s: digest %s, want %s", ref, si.Digest, digest)
		}
	}

	// Copies between the three formats keep the layers' contents; OCI to
	// OCI keeps the blobs and the manifest too (from a docker-archive,
	// skopeo compresses the layers itself).
	copies := []struct{ from, to string }{
		{"docker-archive:" + docker, "oci:" + filepath.Join(dir, "from-docker") + ":latest"},
		{"oci:" + lay + ":latest", "oci-archive:" + filepath.Join(dir, "from-layout.tar") + ":latest"},
		{"oci-archive:" + archive + ":latest", "docker-archive:" + filepath.Join(dir, "from-archive.tar") + ":app:latest"},
		{"oci-archive:" + archive + ":latest", "oci:" + filepath.Join(dir, "from-archive") + ":latest"},
	}
	for _, c := range copies {
		run(t, "skopeo", "copy", "--quiet", c.from, c.to)
		if strings.HasPrefix(c.from, "docker-archive:") {
			if got := inspectDiffIDs(t, c.to); strings.Join(got, " ") != strings.Join(diffIDs, " ") {
				t.Errorf("copy %s -> %s: diff_ids %v, want %v", c.from, c.to, got, diffIDs)
			}
			continue
		}
		checkRef(t, c.to, digests, diffIDs)
		si := inspect(t, c.to)
		if strings.HasPrefix(c.from, "oci") && strings.HasPrefix(c.to, "oci") && si.Digest != digest.String() {
			t.Errorf("copy %s -> %s: digest %s, want %s", c.from, c.to, si.Digest, digest)
		}
	}

	// go-containerregistry's own readers, and validate on every image.
	fromDocker, err := ggcrtarball.ImageFromPath(docker, &tag)
	must(t, err)
	must(t, validate.Image(fromDocker))
	idx, err := layout.ImageIndexFromPath(lay)
	must(t, err)
	fromLayout, err := idx.Image(digest)
	must(t, err)
	must(t, validate.Image(fromLayout))
	if d, _ := fromLayout.Digest(); d != digest {
		t.Errorf("layout image digest %s, want %s", d, digest)
	}
	copied, err := layout.ImageIndexFromPath(filepath.Join(dir, "from-archive"))
	must(t, err)
	fromCopy, err := copied.Image(digest)
	must(t, err)
	must(t, validate.Image(fromCopy))

	// Writing the layout again replaces it; a directory that is not a
	// layout is refused.
	must(t, WriteLayout(context.Background(), lay, im, tag))
	other := filepath.Join(dir, "other")
	must(t, os.MkdirAll(other, 0o755))
	must(t, os.WriteFile(filepath.Join(other, "x"), nil, 0o644))
	if err := WriteLayout(context.Background(), other, im, tag); err == nil || !strings.Contains(err.Error(), "not an OCI layout") {
		t.Errorf("layout over a plain directory: %v", err)
	}
	// The oci-archive is a pure function of the image too.
	a2 := filepath.Join(dir, "again.tar")
	must(t, WriteOCIArchive(context.Background(), a2, im, tag))
	b1, _ := os.ReadFile(archive)
	b2, _ := os.ReadFile(a2)
	if !bytes.Equal(b1, b2) {
		t.Error("two oci-archives of one image differ")
	}
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.Contains(e.Name(), ".tmp-") {
			t.Errorf("temporary file left behind: %s", e.Name())
		}
	}
}

// TestUmoci unpacks the layout with umoci: the rootfs is the pack tree,
// plus /tmp.
func TestUmoci(t *testing.T) {
	need(t, "umoci")
	s := newFakeStore(t, 4, 1000)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References()})
	tag, err := ParseTag("", tr)
	must(t, err)
	dir := t.TempDir()
	lay := filepath.Join(dir, "layout")
	must(t, WriteLayout(context.Background(), lay, im, tag))
	bundle := filepath.Join(dir, "bundle")
	args := []string{"unpack", "--image", lay + ":latest", bundle}
	if os.Getuid() != 0 {
		args = []string{"unpack", "--rootless", "--image", lay + ":latest", bundle}
	}
	run(t, "umoci", args...)
	t.Cleanup(func() {
		filepath.Walk(bundle, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	compareRootfs(t, tr, filepath.Join(bundle, "rootfs"), os.Getuid() == 0)
}

// compareRootfs checks that the files under rootfs are the tree's entries,
// with their kinds, permissions, link targets and contents, plus /tmp.
func compareRootfs(t *testing.T, tr *pack.Tree, rootfs string, modes bool) {
	t.Helper()
	want := map[string]*pack.Entry{}
	for i := range tr.Entries {
		want[tr.Entries[i].Path] = &tr.Entries[i]
	}
	if want["tmp"] == nil {
		want["tmp"] = &pack.Entry{Path: "tmp", Kind: pack.Dir, Mode: 0o1777}
	}
	got := map[string]bool{}
	must(t, filepath.WalkDir(rootfs, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == rootfs {
			return err
		}
		rel, _ := filepath.Rel(rootfs, p)
		got[rel] = true
		e := want[rel]
		if e == nil {
			t.Errorf("rootfs has %s, which the tree has not", rel)
			return nil
		}
		fi, err := os.Lstat(p)
		must(t, err)
		perm := fi.Mode().Perm()
		if fi.Mode()&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		switch e.Kind {
		case pack.Dir:
			if !fi.IsDir() {
				t.Errorf("%s: %v, want a directory", rel, fi.Mode())
			}
		case pack.Symlink:
			target, err := os.Readlink(p)
			if err != nil || target != e.Target {
				t.Errorf("%s: link to %q (%v), want %q", rel, target, err, e.Target)
			}
			return nil
		case pack.File, pack.HardLink:
			if !fi.Mode().IsRegular() {
				t.Errorf("%s: %v, want a file", rel, fi.Mode())
				return nil
			}
			src := e
			if e.Kind == pack.HardLink {
				src = want[e.Target]
			}
			r, err := src.Open()
			must(t, err)
			wantData, err := io.ReadAll(r)
			r.Close()
			must(t, err)
			data, err := os.ReadFile(p)
			must(t, err)
			if !bytes.Equal(data, wantData) {
				t.Errorf("%s: content differs", rel)
			}
		}
		if modes && perm != e.Mode {
			t.Errorf("%s: mode %o, want %o", rel, perm, e.Mode)
		}
		return nil
	}))
	for p := range want {
		if !got[p] {
			t.Errorf("rootfs lacks %s", p)
		}
	}
}

var _ v1.Image = (*Image)(nil)
