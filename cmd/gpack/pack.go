package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/oci"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/formats/tarball"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
	"github.com/gpack/gpack/runner"
	"github.com/gpack/gpack/runner/launcherbin"
)

// packOptions are the flags of gpack pack, named as guix pack names them
// where they mean the same.
type packOptions struct {
	storeOptions
	Format      string
	Compression string
	Level       int
	BlockSize   string
	Push        string
	Insecure    bool
	MaxLayers   int
	Arch        string
	Cmd         []string
	ImageTag    string
	Relocatable bool
	Symlinks    []string
	EntryPoint  string
	Output      string
	Collisions  string
	Quiet       bool
	JSON        bool
}

func (o *packOptions) AddFlags(f *pflag.FlagSet) {
	o.storeOptions.AddFlags(f)
	f.StringVarP(&o.Format, "format", "f", "tarball", "output format: tarball, squashfs, docker or oci")
	f.StringVarP(&o.Compression, "compression", "C", "gzip", "compressor: gzip, zstd, xz or none (squashfs: also lz4)")
	f.StringVar(&o.BlockSize, "block-size", "128K", "squashfs data block size, a power of two from 4K to 1M")
	f.StringVar(&o.Push, "push", "", "docker, oci: push the image to this registry reference (REGISTRY/NAME[:TAG]); without -o no local file is written")
	f.BoolVar(&o.Insecure, "insecure", false, "with --push: allow a registry over plain HTTP or with an unverified certificate")
	f.IntVar(&o.MaxLayers, "max-layers", 100, "docker, oci: at most this many layers (one per store item while they fit)")
	f.StringVar(&o.Arch, "arch", "", "docker, oci: the image architecture (default: from the closure's ELF files)")
	f.StringArrayVar(&o.Cmd, "cmd", nil, "docker, oci: an argument of the image's Cmd (repeatable)")
	f.StringVar(&o.ImageTag, "image-tag", "", "docker, oci: the image's name:tag (default <first-item-name>:latest)")
	f.IntVar(&o.Level, "level", 0, "compression level (default: the compressor's; see gpack pack --help)")
	f.BoolVarP(&o.Relocatable, "relocatable", "R", false, "add the launcher and bin/ wrappers, so the pack runs wherever it is unpacked")
	f.StringArrayVarP(&o.Symlinks, "symlink", "S", nil, "add a relative symlink LINK=TARGET into the first item, e.g. -S /bin=bin (repeatable)")
	f.StringVar(&o.EntryPoint, "entry-point", "", "the program, relative to the first item, that images run (used by squashfs and docker; checked here)")
	f.StringVarP(&o.Output, "output", "o", "", "output (default in the current directory: <first-item-name>.tar.<ext>, .squashfs, .docker.tar, or the .oci layout directory; -f oci -o X.tar writes an oci-archive)")
	f.StringVar(&o.Collisions, "collisions", "error", "with -R, when two items offer the same program name: error or first")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress display")
	f.BoolVar(&o.JSON, "json", false, "print a JSON summary instead of the output path")
}

func newPackCommand() *cobra.Command {
	var opts packOptions
	cmd := &cobra.Command{
		Use:   "pack [flags] PATH...",
		Short: "Write the closure of store items as a tarball, a squashfs image or a container image",
		Long: `Write the closure of the given store items as a deterministic tarball: the
items at their store path (./nix/store/… or ./gnu/store/…), owned by root,
mtime 1 (or $SOURCE_DATE_EPOCH), names sorted.

Without -R the tarball is meant for tar -x -C /. With -R it carries a small
static launcher and ./bin/<name> for every program in bin/ and sbin/ of the
given items: unpack it anywhere and run ./bin/<name>, no root needed.

Compression: gzip (default; parallel, within 1 % of gzip -9's size), zstd
(level 3 by default), xz (level 6, parallel blocks), none.

-f squashfs writes a SquashFS 4.0 image with the same tree (no squashfs-tools
needed), ready for Apptainer/Singularity as guix pack makes it: /bin is the
first item's bin, /.singularity.d holds the environment and, with
--entry-point, the runscript. Mount it with squashfuse (and run ./bin/<name>
of a -R image there), or give it to apptainer or ch-run. -C takes gzip, xz,
zstd, lz4 or none; --block-size 4K to 1M (default 128K).

-f docker writes a docker load archive, -f oci an OCI image layout (or, with
-o X.tar, an oci-archive); --push REF sends the image to a registry instead
(or as well, with -o), authenticating through the Docker configuration and
credential helpers, and skipping the blobs the registry has. Each store item
is a layer of its own (up to --max-layers; beyond, the items most others
depend on keep theirs), so images that share items share layers. Compressed
layers are cached in $XDG_CACHE_HOME/gpack/layers (~/.cache/gpack/layers);
remove that directory to clear it. -C gzip (default) or zstd.`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runPack(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

type packSummary struct {
	Output   string  `json:"output"`
	Size     int64   `json:"size"`
	Items    int     `json:"items"`
	Files    int     `json:"files"`
	BytesIn  int64   `json:"bytesIn"`
	BytesOut int64   `json:"bytesOut"`
	Seconds  float64 `json:"seconds"`
}

func runPack(ctx context.Context, stdout, stderr io.Writer, opts packOptions, args []string) error {
	start := time.Now()
	comps, ok := map[string][]compress.Compressor{"tarball": compress.Streams, "squashfs": squashfs.Compressors,
		"docker": oci.Compressors, "oci": oci.Compressors}[opts.Format]
	if !ok {
		return usererr.Usagef("-f %q: the formats are: tarball, squashfs, docker, oci", opts.Format)
	}
	algo, err := compress.ParseAlgo(opts.Compression)
	if err != nil {
		return &usererr.Error{Kind: usererr.Usage, What: "-C " + err.Error(), Err: err}
	}
	comp, ok := compress.Find(comps, algo)
	if !ok {
		return usererr.Usagef("-C %s: -f %s takes %s", algo, opts.Format, compress.List(compress.AlgosOf(comps)))
	}
	if _, err := comp.Level(opts.Level); err != nil {
		return usererr.Usagef("--level %d: %v", opts.Level, err)
	}
	var blockSize int
	switch opts.Format {
	case "squashfs":
		if blockSize, err = parseBlockSize(opts.BlockSize); err != nil {
			return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Err: err}
		}
	case "docker", "oci":
		if opts.MaxLayers < 2 {
			return usererr.Usagef("--max-layers %d: an image needs at least 2 layers (the items, and the rest of the tree)", opts.MaxLayers)
		}
	}
	if opts.Push != "" && opts.Format != "docker" && opts.Format != "oci" {
		return usererr.Usagef("--push needs -f docker or -f oci")
	}
	if opts.Collisions != "error" && opts.Collisions != "first" {
		return usererr.Usagef("--collisions %q: want error or first", opts.Collisions)
	}
	var links []pack.LinkRequest
	for _, s := range opts.Symlinks {
		l, err := pack.ParseSymlink(s)
		if err != nil {
			return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Err: err}
		}
		links = append(links, l)
	}
	mtime, err := sourceDateEpoch()
	if err != nil {
		return &usererr.Error{Kind: usererr.Usage, What: err.Error(), Err: err}
	}

	g, err := opts.load(ctx, args)
	if err != nil {
		return err
	}
	entry, err := pack.EntryPoint(g, opts.EntryPoint)
	if err != nil {
		return err
	}
	opts.EntryPoint = entry
	var warnings []string
	if entry != "" && opts.Format == "tarball" {
		warnings = append(warnings, "note: --entry-point is used by images; a tarball ignores it")
	}
	var extra []pack.Entry
	switch opts.Format {
	case "squashfs", "docker", "oci":
		links = pack.ImageLinks(links, g.Roots[0], opts.Relocatable)
	}
	if opts.Format == "squashfs" {
		extra = pack.Singularity(pack.SingularityOptions{Profile: g.Roots[0], EntryPoint: entry, Links: links})
	}
	tree, err := pack.Build(ctx, g, pack.Options{
		Extra:        extra,
		Symlinks:     links,
		Relocatable:  opts.Relocatable,
		Launcher:     launcherbin.Binary,
		Manifest:     manifestBytes,
		LauncherPath: runner.LauncherPath,
		ManifestPath: runner.ManifestPath,
		RootDir:      runner.RootDir,
		FirstWins:    opts.Collisions == "first",
		Mtime:        mtime,
	})
	if err != nil {
		return err
	}

	if opts.Format == "docker" || opts.Format == "oci" {
		return runImage(ctx, stdout, stderr, opts, g, tree, algo, start)
	}

	out := opts.Output
	if out == "" {
		out = itemName(g.Roots[0]) + ".tar" + algo.Ext()
		if opts.Format == "squashfs" {
			out = itemName(g.Roots[0]) + ".squashfs"
		}
	}
	f, err := atomicfile.Create(out)
	if err != nil {
		return err
	}
	defer f.Abort()
	counter := &countingWriter{w: f}
	files, bytesIn := tree.Totals()
	prog := newProgress(stderr, opts.Quiet || opts.JSON, files, bytesIn)
	if opts.Format == "squashfs" {
		err = squashfs.Write(ctx, counter, tree, squashfs.Options{Compression: algo, Level: opts.Level,
			BlockSize: blockSize, Progress: prog})
	} else {
		err = tarball.Write(ctx, counter, tree, tarball.Options{Compression: algo, Level: opts.Level, Progress: prog})
	}
	prog.Done()
	if err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	if e, ok := tree.Resolve("bin/sh"); opts.Format == "squashfs" && (!ok || e.Kind != pack.File && e.Kind != pack.HardLink) {
		warnings = append(warnings, "warning: the image has no /bin/sh: apptainer exec works, but apptainer shell, "+
			"and apptainer run without --entry-point, need one; add a shell to the first item (a profile with bash or dash)")
	}
	for _, w := range warnings {
		fmt.Fprintln(stderr, "gpack: "+w)
	}
	if opts.JSON {
		abs, _ := filepath.Abs(out)
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(packSummary{Output: abs, Size: counter.n, Items: len(tree.Items), Files: files,
			BytesIn: bytesIn, BytesOut: counter.n, Seconds: time.Since(start).Seconds()})
	}
	fmt.Fprintln(stdout, out)
	return nil
}

func manifestBytes(store string, programs map[string]string) ([]byte, error) {
	var b strings.Builder
	m := &runner.Manifest{Store: store, Programs: programs}
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}

// sourceDateEpoch is the packs' mtime: $SOURCE_DATE_EPOCH, else 1 s after
// the epoch as guix pack and Nix use.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(1, 0), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH=%q: want a number of seconds", s)
	}
	return time.Unix(n, 0), nil
}

// countingWriter counts the size of the output: what was appended, since a
// WriteAt (squashfs's superblock) only overwrites.
type countingWriter struct {
	w *atomicfile.File
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) WriteAt(p []byte, off int64) (int, error) {
	n, err := c.w.WriteAt(p, off)
	c.n = max(c.n, off+int64(n))
	return n, err
}

// parseBlockSize reads --block-size: bytes, or a number with K or M.
func parseBlockSize(s string) (int, error) {
	n, mult := strings.ToUpper(strings.TrimSpace(s)), 1
	switch {
	case strings.HasSuffix(n, "K"):
		n, mult = strings.TrimSuffix(n, "K"), 1<<10
	case strings.HasSuffix(n, "M"):
		n, mult = strings.TrimSuffix(n, "M"), 1<<20
	}
	v, err := strconv.Atoi(n)
	size := v * mult
	if err != nil || v <= 0 || size < 4<<10 || size > 1<<20 || size&(size-1) != 0 {
		return 0, fmt.Errorf("--block-size %q: want a power of two from 4K to 1M", s)
	}
	return size, nil
}
