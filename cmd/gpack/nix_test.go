package main

import (
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/nixstore"
)

// TestNixClosureCommand runs gpack closure, as an unprivileged user, on the
// real Nix store's items and compares it with nix-store -qR: the same set,
// and gpack's order puts every item after its references.
func TestNixClosureCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store")
	}
	ns := nixstore.New(t)
	for name, p := range ns.Items {
		out, err := nixstore.Run("nix-store", "-qR", p)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(out)
		sort.Strings(want)
		r := gpack(t, nobody, "closure", p)
		if r.code != 0 {
			t.Fatalf("%s: exit %d: %s", name, r.code, r.stderr)
		}
		got := lines(r.stdout)
		pos := map[string]int{}
		for i, q := range got {
			pos[q] = i
		}
		for _, q := range got {
			refs, err := nixstore.Run("nix-store", "-q", "--references", q)
			if err != nil {
				t.Fatal(err)
			}
			for _, ref := range strings.Fields(refs) {
				if pos[ref] > pos[q] {
					t.Errorf("%s: %s comes before its reference %s", name, q, ref)
				}
			}
		}
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: gpack closure\n%v\nnix-store -qR\n%v", name, got, want)
		}
	}
	// A path inside an item names the item: profile -> some program -> pcre2.
	r := gpack(t, nobody, "why", ns.Items["profile"]+"/bin/grep", "pcre2")
	if l := lines(r.stdout); r.code != 0 || len(l) != 5 || l[0] != ns.Items["profile"] || !strings.HasSuffix(l[3], ns.Items["pcre2"]) {
		t.Errorf("why profile pcre2: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
