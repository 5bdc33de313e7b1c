package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/internal/teststore"
)

// sunPathMax is the size of sockaddr_un's sun_path, NUL included: a socket
// path must be at most sunPathMax-1 bytes long.
const sunPathMax = 108

// TestUnixSocketInStore runs the unixsock tracee with its socket under the
// store path, in the empty directory run/ of its own item, which the test
// makes writable in the pack (store items are read-only). The program binds
// and connects to the store path, and getsockname and getpeername must give
// that path back: the ptrace engine binds the pack's copy and translates
// the names back; the userns engine shows the pack's copy at the store path.
func TestUnixSocketInStore(t *testing.T) {
	p := testPack(t)
	run := filepath.Join(p.store.Path("unixsock"), "run")
	sock := run + "/sock"
	if len(sock) >= sunPathMax {
		t.Fatalf("the store path %s is %d bytes, too long for a socket address (at most %d): "+
			"run the tests with a shorter TMPDIR", sock, len(sock), sunPathMax-1)
	}
	// The ptrace engine binds the pack's copy, whose path must fit too.
	root := p.root
	if len(filepath.Join(root, sock)) >= sunPathMax {
		root = shortPack(t, p)
	}
	packRun := filepath.Join(root, run)
	if n := len(filepath.Join(packRun, "sock")); n >= sunPathMax {
		t.Fatalf("the pack's socket path is %d bytes, too long for a socket address (at most %d): "+
			"run the tests with a shorter TMPDIR", n, sunPathMax-1)
	}
	// The original store's run/ too, for the run where the store is
	// visible: what the program prints at the store's own path.
	writableDir(t, packRun)
	writableDir(t, run)
	want := "server getsockname: " + sock + "\n" +
		"client got pong\n" +
		"client getpeername: " + sock + "\n" +
		"server got ping\n"
	const timeout = 15 * time.Second
	check := func(t *testing.T, inv invocation) {
		t.Helper()
		inv.args = []string{"bin/unixsock", run}
		inv.root = root
		// A client that cannot connect leaves the server in accept.
		inv.timeout = timeout
		r := p.run(t, inv)
		if r.status != 0 || r.stdout != want || r.stderr != "" {
			t.Errorf("status %d (-9 if killed after %v), stdout %q, stderr %q; want 0, %q and nothing",
				r.status, timeout, r.stdout, r.stderr, want)
		}
		// The program removes its socket, from the pack's copy. What a
		// failed run left is removed, so as not to fail the next ones.
		for _, dir := range []string{packRun, run} {
			checkEmpty(t, dir)
			clearDir(t, dir)
		}
	}
	t.Run("store visible", func(t *testing.T) { check(t, invocation{visible: true}) })
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue // TestUsernsOff checks how it fails there.
			}
			t.Run(host.name, func(t *testing.T) {
				check(t, invocation{engine: engine, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					writable: []string{packRun}})
			})
		}
	})
}

// hosts are the kinds of target machine that TestRun uses: one with an
// empty store directory, one without the store's parent, and one where user
// namespaces are off, where only the ptrace engine can run.
var hosts = []struct {
	name                  string
	noStoreDir, usernsOff bool
}{
	{name: "empty store directory"},
	{name: "no store directory", noStoreDir: true},
	{name: "user namespaces off", usernsOff: true},
}

// writableDir makes dir, a read-only directory of a store, writable for
// every user until the test ends.
func writableDir(t *testing.T, dir string) {
	t.Helper()
	info, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.Chmod(dir, info.Mode().Perm()); err != nil {
			t.Error(err)
		}
	})
}

// clearDir removes everything in dir.
func clearDir(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			t.Error(err)
		}
	}
}

// shortPack lays out a pack of the fixture's store under a short directory
// of /tmp, for socket paths that must fit in sun_path, and removes it when
// the test ends.
func shortPack(t *testing.T, p *pack) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "g")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { (&pack{base: dir}).remove() })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(dir, "p")
	if err := assemble(root, p.store, true); err != nil {
		t.Fatal(err)
	}
	return root
}

// setidWarning is what the ptrace engine says of a set-user-ID program.
const setidWarning = " is set-user-ID or set-group-ID, which the ptrace engine cannot honour"

// TestSetuidProgram runs a set-user-ID root program of the pack's store, a
// copy of the store's dash, twice from one launcher. Neither engine can
// honour the bit for an ordinary user (ptrace and no_new_privs drop it; a
// user namespace ignores the bit of an unmapped owner): the program must
// still run, as the user. The ptrace engine says so once, naming the
// program by its store path; the userns engine says nothing.
func TestSetuidProgram(t *testing.T) {
	p := testPack(t)
	item := teststore.Hash("suid") + "-suid"
	prog := filepath.Join(p.store.Dir, item, "bin", "sh")
	// Only in the pack: the engines find it there.
	packItem := filepath.Join(p.root, p.store.Dir, item)
	if err := os.MkdirAll(filepath.Join(packItem, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { (&pack{base: packItem}).remove() })
	data, err := os.ReadFile(filepath.Join(p.root, p.store.Path("dash"), "bin", "sh"))
	if err != nil {
		t.Fatal(err)
	}
	packProg := filepath.Join(packItem, "bin", "sh")
	if err := os.WriteFile(packProg, data, 0o755); err != nil {
		t.Fatal(err)
	}
	// Owned by root, mode 04755; chown would clear the bit, so it
	// comes first.
	if err := os.Chown(packProg, 0, 0); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(packProg, 0o755|os.ModeSetuid); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{filepath.Join(packItem, "bin"), packItem} {
		if err := os.Chmod(dir, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	if info, err := os.Stat(packProg); err != nil || info.Mode()&os.ModeSetuid == 0 {
		t.Fatalf("%s is not set-user-ID: %v, %v", packProg, info.Mode(), err)
	}
	// dash resets its effective uid to the real one unless given -p.
	const ids = ` -p -c 'id -u; id -ru'`
	// The control: where the kernel honours the bit (the store visible,
	// the pack's copy run by its own path), the effective uid is root's.
	t.Run("control", func(t *testing.T) {
		r := p.run(t, invocation{visible: true, args: []string{"sh", "-c", packProg + ids}})
		if r.status != 0 || r.stdout != "0\n65534\n" {
			t.Errorf("status %d, stdout %q, stderr %q; want 0, \"0\\n65534\\n\"", r.status, r.stdout, r.stderr)
		}
	})
	forEachEngine(t, func(t *testing.T, engine string) {
		r := p.run(t, invocation{engine: engine, args: []string{"bin/sh", "-c",
			prog + ids + "; " + prog + ` -c 'echo again'`}})
		// Effective and real: both the user's.
		if r.status != 0 || r.stdout != "65534\n65534\nagain\n" {
			t.Errorf("status %d, stdout %q; want 0 and the user's ids, then again\nstderr:\n%s",
				r.status, r.stdout, r.stderr)
		}
		var warnings, others []string
		for _, l := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
			switch {
			case strings.Contains(l, setidWarning):
				warnings = append(warnings, l)
			case l != "":
				others = append(others, l)
			}
		}
		want := 0
		if engine == "ptrace" {
			want = 1
		}
		if len(warnings) != want || len(others) != 0 {
			t.Errorf("stderr has %d warnings about set-user-ID and %d other lines; want %d and none:\n%s",
				len(warnings), len(others), want, r.stderr)
		}
		for _, l := range warnings {
			if !strings.HasPrefix(l, "gpack-launcher: "+prog+setidWarning) {
				t.Errorf("the warning does not name the program by its store path %s:\n%s", prog, l)
			}
		}
	})
}
