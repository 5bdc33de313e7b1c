package main

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/formats/appimage/layout"
	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/internal/target"
	"github.com/gpack/gpack/internal/teststore"
)

// appImage packs the test store's profile as an AppImage whose entry
// point is hello, and copies it into a directory of the test user's.
func appImage(t *testing.T, ts *teststore.Store) (img, dir string) {
	t.Helper()
	built := packTo(t, filepath.Join(openTempDir(t), "hello.AppImage"), "-f", "appimage", "--entry-point", "bin/hello", ts.Path("profile"))
	dir = userDir(t)
	img = filepath.Join(dir, "hello.AppImage")
	b, err := os.ReadFile(built)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(img, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(img, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	return img, dir
}

// readAppImage returns the bytes of the AppImage img and its layout.
func readAppImage(t *testing.T, img string) ([]byte, *layout.Layout) {
	t.Helper()
	b, err := os.ReadFile(img)
	if err != nil {
		t.Fatal(err)
	}
	l, err := layout.Read(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	return b, l
}

// appRun runs argv on the target machine (the store hidden, as nobody,
// user namespaces off when off is set) with the environment env.
func appRun(t *testing.T, ts *teststore.Store, off bool, dir string, env []string, argv ...string) targetRun {
	t.Helper()
	cmd := target.Command(ts.Dir, nobody, dir, argv...)
	if off {
		cmd = target.CommandUsernsOff(ts.Dir, nobody, dir, argv...)
	}
	cmd.Env = append(cmd.Environ(), env...)
	out, err := cmd.CombinedOutput()
	r := targetRun{out: string(out)}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%v: %v", argv, err)
	}
	return r
}

// cacheEntries lists the names in the extraction cache.
func cacheEntries(t *testing.T, cache string) []string {
	t.Helper()
	des, err := os.ReadDir(filepath.Join(cache, "gpack"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// needFUSE needs /dev/fuse, open to every user (0666) as Debian makes it:
// the test user opens it in its own user namespace.
func needFUSE(t *testing.T) {
	t.Helper()
	need.Device(t, "/dev/fuse", "modprobe fuse")
	if fi, err := os.Stat("/dev/fuse"); err != nil || fi.Mode().Perm() != 0o666 {
		need.Missing(t, "/dev/fuse with mode 0666", "the fuse module's default (udev rule of the fuse3 package)")
	}
}

// TestAppImage runs an AppImage on the target machine, with user
// namespaces on (the image served over FUSE, nothing written to the
// cache) and off (extracted into the cache by the first run only, then
// relocated): the entry point, --gpack-run, a link named after a program,
// exit statuses, the AppImage variables.
func TestAppImage(t *testing.T) {
	needFUSE(t)
	ts := teststore.New(t, openTempDir(t))
	img, dir := appImage(t, ts)
	link := filepath.Join(dir, "sh")
	if err := os.Symlink("hello.AppImage", link); err != nil {
		t.Fatal(err)
	}
	for _, off := range []bool{false, true} {
		name := "userns"
		if off {
			name = "userns-off"
		}
		t.Run(name, func(t *testing.T) {
			cache := userDir(t)
			env := []string{"XDG_CACHE_HOME=" + cache}
			cwd := userDir(t)
			t.Cleanup(func() {
				for _, e := range cacheEntries(t, cache) {
					removeRelocationLink(filepath.Join(cache, "gpack", e))
				}
			})
			first := appRun(t, ts, off, cwd, append(env, "GPACK_DEBUG=1"), img, "first")
			if first.code != 0 || !strings.Contains(first.out, teststore.Greeting+"first\n") {
				t.Fatalf("first run: exit %d:\n%s", first.code, first.out)
			}
			if !off {
				if !strings.Contains(first.out, "gpack-appimage: shared mount: started a server (pid ") ||
					!strings.Contains(first.out, "in the namespaces of an earlier run's FUSE mount") || strings.Contains(first.out, "cache:") {
					t.Errorf("first run: not over the shared FUSE mount:\n%s", first.out)
				}
			} else {
				if !strings.Contains(first.out, "gpack-appimage: cache: extracted into "+cache+"/gpack/") ||
					!strings.Contains(first.out, "gpack-launcher: engine relocate: ") {
					t.Errorf("first run: not extracted and relocated:\n%s", first.out)
				}
				second := appRun(t, ts, off, cwd, append(env, "GPACK_DEBUG=1"), img, "second")
				if second.code != 0 || !strings.Contains(second.out, teststore.Greeting+"second\n") ||
					strings.Contains(second.out, "extracted into") || !strings.Contains(second.out, "is there") {
					t.Errorf("second run: exit %d, extracted again or failed:\n%s", second.code, second.out)
				}
				if es := cacheEntries(t, cache); len(es) != 1 || len(es[0]) != 64 {
					t.Errorf("cache holds %q, want one entry named by the digest", es)
				}
			}
			for _, tt := range []struct {
				name string
				env  []string
				argv []string
				out  string // the whole output
				code int
			}{
				{"entry point", nil, []string{img, "a b", "c"}, teststore.Greeting + "a b\nc\n", 0},
				{"--gpack-run", nil, []string{img, "--gpack-run", "sh", "-c", "echo ran $0"}, "ran sh\n", 0},
				{"link named after a program", nil, []string{link, "-c", "echo via link"}, "via link\n", 0},
				{"AppImage variables", nil, []string{img, "--gpack-run", "sh", "-c", `echo "$APPIMAGE|$ARGV0|$OWD"; test -f "$APPDIR/AppRun" -o -L "$APPDIR/AppRun" && echo appdir`},
					img + "|sh|" + cwd + "\nappdir\n", 0},
				{"exit 3", []string{"HELLO_EXIT=3"}, []string{img}, teststore.Greeting, 3},
				{"SIGTERM", nil, []string{img, "--gpack-run", "sh", "-c", "kill -TERM $$"}, "", 143},
				{"no such program", nil, []string{img, "--gpack-run", "nosuch"}, "", 127},
				{"uid", nil, []string{img, "--gpack-run", "sh", "-c", "id -u"}, "65534\n", 0},
			} {
				r := appRun(t, ts, off, cwd, append(env, tt.env...), tt.argv...)
				if r.code != tt.code || tt.out != "" && r.out != tt.out {
					t.Errorf("%s: exit %d, output %q; want %d, %q", tt.name, r.code, r.out, tt.code, tt.out)
				}
			}
			// The store visible: the program runs in place, with nothing
			// mounted or extracted.
			cmd := target.Command("", nobody, cwd, img, "visible")
			if off {
				cmd = target.CommandUsernsOff("", nobody, cwd, img, "visible")
			}
			cmd.Env = append(cmd.Environ(), "XDG_CACHE_HOME="+userDir(t), "GPACK_DEBUG=1")
			if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "gpack-launcher: direct: ") ||
				strings.Contains(string(out), "FUSE") || strings.Contains(string(out), "cache:") {
				t.Errorf("store visible: %v:\n%s", err, out)
			}
			list := appRun(t, ts, off, cwd, env, img, "--gpack-cache", "list")
			if !off {
				if list.code != 0 || list.out != "" {
					t.Errorf("--gpack-cache list: exit %d, %q; want an empty cache after FUSE runs", list.code, list.out)
				}
				return
			}
			if list.code != 0 || !strings.HasSuffix(list.out, "\t(this AppImage)\n") || len(lines(list.out)) != 1 {
				t.Errorf("--gpack-cache list: exit %d, %q", list.code, list.out)
			}
			// --appimage-extract as the user, then squashfs-root/AppRun:
			// an unpacked -R pack, whose AppRun runs the entry point.
			if r := appRun(t, ts, off, cwd, env, img, "--appimage-extract"); r.code != 0 {
				t.Fatalf("--appimage-extract: exit %d, %s", r.code, r.out)
			}
			t.Cleanup(func() { removeRelocationLink(filepath.Join(cwd, "squashfs-root")) })
			if r := appRun(t, ts, off, cwd, env, filepath.Join(cwd, "squashfs-root", "AppRun"), "extracted"); r.code != 0 ||
				r.out != teststore.Greeting+"extracted\n" {
				t.Errorf("squashfs-root/AppRun: exit %d, %q", r.code, r.out)
			}
		})
	}
}

// TestAppImageExtractAndRun: APPIMAGE_EXTRACT_AND_RUN=1, and a
// GPACK_ENGINE that names another engine than userns, run from the cache
// though user namespaces are on.
func TestAppImageExtractAndRun(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	img, _ := appImage(t, ts)
	for _, c := range []struct{ env, says, engine string }{
		{"APPIMAGE_EXTRACT_AND_RUN=1", "APPIMAGE_EXTRACT_AND_RUN is set", "userns"},
		{"GPACK_ENGINE=ptrace", "GPACK_ENGINE=ptrace: running from the extraction cache", "ptrace"},
	} {
		t.Run(c.env, func(t *testing.T) {
			cache := userDir(t)
			r := appRun(t, ts, false, userDir(t), []string{"XDG_CACHE_HOME=" + cache, c.env, "GPACK_DEBUG=1"}, img, "x")
			if r.code != 0 || !strings.Contains(r.out, c.says) || !strings.Contains(r.out, "extracted into") ||
				!strings.Contains(r.out, "gpack-launcher: engine "+c.engine+": ") || !strings.Contains(r.out, teststore.Greeting+"x\n") {
				t.Errorf("exit %d:\n%s", r.code, r.out)
			}
			if c.engine != "userns" {
				return
			}
			// The extraction there, a plain run (user namespaces on)
			// runs from it, not over FUSE, and writes nothing.
			before := cacheEntries(t, cache)
			again := appRun(t, ts, false, userDir(t), []string{"XDG_CACHE_HOME=" + cache, "GPACK_DEBUG=1"}, img, "y")
			if again.code != 0 || !strings.Contains(again.out, "is there: running from it rather than over FUSE") ||
				strings.Contains(again.out, "mounted over FUSE") || !strings.Contains(again.out, teststore.Greeting+"y\n") {
				t.Errorf("a plain run with the cache there: exit %d, want it run from the cache:\n%s", again.code, again.out)
			}
			if after := cacheEntries(t, cache); !slices.Equal(before, after) {
				t.Errorf("the cache was %v, then %v", before, after)
			}
		})
	}
}

// TestAppImageConcurrentFirstRuns starts four first runs at once on an
// empty cache: all must run, and the cache must end with one entry and no
// temporary directory.
func TestAppImageConcurrentFirstRuns(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	img, _ := appImage(t, ts)
	cache := userDir(t)
	cwd := userDir(t)
	var wg sync.WaitGroup
	results := make([]targetRun, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = appRun(t, ts, true, cwd, []string{"XDG_CACHE_HOME=" + cache, "GPACK_DEBUG=1"}, img, "at once")
		}()
	}
	wg.Wait()
	t.Cleanup(func() {
		for _, e := range cacheEntries(t, cache) {
			removeRelocationLink(filepath.Join(cache, "gpack", e))
		}
	})
	extracted := 0
	for i, r := range results {
		if r.code != 0 || !strings.Contains(r.out, teststore.Greeting+"at once\n") {
			t.Errorf("run %d: exit %d:\n%s", i, r.code, r.out)
		}
		if strings.Contains(r.out, "cache: extracted into") {
			extracted++
		}
	}
	if es := cacheEntries(t, cache); len(es) != 1 || len(es[0]) != 64 {
		t.Errorf("cache holds %q, want one entry and no temporary directory", es)
	}
	if extracted < 1 {
		t.Errorf("no run says it extracted")
	}
}

// TestAppImageDamaged: a truncated AppImage, and one with a byte flipped
// in its image's data or in its directory table, each fail with one line
// of the runtime's that says so, exit 126, never a hang, and leave nothing
// in the cache: the trailer finds the truncation, the digest check before
// an extraction the flipped data byte, and the squashfs reader the flipped
// directory byte when the runtime reads the manifest, before it chooses
// FUSE or the cache. (A flipped byte in a data block that only the FUSE
// server reads later gives the program EIO and the runtime's one line
// "... is damaged (copy it again): ..."; no test targets such a block.)
func TestAppImageDamaged(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	img, dir := appImage(t, ts)
	b, l := readAppImage(t, img)
	flip := func(at int64) []byte {
		c := append([]byte{}, b...)
		c[at] ^= 0x40
		return c
	}
	sb := b[l.Offset:]
	dirTable := int64(binary.LittleEndian.Uint64(sb[72:]))
	for _, c := range []struct {
		name string
		off  bool
		data []byte
		want string
	}{
		{"truncated", true, b[:len(b)-5000], "not a complete gpack AppImage"},
		{"truncated, userns", false, b[:len(b)-5000], "not a complete gpack AppImage"},
		{"flipped data byte", true, flip(l.Offset + l.Size/2), "is damaged"},
		{"flipped directory byte", true, flip(l.Offset + dirTable + 20), "is damaged"},
		{"flipped directory byte, userns", false, flip(l.Offset + dirTable + 20), "is damaged"},
	} {
		t.Run(c.name, func(t *testing.T) {
			if !c.off {
				needFUSE(t)
			}
			p := filepath.Join(dir, strings.NewReplacer(" ", "-", ",", "").Replace(c.name)+".AppImage")
			if err := os.WriteFile(p, c.data, 0o755); err != nil {
				t.Fatal(err)
			}
			cache := userDir(t)
			r := appRun(t, ts, c.off, userDir(t), []string{"XDG_CACHE_HOME=" + cache}, p)
			t.Logf("exit %d: %s", r.code, r.out)
			var ours []string
			for _, line := range lines(r.out) {
				if strings.HasPrefix(line, "gpack-") {
					ours = append(ours, line)
				}
			}
			if r.code == 0 || len(ours) != 1 || !strings.Contains(ours[0], c.want) {
				t.Errorf("exit %d, %q; want a failure and one line of gpack's saying %q", r.code, r.out, c.want)
			}
			if r.code != 126 || len(lines(r.out)) != 1 {
				t.Errorf("exit %d, %q; want 126 and that line alone", r.code, r.out)
			}
			for _, e := range cacheEntries(t, cache) {
				t.Errorf("the cache holds %s after a failed run", e)
			}
		})
	}
}

// TestAppImageSignal sends SIGINT to the AppImage alone, with user
// namespaces off and over FUSE: the program gets it and decides the exit
// status.
func TestAppImageSignal(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	img, _ := appImage(t, ts)
	for _, off := range []bool{true, false} {
		t.Run(map[bool]string{true: "userns-off", false: "fuse"}[off], func(t *testing.T) {
			if !off {
				needFUSE(t)
			}
			argv := []string{img, "--gpack-run", "sh", "-c", `trap 'echo got INT; exit 7' INT; echo ready; while :; do sleep 0.05; done`}
			cmd := target.Command(ts.Dir, nobody, userDir(t), argv...)
			if off {
				cmd = target.CommandUsernsOff(ts.Dir, nobody, userDir(t), argv...)
			}
			cache := userDir(t)
			cmd.Env = append(cmd.Environ(), "XDG_CACHE_HOME="+cache)
			t.Cleanup(func() {
				for _, e := range cacheEntries(t, cache) {
					removeRelocationLink(filepath.Join(cache, "gpack", e))
				}
			})
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
		})
	}
}

// TestAppImageDeterministic: the same input gives the same file.
func TestAppImageDeterministic(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	a := packTo(t, filepath.Join(openTempDir(t), "a.AppImage"), "-f", "appimage", "--entry-point", "bin/hello", ts.Path("profile"))
	b := packTo(t, filepath.Join(openTempDir(t), "b.AppImage"), "-f", "appimage", "--entry-point", "bin/hello", "-j", "1", ts.Path("profile"))
	if ha, hb := fileHash(t, a), fileHash(t, b); ha != hb {
		t.Errorf("two packs of one input differ: %s and %s", ha, hb)
	}
	fi, err := os.Stat(a)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("the AppImage's mode is %v (%v), want 0755", fi.Mode(), err)
	}
}

// TestAppImageDesktop: --desktop and --icon put the files at the
// AppImage's root, with .DirIcon leading to the icon, and are refused
// with another format or when they are not what they claim.
func TestAppImageDesktop(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	desktop := filepath.Join(dir, "hello.desktop")
	icon := filepath.Join(dir, "hello.png")
	const entry = "[Desktop Entry]\nType=Application\nName=hello\nExec=hello\nIcon=hello\nTerminal=true\nCategories=Utility;\n"
	png := "\x89PNG\r\n\x1a\nnot really"
	if err := os.WriteFile(desktop, []byte(entry), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(icon, []byte(png), 0o644); err != nil {
		t.Fatal(err)
	}
	img := packTo(t, filepath.Join(dir, "hello.AppImage"), "-f", "appimage", "--entry-point", "bin/hello",
		"--desktop", desktop, "--icon", icon, ts.Path("profile"))
	out := openTempDir(t)
	cmd := exec.Command(img, "--appimage-extract")
	cmd.Dir = out
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("--appimage-extract: %v\n%s", err, b)
	}
	root := filepath.Join(out, "squashfs-root")
	if b, err := os.ReadFile(filepath.Join(root, "hello.desktop")); err != nil || string(b) != entry {
		t.Errorf("hello.desktop: %q, %v", b, err)
	}
	if l, err := os.Readlink(filepath.Join(root, ".DirIcon")); err != nil || l != "hello.png" {
		t.Errorf(".DirIcon: %q, %v; want a link to hello.png", l, err)
	}
	if b, err := os.ReadFile(filepath.Join(root, ".DirIcon")); err != nil || string(b) != png {
		t.Errorf("the icon: %q, %v", b, err)
	}

	notDesktop := filepath.Join(dir, "x.desktop")
	if err := os.WriteFile(notDesktop, []byte("hello"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		has  string
	}{
		{[]string{"-f", "appimage", "--desktop", notDesktop}, "want a .desktop file with a [Desktop Entry] group"},
		{[]string{"-f", "appimage", "--icon", desktop}, "want a .png or .svg file"},
		{[]string{"-f", "appimage", "--icon", filepath.Join(dir, "missing.png")}, "--icon: no such file or directory"},
		{[]string{"-f", "tarball", "--desktop", desktop}, "--desktop applies to -f appimage, not to -f tarball"},
	} {
		args := append(append([]string{"pack", "-q", "-o", filepath.Join(dir, "y")}, c.args...), ts.Path("profile"))
		oneLineError(t, gpack(t, 0, args...), exitUsage, c.has)
	}
}

// TestAppImageFuseClosed: where /dev/fuse is root's alone (mode 0600, as
// some sites set it), the FUSE mount cannot be made and the next path
// runs: the image is extracted into the cache once and run from there.
// The 0600 node is a bind mount in a mount namespace of the test's own,
// so the machine's /dev/fuse is never changed.
func TestAppImageFuseClosed(t *testing.T) {
	needFUSE(t)
	need.Root(t)
	ts := teststore.New(t, openTempDir(t))
	img, _ := appImage(t, ts)
	cache := userDir(t)
	t.Cleanup(func() {
		for _, e := range cacheEntries(t, cache) {
			removeRelocationLink(filepath.Join(cache, "gpack", e))
		}
	})
	node := filepath.Join(openTempDir(t), "fuse")
	run := func(arg string) targetRun {
		inner := target.Command(ts.Dir, nobody, userDir(t), img, arg)
		cmd := exec.Command("unshare", append([]string{"--mount", "--propagation", "private", "--", "sh", "-c",
			`set -e; mknod "$0" c 10 229; chmod 0600 "$0"; mount --bind "$0" /dev/fuse; exec "$@"`, node, inner.Path}, inner.Args[1:]...)...)
		cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache, "GPACK_DEBUG=1")
		out, err := cmd.CombinedOutput()
		r := targetRun{out: string(out)}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		os.Remove(node)
		return r
	}
	first := run("first")
	if first.code != 0 || !strings.Contains(first.out, teststore.Greeting+"first\n") ||
		!strings.Contains(first.out, "opening /dev/fuse in the new user namespace: permission denied") ||
		!strings.Contains(first.out, "gpack-appimage: cache: extracted into "+cache+"/gpack/") {
		t.Fatalf("/dev/fuse 0600, first run: exit %d, want it extracted and run:\n%s", first.code, first.out)
	}
	second := run("second")
	if second.code != 0 || !strings.Contains(second.out, teststore.Greeting+"second\n") || strings.Contains(second.out, "extracted into") {
		t.Errorf("/dev/fuse 0600, second run: exit %d, want the cache reused:\n%s", second.code, second.out)
	}
	if es := cacheEntries(t, cache); len(es) != 1 {
		t.Errorf("cache entries %v, want one", es)
	}
}

// withoutFusermount wraps a target command so that it runs with
// fusermount3 and fusermount covered by /dev/null (not executable): a host
// without them. The wrapper is the first process of the chain, so a user
// namespace that cmd's SysProcAttr asks for encloses it too.
func withoutFusermount(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal(err)
	}
	script := `set -e
for f in /usr/bin/fusermount3 /usr/bin/fusermount /bin/fusermount3 /bin/fusermount; do
	if [ -e "$f" ]; then mount --bind /dev/null "$f"; fi
done
exec "$@"`
	cmd.Args = append([]string{"unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "sh", cmd.Path}, cmd.Args[1:]...)
	cmd.Path = unshare
	return cmd
}

// TestAppImageLastResorts runs an AppImage with user namespaces off and a
// cache it cannot write: from the image that fusermount mounts, with
// ptrace, and, without fusermount, from an extraction for that run alone,
// also with ptrace. Neither leaves anything in the cache or in $TMPDIR.
func TestAppImageLastResorts(t *testing.T) {
	need.Tool(t, "fusermount3", "fuse3")
	ts := teststore.New(t, openTempDir(t))
	img, _ := appImage(t, ts)
	// The user's cache, which the user cannot write.
	cache := filepath.Join(openTempDir(t), "cache")
	if err := os.Mkdir(cache, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name        string
		fusermount  bool
		want        string
		wantNothing string
	}{
		{"fusermount", true, "gpack-appimage: mounted by fusermount on ", "for this run"},
		{"no fusermount", false, "for this run: running with ptrace", "mounted by fusermount"},
	} {
		t.Run(c.name, func(t *testing.T) {
			tmp := userDir(t)
			cmd := target.CommandUsernsOff(ts.Dir, nobody, userDir(t), img, "--gpack-run", "sh", "-c", `echo "ran from $APPDIR"; exit 5`)
			if !c.fusermount {
				cmd = withoutFusermount(t, cmd)
			}
			cmd.Env = append(cmd.Environ(), "XDG_CACHE_HOME="+cache, "TMPDIR="+tmp, "GPACK_DEBUG=1")
			out, err := cmd.CombinedOutput()
			code := 0
			if ee, ok := err.(*exec.ExitError); ok {
				code = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			s := string(out)
			if code != 5 || !strings.Contains(s, "ran from "+tmp+"/gpack-appimage-") {
				t.Fatalf("exit %d, want the program's 5 and it run from $TMPDIR:\n%s", code, s)
			}
			if !strings.Contains(s, c.want) || strings.Contains(s, c.wantNothing) ||
				!strings.Contains(s, "gpack-launcher: engine ptrace: ") {
				t.Errorf("want %q and the ptrace engine, not %q:\n%s", c.want, c.wantNothing, s)
			}
			if !strings.Contains(s, "gpack-appimage: cache: ") {
				t.Errorf("no word of the cache that cannot be written:\n%s", s)
			}
			for _, e := range cacheEntries(t, cache) {
				t.Errorf("the cache holds %s", e)
			}
			if es, err := os.ReadDir(tmp); err != nil || len(es) != 0 {
				t.Errorf("$TMPDIR after the run: %v, %v; want it empty", es, err)
			}
		})
	}
	t.Run("damaged", func(t *testing.T) {
		b, l := readAppImage(t, img)
		b[l.Offset+l.Size/2] ^= 0x40
		p := filepath.Join(userDir(t), "damaged.AppImage")
		if err := os.WriteFile(p, b, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := target.CommandUsernsOff(ts.Dir, nobody, userDir(t), p)
		cmd.Env = append(cmd.Environ(), "XDG_CACHE_HOME="+cache)
		out, err := cmd.CombinedOutput()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 126 || len(lines(string(out))) != 1 ||
			!strings.Contains(string(out), "is damaged") {
			t.Errorf("a damaged AppImage, cache not writable: %v, %q; want 126 and one line saying it is damaged", err, out)
		}
	})
}

// TestAppImageMount: --appimage-mount mounts the image with fusermount,
// prints where, serves the user's other processes until SIGTERM, then
// unmounts it and removes the directory.
func TestAppImageMount(t *testing.T) {
	need.Tool(t, "fusermount3", "fuse3")
	ts := teststore.New(t, openTempDir(t))
	img, _ := appImage(t, ts)
	tmp := userDir(t)
	script := `"$0" --appimage-mount > mnt &
pid=$!
i=0
while [ ! -s mnt ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
m=$(head -n 1 mnt)
echo "mounted at $m"
head -n 1 "$m/.gpack/manifest"
test -L "$m/AppRun" && echo "AppRun is there"
kill -TERM $pid
wait $pid && echo "exit 0"
grep -c " $m " /proc/self/mounts || :
test -e "$m" || echo "removed"`
	r := onTarget(t, ts.Dir, userDir(t), []string{"TMPDIR=" + tmp}, "", "sh", "-c", script, img)
	t.Logf("%s", r.out)
	ls := lines(r.out)
	if r.code != 0 || len(ls) != 6 || !strings.HasPrefix(ls[0], "mounted at "+tmp+"/gpack-appimage-") ||
		!strings.HasPrefix(ls[1], "gpack-manifest") || ls[2] != "AppRun is there" ||
		ls[3] != "exit 0" || ls[4] != "0" || ls[5] != "removed" {
		t.Errorf("exit %d, output:\n%s\nwant the mount point, the manifest's first line, AppRun, exit 0, no mount left, the directory removed", r.code, r.out)
	}
}

// TestAppImageShared runs an AppImage twice in one mount namespace, user
// namespaces on: the first run starts the server of the shared FUSE
// mount, the second joins it, and the server ends once no run has used
// it for GPACK_APPIMAGE_LINGER seconds. GPACK_APPIMAGE_LINGER=0 mounts
// the image for the run alone.
func TestAppImageShared(t *testing.T) {
	needFUSE(t)
	ts := teststore.New(t, openTempDir(t))
	img, dir := appImage(t, ts)
	cache := userDir(t)
	pgrep := need.Tool(t, "pgrep", "procps")
	// servers lists the image's servers: pgrep exits 1 when there are none.
	servers := func() string {
		out, err := exec.Command(pgrep, "-f", "-a", "--", img+" --gpack-serve").Output()
		if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 1) {
			t.Fatalf("pgrep: %v", err)
		}
		return strings.TrimSpace(string(out))
	}
	script := `"$0" one; "$0" two; "$0" --gpack-run sh -c 'echo "APPDIR $APPDIR"'`
	r := appRun(t, ts, false, dir, []string{"XDG_CACHE_HOME=" + cache, "GPACK_DEBUG=1", "GPACK_APPIMAGE_LINGER=1"}, "sh", "-c", script, img)
	if r.code != 0 || !strings.Contains(r.out, teststore.Greeting+"one\n") || !strings.Contains(r.out, teststore.Greeting+"two\n") {
		t.Fatalf("exit %d:\n%s", r.code, r.out)
	}
	if n := strings.Count(r.out, "shared mount: started a server"); n != 1 {
		t.Errorf("%d servers started for three runs, want 1:\n%s", n, r.out)
	}
	if n := strings.Count(r.out, "shared mount: a server is there"); n != 2 {
		t.Errorf("%d runs joined the server, want 2:\n%s", n, r.out)
	}
	if n := strings.Count(r.out, "in the namespaces of an earlier run's FUSE mount"); n != 3 {
		t.Errorf("%d runs in the shared namespaces, want 3:\n%s", n, r.out)
	}
	if !strings.Contains(r.out, "APPDIR /tmp/") && !strings.Contains(r.out, "APPDIR "+os.TempDir()) {
		t.Errorf("APPDIR is not the server's mount point:\n%s", r.out)
	}
	if es := cacheEntries(t, cache); len(es) != 0 {
		t.Errorf("the cache holds %v", es)
	}
	// The server outlives the runs by a second, then ends.
	waitGone := func() {
		t.Helper()
		var left string
		for range 100 {
			if left = servers(); left == "" {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Errorf("the server is still there 10 s after the last run, with a linger of 1 s:\n%s", left)
	}
	waitGone()

	// Two first runs at once: one server, both runs in its namespaces.
	both := appRun(t, ts, false, dir, []string{"XDG_CACHE_HOME=" + cache, "GPACK_DEBUG=1", "GPACK_APPIMAGE_LINGER=1"},
		"sh", "-c", `"$0" a > a.out 2>&1 & "$0" b > b.out 2>&1 & wait; cat a.out b.out`, img)
	if both.code != 0 || !strings.Contains(both.out, teststore.Greeting+"a\n") || !strings.Contains(both.out, teststore.Greeting+"b\n") {
		t.Fatalf("two runs at once: exit %d:\n%s", both.code, both.out)
	}
	if n := strings.Count(both.out, "in the namespaces of an earlier run's FUSE mount"); n != 2 {
		t.Errorf("two runs at once: %d in the shared namespaces, want 2:\n%s", n, both.out)
	}
	if n := strings.Count(both.out, "shared mount: started a server"); n > 1 {
		t.Errorf("two runs at once: %d servers serve, want 1:\n%s", n, both.out)
	}
	waitGone()

	off := appRun(t, ts, false, dir, []string{"XDG_CACHE_HOME=" + cache, "GPACK_DEBUG=1", "GPACK_APPIMAGE_LINGER=0"}, img, "alone")
	if off.code != 0 || !strings.Contains(off.out, teststore.Greeting+"alone\n") ||
		!strings.Contains(off.out, "GPACK_APPIMAGE_LINGER turns the shared mount off") ||
		!strings.Contains(off.out, "gpack-launcher: engine userns: trying, with the image mounted over FUSE on ") {
		t.Errorf("GPACK_APPIMAGE_LINGER=0: exit %d, want the image mounted for the run alone:\n%s", off.code, off.out)
	}
	if left := servers(); left != "" {
		t.Errorf("GPACK_APPIMAGE_LINGER=0 left a server:\n%s", left)
	}
}
