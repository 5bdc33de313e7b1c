package main

import (
	"bytes"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/target"
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

// sideBySide is two packs that share items, each with a program to run
// once installed at /, and what it prints.
type sideBySide struct {
	a, b       string   // the root items; b's pack stays
	flagsA     []string // a's flags (b's: -R)
	runA, runB []string // programs of each
	out        string   // what they both print
	shared     int      // items both packs hold
}

// TestSystemPackages installs two packs that share items into one root,
// runs a program of each there, removes one pack and runs the other's
// program again: the shared items' packages are one, and the package
// manager keeps them while the other pack needs them. The packs are of
// the synthetic store (hello and a script that runs it) and of the real
// Nix store (bash and a script of coreutils, both on glibc).
func TestSystemPackages(t *testing.T) {
	need.Root(t)
	need.Tool(t, "unshare", "util-linux")
	ts := teststore.New(t, openTempDir(t))
	cases := map[string]func(t *testing.T) sideBySide{
		"teststore": func(t *testing.T) sideBySide {
			// hello's pack has no launcher: its bin/ is a -S link into
			// the store.
			return sideBySide{ts.Path("hello"), ts.Path("script"), []string{"-S", "/bin=bin"},
				[]string{"/opt/gpack/hello/bin/hello", "one"}, []string{"/opt/gpack/script/bin/greet-script", "two"}, "hello from the store", 3}
		},
		"nix": func(t *testing.T) sideBySide {
			if testing.Short() {
				t.Skip("uses the real Nix store")
			}
			ns := nixstore.New(t)
			return sideBySide{ns.Items["bash"], ns.Items["hello-script"], []string{"-R"},
				[]string{"/opt/gpack/bash/bin/bash", "-c", "echo hello from nix"}, []string{"/opt/gpack/hello-script/bin/hello-script"}, "hello from nix", 1}
		},
	}
	for _, m := range managers {
		for _, store := range slices.Sorted(maps.Keys(cases)) {
			t.Run(m.format+"/"+store, func(t *testing.T) {
				need.Tool(t, m.tool, m.pkg)
				c := cases[store](t)
				installSideBySide(t, m, c)
			})
		}
	}
}

func installSideBySide(t *testing.T, m manager, c sideBySide) {
	out := openTempDir(t)
	a := packTo(t, filepath.Join(out, "a"), append(append([]string{"-f", m.format}, c.flagsA...), c.a)...)
	b := packTo(t, filepath.Join(out, "b"), "-f", m.format, "-R", c.b)
	pa, pb := packages(t, a, m.ext), packages(t, b, m.ext)
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
	if shared < c.shared {
		t.Errorf("%d packages shared, want %d or more:\n%v\n%v", shared, c.shared, slices.Sorted(maps.Keys(pa)), slices.Sorted(maps.Keys(pb)))
	}
	root := openTempDir(t)
	m.init(t, root)
	if err := os.Mkdir(filepath.Join(root, "proc"), 0o555); err != nil {
		t.Fatal(err)
	}
	for _, ps := range []map[string]string{pa, pb} {
		if b, err := m.install(root, slices.Sorted(maps.Values(ps))...); err != nil {
			t.Fatalf("install: %v\n%s", err, b)
		}
	}
	for _, argv := range [][]string{c.runA, c.runB} {
		b, err := inChroot(root, argv...)
		if err != nil || !strings.Contains(string(b), c.out) {
			t.Errorf("%v in the root: %v\n%s", argv, err, b)
		}
	}
	// A shared item cannot go while the packs need it.
	var sharedName string
	for name := range pa {
		if _, ok := pb[name]; ok && !strings.HasPrefix(name, "gpack-") {
			sharedName = packageName(name, m)
		}
	}
	if b, err := m.remove(root, sharedName); err == nil {
		t.Errorf("removing %s, which the packs need, succeeded:\n%s", sharedName, b)
	}
	// Removing pack a: its pack package, and the items b does not hold.
	drop := []string{}
	for name := range pa {
		if _, ok := pb[name]; !ok {
			drop = append(drop, packageName(name, m))
		}
	}
	if b, err := m.remove(root, drop...); err != nil {
		t.Fatalf("removing %v: %v\n%s", drop, err, b)
	}
	if _, err := os.Stat(filepath.Join(root, c.runA[0])); err == nil {
		t.Errorf("%s is still there", c.runA[0])
	}
	b2, err := inChroot(root, c.runB...)
	if err != nil || !strings.Contains(string(b2), c.out) {
		t.Errorf("%v after pack a went: %v\n%s", c.runB, err, b2)
	}
	list, err := m.installed(root)
	if err != nil {
		t.Fatalf("listing: %v\n%s", err, list)
	}
	if got := slices.Sorted(slices.Values(strings.Fields(string(list)))); len(got) != len(pb) {
		t.Errorf("installed %v, want b's %d", got, len(pb))
	}
}

// packageName is the package name of a package file name.
func packageName(file string, m manager) string {
	if m.format == "deb" {
		name, _, _ := strings.Cut(file, "_")
		return name
	}
	// name-0+hash-1.arch.rpm
	i := strings.LastIndex(file, "-0+")
	return file[:i]
}

// TestRelocatedPackages installs the packages of a -R pack elsewhere than
// at / (rpm --prefix, dpkg --instdir) and runs wrappers there as the test
// user with the store hidden: the items moved with the pack, and the
// launcher finds them.
func TestRelocatedPackages(t *testing.T) {
	need.Root(t)
	ts := teststore.New(t, openTempDir(t))
	for _, m := range []struct {
		format, tool, ext string
		// install installs files so that / is at the returned directory.
		install func(t *testing.T, files []string) string
	}{
		{"rpm", "rpm", ".rpm", func(t *testing.T, files []string) string {
			root := openTempDir(t)
			if b, err := exec.Command("rpm", "--root", root, "--dbpath", "/var/lib/rpm", "--initdb").CombinedOutput(); err != nil {
				t.Fatalf("rpm --initdb: %v\n%s", err, b)
			}
			prefix := userDir(t)
			// rpm --root R --prefix P installs under R/P: a root of /
			// would need the host's database.
			args := append([]string{"--root", root, "--dbpath", "/var/lib/rpm", "--prefix", prefix, "-i"}, files...)
			if b, err := exec.Command("rpm", args...).CombinedOutput(); err != nil {
				t.Fatalf("rpm %v: %v\n%s", args, err, b)
			}
			return root + prefix
		}},
		{"deb", "dpkg", ".deb", func(t *testing.T, files []string) string {
			inst, admin := userDir(t), openTempDir(t)
			managers[0].init(t, admin)
			args := append([]string{"--instdir=" + inst, "--admindir=" + admin + "/var/lib/dpkg", "-i"}, files...)
			if b, err := exec.Command("dpkg", args...).CombinedOutput(); err != nil {
				t.Fatalf("dpkg %v: %v\n%s", args, err, b)
			}
			return inst
		}},
	} {
		t.Run(m.format, func(t *testing.T) {
			need.Tool(t, m.tool, m.tool)
			out := packTo(t, filepath.Join(openTempDir(t), "p"), "-f", m.format, "-R", ts.Path("profile"))
			root := m.install(t, slices.Sorted(maps.Values(packages(t, out, m.ext))))
			if _, err := os.Stat(root + ts.Path("hello")); err != nil {
				t.Fatalf("the items did not move with the pack: %v", err)
			}
			pack := root + "/opt/gpack/profile"
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
			// Where user namespaces are off, the installed pack, which
			// the user may not write, runs through ptrace.
			cmd := target.CommandUsernsOff(ts.Dir, nobody, cwd, pack+"/bin/hello", "no userns")
			cmd.Env = append(cmd.Environ(), "GPACK_DEBUG=1")
			b, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(b), "hello from the store") || !strings.Contains(string(b), "engine ptrace") {
				t.Errorf("user namespaces off: %v\n%s", err, b)
			}
		})
	}
}

// lintianAccepted are the lintian tags that gpack's packages of a real
// Nix store get, and why each does not apply: a tag not here fails the
// test.
var lintianAccepted = map[string]string{
	"package-contains-ancient-file":        "mtime 1 (or $SOURCE_DATE_EPOCH), as every format, for determinism",
	"dir-or-file-in-opt":                   "the pack goes under /opt/gpack/<name>: add-on software, not Debian's, which the FHS puts in /opt",
	"non-standard-toplevel-dir":            "the store is at its own path, /nix or /gnu, where its programs look for it",
	"non-standard-dir-perm":                "the store's modes (read-only items, the store 1775) as the daemons leave them",
	"non-standard-executable-perm":         "idem, 0555",
	"non-standard-file-perm":               "idem, 0444",
	"odd-permissions-on-shared-library":    "idem",
	"file-in-unusual-dir":                  "store items are not laid out in the FHS",
	"no-copyright-file":                    "the store records no licence; a placeholder would say nothing true",
	"no-changelog":                         "a package is one build of one store item, with no history",
	"statically-linked-binary":             "the -R launcher is static by design, independent of the host's libc",
	"custom-library-search-path":           "store programs find their libraries by RUNPATH into the store",
	"missing-dependency-on-libc":           "they need the store's glibc, a dependency on its package, not Debian's",
	"relative-symlink":                     "the pack's link to the store is relative so that dpkg --instdir and rpm --prefix move it along",
	"embedded-library":                     "the store's files as they were built",
	"shared-library-is-executable":         "idem",
	"shared-library-lacks-prerequisites":   "idem",
	"undeclared-elf-prerequisites":         "idem",
	"hardening-no-bindnow":                 "idem",
	"absolute-symlink-in-top-level-folder": "idem: the store's own links",
	"package-contains-hardlink":            "-R's wrappers are hard links to the launcher, which finds its program from /proc/self/exe",
	"package-contains-empty-directory":     "the launcher's mount point, .gpack/root",
}

// rpmlintAccepted is lintianAccepted for rpmlint.
var rpmlintAccepted = map[string]string{
	"dir-or-file-in-opt":                            lintianAccepted["dir-or-file-in-opt"],
	"non-standard-dir-perm":                         lintianAccepted["non-standard-dir-perm"],
	"non-standard-executable-perm":                  lintianAccepted["non-standard-executable-perm"],
	"no-documentation":                              "a store item is packed as it is",
	"invalid-license":                               "the store records no licence: NOASSERTION",
	"changelog-time-overflow":                       lintianAccepted["package-contains-ancient-file"],
	"non-versioned-file-in-library-package":         "store items are not split into library and development packages",
	"no-signature":                                  "sign with rpmsign --addsign if wanted",
	"position-independent-executable-suggested":     lintianAccepted["embedded-library"],
	"statically-linked-binary":                      lintianAccepted["statically-linked-binary"],
	"hidden-file-or-dir":                            "the launcher's directory, .gpack, is the pack's contract",
	"library-without-ldconfig-postin":               "store libraries are outside ld.so's paths: no maintainer scripts",
	"library-without-ldconfig-postun":               "idem",
	"binary-or-shlib-defines-rpath":                 lintianAccepted["custom-library-search-path"],
	"symlink-should-be-relative":                    lintianAccepted["absolute-symlink-in-top-level-folder"],
	"files-duplicate":                               "rpm 4.18.0 cannot install hard links across directories: .gpack/launcher is a copy",
	"files-duplicated-waste":                        "idem",
	"dangling-relative-symlink":                     "the pack's link to the store, which other packages fill",
	"shared-library-without-dependency-information": lintianAccepted["embedded-library"],
	"shared-library-not-executable":                 lintianAccepted["embedded-library"],
	"missing-hash-section":                          lintianAccepted["embedded-library"],
	"missing-call-to-setgroups-before-setuid":       lintianAccepted["embedded-library"],
	"call-to-mktemp":                                lintianAccepted["embedded-library"],
}

// TestLinters runs lintian and rpmlint on the packages of a -R pack of the
// real Nix store's bash: every tag they report is one that does not apply
// (lintianAccepted, rpmlintAccepted).
func TestLinters(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store")
	}
	ns := nixstore.New(t)
	for _, l := range []struct {
		format, tool, pkg string
		args              []string
		accepted          map[string]string
		tag               func(line string) string
	}{
		{"deb", "lintian", "lintian", []string{"--no-cfg", "-I"}, lintianAccepted, func(l string) string {
			// P: package: tag [details]
			f := strings.Fields(l)
			if len(f) < 3 || len(f[0]) != 2 || f[0][1] != ':' {
				return ""
			}
			return f[2]
		}},
		{"rpm", "rpmlint", "rpmlint", nil, rpmlintAccepted, func(l string) string {
			// package.arch: E: tag details
			f := strings.Fields(l)
			if len(f) < 3 || (f[1] != "E:" && f[1] != "W:") {
				return ""
			}
			return f[2]
		}},
	} {
		t.Run(l.tool, func(t *testing.T) {
			need.Tool(t, l.tool, l.pkg)
			out := packTo(t, filepath.Join(openTempDir(t), "bash"), "-f", l.format, "-R", ns.Items["bash"])
			files := slices.Sorted(maps.Values(packages(t, out, "."+l.format)))
			b, _ := exec.Command(l.tool, append(l.args, files...)...).CombinedOutput()
			tags := map[string]int{}
			for _, line := range strings.Split(string(b), "\n") {
				if tag := l.tag(line); tag != "" {
					tags[tag]++
					if l.accepted[tag] == "" {
						t.Errorf("%s: %s", l.tool, line)
					}
				}
			}
			if len(tags) == 0 {
				t.Fatalf("%s reported nothing readable:\n%s", l.tool, b)
			}
			t.Logf("%s: %v", l.tool, tags)
		})
	}
}

// TestSystemPackageOutputs: -o of -f deb and rpm is a directory, written
// whole or not at all; what would be lost is refused before any work.
func TestSystemPackageOutputs(t *testing.T) {
	_, item := smallStore(t, map[string]string{"share/new\nline": "x"})
	_, plain := smallStore(t, nil)
	for _, m := range managers {
		t.Run(m.format, func(t *testing.T) {
			dir := openTempDir(t)
			p := func(n string) string { return filepath.Join(dir, n) }
			os.WriteFile(p("file"), []byte("keep"), 0o644)
			os.Mkdir(p("other"), 0o755)
			os.WriteFile(p("other/notes.txt"), []byte("keep"), 0o644)
			os.Mkdir(p("old"), 0o755)
			os.WriteFile(p("old/stale"+m.ext), []byte("old"), 0o644)
			for _, tc := range []struct {
				name string
				args []string
				code int
				has  []string
			}{
				{"a file", []string{"-o", p("file")}, exitError, []string{p("file") + ": exists and is not a directory", "give -o a new directory"}},
				{"a directory of other files", []string{"-o", p("other")}, exitError, []string{p("other") + ": holds notes.txt", "give -o a new directory"}},
				{"standard output", []string{"-o", "-"}, exitUsage, []string{"-f " + m.format + " cannot be written to standard output"}},
				{"a missing parent", []string{"-o", p("no/such")}, exitError, []string{p("no/such")}},
			} {
				t.Run(tc.name, func(t *testing.T) {
					r := gpack(t, 0, append(append([]string{"pack", "-q", "-f", m.format}, tc.args...), plain)...)
					oneLineError(t, r, tc.code, tc.has...)
				})
			}
			if b, _ := os.ReadFile(p("other/notes.txt")); string(b) != "keep" {
				t.Errorf("other/notes.txt is %q", b)
			}
			// A directory of packages is replaced, whole.
			out := packTo(t, p("old"), "-f", m.format, plain)
			got := packages(t, out, m.ext)
			if len(got) != 2 || got["stale"+m.ext] != "" {
				t.Errorf("the old directory's packages are not replaced: %v", got)
			}
			noLeftovers(t, dir, "file", "old", "other")
			// The default output is named after the first item.
			work := openTempDir(t)
			cmd := exec.Command(gpackBin, "pack", "-q", "-f", m.format, plain)
			cmd.Dir = work
			if b, err := cmd.CombinedOutput(); err != nil || strings.TrimSpace(string(b)) != "app-"+m.format {
				t.Errorf("default output: %v %q", err, b)
			}
			// --single: one package of the whole closure.
			one := packages(t, packTo(t, p("one"), "-f", m.format, "--single", plain), m.ext)
			if len(one) != 1 {
				t.Errorf("--single: %v", one)
			}
			// --single is for deb and rpm only.
			r := gpack(t, 0, "pack", "-q", "-f", "tarball", "--single", "-o", p("x.tar"), plain)
			oneLineError(t, r, exitUsage, "--single applies to -f deb and rpm, not to -f tarball")
			if m.format == "deb" {
				// dpkg refuses a newline in a name: so does gpack, first.
				r := gpack(t, 0, "pack", "-q", "-f", "deb", "-o", p("nl"), item)
				oneLineError(t, r, exitError, `new\nline": dpkg cannot install a file name or link target with a newline`, "pack another format")
				noLeftovers(t, dir, "file", "old", "one", "other")
			}
		})
	}
}

// TestDeterministicPackages packs the same -R pack with one and two cores,
// two umasks and a second apart: every package, every compressor, the
// same bytes, and mode 0644 (the directory 0755).
func TestDeterministicPackages(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	for _, m := range managers {
		for _, c := range []string{"gzip", "zstd", "xz"} {
			var first map[string]string
			for i, env := range [][]string{{"GOMAXPROCS=1"}, {"GOMAXPROCS=2"}} {
				if i == 1 {
					time.Sleep(1100 * time.Millisecond)
				}
				out := filepath.Join(dir, fmt.Sprintf("%s-%s-%d", m.format, c, i))
				cmd := exec.Command("sh", "-c", fmt.Sprintf("umask %s && exec \"$@\"", []string{"022", "077"}[i]), "sh",
					gpackBin, "pack", "-q", "-f", m.format, "-R", "-C", c, "-o", out, ts.Path("profile"))
				cmd.Env = append(os.Environ(), env...)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%v %s", err, b)
				}
				if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o755 {
					t.Errorf("%s: directory mode %o, want 755 whatever the umask", out, fi.Mode().Perm())
				}
				hashes := map[string]string{}
				for name, p := range packages(t, out, m.ext) {
					if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o644 {
						t.Errorf("%s: mode %o, want 644 whatever the umask", p, fi.Mode().Perm())
					}
					hashes[name] = fileHash(t, p)
				}
				if i == 0 {
					first = hashes
				} else if !maps.Equal(first, hashes) {
					t.Errorf("%s %s: GOMAXPROCS=1/umask 022 and GOMAXPROCS=2/umask 077 give different packages:\n%v\n%v", m.format, c, first, hashes)
				}
			}
		}
	}
}
