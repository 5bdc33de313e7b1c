package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/internal/need"
)

// entries lists dir, so that a leftover temporary file shows up.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, de := range des {
		names = append(names, de.Name())
	}
	return names
}

// TestCommit: the file appears with its exact content and mode 0644 even
// under a umask that would strip the group and world bits, and replaces an
// older file.
func TestCommit(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o077))
	dir := t.TempDir()
	path := filepath.Join(dir, "pack.tar.gz")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	tmp := f.Name()
	if filepath.Dir(tmp) != dir || !strings.HasPrefix(filepath.Base(tmp), ".pack.tar.gz.tmp-") {
		t.Errorf("temporary file %s, want %s/.pack.tar.gz.tmp-*", tmp, dir)
	}
	want := bytes.Repeat([]byte("content\n"), 10000)
	if _, err := f.Write(want); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old" {
		t.Errorf("target changed before Commit: %q", got)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("after Commit: %d bytes, %v; want %d bytes", len(got), err, len(want))
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode() != Mode {
		t.Errorf("mode %v under umask 077, want %v", st.Mode(), Mode)
	}
	if names := entries(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want only the target", names)
	}
	// Abort after Commit is a no-op: the deferred Abort of every caller.
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit: %v", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("Abort after Commit removed the target: %v", err)
	}
	if _, err := f.Write([]byte("x")); err == nil || !strings.Contains(err.Error(), "already committed") {
		t.Errorf("Write after Commit: %v", err)
	}
	if err := f.Commit(); err == nil {
		t.Error("second Commit succeeded")
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	f, err := Create(filepath.Join(dir, "out"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write([]byte("partial")); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := f.Abort(); err != nil {
			t.Errorf("Abort #%d: %v", i+1, err)
		}
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("after Abort the directory holds %q", names)
	}
	if err := f.Commit(); err == nil {
		t.Error("Commit after Abort succeeded")
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("after Commit of an aborted file the directory holds %q", names)
	}
}

// TestCommitFails: when the rename fails (here the target is a directory)
// the error names the target and Abort still cleans up.
// TestDirectoryAtTarget: a directory at the target is refused by Create,
// before any work; one that appears later makes Commit fail. Either way
// nothing is left but the directory.
func TestDirectoryAtTarget(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := os.Mkdir(path, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		do   func() error
	}{
		{"Create", func() error { _, err := Create(path); return err }},
		{"Check", func() error { return Check(path) }},
		{"WriteFile", func() error {
			return WriteFile(context.Background(), path, func(io.Writer) error { t.Error("WriteFile wrote"); return nil })
		}},
	} {
		err := tc.do()
		if err == nil || !strings.Contains(err.Error(), path+": is a directory") || !strings.Contains(err.Error(), "give the name of a file") {
			t.Errorf("%s onto a directory: %v, want it refused with what to do", tc.name, err)
		}
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "out" {
		t.Errorf("directory holds %q, want only out/", names)
	}

	later := filepath.Join(dir, "later")
	f, err := Create(later)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(later, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(later, "x"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := f.Commit(); err == nil || !strings.Contains(err.Error(), later) {
		t.Fatalf("Commit onto a directory: %v, want an error naming %s", err, later)
	}
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 2 {
		t.Errorf("directory holds %q, want only out/ and later/", names)
	}
}

// mountTmpfs mounts a tmpfs with the given options on a new directory and
// unmounts it when the test ends.
func mountTmpfs(t *testing.T, opts string) string {
	t.Helper()
	need.Root(t) // it mounts a tmpfs
	dir := t.TempDir()
	if err := unix.Mount("tmpfs", dir, "tmpfs", 0, opts); err != nil {
		t.Fatalf("mount -t tmpfs -o %s tmpfs %s: %v", opts, dir, err)
	}
	t.Cleanup(func() {
		if err := unix.Unmount(dir, 0); err != nil {
			t.Errorf("umount %s: %v", dir, err)
		}
	})
	return dir
}

// TestDiskFull writes 1 MiB to a 64 KiB file system: the failure must wrap
// ENOSPC, name the target, and Abort must leave the directory empty.
func TestDiskFull(t *testing.T) {
	dir := mountTmpfs(t, "size=64k")
	path := filepath.Join(dir, "big")
	f, err := Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Abort()
	chunk := make([]byte, 64<<10)
	for range 16 {
		if _, err = f.Write(chunk); err != nil {
			break
		}
	}
	if err == nil {
		err = f.Commit()
	}
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writing 1 MiB to a 64 KiB tmpfs: %v, want ENOSPC", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not name %s", err, path)
	}
	t.Log(err)
	if err := f.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("after Abort the directory holds %q", names)
	}
}

// TestUnwritableDirectory: each directory that takes no new file is said to
// be not writable, and a missing one missing, by Create and by Check.
func TestUnwritableDirectory(t *testing.T) {
	ro := mountTmpfs(t, "ro")
	for _, tc := range []struct {
		name, path, want string
		errno            error
	}{
		{"read-only file system", filepath.Join(ro, "out.tar"), "directory " + ro + " is not writable (read-only file system)", syscall.EROFS},
		// procfs has no create: open(O_CREAT) says ENOENT in a
		// directory that exists.
		{"/proc", "/proc/x.tar", "directory /proc is not writable", nil},
		{"missing directory", filepath.Join(ro, "missing", "out.tar"), "directory " + filepath.Join(ro, "missing") + " does not exist", os.ErrNotExist},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, err := range []error{func() error { _, err := Create(tc.path); return err }(), Check(tc.path)} {
				if err == nil || !strings.Contains(err.Error(), tc.path+": cannot create it: "+tc.want) {
					t.Errorf("error %v, want it to say %q", err, tc.want)
				}
				if tc.errno != nil && !errors.Is(err, tc.errno) {
					t.Errorf("error %v does not wrap %v", err, tc.errno)
				}
			}
		})
	}
	dir := t.TempDir()
	if err := Check(filepath.Join(dir, "ok")); err != nil {
		t.Errorf("Check in a writable directory: %v", err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("Check left %q behind", names)
	}
}

// TestDir: a directory appears complete at Commit, replaces an older one,
// and Abort leaves nothing.
func TestDir(t *testing.T) {
	defer syscall.Umask(syscall.Umask(0o077))
	parent := t.TempDir()
	path := filepath.Join(parent, "img.oci")
	write := func(content string) *Dir {
		t.Helper()
		d, err := CreateDir(path)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(filepath.Base(d.Name()), ".img.oci.tmp-") || filepath.Dir(d.Name()) != parent {
			t.Errorf("temporary directory %s, want %s/.img.oci.tmp-*", d.Name(), parent)
		}
		if err := os.MkdirAll(filepath.Join(d.Name(), "blobs", "sha256"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(d.Name(), "blobs", "sha256", "x"), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return d
	}
	read := func() string {
		b, _ := os.ReadFile(filepath.Join(path, "blobs", "sha256", "x"))
		return string(b)
	}

	d := write("first")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("target exists before Commit: %v", err)
	}
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := d.Abort(); err != nil || read() != "first" {
		t.Errorf("Abort after Commit: %v, content %q", err, read())
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("committed directory: %v, %v; want mode 755 under umask 077", fi, err)
	}

	d = write("second")
	if err := d.Commit(); err != nil {
		t.Fatal(err)
	}
	if read() != "second" {
		t.Errorf("after the second Commit: %q", read())
	}

	d = write("third")
	if err := d.Abort(); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, parent); len(names) != 1 || read() != "second" {
		t.Errorf("after Abort: %q, content %q; want only img.oci, unchanged", names, read())
	}
	if _, err := CreateDir(filepath.Join(parent, "missing", "x")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("CreateDir in a missing directory: %v", err)
	}
}

func TestWriteFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out")
	if err := WriteFile(context.Background(), path, func(w io.Writer) error {
		_, err := io.WriteString(w, "done")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); string(got) != "done" {
		t.Fatalf("got %q, %v", got, err)
	}

	// A failing write function leaves no file.
	boom := errors.New("boom")
	err := WriteFile(context.Background(), filepath.Join(dir, "failed"), func(w io.Writer) error {
		io.WriteString(w, "partial")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Errorf("got %v, want %v", err, boom)
	}
	// A cancel after the last Write still prevents the commit.
	ctx, cancel := context.WithCancel(context.Background())
	err = WriteFile(ctx, filepath.Join(dir, "cancelled"), func(w io.Writer) error {
		_, err := io.WriteString(w, "all of it")
		cancel()
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	if names := entries(t, dir); len(names) != 1 || names[0] != "out" {
		t.Errorf("directory holds %q, want only out", names)
	}
}

// TestInterrupt runs a process that writes an output forever, as a long
// pack would, and sends it SIGINT: it must stop and leave nothing behind.
func TestInterrupt(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriteForever$", "-test.v")
	cmd.Env = append(os.Environ(), "ATOMICFILE_HELPER_DIR="+dir)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Wait until the temporary file exists and holds data.
	deadline := time.Now().Add(30 * time.Second)
	for {
		names, _ := filepath.Glob(filepath.Join(dir, ".out.tmp-*"))
		if len(names) == 1 {
			if st, err := os.Stat(names[0]); err == nil && st.Size() > 0 {
				break
			}
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no temporary file appeared in %s; helper said:\n%s", dir, out.Bytes())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper: %v\n%s", err, out.Bytes())
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("after SIGINT the directory holds %q", names)
	}
}

// TestHelperWriteForever is TestInterrupt's child: the CLI's pattern, a
// context cancelled by SIGINT around WriteFile.
func TestHelperWriteForever(t *testing.T) {
	dir := os.Getenv("ATOMICFILE_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestInterrupt")
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	err := WriteFile(ctx, filepath.Join(dir, "out"), func(w io.Writer) error {
		chunk := make([]byte, 4096)
		for {
			if _, err := w.Write(chunk); err != nil {
				return err
			}
			time.Sleep(time.Millisecond)
		}
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WriteFile: %v, want context.Canceled", err)
	}
}

// TestTargetKinds: what is at the target decides. A regular file is
// replaced and a symlink to one is written through (the link stays, the
// file it names is replaced); anything else is refused by Create and
// Check, before any work, and left as it was.
func TestTargetKinds(t *testing.T) {
	need.Root(t) // mknod
	dir := t.TempDir()
	p := func(name string) string { return filepath.Join(dir, name) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(p("file"), []byte("old"), 0o644))
	must(syscall.Mknod(p("null"), syscall.S_IFCHR|0o666, int(unix.Mkdev(1, 3))))
	must(syscall.Mknod(p("loop"), syscall.S_IFBLK|0o660, int(unix.Mkdev(7, 200))))
	must(syscall.Mkfifo(p("fifo"), 0o644))
	must(os.Mkdir(p("dir"), 0o755))
	sock, err := net.Listen("unix", p("sock"))
	must(err)
	defer sock.Close()
	must(os.Mkdir(p("sub"), 0o755))
	must(os.WriteFile(p("sub/real"), []byte("old"), 0o644))
	must(os.Symlink("sub/real", p("tofile")))
	must(os.Symlink("tofile", p("tolink")))
	must(os.Symlink("null", p("todevice")))
	must(os.Symlink("gone", p("dangling")))
	must(os.Symlink("dir", p("todir")))

	for _, tc := range []struct {
		name string
		want string // in the error; "" when the write must succeed
		// written is the file that must hold the new content.
		written string
	}{
		{"missing", "", "missing"},
		{"file", "", "file"},
		{"tofile", "", "sub/real"},
		{"tolink", "", "sub/real"},
		{"null", "is a character device, not a regular file", ""},
		{"loop", "is a block device, not a regular file", ""},
		{"fifo", "is a fifo, not a regular file", ""},
		{"sock", "is a socket, not a regular file", ""},
		{"dir", "is a directory", ""},
		{"todevice", "is a symlink to " + p("null") + ", a character device", ""},
		{"dangling", "is a symlink that leads to no file", ""},
		{"todir", "is a symlink to the directory " + p("dir"), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := os.Lstat(p(tc.name))
			checkErr := Check(p(tc.name))
			err := WriteFile(context.Background(), p(tc.name), func(w io.Writer) error {
				_, err := io.WriteString(w, "new "+tc.name)
				return err
			})
			if tc.want == "" {
				if err != nil || checkErr != nil {
					t.Fatalf("Check: %v; WriteFile: %v", checkErr, err)
				}
				if got, _ := os.ReadFile(p(tc.written)); string(got) != "new "+tc.name {
					t.Errorf("%s holds %q, want the new content", tc.written, got)
				}
				if before != nil && before.Mode()&fs.ModeSymlink != 0 {
					if after, err := os.Lstat(p(tc.name)); err != nil || after.Mode()&fs.ModeSymlink == 0 {
						t.Errorf("the symlink %s was replaced: %v %v", tc.name, after, err)
					}
				}
				return
			}
			for _, e := range []error{checkErr, err} {
				if e == nil || !strings.Contains(e.Error(), p(tc.name)+": "+tc.want) || !strings.Contains(e.Error(), "give the name of") {
					t.Errorf("got %v, want it refused: %q and what to do", e, tc.want)
				}
			}
			after, err := os.Lstat(p(tc.name))
			if err != nil || after.Mode() != before.Mode() {
				t.Errorf("%s was %v, is now %v (%v)", tc.name, before.Mode(), after.Mode(), err)
			}
		})
	}
	for _, d := range []string{dir, p("sub")} {
		for _, n := range entries(t, d) {
			if strings.Contains(n, ".tmp-") {
				t.Errorf("temporary file %s left in %s", n, d)
			}
		}
	}
}

// TestLongNames: an output name of 240 to 255 bytes (NAME_MAX) still gets
// a temporary name the file system takes, for files and directories, and
// a name cut short keeps whole UTF-8 characters.
func TestLongNames(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{240, 250, 254, 255} {
		for _, c := range []string{"x", "é"} {
			base := strings.Repeat(c, n/len(c))
			base += strings.Repeat("y", n-len(base))
			path := filepath.Join(dir, base)
			if err := WriteFile(context.Background(), path, func(w io.Writer) error {
				_, err := io.WriteString(w, "content")
				return err
			}); err != nil {
				t.Errorf("a name of %d bytes: %v", n, err)
			}
			if err := Check(path); err != nil {
				t.Errorf("Check of a name of %d bytes: %v", n, err)
			}
			d, err := CreateDir(path + ".d"[:min(2, 255-n)])
			if err != nil {
				t.Errorf("CreateDir of a name of %d bytes: %v", n, err)
				continue
			}
			if !utf8.ValidString(filepath.Base(d.Name())) {
				t.Errorf("temporary name %q cuts a character", filepath.Base(d.Name()))
			}
			if err := d.Commit(); err != nil {
				t.Errorf("Commit of a directory named with %d bytes: %v", n, err)
			}
			os.RemoveAll(d.path)
			os.Remove(path)
		}
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("left behind: %q", names)
	}
}

// deadPid returns the pid of a process that has exited.
func deadPid(t *testing.T) int {
	t.Helper()
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	return cmd.Process.Pid
}

// TestStale: Check removes the temporary files and directories of its
// target that killed runs left, and only those: never one whose process is
// alive, one whose lock is held, one of another target, or one named as
// older gpacks named them (no pid: nothing proves it stale).
func TestStale(t *testing.T) {
	dir := t.TempDir()
	live := exec.Command("sleep", "1000")
	if err := live.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { live.Process.Kill(); live.Wait() }()
	dead := deadPid(t)
	name := func(base string, pid int, rest string) string {
		return "." + base + ".tmp-" + strconv.Itoa(pid) + "-123456" + rest
	}
	locked := ".out.tmp-" + strconv.Itoa(dead) + "-555"
	files := map[string]bool{ // name -> removed
		name("out", dead, ""):             true,
		name("out", dead, ".old"):         true, // its new layout is gone
		name("out", live.Process.Pid, ""): false,
		locked:                            false,
		name("other", dead, ""):           false,
		".out.tmp-987654":                 false,
		"out.tmp-1-1":                     false,
	}
	for n := range files {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	staleDir := ".out.tmp-" + strconv.Itoa(dead) + "-777" // an OCI layout's
	if err := os.MkdirAll(filepath.Join(dir, staleDir, "blobs"), 0o755); err != nil {
		t.Fatal(err)
	}
	files[staleDir] = true
	// A lock held, as a live run in another pid namespace holds it: its
	// pid means nothing here.
	lk := lockTemp(filepath.Join(dir, locked))
	if lk == nil {
		t.Fatal("cannot flock a file in " + dir)
	}
	defer lk.Close()

	if err := Check(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	left := map[string]bool{}
	for _, n := range entries(t, dir) {
		left[n] = true
	}
	for n, removed := range files {
		if left[n] == removed {
			t.Errorf("%s: removed %v, want %v", n, !left[n], removed)
		}
	}
	if len(left) != len(files)-3 {
		t.Errorf("directory holds %q", entries(t, dir))
	}
}

// TestStaleAfterKill: a run killed with SIGKILL leaves its temporary file;
// while it lives, Check leaves the file alone, and once it is dead the
// next Check removes it.
func TestStaleAfterKill(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriteForever$", "-test.v")
	cmd.Env = append(os.Environ(), "ATOMICFILE_HELPER_DIR="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var tmp string
	for tmp == "" {
		if names, _ := filepath.Glob(filepath.Join(dir, ".out.tmp-*")); len(names) == 1 {
			tmp = names[0]
		}
		time.Sleep(5 * time.Millisecond)
	}
	if !strings.HasPrefix(filepath.Base(tmp), ".out.tmp-"+strconv.Itoa(cmd.Process.Pid)+"-") {
		t.Errorf("temporary name %s does not hold the pid %d", tmp, cmd.Process.Pid)
	}
	if err := Check(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(tmp); err != nil {
		t.Fatalf("Check removed the temporary file of a live run: %v", err)
	}
	cmd.Process.Kill()
	cmd.Wait()
	if _, err := os.Lstat(tmp); err != nil {
		t.Fatalf("SIGKILL left no temporary file, so this test shows nothing: %v", err)
	}
	if err := Check(filepath.Join(dir, "out")); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); len(names) != 0 {
		t.Errorf("after the killed run and a Check the directory holds %q", names)
	}
}

// TestChmod: the mode Chmod sets is the target's once committed, whatever
// the umask, and Chmod after Commit is refused.
func TestChmod(t *testing.T) {
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	for _, mode := range []fs.FileMode{0o755, 0o600, Mode} {
		out := filepath.Join(t.TempDir(), "x")
		f, err := Create(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Chmod(mode); err != nil {
			t.Fatal(err)
		}
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(out)
		if err != nil || fi.Mode().Perm() != mode {
			t.Errorf("Chmod(%v): the output has %v (%v)", mode, fi.Mode(), err)
		}
		if err := f.Chmod(0o700); err == nil {
			t.Errorf("Chmod after Commit succeeded")
		}
	}
}
