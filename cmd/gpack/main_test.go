package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpack/gpack/internal/teststore"
)

// gpackBin is gpack built once for the end-to-end tests, in a directory any
// user can read, so that tests can run it as an unprivileged user.
var gpackBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "gpack-bin-")
	if err != nil {
		panic(err)
	}
	os.Chmod(dir, 0o755)
	gpackBin = filepath.Join(dir, "gpack")
	if out, err := exec.Command("go", "build", "-o", gpackBin, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "go build: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// nobody is the unprivileged user the tests run gpack as.
const nobody = 65534

type result struct {
	stdout, stderr string
	code           int
	maxRSS         int64 // bytes
}

// gpack runs the binary, as uid when uid is not 0.
func gpack(t *testing.T, uid int, args ...string) result {
	t.Helper()
	cmd := exec.Command(gpackBin, args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if uid != 0 {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run gpack %v: %v", args, err)
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		r.maxRSS = ru.Maxrss * 1024
	}
	return r
}

// openTempDir is t.TempDir that other users can enter.
func openTempDir(t *testing.T) string {
	d := t.TempDir()
	for _, p := range []string{filepath.Dir(d), d} {
		if err := os.Chmod(p, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

// addItem writes a new item into a test store: files maps relative paths to
// contents; a content starting with "->" makes a symlink.
func addItem(t *testing.T, store, name string, files map[string]string) string {
	t.Helper()
	item := filepath.Join(store, teststore.Hash(name)+"-"+name)
	if err := os.MkdirAll(item, 0o755); err != nil {
		t.Fatal(err)
	}
	for rel, content := range files {
		p := filepath.Join(item, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		if target, ok := strings.CutPrefix(content, "->"); ok {
			err = os.Symlink(target, p)
		} else {
			err = os.WriteFile(p, []byte(content), 0o644)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	return item
}

func lines(s string) []string { return strings.Split(strings.TrimSuffix(s, "\n"), "\n") }

// oneLineError checks the rules for errors: non-zero exit, one line on
// stderr that names the path and what to do, no Go stack trace.
func oneLineError(t *testing.T, r result, code int, has ...string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	if n := strings.Count(r.stderr, "\n"); n != 1 {
		t.Errorf("stderr has %d lines, want 1: %q", n, r.stderr)
	}
	if strings.Contains(r.stderr, "goroutine") || strings.Contains(r.stderr, "panic") {
		t.Errorf("stack trace on stderr: %q", r.stderr)
	}
	for _, h := range has {
		if !strings.Contains(r.stderr, h) {
			t.Errorf("stderr %q lacks %q", r.stderr, h)
		}
	}
}

func TestClosureCommand(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	r := gpack(t, nobody, "closure", ts.Path("script")+"/bin/greet-script")
	want := []string{ts.Path("libc"), ts.Path("dash"), ts.Path("greet"), ts.Path("hello"), ts.Path("script")}
	// Dependencies first, ties by path.
	order := map[string]int{}
	for i, p := range lines(r.stdout) {
		order[p] = i
	}
	if r.code != 0 || len(order) != len(want) {
		t.Fatalf("exit %d, closure %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if order[ts.Path("libc")] != 0 || order[ts.Path("script")] != 4 || order[ts.Path("greet")] > order[ts.Path("hello")] {
		t.Errorf("order %q", r.stdout)
	}

	// Several roots, in one store.
	r = gpack(t, 0, "closure", ts.Path("noref"), ts.Path("linkonly"))
	if r.stdout != ts.Path("noref")+"\n"+ts.Path("linkonly")+"\n" {
		t.Errorf("closure of noref and linkonly: %q", r.stdout)
	}

	r = gpack(t, 0, "closure", "--json", ts.Path("hello"))
	var g jsonGraph
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if len(g.Items) != 3 || g.Items[2].Path != ts.Path("hello") || len(g.Items[2].References) != 2 ||
		g.Items[2].ClosureSize != g.ClosureSize || g.Items[0].ClosureSize != g.Items[0].NarSize {
		t.Errorf("--json: %+v", g)
	}

	r = gpack(t, 0, "closure", "--size", ts.Path("hello"))
	if l := lines(r.stdout); len(l) != 3 || !strings.HasSuffix(l[0], "MiB") || !strings.Contains(l[2], "KiB") {
		t.Errorf("--size: %q", r.stdout)
	}

	r = gpack(t, 0, "closure", "--graph", "dot", ts.Path("hello"))
	if !strings.HasPrefix(r.stdout, "digraph") || !strings.Contains(r.stdout, fmt.Sprintf("%q -> %q;", ts.Path("hello"), ts.Path("greet"))) {
		t.Errorf("--graph dot: %s", r.stdout)
	}
}

func TestWhyCommand(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	r := gpack(t, 0, "why", ts.Path("script"), "greet")
	l := lines(r.stdout)
	if r.code != 0 || len(l) != 5 || l[0] != ts.Path("script") || !strings.HasSuffix(l[1], ts.Path("hello")) ||
		!strings.Contains(l[2], "by bin/greet-script (at byte") || !strings.HasSuffix(l[3], ts.Path("greet")) ||
		!strings.Contains(l[4], "by bin/hello (at byte") || !strings.Contains(l[4], teststore.Hash("greet")) {
		t.Errorf("why profile greet: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = gpack(t, 0, "why", ts.Path("hello"), ts.Path("dash"))
	oneLineError(t, r, exitNotFound, "does not depend on")
	r = gpack(t, 0, "why", ts.Path("hello"))
	oneLineError(t, r, exitUsage, "see 'gpack why --help'")
}

// TestUsage: an unknown command is bad usage like any other (exit 2), and
// a flag error points to the help of the command that was run.
func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		has  []string
	}{
		{[]string{"pakc"}, []string{`unknown command "pakc"`, "did you mean pack?", "gpack --help"}},
		{[]string{"frobnicate", "x"}, []string{`unknown command "frobnicate"`}},
		{[]string{"--bogus"}, []string{"unknown flag: --bogus", "see 'gpack --help'"}},
		{[]string{"closure", "--bogus", "x"}, []string{"unknown flag: --bogus", "see 'gpack closure --help'"}},
		{[]string{"pack", "--level", "x", "y"}, []string{"--level", "see 'gpack pack --help'"}},
		{[]string{"pack"}, []string{"see 'gpack pack --help'"}},
	} {
		oneLineError(t, gpack(t, 0, tc.args...), exitUsage, tc.has...)
	}
	if r := gpack(t, 0); r.code != 0 || !strings.Contains(r.stdout, "EXIT STATUS") || !strings.Contains(r.stdout, "129") {
		t.Errorf("gpack alone: exit %d, %q", r.code, r.stdout)
	}
}

// TestBadInput runs each bad input through the CLI and checks the one-line
// error. Cases that root would sail through run as nobody.
func TestBadInput(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	store := ts.Dir
	links := openTempDir(t)
	os.Symlink(filepath.Join(links, "gone"), filepath.Join(links, "dangling"))
	os.Mkdir(filepath.Join(store, "hello-without-hash"), 0o755)

	secret := addItem(t, store, "secret", map[string]string{"etc/key": "secret"})
	os.Chmod(filepath.Join(secret, "etc/key"), 0o400)
	missing := addItem(t, store, "wants-gone", map[string]string{"bin/run": "#!" + store + "/" + teststore.Hash("gone") + "-gone/bin/sh\n"})

	fifo := addItem(t, store, "fifo", nil)
	if err := syscall.Mkfifo(filepath.Join(fifo, "pipe"), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := addItem(t, store, "socket", nil)
	l, err := net.Listen("unix", filepath.Join(sock, "sock"))
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close()
	dev := addItem(t, store, "device", map[string]string{"dev/.keep": ""})
	if err := syscall.Mknod(filepath.Join(dev, "dev/null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		uid  int
		args []string
		has  []string
	}{
		{"missing path", 0, []string{filepath.Join(links, "nope")}, []string{"nope", "no such file"}},
		{"outside any store", 0, []string{links}, []string{links, "not in a store", "--store"}},
		{"malformed item name", 0, []string{filepath.Join(store, "hello-without-hash")}, []string{"hello-without-hash", "malformed store item name"}},
		{"dangling symlink", 0, []string{filepath.Join(links, "dangling")}, []string{"dangling symlink", "gone"}},
		{"unreadable file", nobody, []string{secret}, []string{secret + "/etc/key", "permission denied"}},
		{"missing item", 0, []string{missing}, []string{missing + "/bin/run", teststore.Hash("gone"), "not in the store", "--allow-missing"}},
		{"fifo", 0, []string{fifo}, []string{fifo + "/pipe", "fifo"}},
		{"socket", 0, []string{sock}, []string{sock + "/sock", "socket"}},
		{"device", 0, []string{dev}, []string{dev + "/dev/null", "character device"}},
		{"two stores", 0, []string{ts.Path("hello"), "--store", links}, []string{"not in the store"}},
		{"bad graph format", 0, []string{"--graph", "svg", ts.Path("hello")}, []string{"dot"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := gpack(t, tt.uid, append([]string{"closure"}, tt.args...)...)
			code := exitError
			if tt.name == "bad graph format" {
				code = exitUsage
			}
			oneLineError(t, r, code, tt.has...)
		})
	}

	// --allow-missing goes on, and the closure is the item alone.
	if r := gpack(t, 0, "closure", "--allow-missing", missing); r.code != 0 || r.stdout != missing+"\n" {
		t.Errorf("--allow-missing: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}

	// A store the user cannot list (it can still enter it).
	if err := os.Chmod(store, 0o711); err != nil {
		t.Fatal(err)
	}
	r := gpack(t, nobody, "closure", ts.Path("hello"))
	os.Chmod(store, 0o755)
	oneLineError(t, r, exitError, store, "cannot list the store directory")
}

// TestSparseFile scans a 5 GiB sparse file with a reference after the hole:
// it must be found, and memory must stay small.
func TestSparseFile(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	item := addItem(t, ts.Dir, "sparse", nil)
	f, err := os.Create(filepath.Join(item, "disk.img"))
	if err != nil {
		t.Fatal(err)
	}
	const size = 5 << 30
	ref := []byte(ts.Path("noref") + "/share/data.txt")
	if _, err := f.WriteAt(ref, 4<<30+12345); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := gpack(t, nobody, "closure", "--json", item)
	var g jsonGraph
	if err := json.Unmarshal([]byte(r.stdout), &g); err != nil || r.code != 0 {
		t.Fatalf("exit %d: %v\n%s", r.code, err, r.stderr)
	}
	if len(g.Items) != 2 || g.Items[0].Path != ts.Path("noref") || g.Items[1].NarSize < size {
		t.Errorf("closure of the sparse item: %+v", g.Items)
	}
	if r.maxRSS > 100<<20 {
		t.Errorf("gpack used %d MiB of memory for a sparse file", r.maxRSS>>20)
	}
	r = gpack(t, 0, "why", item, "noref")
	if !strings.Contains(r.stdout, fmt.Sprintf("disk.img (at byte %d)", 4<<30+12345+len(ts.Dir)+1)) {
		t.Errorf("why: %s%s", r.stdout, r.stderr)
	}
}

// TestOddNames checks that file names with newlines and invalid UTF-8 are
// scanned, and shown quoted on one line.
func TestOddNames(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	item := addItem(t, ts.Dir, "oddnames", map[string]string{
		"share/new\nline":   "uses " + ts.Path("noref"),
		"share/bad\xff\xfe": "->" + ts.Path("hello") + "/bin/hello",
	})
	r := gpack(t, 0, "closure", item)
	if r.code != 0 || len(lines(r.stdout)) != 5 {
		t.Fatalf("exit %d: %q %q", r.code, r.stdout, r.stderr)
	}
	r = gpack(t, 0, "why", item, "noref")
	if !strings.Contains(r.stdout, `"share/new\nline"`) || len(lines(r.stdout)) != 3 {
		t.Errorf("why: %q", r.stdout)
	}
	r = gpack(t, 0, "why", item, "hello")
	if !strings.Contains(r.stdout, `"share/bad\xff\xfe" (symlink target)`) {
		t.Errorf("why: %q", r.stdout)
	}
}
