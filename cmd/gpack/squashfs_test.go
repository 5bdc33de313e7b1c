package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

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
	if os.Geteuid() != 0 {
		t.Fatal("needs root: loop mounts and test users (make test runs as root)")
	}
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
	extra := map[string]bool{".singularity.d": true, "proc": true, "sys": true, "dev": true, "home": true, "tmp": true, "etc": true}
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
