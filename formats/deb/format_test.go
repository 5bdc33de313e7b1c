package deb_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/deb"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/formats/syspkg/syspkgtest"
	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/pack"
)

// debs lists the .deb files of an output directory.
func debs(t *testing.T, out string) []string {
	t.Helper()
	ds, err := filepath.Glob(filepath.Join(out, "*.deb"))
	if err != nil || len(ds) == 0 {
		t.Fatalf("no .deb in %s (%v)", out, err)
	}
	return ds
}

// extract unpacks every package with dpkg-deb -x into one directory.
func extract(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
	need.Tool(t, "dpkg-deb", "dpkg")
	dir := t.TempDir()
	for _, d := range debs(t, out) {
		if b, err := exec.Command("dpkg-deb", "-x", d, dir).CombinedOutput(); err != nil {
			t.Fatalf("dpkg-deb -x %s: %v\n%s", d, err, b)
		}
	}
	return syspkgtest.Unprefix(formattest.ReadDir(t, dir), "")
}

// install installs every package with dpkg into an empty root.
func install(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
	need.Tool(t, "dpkg", "dpkg")
	need.Root(t)
	root := t.TempDir()
	admin := t.TempDir()
	dpkgInit(t, admin)
	args := append([]string{"--instdir=" + root, "--admindir=" + admin, "--force-script-chrootless", "--force-not-root", "-i"}, debs(t, out)...)
	if b, err := exec.Command("dpkg", args...).CombinedOutput(); err != nil {
		t.Fatalf("dpkg %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	es := syspkgtest.Unprefix(formattest.ReadDir(t, root), "")
	// dpkg sets the mtime of files and links from the package, not of
	// the directories it creates (dpkg-deb -x above checks the
	// package's).
	for i := range es {
		if es[i].Kind == pack.Dir {
			es[i].Mtime = time.Time{}
		}
	}
	return es
}

// dpkgInit makes admin an empty dpkg database.
func dpkgInit(t *testing.T, admin string) {
	t.Helper()
	for _, d := range []string{"updates", "info", "triggers"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"status", "available"} {
		if err := os.WriteFile(filepath.Join(admin, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format: deb.Format,
		Readers: []formattest.Reader{
			{Name: "dpkg-deb -x", Read: extract},
			{Name: "dpkg -i", Read: install},
		},
		Tree: noNewlines,
	})
}

// noNewlines drops the suite's names with a newline, which dpkg refuses
// (TestNewline).
func noNewlines(_ *testing.T, tr *pack.Tree) *pack.Tree {
	c := *tr
	c.Entries = nil
	for _, e := range tr.Entries {
		if !strings.Contains(e.Path, "\n") {
			c.Entries = append(c.Entries, e)
		}
	}
	return &c
}
