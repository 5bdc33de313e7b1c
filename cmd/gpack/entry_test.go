package main

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/teststore"
)

// TestEntryPointArguments: --entry-point with -A means one thing in every
// format: a relocatable tarball's ./run, images' Entrypoint, the squashfs
// runscript all start the program with the -A arguments, then the
// caller's.
func TestEntryPointArguments(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	want := ts.Path("profile") + "/bin/hello"
	ep := []string{"--entry-point", "/bin/hello", "-A", "a b", "-A", "it's"}

	tb := packTo(t, filepath.Join(dir, "p.tar"), append([]string{"-R", "-C", "none"}, append(ep, ts.Path("profile"))...)...)
	root := userDir(t)
	extract(t, "tar", tb, root)
	cwd := userDir(t)
	for _, tc := range []struct {
		env  []string
		argv []string
		out  string
		code int
	}{
		{nil, []string{root + "/run", "c"}, "hello from the store: greetings from libgreet\na b\nit's\nc\n", 0},
		{nil, []string{root + "/run"}, "\na b\nit's\n", 0},
		{[]string{"HELLO_EXIT=7"}, []string{root + "/run"}, "", 7},
		{nil, []string{root + "/bin/hello", "x"}, "\nx\n", 0}, // the wrappers get no -A
	} {
		r := onTarget(t, ts.Dir, cwd, tc.env, "", tc.argv...)
		if r.code != tc.code || !strings.Contains(r.out, tc.out) {
			t.Errorf("%v: exit %d, %q; want %d, %q", tc.argv, r.code, r.out, tc.code, tc.out)
		}
	}
	// Every engine runs ./run the same way.
	for _, engine := range []string{"userns", "ptrace", "relocate"} {
		r := onTarget(t, ts.Dir, cwd, []string{"GPACK_ENGINE=" + engine}, "", root+"/run", "c")
		if r.code != 0 || !strings.HasSuffix(r.out, "\na b\nit's\nc\n") {
			t.Errorf("GPACK_ENGINE=%s ./run c: exit %d, %q", engine, r.code, r.out)
		}
	}

	lay := packTo(t, filepath.Join(dir, "p.oci"), append([]string{"-f", "oci"}, append(ep, ts.Path("profile"))...)...)
	if got := layoutEntrypoint(t, lay); !slices.Equal(got, []string{want, "a b", "it's"}) {
		t.Errorf("image Entrypoint %q", got)
	}

	img := packTo(t, filepath.Join(dir, "p.squashfs"), append([]string{"-f", "squashfs"}, append(ep, ts.Path("profile"))...)...)
	out, err := exec.Command("unsquashfs", "-cat", img, ".singularity.d/runscript").Output()
	if err != nil || !strings.HasPrefix(string(out), "#!"+ts.Path("profile")+"/bin/sh\n") ||
		!strings.Contains(string(out), "exec '"+want+"' 'a b' 'it'\\''s' \"$@\"\n") {
		t.Errorf("squashfs runscript %v:\n%s", err, out)
	}

	for _, tc := range []struct {
		args []string
		has  string
	}{
		{[]string{"-A", "x"}, "add --entry-point"},
		{[]string{"--entry-point", "bin/hello"}, "needs -R"},
		{[]string{"-f", "squashfs", "--entry-point", "bin/hello", "-A", "x", ts.Path("hello")}, "no bin/sh, bash or dash"},
	} {
		args := append([]string{"pack", "-q", "-o", filepath.Join(dir, "bad")}, tc.args...)
		if !strings.HasPrefix(tc.args[len(tc.args)-1], "/") {
			args = append(args, ts.Path("profile"))
		}
		oneLineError(t, gpack(t, 0, args...), exitUsage, tc.has)
	}
}
