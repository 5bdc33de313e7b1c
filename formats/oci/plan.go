package oci

import (
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/gpack/gpack/pack"
)

// layerPlan is one layer to be written: its store items and its entries.
type layerPlan struct {
	// items are the store items of the layer, sorted; nil for the last
	// layer.
	items []string
	// entries are the layer's tree entries, in tree order: for an item
	// layer, the store directory and its parents (so that each layer's
	// tar is complete by itself, as layer tars are expected to be), then
	// the items' files.
	entries []pack.Entry
	// files and bytes count the layer's regular files and their content.
	files int
	bytes int64
	last  bool
}

// describe names the layer for its history entry: the item names, or what
// the last layer holds.
func (p *layerPlan) describe() string {
	if p.last {
		return "store directories, symlinks, profile links and launcher"
	}
	names := make([]string, len(p.items))
	for i, it := range p.items {
		names[i] = ItemName(it)
	}
	if len(names) > 5 {
		return strings.Join(names[:5], " ") + " and " + strconv.Itoa(len(names)-5) + " more items"
	}
	return strings.Join(names, " ")
}

// comment lists the layer's store paths in full, for the history entry.
func (p *layerPlan) comment(store string) string {
	if p.last {
		return "everything outside the items of " + store
	}
	return strings.Join(p.items, " ")
}

// planLayers cuts t into at most maxLayers layers (maxLayers >= 2): item
// layers, bottom first, then the last layer with everything that is not
// inside a store item (the store directory and its parents, -S symlinks,
// /bin, the launcher and wrappers of -R, .singularity.d) and an empty /tmp
// (mode 1777) if the tree has none.
//
// When the closure has at most maxLayers-1 items, each item gets its own
// layer. Otherwise maxLayers-2 items keep their own layer and the others
// share one merged layer. Which items keep their own layer:
//
//   - With refs (the closure's direct references), the most popular items:
//     popularity is the number of items of the closure that depend on an
//     item, directly or transitively. An item many others need (glibc,
//     gcc's runtime) then sits in its own layer, and two images that share
//     it share that blob, which is the point of cutting layers along items.
//     Ties go to the larger item, then to the store path. The kept layers
//     are ordered most popular first, so images that share their most
//     common dependencies also share the bottom of their layer stack,
//     which is what Docker's and containerd's storage (keyed by chain ID)
//     can share.
//   - Without refs, the largest items (by file bytes), as guix pack
//     --max-layers does: a big item then still changes alone, and the
//     small ones that are merged cost little to re-push. The kept layers
//     keep the closure's order (dependencies first).
func planLayers(t *pack.Tree, maxLayers int, refs map[string][]string) []layerPlan {
	storeRel := strings.TrimPrefix(t.Store, "/")
	items := t.Items
	base := make(map[string]int, len(items)) // item base name -> index in items
	for i, it := range items {
		base[path.Base(it)] = i
	}
	// Sizes per item, for the heuristics and the scheduling.
	size := make([]int64, len(items))
	for i := range t.Entries {
		e := &t.Entries[i]
		if rest, ok := strings.CutPrefix(e.Path, storeRel+"/"); ok && e.Kind == pack.File {
			b, _, _ := strings.Cut(rest, "/")
			if j, ok := base[b]; ok {
				size[j] += e.Size
			}
		}
	}

	// group[i] is the layer of items[i].
	group := make([]int, len(items))
	var nGroups int
	if len(items) <= maxLayers-1 {
		for i := range items {
			group[i] = i
		}
		nGroups = len(items)
	} else {
		rank := rankItems(items, size, refs)
		keep := maxLayers - 2
		kept := rank[:keep]
		if refs == nil {
			// Keep the closure's order among the kept items.
			kept = append([]int(nil), kept...)
			sort.Ints(kept)
		}
		for i := range group {
			group[i] = keep // the merged layer
		}
		for g, i := range kept {
			group[i] = g
		}
		nGroups = keep + 1
	}

	plans := make([]layerPlan, nGroups+1)
	for i, it := range items {
		plans[group[i]].items = append(plans[group[i]].items, it)
	}
	last := &plans[nGroups]
	last.last = true
	var parents []pack.Entry
	hasTmp := false
	for i := range t.Entries {
		e := t.Entries[i]
		if e.Path == storeRel || strings.HasPrefix(storeRel, e.Path+"/") {
			parents = append(parents, e)
		}
		p := last
		if rest, ok := strings.CutPrefix(e.Path, storeRel+"/"); ok {
			b, _, _ := strings.Cut(rest, "/")
			if j, ok := base[b]; ok {
				p = &plans[group[j]]
			}
		}
		if len(p.entries) == 0 && !p.last {
			p.entries = append(p.entries, parents...)
		}
		p.entries = append(p.entries, e)
		if e.Kind == pack.File {
			p.files++
			p.bytes += e.Size
		}
		hasTmp = hasTmp || e.Path == "tmp"
	}
	if !hasTmp {
		last.entries = append(last.entries, pack.Entry{Path: "tmp", Kind: pack.Dir, Mode: 0o1777})
		sort.SliceStable(last.entries, func(a, b int) bool { return pack.Less(last.entries[a].Path, last.entries[b].Path) })
	}
	for i := range plans {
		sort.Strings(plans[i].items)
	}
	return plans
}

// rankItems returns the indices of items, best first: by popularity when
// refs is given, then by size, then by path.
func rankItems(items []string, size []int64, refs map[string][]string) []int {
	pop := make([]int, len(items))
	if refs != nil {
		index := make(map[string]int, len(items))
		for i, it := range items {
			index[it] = i
		}
		// For every item, count it once in the popularity of each item
		// it reaches: a walk per item, O(items × references), which
		// is small next to scanning the closure.
		seen := make([]int, len(items))
		for i := range seen {
			seen[i] = -1
		}
		var stack []int
		for i := range items {
			seen[i] = i
			stack = append(stack[:0], i)
			for len(stack) > 0 {
				x := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				for _, r := range refs[items[x]] {
					j, ok := index[r]
					if !ok || seen[j] == i {
						continue
					}
					seen[j] = i
					pop[j]++
					stack = append(stack, j)
				}
			}
		}
	}
	rank := make([]int, len(items))
	for i := range rank {
		rank[i] = i
	}
	sort.SliceStable(rank, func(a, b int) bool {
		x, y := rank[a], rank[b]
		if pop[x] != pop[y] {
			return pop[x] > pop[y]
		}
		if size[x] != size[y] {
			return size[x] > size[y]
		}
		return items[x] < items[y]
	})
	return rank
}
