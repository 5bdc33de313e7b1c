package atomicfile

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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
