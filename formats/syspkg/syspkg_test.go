package syspkg

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/pack"
)

// The rules of both managers: dpkg's for names (policy 5.6.1) and
// versions (5.6.12, no epoch, no revision); rpm's for names and versions
// (no '-' in a version).
var (
	debName    = regexp.MustCompile(`^[a-z0-9][a-z0-9+.-]+$`)
	debVersion = regexp.MustCompile(`^[0-9][A-Za-z0-9.+~]*$`)
	rpmName    = regexp.MustCompile(`^[A-Za-z0-9_+][A-Za-z0-9_+.-]*$`)
	rpmVersion = regexp.MustCompile(`^[A-Za-z0-9._+~^]+$`)
)

func TestItemName(t *testing.T) {
	const h = "0123456789abcdfghijklmnpqrsvwxyz"
	for _, tt := range []struct{ item, name string }{
		{"/gnu/store/" + h + "-hello-2.12", "hello-2.12-01234567"},
		{"/nix/store/" + h + "-python3.12-Foo_Bar", "python3.12-foo-bar-01234567"},
		{"/nix/store/" + h + "-.dotfile", "dotfile-01234567"},
		{"/nix/store/" + h + "-_?=", "item-01234567"},
		{"/nix/store/" + h + "-g++-13", "g++-13-01234567"},
		{"/nix/store/" + h + "-UPPER", "upper-01234567"},
	} {
		name, version, err := ItemName(tt.item)
		if err != nil {
			t.Fatal(err)
		}
		if name != tt.name || version != "0+"+h {
			t.Errorf("%s: %s %s, want %s 0+%s", tt.item, name, version, tt.name, h)
		}
		for _, re := range []*regexp.Regexp{debName, rpmName} {
			if !re.MatchString(name) {
				t.Errorf("%s: %q is not a valid name (%s)", tt.item, name, re)
			}
		}
		for _, re := range []*regexp.Regexp{debVersion, rpmVersion} {
			if !re.MatchString(version) {
				t.Errorf("%s: %q is not a valid version (%s)", tt.item, version, re)
			}
		}
	}
	for _, bad := range []string{"/gnu/store/short-x", "/gnu/store/" + strings.Repeat("E", 32) + "-x", "/gnu/store/" + h} {
		if _, _, err := ItemName(bad); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestRelative(t *testing.T) {
	for _, tt := range []struct{ dir, target, want string }{
		{"opt/gpack/p", "gnu/store/x/bin", "../../../gnu/store/x/bin"},
		{"opt/gpack/p/etc", "opt/gpack/p/bin/x", "../bin/x"},
		{"a", "a", "."},
		{"a/b", "a", ".."},
	} {
		if got := relative(tt.dir, tt.target); got != tt.want {
			t.Errorf("relative(%q, %q) = %q, want %q", tt.dir, tt.target, got, tt.want)
		}
	}
}

// tree is a pack of two items, a referring to b, with -R's launcher and a
// -S link into a.
func tree() *pack.Tree {
	const a = "gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0"
	const b = "gnu/store/zyxwvsrqpnmlkjihgfdcba9876543210-b-2.0"
	return &pack.Tree{Store: "/gnu/store", Items: []string{"/" + b, "/" + a}, Roots: []string{"/" + a}, Mtime: time.Unix(1, 0),
		Programs: map[string]string{"x": "/" + a + "/bin/x"},
		Entries: []pack.Entry{
			{Path: ".gpack", Kind: pack.Dir, Mode: 0o755},
			{Path: ".gpack/launcher", Kind: pack.File, Mode: 0o555, Data: []byte{}},
			{Path: "bin", Kind: pack.Dir, Mode: 0o755},
			{Path: "bin/x", Kind: pack.HardLink, Mode: 0o555, Target: ".gpack/launcher"},
			{Path: "etc", Kind: pack.Symlink, Mode: 0o777, Target: a + "/etc"},
			{Path: "gnu", Kind: pack.Dir, Mode: 0o755},
			{Path: "gnu/store", Kind: pack.Dir, Mode: 0o1775},
			{Path: a, Kind: pack.Dir, Mode: 0o555},
			{Path: a + "/bin", Kind: pack.Dir, Mode: 0o555},
			{Path: a + "/bin/x", Kind: pack.File, Mode: 0o555, Data: []byte{}},
			{Path: a + "/etc", Kind: pack.Dir, Mode: 0o555},
			{Path: b, Kind: pack.Dir, Mode: 0o555},
		}}
}

// paths lists the entries' paths, and links with their targets.
func paths(p *Package) []string {
	var out []string
	for _, e := range p.Entries {
		s := e.Path
		if e.Target != "" {
			s += " -> " + e.Target
		}
		out = append(out, s)
	}
	return out
}

func TestSplit(t *testing.T) {
	const a = "gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0"
	const b = "gnu/store/zyxwvsrqpnmlkjihgfdcba9876543210-b-2.0"
	refs := map[string][]string{"/" + a: {"/" + a, "/" + b}, "/" + b: nil}
	pkgs, err := Split(tree(), Options{References: refs})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) != 3 {
		t.Fatalf("%d packages, want 3", len(pkgs))
	}
	pb, pa, pp := pkgs[0], pkgs[1], pkgs[2]
	for _, tt := range []struct {
		p             *Package
		name, version string
		deps          []Dep
		paths         []string
	}{
		{pb, "b-2.0-zyxwvsrq", "0+zyxwvsrqpnmlkjihgfdcba9876543210", nil, []string{"gnu", "gnu/store", b}},
		{pa, "a-1.0-01234567", "0+0123456789abcdfghijklmnpqrsvwxyz", []Dep{{"b-2.0-zyxwvsrq", "0+zyxwvsrqpnmlkjihgfdcba9876543210"}},
			[]string{"gnu", "gnu/store", a, a + "/bin", a + "/bin/x", a + "/etc"}},
		{pp, "gpack-a-1.0", pp.Version, []Dep{{"a-1.0-01234567", "0+0123456789abcdfghijklmnpqrsvwxyz"}}, []string{
			"opt", "opt/gpack", "opt/gpack/a-1.0",
			"opt/gpack/a-1.0/.gpack", "opt/gpack/a-1.0/.gpack/launcher",
			"opt/gpack/a-1.0/bin", "opt/gpack/a-1.0/bin/x -> opt/gpack/a-1.0/.gpack/launcher",
			"opt/gpack/a-1.0/etc -> ../../../" + a + "/etc",
			"opt/gpack/a-1.0/gnu -> ../../../gnu"}},
	} {
		if tt.p.Name != tt.name || tt.p.Version != tt.version || !reflect.DeepEqual(tt.p.Depends, tt.deps) || !reflect.DeepEqual(paths(tt.p), tt.paths) {
			t.Errorf("package %s %s, depends %v, entries\n%q\nwant %s %s, %v,\n%q", tt.p.Name, tt.p.Version, tt.p.Depends, paths(tt.p),
				tt.name, tt.version, tt.deps, tt.paths)
		}
	}
	if pp.Root != "opt/gpack/a-1.0" || !strings.HasPrefix(pp.Version, "0+") || len(pp.Version) != 34 {
		t.Errorf("pack package root %q, version %q", pp.Root, pp.Version)
	}

	one, err := Split(tree(), Options{References: refs, Single: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(one) != 1 || one[0].Name != "gpack-a-1.0" || len(one[0].Depends) != 0 || len(one[0].Entries) != 16 {
		t.Errorf("--single: %d packages, the first %s with %v and %q", len(one), one[0].Name, one[0].Depends, paths(one[0]))
	}

	if _, err := Split(tree(), Options{References: map[string][]string{"/" + a: {"/gnu/store/00000000000000000000000000000000-gone"}}}); err == nil {
		t.Error("a reference to an item outside the pack: no error")
	}
}
