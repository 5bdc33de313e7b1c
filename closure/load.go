package closure

import (
	"context"
	"fmt"
	"github.com/gpack/gpack/internal/usererr"
	"sort"
	"strings"
)

// LoadOptions are Options plus what Load needs to find the items.
type LoadOptions struct {
	Options
	// StoreDir is the store directory; empty means the directory of the
	// given paths' items.
	StoreDir string
	// AllowMissing turns a reference to an item missing from the store
	// into a warning kept in the graph instead of an error.
	AllowMissing bool
}

// Load locates the items that paths name (items, paths inside them, or
// links to them), which must all be in one store, and computes their
// closure.
func Load(ctx context.Context, paths []string, opts LoadOptions) (*Graph, error) {
	if len(paths) == 0 {
		return nil, fmt.Errorf("load: no paths given")
	}
	storeDir := opts.StoreDir
	var roots []string
	for _, p := range paths {
		st, item, err := Locate(p, storeDir)
		if err != nil {
			return nil, err
		}
		if storeDir == "" {
			storeDir = st
		} else if st != storeDir {
			return nil, &usererr.Error{Path: p, What: "is in the store " + usererr.Quote(st) + ", not in " + usererr.Quote(storeDir), Fix: "give items of one store"}
		}
		roots = append(roots, item)
	}
	s, err := OpenStore(storeDir)
	if err != nil {
		return nil, err
	}
	g, err := Compute(ctx, s, roots, opts.Options)
	if err != nil {
		return nil, err
	}
	if !opts.AllowMissing {
		if err := g.missingError(); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// missingError reports the first missing item, by referrer path.
func (g *Graph) missingError() error {
	miss := g.Missing()
	if len(miss) == 0 {
		return nil
	}
	var referrers []string
	n := 0
	for p, m := range miss {
		referrers = append(referrers, p)
		n += len(m)
	}
	sort.Strings(referrers)
	first := miss[referrers[0]][0]
	where := referrers[0]
	if first.Evidence.File != "" {
		where += "/" + first.Evidence.File
	}
	more := ""
	if n > 1 {
		more = fmt.Sprintf(" (and %d more)", n-1)
	}
	return &usererr.Error{
		Path: where,
		What: "refers to " + strings.TrimSuffix(first.Path, "-") + "-…, which is not in the store" + more,
		Fix:  "build or fetch that item into the store first, or pass --allow-missing to go on without it",
	}
}
