package pack

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/teststore"
)

func graph(t *testing.T, ts *teststore.Store, roots ...string) *closure.Graph {
	t.Helper()
	var paths []string
	for _, r := range roots {
		paths = append(paths, ts.Path(r))
	}
	g, err := closure.Load(context.Background(), paths, closure.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func fakeManifest(in ManifestInput) ([]byte, error) {
	programs, entry := in.Programs, in.Entry
	var names []string
	for n := range programs {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, n := range names {
		fmt.Fprintf(&b, "%s=%s\n", n, programs[n])
	}
	if entry != nil {
		fmt.Fprintf(&b, "entry=%q\n", entry)
	}
	return []byte(b.String()), nil
}

var relocatable = Options{
	Relocatable:  true,
	Launcher:     func(string) ([]byte, error) { return []byte("launcher"), nil },
	Manifest:     fakeManifest,
	LauncherPath: ".gpack/launcher",
	ManifestPath: ".gpack/manifest",
	RootDir:      ".gpack/root",
}

func entryMap(tr *Tree) map[string]Entry {
	m := map[string]Entry{}
	for _, e := range tr.Entries {
		m[e.Path] = e
	}
	return m
}

func TestBuild(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	g := graph(t, ts, "profile")
	opts := relocatable
	opts.Symlinks = []LinkRequest{{Link: "/etc/profile", Target: "etc/profile"}, {Link: "/usr/local/bin", Target: "bin"}}
	tr, err := Build(context.Background(), g, opts)
	if err != nil {
		t.Fatal(err)
	}
	store := strings.TrimPrefix(ts.Dir, "/")
	m := entryMap(tr)
	hello := strings.TrimPrefix(ts.Path("hello"), "/")
	profile := strings.TrimPrefix(ts.Path("profile"), "/")
	checks := []struct {
		path   string
		kind   Kind
		mode   os.FileMode
		target string
	}{
		{path: store, kind: Dir, mode: 0o1775},
		{path: strings.Split(store, "/")[0], kind: Dir, mode: 0o755},
		{path: hello, kind: Dir, mode: 0o555},
		{path: hello + "/bin/hello", kind: File, mode: 0o555},
		{path: profile + "/bin/hello", kind: Symlink, mode: 0o777, target: "/" + hello + "/bin/hello"},
		{path: "etc/profile", kind: Symlink, target: "../" + profile + "/etc/profile"},
		{path: "usr/local", kind: Dir, mode: 0o755},
		{path: "usr/local/bin", kind: Symlink, target: "../../" + profile + "/bin"},
		{path: ".gpack/launcher", kind: File, mode: 0o555},
		{path: ".gpack/manifest", kind: File, mode: 0o444},
		{path: ".gpack/root", kind: Dir, mode: 0o555},
		{path: "bin/hello", kind: HardLink, mode: 0o555, target: ".gpack/launcher"},
		{path: "bin/greet-script", kind: HardLink, target: ".gpack/launcher"},
		{path: "bin/sh", kind: HardLink, target: ".gpack/launcher"},
	}
	for _, c := range checks {
		e, ok := m[c.path]
		if !ok {
			t.Errorf("%s: missing", c.path)
			continue
		}
		if e.Kind != c.kind || (c.mode != 0 && e.Mode != c.mode) || (c.target != "" && e.Target != c.target) {
			t.Errorf("%s: %s %o %q, want %s %o %q", c.path, e.Kind, e.Mode, e.Target, c.kind, c.mode, c.target)
		}
	}
	if _, ok := m[strings.TrimPrefix(ts.Path("noref"), "/")]; ok {
		t.Errorf("noref is not in profile's closure but is in the tree")
	}
	if got := tr.Programs["hello"]; got != ts.Path("profile")+"/bin/hello" {
		t.Errorf("program hello runs %s", got)
	}
	if !strings.Contains(string(m[".gpack/manifest"].Data), "hello="+ts.Path("profile")+"/bin/hello\n") {
		t.Errorf("manifest %q", m[".gpack/manifest"].Data)
	}
	if !tr.Mtime.Equal(time.Unix(1, 0)) {
		t.Errorf("mtime %v", tr.Mtime)
	}
	files, bytes := tr.Totals()
	if files < 10 || bytes < 1<<20 {
		t.Errorf("totals %d files, %d bytes", files, bytes)
	}
	// Every file's content matches its source.
	for _, e := range tr.Entries {
		if e.Kind != File || e.Source == "" {
			continue
		}
		r, err := e.Open()
		if err != nil {
			t.Fatal(err)
		}
		r.Close()
	}
}

// addItem writes a new item into a test store: files maps relative paths
// to contents, made executable.
func addItem(t *testing.T, store, name string, files map[string]string) string {
	t.Helper()
	item := filepath.Join(store, teststore.Hash(name)+"-"+name)
	for rel, content := range files {
		p := filepath.Join(item, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return item
}

func TestBuildErrors(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	// Another hello, a file of its own.
	other := addItem(t, ts.Dir, "other-hello", map[string]string{"bin/hello": "#!/bin/sh\necho other\n"})
	otherGraph := func() *closure.Graph {
		g, err := closure.Load(context.Background(), []string{ts.Path("profile"), other}, closure.LoadOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return g
	}
	tests := []struct {
		name  string
		roots []string
		opts  func() Options
		has   string
	}{
		{"collision", nil, func() Options { return relocatable }, "program name hello is offered by both"},
		{"-S over the store", []string{"profile"}, func() Options {
			o := Options{Symlinks: []LinkRequest{{Link: ts.Dir, Target: "bin"}}}
			return o
		}, "replace the store"},
		{"-S target missing", []string{"profile"}, func() Options {
			return Options{Symlinks: []LinkRequest{{Link: "/x", Target: "nothing"}}}
		}, "does not exist"},
		{"-S /bin=etc with -R", []string{"profile"}, func() Options {
			o := relocatable
			o.Symlinks = []LinkRequest{{Link: "/bin", Target: "etc"}}
			return o
		}, "two entries"},
		{"nothing to wrap", []string{"noref"}, func() Options { return relocatable }, "nothing to wrap"},
	}
	for _, tt := range tests {
		g := otherGraph()
		if tt.roots != nil {
			g = graph(t, ts, tt.roots...)
		}
		_, err := Build(context.Background(), g, tt.opts())
		if err == nil || !strings.Contains(err.Error(), tt.has) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.has)
		}
	}
	o := relocatable
	o.FirstWins = true
	tr, err := Build(context.Background(), otherGraph(), o)
	if err != nil || tr.Programs["hello"] != ts.Path("profile")+"/bin/hello" {
		t.Errorf("--collisions=first: %v, hello runs %s", err, tr.Programs["hello"])
	}
}

// TestSameProgram: a profile and the item its bin/hello links to offer
// hello twice, but it is one file: not a collision.
func TestSameProgram(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	tr, err := Build(context.Background(), graph(t, ts, "profile", "hello"), relocatable)
	if err != nil {
		t.Fatalf("profile and hello: %v", err)
	}
	if got := tr.Programs["hello"]; got != ts.Path("profile")+"/bin/hello" {
		t.Errorf("hello runs %s, want the first item's", got)
	}
}

// TestRelocatableBinLink: -R -S /bin=bin, as guix pack users write it,
// makes /bin the wrappers' directory, not a second /bin.
func TestRelocatableBinLink(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	o := relocatable
	o.Symlinks = []LinkRequest{WrappersLink, {Link: "/etc/profile", Target: "etc/profile"}}
	tr, err := Build(context.Background(), graph(t, ts, "profile"), o)
	if err != nil {
		t.Fatal(err)
	}
	m := entryMap(tr)
	if e := m["bin"]; e.Kind != Dir {
		t.Errorf("/bin is a %s, want the wrappers' directory", e.Kind)
	}
	if e := m["bin/hello"]; e.Kind != HardLink {
		t.Errorf("/bin/hello is a %s, want a wrapper", e.Kind)
	}
	if e := m["etc/profile"]; e.Kind != Symlink {
		t.Errorf("the other -S link is a %s", e.Kind)
	}
}

func TestValidate(t *testing.T) {
	good := []Entry{
		{Path: ".gpack", Kind: Dir, Mode: 0o755},
		{Path: ".gpack/launcher", Kind: File, Mode: 0o555, Size: 1, Data: []byte("x")},
		{Path: "bin", Kind: Dir, Mode: 0o755},
		{Path: "bin/a", Kind: HardLink, Mode: 0o555, Target: ".gpack/launcher"},
		{Path: "gnu", Kind: Dir, Mode: 0o755},
		{Path: "gnu/store", Kind: Dir, Mode: 0o1775},
		{Path: "gnu/store/x", Kind: Symlink, Mode: 0o777, Target: "y"},
	}
	if err := Validate(&Tree{Store: "/gnu/store", Entries: good}); err != nil {
		t.Fatalf("good tree: %v", err)
	}
	bad := map[string]func([]Entry) []Entry{
		"unsorted":  func(e []Entry) []Entry { e[0], e[2] = e[2], e[0]; return e },
		"duplicate": func(e []Entry) []Entry { return append(e[:3:3], e[2:]...) },
		"no parent": func(e []Entry) []Entry { return e[1:] },
		"dot dot":   func(e []Entry) []Entry { e[6].Path = "gnu/store/.."; return e },
		"absolute":  func(e []Entry) []Entry { e[0].Path = "/.gpack"; return e },
		"mode bits": func(e []Entry) []Entry { e[0].Mode |= os.ModeDir; return e },
		"store hardlink": func(e []Entry) []Entry {
			e[6] = Entry{Path: "gnu/store/x", Kind: HardLink, Target: ".gpack/launcher"}
			return e
		},
		"dangling link": func(e []Entry) []Entry { e[3].Target = "bin"; return e },
		"empty symlink": func(e []Entry) []Entry { e[6].Target = ""; return e },
		"size mismatch": func(e []Entry) []Entry { e[1].Size = 2; return e },
	}
	for name, f := range bad {
		entries := f(append([]Entry(nil), good...))
		if err := Validate(&Tree{Store: "/gnu/store", Entries: entries}); err == nil {
			t.Errorf("%s: Validate accepted it", name)
		}
	}
}

func TestLess(t *testing.T) {
	paths := []string{"ab", "a.b", "a/b", "a", "a/b/c", "a-b", "b"}
	sort.Slice(paths, func(i, j int) bool { return Less(paths[i], paths[j]) })
	want := "a a/b a/b/c a-b a.b ab b"
	if got := strings.Join(paths, " "); got != want {
		t.Errorf("sorted %q, want %q", got, want)
	}
}
