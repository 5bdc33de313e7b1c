package appimage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"io"
	"math"
	"path"
	"regexp"
	"strings"
	"time"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/appimage/layout"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/launcher/launcherbin"
	"github.com/gpack/gpack/pack"
)

// Format is gpack pack -f appimage.
var Format formats.Format = format{}

type format struct{}

func (format) Name() string { return "appimage" }

func (format) Extensions() []formats.Extension {
	return []formats.Extension{{Suffix: ".AppImage"}}
}

// Compressors are squashfs's, the image being one, gzip the default. A
// mount of the image starts with nothing cached, and zstd decompresses
// about twice as fast: on the 2-core VM, bench/appimage.sh (100 runs)
// measured the test store's hello, each run on a mount of its own, at
// 49.9 ms over direct with gzip and 26.6 ms with zstd, before the runtime
// spared the kernel's requests (32.6 ms with gzip after); on the mount
// that runs share, 4.4 ms with gzip. gzip stays the default because its
// zlib streams carry a checksum: a damaged block read over FUSE is caught
// (EIO, and the runtime's one line), where a zstd or lz4 block, which
// squashfs stores without one, may read back wrong. An extraction checks
// the image's digest first, whatever the compressor.
func (format) Compressors() []compress.Compressor { return squashfs.Compressors }

// Flags: the image's block size, the entry point AppRun names, and the
// files of desktop integration.
func (format) Flags() []string { return []string{"block-size", "entry-point", "desktop", "icon"} }

// AppRunPath is the link to the entry point's wrapper.
const AppRunPath = "AppRun"

// version ends an item's name: "-2.12", "-1.0rc1".
var version = regexp.MustCompile(`-[0-9][^-]*$`)

// Prepare makes the pack relocatable and adds AppRun.
func (format) Prepare(o *pack.Options, profile string, opts *formats.Options) {
	o.Relocatable = true
	name := path.Base(opts.EntryPoint)
	if opts.EntryPoint == "" {
		name = path.Base(profile)
		if len(name) > 33 && name[32] == '-' {
			name = name[33:] // the hash
		}
		name = version.ReplaceAllString(name, "")
	}
	o.Extra = append(o.Extra, pack.Entry{Path: AppRunPath, Kind: pack.Symlink, Mode: 0o777, Target: "bin/" + name})
	// Desktop integration, as the AppImage specification lays it out:
	// the .desktop file and the icon at the root, .DirIcon leading to
	// the icon.
	if d := opts.AppImage.Desktop; d.Name != "" {
		o.Extra = append(o.Extra, pack.Entry{Path: d.Name, Kind: pack.File, Mode: 0o444, Size: int64(len(d.Data)), Data: d.Data})
	}
	if i := opts.AppImage.Icon; i.Name != "" {
		o.Extra = append(o.Extra, pack.Entry{Path: i.Name, Kind: pack.File, Mode: 0o444, Size: int64(len(i.Data)), Data: i.Data},
			pack.Entry{Path: ".DirIcon", Kind: pack.Symlink, Mode: 0o777, Target: i.Name})
	}
}

func (f format) Check(out string, opts *formats.Options) error {
	if out == formats.Stdout {
		return formats.StdoutRefused(f, "its image's superblock is written last")
	}
	if m := opts.Mtime; !m.IsZero() && (m.Unix() < 0 || m.Unix() > math.MaxUint32) {
		e := usererr.Usagef("SOURCE_DATE_EPOCH=%d: an AppImage's squashfs holds times up to %s", m.Unix(),
			time.Unix(math.MaxUint32, 0).UTC().Format(time.DateOnly))
		e.Fix = "set it to an earlier time"
		return e
	}
	if d := opts.AppImage.Desktop; d.Name != "" {
		if !strings.HasSuffix(d.Name, ".desktop") || !bytes.Contains(d.Data, []byte("[Desktop Entry]")) {
			return usererr.Usagef("--desktop %s: want a .desktop file with a [Desktop Entry] group", d.Name)
		}
	}
	if i := opts.AppImage.Icon; i.Name != "" {
		if ext := path.Ext(i.Name); ext != ".png" && ext != ".svg" || i.Name == ".DirIcon" {
			return usererr.Usagef("--icon %s: want a .png or .svg file", i.Name)
		}
	}
	if bs := opts.BlockSize; bs != 0 && (bs < squashfs.MinBlockSize || bs > squashfs.MaxBlockSize || bs&(bs-1) != 0) {
		return usererr.Usagef("--block-size %d: want a power of two from 4K to 1M", bs)
	}
	return atomicfile.Check(out)
}

func (format) Write(ctx context.Context, t *pack.Tree, out string, opts *formats.Options) (*formats.Result, error) {
	rt, err := runtimeFor(t)
	if err != nil {
		return nil, err
	}
	warn, err := checkAppRun(t, opts.EntryPoint != "")
	if err != nil {
		return nil, err
	}
	size, err := formats.WriteFileMode(ctx, out, 0o755, opts.Progress, func(w formats.File) error {
		return Write(ctx, w, t, rt, squashfs.Options{Compression: opts.Compression, Level: opts.Level,
			BlockSize: opts.BlockSize, Concurrency: opts.Concurrency, Progress: opts.Progress})
	})
	if err != nil {
		return nil, err
	}
	r := &formats.Result{Output: out, Size: size}
	if warn != "" {
		r.Warnings = append(r.Warnings, warn)
	}
	return r, nil
}

// runtimeFor is the runtime for the tree's launcher, prepared for the
// image to follow it.
func runtimeFor(t *pack.Tree) ([]byte, error) {
	arch := t.LauncherArch
	if arch == "" {
		return nil, errors.New("-f appimage: the pack has no launcher (it must be built relocatable)")
	}
	b, err := launcherbin.AppImageRuntime(arch)
	if err != nil {
		return nil, &usererr.Error{What: "-f appimage: " + err.Error(), Err: err}
	}
	return layout.Runtime(b)
}

// checkAppRun checks that AppRun names a wrapper of the manifest. When it
// does not, an entry point the user chose (explicit) is an error, and the
// default one a warning: such an AppImage runs its programs with
// --gpack-run NAME only.
func checkAppRun(t *pack.Tree, explicit bool) (warning string, err error) {
	e := lookup(t, AppRunPath)
	if e == nil || e.Kind != pack.Symlink {
		return "", errors.New("-f appimage: the pack has no AppRun link")
	}
	m, err := manifest(t)
	if err != nil {
		return "", err
	}
	if _, ok := m.Programs[path.Base(e.Target)]; ok {
		return "", nil
	}
	if explicit {
		e := usererr.Usagef("--entry-point: the pack has no wrapper %s (wrappers are made for the bin/ and sbin/ programs of the items given)", e.Target)
		e.Fix = "choose a program of bin/ of an item given"
		return "", e
	}
	return "warning: the AppImage has no entry point (its pack has no " + e.Target + "): it runs its programs " +
		"with --gpack-run NAME only; choose one with --entry-point bin/NAME", nil
}

// lookup returns the entry at p, or nil.
func lookup(t *pack.Tree, p string) *pack.Entry {
	for i := range t.Entries {
		if t.Entries[i].Path == p {
			return &t.Entries[i]
		}
	}
	return nil
}

// manifest reads the tree's launcher manifest.
func manifest(t *pack.Tree) (*contract.Manifest, error) {
	e := lookup(t, contract.ManifestPath)
	if e == nil {
		return nil, errors.New("-f appimage: the pack has no " + contract.ManifestPath)
	}
	r, err := e.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return contract.ParseManifest(r)
}

// Write writes the AppImage of t to w: the runtime rt (as layout.Runtime
// made it), the squashfs image of t written with opts, and the trailer.
// The digest is the SHA-256 of the image's superblock followed by the
// SHA-256 of the rest of the image, so that it is computed as the image
// streams out, superblock last (launcher/appimage checks it the same way).
func Write(ctx context.Context, w formats.File, t *pack.Tree, rt []byte, opts squashfs.Options) error {
	if _, err := w.Write(rt); err != nil {
		return err
	}
	iw := &imageWriter{w: w, off: int64(len(rt)), rest: sha256.New()}
	if err := squashfs.Write(ctx, iw, t, opts); err != nil {
		return err
	}
	if iw.sb == nil {
		return errors.New("appimage: the squashfs writer wrote no superblock")
	}
	l := layout.Layout{Offset: iw.off, Size: iw.n, Digest: Digest(iw.sb, iw.rest)}
	_, err := w.Write(l.Trailer())
	return err
}

// Digest combines an image's superblock and the hash of the bytes after
// it into the image's digest.
func Digest(sb []byte, rest hash.Hash) [32]byte {
	h := sha256.New()
	h.Write(sb)
	h.Write(rest.Sum(nil))
	var d [32]byte
	h.Sum(d[:0])
	return d
}

// SuperblockSize is the size of a squashfs superblock, the part of the
// image the digest takes whole.
const SuperblockSize = 96

// imageWriter places the squashfs image at off in w and hashes it: the
// bytes after the superblock as they stream, the superblock when it is
// written over its placeholder.
type imageWriter struct {
	w    formats.File
	off  int64
	n    int64 // bytes of the image written
	rest hash.Hash
	sb   []byte
}

func (iw *imageWriter) Write(p []byte) (int, error) {
	n, err := iw.w.Write(p)
	// The hash skips the placeholder of the superblock.
	q := p[:n]
	if skip := SuperblockSize - iw.n; skip > 0 {
		q = q[min(int64(len(q)), skip):]
	}
	iw.rest.Write(q)
	iw.n += int64(n)
	return n, err
}

func (iw *imageWriter) WriteAt(p []byte, off int64) (int, error) {
	if off != 0 || len(p) != SuperblockSize {
		return 0, fmt.Errorf("appimage: squashfs wrote %d bytes at %d, only its superblock is expected", len(p), off)
	}
	iw.sb = append([]byte{}, p...)
	return iw.w.WriteAt(p, iw.off+off)
}

var _ io.WriterAt = (*imageWriter)(nil)
