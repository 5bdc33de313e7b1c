package squashfs

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/formats/compress"
	needpkg "github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/pack"
)

// mount mounts img on a new directory with argv (the image and the
// directory are appended) and returns the directory; the test unmounts it.
func mount(t *testing.T, img string, argv ...string) string {
	t.Helper()
	dir, unmount := mountOnly(t, img, argv...)
	t.Cleanup(func() {
		if err := unmount(); err != nil {
			t.Error(err)
		}
	})
	return dir
}

// mountOnly mounts img and returns the directory and the function that
// unmounts it.
func mountOnly(t *testing.T, img string, argv ...string) (string, func() error) {
	t.Helper()
	needpkg.Root(t)
	dir, err := os.MkdirTemp(t.TempDir(), "mnt")
	if err != nil {
		t.Fatal(err)
	}
	argv = append(argv, img, dir)
	if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
		t.Fatalf("%v: %v\n%s", argv, err, out)
	}
	return dir, func() error {
		// FUSE may still be busy for a moment after the last close.
		for i := 0; ; i++ {
			out, err := exec.Command("umount", dir).CombinedOutput()
			if err == nil {
				return nil
			}
			if i == 50 {
				return fmt.Errorf("umount %s: %v\n%s", dir, err, out)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
}

// TestKernelMount mounts images with the kernel's own squashfs (loop
// device) and compares the whole tree through it: every name is looked
// up (through the directory index in large directories), every file read,
// hard links have one inode number. Then it opens every entry again by
// NFS file handle, which goes through the export table and, for
// directories whose dentries were dropped, the parent inode numbers.
func TestKernelMount(t *testing.T) {
	for _, c := range codecCases {
		for _, bs := range []int{4 << 10, 128 << 10} {
			t.Run(fmt.Sprintf("%s-%d-%dk", c.algo, c.level, bs>>10), func(t *testing.T) {
				tr := fixedTree(bs)
				img, _ := writeImage(t, tr, Options{Compression: c.algo, Level: c.level, BlockSize: bs})
				dir, unmount := mountOnly(t, img, "mount", "-t", "squashfs", "-o", "loop,ro")
				compareDir(t, tr, dir, true)
				checkBlocks(t, tr, dir)
				// Unmounted, so that checkHandles mounts an image with
				// nothing cached.
				if err := unmount(); err != nil {
					t.Fatal(err)
				}
				checkHandles(t, tr, img)
			})
		}
	}
	// The largest block size, with a fast compressor: the fixed tree
	// has 16 MiB of data at this size.
	t.Run("zstd-3-1024k", func(t *testing.T) {
		tr := fixedTree(1 << 20)
		img, _ := writeImage(t, tr, Options{Compression: compress.Zstd, Level: 3, BlockSize: 1 << 20})
		compareDir(t, tr, mount(t, img, "mount", "-t", "squashfs", "-o", "loop,ro"), true)
	})
}

// TestSquashfuse reads an image through squashfuse, another independent
// reader.
func TestSquashfuse(t *testing.T) {
	need(t, "squashfuse", "squashfuse")
	needpkg.Device(t, "/dev/fuse", "modprobe fuse; make deps opens it to all")
	for _, algo := range []compress.Algo{compress.Gzip, compress.Xz, compress.Zstd, compress.LZ4} {
		t.Run(string(algo), func(t *testing.T) {
			tr := fixedTree(4 << 10)
			img, _ := writeImage(t, tr, Options{Compression: algo, BlockSize: 4 << 10})
			dir := mount(t, img, "squashfuse")
			compareDir(t, tr, dir, false)
		})
	}
}

// checkBlocks checks that st_blocks, which the kernel derives from the
// size and the sparse count, is sane: never more than the size needs.
func checkBlocks(t *testing.T, tr *pack.Tree, dir string) {
	t.Helper()
	for _, w := range wants(tr) {
		if w.kind != pack.File {
			continue
		}
		var st unix.Stat_t
		if err := unix.Lstat(filepath.Join(dir, w.path), &st); err != nil {
			t.Fatal(err)
		}
		if st.Blocks < 0 || st.Blocks > (w.size+511)/512+1 {
			t.Errorf("%s: %d blocks for %d bytes", w.path, st.Blocks, w.size)
		}
	}
}

// checkHandles mounts the image (which must not be mounted already: a
// second loop mount of one file shares the first one's caches), gets an
// NFS file handle for every entry, unmounts the image, mounts it again
// and opens each handle, checking it is the same file. The new mount has nothing cached, so the kernel finds each inode
// by number through the export table, and reconnects directories to the
// root through their parents' inode numbers.
func checkHandles(t *testing.T, tr *pack.Tree, img string) {
	t.Helper()
	type handle struct {
		w   want
		h   unix.FileHandle
		ino uint64
	}
	var hs []handle
	dir, unmount := mountOnly(t, img, "mount", "-t", "squashfs", "-o", "loop,ro")
	for _, w := range wants(tr) {
		if w.kind == pack.Symlink {
			continue // a handle to a symlink cannot be opened
		}
		p := filepath.Join(dir, w.path)
		h, _, err := unix.NameToHandleAt(unix.AT_FDCWD, p, 0)
		if err != nil {
			t.Fatalf("name_to_handle_at %s: %v (no export table?)", w.path, err)
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, handle{w, h, st.Ino})
	}
	if err := unmount(); err != nil {
		t.Fatal(err)
	}
	root, err := os.Open(mount(t, img, "mount", "-t", "squashfs", "-o", "loop,ro"))
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	for _, h := range hs {
		fd, err := unix.OpenByHandleAt(int(root.Fd()), h.h, unix.O_RDONLY)
		if err != nil {
			t.Fatalf("open_by_handle_at %s: %v", h.w.path, err)
		}
		f := os.NewFile(uintptr(fd), h.w.path)
		var st unix.Stat_t
		if err := unix.Fstat(fd, &st); err != nil {
			t.Fatal(err)
		}
		if st.Ino != h.ino {
			t.Errorf("%s: handle opens inode %d, want %d", h.w.path, st.Ino, h.ino)
		}
		if h.w.kind == pack.File {
			b, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(b, content(t, h.w.entry)) {
				t.Errorf("%s: content through the handle differs (%v)", h.w.path, err)
			}
		}
		f.Close()
	}
}
