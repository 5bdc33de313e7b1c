package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/target"
	"github.com/gpack/gpack/internal/teststore"
	"github.com/gpack/gpack/pack"
)

// userDir is a directory owned by the test user, for extracting packs and
// as a working directory.
func userDir(t *testing.T) string {
	d := filepath.Join(openTempDir(t), "u")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	// Extracted store directories are read-only: make them writable again
	// so that t.TempDir's cleanup can remove them.
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", d).Run() })
	return d
}

// packTo runs gpack pack and returns the output path.
func packTo(t *testing.T, out string, args ...string) string {
	t.Helper()
	r := gpack(t, 0, append([]string{"pack", "-q", "-o", out}, args...)...)
	if r.code != 0 {
		t.Fatalf("gpack pack %v: exit %d: %s", args, r.code, r.stderr)
	}
	return out
}

// extract unpacks a tarball as the test user, with GNU tar or bsdtar.
func extract(t *testing.T, tool, tarball, dir string) {
	t.Helper()
	args := []string{"-xf", tarball, "-C", dir}
	cmd := exec.Command(tool, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", tool, args, err, out)
	}
}

type targetRun struct {
	out  string
	code int
}

// onTarget runs argv on the target machine: store hidden, as nobody, in dir.
func onTarget(t *testing.T, store, dir string, env []string, stdin string, argv ...string) targetRun {
	t.Helper()
	cmd := target.Command(store, nobody, dir, argv...)
	cmd.Env = append(cmd.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	r := targetRun{out: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return r
}

// TestRelocatableTarball is the main job end to end: pack -R, extract as an
// unprivileged user with GNU tar and with bsdtar, and run the programs with
// the store hidden.
func TestRelocatableTarball(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	tb := packTo(t, filepath.Join(openTempDir(t), "p.tar.gz"), "-R", ts.Path("profile"))
	for _, tool := range []string{"tar", "bsdtar"} {
		t.Run(tool, func(t *testing.T) {
			root := userDir(t)
			extract(t, tool, tb, root)
			cwd := userDir(t)
			hello := ts.Path("hello")
			// The store really is needed: without the launcher the program
			// cannot start there.
			if r := onTarget(t, ts.Dir, cwd, nil, "", root+ts.Dir+"/"+filepath.Base(hello)+"/bin/hello"); r.code == 0 {
				t.Fatalf("the store program ran without its store: %q", r.out)
			}
			tests := []struct {
				name  string
				env   []string
				stdin string
				argv  []string
				out   string // the output must contain it
				code  int
			}{
				{"dynamic ELF", nil, "", []string{root + "/bin/hello", "a b", "c"}, "hello from the store: ", 0},
				{"arguments", nil, "", []string{root + "/bin/hello", "a b", "c"}, "\na b\nc\n", 0},
				{"store shebang", nil, "", []string{root + "/bin/greet-script", "x"}, "hello from the store", 0},
				{"exec by store path", nil, "", []string{root + "/bin/execer", "via-execer"}, "via-execer", 0},
				{"uid", nil, "", []string{root + "/bin/sh", "-c", "id -u"}, "65534\n", 0},
				{"files belong to the user", nil, "", []string{root + "/bin/sh", "-c", "echo x > made && stat -c %u made"}, "65534\n", 0},
				{"cwd kept", nil, "", []string{root + "/bin/sh", "-c", "pwd"}, cwd + "\n", 0},
				{"exit 3", []string{"HELLO_EXIT=3"}, "", []string{root + "/bin/hello"}, "", 3},
				{"exit 255", []string{"HELLO_EXIT=255"}, "", []string{root + "/bin/hello"}, "", 255},
				{"SIGTERM", nil, "", []string{root + "/bin/sh", "-c", "kill -TERM $$"}, "", 143},
				{"stdin", nil, "piped data\n", []string{root + "/bin/sh", "-c", "read x; echo got $x"}, "got piped data", 0},
				{"environment", []string{"GPACK_TEST_VAR=kept"}, "", []string{root + "/bin/sh", "-c", "echo $GPACK_TEST_VAR"}, "kept\n", 0},
				{"nested", []string{"GPACK_DEBUG=1"}, "", []string{root + "/bin/sh", "-c", root + "/bin/hello nested"}, "nested", 0},
				{"threads", nil, "", []string{root + "/bin/threads"}, "threads ok", 0},
				{"fork and exec", nil, "", []string{root + "/bin/forker", "50"}, "forked 50 ok", 0},
			}
			for _, tt := range tests {
				r := onTarget(t, ts.Dir, cwd, tt.env, tt.stdin, tt.argv...)
				if r.code != tt.code || !strings.Contains(r.out, tt.out) {
					t.Errorf("%s: exit %d, output %q; want %d, %q", tt.name, r.code, r.out, tt.code, tt.out)
				}
			}
		})
	}

	// Where the store is visible the launcher execs the program directly.
	root := userDir(t)
	extract(t, "tar", tb, root)
	r := onTarget(t, "", userDir(t), []string{"GPACK_DEBUG=1"}, "", root+"/bin/hello")
	if r.code != 0 || !strings.Contains(r.out, "direct") {
		t.Errorf("store visible: exit %d, %q", r.code, r.out)
	}
}

// TestForwardedSignal sends SIGINT to the launcher only: the program must
// get it and decide its exit status itself.
func TestForwardedSignal(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	tb := packTo(t, filepath.Join(openTempDir(t), "p.tar.zst"), "-R", "-C", "zstd", ts.Path("profile"))
	root := userDir(t)
	extract(t, "tar", tb, root)
	cmd := target.Command(ts.Dir, nobody, userDir(t), root+"/bin/sh", "-c",
		`trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done`)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(stdout)
	if line, err := br.ReadString('\n'); err != nil || line != "ready\n" {
		cmd.Process.Kill()
		t.Fatalf("first line %q, %v", line, err)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(br)
	err = cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 7 || string(rest) != "got INT\n" {
		t.Errorf("after SIGINT: %v, output %q", err, rest)
	}
}

// TestNixTarball packs programs of the real Nix store and runs them with
// /nix/store hidden, through each engine of the launcher: a pipeline, a
// script with a store shebang, coreutils' ls (statx) on the store, and a
// shell that works inside the store by relative paths.
func TestNixTarball(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store")
	}
	ns := nixstore.New(t)
	tb := packTo(t, filepath.Join(openTempDir(t), "nix.tar.xz"), "-R", "-C", "xz", ns.Items["profile"])
	root := userDir(t)
	extract(t, "tar", tb, root)
	cwd := userDir(t)
	tests := []struct {
		argv []string
		out  string
	}{
		{[]string{root + "/bin/bash", "-c", "echo one two three | " + root + "/bin/sed s/two/2/ | " + root + "/bin/grep -o '2 three'"}, "2 three\n"},
		{[]string{root + "/bin/hello-script"}, "hello from nix\n65534\n"},
		{[]string{root + "/bin/ls", "-d", "/nix/store"}, "/nix/store\n"},
		{[]string{root + "/bin/bash", "-c", "ls /nix/store | " + root + "/bin/sort | " + root + "/bin/grep -c -- -glibc$"}, "1\n"},
		{[]string{root + "/bin/bash", "-c", "cd " + ns.Items["glibc"] + "/lib && pwd && ls ld-linux-x86-64.so.2 ../lib/libc.so.6"},
			ns.Items["glibc"] + "/lib\n../lib/libc.so.6\nld-linux-x86-64.so.2\n"},
	}
	// The launcher's engines by GPACK_ENGINE value; each must run every
	// program the same.
	for _, engine := range []string{"userns", "ptrace"} {
		t.Run(engine, func(t *testing.T) {
			for _, tt := range tests {
				r := onTarget(t, "/nix/store", cwd, []string{"GPACK_ENGINE=" + engine}, "", tt.argv...)
				if r.code != 0 || r.out != tt.out {
					t.Errorf("%v: exit %d, %q, want %q", tt.argv, r.code, r.out, tt.out)
				}
			}
		})
	}
	// GPACK_ENGINE unset where user namespaces are off: the launcher must
	// find another engine on its own. The pack is nobody's, so that is
	// relocation (TestNixRelocate has more of it), which leaves the
	// store paths that a command line names itself (ls /nix/store, cd
	// into an item) as missing as without the launcher: only the cases
	// that name the pack's programs run here.
	t.Run("auto, user namespaces off", func(t *testing.T) {
		t.Cleanup(func() { removeRelocationLink(root) })
		for _, tt := range tests[:2] {
			cmd := target.CommandUsernsOff("/nix/store", nobody, cwd, tt.argv...)
			out, err := cmd.CombinedOutput()
			if err != nil || string(out) != tt.out {
				t.Errorf("%v: %v, %q, want %q", tt.argv, err, out, tt.out)
			}
		}
	})
}

// removeRelocationLink removes the /tmp link of the pack at root, if the
// relocate engine made one.
func removeRelocationLink(root string) {
	b, err := os.ReadFile(filepath.Join(root, ".gpack/relocate/state"))
	if err != nil {
		return
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "prefix\t"); ok {
			os.Remove(strings.TrimRight(p, "/"))
		}
	}
}

// TestTarballListing checks what tar -tv shows: names in --sort=name order,
// owner root, mtime 1 (or SOURCE_DATE_EPOCH), the store's modes kept, and
// the wrappers as hard links.
func TestTarballListing(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	for _, c := range []string{"gzip", "zstd", "xz", "none"} {
		tb := packTo(t, filepath.Join(dir, "p-"+c), "-R", "-C", c, "-S", "/etc=etc", ts.Path("profile"))
		out, err := exec.Command("tar", "--numeric-owner", "--full-time", "-tvf", tb).Output()
		if err != nil {
			t.Fatalf("%s: tar -tvf: %v", c, err)
		}
		var names []string
		for _, l := range lines(string(out)) {
			f := strings.Fields(l)
			if f[1] != "0/0" || f[3] != "1970-01-01" || f[4] != "00:00:01" {
				t.Errorf("%s: %q: want owner 0/0 and mtime 1970-01-01 00:00:01", c, l)
			}
			names = append(names, f[5])
			switch {
			case strings.HasPrefix(f[5], "./bin/") && f[5] != "./bin/":
				if !strings.Contains(l, "link to ./.gpack/launcher") {
					t.Errorf("%s: %q is not a hard link to the launcher", c, l)
				}
			case strings.HasSuffix(f[5], "/bin/hello") && strings.HasPrefix(f[5], "."+ts.Path("hello")):
				if f[0] != "-r-xr-xr-x" {
					t.Errorf("%s: %q: want the store's mode r-xr-xr-x", c, l)
				}
			}
		}
		sorted := append([]string(nil), names...)
		sort.SliceStable(sorted, func(i, j int) bool {
			return pack.Less(strings.TrimSuffix(sorted[i], "/"), strings.TrimSuffix(sorted[j], "/"))
		})
		if strings.Join(sorted, "\n") != strings.Join(names, "\n") {
			t.Errorf("%s: names are not sorted", c)
		}
		if !strings.Contains(string(out), "./etc -> "+strings.TrimPrefix(ts.Path("profile"), "/")+"/etc") {
			t.Errorf("%s: no -S /etc link in\n%s", c, out)
		}
	}
	tb := packTo(t, filepath.Join(dir, "epoch.tar"), "-C", "none", ts.Path("hello"))
	cmd := exec.Command(gpackBin, "pack", "-q", "-C", "none", "-o", tb, ts.Path("hello"))
	cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH=1700000000")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%v %s", err, out)
	}
	out, _ := exec.Command("tar", "--full-time", "--utc", "-tvf", tb).Output()
	if !strings.Contains(string(out), "2023-11-14 22:13:20") {
		t.Errorf("SOURCE_DATE_EPOCH not used:\n%s", out)
	}
}

func fileHash(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256.Sum256(b))
}

// TestDeterministic packs the same items with one and two cores and two
// umasks: every compressor must give the same bytes.
func TestDeterministicTarball(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	for _, c := range []string{"gzip", "zstd", "xz", "none"} {
		var first string
		for i, env := range [][]string{{"GOMAXPROCS=1"}, {"GOMAXPROCS=2"}} {
			out := filepath.Join(dir, fmt.Sprintf("%s-%d", c, i))
			cmd := exec.Command("sh", "-c", fmt.Sprintf("umask %s && exec \"$@\"", []string{"022", "077"}[i]), "sh",
				gpackBin, "pack", "-q", "-R", "-C", c, "-o", out, ts.Path("profile"))
			cmd.Env = append(os.Environ(), env...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v %s", err, b)
			}
			if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o644 {
				t.Errorf("%s: output mode %o, want 644 whatever the umask", c, fi.Mode().Perm())
			}
			h := fileHash(t, out)
			if i == 0 {
				first = h
			} else if h != first {
				t.Errorf("%s: GOMAXPROCS=1/umask 022 and GOMAXPROCS=2/umask 077 give different files", c)
			}
		}
	}
}

// noLeftovers checks that dir holds exactly the names given.
func noLeftovers(t *testing.T, dir string, want ...string) {
	t.Helper()
	ents, _ := os.ReadDir(dir)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("%s holds %v, want %v", dir, names, want)
	}
}

// TestPackOutputDiscipline: a read error, a full disk and Ctrl-C each leave
// neither the output nor a temporary file behind.
func TestPackOutputDiscipline(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	store := ts.Dir

	// A read error, as an unprivileged user.
	secret := addItem(t, store, "secret", map[string]string{"etc/key": "secret"})
	os.Chmod(filepath.Join(secret, "etc/key"), 0o400)
	out := userDir(t)
	r := gpack(t, nobody, "pack", "-q", "-o", filepath.Join(out, "x.tar.gz"), secret)
	oneLineError(t, r, exitError, "etc/key", "permission denied")
	noLeftovers(t, out)

	// A full disk: a 256 KiB tmpfs.
	full := openTempDir(t)
	if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=256k", "gpack-test-full", full).CombinedOutput(); err != nil {
		t.Fatalf("mount: %v %s", err, b)
	}
	defer exec.Command("umount", full).Run()
	r = gpack(t, 0, "pack", "-q", "-C", "none", "-o", filepath.Join(full, "x.tar"), ts.Path("profile"))
	oneLineError(t, r, exitError, "no space left on device")
	noLeftovers(t, full)

	// A signal in the middle: a big item that takes a while to compress.
	// Each interrupt cleans up as Ctrl-C does and exits 128+n; SIGQUIT
	// prints the goroutines' stacks first, as Go does.
	big := addItem(t, store, "big", nil)
	f, err := os.Create(filepath.Join(big, "blob"))
	if err != nil {
		t.Fatal(err)
	}
	rnd := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		for j := range rnd {
			rnd[j] = byte(i*7919 + j*j>>3)
		}
		f.Write(rnd)
	}
	f.Close()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP, syscall.SIGQUIT} {
		t.Run(sig.String(), func(t *testing.T) {
			outDir := openTempDir(t)
			cmd := exec.Command(gpackBin, "pack", "-q", "-o", filepath.Join(outDir, "big.tar.xz"), big)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			// Wait until the temporary file exists, then signal.
			for {
				ents, _ := os.ReadDir(outDir)
				if len(ents) > 0 {
					break
				}
				if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)); err != nil || bytes.Contains(st, []byte(") Z ")) {
					cmd.Wait()
					t.Fatalf("gpack exited before it wrote anything: %s", stderr.String())
				}
				time.Sleep(10 * time.Millisecond)
			}
			cmd.Process.Signal(sig)
			err := cmd.Wait()
			if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 128+int(sig) {
				t.Errorf("after %v: %v, want exit %d; stderr %q", sig, err, 128+int(sig), stderr.String())
			}
			if sig == syscall.SIGQUIT && !strings.Contains(stderr.String(), "goroutine ") {
				t.Errorf("SIGQUIT printed no stacks: %q", stderr.String())
			}
			noLeftovers(t, outDir)
		})
	}
}

// TestCompressionFromName: without -C, -o's name chooses the compressor;
// the default name follows -C.
func TestCompressionFromName(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	magic := map[string][]byte{
		"gzip": {0x1f, 0x8b},
		"zstd": {0x28, 0xb5, 0x2f, 0xfd},
		"xz":   {0xfd, '7', 'z', 'X', 'Z', 0},
	}
	for _, tc := range []struct{ name, algo string }{
		{"p.tar.gz", "gzip"}, {"p.tgz", "gzip"}, {"p.tar.zst", "zstd"}, {"p.tzst", "zstd"},
		{"p.tar.xz", "xz"}, {"p.txz", "xz"}, {"p.tar", "none"}, {"p.pack", "gzip"},
	} {
		out := packTo(t, filepath.Join(dir, tc.name), ts.Path("hello"))
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if m := magic[tc.algo]; m != nil && !bytes.HasPrefix(b, m) || tc.algo == "none" && (len(b) < 262 || string(b[257:262]) != "ustar") {
			t.Errorf("-o %s: starts % x, want %s", tc.name, b[:min(len(b), 8)], tc.algo)
		}
	}
	cmd := exec.Command(gpackBin, "pack", "-q", "-C", "zstd", ts.Path("hello"))
	cmd.Dir = dir
	if out, err := cmd.Output(); err != nil || string(out) != "hello.tar.zst\n" {
		t.Errorf("default name with -C zstd: %v %q", err, out)
	}
}

// TestOutputChecked: an output that cannot be written fails before any
// work (here, before the missing item is even looked at), with what to do.
func TestOutputChecked(t *testing.T) {
	dir := openTempDir(t)
	missing := filepath.Join(dir, "no", "such", "item")
	for _, tc := range []struct {
		name string
		args []string
		has  []string
	}{
		{"directory", []string{"-o", dir}, []string{dir + ": is a directory", "give the name of a file"}},
		{"squashfs into a directory", []string{"-f", "squashfs", "-o", dir}, []string{"is a directory"}},
		{"docker into a directory", []string{"-f", "docker", "-o", dir}, []string{"is a directory"}},
		{"/proc", []string{"-o", "/proc/x.tar.gz"}, []string{"directory /proc is not writable"}},
		{"missing directory", []string{"-o", filepath.Join(dir, "nodir", "x.tar")}, []string{"does not exist", "create the directory"}},
		{"oci layout over a file", []string{"-f", "oci", "-o", "/etc/hostname"}, []string{"not a directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gpack(t, 0, append(append([]string{"pack", "-q"}, tc.args...), missing)...)
			oneLineError(t, r, exitError, tc.has...)
			if strings.Contains(r.stderr, "no such file") && strings.Contains(r.stderr, "item") {
				t.Errorf("the item was looked at first: %q", r.stderr)
			}
		})
	}
}

// TestPackCommand covers the default output name, --json and usage errors.
func TestPackCommand(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	cmd := exec.Command(gpackBin, "pack", "-q", ts.Path("hello"))
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil || string(out) != "hello.tar.gz\n" {
		t.Fatalf("default name: %v %q", err, out)
	}
	if b, err := exec.Command("gzip", "-t", filepath.Join(dir, "hello.tar.gz")).CombinedOutput(); err != nil {
		t.Errorf("gzip -t: %v %s", err, b)
	}
	r := gpack(t, 0, "pack", "--json", "-C", "zstd", "-o", filepath.Join(dir, "h.tar.zst"), ts.Path("hello"))
	var s packSummary
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil || s.Items != 3 || s.Files < 3 || s.BytesOut == 0 || s.Size != s.BytesOut || s.BytesIn < 1<<20 {
		t.Errorf("--json: %v %+v %s", err, s, r.stderr)
	}
	// -R -S /bin=bin, as guix pack users write it: /bin is the wrappers.
	r = gpack(t, 0, "pack", "-q", "-R", "-S", "/bin=bin", "-C", "none", "-o", filepath.Join(dir, "r.tar"), ts.Path("profile"))
	if r.code != 0 {
		t.Errorf("-R -S /bin=bin: exit %d: %s", r.code, r.stderr)
	} else if out, _ := exec.Command("tar", "-tvf", filepath.Join(dir, "r.tar"), "./bin/hello").Output(); !strings.Contains(string(out), "link to ./.gpack/launcher") {
		t.Errorf("-R -S /bin=bin: ./bin/hello is %q, want a wrapper", out)
	}
	for _, tt := range []struct {
		args []string
		has  string
	}{
		{[]string{"-f", "snap"}, "formats"},
		{[]string{"--no-such-flag"}, "see 'gpack pack --help'"},
		{[]string{"-o", "x.tar.zst", "-C", "gzip"}, "-C gzip contradicts -o x.tar.zst"},
		{[]string{"-o", "x.tgz", "-C", "none"}, "-C none contradicts -o x.tgz"},
		{[]string{"-f", "docker", "--insecure"}, "--insecure applies to --push"},
		{[]string{"-C", "lzip"}, "lzip"},
		{[]string{"-C", "gzip", "--level", "42"}, "--level 42: gzip takes 1 to 9"},
		{[]string{"-C", "none", "--level", "3"}, "--level 3: none has no levels"},
		{[]string{"-f", "squashfs", "-C", "xz", "--level", "3"}, "--level 3: xz has no levels"},
		{[]string{"-C", "lz4"}, "-C lz4: -f tarball takes gzip, zstd, xz or none"},
		{[]string{"--collisions", "last"}, "collisions"},
		{[]string{"-S", "nolink"}, "LINK=TARGET"},
	} {
		r := gpack(t, 0, append(append([]string{"pack"}, tt.args...), ts.Path("hello"))...)
		oneLineError(t, r, exitUsage, tt.has)
	}
}
