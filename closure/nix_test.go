package closure

import (
	"context"
	"encoding/json"
	"os/exec"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/nixstore"
)

// TestNixStore checks gpack's scan against the Nix daemon's database on
// every valid item of the real /nix/store: the references of each item,
// its NAR size, and the closures of the test store's items.
func TestNixStore(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and scans the real Nix store")
	}
	ns := nixstore.New(t)
	out, err := nixstore.Run("nix", "path-info", "--json", "--all")
	if err != nil {
		t.Fatal(err)
	}
	var valid []struct {
		Path       string   `json:"path"`
		NarSize    int64    `json:"narSize"`
		References []string `json:"references"`
	}
	if err := json.Unmarshal([]byte(out), &valid); err != nil {
		t.Fatal(err)
	}
	s, err := OpenStore(ns.Dir)
	if err != nil {
		t.Fatal(err)
	}
	g, err := Compute(context.Background(), s, nil, Options{AllItems: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(valid) < len(ns.Items) {
		t.Fatalf("nix knows %d valid paths, fewer than the test store's %d", len(valid), len(ns.Items))
	}
	for _, v := range valid {
		it := g.Items[v.Path]
		if it == nil {
			t.Errorf("%s: valid in Nix's database, not found by gpack", v.Path)
			continue
		}
		want := append([]string{}, v.References...)
		sort.Strings(want)
		got := append([]string{}, it.References...)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: references\n gpack %v\n nix   %v", v.Path, got, want)
		}
		if it.NarSize != v.NarSize {
			t.Errorf("%s: NAR size %d, nix says %d", v.Path, it.NarSize, v.NarSize)
		}
	}
	t.Logf("compared %d valid items", len(valid))

	// The closure of each test item, through Load as the CLI does, equals
	// nix-store -qR.
	for name, p := range ns.Items {
		out, err := nixstore.Run("nix-store", "-qR", p)
		if err != nil {
			t.Fatal(err)
		}
		want := strings.Fields(out)
		sort.Strings(want)
		g, err := Load(context.Background(), []string{p + "/"}, LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		got := g.Requisites(g.Roots...)
		sort.Strings(got)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: closure\n gpack %v\n nix   %v", name, got, want)
		}
	}
}

// TestNixProfileLink resolves a profile link made by nix-env, a symlink
// chain that ends in a store item.
func TestNixProfileLink(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store")
	}
	ns := nixstore.New(t)
	link := t.TempDir() + "/profile"
	if out, err := exec.Command("ln", "-s", ns.Items["profile"], link).CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	store, item, err := Locate(link+"/bin/grep", "")
	if err != nil || store != "/nix/store" || item != ns.Items["profile"] {
		t.Errorf("Locate(%s/bin/grep) = %s %s %v", link, store, item, err)
	}
}
