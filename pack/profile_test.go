package pack

import (
	"context"
	"encoding/hex"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/need"
)

// profileStore makes four items: a and b share bin/ and share/, b and c
// offer bin/x, the same bytes in b and c, other bytes in d.
func profileStore(t *testing.T) (store string, a, b, c, d string) {
	store = t.TempDir()
	elf, err := os.ReadFile("/bin/true") // -R needs an ELF file to tell the architecture
	if err != nil {
		t.Fatal(err)
	}
	a = addItem(t, store, "a", map[string]string{"bin/a": "#!/bin/sh\necho a\n", "share/man/man1/a.1": "a", "share/a.txt": "a"})
	b = addItem(t, store, "b", map[string]string{"bin/b": "#!/bin/sh\necho b\n", "bin/x": "same", "share/doc/b/README": "b", "manifest": "b's manifest"})
	c = addItem(t, store, "c", map[string]string{"bin/x": "same", "lib/libc.so": string(elf), "manifest": "c's manifest"})
	d = addItem(t, store, "d", map[string]string{"bin/x": "other"})
	return
}

func TestProfileUnion(t *testing.T) {
	store, a, b, c, _ := profileStore(t)
	p, err := NewProfile(store, []string{a, b, c}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9abcdfghijklmnpqrsvwxyz]{32}-profile$`).MatchString(filepath.Base(p.Path)) || filepath.Dir(p.Path) != store {
		t.Errorf("profile path %s: want %s/<nix-base32 hash>-profile", p.Path, store)
	}
	want := map[string]string{
		"bin/a":       a + "/bin/a",
		"bin/b":       b + "/bin/b",
		"bin/x":       b + "/bin/x", // c's is the same bytes: the first stays
		"share/man":   a + "/share/man",
		"share/a.txt": a + "/share/a.txt",
		"share/doc":   b + "/share/doc",
		"lib":         c + "/lib",
	}
	got := p.Links()
	if len(got) != len(want) {
		t.Errorf("links %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s -> %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["manifest"]; ok {
		t.Errorf("the items' manifest files are in the union")
	}

	// The view: the union's own directories, its links, and the host
	// through them.
	for _, tc := range []struct {
		path string
		mode fs.FileMode // type bits of Lstat
		stat bool        // Stat finds a regular file
	}{
		{p.Path, fs.ModeDir, false},
		{p.Path + "/bin", fs.ModeDir, false},
		{p.Path + "/bin/a", fs.ModeSymlink, true},
		{p.Path + "/share/man/man1/a.1", 0, true},
	} {
		fi, err := p.Lstat(tc.path)
		if err != nil || fi.Mode().Type() != tc.mode {
			t.Errorf("Lstat %s: %v, %v; want type %v", tc.path, fi, err, tc.mode)
		}
		fi, err = p.Stat(tc.path)
		if err != nil || fi.Mode().IsRegular() != tc.stat {
			t.Errorf("Stat %s: %v, %v", tc.path, fi, err)
		}
	}
	if _, err := p.Stat(p.Path + "/bin/nothing"); !os.IsNotExist(err) {
		t.Errorf("Stat of a missing name: %v, want not-exist", err)
	}
	ents, err := p.ReadDir(p.Path + "/bin")
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if err != nil || !slices.Equal(names, []string{"a", "b", "x"}) {
		t.Errorf("ReadDir bin: %v, %v", names, err)
	}
	if real, err := p.EvalSymlinks(p.Path + "/share/man/man1/a.1"); err != nil || real != a+"/share/man/man1/a.1" {
		t.Errorf("EvalSymlinks: %s, %v", real, err)
	}
	if host, err := p.Stat(a + "/bin/a"); err != nil || !host.Mode().IsRegular() {
		t.Errorf("a host path through the view: %v, %v", host, err)
	}
	var none *Profile
	if _, err := none.Stat(a + "/bin/a"); err != nil {
		t.Errorf("a nil profile is the host: %v", err)
	}
}

func TestProfileConflicts(t *testing.T) {
	store, a, b, c, d := profileStore(t)
	_, err := NewProfile(store, []string{a, b, d}, false)
	if err == nil || !strings.Contains(err.Error(), "two different files") || !strings.Contains(err.Error(), b) || !strings.Contains(err.Error(), d) {
		t.Errorf("b and d's bin/x: %v; want a conflict naming both", err)
	}
	p, err := NewProfile(store, []string{d, b}, true)
	if err != nil || p.Links()["bin/x"] != d+"/bin/x" {
		t.Errorf("--collisions=first: %v, bin/x -> %s; want d's", err, p.Links()["bin/x"])
	}
	// A file where another item has a directory.
	e := addItem(t, store, "e", map[string]string{"share": "a file"})
	if _, err := NewProfile(store, []string{a, e}, false); err == nil || !strings.Contains(err.Error(), "two different files") {
		t.Errorf("a file over a directory: %v", err)
	}
	_ = c
}

// TestProfileDeterministic: the same items in the same order give the
// same path; another order or another item, another path.
func TestProfileDeterministic(t *testing.T) {
	store, a, b, c, _ := profileStore(t)
	paths := map[string]bool{}
	for _, items := range [][]string{{a, b, c}, {a, b, c}, {c, b, a}, {a, b}} {
		p, err := NewProfile(store, items, false)
		if err != nil {
			t.Fatal(err)
		}
		paths[p.Path] = true
	}
	if len(paths) != 3 {
		t.Errorf("%d distinct profile paths for 3 distinct item lists: %v", len(paths), paths)
	}
}

// TestNixBase32 compares with Nix's own base32.
func TestNixBase32(t *testing.T) {
	tool := need.Tool(t, "nix-hash", "nix-bin")
	for _, h := range []string{
		"0000000000000000000000000000000000000000000000000000000000000000",
		"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
		"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
		"0123456789abcdef0123456789abcdef01234567",
	} {
		out, err := exec.Command(tool, "--type", map[int]string{64: "sha256", 40: "sha1"}[len(h)], "--to-base32", h).Output()
		if err != nil {
			t.Fatalf("nix-hash: %v", err)
		}
		b, _ := hex.DecodeString(h)
		if got, want := nixBase32(b), strings.TrimSpace(string(out)); got != want {
			t.Errorf("%s: %s, nix-hash says %s", h, got, want)
		}
	}
}

// TestBuildProfile: a tree of several items with a profile holds the
// profile as an item, and -R's wrappers and -S links use it.
func TestBuildProfile(t *testing.T) {
	store, a, b, c, _ := profileStore(t)
	g, err := closure.Load(context.Background(), []string{a, b, c}, closure.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewProfile(store, []string{a, b, c}, false)
	if err != nil {
		t.Fatal(err)
	}
	opts := relocatable
	opts.Profile = p
	opts.Symlinks = []LinkRequest{{Link: "/share", Target: "share"}, {Link: "/lib", Target: "lib"}}
	tr, err := Build(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Profile != p.Path || !slices.Contains(tr.Items, p.Path) || tr.Items[len(tr.Items)-1] != p.Path {
		t.Errorf("tree profile %s, items %v; want %s last", tr.Profile, tr.Items, p.Path)
	}
	if want := map[string]string{"a": p.Path + "/bin/a", "b": p.Path + "/bin/b", "x": p.Path + "/bin/x"}; !mapsEqual(tr.Programs, want) {
		t.Errorf("wrappers run %v, want %v", tr.Programs, want)
	}
	m := entryMap(tr)
	rel := strings.TrimPrefix(p.Path, "/")
	if e := m[rel+"/bin"]; e.Kind != Dir {
		t.Errorf("profile bin/ is a %s", e.Kind)
	}
	if e := m[rel+"/bin/a"]; e.Kind != Symlink || e.Target != a+"/bin/a" {
		t.Errorf("profile bin/a: %+v", e)
	}
	for _, path := range []string{"share/man/man1/a.1", "share/doc/b/README", "lib/libc.so", rel + "/bin/x"} {
		if e, ok := tr.Resolve(path); !ok || e.Kind != File {
			t.Errorf("%s does not resolve to a file in the tree: %v %v", path, e, ok)
		}
	}
	// With the profile, the entry point and images' /bin are the
	// profile's.
	if ep, err := EntryPoint(g, p, "bin/b"); err != nil || ep != p.Path+"/bin/b" {
		t.Errorf("EntryPoint bin/b: %s, %v", ep, err)
	}
	links := (&Options{Profile: p}).ImageLinks(p.Path)
	if !slices.Contains(links, WrappersLink) {
		t.Errorf("images of the profile get no /bin: %v", links)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
