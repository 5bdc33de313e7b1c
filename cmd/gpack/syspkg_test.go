package main

import (
	"bytes"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/internal/teststore"
)

// manager is a system package manager as the tests drive it, on a root
// directory of its own.
type manager struct {
	format, ext string
	tool, pkg   string // the command and the Debian package that has it
	// init makes an empty database under root.
	init func(t *testing.T, root string)
	// install installs the packages into root (chroot-style: their paths
	// under root).
	install func(root string, files ...string) ([]byte, error)
	// remove removes the named packages.
	remove func(root string, names ...string) ([]byte, error)
	// installed lists the installed packages' names.
	installed func(root string) ([]byte, error)
}

var managers = []manager{{
	format: "deb", ext: ".deb", tool: "dpkg", pkg: "dpkg",
	init: func(t *testing.T, root string) {
		admin := filepath.Join(root, "var/lib/dpkg")
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
	},
	install: func(root string, files ...string) ([]byte, error) {
		return exec.Command("dpkg", append([]string{"--root=" + root, "-i"}, files...)...).CombinedOutput()
	},
	remove: func(root string, names ...string) ([]byte, error) {
		return exec.Command("dpkg", append([]string{"--root=" + root, "-r"}, names...)...).CombinedOutput()
	},
	installed: func(root string) ([]byte, error) {
		return exec.Command("dpkg-query", "--root="+root, "-W", "-f", "${Package}\n").CombinedOutput()
	},
}, {
	format: "rpm", ext: ".rpm", tool: "rpm", pkg: "rpm",
	init: func(t *testing.T, root string) {
		if b, err := exec.Command("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb").CombinedOutput(); err != nil {
			t.Fatalf("rpm --initdb: %v\n%s", err, b)
		}
	},
	install: func(root string, files ...string) ([]byte, error) {
		return exec.Command("rpm", append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "-i", "--replacepkgs"}, files...)...).CombinedOutput()
	},
	remove: func(root string, names ...string) ([]byte, error) {
		return exec.Command("rpm", append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "-e"}, names...)...).CombinedOutput()
	},
	installed: func(root string) ([]byte, error) {
		return exec.Command("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "-qa", "--qf", "%{NAME}\n").CombinedOutput()
	},
}}

// packages lists the package files of a -f deb/rpm output directory by
// their file names.
func packages(t *testing.T, dir, ext string) map[string]string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ext) {
			t.Fatalf("%s holds %s", dir, e.Name())
		}
		out[e.Name()] = filepath.Join(dir, e.Name())
	}
	return out
}

// inChroot runs argv with root as /, and /proc mounted, in a mount
// namespace of its own.
func inChroot(root string, argv ...string) ([]byte, error) {
	script := `set -e; mount -t proc proc "$0/proc"; exec chroot "$0" "$@"`
	return exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, root}, argv...)...).CombinedOutput()
}

// TestSystemPackages installs two packs that share items into one root,
// runs a program of each there, removes one pack and runs the other's
// program again: the shared items' packages are one, and the package
// manager keeps them while the other pack needs them.
func TestSystemPackages(t *testing.T) {
	need.Root(t)
	need.Tool(t, "unshare", "util-linux")
	ts := teststore.New(t, openTempDir(t))
	for _, m := range managers {
		t.Run(m.format, func(t *testing.T) {
			need.Tool(t, m.tool, m.pkg)
			out := openTempDir(t)
			a := packTo(t, filepath.Join(out, "hello"), "-f", m.format, "-R", ts.Path("hello"))
			b := packTo(t, filepath.Join(out, "script"), "-f", m.format, "-R", ts.Path("script"))
			pa, pb := packages(t, a, m.ext), packages(t, b, m.ext)
			// hello, greet, libc and the pack; script adds dash and itself.
			if len(pa) != 4 || len(pb) != 6 {
				t.Fatalf("packages: %v and %v", pa, pb)
			}
			shared := 0
			for name, p := range pa {
				if q, ok := pb[name]; ok {
					shared++
					x, _ := os.ReadFile(p)
					y, _ := os.ReadFile(q)
					if !bytes.Equal(x, y) {
						t.Errorf("%s differs between the packs", name)
					}
				}
			}
			if shared != 3 {
				t.Errorf("%d packages shared, want 3 (hello, greet, libc)", shared)
			}
			root := openTempDir(t)
			m.init(t, root)
			if err := os.Mkdir(filepath.Join(root, "proc"), 0o555); err != nil {
				t.Fatal(err)
			}
			for _, ps := range []map[string]string{pa, pb} {
				files := slices.Sorted(func(yield func(string) bool) {
					for _, p := range ps {
						if !yield(p) {
							return
						}
					}
				})
				if b, err := m.install(root, files...); err != nil {
					t.Fatalf("install: %v\n%s", err, b)
				}
			}
			hello := "/opt/gpack/hello/bin/hello"
			script := "/opt/gpack/script/bin/greet-script"
			for _, argv := range [][]string{{hello, "one"}, {script, "two"}} {
				b, err := inChroot(root, argv...)
				if err != nil || !strings.Contains(string(b), "hello from the store") {
					t.Errorf("%v in the root: %v\n%s", argv, err, b)
				}
			}
			// The shared libc cannot go while the packs need it.
			libc := ""
			for name := range pa {
				if strings.HasPrefix(name, "libc-") {
					libc, _, _ = strings.Cut(name, "_")
					libc = strings.TrimSuffix(libc, m.ext)
				}
			}
			if b, err := m.remove(root, libc); err == nil {
				t.Errorf("removing %s, which the packs need, succeeded:\n%s", libc, b)
			}
			if b, err := m.remove(root, "gpack-hello"); err != nil {
				t.Fatalf("removing gpack-hello: %v\n%s", err, b)
			}
			if _, err := os.Stat(filepath.Join(root, hello)); err == nil {
				t.Errorf("%s is still there", hello)
			}
			b2, err := inChroot(root, script, "three")
			if err != nil || !strings.Contains(string(b2), "hello from the store") {
				t.Errorf("%s after gpack-hello went: %v\n%s", script, err, b2)
			}
			list, err := m.installed(root)
			if err != nil {
				t.Fatalf("listing: %v\n%s", err, list)
			}
			if n := len(strings.Fields(string(list))); n != len(pb) {
				t.Errorf("%d packages installed, want script's %d:\n%s", n, len(pb), list)
			}
		})
	}
}

// TestRPMPrefix installs the rpm packages of a -R pack with rpm --prefix
// into a directory of the test user's, and runs a wrapper there as that
// user with the store hidden: the items moved with the pack, and the
// launcher finds them.
func TestRPMPrefix(t *testing.T) {
	need.Root(t)
	need.Tool(t, "rpm", "rpm")
	ts := teststore.New(t, openTempDir(t))
	out := packTo(t, filepath.Join(openTempDir(t), "p"), "-f", "rpm", "-R", ts.Path("profile"))
	root := openTempDir(t)
	if b, err := exec.Command("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb").CombinedOutput(); err != nil {
		t.Fatalf("rpm --initdb: %v\n%s", err, b)
	}
	prefix := userDir(t)
	files := slices.Sorted(maps.Values(packages(t, out, ".rpm")))
	// rpm --root R --prefix P installs under R/P: a root of / would need
	// the host's database.
	args := append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "--prefix", prefix, "-i"}, files...)
	if b, err := exec.Command("rpm", args...).CombinedOutput(); err != nil {
		t.Fatalf("rpm %v: %v\n%s", args, err, b)
	}
	pack := root + prefix + "/opt/gpack/profile"
	if _, err := os.Stat(root + prefix + ts.Path("hello")); err != nil {
		t.Fatalf("the items did not move with --prefix: %v", err)
	}
	cwd := userDir(t)
	for _, tt := range []struct {
		argv []string
		out  string
	}{
		{[]string{pack + "/bin/hello", "a b"}, "hello from the store"},
		{[]string{pack + "/bin/greet-script", "x"}, "hello from the store"},
		{[]string{pack + "/bin/sh", "-c", "id -u"}, "65534\n"},
	} {
		r := onTarget(t, ts.Dir, cwd, nil, "", tt.argv...)
		if r.code != 0 || !strings.Contains(r.out, tt.out) {
			t.Errorf("%v: exit %d, %q; want %q", tt.argv, r.code, r.out, tt.out)
		}
	}
}
