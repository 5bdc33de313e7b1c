package main

import (
	"context"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/usererr"
)

func newWhyCommand() *cobra.Command {
	var opts StoreOptions
	cmd := &cobra.Command{
		Use:   "why [flags] PATH DEP",
		Short: "Show why a store item depends on another",
		Long: `Print a shortest chain of references from PATH to DEP and, for each hop,
the file inside the item that holds the reference (like nix why-depends).

DEP is a store item (or a path in one, or a link to one), or the name of an
item of PATH's closure without its hash, such as "glibc-2.39".` + exitStatusHelp,
		Args: exactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runWhy(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), opts, args[0], args[1])
		},
	}
	opts.AddFlags(cmd.Flags())
	return cmd
}

func runWhy(ctx context.Context, stdout, stderr io.Writer, opts StoreOptions, from, dep string) error {
	g, err := opts.load(ctx, []string{from}, stderr)
	if err != nil {
		return err
	}
	root := g.Roots[0]
	to, err := findDep(g, dep)
	if err != nil {
		return err
	}
	hops, err := g.Why(root, to)
	if err != nil {
		return err
	}
	if len(hops) == 0 && root != to {
		return &usererr.Error{Kind: usererr.NotFound, What: fmt.Sprintf("%s does not depend on %s", root, to)}
	}
	fmt.Fprintln(stdout, root)
	for i, h := range hops {
		indent := strings.Repeat("  ", i)
		where := "the item itself"
		if h.Evidence.File != "" {
			where = h.Evidence.File
		}
		line := fmt.Sprintf("%s└── %s", indent, h.To)
		detail := fmt.Sprintf("%s    by %s", indent, showPath(where))
		switch h.Evidence.Kind {
		case closure.InName:
			detail += " (its name)"
		case closure.InTarget:
			detail += " (symlink target)"
		default:
			detail += fmt.Sprintf(" (at byte %d)", h.Evidence.Offset)
			if ctxt, err := h.Evidence.Context(h.From, 24); err == nil && ctxt != "" {
				detail += ": …" + ctxt + "…"
			}
		}
		fmt.Fprintln(stdout, line)
		fmt.Fprintln(stdout, detail)
	}
	return nil
}

// findDep resolves DEP as a path, or else as an item name in the closure.
func findDep(g *closure.Graph, dep string) (string, error) {
	if strings.Contains(dep, "/") {
		_, item, err := closure.Locate(dep, g.Store)
		if err != nil {
			return "", err
		}
		if g.Items[item] == nil {
			return "", &usererr.Error{Kind: usererr.NotFound, What: fmt.Sprintf("%s does not depend on %s", g.Roots[0], item)}
		}
		return item, nil
	}
	var matches []string
	for p := range g.Items {
		base := p[strings.LastIndexByte(p, '/')+1:]
		if base == dep || itemName(p) == dep || strings.HasPrefix(base, dep) {
			matches = append(matches, p)
		}
	}
	sort.Strings(matches)
	switch len(matches) {
	case 0:
		return "", &usererr.Error{Kind: usererr.NotFound, What: fmt.Sprintf("no item named %q in the closure of %s", dep, g.Roots[0])}
	case 1:
		return matches[0], nil
	}
	return "", usererr.Usagef("%q names %d items of the closure (%s); give the store path", dep, len(matches), strings.Join(matches, ", "))
}

// showPath quotes file names that would break a line.
func showPath(p string) string {
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return strconv.Quote(p)
		}
	}
	return p
}
