package closure

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/teststore"
)

func synthetic(t *testing.T) (*teststore.Store, *Store) {
	t.Helper()
	ts := teststore.New(t, t.TempDir())
	s, err := OpenStore(ts.Dir)
	if err != nil {
		t.Fatal(err)
	}
	return ts, s
}

// TestReferences compares every item's scanned references with the ground
// truth the test store was built with.
func TestReferences(t *testing.T) {
	ts, s := synthetic(t)
	g, err := Compute(context.Background(), s, nil, Options{AllItems: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Items) != len(ts.Items) {
		t.Fatalf("graph has %d items, store %d", len(g.Items), len(ts.Items))
	}
	for name, p := range ts.Items {
		var want []string
		for _, r := range ts.Refs[name] {
			want = append(want, ts.Path(r))
		}
		sort.Strings(want)
		got := g.Items[p].References
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: references %v, want %v", name, got, want)
		}
		if len(g.Items[p].Missing) > 0 {
			t.Errorf("%s: missing %v", name, g.Items[p].Missing)
		}
	}
}

// TestClosure checks closures and their order on the synthetic store: each
// item after its references, ties by path.
func TestClosure(t *testing.T) {
	ts, s := synthetic(t)
	for name := range ts.Items {
		g, err := Compute(context.Background(), s, []string{ts.Path(name)}, Options{})
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		var walk func(string)
		walk = func(n string) {
			if want[ts.Path(n)] {
				return
			}
			want[ts.Path(n)] = true
			for _, r := range ts.Refs[n] {
				walk(r)
			}
		}
		walk(name)
		order := g.Requisites(g.Roots...)
		if len(order) != len(want) {
			t.Errorf("%s: closure %v, want %v", name, order, want)
		}
		pos := map[string]int{}
		for i, p := range order {
			if !want[p] {
				t.Errorf("%s: %s is not in the closure", name, p)
			}
			pos[p] = i
		}
		for _, p := range order {
			for _, r := range g.Items[p].References {
				if r != p && pos[r] > pos[p] {
					t.Errorf("%s: %s comes before its reference %s", name, p, r)
				}
			}
		}
	}
}

func TestOrderTies(t *testing.T) {
	g := &Graph{Items: map[string]*Item{
		"/s/d": {Path: "/s/d", References: []string{"/s/b", "/s/c", "/s/d"}},
		"/s/c": {Path: "/s/c", References: []string{"/s/a"}},
		"/s/b": {Path: "/s/b", References: []string{"/s/a"}},
		"/s/a": {Path: "/s/a"},
		"/s/e": {Path: "/s/e", References: []string{"/s/f"}}, // a cycle
		"/s/f": {Path: "/s/f", References: []string{"/s/e"}},
	}}
	want := []string{"/s/a", "/s/b", "/s/c", "/s/d", "/s/e", "/s/f"}
	if got := g.Order(); !reflect.DeepEqual(got, want) {
		t.Errorf("Order() = %v, want %v", got, want)
	}
}

// TestDeterministic checks that one worker and many give the same graph.
func TestDeterministic(t *testing.T) {
	ts, s := synthetic(t)
	var first *Graph
	for _, w := range []int{1, 2, 16} {
		for _, chunk := range []int{64, 0} {
			g, err := Compute(context.Background(), s, []string{ts.Path("profile"), ts.Path("binref")}, Options{Workers: w, ChunkSize: chunk})
			if err != nil {
				t.Fatal(err)
			}
			if first == nil {
				first = g
				continue
			}
			if !reflect.DeepEqual(g.Items, first.Items) || !reflect.DeepEqual(g.Order(), first.Order()) {
				t.Errorf("workers %d, chunk %d: graph differs", w, chunk)
			}
		}
	}
}

// narDump serialises a path as Nix's NAR format does, written here again
// the slow way so that the sizes Compute adds up are checked against it.
func narDump(w io.Writer, p string) error {
	str := func(s string) {
		var n [8]byte
		binary.LittleEndian.PutUint64(n[:], uint64(len(s)))
		w.Write(n[:])
		io.WriteString(w, s)
		w.Write(make([]byte, (8-len(s)%8)%8))
	}
	var node func(string) error
	node = func(p string) error {
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		str("(")
		str("type")
		switch {
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			str("symlink")
			str("target")
			str(t)
		case fi.IsDir():
			str("directory")
			ents, err := os.ReadDir(p)
			if err != nil {
				return err
			}
			for _, e := range ents {
				str("entry")
				str("(")
				str("name")
				str(e.Name())
				str("node")
				if err := node(filepath.Join(p, e.Name())); err != nil {
					return err
				}
				str(")")
			}
		default:
			str("regular")
			if fi.Mode()&0o100 != 0 {
				str("executable")
				str("")
			}
			str("contents")
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			str(string(b))
		}
		str(")")
		return nil
	}
	str("nix-archive-1")
	return node(p)
}

type counter int64

func (c *counter) Write(p []byte) (int, error) { *c += counter(len(p)); return len(p), nil }

func TestNarSize(t *testing.T) {
	ts, s := synthetic(t)
	g, err := Compute(context.Background(), s, nil, Options{AllItems: true})
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range ts.Items {
		var n counter
		if err := narDump(&n, p); err != nil {
			t.Fatal(err)
		}
		if got := g.Items[p].NarSize; got != int64(n) {
			t.Errorf("%s: NarSize %d, NAR has %d bytes", name, got, n)
		}
	}
}

func TestLocate(t *testing.T) {
	ts, _ := synthetic(t)
	root := filepath.Dir(ts.Dir)
	hello := ts.Path("hello")
	profile := ts.Path("profile")
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	links := t.TempDir()
	must(os.Symlink(profile, filepath.Join(links, "profile-1-link")))
	must(os.Symlink("profile-1-link", filepath.Join(links, "profile")))
	must(os.Symlink(filepath.Join(links, "profile"), filepath.Join(links, "home-profile")))
	must(os.Symlink(ts.Dir+"/"+teststore.Hash("gone")+"-gone", filepath.Join(links, "result")))
	must(os.Symlink(filepath.Join(links, "nothing"), filepath.Join(links, "dangling")))
	must(os.Mkdir(filepath.Join(links, "notstore"), 0o755))
	os.Chmod(ts.Dir, 0o755)
	must(os.Mkdir(filepath.Join(ts.Dir, "not-an-item"), 0o755))

	tests := []struct {
		path, store string
		item        string // "" when an error is expected
		errHas      string
	}{
		{path: hello, item: hello},
		{path: hello + "/bin/hello", item: hello},
		{path: hello + "/bin/../bin/hello", item: hello},
		{path: hello + "/bin/hello", store: ts.Dir, item: hello},
		{path: profile + "/bin/hello", item: profile}, // a path in an item names that item, as in nix-store
		{path: filepath.Join(links, "home-profile"), item: profile},
		{path: filepath.Join(links, "home-profile") + "/bin/hello", item: profile},
		{path: filepath.Join(links, "nope"), errHas: "no such file or directory"},
		{path: filepath.Join(links, "notstore"), errHas: "not in a store"},
		{path: hello, store: root, errHas: "malformed store item name"},
		{path: filepath.Join(ts.Dir, "not-an-item"), errHas: "malformed store item name"},
		{path: filepath.Join(links, "result"), errHas: "dangling symlink"},
		{path: filepath.Join(links, "dangling"), errHas: "dangling symlink"},
		{path: filepath.Join(links, "notstore"), store: ts.Dir, errHas: "not in the store"},
	}
	for _, tt := range tests {
		st, item, err := Locate(tt.path, tt.store)
		if tt.item != "" {
			if err != nil || item != tt.item || st != ts.Dir {
				t.Errorf("Locate(%s, %q) = %s, %s, %v; want %s", tt.path, tt.store, st, item, err, tt.item)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.errHas) {
			t.Errorf("Locate(%s, %q): error %v, want one with %q", tt.path, tt.store, err, tt.errHas)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Locate(%s): error spans lines: %q", tt.path, err)
		}
	}
}

func TestValidName(t *testing.T) {
	for name, want := range map[string]bool{
		hashA + "-hello-2.12":  true,
		hashA + "-a+b_c?d=e.f": true,
		hashA + "-":            false,
		hashA + "-.hidden":     false,
		hashA + "-new\nline":   false,
		hashA[:31] + "-short":  false,
		"e" + hashA[1:] + "-x": false,
		hashA + "_x":           false,
		hashA + "-caf\xc3\xa9": false,
	} {
		if ValidName(name) != want {
			t.Errorf("ValidName(%q) = %v", name, !want)
		}
	}
}

func TestDrvReferences(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.drv")
	os.WriteFile(p, []byte(`Derive([("out","/nix/store/`+hashA+`-x","","")],[("/nix/store/`+hashC+`-y.drv",["out"])],["/nix/store/`+hashM+`-src"],"x86_64-linux","/bin/sh",["-c","echo \"/nix/store/`+hashB+`-y\""],[("PATH","/bin")])`), 0o644)
	got, ok, err := drvReferences(p)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !reflect.DeepEqual(got, map[string]bool{hashC: true, hashM: true}) {
		t.Errorf("references %v", got)
	}
	os.WriteFile(p, []byte("not a derivation"), 0o644)
	if _, ok, err := drvReferences(p); ok || err != nil {
		t.Errorf("a text file named .drv: ok %v, err %v", ok, err)
	}
}

// laterCtime waits until the file system's clock has moved past the ctime
// of path, so that a change to path now gives it another ctime: file times
// come from a coarse clock, and a rewrite within one of its ticks would
// keep the ctime. It waits for a fact, not for a time.
func laterCtime(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	probe := filepath.Join(t.TempDir(), "probe")
	for {
		if err := os.WriteFile(probe, nil, 0o644); err != nil {
			t.Fatal(err)
		}
		pi, err := os.Stat(probe)
		if err != nil {
			t.Fatal(err)
		}
		if StampOf(pi).Ctime > StampOf(fi).Ctime {
			return
		}
	}
}

// rewriteInPlace writes content over path without changing its size and,
// with keepMtime, puts its mtime back as a careful tool would: only the
// ctime tells.
func rewriteInPlace(t *testing.T, path, content string, keepMtime bool) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(content)) != fi.Size() {
		t.Fatalf("rewrite of %d bytes over %d", len(content), fi.Size())
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(content), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if keepMtime {
		if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
	}
}

// TestRewriteInPlace rewrites a file while it is scanned (after its bytes
// are read, through the test hook, so the window is there on every run):
// with the same size, and with its mtime put back too. The scan read the
// old bytes, which do not refer to the item the new ones name, so the
// closure would miss it: Compute must fail instead.
func TestRewriteInPlace(t *testing.T) {
	for _, keepMtime := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep mtime %v", keepMtime), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			dep := filepath.Join(dir, teststore.Hash("dep")+"-dep")
			app := filepath.Join(dir, teststore.Hash("app")+"-app")
			for _, d := range []string{dep, app} {
				if err := os.MkdirAll(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(dep, "lib"), []byte("library"), 0o644); err != nil {
				t.Fatal(err)
			}
			target := filepath.Join(app, "config")
			newContent := "uses " + dep + "/lib\n"
			if err := os.WriteFile(target, []byte(strings.Repeat("x", len(newContent))), 0o644); err != nil {
				t.Fatal(err)
			}
			laterCtime(t, target)
			s, err := OpenStore(dir)
			if err != nil {
				t.Fatal(err)
			}
			afterScan = func(p string) {
				if p == target {
					rewriteInPlace(t, target, newContent, keepMtime)
				}
			}
			defer func() { afterScan = nil }()
			g, err := Compute(context.Background(), s, []string{app}, Options{})
			if err == nil {
				t.Fatalf("a file rewritten while it was scanned went unnoticed; the closure is %v", g.Requisites(app))
			}
			if !strings.Contains(err.Error(), target+": changed while gpack read it") {
				t.Errorf("error %q, want it to say %s changed while gpack read it", err, target)
			}
		})
	}
}
