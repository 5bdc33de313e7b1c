package main

import (
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/target"
	"github.com/gpack/gpack/internal/teststore"
)

// TestNixRelocate runs the real Nix store's programs through the relocate
// engine where user namespaces are really off, as nobody, with the store
// hidden: a bash pipeline, a store-shebang script, and Python with its
// standard library read from the pack. A venv made with that Python then
// works from a plain shell, without the launcher, and pip installs into it
// offline from a local wheel: the venv names the relocation's prefix, which
// exists outside any engine.
func TestNixRelocate(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store")
	}
	ns := nixstore.New(t)
	py := nixstore.NewPython(t)
	tb := packTo(t, filepath.Join(openTempDir(t), "nix.tar"), "-R", "-C", "none", ns.Items["profile"], py)
	root := userDir(t)
	extract(t, "tar", tb, root)
	t.Cleanup(func() { removeRelocationLink(root) })
	cwd := userDir(t)
	run := func(t *testing.T, env []string, argv ...string) string {
		t.Helper()
		cmd := target.CommandUsernsOff("/nix/store", nobody, cwd, argv...)
		cmd.Env = append(cmd.Environ(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", argv, err, out)
		}
		return string(out)
	}
	// The first run relocates, and says so under GPACK_DEBUG.
	out := run(t, []string{"GPACK_DEBUG=1"}, root+"/bin/hello-script")
	if !strings.Contains(out, "gpack-launcher: relocate: rewrote ") || !strings.Contains(out, "gpack-launcher: engine relocate: running ") ||
		!strings.Contains(out, "hello from nix\n") {
		t.Fatalf("the first run did not relocate:\n%s", out)
	}
	for _, tt := range []struct {
		argv []string
		out  string
	}{
		{[]string{root + "/bin/bash", "-c", "echo one two three | " + root + "/bin/sed s/two/2/ | " + root + "/bin/grep -o '2 three'"}, "2 three\n"},
		{[]string{root + "/bin/hello-script"}, "hello from nix\n65534\n"},
		{[]string{root + "/bin/python", "-c", "import sys, json, decimal, email.parser, sqlite3, ssl; " +
			"print(sys.prefix == sys.base_prefix, sys.prefix.endswith('-python3'), not sys.prefix.startswith('/nix/store/'))"},
			"True True True\n"},
	} {
		if got := run(t, nil, tt.argv...); got != tt.out {
			t.Errorf("%v: %q, want %q", tt.argv, got, tt.out)
		}
	}

	venv := filepath.Join(cwd, "venv")
	run(t, nil, root+"/bin/python", "-m", "venv", "--without-pip", venv)
	// From here on, no launcher: the venv's own python, from a plain
	// shell on the same node, with the store still hidden.
	out = run(t, nil, "/bin/sh", "-c", venv+"/bin/python -c 'import sys, json; print(sys.prefix)'")
	if strings.TrimSpace(out) != venv {
		t.Errorf("the venv's python says its prefix is %q, want %s", out, venv)
	}
	wheels, _ := filepath.Glob("/usr/share/python-wheels/pip-*.whl")
	setuptools, _ := filepath.Glob("/usr/share/python-wheels/setuptools-*.whl")
	if len(wheels) == 0 || len(setuptools) == 0 {
		t.Fatal("no pip or setuptools wheel in /usr/share/python-wheels (make deps installs python3-pip-whl)")
	}
	run(t, nil, "/bin/sh", "-c", venv+"/bin/python "+wheels[0]+"/pip install --quiet --no-index --no-deps "+setuptools[0])
	out = run(t, nil, "/bin/sh", "-c", venv+"/bin/python -c 'import setuptools, sys; print(setuptools.__file__.startswith(sys.prefix))'")
	if out != "True\n" {
		t.Errorf("setuptools, installed into the venv by pip, is not there: %q", out)
	}
}

// TestRelocateSquashfs: the relocate engine serves a -R squashfs image
// extracted with unsquashfs by the user, as it serves an extracted tarball.
func TestRelocateSquashfs(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	img := packTo(t, filepath.Join(openTempDir(t), "p.squashfs"), "-f", "squashfs", "-R", ts.Path("profile"))
	dir := userDir(t)
	root := filepath.Join(dir, "root")
	cmd := exec.Command("unsquashfs", "-q", "-n", "-d", root, img)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { removeRelocationLink(root) })
	run := target.CommandUsernsOff(ts.Dir, nobody, dir, root+"/bin/hello", "squashed")
	run.Env = append(run.Environ(), "GPACK_DEBUG=1")
	out, err := run.CombinedOutput()
	if err != nil || !strings.Contains(string(out), teststore.Greeting+"squashed\n") ||
		!strings.Contains(string(out), "gpack-launcher: engine relocate: running ") {
		t.Errorf("%v:\n%s", err, out)
	}
}
