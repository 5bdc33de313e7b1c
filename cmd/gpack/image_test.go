package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/teststore"
)

// podman runs podman as root with storage of its own in dir, in a mount
// namespace without the cgroup v1 "unified" mount, with the settings that
// let podman run here (no default ulimits, no cgroups): the recipe this VM
// needs, kept in the harness rather than in the machine's configuration.
func podman(t *testing.T, dir string, args ...string) (string, error) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "containers.conf")
	if err := os.WriteFile(conf, []byte("[containers]\ndefault_ulimits = []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	script := `umount /sys/fs/cgroup/unified 2>/dev/null || :; exec podman --storage-driver vfs --root "$0/root" --runroot "$0/run" "$@"`
	cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "sh", "-c", script, dir}, args...)...)
	cmd.Env = append(os.Environ(), "CONTAINERS_CONF="+conf)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestDockerImageNix loads the real Nix store's profile into podman and
// runs store programs from it, and checks that a second build, sharing
// every item, compresses nothing new.
func TestDockerImageNix(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store and podman")
	}
	ns := nixstore.New(t)
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	build := func(out string) packSummary {
		r := gpack(t, 0, "pack", "-q", "--json", "-f", "docker", "--image-tag", "gpack-test/profile:1", "-o", out, ns.Items["profile"])
		if r.code != 0 {
			t.Fatalf("gpack pack -f docker: %s", r.stderr)
		}
		var s packSummary
		if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
			t.Fatalf("--json: %v: %s", err, r.stdout)
		}
		return s
	}
	first := build(filepath.Join(dir, "a.tar"))
	second := build(filepath.Join(dir, "b.tar"))
	if first.Digest != second.Digest || !strings.HasPrefix(first.Digest, "sha256:") {
		t.Errorf("digests %q and %q: want one image", first.Digest, second.Digest)
	}
	if second.Reused != second.Layers-1 {
		t.Errorf("second build reused %d of %d layers; want all but the last", second.Reused, second.Layers)
	}
	if fi, err := os.Stat(filepath.Join(dir, "a.tar")); err != nil || fi.Size() != first.Size {
		t.Errorf("--json size %d, file %v %v", first.Size, fi, err)
	}

	pm := filepath.Join(dir, "podman")
	if out, err := podman(t, pm, "load", "-i", filepath.Join(dir, "a.tar")); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	out, err := podman(t, pm, "run", "--rm", "--cgroups=disabled", "--network=none", "gpack-test/profile:1",
		"/bin/bash", "-c", "echo one two | sed s/two/2/ && ls /nix/store | grep -c -- -glibc$ && ls -ld /tmp | grep -o '^d.........' && hello-script")
	if err != nil || out != "one 2\n1\ndrwxrwxrwt\nhello from nix\n0\n" {
		t.Errorf("podman run: %v\n%s", err, out)
	}
}

// TestOCIImage: an OCI layout of the synthetic store, unpacked by umoci,
// equals the tarball's tree, and Charliecloud runs a store program in it.
func TestOCIImage(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	layout := filepath.Join(dir, "img.oci")
	packTo(t, layout, "-f", "oci", "--image-tag", "p:t", ts.Path("profile"))
	bundle := filepath.Join(dir, "bundle")
	if out, err := exec.Command("umoci", "unpack", "--image", layout+":t", bundle).CombinedOutput(); err != nil {
		t.Fatalf("umoci unpack: %v\n%s", err, out)
	}
	tb := packTo(t, filepath.Join(dir, "p.tar"), "-C", "none", "-S", "/bin=bin", ts.Path("profile"))
	fromTar := filepath.Join(dir, "tar")
	os.Mkdir(fromTar, 0o755)
	if out, err := exec.Command("tar", "-xpf", tb, "-C", fromTar).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	want, got := listTree(t, fromTar), listTree(t, filepath.Join(bundle, "rootfs"))
	for p, l := range want {
		if p != "." && got[p] != l {
			t.Errorf("%s: umoci gives %q, the tarball %q", p, got[p], l)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok {
			t.Errorf("%s: in the image only", p)
		}
	}

	// ch-run on the unpacked root, as the test user, which must own it
	// (Charliecloud's unprivileged mode). ch-run binds the host's /dev,
	// /proc, /sys and passwd files over the image's, which must exist:
	// they are made here as ch-convert makes them.
	rootfs := filepath.Join(bundle, "rootfs")
	exec.Command("chmod", "-R", "u+w", rootfs).Run()
	for _, d := range []string{"dev", "proc", "sys", "home", "etc", "tmp"} {
		os.MkdirAll(filepath.Join(rootfs, d), 0o755)
	}
	for _, f := range []string{"passwd", "group", "hosts", "resolv.conf"} {
		os.WriteFile(filepath.Join(rootfs, "etc", f), nil, 0o644)
	}
	exec.Command("chown", "-R", "65534:65534", bundle).Run()
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", bundle).Run() })
	cmd := exec.Command("setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
		"ch-run", rootfs, "--", ts.Path("hello")+"/bin/hello", "ch-run")
	cmd.Env = append(os.Environ(), "USER=nobody")
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != teststore.Greeting+"ch-run\n" {
		t.Errorf("ch-run: %v\n%s", err, out)
	}
}

// TestImageBadInput: one line and the right exit status for each.
func TestImageBadInput(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	item := ts.Path("hello")
	for _, tc := range []struct {
		name string
		args []string
		code int
		has  string
	}{
		{"bad tag", []string{"-f", "docker", "--image-tag", "Bad Tag!"}, 2, "tag"},
		{"bad push reference", []string{"-f", "oci", "--push", "no spaces allowed/x"}, 2, "reference"},
		{"unknown arch", []string{"-f", "docker", "--arch", "pdp11"}, 2, "pdp11"},
		{"one layer", []string{"-f", "docker", "--max-layers", "1"}, 2, "--max-layers 1"},
		{"xz layers", []string{"-f", "oci", "-C", "xz"}, 2, "gzip or zstd"},
		{"push a tarball", []string{"--push", "localhost:1/x"}, 2, "--push applies to -f docker and oci, not to -f tarball"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"pack", "-q", "-o", filepath.Join(dir, "out")}, tc.args...)
			oneLineError(t, gpack(t, 0, append(args, item)...), tc.code, tc.has)
		})
	}
}

// TestPushJSON: --push --json says which reference got which digest, and
// the registry serves that manifest there; without -o nothing is written
// locally.
func TestPushJSON(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	ref := strings.TrimPrefix(srv.URL, "http://") + "/gpack-test/hello:1"

	cmd := exec.Command(gpackBin, "pack", "-q", "--json", "-f", "oci", "--push", ref, ts.Path("hello"))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("gpack pack --push: %v", err)
	}
	var s packSummary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	if s.Pushed == nil || s.Pushed.Reference != ref || s.Pushed.Digest != s.Digest || !strings.HasPrefix(s.Digest, "sha256:") {
		t.Fatalf("--json pushed %+v, digest %q; want %s and the image digest", s.Pushed, s.Digest, ref)
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	desc, err := remote.Head(r)
	if err != nil || desc.Digest.String() != s.Digest {
		t.Errorf("the registry has %v (%v) at %s, --json says %s", desc, err, ref, s.Digest)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 || ents[0].Name() != "cache" {
		t.Errorf("a push without -o wrote %v", ents)
	}
	// The text output names the same.
	r2 := gpack(t, 0, "pack", "-q", "-f", "oci", "--push", ref, ts.Path("hello"))
	if r2.stdout != ref+"@"+s.Digest+"\n" {
		t.Errorf("text output %q, want %s@%s", r2.stdout, ref, s.Digest)
	}
}
