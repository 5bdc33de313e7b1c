package oci

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// DefaultMaxLayers is the default Options.MaxLayers: Nix's dockerTools and
// guix pack use 100, safely below the ~127 layers at which Docker's overlay2
// driver fails to mount an image.
const DefaultMaxLayers = 100

// Compressors are the compressors of image layers, the default first:
// gzip, which every image consumer reads, and zstd (the OCI zstd media
// type), with the levels of compress.Streams.
var Compressors = []compress.Compressor{stream(compress.Gzip), stream(compress.Zstd)}

func stream(a compress.Algo) compress.Compressor {
	c, _ := compress.Find(compress.Streams, a)
	return c
}

// Options say how Build makes the image. The zero value means the defaults.
type Options struct {
	// Compression is one of Compressors: compress.Gzip (the default) or
	// compress.Zstd, which gives OCI zstd layers
	// (application/vnd.oci.image.layer.v1.tar+zstd).
	Compression compress.Algo
	// Level is the compression level, within the compressor's Levels in
	// Compressors; 0 means its Default.
	Level int
	// MaxLayers bounds the number of layers, the last one included; 0
	// means DefaultMaxLayers. Less than 2 is an error: the items need one
	// layer and the rest of the tree another.
	MaxLayers int
	// References maps each item of the tree to the items it references
	// directly (closure.Graph.References gives it). It decides which
	// items keep their own layer when there are too many; nil falls back
	// to item sizes (see planLayers).
	References map[string][]string
	// Arch is the image's architecture as a GOARCH name (amd64, arm64,
	// ...); "" reads it from the first ELF file of the closure.
	Arch string
	// Entrypoint and Cmd go into the image config. A relative
	// Entrypoint[0] is taken relative to the first root item (the
	// profile), as --entry-point is.
	Entrypoint []string
	Cmd        []string
	// Env is added to the config's environment after PATH; a PATH=
	// entry here replaces gpack's.
	Env []string
	// Labels are added to the config's labels and the manifest's
	// annotations, over gpack's own.
	Labels map[string]string
	// CacheDir is the layer cache; "" means DefaultCacheDir(). NoCache
	// turns the cache off: blobs then go to a temporary directory that
	// Image.Close removes. A cache that cannot be used (no HOME, a
	// read-only directory) is as NoCache, with a warning in
	// Image.Warnings.
	CacheDir string
	NoCache  bool
	// Jobs is how many layers are compressed at once; 0 means
	// GOMAXPROCS. The image does not depend on it.
	Jobs int
	// Progress receives the content of each layer as it is read (all at
	// once for a layer found in the cache), and the compressed bytes as
	// they are written; nil means none.
	Progress pack.Progress
}

// LayerInfo describes one layer of a built image.
type LayerInfo struct {
	// Items are the store items in the layer, sorted; none for the last
	// layer, which holds the rest of the tree.
	Items  []string
	Digest v1.Hash // of the compressed blob
	DiffID v1.Hash // of the uncompressed tar
	Size   int64   // of the compressed blob
	// Cached is true when the blob came from the cache and nothing was
	// compressed.
	Cached bool
}

// Image is a built image: a v1.Image whose layers are blobs on disk. Close
// it when it has been written, to remove blobs that are not in the cache.
type Image struct {
	v1.Image
	// Info describes the layers, bottom first.
	Info []LayerInfo
	// Compressed and Reused count the layers compressed by this build
	// and the layers taken from the cache.
	Compressed, Reused int
	// Warnings are for the user: a cache that could not be used.
	Warnings []string
	layers   []*blobLayer
	tmp      string     // temporary blob directory, or ""
	lock     *cacheLock // the cache's lock, held until Close
}

// Close removes the image's temporary blobs (the last layer, and every
// layer without the cache) and lets go of the cache. The image cannot be
// written after Close.
func (im *Image) Close() error {
	defer im.lock.unlock()
	if im.tmp == "" {
		return nil
	}
	err := os.RemoveAll(im.tmp)
	im.tmp = ""
	if err != nil {
		return fmt.Errorf("removing temporary layers: %w", err)
	}
	return nil
}

// Build makes the image of t. The layers are written (or found in the cache)
// before Build returns, so writing the image reads finished blobs.
func Build(ctx context.Context, t *pack.Tree, opts Options) (*Image, error) {
	if err := pack.Validate(t); err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	if len(t.Items) == 0 || len(t.Roots) == 0 {
		return nil, fmt.Errorf("oci: the tree has no store items")
	}
	if opts.Compression == "" {
		opts.Compression = Compressors[0].Algo
	}
	c, found := compress.Find(Compressors, opts.Compression)
	if !found {
		return nil, fmt.Errorf("oci: compression %s: image layers are %s", opts.Compression, compress.List(compress.AlgosOf(Compressors)))
	}
	level, err := c.Level(opts.Level)
	if err != nil {
		return nil, fmt.Errorf("oci: compression level %d: %w", opts.Level, err)
	}
	opts.Level = level
	mt := types.OCILayer
	if opts.Compression == compress.Zstd {
		mt = types.OCILayerZStd
	}
	if opts.MaxLayers == 0 {
		opts.MaxLayers = DefaultMaxLayers
	}
	if opts.MaxLayers < 2 {
		return nil, fmt.Errorf("oci: max layers %d: an image needs at least 2 layers, one for the store items and one for the rest", opts.MaxLayers)
	}
	if opts.Jobs <= 0 {
		opts.Jobs = runtime.GOMAXPROCS(0)
	}
	if opts.Progress == nil {
		opts.Progress = pack.NoProgress{}
	}
	arch := opts.Arch
	if arch == "" {
		var err error
		if arch, err = detectArch(t); err != nil {
			return nil, err
		}
	} else if !knownArch[arch] {
		return nil, fmt.Errorf("oci: architecture %q is unknown: use a GOARCH name such as amd64, arm64, 386, arm, ppc64le, riscv64 or s390x", arch)
	}

	plan := planLayers(t, opts.MaxLayers, opts.References)
	store := &blobStore{}
	im := &Image{}
	if !opts.NoCache {
		dir, lock, tmp, err := openCache(opts.CacheDir)
		if err != nil {
			im.Warnings = append(im.Warnings, fmt.Sprintf("warning: the layer cache cannot be used (%v): "+
				"every layer is compressed and none is kept; --no-cache says so without this warning", err))
		} else {
			store.cache, store.tmp, im.lock = dir, tmp, lock
		}
	}
	if store.tmp == "" {
		tmp, err := os.MkdirTemp("", "gpack-layers-")
		if err != nil {
			return nil, fmt.Errorf("oci: temporary layer directory: %w", err)
		}
		store.tmp = tmp
	}
	im.tmp = store.tmp
	ok := false
	defer func() {
		if !ok {
			im.Close()
		}
	}()

	layers, err := buildLayers(ctx, t, plan, store, opts, mt)
	if err != nil {
		return nil, err
	}
	img, err := assemble(t, plan, layers, opts, arch)
	if err != nil {
		return nil, err
	}
	im.Image = img
	im.layers = layers
	for i, l := range layers {
		im.Info = append(im.Info, LayerInfo{Items: plan[i].items, Digest: l.digest, DiffID: l.diffID, Size: l.size, Cached: l.cached})
		if l.cached {
			im.Reused++
		} else {
			im.Compressed++
		}
	}
	ok = true
	return im, nil
}

// Damaged says whether a write of the image read a blob of the cache that
// did not match its digest; such a write failed.
func (im *Image) Damaged() bool {
	for _, l := range im.layers {
		if l.damaged.Load() {
			return true
		}
	}
	return false
}

// DropDamaged removes from the cache every blob of the image whose bytes
// do not match its digest, hashing each cached blob in full, and returns a
// warning for each; a build after it compresses those layers again.
func (im *Image) DropDamaged() []string {
	var warnings []string
	for _, l := range im.layers {
		if !l.cached || l.check() {
			continue
		}
		os.Remove(strings.TrimSuffix(l.path, ".blob") + ".json")
		os.Remove(l.path)
		warnings = append(warnings, fmt.Sprintf("warning: the layer cache's blob of %s (%s) did not match its digest %s: "+
			"removed it and compressed the layer again", l.what, l.path, l.digest))
	}
	return warnings
}

// openCache makes the layer cache dir ("" for DefaultCacheDir()) ready
// for a build: it exists, its lock is held, and it takes the build's
// temporary blob directory. The last layer (and every layer without the
// cache) is not worth caching: it holds generated files that change with
// the options. Its blob goes beside the cache, which is on a disk, where
// $TMPDIR may be a small tmpfs.
func openCache(dir string) (string, *cacheLock, string, error) {
	if dir == "" {
		d, err := DefaultCacheDir()
		if err != nil {
			return "", nil, "", err
		}
		dir = d
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", nil, "", err
	}
	lock, err := lockCache(dir)
	if err != nil {
		return "", nil, "", err
	}
	tmp, err := os.MkdirTemp(dir, ".tmp-")
	if err != nil {
		lock.unlock()
		return "", nil, "", err
	}
	return dir, lock, tmp, nil
}

// buildLayers writes (or finds in the cache) the blob of every planned
// layer, Jobs at a time. Results are kept by layer index, so the image does
// not depend on which worker finishes first.
func buildLayers(ctx context.Context, t *pack.Tree, plan []layerPlan, store *blobStore, opts Options, mt types.MediaType) ([]*blobLayer, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	prog := &syncProgress{p: opts.Progress}
	layers := make([]*blobLayer, len(plan))
	errs := make([]error, len(plan))
	sem := make(chan struct{}, opts.Jobs)
	var wg sync.WaitGroup
	// Start the largest layers first so that a big item does not run
	// alone at the end; the order of work never shows in the output.
	order := make([]int, len(plan))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return plan[order[a]].bytes > plan[order[b]].bytes })
	for _, i := range order {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			l, err := store.layer(ctx, t, &plan[i], i, opts, mt, prog)
			if err != nil {
				errs[i] = err
				cancel()
				return
			}
			layers[i] = l
		}()
	}
	wg.Wait()
	// Report a layer's own failure rather than the cancellations it
	// caused in the others.
	var first error
	for _, err := range errs {
		if err != nil && (first == nil || isCanceled(first) && !isCanceled(err)) {
			first = err
		}
	}
	if first != nil {
		return nil, first
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return layers, nil
}

// assemble makes the image from its layers and config.
func assemble(t *pack.Tree, plan []layerPlan, layers []*blobLayer, opts Options, arch string) (v1.Image, error) {
	created := v1.Time{Time: t.Mtime.UTC()}
	img := mutate.MediaType(empty.Image, types.OCIManifestSchema1)
	img = mutate.ConfigMediaType(img, types.OCIConfigJSON)
	adds := make([]mutate.Addendum, len(layers))
	for i, l := range layers {
		adds[i] = mutate.Addendum{
			Layer:     l.layer(),
			MediaType: l.mediaType,
			History: v1.History{
				Created:   created,
				CreatedBy: "gpack: " + plan[i].describe(),
				Comment:   plan[i].comment(t.Store),
			},
		}
	}
	img, err := mutate.Append(img, adds...)
	if err != nil {
		return nil, fmt.Errorf("oci: appending layers: %w", err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, fmt.Errorf("oci: reading the config: %w", err)
	}
	cf = cf.DeepCopy()
	cf.Architecture = arch
	cf.OS = "linux"
	cf.Created = created
	cf.Author = "gpack"
	profile := t.Profile
	if profile == "" {
		profile = t.Roots[0]
	}
	cf.Config.Env = environment(profile, opts.Env)
	if len(opts.Entrypoint) > 0 {
		ep := append([]string(nil), opts.Entrypoint...)
		if !strings.HasPrefix(ep[0], "/") {
			ep[0] = path.Join(profile, ep[0])
		}
		cf.Config.Entrypoint = ep
	}
	cf.Config.Cmd = append([]string(nil), opts.Cmd...)
	labels := imageLabels(t)
	for k, v := range opts.Labels {
		labels[k] = v
	}
	cf.Config.Labels = labels
	img, err = mutate.ConfigFile(img, cf)
	if err != nil {
		return nil, fmt.Errorf("oci: setting the config: %w", err)
	}
	// mutate.Annotations returns an image when given one.
	return mutate.Annotations(img, labels).(v1.Image), nil
}

// DefaultPath is the PATH that follows the profile's bin and sbin: the one
// Docker's own images and most base images use.
const DefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// environment is the config's Env: PATH with the profile's programs first,
// then extra (whose own PATH, if any, wins).
func environment(profile string, extra []string) []string {
	env := []string{"PATH=" + profile + "/bin:" + profile + "/sbin:" + DefaultPath}
	for _, e := range extra {
		if strings.HasPrefix(e, "PATH=") {
			env[0] = e
			continue
		}
		env = append(env, e)
	}
	return env
}

// Label keys gpack sets besides the org.opencontainers.image ones.
const (
	// LabelRoots lists the closure's root items, space-separated: what
	// the image was asked to hold.
	LabelRoots = "org.gpack.roots"
	// LabelStore is the store directory of the items.
	LabelStore = "org.gpack.store"
)

// imageLabels are the labels and manifest annotations gpack sets: the
// org.opencontainers.image keys that apply, and the root items.
func imageLabels(t *pack.Tree) map[string]string {
	roots := append([]string(nil), t.Roots...)
	sort.Strings(roots)
	return map[string]string{
		"org.opencontainers.image.created":     t.Mtime.UTC().Format(time.RFC3339),
		"org.opencontainers.image.title":       ItemName(t.Roots[0]),
		"org.opencontainers.image.description": "gpack image of " + strings.Join(roots, " "),
		LabelRoots:                             strings.Join(roots, " "),
		LabelStore:                             t.Store,
	}
}

// ItemName is an item's name without its store directory and hash:
// "/gnu/store/<hash>-hello-2.12" gives "hello-2.12".
func ItemName(item string) string {
	base := filepath.Base(item)
	if _, name, ok := strings.Cut(base, "-"); ok && name != "" {
		return name
	}
	return base
}

// syncProgress lets the layer workers share one pack.Progress, which need
// not be safe for concurrent use.
type syncProgress struct {
	mu sync.Mutex
	p  pack.Progress
}

func (s *syncProgress) Add(files int, bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.Add(files, bytes)
}

func (s *syncProgress) Wrote(bytes int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.p.Wrote(bytes)
}

func isCanceled(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}
