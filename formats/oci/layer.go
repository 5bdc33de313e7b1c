package oci

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/partial"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/tarball"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/pack"
)

// layerFormat names the rules by which a layer's tar is made from its
// entries. It is part of every cache key: change it whenever the bytes of a
// layer could change for the same items (tar header rules, the parents
// repeated in each layer), so that old cache entries are never reused.
const layerFormat = "gpack-layer-1"

// blobLayer is a finished layer blob on disk whose digest, diff_id and size
// were computed while it was written. It is the partial.CompressedLayer
// core (with the optional DiffID) of the image's v1.Layer, so nothing is
// compressed or hashed again when the image is written.
type blobLayer struct {
	path      string
	digest    v1.Hash
	diffID    v1.Hash
	size      int64
	mediaType types.MediaType
	// cached is set for a blob found in the cache, whose bytes are
	// checked against digest as they are read; damaged is set when they
	// do not match. what names the layer for messages.
	cached  bool
	damaged atomic.Bool
	what    string
}

func (l *blobLayer) Digest() (v1.Hash, error) { return l.digest, nil }
func (l *blobLayer) DiffID() (v1.Hash, error) { return l.diffID, nil }
func (l *blobLayer) Size() (int64, error)     { return l.size, nil }
func (l *blobLayer) MediaType() (types.MediaType, error) {
	return l.mediaType, nil
}

// Compressed opens the blob. A blob from the cache is hashed as it is
// read, and a read that reaches its size with another digest fails: the
// cache is a directory of files anyone may damage (a disk error, a
// careless edit), and a damaged blob must not reach an image.
func (l *blobLayer) Compressed() (io.ReadCloser, error) {
	f, err := os.Open(l.path)
	if err != nil {
		return nil, fmt.Errorf("opening layer %s: %w", l.digest, err)
	}
	if !l.cached {
		return f, nil
	}
	return &verifyingReader{f: f, l: l, h: sha256.New()}, nil
}

// errDamaged is the error of a read of a damaged cached blob.
var errDamaged = errors.New("damaged in the layer cache")

// verifyingReader hashes a cached blob as it is read and checks the digest
// once the blob's size has been read.
type verifyingReader struct {
	f *os.File
	l *blobLayer
	h hash.Hash
	n int64
}

func (r *verifyingReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.h.Write(p[:n])
	r.n += int64(n)
	if r.n > r.l.size || (r.n == r.l.size || err == io.EOF) && sha256Hash(r.h) != r.l.digest {
		r.l.damaged.Store(true)
		return n, fmt.Errorf("layer %s (%s): %w", r.l.digest, r.l.path, errDamaged)
	}
	return n, err
}

func (r *verifyingReader) Close() error { return r.f.Close() }

// check hashes the whole blob: whether it is what its record says.
func (l *blobLayer) check() bool {
	f, err := os.Open(l.path)
	if err != nil {
		return false
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	return err == nil && n == l.size && sha256Hash(h) == l.digest
}

// layer returns l as a v1.Layer; Uncompressed decompresses the blob.
func (l *blobLayer) layer() v1.Layer {
	vl, _ := partial.CompressedToLayer(l) // never fails
	return vl
}

var _ partial.CompressedLayer = (*blobLayer)(nil)
var _ partial.WithDiffID = (*blobLayer)(nil)

// blobStore is where layer blobs are written: the cache (cache != "") for
// item layers, and a temporary directory for the last layer, and for all
// layers when the cache is off.
type blobStore struct {
	cache string
	tmp   string
}

// layerMeta is the cache's record of a blob.
type layerMeta struct {
	Digest    string          `json:"digest"`
	DiffID    string          `json:"diff_id"`
	Size      int64           `json:"size"`
	MediaType types.MediaType `json:"media_type"`
	Items     []string        `json:"items"`
}

// DefaultCacheDir is the layer cache's default directory:
// $XDG_CACHE_HOME/gpack/layers, or ~/.cache/gpack/layers.
func DefaultCacheDir() (string, error) {
	d, err := os.UserCacheDir()
	if err != nil {
		return "", err // "neither $XDG_CACHE_HOME nor $HOME are defined"
	}
	return filepath.Join(d, "gpack", "layers"), nil
}

// layer returns the blob of p, the index-th layer: from the cache when it
// is there, otherwise written in one pass.
func (s *blobStore) layer(ctx context.Context, t *pack.Tree, p *layerPlan, index int, opts Options, mt types.MediaType, prog pack.Progress) (*blobLayer, error) {
	path := filepath.Join(s.tmp, strconv.Itoa(index)+".blob")
	key := ""
	if s.cache != "" && !p.last {
		key = cacheKey(t, p, compress.Fingerprint(opts.Compression, opts.Level))
		path = filepath.Join(s.cache, key+".blob")
		if l, ok := s.lookup(key, mt); ok {
			l.what = p.describe()
			prog.Add(p.files, p.bytes)
			prog.Wrote(l.size)
			return l, nil
		}
	}
	l, err := writeLayer(ctx, t, p, opts, mt, path, prog)
	if err != nil {
		return nil, err
	}
	if key != "" {
		// The record goes in after the blob, so a record never names a
		// blob that is not complete.
		m := layerMeta{Digest: l.digest.String(), DiffID: l.diffID.String(), Size: l.size, MediaType: mt, Items: p.items}
		data, err := json.Marshal(m)
		if err != nil {
			return nil, fmt.Errorf("oci: encoding the cache record of %s: %w", p.describe(), err)
		}
		err = atomicfile.WriteFile(ctx, filepath.Join(s.cache, key+".json"), func(w io.Writer) error {
			_, err := w.Write(data)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("oci: layer cache: %w", err)
		}
	}
	return l, nil
}

// writeLayer writes p's tar once: the tar stream goes to the diff_id hash
// and the compressor, whose output goes to the digest hash and the blob
// file at path, written atomically.
func writeLayer(ctx context.Context, t *pack.Tree, p *layerPlan, opts Options, mt types.MediaType, path string, prog pack.Progress) (*blobLayer, error) {
	f, err := atomicfile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("oci: creating a layer blob: %w", err)
	}
	defer f.Abort()
	diffID, digest := sha256.New(), sha256.New()
	out := &countWriter{w: pack.ProgressWriter(io.MultiWriter(digest, f), prog)}
	cw, err := compress.NewWriter(out, opts.Compression, compress.Options{Level: opts.Level})
	if err != nil {
		return nil, fmt.Errorf("oci: %w", err)
	}
	sub := &pack.Tree{Entries: p.entries, Store: t.Store, Mtime: t.Mtime}
	// tarball.Write with no compression gives exactly the tarball's
	// headers (GNU format, ./names, root, the tree's mtime), so layers
	// and tarballs follow one set of rules.
	err = tarball.Write(ctx, io.MultiWriter(diffID, cw), sub, tarball.Options{Compression: compress.None, Progress: prog})
	if cerr := cw.Close(); err == nil && cerr != nil {
		err = cerr // it says what failed, the compressor's name too
	}
	if err != nil {
		return nil, fmt.Errorf("oci: layer of %s: %w", p.describe(), err)
	}
	if err := f.Commit(); err != nil {
		return nil, fmt.Errorf("oci: writing layer: %w", err)
	}
	return &blobLayer{
		path:      path,
		digest:    sha256Hash(digest),
		diffID:    sha256Hash(diffID),
		size:      out.n,
		mediaType: mt,
	}, nil
}

func sha256Hash(h hash.Hash) v1.Hash {
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(h.Sum(nil))}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// lookup returns the cached blob of key if its record and blob are both
// there and agree.
func (s *blobStore) lookup(key string, mt types.MediaType) (*blobLayer, bool) {
	data, err := os.ReadFile(filepath.Join(s.cache, key+".json"))
	if err != nil {
		return nil, false
	}
	var m layerMeta
	if json.Unmarshal(data, &m) != nil || m.MediaType != mt {
		return nil, false
	}
	digest, err1 := v1.NewHash(m.Digest)
	diffID, err2 := v1.NewHash(m.DiffID)
	if err1 != nil || err2 != nil {
		return nil, false
	}
	blob := filepath.Join(s.cache, key+".blob")
	fi, err := os.Stat(blob)
	if err != nil || !fi.Mode().IsRegular() || fi.Size() != m.Size {
		return nil, false
	}
	return &blobLayer{path: blob, digest: digest, diffID: diffID, size: m.Size, mediaType: mt, cached: true}, true
}

// cacheKey names the blob of an item layer by everything its bytes depend
// on: the layer format, the compression (compress.Fingerprint: compressor,
// level, gpack's block parameters and the library version), the mtime, the
// store directory with the modes of its parents, and the store paths. A
// store path stands for its content: an item never changes once it is in
// the store.
func cacheKey(t *pack.Tree, p *layerPlan, compression string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n%s\nmtime %d\nstore %s\n", layerFormat, compression, t.Mtime.UnixNano(), t.Store)
	storeRel := strings.TrimPrefix(t.Store, "/")
	for _, e := range p.entries {
		if e.Path == storeRel || strings.HasPrefix(storeRel, e.Path+"/") {
			b.WriteString("parent " + e.Path + " " + strconv.FormatUint(uint64(e.Mode), 8) + "\n")
		}
	}
	for _, it := range p.items {
		b.WriteString("item " + it + "\n")
	}
	sum := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(sum[:])
}
