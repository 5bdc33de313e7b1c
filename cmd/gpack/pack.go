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

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/tarball"
	"github.com/gpack/gpack/internal/atomicfile"
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
	f.StringVarP(&o.Format, "format", "f", "tarball", "output format: tarball")
	f.StringVarP(&o.Compression, "compression", "C", "gzip", "compressor: gzip, zstd, xz or none")
	f.IntVar(&o.Level, "level", 0, "compression level (default: the compressor's; see gpack pack --help)")
	f.BoolVarP(&o.Relocatable, "relocatable", "R", false, "add the launcher and bin/ wrappers, so the pack runs wherever it is unpacked")
	f.StringArrayVarP(&o.Symlinks, "symlink", "S", nil, "add a relative symlink LINK=TARGET into the first item, e.g. -S /bin=bin (repeatable)")
	f.StringVar(&o.EntryPoint, "entry-point", "", "the program, relative to the first item, that images run (used by squashfs and docker; checked here)")
	f.StringVarP(&o.Output, "output", "o", "", "output file (default: <first-item-name>.tar.<ext> in the current directory)")
	f.StringVar(&o.Collisions, "collisions", "error", "with -R, when two items offer the same program name: error or first")
	f.BoolVarP(&o.Quiet, "quiet", "q", false, "no progress display")
	f.BoolVar(&o.JSON, "json", false, "print a JSON summary instead of the output path")
}

func newPackCommand() *cobra.Command {
	var opts packOptions
	cmd := &cobra.Command{
		Use:   "pack [flags] PATH...",
		Short: "Write the closure of store items as a tarball",
		Long: `Write the closure of the given store items as a deterministic tarball: the
items at their store path (./nix/store/… or ./gnu/store/…), owned by root,
mtime 1 (or $SOURCE_DATE_EPOCH), names sorted.

Without -R the tarball is meant for tar -x -C /. With -R it carries a small
static launcher and ./bin/<name> for every program in bin/ and sbin/ of the
given items: unpack it anywhere and run ./bin/<name>, no root needed.

Compression: gzip (default; parallel, within 1 % of gzip -9's size), zstd
(level 3 by default), xz (level 6, parallel blocks), none.`,
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
	if opts.Format != "tarball" {
		return usageError{fmt.Errorf("-f %q: the formats are: tarball", opts.Format)}
	}
	algo, err := compress.ParseAlgo(opts.Compression)
	if err != nil {
		return usageError{err}
	}
	if opts.Level != 0 {
		if lo, hi := algo.LevelRange(); opts.Level < lo || opts.Level > hi {
			return usageError{fmt.Errorf("--level %d: %s takes %d to %d", opts.Level, algo, lo, hi)}
		}
	}
	if opts.Collisions != "error" && opts.Collisions != "first" {
		return usageError{fmt.Errorf("--collisions %q: want error or first", opts.Collisions)}
	}
	var links []pack.LinkRequest
	for _, s := range opts.Symlinks {
		l, err := pack.ParseSymlink(s)
		if err != nil {
			return usageError{err}
		}
		links = append(links, l)
	}
	mtime, err := sourceDateEpoch()
	if err != nil {
		return usageError{err}
	}

	g, err := opts.load(ctx, args)
	if err != nil {
		return err
	}
	if opts.EntryPoint != "" {
		ep := g.Roots[0] + "/" + strings.TrimPrefix(opts.EntryPoint, "/")
		if _, err := os.Stat(ep); err != nil {
			return &closure.Error{Path: ep, What: "--entry-point does not exist in the first item", Fix: "give a path relative to " + g.Roots[0]}
		}
		fmt.Fprintln(stderr, "gpack: note: --entry-point is used by images; a tarball ignores it")
	}
	tree, err := pack.Build(ctx, g, pack.Options{
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

	out := opts.Output
	if out == "" {
		out = itemName(g.Roots[0]) + ".tar" + algo.Ext()
	}
	f, err := atomicfile.Create(out)
	if err != nil {
		return err
	}
	defer f.Abort()
	counter := &countingWriter{w: f}
	files, bytesIn := tree.Totals()
	prog := newProgress(stderr, opts.Quiet || opts.JSON, files, bytesIn)
	err = tarball.Write(ctx, counter, tree, tarball.Options{Compression: algo, Level: opts.Level, Progress: prog})
	prog.Done()
	if err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
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

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
