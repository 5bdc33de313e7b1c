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
	if got := layoutConfig(t, lay).Entrypoint; !slices.Equal(got, []string{want, "a b", "it's"}) {
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

// TestPackEnvironment: the profile's search paths and -E reach the
// programs: images' Env, squashfs's environment script, and with -R
// --env the wrappers, under every engine, store paths translated where
// the relocate engine shows the store elsewhere.
func TestPackEnvironment(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	profile := ts.Path("profile")
	data := profile + "/etc"
	env := []string{"-E", "GREETING=hi there", "-E", "DATA=" + data}

	tb := packTo(t, filepath.Join(dir, "p.tar"), append([]string{"-R", "--env", "-C", "none"}, append(env, profile)...)...)
	root := userDir(t)
	extract(t, "tar", tb, root)
	cwd := userDir(t)
	for _, engine := range []string{"userns", "ptrace", "relocate"} {
		r := onTarget(t, ts.Dir, cwd, []string{"GPACK_ENGINE=" + engine, "PATH=/usr/bin:/bin"}, "",
			root+"/bin/sh", "-c", `echo "$GREETING|${PATH%%:*}"; read x < "$DATA/profile" && echo read-ok`)
		first := profile + "/bin"
		if engine == "relocate" {
			// The relocated pack's store is at its link in /tmp.
			first = "/tmp/"
		}
		if r.code != 0 || !strings.HasPrefix(r.out, "hi there|"+first) || !strings.HasSuffix(r.out, "\nread-ok\n") {
			t.Errorf("GPACK_ENGINE=%s: exit %d, %q; want hi there, PATH from %s, the data file", engine, r.code, r.out, first)
		}
	}
	// Without --env the wrappers set -E only.
	tb = packTo(t, filepath.Join(dir, "q.tar"), "-R", "-C", "none", "-E", "GREETING=hi", profile)
	root = userDir(t)
	extract(t, "tar", tb, root)
	if r := onTarget(t, ts.Dir, cwd, []string{"PATH=/usr/bin:/bin"}, "", root+"/bin/sh", "-c", `echo "$GREETING $PATH"`); r.out != "hi /usr/bin:/bin\n" {
		t.Errorf("-R without --env: %q", r.out)
	}

	lay := packTo(t, filepath.Join(dir, "p.oci"), append([]string{"-f", "oci"}, append(env, profile)...)...)
	cfg := layoutConfig(t, lay).Env
	for _, want := range []string{"PATH=" + profile + "/bin:/usr/local/sbin:", "GREETING=hi there", "DATA=" + data} {
		if !slices.ContainsFunc(cfg, func(e string) bool { return strings.HasPrefix(e, want) }) {
			t.Errorf("image Env %q lacks %q", cfg, want)
		}
	}

	img := packTo(t, filepath.Join(dir, "p.squashfs"), append([]string{"-f", "squashfs"}, append(env, profile)...)...)
	out, err := exec.Command("unsquashfs", "-cat", img, ".singularity.d/env/90-environment.sh").Output()
	if err != nil || !strings.Contains(string(out), "export PATH=\""+profile+"/bin\"\"${PATH:+:}$PATH\"\n") ||
		!strings.Contains(string(out), "export GREETING=\"hi there\"\n") {
		t.Errorf("squashfs environment %v:\n%s", err, out)
	}
	// The script is what a shell runs.
	sh := exec.Command("sh", "-c", string(out)+`echo "$GREETING|$PATH"`)
	sh.Env = []string{"PATH=/usr/bin:/bin"}
	if got, err := sh.Output(); err != nil || string(got) != "hi there|"+profile+"/bin:/usr/bin:/bin\n" {
		t.Errorf("sourcing the environment: %q, %v", got, err)
	}

	for _, tc := range []struct {
		args []string
		has  string
	}{
		{[]string{"--env"}, "--env applies to -R"},
		{[]string{"-E", "1X=y"}, "want NAME=VALUE"},
		{[]string{"-E", "NOVALUE"}, "want NAME=VALUE"},
	} {
		oneLineError(t, gpack(t, 0, append(append([]string{"pack", "-q", "-o", filepath.Join(dir, "bad")}, tc.args...), profile)...), exitUsage, tc.has)
	}
}
