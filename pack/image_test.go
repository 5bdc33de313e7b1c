package pack

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/teststore"
	"github.com/gpack/gpack/internal/usererr"
)

// TestEntryPoint: the three spellings users give mean one program, and
// what is not a program of the closure is a usage error that says so.
func TestEntryPoint(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	g := graph(t, ts, "profile")
	profile, hello := ts.Path("profile"), ts.Path("hello")
	for _, tc := range []struct {
		in, want, err string
	}{
		{"", "", ""},
		{"bin/hello", profile + "/bin/hello", ""},
		{"/bin/hello", profile + "/bin/hello", ""},
		{"./bin//hello", profile + "/bin/hello", ""},
		{profile + "/bin/hello", profile + "/bin/hello", ""},
		{hello + "/bin/hello", hello + "/bin/hello", ""}, // another item of the closure
		{"bin/nothing", "", "does not exist"},
		{"bin", "", "is a directory"},
		{ts.Path("noref") + "/share/data.txt", "", "not inside an item of the closure"},
		{"../../../etc/passwd", "", "is outside the profile"},
		{"../" + filepath.Base(hello) + "/bin/hello", "", hello + "/bin/hello is outside the profile " + profile},
		{"etc/profile", "", profile + "/etc/profile cannot be executed"},
	} {
		got, err := EntryPoint(g, nil, tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || usererr.KindOf(err) != usererr.Usage {
				t.Errorf("EntryPoint(%q): %q, %v; want a usage error saying %q", tc.in, got, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("EntryPoint(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

func TestImageLinks(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	profile := ts.Path("profile")
	etc := LinkRequest{Link: "/etc", Target: "etc"}
	for _, tc := range []struct {
		name        string
		links       []LinkRequest
		profile     string
		relocatable bool
		want        []LinkRequest
	}{
		{"adds /bin", []LinkRequest{etc}, profile, false, []LinkRequest{etc, WrappersLink}},
		{"-S /bin given", []LinkRequest{{Link: "/bin", Target: "sbin"}}, profile, false, []LinkRequest{{Link: "/bin", Target: "sbin"}}},
		{"-R", nil, profile, true, nil},
		{"no bin/", nil, ts.Path("noref"), false, nil},
	} {
		got := (&Options{Symlinks: tc.links, Relocatable: tc.relocatable}).ImageLinks(tc.profile)
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if got[i] != tc.want[i] {
				t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
			}
		}
	}
}

// TestResolve follows links inside the tree as a container would: /bin/sh
// through -S /bin=bin, the profile's absolute link into the store, and
// relative links.
func TestResolve(t *testing.T) {
	ts := teststore.New(t, t.TempDir())
	g := graph(t, ts, "profile")
	tr, err := Build(context.Background(), g, Options{Symlinks: []LinkRequest{WrappersLink, {Link: "/loop", Target: "bin"}}})
	if err != nil {
		t.Fatal(err)
	}
	tr.Entries = append(tr.Entries, Entry{Path: "zloop", Kind: Symlink, Target: "zloop"}, Entry{Path: "zup", Kind: Symlink, Target: "bin/../bin/sh"})
	dash := strings.TrimPrefix(ts.Path("dash"), "/")
	for _, tc := range []struct {
		path string
		want string // the entry's path, "" for none
	}{
		{"bin/sh", dash + "/bin/sh"},
		{"/bin/sh", dash + "/bin/sh"},
		{"bin", strings.TrimPrefix(ts.Path("profile"), "/") + "/bin"},
		{"zup", dash + "/bin/sh"},
		{"bin/nothing", ""},
		{"zloop", ""},
		{"", ""},
	} {
		e, ok := tr.Resolve(tc.path)
		switch {
		case tc.want == "" && ok:
			t.Errorf("Resolve(%q) = %s, want nothing", tc.path, e.Path)
		case tc.want != "" && (!ok || e.Path != tc.want):
			t.Errorf("Resolve(%q) = %v, %v; want %s", tc.path, e, ok, tc.want)
		}
	}
}
