package main

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/internal/need"
)

// smallStore is a store of one item, "app", with an ELF file (so images
// know their architecture) and the files given, in a directory any user
// can enter. It builds in no time, unlike teststore.
func smallStore(t *testing.T, files map[string]string) (store, item string) {
	t.Helper()
	store = filepath.Join(openTempDir(t), "store")
	elf, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	if files == nil {
		files = map[string]string{}
	}
	files["bin/true"] = string(elf)
	item = addItem(t, store, "app", files)
	os.Chmod(filepath.Join(item, "bin/true"), 0o755)
	return store, item
}

// bigItem adds an item with size bytes that do not compress (so a pack of
// it is still writing when a test looks, and its output is as large) and
// an ELF file, for images.
func bigItem(t *testing.T, store string, size int) string {
	t.Helper()
	elf, err := os.ReadFile("/bin/true")
	if err != nil {
		t.Fatal(err)
	}
	item := addItem(t, store, "big", map[string]string{"bin/true": string(elf)})
	f, err := os.Create(filepath.Join(item, "blob"))
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1<<20)
	for i := 0; i < size>>20; i++ {
		for j := 0; j < len(buf); j += 8 {
			binary.LittleEndian.PutUint64(buf[j:], rnd.Uint64())
		}
		f.Write(buf)
	}
	f.Close()
	return item
}

// run runs gpack with extra environment and stdin, for the cases gpack()
// does not cover.
func runGpack(t *testing.T, env []string, stdout io.Writer, args ...string) result {
	t.Helper()
	cmd := exec.Command(gpackBin, args...)
	cmd.Env = append(os.Environ(), env...)
	var errb bytes.Buffer
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if stdout != nil {
		cmd.Stdout = stdout
	}
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run gpack %v: %v", args, err)
	}
	return r
}

// TestOutputTargets: -o onto what is not a regular file is refused before
// any work and leaves it as it was; a symlink to a regular file is written
// through; -o - streams what can be streamed.
func TestOutputTargets(t *testing.T) {
	need.Root(t) // mknod
	_, item := smallStore(t, nil)
	dir := openTempDir(t)
	p := func(n string) string { return filepath.Join(dir, n) }
	if err := unix.Mknod(p("null"), unix.S_IFCHR|0o666, int(unix.Mkdev(1, 3))); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(p("fifo"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("unix", p("sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	os.Mkdir(p("sub"), 0o755)
	os.WriteFile(p("sub/real.tar"), []byte("old"), 0o644)
	os.Symlink("sub/real.tar", p("link.tar"))
	os.Symlink("null", p("tonull"))

	for _, tc := range []struct {
		out, has string
	}{
		{"null", "is a character device, not a regular file"},
		{"fifo", "is a fifo, not a regular file"},
		{"sock", "is a socket, not a regular file"},
		{"sub", "is a directory"},
		{"tonull", "is a symlink to " + p("null") + ", a character device"},
	} {
		t.Run(tc.out, func(t *testing.T) {
			before, _ := os.Lstat(p(tc.out))
			r := gpack(t, 0, "pack", "-q", "-C", "none", "-o", p(tc.out), item)
			oneLineError(t, r, exitError, p(tc.out)+": "+tc.has, "give the name of")
			if after, err := os.Lstat(p(tc.out)); err != nil || after.Mode() != before.Mode() {
				t.Errorf("%s was %v, is now %v (%v)", tc.out, before.Mode(), after.Mode(), err)
			}
		})
	}

	t.Run("symlink to a file", func(t *testing.T) {
		r := gpack(t, 0, "pack", "-q", "-o", p("link.tar"), item)
		if r.code != 0 {
			t.Fatalf("exit %d: %s", r.code, r.stderr)
		}
		if fi, err := os.Lstat(p("link.tar")); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v %v", fi, err)
		}
		if out, err := exec.Command("tar", "-tf", p("sub/real.tar")).Output(); err != nil || !strings.Contains(string(out), "/bin/true") {
			t.Errorf("tar -tf of the link's target: %v %q", err, out)
		}
		noLeftovers(t, p("sub"), "real.tar")
	})

	t.Run("stdout", func(t *testing.T) {
		for _, tc := range []struct {
			args []string
			tar  string // tar's option to list it
			want string // a name tar -t must list
		}{
			{[]string{"-f", "tarball", "-C", "none"}, "-t", "/bin/true"},
			{[]string{"-f", "tarball"}, "-tz", "/bin/true"},
			{[]string{"-f", "tarball", "-C", "zstd"}, "--zstd", "/bin/true"},
			{[]string{"-f", "docker", "--no-cache"}, "-t", "manifest.json"},
			{[]string{"-f", "oci", "--no-cache"}, "-t", "index.json"},
		} {
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			list := exec.Command("tar", "-t", tc.tar)
			list.Stdin = pr
			var listed bytes.Buffer
			list.Stdout = &listed
			if err := list.Start(); err != nil {
				t.Fatal(err)
			}
			pr.Close()
			r := runGpack(t, nil, pw, append(append([]string{"pack", "-q", "-o", "-"}, tc.args...), item)...)
			pw.Close()
			lerr := list.Wait()
			if r.code != 0 || lerr != nil || !strings.Contains(listed.String(), tc.want) {
				t.Errorf("gpack pack -o - %v | tar -t: exit %d (%s), tar: %v, listing lacks %s:\n%s", tc.args, r.code, r.stderr, lerr, tc.want, listed.String())
			}
		}
		r := gpack(t, 0, "pack", "-q", "-f", "squashfs", "-o", "-", item)
		oneLineError(t, r, exitUsage, "-f squashfs cannot be written to standard output", "superblock")
		r = gpack(t, 0, "pack", "-q", "--json", "-o", "-", item)
		oneLineError(t, r, exitUsage, "--json and -o -")
		noLeftovers(t, dir, "fifo", "link.tar", "null", "sock", "sub", "tonull")
	})
}

// waitForTemp waits until gpack, started as cmd, writes its output: a
// temporary file of its own (its pid in the name) in dir that holds data
// (the empty one of the output check is gone at once). It returns its
// name.
func waitForTemp(t *testing.T, cmd *exec.Cmd, dir string, stderr *bytes.Buffer) string {
	t.Helper()
	for {
		names, _ := filepath.Glob(filepath.Join(dir, ".*.tmp-"+strconv.Itoa(cmd.Process.Pid)+"-*"))
		for _, n := range names {
			if fi, err := os.Stat(n); err == nil && fi.Size() > 0 {
				return n
			}
		}
		if st, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid)); err != nil || bytes.Contains(st, []byte(") Z ")) {
			cmd.Wait()
			t.Fatalf("gpack exited before it wrote anything: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestStaleTemps: a run killed with SIGKILL leaves its temporary file
// beside the output; the next run writing there removes it. A run that is
// alive (here stopped with SIGSTOP, in the middle of its write) keeps its
// temporary file while another run writes the same output, and then
// finishes.
func TestStaleTemps(t *testing.T) {
	store, _ := smallStore(t, nil)
	big := bigItem(t, store, 96<<20)
	dir := openTempDir(t)
	out := filepath.Join(dir, "big.tar.gz")
	start := func() (*exec.Cmd, *bytes.Buffer, string) {
		cmd := exec.Command(gpackBin, "pack", "-q", "-o", out, big)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &stderr, waitForTemp(t, cmd, dir, &stderr)
	}

	killed, _, tmp := start()
	killed.Process.Kill()
	killed.Wait()
	if _, err := os.Lstat(tmp); err != nil {
		t.Fatalf("SIGKILL left no temporary file, so this shows nothing: %v", err)
	}
	if !strings.Contains(filepath.Base(tmp), ".tmp-"+strconv.Itoa(killed.Process.Pid)+"-") {
		t.Errorf("temporary name %s lacks the pid %d", tmp, killed.Process.Pid)
	}

	live, liveErr, liveTmp := start()
	defer live.Process.Kill()
	live.Process.Signal(syscall.SIGSTOP)
	if _, err := os.Lstat(out); err == nil {
		t.Fatalf("%s was complete before the run was stopped: make the item larger", out)
	}
	if _, err := os.Lstat(tmp); err == nil {
		t.Errorf("the killed run's %s is still there after another run began", tmp)
	}
	// A second run, to completion, beside the stopped one.
	r := gpack(t, 0, "pack", "-q", "-o", out, big)
	if r.code != 0 {
		t.Fatalf("second run: exit %d: %s", r.code, r.stderr)
	}
	if _, err := os.Lstat(liveTmp); err != nil {
		t.Fatalf("a run removed the temporary file of a live run: %v", err)
	}
	live.Process.Signal(syscall.SIGCONT)
	if err := live.Wait(); err != nil {
		t.Errorf("the stopped run, continued: %v: %s", err, liveErr.String())
	}
	noLeftovers(t, dir, "big.tar.gz")
	if out, err := exec.Command("gzip", "-t", out).CombinedOutput(); err != nil {
		t.Errorf("gzip -t: %v %s", err, out)
	}
}

// TestLongOutputNames: output names of 240 to 255 bytes (NAME_MAX) work in
// every format, though the temporary name holds more than the name.
func TestLongOutputNames(t *testing.T) {
	_, item := smallStore(t, nil)
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	for _, tc := range []struct{ format, ext string }{
		{"tarball", ".tar.gz"}, {"squashfs", ".squashfs"}, {"sif", ".sif"}, {"docker", ".docker.tar"}, {"oci", ".oci"}, {"oci", ".tar"},
	} {
		for _, n := range []int{240, 255} {
			name := strings.Repeat("n", n-len(tc.ext)) + tc.ext
			r := gpack(t, 0, "pack", "-q", "-f", tc.format, "-o", filepath.Join(dir, name), item)
			if r.code != 0 {
				t.Errorf("-f %s, a name of %d bytes: exit %d: %s", tc.format, n, r.code, r.stderr)
			}
			os.RemoveAll(filepath.Join(dir, name))
		}
	}
	noLeftovers(t, dir, "cache")
}

// TestJobs: -j takes 1 or more; more than the machine can use is lowered,
// with a note, and memory stays small.
func TestJobs(t *testing.T) {
	_, item := smallStore(t, nil)
	for _, j := range []string{"0", "-3", "x"} {
		oneLineError(t, gpack(t, 0, "closure", "-j", j, item), exitUsage, `invalid argument "`+j+`" for "-j, --jobs"`, "1 or more")
	}
	r := gpack(t, 0, "pack", "-q", "-j", "100000", "-o", filepath.Join(openTempDir(t), "x.tar"), item)
	if r.code != 0 || !strings.Contains(r.stderr, "note: -j 100000: scanning") || strings.Count(r.stderr, "\n") != 1 {
		t.Errorf("-j 100000: exit %d, stderr %q", r.code, r.stderr)
	}
	if r.maxRSS > 300<<20 {
		t.Errorf("-j 100000 took %d MiB", r.maxRSS>>20)
	}
}

// TestSourceDateEpoch: SOURCE_DATE_EPOCH is checked once, for every
// format, before any work: negative, not a number, or past year 9999 is
// one line; squashfs and sif also refuse what squashfs cannot hold (after
// 2106).
func TestSourceDateEpoch(t *testing.T) {
	_, item := smallStore(t, nil)
	dir := openTempDir(t)
	for _, f := range []string{"tarball", "squashfs", "sif", "docker", "oci"} {
		for _, v := range []string{"-5", "abc", "1.5", "253402300800", "99999999999999999999"} {
			r := runGpack(t, []string{"SOURCE_DATE_EPOCH=" + v, "XDG_CACHE_HOME=" + dir}, nil, "pack", "-q", "-f", f, "-o", filepath.Join(dir, "x"), item)
			oneLineError(t, r, exitUsage, "SOURCE_DATE_EPOCH="+v+": want whole seconds since 1970, from 0 to 253402300799")
		}
		r := runGpack(t, []string{"SOURCE_DATE_EPOCH=253402300799", "XDG_CACHE_HOME=" + dir}, nil, "pack", "-q", "-f", f, "-o", filepath.Join(dir, f+".out"), item)
		switch {
		case f == "squashfs":
			oneLineError(t, r, exitUsage, "SOURCE_DATE_EPOCH=253402300799: squashfs holds times up to 4294967295")
		case f == "sif":
			oneLineError(t, r, exitUsage, "SOURCE_DATE_EPOCH=253402300799: a SIF image's squashfs holds times up to 4294967295")
		case r.code != 0:
			t.Errorf("-f %s, SOURCE_DATE_EPOCH at the end of year 9999: exit %d: %s", f, r.code, r.stderr)
		}
	}
}

// TestFormatFlags: a flag the chosen format does not take is bad usage,
// before any work, saying which formats take it.
func TestFormatFlags(t *testing.T) {
	_, item := smallStore(t, nil)
	dir := openTempDir(t)
	for _, tc := range []struct {
		format string
		flag   []string
		has    string
	}{
		{"tarball", []string{"--block-size", "64K"}, "--block-size applies to -f squashfs, sif and appimage, not to -f tarball"},
		{"tarball", []string{"--cmd", "x"}, "--cmd applies to -f docker and oci, not to -f tarball"},
		{"tarball", []string{"--max-layers", "5"}, "--max-layers applies to -f docker and oci"},
		{"tarball", []string{"--insecure"}, "--insecure applies to -f docker and oci"},
		{"tarball", []string{"--arch", "amd64"}, "--arch applies to -f sif, docker and oci, not to -f tarball"},
		{"tarball", []string{"--image-tag", "a:b"}, "--image-tag applies to -f docker and oci"},
		{"tarball", []string{"--push", "localhost:1/x"}, "--push applies to -f docker and oci"},
		{"tarball", []string{"--no-cache"}, "--no-cache applies to -f docker and oci"},
		{"tarball", []string{"--entry-point", "bin/true"}, "--entry-point with -f tarball needs -R"},
		{"squashfs", []string{"--cmd", "x"}, "--cmd applies to -f docker and oci, not to -f squashfs"},
		{"squashfs", []string{"--max-layers", "5"}, "not to -f squashfs"},
		{"squashfs", []string{"--arch", "amd64"}, "--arch applies to -f sif, docker and oci, not to -f squashfs"},
		{"sif", []string{"--cmd", "x"}, "--cmd applies to -f docker and oci, not to -f sif"},
		{"sif", []string{"--image-tag", "a:b"}, "not to -f sif"},
		{"docker", []string{"--block-size", "64K"}, "--block-size applies to -f squashfs, sif and appimage, not to -f docker"},
		{"oci", []string{"--block-size", "1M"}, "not to -f oci"},
		{"appimage", []string{"--cmd", "x"}, "--cmd applies to -f docker and oci, not to -f appimage"},
	} {
		args := append([]string{"pack", "-q", "-f", tc.format, "-o", filepath.Join(dir, "x")}, tc.flag...)
		oneLineError(t, gpack(t, 0, append(args, item)...), exitUsage, tc.has)
	}
	noLeftovers(t, dir)
}

// saidTwice returns a part of a message said twice in a row ("zstd:
// zstd:"), or "".
func saidTwice(msg string) string {
	parts := strings.Split(msg, ": ")
	for i := 1; i < len(parts); i++ {
		if parts[i] == parts[i-1] {
			return parts[i]
		}
	}
	return ""
}

// TestDiskFullMessages fills a tmpfs with every format and compressor:
// one line, naming the file and "no space left on device", and no part of
// it said twice.
func TestDiskFullMessages(t *testing.T) {
	need.Root(t) // mounts a tmpfs
	store, _ := smallStore(t, nil)
	big := bigItem(t, store, 4<<20)
	for _, tc := range []struct{ format, algo, out string }{
		{"tarball", "gzip", "x.tar.gz"}, {"tarball", "zstd", "x.tar.zst"}, {"tarball", "xz", "x.tar.xz"}, {"tarball", "none", "x.tar"},
		{"squashfs", "gzip", "x.squashfs"}, {"squashfs", "zstd", "x.squashfs"}, {"squashfs", "xz", "x.squashfs"},
		{"squashfs", "lz4", "x.squashfs"}, {"squashfs", "none", "x.squashfs"}, {"sif", "gzip", "x.sif"}, {"sif", "xz", "x.sif"},
		{"docker", "gzip", "x.docker.tar"}, {"docker", "zstd", "x.docker.tar"}, {"oci", "gzip", "x.oci"}, {"oci", "zstd", "x.tar"},
	} {
		t.Run(tc.format+"-"+tc.algo, func(t *testing.T) {
			full := openTempDir(t)
			if b, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "gpack-test-full", full).CombinedOutput(); err != nil {
				t.Fatalf("mount: %v %s", err, b)
			}
			defer exec.Command("umount", full).Run()
			r := runGpack(t, []string{"XDG_CACHE_HOME=" + filepath.Join(full, "cache")}, nil,
				"pack", "-q", "-f", tc.format, "-C", tc.algo, "-o", filepath.Join(full, tc.out), big)
			oneLineError(t, r, exitError, "writing "+full+"/", "no space left on device")
			if m := saidTwice(r.stderr); m != "" || strings.Count(r.stderr, "writing") > 1 {
				t.Errorf("%q says %q twice", r.stderr, m)
			}
		})
	}
}

// TestPushAfterWrite: a push that fails after -o has written the file
// says that the file is there.
func TestPushAfterWrite(t *testing.T) {
	_, item := smallStore(t, nil)
	dir := openTempDir(t)
	// A port with no listener: the push fails at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	out := filepath.Join(dir, "x.docker.tar")
	r := runGpack(t, []string{"XDG_CACHE_HOME=" + dir}, nil, "pack", "-q", "-f", "docker", "-o", out, "--push", addr+"/x:1", item)
	oneLineError(t, r, exitError, "the image is written to "+out+", but the push failed", addr)
	if out, err := exec.Command("tar", "-tf", out).Output(); err != nil || !strings.Contains(string(out), "manifest.json") {
		t.Errorf("the written archive: %v %q", err, out)
	}
}

// TestStoreDirectory: the store directory itself is not an item, and the
// message says so, with and without --store.
func TestStoreDirectory(t *testing.T) {
	store, _ := smallStore(t, nil)
	link := filepath.Join(openTempDir(t), "store-link")
	os.Symlink(store, link)
	for _, args := range [][]string{
		{"pack", store},
		{"closure", store + "/"},
		{"closure", "--store", store, store},
		{"why", store, "app"},
	} {
		arg := args[len(args)-1]
		if args[0] == "why" {
			arg = args[1]
		}
		oneLineError(t, gpack(t, 0, args...), exitError, arg+": is a store directory, not a store item", "give an item of it ("+store+"/<hash>-<name>)")
	}
	oneLineError(t, gpack(t, 0, "closure", link), exitError, link+": resolves to the store directory "+store)
}

// TestSetIDWarning: a store file with the set-user-ID bit and a directory
// with the set-group-ID bit lose them in every format, and one warning
// names them.
func TestSetIDWarning(t *testing.T) {
	unsquashfs := need.Tool(t, "unsquashfs", "squashfs-tools")
	_, item := smallStore(t, map[string]string{"bin/su": "#!/bin/sh\n", "share/x": "x"})
	os.Chmod(filepath.Join(item, "bin/su"), 0o755|os.ModeSetuid)
	os.Chmod(filepath.Join(item, "share"), 0o755|os.ModeSetgid)
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	for _, tc := range []struct{ format, out string }{{"tarball", "x.tar"}, {"squashfs", "x.squashfs"}, {"docker", "x.docker.tar"}} {
		t.Run(tc.format, func(t *testing.T) {
			out := filepath.Join(dir, tc.out)
			r := gpack(t, 0, "pack", "-q", "-f", tc.format, "-o", out, item)
			if r.code != 0 {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			if strings.Count(r.stderr, "set-user-ID") != 1 || !strings.Contains(r.stderr, "set-user-ID and set-group-ID bits of 2 files") ||
				!strings.Contains(r.stderr, item+"/bin/su") || !strings.Contains(r.stderr, item+"/share") {
				t.Errorf("stderr %q, want one warning naming bin/su and share", r.stderr)
			}
			var listing string
			switch tc.format {
			case "tarball":
				b, _ := exec.Command("tar", "-tvf", out).Output()
				listing = string(b)
			case "squashfs":
				b, _ := exec.Command(unsquashfs, "-lls", out).Output()
				listing = string(b)
			case "docker":
				listing = dockerListing(t, out)
			}
			// ls -l modes: -rwsr-xr-x for set-user-ID, drwxr-sr-x for
			// set-group-ID.
			seen := 0
			for _, l := range lines(listing) {
				if f := strings.Fields(l); len(f) > 0 && (strings.Contains(l, "/bin/su") || strings.HasSuffix(strings.TrimSuffix(l, "/"), "/share")) {
					seen++
					if strings.ContainsAny(f[0], "sS") {
						t.Errorf("set-ID bits kept in the %s: %s", tc.format, l)
					}
				}
			}
			if seen != 2 {
				t.Errorf("the %s lists bin/su and share %d times, want 2:\n%s", tc.format, seen, listing)
			}
		})
	}
}

// dockerListing lists every layer of a docker archive as tar -tv does.
func dockerListing(t *testing.T, archive string) string {
	t.Helper()
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		if !strings.HasSuffix(h.Name, ".tar.gz") {
			continue
		}
		cmd := exec.Command("tar", "-tvzf", "-")
		cmd.Stdin = tr
		out, _ := cmd.Output()
		b.Write(out)
	}
	return b.String()
}

// TestCacheOptions: --no-cache keeps nothing and says nothing; a cache
// that cannot be used (no HOME, no XDG_CACHE_HOME) is one warning, and the
// image is written.
func TestCacheOptions(t *testing.T) {
	_, item := smallStore(t, nil)
	dir := openTempDir(t)
	cache := filepath.Join(dir, "cache")
	r := runGpack(t, []string{"XDG_CACHE_HOME=" + cache}, nil, "pack", "-q", "--no-cache", "-f", "docker", "-o", filepath.Join(dir, "a.tar"), item)
	if r.code != 0 || r.stderr != "" {
		t.Errorf("--no-cache: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(cache); err == nil {
		t.Errorf("--no-cache made the cache %s", cache)
	}
	cmd := exec.Command(gpackBin, "pack", "-q", "-f", "oci", "-o", filepath.Join(dir, "b.oci"), item)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil || strings.Count(stderr.String(), "\n") != 1 || !strings.Contains(stderr.String(), "warning: the layer cache cannot be used") {
		t.Errorf("no HOME: %v, stderr %q", err, stderr.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "b.oci", "index.json")); err != nil {
		t.Errorf("no HOME: no image: %v", err)
	}
}

// TestDamagedCacheBlob flips a byte of a cached layer blob: the next pack
// warns, rebuilds the layer, and skopeo, which checks every digest, reads
// the image.
func TestDamagedCacheBlob(t *testing.T) {
	skopeo := need.Tool(t, "skopeo", "skopeo")
	store, item := smallStore(t, nil)
	_ = store
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	out := filepath.Join(dir, "x.docker.tar")
	if r := gpack(t, 0, "pack", "-q", "-f", "docker", "-o", out, item); r.code != 0 {
		t.Fatalf("first pack: %s", r.stderr)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, "cache", "gpack", "layers", "*.blob"))
	if len(blobs) != 1 {
		t.Fatalf("cache blobs %v, want one", blobs)
	}
	b, _ := os.ReadFile(blobs[0])
	b[len(b)/2] ^= 1
	os.WriteFile(blobs[0], b, 0o644)
	r := gpack(t, 0, "pack", "-q", "-f", "docker", "-o", out, item)
	if r.code != 0 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "did not match its digest") {
		t.Fatalf("pack with a damaged blob: exit %d, stderr %q", r.code, r.stderr)
	}
	oci := filepath.Join(dir, "copy")
	if out, err := exec.Command(skopeo, "copy", "--quiet", "docker-archive:"+out, "oci:"+oci+":x").CombinedOutput(); err != nil {
		t.Errorf("skopeo copy: %v\n%s", err, out)
	}
}

// TestEntryPointRefused: an --entry-point that is no program of the first
// item is one line.
func TestEntryPointRefused(t *testing.T) {
	store, item := smallStore(t, map[string]string{"etc/conf": "x"})
	other := addItem(t, store, "other", map[string]string{"bin/x": "#!/bin/sh\n"})
	os.Chmod(filepath.Join(other, "bin/x"), 0o755)
	os.WriteFile(filepath.Join(item, "etc/uses"), []byte(other), 0o644)
	dir := openTempDir(t)
	for _, tc := range []struct{ ep, has string }{
		{"bin", "is a directory"},
		{"etc/conf", "cannot be executed"},
		{"../" + filepath.Base(other) + "/bin/x", "is outside the profile"},
	} {
		r := gpack(t, 0, "pack", "-q", "-f", "squashfs", "--entry-point", tc.ep, "-o", filepath.Join(dir, "x.squashfs"), item)
		oneLineError(t, r, exitUsage, "--entry-point", tc.has)
	}
	if r := gpack(t, 0, "pack", "-q", "-f", "squashfs", "--entry-point", other+"/bin/x", "-o", filepath.Join(dir, "x.squashfs"), item); r.code != 0 {
		t.Errorf("--entry-point of another item by its store path: exit %d: %s", r.code, r.stderr)
	}
}

// TestDefaultOutputChecked: a directory in the way of the default output
// name fails before the closure is read (here the closure would fail with
// a missing item).
func TestDefaultOutputChecked(t *testing.T) {
	store, _ := smallStore(t, nil)
	broken := addItem(t, store, "broken", map[string]string{"bin/run": "#!" + store + "/00000000000000000000000000000000-gone/bin/sh\n"})
	dir := openTempDir(t)
	os.Mkdir(filepath.Join(dir, "broken.tar.gz"), 0o755)
	cmd := exec.Command(gpackBin, "pack", "-q", broken)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != exitError || !strings.Contains(stderr.String(), "broken.tar.gz: is a directory") {
		t.Errorf("%v, stderr %q; want the directory refused first", err, stderr.String())
	}
}
