package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/gpack/gpack/formats/oci"
	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/teststore"
)

var profileName = regexp.MustCompile(`[0-9abcdfghijklmnpqrsvwxyz]{32}-profile`)

// TestProfilePack: several items give one profile, whose programs all get
// -R wrappers and run with the store hidden, and whose path is the same
// on every run.
func TestProfilePack(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	a := packTo(t, filepath.Join(dir, "a.tar"), "-R", "-C", "none", "-S", "/opt/bin=bin", ts.Path("hello"), ts.Path("dash"), ts.Path("script"))
	b := packTo(t, filepath.Join(dir, "b.tar"), "-R", "-C", "none", "-S", "/opt/bin=bin", ts.Path("hello"), ts.Path("dash"), ts.Path("script"))
	if fileHash(t, a) != fileHash(t, b) {
		t.Errorf("two packs of the same items differ")
	}
	list, err := exec.Command("tar", "-tvf", a).CombinedOutput()
	if err != nil {
		t.Fatalf("tar -t: %v %s", err, list)
	}
	prof := profileName.FindString(string(list))
	if prof == "" {
		t.Fatalf("no <hash>-profile item in the pack:\n%s", list)
	}
	for _, want := range []string{
		prof + "/bin/hello -> " + ts.Path("hello") + "/bin/hello",
		prof + "/bin/sh -> " + ts.Path("dash") + "/bin/sh",
		"bin/greet-script link to ./.gpack/launcher",
		"bin/sh link to ./.gpack/launcher",
		"opt/bin -> ../" + strings.TrimPrefix(ts.Dir, "/") + "/" + prof + "/bin",
	} {
		if !strings.Contains(string(list), want) {
			t.Errorf("the pack lacks %q", want)
		}
	}

	root := userDir(t)
	extract(t, "tar", a, root)
	cwd := userDir(t)
	for _, tc := range []struct {
		argv []string
		out  string
	}{
		{[]string{root + "/bin/hello", "x"}, "hello from the store"},
		{[]string{root + "/bin/sh", "-c", "echo $((6*7))"}, "42\n"},
		{[]string{root + "/bin/greet-script"}, "hello from the store"},
		{[]string{root + "/bin/sh", "-c", "ls " + ts.Dir + "/" + prof + "/bin"}, "greet-script\nhello\nsh\n"},
	} {
		if r := onTarget(t, ts.Dir, cwd, nil, "", tc.argv...); r.code != 0 || !strings.Contains(r.out, tc.out) {
			t.Errorf("%v: exit %d, %q; want %q", tc.argv, r.code, r.out, tc.out)
		}
	}
}

// TestProfileConflict: two items with different files at one path are
// refused with one line naming both, and --collisions=first keeps the
// item given first.
func TestProfileConflict(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	store := ts.Dir
	other := addItem(t, store, "other-hello", map[string]string{"bin/hello": "#!/bin/sh\necho other\n"})
	dir := openTempDir(t)
	r := gpack(t, 0, "pack", "-q", "-o", filepath.Join(dir, "x.tar"), ts.Path("hello"), other)
	oneLineError(t, r, 1, "two different files", ts.Path("hello"), other, "--collisions=first")
	for _, order := range [][]string{{other, ts.Path("hello")}, {ts.Path("hello"), other}} {
		out := filepath.Join(dir, "first.tar")
		packTo(t, out, append([]string{"-C", "none", "--collisions=first"}, order...)...)
		list, _ := exec.Command("tar", "-tvf", out).CombinedOutput()
		if want := "/bin/hello -> " + order[0] + "/bin/hello"; !strings.Contains(string(list), want) {
			t.Errorf("--collisions=first with %s first: no %q in\n%s", order[0], want, list)
		}
	}
}

// TestManifestFlag: -m takes a list of paths, a Guix manifest, a nix
// profile manifest.json and a profile directory; bad ones get one line.
func TestManifestFlag(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	hello, dash := ts.Path("hello"), ts.Path("dash")
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	guix := `(manifest (version 4) (packages (("hello" "2.12" "out" "` + hello + `" (propagated-inputs ()) (search-paths ()))` +
		` ("dash" "0.5" "out" "` + dash + `" (propagated-inputs ()) (search-paths ())))))`
	nixJSON := `{"version": 3, "elements": {"b-dash": {"storePaths": ["` + dash + `"], "url": "path:` + ts.Path("noref") + `"}, "a-hello": {"storePaths": ["` + hello + `"]}}}`
	profDir := filepath.Join(dir, "profile-dir")
	if err := os.Mkdir(profDir, 0o755); err != nil {
		t.Fatal(err)
	}
	write("profile-dir/manifest", guix)
	var outputs []string
	for _, m := range []string{
		write("list", "# the packs' items\n"+hello+"\n\n"+dash+"/bin/sh\n"),
		write("guix-manifest", guix),
		write("manifest.json", nixJSON),
		profDir,
	} {
		out := filepath.Join(dir, filepath.Base(m)+".tar")
		packTo(t, out, "-C", "none", "-m", m)
		list, _ := exec.Command("tar", "-tf", out).CombinedOutput()
		if !strings.Contains(string(list), filepath.Base(dash)+"/bin/sh") || !strings.Contains(string(list), filepath.Base(hello)+"/bin/hello") ||
			strings.Contains(string(list), filepath.Base(ts.Path("noref"))) || !profileName.Match(list) {
			t.Errorf("-m %s: want hello, dash and a profile, and nothing of a flake URL:\n%s", m, list)
		}
		outputs = append(outputs, fileHash(t, out))
	}
	if outputs[0] != outputs[1] || outputs[1] != outputs[2] || outputs[2] != outputs[3] {
		t.Errorf("the same items in the same order from four -m files give different packs: %v", outputs)
	}

	for _, tc := range []struct {
		m    string
		code int
		has  string
	}{
		{filepath.Join(dir, "missing"), 3, "-m: no such file"},
		{write("empty", "no paths here\n"), 2, "names no store path"},
		{write("notstore", "/etc/passwd\n"), 1, "/etc/passwd"},
	} {
		r := gpack(t, 0, "pack", "-q", "-o", filepath.Join(dir, "bad.tar"), "-m", tc.m)
		oneLineError(t, r, tc.code, tc.has)
	}
	oneLineError(t, gpack(t, 0, "pack", "-q", "-o", filepath.Join(dir, "bad.tar")), 2, "needs a store item")
}

// TestProfileImageNix: an image of several real Nix items has all their
// programs on /bin and the PATH, as `podman run IMG bash` expects.
func TestProfileImageNix(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store and podman")
	}
	ns := nixstore.New(t)
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	img := filepath.Join(dir, "img.tar")
	r := gpack(t, 0, "pack", "-q", "-f", "docker", "--image-tag", "gpack-test/several:1", "-o", img,
		ns.Items["hello-script"], ns.Items["grep"], ns.Items["bash"])
	if r.code != 0 {
		t.Fatalf("gpack pack -f docker: %s", r.stderr)
	}
	pm := filepath.Join(dir, "podman")
	if out, err := podman(t, pm, "load", "-i", img); err != nil {
		t.Fatalf("podman load: %v\n%s", err, out)
	}
	out, err := podman(t, pm, "run", "--rm", "--cgroups=disabled", "--network=none", "gpack-test/several:1",
		"bash", "-c", "echo one two | grep -o two && test -x /bin/grep -a -x /bin/bash -a -x /bin/hello-script && hello-script | grep -m1 hello")
	if err != nil || out != "two\nhello from nix\n" {
		t.Errorf("podman run bash: %v\n%q", err, out)
	}
}

// FuzzParseProfileManifest: any bytes give a list of distinct absolute
// paths and never a panic.
func FuzzParseProfileManifest(f *testing.F) {
	f.Add([]byte("/gnu/store/5kr4vfjzn2ihw9p87cmcbfg2kqdic7jw-hello\n# c\n"))
	f.Add([]byte(`(manifest (version 4) (packages (("hello" "2.12" "out" "/gnu/store/5kr4vfjzn2ihw9p87cmcbfg2kqdic7jw-hello" ()))))`))
	f.Add([]byte(`{"version": 2, "elements": [{"storePaths": ["/nix/store/5kr4vfjzn2ihw9p87cmcbfg2kqdic7jw-hello"]}]}`))
	f.Add([]byte(`{"elements": {"x": {"storePaths": ["/nix/store/5kr4vfjzn2ihw9p87cmcbfg2kqdic7jw-hello.drv"]}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		seen := map[string]bool{}
		for _, p := range parseManifest(b) {
			if !strings.HasPrefix(p, "/") || strings.HasSuffix(p, ".drv") || seen[p] {
				t.Fatalf("%q gives %q", b, p)
			}
			seen[p] = true
		}
	})
}

// TestGuixProfileLayout: a profile laid out as Guix lays one out. Packed
// alone it is its own profile, and its etc/profile's search paths reach
// images and -R --env wrappers; given to -m, its manifest's packages are
// packed as a new profile of gpack's, without the old one.
func TestGuixProfileLayout(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	gp := ts.Path("guixprofile")

	lay := packTo(t, filepath.Join(dir, "g.oci"), "-f", "oci", gp)
	env := layoutConfig(t, lay).Env
	for _, want := range []string{"PATH=" + gp + "/bin:" + oci.DefaultPath, "GUIX_LOCPATH=" + gp + "/lib/locale", "MANPATH=" + gp + "/share/man"} {
		if !slices.Contains(env, want) {
			t.Errorf("image Env %q lacks %q", env, want)
		}
	}

	tb := packTo(t, filepath.Join(dir, "g.tar"), "-R", "--env", "-C", "none", gp)
	root := userDir(t)
	extract(t, "tar", tb, root)
	r := onTarget(t, ts.Dir, userDir(t), []string{"GUIX_LOCPATH=/host/locale"}, "", root+"/bin/sh", "-c", `echo "$GUIX_LOCPATH $MANPATH"; read x < "${GUIX_LOCPATH%%:*}/README" && echo "$x"`)
	if want := gp + "/lib/locale:/host/locale " + gp + "/share/man\nlocale data\n"; r.code != 0 || r.out != want {
		t.Errorf("-R --env: exit %d, %q; want %q", r.code, r.out, want)
	}

	out := packTo(t, filepath.Join(dir, "m.tar"), "-C", "none", "-m", gp)
	list, _ := exec.Command("tar", "-tvf", out).CombinedOutput()
	if strings.Contains(string(list), filepath.Base(gp)) || !profileName.Match(list) ||
		!strings.Contains(string(list), "/bin/hello -> "+ts.Path("hello")+"/bin/hello") {
		t.Errorf("-m of a Guix profile: want its packages under a new profile, not it:\n%s", list)
	}
}
