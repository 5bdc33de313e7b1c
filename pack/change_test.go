package pack

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/teststore"
)

// miniStore is a store of one item, app, holding the files given (path
// inside the item to content) with the modes given, and its closure.
func miniStore(t *testing.T, files map[string]string, modes map[string]os.FileMode) (string, *closure.Graph) {
	t.Helper()
	app := filepath.Join(t.TempDir(), "store", teststore.Hash("app")+"-app")
	for rel, content := range files {
		p := filepath.Join(app, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for rel, mode := range modes {
		if err := os.Chmod(filepath.Join(app, rel), mode); err != nil {
			t.Fatal(err)
		}
	}
	g, err := closure.Load(context.Background(), []string{app}, closure.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return app, g
}

// laterCtime waits until the file system's clock has moved past path's
// ctime, so that a change now gives path another ctime (file times come
// from a coarse clock). It waits for a fact, not for a time.
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
		if closure.StampOf(pi).Ctime > closure.StampOf(fi).Ctime {
			return
		}
	}
}

// rewrite writes over path in place with as many bytes, and puts its
// mtime back: only the ctime tells.
func rewrite(t *testing.T, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteAt([]byte(strings.Repeat("Y", int(fi.Size()))), 0); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := os.Chtimes(path, fi.ModTime(), fi.ModTime()); err != nil {
		t.Fatal(err)
	}
}

// TestRewriteInPlace rewrites a store file in place, with its size and
// mtime, at each point of a pack after the closure scan: before the tree
// is built, between the tree and the read, and while the format reads it
// (through the test hook, once its bytes are read, so the window is there
// on every run). Each must fail as "changed while gpack read it".
func TestRewriteInPlace(t *testing.T) {
	for _, when := range []string{"before Build", "before Open", "while read"} {
		t.Run(when, func(t *testing.T) {
			app, g := miniStore(t, map[string]string{"share/data": strings.Repeat("x", 100<<10)}, nil)
			file := filepath.Join(app, "share/data")
			laterCtime(t, file)
			if when == "before Build" {
				rewrite(t, file)
			}
			tr, err := Build(context.Background(), g, Options{})
			if when == "before Build" {
				if err == nil || !strings.Contains(err.Error(), file+": changed while gpack read it") {
					t.Errorf("Build: %v, want it to say %s changed", err, file)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var e *Entry
			for i := range tr.Entries {
				if tr.Entries[i].Source == file {
					e = &tr.Entries[i]
				}
			}
			switch when {
			case "before Open":
				rewrite(t, file)
			case "while read":
				beforeLastStat = func(p string) {
					if p == file {
						rewrite(t, file)
					}
				}
				defer func() { beforeLastStat = nil }()
			}
			r, err := e.Open()
			if err == nil {
				_, err = io.Copy(io.Discard, r)
				r.Close()
			}
			if err == nil || !strings.Contains(err.Error(), file+": changed while gpack read it") {
				t.Errorf("reading %s: %v, want it to say it changed", file, err)
			}
		})
	}
}

// TestSetIDCleared: the set-user-ID and set-group-ID bits of store files
// and directories are cleared in the tree (every format writes the tree's
// modes), the sticky bit and the rest are kept, and one warning names the
// files.
func TestSetIDCleared(t *testing.T) {
	app, g := miniStore(t, map[string]string{"bin/su": "#!/bin/sh\n", "bin/wall": "#!/bin/sh\n", "share/x": "x"},
		map[string]os.FileMode{"bin/su": 0o755 | os.ModeSetuid, "bin/wall": 0o755 | os.ModeSetgid, "share": 0o755 | os.ModeSetgid | os.ModeSticky})
	tr, err := Build(context.Background(), g, Options{})
	if err != nil {
		t.Fatal(err)
	}
	m := entryMap(tr)
	rel := strings.TrimPrefix(app, "/")
	for p, want := range map[string]os.FileMode{"bin/su": 0o755, "bin/wall": 0o755, "share": 0o1755, "share/x": 0o644} {
		if got := m[rel+"/"+p].Mode; got != want {
			t.Errorf("%s: mode %o, want %o", p, got, want)
		}
	}
	w := tr.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "3 files") {
		t.Fatalf("warnings %q, want one about 3 files", w)
	}
	for _, p := range []string{"bin/su", "bin/wall", "share"} {
		if !strings.Contains(w[0], app+"/"+p) {
			t.Errorf("warning %q does not name %s", w[0], p)
		}
	}
}
