package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/internal/nixstore"
	"github.com/gpack/gpack/internal/teststore"
)

// listTree lists a directory tree as "mode uid/gid size path -> target"
// lines, sorted by path, for comparing what two readers produced.
func listTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		line := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			line += " " + fileHash(t, p)
		case fi.Mode()&os.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			line += " -> " + target
		}
		out[rel] = line
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSquashfsImage writes a relocatable image of the synthetic store and
// reads it with the real readers: unsquashfs, the kernel (a loop mount, as
// root), and squashfuse as an unprivileged user, with the store hidden,
// running a program through the launcher. The tree must equal the
// tarball's, plus the Apptainer metadata.
func TestSquashfsImage(t *testing.T) {
	need.Root(t) // loop mounts and test users
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	img := packTo(t, filepath.Join(dir, "p.squashfs"), "-f", "squashfs", "-R", "--entry-point", "bin/hello", ts.Path("profile"))
	tb := packTo(t, filepath.Join(dir, "p.tar"), "-C", "none", "-R", ts.Path("profile"))

	// As root with -p, so that tar keeps every mode bit (the store's
	// sticky bit), as unsquashfs does.
	fromTar := userDir(t)
	if out, err := exec.Command("tar", "-xpf", tb, "-C", fromTar).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v\n%s", err, out)
	}
	fromSquash := filepath.Join(openTempDir(t), "sq")
	if out, err := exec.Command("unsquashfs", "-q", "-n", "-d", fromSquash, img).CombinedOutput(); err != nil {
		t.Fatalf("unsquashfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", fromSquash).Run() })
	want, got := listTree(t, fromTar), listTree(t, fromSquash)
	extra := map[string]bool{".singularity.d": true, "proc": true, "sys": true, "dev": true, "home": true, "tmp": true, "var": true, "etc": true}
	for p, l := range want {
		if got[p] != l {
			t.Errorf("%s: squashfs has %q, the tarball %q", p, got[p], l)
		}
	}
	for p := range got {
		if _, ok := want[p]; !ok && !extra[strings.SplitN(p, "/", 2)[0]] {
			t.Errorf("%s: in the image only", p)
		}
	}
	if l := got[".singularity.d/runscript"]; !strings.HasSuffix(l, "-> "+ts.Path("profile")+"/bin/hello") {
		t.Errorf("runscript: %q", l)
	}

	t.Run("kernel", func(t *testing.T) {
		mnt := t.TempDir()
		if out, err := exec.Command("mount", "-t", "squashfs", "-o", "loop,ro", img, mnt).CombinedOutput(); err != nil {
			t.Fatalf("mount: %v\n%s", err, out)
		}
		defer exec.Command("umount", mnt).Run()
		k := listTree(t, mnt)
		for p, l := range got {
			if p != "." && k[p] != l {
				t.Errorf("%s: the kernel sees %q, unsquashfs %q", p, k[p], l)
			}
		}
		// The wrappers are one inode: hard links in the image.
		var first uint64
		ents, _ := os.ReadDir(filepath.Join(mnt, "bin"))
		for _, e := range ents {
			var st syscall.Stat_t
			if err := syscall.Stat(filepath.Join(mnt, "bin", e.Name()), &st); err != nil {
				t.Fatal(err)
			}
			if first == 0 {
				first = st.Ino
			}
			if st.Ino != first || st.Nlink < 2 {
				t.Errorf("bin/%s: inode %d nlink %d, want the launcher's %d", e.Name(), st.Ino, st.Nlink, first)
			}
		}
		// A store program runs in a chroot into the image.
		out, err := exec.Command("chroot", mnt, ts.Path("hello")+"/bin/hello", "chroot").CombinedOutput()
		if err != nil || string(out) != teststore.Greeting+"chroot\n" {
			t.Errorf("chroot: %v, %q", err, out)
		}
	})

	t.Run("squashfuse as a user, store hidden", func(t *testing.T) {
		mnt := userDir(t)
		script := `squashfuse "$0" "$1" && trap 'fusermount3 -u "$1"' EXIT && "$1"/bin/hello fuse`
		for _, engine := range []string{"userns", "ptrace"} {
			r := onTarget(t, ts.Dir, mnt, []string{"GPACK_ENGINE=" + engine}, "", "sh", "-c", script, img, mnt)
			if r.code != 0 || r.out != teststore.Greeting+"fuse\n" {
				t.Errorf("%s: exit %d, %q", engine, r.code, r.out)
			}
		}
	})

	t.Run("squashfs-tools-ng", func(t *testing.T) {
		out, err := exec.Command("sqfs2tar", "--no-skip", img).Output()
		if err != nil {
			t.Fatalf("sqfs2tar: %v", err)
		}
		cmd := exec.Command("tar", "-t")
		cmd.Stdin = strings.NewReader(string(out))
		names, err := cmd.Output()
		if err != nil || !strings.Contains(string(names), "bin/hello") {
			t.Errorf("tar -t of sqfs2tar: %v, %.200q", err, names)
		}
	})
}

// TestSquashfsNix packs the real Nix store's profile as an image for
// Charliecloud and runs a store program with ch-run, straight from the
// squashfs (ch-run mounts it with SquashFUSE), as an unprivileged user.
func TestSquashfsNix(t *testing.T) {
	if testing.Short() {
		t.Skip("uses the real Nix store")
	}
	ns := nixstore.New(t)
	img := packTo(t, filepath.Join(userDir(t), "nix.squashfs"), "-f", "squashfs", "-C", "zstd", ns.Items["profile"])
	os.Chown(img, nobody, nobody)
	cmd := exec.Command("ch-run", img, "--", "/bin/bash", "-c", "echo one two | sed s/two/2/; hello-script")
	cmd.Env = append(os.Environ(), "USER=nobody", "HOME=/")
	cmd.Dir = filepath.Dir(img)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	if err != nil || string(out) != "one 2\nhello from nix\n65534\n" {
		t.Errorf("ch-run: %v\n%s", err, out)
	}
}

// TestSquashfsDeterministic: the same image whatever the core count.
func TestSquashfsDeterministic(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	var sums []string
	for _, procs := range []string{"1", "2", "4"} {
		t.Setenv("GOMAXPROCS", procs)
		out := packTo(t, filepath.Join(dir, "p"+procs+".squashfs"), "-f", "squashfs", "-C", "xz", "--block-size", "4K", "-R", ts.Path("profile"))
		sums = append(sums, fileHash(t, out))
	}
	if sums[0] != sums[1] || sums[1] != sums[2] {
		t.Errorf("images differ with GOMAXPROCS: %v", sums)
	}
}

// TestSquashfsShellWarning: the /bin/sh warning comes only when the image
// has no shell, and only after the image is written, never before a fatal
// error.
func TestSquashfsShellWarning(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	for _, tc := range []struct {
		name string
		args []string
		code int
		warn bool
	}{
		{"profile with sh", []string{"-o", filepath.Join(dir, "p.squashfs"), ts.Path("profile")}, 0, false},
		{"profile with sh, -R", []string{"-R", "-o", filepath.Join(dir, "r.squashfs"), ts.Path("profile")}, 0, false},
		{"no sh", []string{"-o", filepath.Join(dir, "h.squashfs"), ts.Path("hello")}, 0, true},
		{"no sh, output fails", []string{"-o", filepath.Join(dir, "missing", "h.squashfs"), ts.Path("hello")}, exitError, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := gpack(t, 0, append([]string{"pack", "-q", "-f", "squashfs"}, tc.args...)...)
			if r.code != tc.code {
				t.Fatalf("exit %d, want %d: %s", r.code, tc.code, r.stderr)
			}
			if got := strings.Contains(r.stderr, "no /bin/sh"); got != tc.warn {
				t.Errorf("warning shown: %v, want %v: %q", got, tc.warn, r.stderr)
			}
			if tc.code != 0 {
				oneLineError(t, r, tc.code, "does not exist")
			}
		})
	}
}

// TestEntryPointSpellings: bin/hello, /bin/hello and the store path name
// one program, in the squashfs runscript and in the image config alike.
func TestEntryPointSpellings(t *testing.T) {
	ts := teststore.New(t, openTempDir(t))
	dir := openTempDir(t)
	t.Setenv("XDG_CACHE_HOME", filepath.Join(dir, "cache"))
	want := ts.Path("profile") + "/bin/hello"
	for i, ep := range []string{"bin/hello", "/bin/hello", want} {
		img := packTo(t, filepath.Join(dir, fmt.Sprintf("%d.squashfs", i)), "-f", "squashfs", "--entry-point", ep, ts.Path("profile"))
		out, err := exec.Command("unsquashfs", "-lls", img, ".singularity.d/runscript").Output()
		if err != nil || !strings.Contains(string(out), "-> "+want+"\n") {
			t.Errorf("--entry-point %s: runscript %v %s, want a link to %s", ep, err, out, want)
		}
		lay := packTo(t, filepath.Join(dir, fmt.Sprintf("%d.oci", i)), "-f", "oci", "--entry-point", ep, ts.Path("profile"))
		if got := layoutConfig(t, lay).Entrypoint; len(got) != 1 || got[0] != want {
			t.Errorf("--entry-point %s: image Entrypoint %q, want [%s]", ep, got, want)
		}
	}
	r := gpack(t, 0, "pack", "-q", "-f", "oci", "-o", filepath.Join(dir, "bad.oci"), "--entry-point", "bin/nothing", ts.Path("profile"))
	oneLineError(t, r, exitUsage, "--entry-point", "bin/nothing", "does not exist")
}

// imageConfig is the part of an image config the tests read.
type imageConfig struct {
	Entrypoint []string
	Env        []string
}

// layoutConfig reads the config of the one image of an OCI layout.
func layoutConfig(t *testing.T, layout string) imageConfig {
	t.Helper()
	blob := func(digest string) []byte {
		b, err := os.ReadFile(filepath.Join(layout, "blobs", strings.Replace(digest, ":", "/", 1)))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	var index struct{ Manifests []struct{ Digest string } }
	var manifest struct{ Config struct{ Digest string } }
	var config struct{ Config imageConfig }
	b, err := os.ReadFile(filepath.Join(layout, "index.json"))
	if err == nil {
		err = json.Unmarshal(b, &index)
	}
	if err != nil || len(index.Manifests) != 1 {
		t.Fatalf("index.json: %v %s", err, b)
	}
	if err := json.Unmarshal(blob(index.Manifests[0].Digest), &manifest); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(blob(manifest.Config.Digest), &config); err != nil {
		t.Fatal(err)
	}
	return config.Config
}
