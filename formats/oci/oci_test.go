package oci

import (
	"archive/tar"
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/google/go-containerregistry/pkg/v1/validate"
	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// layerEntries reads a layer's tar and checks the headers follow the
// tarball's rules.
func layerEntries(t *testing.T, l v1.Layer, mtime time.Time) []*tar.Header {
	t.Helper()
	rc, err := l.Uncompressed()
	must(t, err)
	defer rc.Close()
	tr := tar.NewReader(rc)
	var hs []*tar.Header
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		must(t, err)
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" {
			t.Errorf("%s: owner %d/%d %s/%s, want 0 root", h.Name, h.Uid, h.Gid, h.Uname, h.Gname)
		}
		if !h.ModTime.Equal(mtime) {
			t.Errorf("%s: mtime %v, want %v", h.Name, h.ModTime, mtime)
		}
		if h.Typeflag == tar.TypeLink {
			t.Errorf("%s: a hard link in a layer of store items", h.Name)
		}
		hs = append(hs, h)
	}
	return hs
}

func TestBuild(t *testing.T) {
	s := newFakeStore(t, 4, 100)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References(), Entrypoint: []string{"bin/hello"}, Cmd: []string{"-v"}})
	if err := validate.Image(im); err != nil {
		t.Fatalf("validate: %v", err)
	}
	layers, err := im.Image.Layers()
	must(t, err)
	if len(layers) != len(s.items)+1 || len(im.Info) != len(layers) {
		t.Fatalf("%d layers, want %d (one per item and the last)", len(layers), len(s.items)+1)
	}
	// Most popular first: libc is needed by every other item.
	if got := im.Info[0].Items; len(got) != 1 || got[0] != s.items[0] {
		t.Errorf("first layer holds %v, want libc %s", got, s.items[0])
	}
	storeRel := strings.TrimPrefix(tr.Store, "/")
	seen := map[string]int{}
	for i, l := range layers {
		mt, err := l.MediaType()
		must(t, err)
		if mt != types.OCILayer {
			t.Errorf("layer %d: media type %s", i, mt)
		}
		hs := layerEntries(t, l, tr.Mtime)
		var names []string
		for _, h := range hs {
			names = append(names, h.Name)
		}
		// Each item layer begins with the store's parents.
		if i < len(layers)-1 && (!strings.HasPrefix(hs[0].Name, "./") || hs[0].Typeflag != tar.TypeDir) {
			t.Errorf("layer %d starts with %q", i, hs[0].Name)
		}
		last := i == len(layers)-1
		hasStore := false
		for _, h := range hs {
			p := strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
			hasStore = hasStore || p == storeRel
			if p != storeRel && !strings.HasPrefix(storeRel, p+"/") {
				seen[p]++
			}
			if !last && p != storeRel && !strings.HasPrefix(storeRel, p+"/") {
				item := tr.Store + "/" + strings.SplitN(strings.TrimPrefix(p, storeRel+"/"), "/", 2)[0]
				if item != im.Info[i].Items[0] {
					t.Errorf("layer %d of %v holds %s", i, im.Info[i].Items, p)
				}
			}
			if last && p == "tmp" && (h.Typeflag != tar.TypeDir || h.Mode != 0o1777) {
				t.Errorf("last layer: tmp is %c %o, want a 1777 directory", h.Typeflag, h.Mode)
			}
		}
		if !hasStore {
			t.Errorf("layer %d lacks the store directory: %v", i, names)
		}
		if last {
			for _, want := range []string{"./bin", "./tmp/"} {
				if !strings.Contains(strings.Join(names, "\n")+"\n", want+"\n") {
					t.Errorf("last layer lacks %s: %v", want, names)
				}
			}
		}
	}
	// Every entry of the tree outside the store's parents is in exactly
	// one layer.
	for _, e := range tr.Entries {
		if e.Path == storeRel || strings.HasPrefix(storeRel, e.Path+"/") {
			continue
		}
		if seen[e.Path] != 1 {
			t.Errorf("%s is in %d layers", e.Path, seen[e.Path])
		}
	}

	cf, err := im.ConfigFile()
	must(t, err)
	if cf.Architecture != runtime.GOARCH || cf.OS != "linux" {
		t.Errorf("platform %s/%s, want linux/%s from /bin/true", cf.OS, cf.Architecture, runtime.GOARCH)
	}
	if !cf.Created.Time.Equal(time.Unix(1, 0)) {
		t.Errorf("created %v", cf.Created)
	}
	app := s.items[len(s.items)-1]
	if want := []string{app + "/bin/hello"}; strings.Join(cf.Config.Entrypoint, " ") != want[0] {
		t.Errorf("entrypoint %v, want %v", cf.Config.Entrypoint, want)
	}
	if strings.Join(cf.Config.Cmd, " ") != "-v" {
		t.Errorf("cmd %v", cf.Config.Cmd)
	}
	if len(cf.Config.Env) == 0 || !strings.HasPrefix(cf.Config.Env[0], "PATH="+app+"/bin:") || !strings.HasSuffix(cf.Config.Env[0], ":/usr/bin:/sbin:/bin") {
		t.Errorf("env %v", cf.Config.Env)
	}
	if cf.Config.Labels[LabelRoots] != app || cf.Config.Labels["org.opencontainers.image.title"] != "app-1.0" {
		t.Errorf("labels %v", cf.Config.Labels)
	}
	if len(cf.History) != len(layers) || !strings.Contains(cf.History[0].CreatedBy, "libc-2.41") || cf.History[0].Comment != s.items[0] {
		t.Errorf("history %+v", cf.History)
	}
	m, err := im.Manifest()
	must(t, err)
	if m.MediaType != types.OCIManifestSchema1 || m.Annotations[LabelRoots] != app {
		t.Errorf("manifest %s, annotations %v", m.MediaType, m.Annotations)
	}
}

// TestDeterministic builds the image four times, with 1 and 2 cores, and
// with and without the cache: always the same digest and the same
// docker-archive bytes.
func TestDeterministic(t *testing.T) {
	s := newFakeStore(t, 5, 3000)
	tr, g := s.tree(t)
	var digests []v1.Hash
	var archives [][]byte
	cache := t.TempDir()
	for _, c := range []struct {
		procs int
		cache string
	}{{1, ""}, {2, ""}, {2, cache}, {1, cache}} {
		old := runtime.GOMAXPROCS(c.procs)
		im := build(t, tr, Options{References: g.References(), CacheDir: c.cache})
		runtime.GOMAXPROCS(old)
		d, err := im.Digest()
		must(t, err)
		digests = append(digests, d)
		tag, err := ParseTag("", tr)
		must(t, err)
		p := filepath.Join(t.TempDir(), "img.tar")
		must(t, WriteDocker(context.Background(), p, im, tag))
		b, err := os.ReadFile(p)
		must(t, err)
		archives = append(archives, b)
	}
	for i := range digests {
		if digests[i] != digests[0] {
			t.Errorf("build %d: digest %s, build 0: %s", i, digests[i], digests[0])
		}
		if !bytes.Equal(archives[i], archives[0]) {
			t.Errorf("build %d: the docker archive differs", i)
		}
	}
}

func TestCache(t *testing.T) {
	s := newFakeStore(t, 4, 100)
	tr, g := s.tree(t)
	cache := t.TempDir()
	first := build(t, tr, Options{References: g.References(), CacheDir: cache})
	if first.Compressed != len(s.items)+1 || first.Reused != 0 {
		t.Fatalf("first build: %d compressed, %d reused", first.Compressed, first.Reused)
	}
	second := build(t, tr, Options{References: g.References(), CacheDir: cache})
	// Only the last layer (generated files) is compressed again.
	if second.Compressed != 1 || second.Reused != len(s.items) {
		t.Errorf("second build: %d compressed, %d reused; want 1 and %d", second.Compressed, second.Reused, len(s.items))
	}
	d1, _ := first.Digest()
	d2, _ := second.Digest()
	if d1 != d2 {
		t.Errorf("digests differ: %s %s", d1, d2)
	}
	must(t, validate.Image(second))

	// Another image sharing libc and item001: a tree of item001 only.
	g2, tr2 := subTree(t, s.items[1])
	third := build(t, tr2, Options{References: g2.References(), CacheDir: cache})
	if third.Reused != 2 || third.Compressed != 1 {
		t.Errorf("image of %s: %d compressed, %d reused; want 1 and 2", s.items[1], third.Compressed, third.Reused)
	}
	// zstd is cached apart from gzip.
	z := build(t, tr, Options{References: g.References(), CacheDir: cache, Compression: compress.Zstd})
	if z.Reused != 0 {
		t.Errorf("zstd build reused %d gzip blobs", z.Reused)
	}
	// validate.Image reads layers as gzip only: check the zstd blobs by
	// hand.
	must(t, validate.Image(z, validate.Fast))
	checkLayerHashes(t, z)
	layers, _ := z.Image.Layers()
	if mt, _ := layers[0].MediaType(); mt != types.OCILayerZStd {
		t.Errorf("zstd layer media type %s", mt)
	}

	// A damaged cache entry (blob cut short) is rebuilt, not used.
	key := cacheKey(tr, &layerPlan{items: []string{s.items[0]}, entries: planLayers(tr, 100, nil)[0].entries}, compress.Fingerprint(compress.Gzip, 0))
	must(t, os.Truncate(filepath.Join(cache, key+".blob"), 10))
	fourth := build(t, tr, Options{References: g.References(), CacheDir: cache})
	if fourth.Compressed != 2 {
		t.Errorf("after damaging one blob: %d compressed, want 2", fourth.Compressed)
	}
	if d4, _ := fourth.Digest(); d4 != d1 {
		t.Errorf("digest after repair %s, want %s", d4, d1)
	}
}

func TestMerge(t *testing.T) {
	s := newFakeStore(t, 200, 1)
	tr, g := s.tree(t)
	im := build(t, tr, Options{References: g.References(), MaxLayers: 3})
	if len(im.Info) != 3 {
		t.Fatalf("%d layers, want 3", len(im.Info))
	}
	// libc is needed by all 199 others: it keeps its own layer.
	if got := im.Info[0].Items; len(got) != 1 || got[0] != s.items[0] {
		t.Errorf("own layer holds %v, want libc", got)
	}
	if n := len(im.Info[1].Items); n != 199 {
		t.Errorf("merged layer holds %d items, want 199", n)
	}
	if im.Info[2].Items != nil {
		t.Errorf("last layer holds items %v", im.Info[2].Items)
	}
	must(t, validate.Image(im))

	// Without references, the largest item keeps its own layer: libc,
	// which holds a copy of /bin/true.
	bySize := build(t, tr, Options{MaxLayers: 4})
	if got := bySize.Info[0].Items; len(got) != 1 || got[0] != s.items[0] {
		t.Errorf("size heuristic: first own layer holds %v, want the largest item %s", got, s.items[0])
	}
	// The next largest is the last item, whose payload is the largest.
	if got := bySize.Info[1].Items; len(got) != 1 || got[0] != s.items[199] {
		t.Errorf("size heuristic: second own layer holds %v, want %s", got, s.items[199])
	}
	// MaxLayers 2: all items in one layer.
	two := build(t, tr, Options{MaxLayers: 2})
	if len(two.Info) != 2 || len(two.Info[0].Items) != 200 {
		t.Errorf("max layers 2: %d layers", len(two.Info))
	}
}

func TestErrors(t *testing.T) {
	s := newFakeStore(t, 2, 1)
	tr, _ := s.tree(t)
	ctx := context.Background()
	for _, c := range []struct {
		name string
		opts Options
		want string
	}{
		{"max layers 1", Options{MaxLayers: 1}, "at least 2 layers"},
		{"unknown arch", Options{Arch: "vax"}, `architecture "vax" is unknown`},
		{"compression", Options{Compression: compress.Xz}, "gzip or zstd"},
		{"level", Options{Level: 30}, "takes 1 to 9"},
	} {
		opts := c.opts
		opts.NoCache = true
		_, err := Build(ctx, tr, opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	for _, bad := range []string{"Hello:latest", "hello:la test", "hello:", "hel@lo"} {
		if _, err := ParseTag(bad, tr); err == nil || !strings.Contains(err.Error(), "image tag") {
			t.Errorf("tag %q: error %v", bad, err)
		}
	}
	if tag, err := ParseTag("", tr); err != nil || tag.String() != "app-1.0:latest" {
		t.Errorf("default tag %v, %v", tag, err)
	}
	if got := DefaultTag(&pack.Tree{Roots: []string{"/gnu/store/" + strings.Repeat("a", 32) + "-GTK+-3.24"}}); got != "gtk--3.24:latest" {
		t.Errorf("default tag of gtk+: %q", got)
	}

	// An ELF file of an unknown machine gives an error that says what to
	// do; no ELF at all too.
	hdr := append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 32)...)
	hdr[18], hdr[19] = 0x34, 0x12
	arch := &pack.Tree{Store: "/s", Items: []string{"/s/x"}, Roots: []string{"/s/x"}, Entries: []pack.Entry{
		{Path: "s", Kind: pack.Dir, Mode: 0o755},
		{Path: "s/x", Kind: pack.File, Mode: 0o555, Size: int64(len(hdr)), Data: hdr},
	}}
	if _, err := Build(ctx, arch, Options{NoCache: true}); err == nil || !strings.Contains(err.Error(), "unknown architecture") || !strings.Contains(err.Error(), "--arch") {
		t.Errorf("unknown ELF machine: %v", err)
	}
	arch.Entries[1].Data = bytes.Repeat([]byte("x"), 40)
	arch.Entries[1].Size = 40
	if _, err := Build(ctx, arch, Options{NoCache: true}); err == nil || !strings.Contains(err.Error(), "no ELF file") {
		t.Errorf("no ELF: %v", err)
	}
	im, err := Build(ctx, arch, Options{NoCache: true, Arch: "arm64"})
	must(t, err)
	defer im.Close()
	if cf, _ := im.ConfigFile(); cf.Architecture != "arm64" {
		t.Errorf("explicit arch: %s", cf.Architecture)
	}
	must(t, validate.Image(im))
}

func TestElfArch(t *testing.T) {
	for _, c := range []struct {
		class, data byte
		machine     uint16
		want        string
	}{
		{2, 1, 62, "amd64"}, {2, 1, 183, "arm64"}, {1, 1, 3, "386"}, {1, 1, 40, "arm"},
		{2, 1, 243, "riscv64"}, {2, 1, 21, "ppc64le"}, {2, 2, 21, "ppc64"}, {2, 2, 22, "s390x"},
	} {
		h := append([]byte{0x7f, 'E', 'L', 'F', c.class, c.data}, make([]byte, 20)...)
		if c.data == 2 {
			h[18], h[19] = byte(c.machine>>8), byte(c.machine)
		} else {
			h[18], h[19] = byte(c.machine), byte(c.machine>>8)
		}
		got, ok, err := pack.ELFArch(h)
		if !ok || err != nil || got != c.want {
			t.Errorf("machine %d: %q %v %v, want %s", c.machine, got, ok, err, c.want)
		}
	}
}

func TestCancel(t *testing.T) {
	s := newFakeStore(t, 3, 100)
	tr, _ := s.tree(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Build(ctx, tr, Options{CacheDir: t.TempDir()}); err == nil {
		t.Fatal("a cancelled build succeeded")
	}
}

// checkLayerHashes recomputes every layer's digest, size and diff_id from
// its blob.
func checkLayerHashes(t *testing.T, img v1.Image) {
	t.Helper()
	layers, err := img.Layers()
	must(t, err)
	for i, l := range layers {
		rc, err := l.Compressed()
		must(t, err)
		d, n, err := v1.SHA256(rc)
		rc.Close()
		must(t, err)
		want, _ := l.Digest()
		size, _ := l.Size()
		if d != want || n != size {
			t.Errorf("layer %d: blob %s (%d bytes), manifest says %s (%d)", i, d, n, want, size)
		}
		rc, err = l.Uncompressed()
		must(t, err)
		d, _, err = v1.SHA256(rc)
		rc.Close()
		must(t, err)
		if want, _ := l.DiffID(); d != want {
			t.Errorf("layer %d: tar %s, diff_id %s", i, d, want)
		}
	}
}

// TestCheckLayout: what may be at a layout's path, decided before any work.
func TestCheckLayout(t *testing.T) {
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, "file"), nil, 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "empty"), 0o755))
	must(t, os.MkdirAll(filepath.Join(dir, "other"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "other", "x"), nil, 0o644))
	must(t, os.MkdirAll(filepath.Join(dir, "layout"), 0o755))
	must(t, os.WriteFile(filepath.Join(dir, "layout", "oci-layout"), nil, 0o644))
	for _, tc := range []struct {
		name, want string
	}{
		{"new", ""},
		{"empty", ""},
		{"layout", ""},
		{"file", "is not a directory"},
		{"other", "not an OCI layout"},
		{"missing/new", "does not exist"},
	} {
		err := CheckLayout(filepath.Join(dir, tc.name))
		if (tc.want == "") != (err == nil) || err != nil && !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 4 {
		t.Errorf("CheckLayout left %d entries, want the 4 made here", len(ents))
	}

	// A layout half written by a run killed with SIGKILL is removed by
	// the next check of that output.
	dead := exec.Command("true")
	must(t, dead.Run())
	stale := filepath.Join(dir, ".img.oci.tmp-"+strconv.Itoa(dead.Process.Pid)+"-42")
	must(t, os.MkdirAll(filepath.Join(stale, "blobs", "sha256"), 0o755))
	must(t, CheckLayout(filepath.Join(dir, "img.oci")))
	if _, err := os.Lstat(stale); err == nil {
		t.Errorf("CheckLayout left the killed run's %s", stale)
	}
}

// TestCacheKey: the key covers the compression's fingerprint, so blobs made
// with other block parameters (or another library version) are not reused.
func TestCacheKey(t *testing.T) {
	s := newFakeStore(t, 2, 10)
	tr, _ := s.tree(t)
	p := &planLayers(tr, 100, nil)[0]
	gz := compress.Fingerprint(compress.Gzip, 0)
	if cacheKey(tr, p, gz) != cacheKey(tr, p, gz) {
		t.Error("one layer, two keys")
	}
	for _, other := range []string{
		strings.Replace(gz, "block 1048576", "block 524288", 1),
		compress.Fingerprint(compress.Gzip, 8),
		compress.Fingerprint(compress.Zstd, 0),
	} {
		if other == gz || cacheKey(tr, p, other) == cacheKey(tr, p, gz) {
			t.Errorf("fingerprints %q and %q give one key", gz, other)
		}
	}
}

// TestCacheStale: what a killed build left in the cache (its blob
// directory, half-written blobs and records) is removed by the next build;
// what a live build holds is not.
func TestCacheStale(t *testing.T) {
	s := newFakeStore(t, 3, 10)
	tr, g := s.tree(t)
	cache := t.TempDir()
	stale := []string{".tmp-123456", ".0123abcd.blob.tmp-42", ".0123abcd.json.tmp-7", ".layer-99.tmp", ".meta-3.tmp"}
	keep := []string{"0123abcd.blob", "0123abcd.json", ".hidden"}
	makeAll := func(names []string) {
		for _, n := range names {
			if strings.HasPrefix(n, ".tmp-") {
				must(t, os.MkdirAll(filepath.Join(cache, n, "sub"), 0o755))
				must(t, os.WriteFile(filepath.Join(cache, n, "sub", "0.blob"), []byte("x"), 0o644))
				continue
			}
			must(t, os.WriteFile(filepath.Join(cache, n), []byte("x"), 0o644))
		}
	}
	exists := func(n string) bool { _, err := os.Lstat(filepath.Join(cache, n)); return err == nil }

	// Another build holds the lock: nothing may be removed.
	makeAll(append(stale, keep...))
	live, err := os.OpenFile(filepath.Join(cache, cacheLockName), os.O_RDWR|os.O_CREATE, 0o644)
	must(t, err)
	must(t, unix.Flock(int(live.Fd()), unix.LOCK_SH))
	im := build(t, tr, Options{References: g.References(), CacheDir: cache})
	for _, n := range stale {
		if !exists(n) {
			t.Errorf("%s was removed while another build held the cache", n)
		}
	}
	im.Close()
	live.Close()

	// An image not yet closed is a live build too.
	first := build(t, tr, Options{References: g.References(), CacheDir: cache})
	second := build(t, tr, Options{References: g.References(), CacheDir: cache})
	if _, err := os.Stat(first.tmp); err != nil {
		t.Fatalf("a second build removed the first one's blobs: %v", err)
	}
	dir := t.TempDir()
	tag, _ := ParseTag("", tr)
	must(t, WriteDocker(context.Background(), filepath.Join(dir, "first.tar"), first, tag))
	first.Close()
	second.Close()

	// Alone, a build removes every leftover, and only those.
	third := build(t, tr, Options{References: g.References(), CacheDir: cache})
	defer third.Close()
	for _, n := range stale {
		if exists(n) {
			t.Errorf("%s, left by a killed build, is still there", n)
		}
	}
	for _, n := range append(keep, cacheLockName) {
		if !exists(n) {
			t.Errorf("%s was removed", n)
		}
	}
}
