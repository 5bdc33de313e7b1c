package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"golang.org/x/term"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// PackOptions are the flags of gpack pack, named as guix pack names them
// where they mean the same.
type PackOptions struct {
	StoreOptions
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
	Manifest    string
	EntryPoint  string
	EntryArgs   []string
	Env         bool
	SetEnv      []string
	Output      string
	Collisions  string
	NoCache     bool
	Single      bool
	Desktop     string
	Icon        string
	Quiet       bool
	JSON        bool

	// given are the long names of the flags given, which the chosen
	// format must take (formats.CheckFlags).
	given []string
}

// AddFlags adds the flags of gpack pack to f.
func (o *PackOptions) AddFlags(f *pflag.FlagSet) {
	o.StoreOptions.AddFlags(f)
	var names []string
	for _, pf := range packFormats {
		names = append(names, pf.Name())
	}
	f.StringVarP(&o.Format, "format", "f", packFormats[0].Name(), "output format: "+strings.Join(names, ", "))
	f.StringVarP(&o.Compression, "compression", "C", "", "compressor: gzip, zstd, xz, lz4 or none, as the format takes them (default: what -o's name says, x.tar.zst for zstd, else gzip)")
	f.StringVar(&o.BlockSize, "block-size", "128K", "squashfs and sif data block size, a power of two from 4K to 1M")
	f.StringVar(&o.Push, "push", "", "docker, oci: push the image to this registry reference (REGISTRY/NAME[:TAG]); without -o no local file is written")
	f.BoolVar(&o.Insecure, "insecure", false, "with --push: allow a registry over plain HTTP or with an unverified certificate")
	f.IntVar(&o.MaxLayers, "max-layers", 100, "docker, oci: at most this many layers (one per store item while they fit)")
	f.StringVar(&o.Arch, "arch", "", "docker, oci, sif: the image architecture (default: from the closure's ELF files)")
	f.StringArrayVar(&o.Cmd, "cmd", nil, "docker, oci: an argument of the image's Cmd (repeatable)")
	f.StringVar(&o.ImageTag, "image-tag", "", "docker, oci: the image's name:tag (default <first-item-name>:latest)")
	f.BoolVar(&o.NoCache, "no-cache", false, "docker, oci: do not use the layer cache (compress every layer, keep nothing)")
	f.BoolVar(&o.Single, "single", false, "deb, rpm: one package of the whole closure, rather than one per store item and one for the pack")
	f.StringVar(&o.Desktop, "desktop", "", "appimage: a .desktop file to put at the AppImage's root, for desktop integration")
	f.StringVar(&o.Icon, "icon", "", "appimage: an icon (.png or .svg) to put at the AppImage's root, with .DirIcon linking to it")
	f.IntVar(&o.Level, "level", 0, "compression level (default: the compressor's; see gpack pack --help)")
	f.BoolVarP(&o.Relocatable, "relocatable", "R", false, "add the launcher and bin/ wrappers, so the pack runs wherever it is unpacked")
	f.StringArrayVarP(&o.Symlinks, "symlink", "S", nil, "add a relative symlink LINK=TARGET into the profile (the item, or the profile of several), e.g. -S /bin=bin (repeatable; with -R, /bin=bin is the wrappers)")
	f.StringVar(&o.EntryPoint, "entry-point", "", "the program images run: bin/NAME or /bin/NAME of the profile, or a store path (squashfs and sif runscript, docker and oci Entrypoint)")
	f.BoolVar(&o.Env, "env", false, "with -R: the wrappers set the profile's search paths (PATH, MANPATH, its etc/profile...) for their programs, as images do")
	f.StringArrayVarP(&o.SetEnv, "set-env", "E", nil, "set NAME=VALUE for the pack's programs: in images' Env, squashfs's environment and -R's wrappers (repeatable)")
	f.StringArrayVarP(&o.EntryArgs, "entry-point-argument", "A", nil, "an argument the entry point gets before the caller's (repeatable; needs --entry-point)")
	f.StringVarP(&o.Output, "output", "o", "", "output (default in the current directory: <first-item-name>.tar.gz (or the -C's extension), .squashfs, .sif, .docker.tar, the .oci layout directory, or the -deb or -rpm directory; -f oci -o X.tar writes an oci-archive; - is standard output, for tarball, docker and oci)")
	f.StringVarP(&o.Manifest, "manifest", "m", "", "pack the store paths FILE lists (one a line), or the packages of a Nix or Guix profile (its directory or manifest), as one profile")
	f.StringVar(&o.Collisions, "collisions", "error", "when two items offer different files at one path of the profile: error or first (the item given first)")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress display")
	f.BoolVar(&o.JSON, "json", false, "print a JSON summary instead of the output path")
}

func newPackCommand() *cobra.Command {
	var opts PackOptions
	cmd := &cobra.Command{
		Use:   "pack [flags] PATH...",
		Short: "Write the closure of store items as a tarball, a squashfs or SIF image, a container image or deb/rpm packages",
		Long: `Write the closure of the given store items as a deterministic tarball: the
items at their store path (./nix/store/… or ./gnu/store/…), owned by root,
mtime 1 (or $SOURCE_DATE_EPOCH), names sorted.

Without -R the tarball is meant for tar -x -C /. With -R it carries a small
static launcher and ./bin/<name> for every program in bin/ and sbin/ of the
given items: unpack it anywhere and run ./bin/<name>, no root needed.

Compression: gzip (default; parallel, within 1 % of gzip -9's size), zstd
(level 3 by default), xz (level 6, parallel blocks), none. Without -C the
output's name chooses: -o x.tar.zst (or .tzst) is zstd, .tar.xz (.txz) xz,
.tar.gz (.tgz) gzip, .tar none; a -C that contradicts the name is an error.

-f squashfs writes a SquashFS 4.0 image with the same tree (no squashfs-tools
needed), ready for Apptainer/Singularity as guix pack makes it: /bin is the
profile's bin, /.singularity.d holds the environment and, with
--entry-point, the runscript. Mount it with squashfuse (and run ./bin/<name>
of a -R image there), or give it to apptainer or ch-run. -C takes gzip, xz,
zstd, lz4 or none; --block-size 4K to 1M (default 128K).

-f sif writes that squashfs image inside a SIF file, Apptainer's native
image, with the labels, environment and runscript apptainer inspect shows:
apptainer run, exec and build take it, as root or as any user. It takes
-C, --block-size and --entry-point as squashfs does, and --arch.

-f docker writes a docker load archive, -f oci an OCI image layout (or, with
-o X.tar, an oci-archive); --push REF sends the image to a registry instead
(or as well, with -o), authenticating through the Docker configuration and
credential helpers, and skipping the blobs the registry has. Each store item
is a layer of its own (up to --max-layers; beyond, the items most others
depend on keep theirs), so images that share items share layers. Compressed
layers are cached in $XDG_CACHE_HOME/gpack/layers (~/.cache/gpack/layers);
remove that directory to clear it, or pass --no-cache. A cache that cannot
be used (no HOME, a read-only directory) is a warning and no cache. -C gzip
(default) or zstd.

-f deb and -f rpm write a directory (-o DIR, default <first-item-name>-deb or
-rpm) of packages: one per store item, at its store path, named after the
item with the first 8 characters of its hash (glibc-2.39-1a2b3c4d, version
0+<hash>) and depending on the items it refers to; and gpack-<name>, the
pack, under /opt/gpack/<name> (-S links, -R's launcher and bin/ wrappers).
Packs that share items share their packages. --single makes one package.
-C: data compression, gzip (default), zstd, xz or none.

-o - writes the tarball, the docker archive or the oci-archive to standard
output (gpack pack -o - ITEM | ssh host tar -x); squashfs, sif and the
OCI layout directory need a file. A flag that the chosen -f does not take
(--block-size, --push, --cmd with a tarball...) is bad usage.

--entry-point bin/NAME, /bin/NAME and the store path of NAME mean the same
program of the profile in every format.` + exitStatusHelp,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cmd.Flags().Visit(func(f *pflag.Flag) { opts.given = append(opts.given, f.Name) })
			return runPack(cmd.Context(), opts, args, cmd.OutOrStdout(), cmd.ErrOrStderr())
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

// packSummary is --json: the output, what went in, and for images what the
// image is.
type packSummary struct {
	Output   string  `json:"output"`
	Size     int64   `json:"size"`
	Items    int     `json:"items"`
	Files    int     `json:"files"`
	BytesIn  int64   `json:"bytesIn"`
	BytesOut int64   `json:"bytesOut"`
	Seconds  float64 `json:"seconds"`

	Digest string      `json:"digest,omitempty"`
	Tag    string      `json:"tag,omitempty"`
	Pushed *pushedJSON `json:"pushed,omitempty"`
	Layers int         `json:"layers,omitempty"`
	Reused int         `json:"layersReused,omitempty"`
}

// pushedJSON says where an image went: the full reference and the
// manifest's digest, which `docker pull REF@DIGEST` takes.
type pushedJSON struct {
	Reference string `json:"reference"`
	Digest    string `json:"digest"`
}

// packRequest is what the flags ask for, checked before any work.
type packRequest struct {
	format formats.Format
	opts   formats.Options
	links  []pack.LinkRequest
	env    []pack.EnvVar // -E
	mtime  time.Time
}

// parse checks every flag that can be checked without the closure.
func (o *PackOptions) parse(stdout io.Writer) (*packRequest, error) {
	f, err := formats.Lookup(packFormats, o.Format)
	if err != nil {
		return nil, err
	}
	if err := formats.CheckFlags(packFormats, f, o.given); err != nil {
		return nil, err
	}
	r := &packRequest{format: f}
	if r.opts.Compression, r.opts.Level, err = formats.Compression(packFormats, f, o.Output, o.Compression, o.Level); err != nil {
		return nil, err
	}
	if o.Output == formats.Stdout {
		if o.JSON {
			return nil, usererr.Usagef("--json and -o - both write to standard output: drop one, or give -o a file name")
		}
		if file, ok := stdout.(*os.File); ok && term.IsTerminal(int(file.Fd())) {
			return nil, usererr.Usagef("-o -: standard output is a terminal: redirect it (> FILE, | tar -t) or give -o a file name")
		}
	}
	r.opts.Stdout = stdout
	if r.opts.BlockSize, err = formats.ParseSize(o.BlockSize); err != nil {
		return nil, usererr.Usagef("--block-size: %v", err)
	}
	if len(o.EntryArgs) > 0 && o.EntryPoint == "" {
		return nil, usererr.Usagef("-A (--entry-point-argument) is an argument of the entry point, which is not given: add --entry-point PROG")
	}
	for _, s := range o.SetEnv {
		name, val, ok := strings.Cut(s, "=")
		if !ok || !pack.IsEnvName(name) || strings.ContainsRune(val, 0) {
			return nil, usererr.Usagef("-E %q: want NAME=VALUE, NAME of letters, digits and _ (not first a digit)", s)
		}
		r.env = append(r.env, pack.EnvVar{Name: name, Value: val})
	}
	if o.Insecure && o.Push == "" {
		return nil, usererr.Usagef("--insecure applies to --push, which is not given")
	}
	r.opts.Single = o.Single
	r.opts.Image = formats.ImageOptions{Tag: o.ImageTag, Push: o.Push, Insecure: o.Insecure, MaxLayers: o.MaxLayers, Arch: o.Arch, Cmd: o.Cmd, NoCache: o.NoCache}
	for _, fl := range []struct {
		name, path string
		to         *formats.AppImageFile
	}{{"desktop", o.Desktop, &r.opts.AppImage.Desktop}, {"icon", o.Icon, &r.opts.AppImage.Icon}} {
		if fl.path == "" {
			continue
		}
		b, err := os.ReadFile(fl.path)
		if err != nil {
			what := err.Error()
			var pe *fs.PathError
			if errors.As(err, &pe) {
				what = pe.Err.Error()
			}
			return nil, &usererr.Error{Kind: usererr.Usage, Path: fl.path, What: "--" + fl.name + ": " + what, Err: err}
		}
		*fl.to = formats.AppImageFile{Name: filepath.Base(fl.path), Data: b}
	}
	if o.Collisions != "error" && o.Collisions != "first" {
		return nil, usererr.Usagef("--collisions %q: want error or first", o.Collisions)
	}
	for _, s := range o.Symlinks {
		l, err := pack.ParseSymlink(s)
		if err != nil {
			return nil, &usererr.Error{Kind: usererr.Usage, What: err.Error(), Err: err}
		}
		r.links = append(r.links, l)
	}
	if r.mtime, err = sourceDateEpoch(); err != nil {
		return nil, err
	}
	r.opts.Mtime = r.mtime
	return r, nil
}

func runPack(ctx context.Context, opts PackOptions, args []string, stdout, stderr io.Writer) error {
	start := time.Now()
	req, err := opts.parse(stdout)
	if err != nil {
		return err
	}
	if opts.Manifest != "" {
		listed, err := readManifest(opts.Manifest)
		if err != nil {
			return err
		}
		args = append(slices.Clip(args), listed...)
	}
	if len(args) == 0 {
		return &usererr.Error{Kind: usererr.Usage, What: "gpack pack needs a store item (PATH...) or -m FILE", Fix: "see 'gpack pack --help'"}
	}
	f, fo := req.format, &req.opts
	// An output that cannot be written fails before the closure is read;
	// the default one is named after the first item, which is found
	// without reading the closure.
	out := opts.Output
	if out == "" {
		first, err := firstItem(args, opts.Store)
		if err != nil {
			return err
		}
		out = formats.DefaultOutput(f, itemName(first), fo.Compression, fo)
	}
	if err := f.Check(out, fo); err != nil {
		return err
	}
	g, err := opts.load(ctx, args, stderr)
	if err != nil {
		return err
	}
	prof, err := packProfile(g, args, opts.Store, opts.Collisions == "first")
	if err != nil {
		return err
	}
	if fo.EntryPoint, err = pack.EntryPoint(g, prof, opts.EntryPoint); err != nil {
		return err
	}
	fo.EntryArgs = opts.EntryArgs
	fo.Image.References = g.References()
	profile := g.Roots[0]
	if prof != nil {
		// The profile references the items it unites, and nothing
		// references it: images put it in a layer above them.
		profile = prof.Path
		fo.Image.References[prof.Path] = slices.Sorted(slices.Values(prof.Items))
	}
	fo.Env = environment(profile, prof, req.env)
	popts := pack.Options{Symlinks: req.links, FirstWins: opts.Collisions == "first", Mtime: req.mtime, Profile: prof}
	popts.Relocatable = opts.Relocatable
	f.Prepare(&popts, profile, fo)
	if opts.Env && !popts.Relocatable {
		return usererr.Usagef("--env applies to -R, whose wrappers then set the profile's search paths; images and squashfs carry them always")
	}
	// After Prepare: a format may make every pack relocatable (appimage).
	if popts.Relocatable {
		relocatable(&popts)
		popts.Env = req.env
		if opts.Env {
			popts.Env = fo.Env
		}
	}
	tree, err := pack.Build(ctx, g, popts)
	if err != nil {
		return err
	}

	files, bytesIn := tree.Totals()
	prog := newProgress(stderr, opts.Quiet || opts.JSON, files, bytesIn)
	fo.Progress = prog
	res, err := f.Write(ctx, tree, out, fo)
	prog.Done()
	if err != nil {
		return err
	}
	for _, w := range append(tree.Warnings(), res.Warnings...) {
		fmt.Fprintln(stderr, "gpack: "+w)
	}
	if opts.JSON {
		s := packSummary{Size: res.Size, Items: len(tree.Items), Files: files, BytesIn: bytesIn, BytesOut: res.Size,
			Seconds: time.Since(start).Seconds()}
		if res.Output != "" {
			s.Output, _ = filepath.Abs(res.Output)
		}
		if im := res.Image; im != nil {
			s.BytesOut, s.Digest, s.Tag, s.Layers, s.Reused = im.LayerBytes, im.Digest, im.Tag, im.Layers, im.Reused
			if im.Pushed != "" {
				s.Pushed = &pushedJSON{Reference: im.Pushed, Digest: im.Digest}
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(s)
	}
	if res.Output != "" && res.Output != formats.Stdout {
		fmt.Fprintln(stdout, res.Output)
	}
	if res.Image != nil && res.Image.Pushed != "" {
		fmt.Fprintln(stdout, res.Image.Pushed+"@"+res.Image.Digest)
	}
	return nil
}

// firstItem is the item that names the default output: the first of the
// roots (closure.Graph.Roots, sorted) that args name.
func firstItem(args []string, store string) (string, error) {
	first := ""
	for _, a := range args {
		_, item, err := closure.Locate(a, store)
		if err != nil {
			return "", err
		}
		if first == "" || item < first {
			first = item
		}
	}
	return first, nil
}

// maxEpoch is the last second of year 9999: every format's times (JSON's
// RFC 3339 in image configs above all) end there.
const maxEpoch = 253402300799

// sourceDateEpoch is the packs' mtime: $SOURCE_DATE_EPOCH, else 1 s after
// the epoch as guix pack and Nix use. It is checked here, once for every
// format; a format that holds less (squashfs: up to 2106) says so in its
// Check.
func sourceDateEpoch() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		return time.Unix(1, 0), nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 || n > maxEpoch {
		return time.Time{}, &usererr.Error{Kind: usererr.Usage, Path: "SOURCE_DATE_EPOCH=" + s,
			What: fmt.Sprintf("want whole seconds since 1970, from 0 to %d (the end of year 9999)", int64(maxEpoch)),
			Fix:  "set it to such a number, or unset it for the default (1)"}
	}
	return time.Unix(n, 0), nil
}

// environment is the pack's environment: the profile's search paths, but
// those -E sets, then -E's variables.
func environment(profile string, prof *pack.Profile, set []pack.EnvVar) []pack.EnvVar {
	var env []pack.EnvVar
	for _, v := range pack.SearchPaths(profile, prof) {
		if !slices.ContainsFunc(set, func(s pack.EnvVar) bool { return s.Name == v.Name }) {
			env = append(env, v)
		}
	}
	return append(env, set...)
}
