package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/usererr"
)

// StoreOptions are the flags of every command that reads a closure.
type StoreOptions struct {
	Store        string
	AllowMissing bool
	Jobs         int
}

// AddFlags adds the flags that choose and read a store to f.
func (o *StoreOptions) AddFlags(f *pflag.FlagSet) {
	f.StringVar(&o.Store, "store", "", "the store directory (default: the directory of the given items)")
	f.BoolVar(&o.AllowMissing, "allow-missing", false, "go on when an item refers to a store path that is not in the store")
	f.VarP((*jobsValue)(&o.Jobs), "jobs", "j", "files scanned at once, 1 or more (default: two per CPU; at most 16 per CPU, and what memory allows)")
}

// jobsValue is -j: a number of files scanned at once, 1 or more, so that
// -j 0 and -j -3 are bad usage rather than the default.
type jobsValue int

func (j *jobsValue) Set(s string) error {
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return fmt.Errorf("want a number of files scanned at once, 1 or more")
	}
	*j = jobsValue(n)
	return nil
}

func (j *jobsValue) String() string { return strconv.Itoa(int(*j)) }
func (j *jobsValue) Type() string   { return "int" }

// load computes the closure of paths. A -j beyond what the machine can
// use is lowered, with a note on stderr.
func (o *StoreOptions) load(ctx context.Context, paths []string, stderr io.Writer) (*closure.Graph, error) {
	if most := closure.MaxWorkers(); o.Jobs > most {
		fmt.Fprintf(stderr, "gpack: note: -j %d: scanning %d files at once, the most this machine's %d CPUs and memory allow\n", o.Jobs, most, runtime.GOMAXPROCS(0))
		o.Jobs = most
	}
	return closure.Load(ctx, paths, closure.LoadOptions{
		Options:      closure.Options{Workers: o.Jobs},
		StoreDir:     o.Store,
		AllowMissing: o.AllowMissing,
	})
}

// ClosureOptions are the flags of gpack closure.
type ClosureOptions struct {
	StoreOptions
	Size  bool
	Graph string
	JSON  bool
}

// AddFlags adds the flags of gpack closure to f.
func (o *ClosureOptions) AddFlags(f *pflag.FlagSet) {
	o.StoreOptions.AddFlags(f)
	f.BoolVar(&o.Size, "size", false, "show each item's own size and closure size (NAR sizes, as nix path-info -rsS)")
	f.StringVar(&o.Graph, "graph", "", "print the reference graph in this format: dot")
	f.BoolVar(&o.JSON, "json", false, "print the whole graph with exact sizes and references as JSON")
}

func newClosureCommand() *cobra.Command {
	var opts ClosureOptions
	cmd := &cobra.Command{
		Use:   "closure [flags] PATH...",
		Short: "Print every store item the given items reference, transitively",
		Long: `Print the closure of the given store items: every item they reference,
directly or not, one path per line, dependencies first (like nix-store -qR).

PATH is a store item, a path inside one, or a symlink chain that ends in one
(a profile link such as ~/.guix-profile). References are found as the store
daemons find them: by scanning every file's bytes, every symlink target and
every file name for the hash parts of the store's items. No daemon and no root
are needed.` + exitStatusHelp,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runClosure(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, args)
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runClosure(ctx context.Context, stdout, stderr io.Writer, opts ClosureOptions, args []string) error {
	if opts.Graph != "" && opts.Graph != "dot" {
		return usererr.Usagef("--graph %q: the only graph format is dot", opts.Graph)
	}
	if opts.Graph != "" && opts.JSON {
		return usererr.Usagef("--graph and --json do not go together")
	}
	g, err := opts.load(ctx, args, stderr)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(stdout)
	order := g.Requisites(g.Roots...)
	switch {
	case opts.JSON:
		err = writeJSON(w, g, order)
	case opts.Graph == "dot":
		writeDot(w, g, order)
	case opts.Size:
		writeSizes(w, g, order)
	default:
		for _, p := range order {
			fmt.Fprintln(w, p)
		}
	}
	if err != nil {
		return err
	}
	return w.Flush()
}

type jsonItem struct {
	Path        string        `json:"path"`
	NarSize     int64         `json:"narSize"`
	ClosureSize int64         `json:"closureSize"`
	References  []string      `json:"references"`
	Missing     []jsonMissing `json:"missing,omitempty"`
}

type jsonMissing struct {
	Path string `json:"path"`
	File string `json:"file"`
}

type jsonGraph struct {
	Store       string     `json:"store"`
	Roots       []string   `json:"roots"`
	ClosureSize int64      `json:"closureSize"`
	Items       []jsonItem `json:"items"`
}

func writeJSON(w io.Writer, g *closure.Graph, order []string) error {
	out := jsonGraph{Store: g.Store, Roots: g.Roots, Items: make([]jsonItem, 0, len(order))}
	for _, p := range order {
		it := g.Items[p]
		ji := jsonItem{Path: p, NarSize: it.NarSize, ClosureSize: g.ClosureSize(p), References: it.References}
		if ji.References == nil {
			ji.References = []string{}
		}
		for _, m := range it.Missing {
			ji.Missing = append(ji.Missing, jsonMissing{Path: m.Path, File: m.Evidence.File})
		}
		out.ClosureSize += it.NarSize
		out.Items = append(out.Items, ji)
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func writeDot(w io.Writer, g *closure.Graph, order []string) {
	fmt.Fprintln(w, "digraph closure {")
	fmt.Fprintln(w, "  rankdir = LR;")
	fmt.Fprintln(w, "  node [shape = box];")
	for _, p := range order {
		fmt.Fprintf(w, "  %s [label = %s];\n", strconv.Quote(p), strconv.Quote(itemName(p)))
	}
	for _, p := range order {
		for _, r := range g.Items[p].References {
			if r != p {
				fmt.Fprintf(w, "  %s -> %s;\n", strconv.Quote(p), strconv.Quote(r))
			}
		}
	}
	fmt.Fprintln(w, "}")
}

func writeSizes(w io.Writer, g *closure.Graph, order []string) {
	width := 0
	for _, p := range order {
		width = max(width, len(p))
	}
	for _, p := range order {
		fmt.Fprintf(w, "%-*s  %10s  %10s\n", width, p, humanSize(g.Items[p].NarSize), humanSize(g.ClosureSize(p)))
	}
}

// itemName is the part of an item's name after its hash.
func itemName(p string) string {
	base := p[strings.LastIndexByte(p, '/')+1:]
	if len(base) > closure.HashLen+1 {
		return base[closure.HashLen+1:]
	}
	return base
}

// humanSize prints sizes as nix path-info -h does: binary units, one decimal.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	f := float64(n)
	for _, u := range []string{"KiB", "MiB", "GiB", "TiB"} {
		f /= unit
		if f < unit || u == "TiB" {
			return fmt.Sprintf("%.1f %s", f, u)
		}
	}
	return ""
}
