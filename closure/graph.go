package closure

import (
	"container/heap"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
)

// reach returns the items reachable from roots, roots included.
func (g *Graph) reach(roots []string) map[string]bool {
	seen := make(map[string]bool, len(g.Items))
	stack := append([]string(nil), roots...)
	for len(stack) > 0 {
		p := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if seen[p] {
			continue
		}
		seen[p] = true
		if it := g.Items[p]; it != nil {
			stack = append(stack, it.References...)
		}
	}
	return seen
}

// Order returns every item of the graph, each after the items it references
// (dependencies first); among items whose references are all placed, the
// smallest path comes first, so the order is a pure function of the graph.
// Store graphs have no cycles other than self-references; should a synthetic
// one have a cycle, the smallest path on it is placed first.
func (g *Graph) Order() []string {
	waiting := make(map[string]int, len(g.Items)) // unplaced references
	users := make(map[string][]string, len(g.Items))
	for p, it := range g.Items {
		for _, r := range it.References {
			if r == p || g.Items[r] == nil {
				continue
			}
			waiting[p]++
			users[r] = append(users[r], p)
		}
	}
	ready := &pathHeap{}
	for p := range g.Items {
		if waiting[p] == 0 {
			heap.Push(ready, p)
		}
	}
	placed := make(map[string]bool, len(g.Items))
	out := make([]string, 0, len(g.Items))
	for len(out) < len(g.Items) {
		if ready.Len() == 0 {
			// A cycle: break it at its smallest unplaced path.
			var rest []string
			for p := range g.Items {
				if !placed[p] {
					rest = append(rest, p)
				}
			}
			sort.Strings(rest)
			waiting[rest[0]] = 0
			heap.Push(ready, rest[0])
		}
		p := heap.Pop(ready).(string)
		if placed[p] {
			continue
		}
		placed[p] = true
		out = append(out, p)
		for _, u := range users[p] {
			if placed[u] {
				continue
			}
			waiting[u]--
			if waiting[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	return out
}

type pathHeap []string

func (h pathHeap) Len() int           { return len(h) }
func (h pathHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h pathHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *pathHeap) Push(x any)        { *h = append(*h, x.(string)) }
func (h *pathHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// Requisites returns the closure of the given items in Order's order.
func (g *Graph) Requisites(items ...string) []string {
	in := g.reach(items)
	var out []string
	for _, p := range g.Order() {
		if in[p] {
			out = append(out, p)
		}
	}
	return out
}

// ClosureSize is the sum of the NAR sizes of p's closure.
func (g *Graph) ClosureSize(p string) int64 {
	var n int64
	for q := range g.reach([]string{p}) {
		if it := g.Items[q]; it != nil {
			n += it.NarSize
		}
	}
	return n
}

// Missing lists the items of the graph that mention store paths missing from
// the store, by item.
func (g *Graph) Missing() map[string][]MissingRef {
	out := map[string][]MissingRef{}
	for p, it := range g.Items {
		if len(it.Missing) > 0 {
			out[p] = it.Missing
		}
	}
	return out
}

// Hop is one step of a reference chain: From references To, as Evidence
// shows.
type Hop struct {
	From, To string
	Evidence Evidence
}

// Why returns a shortest reference chain from one item to another. Among
// chains of equal length it takes the one whose items sort first.
func (g *Graph) Why(from, to string) ([]Hop, error) {
	if g.Items[from] == nil {
		return nil, fmt.Errorf("%s is not in the graph", from)
	}
	if from == to {
		return nil, nil
	}
	parent := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		it := g.Items[p]
		if it == nil {
			continue
		}
		for _, r := range it.References { // sorted: ties go to the smaller path
			if _, seen := parent[r]; seen {
				continue
			}
			parent[r] = p
			if r == to {
				var hops []Hop
				for q := to; q != from; q = parent[q] {
					src := parent[q]
					e, _ := g.Items[src].Evidence(q)
					hops = append(hops, Hop{From: src, To: q, Evidence: e})
				}
				for i, j := 0, len(hops)-1; i < j; i, j = i+1, j-1 {
					hops[i], hops[j] = hops[j], hops[i]
				}
				return hops, nil
			}
			queue = append(queue, r)
		}
	}
	return nil, nil
}

// Context returns the text around a reference found in an item's file
// contents, with bytes that are not printable ASCII shown as '.', for
// showing the user why an item depends on another.
func (e Evidence) Context(item string, radius int) (string, error) {
	if e.Kind != InContents {
		return "", nil
	}
	f, err := os.Open(item + "/" + e.File)
	if e.File == "" {
		f, err = os.Open(item)
	}
	if err != nil {
		return "", readError(item+"/"+e.File, err)
	}
	defer f.Close()
	start := max(0, e.Offset-int64(radius))
	buf := make([]byte, int64(radius)*2+HashLen)
	n, err := f.ReadAt(buf, start)
	if err != nil && err != io.EOF {
		return "", readError(item+"/"+e.File, err)
	}
	var b strings.Builder
	for _, c := range buf[:n] {
		if c >= 0x20 && c < 0x7f {
			b.WriteByte(c)
		} else {
			b.WriteByte('.')
		}
	}
	return b.String(), nil
}

// References returns the direct references of every item, by path.
func (g *Graph) References() map[string][]string {
	refs := make(map[string][]string, len(g.Items))
	for p, it := range g.Items {
		refs[p] = it.References
	}
	return refs
}
