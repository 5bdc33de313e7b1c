package squashfs

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"testing/fstest"
	"time"

	"golang.org/x/sys/unix"
)

// sourceDir makes a directory with everything mksquashfs and gensquashfs
// put into images that gpack's writer does not: owners other than root
// (as root), xattrs (where the file system takes them), a fifo and a
// socket, hard links made by the file system, directory mtimes of their
// own; and the usual: holes, whole blocks, tails, an index, deep paths,
// symlinks. The file system parts are under data/, the others under
// special/.
func sourceDir(t *testing.T) (dir string, xattrs bool) {
	t.Helper()
	root := filepath.Join(t.TempDir(), "src")
	rng := rand.New(rand.NewPCG(21, 22))
	write := func(rel string, mode os.FileMode, b []byte) {
		p := filepath.Join(root, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
	}
	write("data/hello", 0o755, randBytes(rng, 3<<17+17))
	write("data/empty", 0o644, nil)
	write("data/exact", 0o644, randBytes(rng, 2<<17))
	write("data/zeros", 0o644, make([]byte, 3<<17))
	write("data/random", 0o644, incompressible(rng, 1<<17+5))
	write("data/setuid", 0o4755|os.ModeSetuid, randBytes(rng, 100))
	for i := range 20 {
		write(fmt.Sprintf("data/small/%02d", i), 0o600, randBytes(rng, rng.IntN(3000)))
	}
	for i := range 400 {
		write(fmt.Sprintf("data/big/%03d-%s", i, strings.Repeat("x", 30+i%40)), 0o644, []byte{byte(i)})
	}
	deep := "data"
	for i := range 30 {
		deep = filepath.Join(deep, fmt.Sprintf("d%d", i))
	}
	write(filepath.Join(deep, "leaf"), 0o644, []byte("leaf"))
	// A file with holes, made sparse on disk.
	holes := filepath.Join(root, "data/holes")
	f, err := os.Create(holes)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(randBytes(rng, 5000))
	f.WriteAt([]byte("end"), 6<<17)
	f.Close()
	if err := os.Link(filepath.Join(root, "data/hello"), filepath.Join(root, "data/hard")); err != nil {
		t.Fatal(err)
	}
	for name, target := range map[string]string{"data/sym": "hello", "data/abs": "/data/hello", "data/dirlink": "big", "data/up": "../data/exact"} {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(root, "data/sticky"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chmod(filepath.Join(root, "data/sticky"), 0o1777|os.ModeSticky)
	if os.Geteuid() == 0 {
		write("data/owned", 0o640, []byte("owned"))
		if err := os.Lchown(filepath.Join(root, "data/owned"), 1234, 5678); err != nil {
			t.Fatal(err)
		}
		os.Lchown(filepath.Join(root, "data/small"), 42, 43)
	}
	xattrs = unix.Setxattr(filepath.Join(root, "data/hello"), "user.gpack", []byte("an attribute"), 0) == nil &&
		unix.Setxattr(filepath.Join(root, "data/small"), "user.gpack", []byte("on a directory"), 0) == nil
	if err := os.MkdirAll(filepath.Join(root, "special"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mkfifo(filepath.Join(root, "special/fifo"), 0o640); err != nil {
		t.Fatal(err)
	}
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: filepath.Join(root, "special/sock"), Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	l.SetUnlinkOnClose(false)
	l.Close()
	// mtimes of their own, directories last, deepest first.
	var dirs []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		when := time.Unix(1600000000+int64(rng.IntN(1e8)), 0)
		if d.IsDir() {
			dirs = append(dirs, p)
		} else if d.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(p, when, when)
		}
		return nil
	})
	for i := len(dirs) - 1; i >= 0; i-- {
		when := time.Unix(1500000000+int64(i), 0)
		os.Chtimes(dirs[i], when, when)
	}
	return root, xattrs
}

// TestReadOtherWriters reads images made by mksquashfs and gensquashfs
// from sourceDir, with many of their options, and compares what the
// reader finds with the directory: names, types, modes, owners, mtimes,
// link counts, hard links, contents, targets, and the pseudo devices.
func TestReadOtherWriters(t *testing.T) {
	need(t, "mksquashfs", "squashfs-tools")
	src, xattrs := sourceDir(t)
	pseudo := []string{"-p", "special/null c 666 0 0 1 3", "-p", "special/sda b 640 0 6 8 0", "-p", "special/psock i 600 0 0 s"}
	cases := []struct {
		name    string
		argv    []string
		allRoot bool
		devices bool
	}{
		{"mksquashfs", nil, false, true},
		{"mksquashfs-xz", []string{"-comp", "xz"}, false, true},
		{"mksquashfs-xz-dict", []string{"-comp", "xz", "-Xdict-size", "50%", "-b", "64K"}, false, true},
		{"mksquashfs-zstd19", []string{"-comp", "zstd", "-Xcompression-level", "19"}, false, true},
		{"mksquashfs-lz4", []string{"-comp", "lz4"}, false, true},
		{"mksquashfs-lz4hc", []string{"-comp", "lz4", "-Xhc"}, false, true},
		{"mksquashfs-gzip1", []string{"-Xcompression-level", "1", "-Xwindow-size", "10"}, false, true},
		{"mksquashfs-raw", []string{"-noI", "-noD", "-noF", "-noX"}, false, true},
		{"mksquashfs-no-exports-no-fragments-4k", []string{"-no-exports", "-no-fragments", "-b", "4096"}, false, true},
		{"mksquashfs-always-fragments-1m", []string{"-always-use-fragments", "-b", "1M"}, false, true},
		{"mksquashfs-all-root-16k", []string{"-all-root", "-no-xattrs", "-b", "16384", "-no-duplicates"}, true, true},
		{"gensquashfs", nil, false, false},
		{"gensquashfs-zstd-keep", []string{"-c", "zstd", "-k", "-x"}, false, false},
		{"gensquashfs-xz-4k", []string{"-c", "xz", "-b", "4096", "-k"}, false, false},
		{"gensquashfs-lz4-raw", []string{"-c", "lz4", "-k", "-X", "hc"}, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img := filepath.Join(t.TempDir(), "img")
			var cmd *exec.Cmd
			if strings.HasPrefix(c.name, "gensquashfs") {
				need(t, "gensquashfs", "squashfs-tools-ng")
				cmd = exec.Command("gensquashfs", append([]string{"-D", src, "-q"}, append(c.argv, img)...)...)
			} else {
				argv := append([]string{src, img, "-noappend", "-quiet", "-no-progress", "-processors", "2"}, c.argv...)
				cmd = exec.Command("mksquashfs", append(argv, pseudo...)...)
			}
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("%v: %v\n%s", cmd.Args, err, out)
			}
			b, err := os.ReadFile(img)
			if err != nil {
				t.Fatal(err)
			}
			im := openImage(t, b, ReadOptions{})
			// gensquashfs sets mtimes to 0 unless -k, makes every name
			// an inode of its own (no hard links), and counts all
			// entries of a directory in its link count.
			gen := strings.HasPrefix(c.name, "gensquashfs")
			compareSource(t, im, src, c.allRoot, !gen || strings.Contains(c.name, "keep"), !gen, c.devices)
			if c.devices {
				for _, d := range []struct {
					name string
					mode uint32
					rdev uint64
					gid  uint32
				}{{"special/null", syscall.S_IFCHR | 0o666, 1<<8 | 3, 0}, {"special/sda", syscall.S_IFBLK | 0o640, 8 << 8, 6}, {"special/psock", syscall.S_IFSOCK | 0o600, 0, 0}} {
					if c.allRoot {
						d.gid = 0
					}
					n, err := im.Lookup(d.name)
					if err != nil {
						t.Fatal(err)
					}
					if n.UnixMode() != d.mode || n.Rdev() != d.rdev || n.Gid() != d.gid {
						t.Errorf("%s: mode %o rdev %#x gid %d, want %o %#x %d", d.name, n.UnixMode(), n.Rdev(), n.Gid(), d.mode, d.rdev, d.gid)
					}
					f, err := im.Open(d.name)
					if err != nil {
						t.Fatal(err)
					}
					if _, err := f.Read(make([]byte, 1)); err == nil {
						t.Errorf("%s: Read works", d.name)
					}
				}
			}
			sub, err := fs.Sub(im, "data")
			if err != nil {
				t.Fatal(err)
			}
			if err := fstest.TestFS(sub, "hello", "big", "holes", "sym"); err != nil {
				t.Error(err)
			}
			if _, err := readAll(im, 1e6, 1<<30); err != nil {
				t.Error(err)
			}
			info := im.Info()
			if !gen && info.Exportable != !strings.Contains(c.name, "no-exports") {
				t.Errorf("Info().Exportable = %v", info.Exportable)
			}
			if wantX := xattrs && (!gen && !slices.Contains(c.argv, "-no-xattrs") || slices.Contains(c.argv, "-x")); info.Xattrs != wantX {
				t.Errorf("Info().Xattrs = %v, want %v", info.Xattrs, wantX)
			}
		})
	}
}

// compareSource compares an image with the directory it was made from,
// to which pseudo files may have been added (under special/).
func compareSource(t *testing.T, im *Image, src string, allRoot, keepTime, hardLinks, pseudo bool) {
	t.Helper()
	inos := map[uint64]uint32{} // the source's inode -> the image's
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if rel == "." {
			return nil
		}
		var st unix.Stat_t
		if err := unix.Lstat(p, &st); err != nil {
			return err
		}
		n, err := im.Lookup(rel)
		if err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		uid, gid := st.Uid, st.Gid
		if allRoot {
			uid, gid = 0, 0
		}
		switch {
		case n.UnixMode() != st.Mode:
			t.Errorf("%s: mode %o, want %o", rel, n.UnixMode(), st.Mode)
		case n.Uid() != uid || n.Gid() != gid:
			t.Errorf("%s: owner %d:%d, want %d:%d", rel, n.Uid(), n.Gid(), uid, gid)
		case keepTime && n.ModTime().Unix() != st.Mtim.Sec:
			t.Errorf("%s: mtime %v, want %v", rel, n.ModTime(), time.Unix(st.Mtim.Sec, 0))
		case n.Nlink() != uint32(st.Nlink) && hardLinks:
			t.Errorf("%s: nlink %d, want %d", rel, n.Nlink(), st.Nlink)
		}
		if prev, ok := inos[st.Ino]; ok && prev != n.Ino() && hardLinks {
			t.Errorf("%s: inode %d, but its hard link has %d", rel, n.Ino(), prev)
		}
		inos[st.Ino] = n.Ino()
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFREG:
			want, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			f, err := n.Open()
			if err != nil {
				t.Errorf("%s: %v", rel, err)
				return nil
			}
			got, err := io.ReadAll(f)
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("%s: content differs (%d bytes, want %d): %v", rel, len(got), len(want), err)
			}
			if n.Blocks() > st.Blocks+int64(im.Info().BlockSize/512) {
				t.Errorf("%s: %d blocks, the source has %d", rel, n.Blocks(), st.Blocks)
			}
		case syscall.S_IFLNK:
			want, _ := os.Readlink(p)
			if got, err := n.Readlink(); err != nil || got != want {
				t.Errorf("%s: target %q, want %q", rel, got, want)
			}
		case syscall.S_IFDIR:
			if want, err := os.ReadDir(p); err != nil {
				return err
			} else if got, err := im.ReadDir(filepath.ToSlash(rel)); err != nil || (len(got) != len(want) && !(pseudo && rel == "special")) {
				t.Errorf("%s: %d entries (%v), want %d", rel, len(got), err, len(want))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestReadXzFilters reads an image whose xz blocks may use BCJ filters
// (mksquashfs -Xbcj), which the reader does not decode: an error that says
// so, wrapping errors.ErrUnsupported, or, when mksquashfs chose plain
// LZMA2 for every block, the content.
func TestReadXzFilters(t *testing.T) {
	need(t, "mksquashfs", "squashfs-tools")
	src := t.TempDir()
	exe, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Skip(err)
	}
	os.WriteFile(filepath.Join(src, "ls"), exe, 0o755)
	img := filepath.Join(t.TempDir(), "img")
	if out, err := exec.Command("mksquashfs", src, img, "-comp", "xz", "-Xbcj", "x86", "-noappend", "-quiet", "-no-progress").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(img)
	im := openImage(t, b, ReadOptions{})
	got, err := fs.ReadFile(im, "ls")
	switch {
	case err == nil && !bytes.Equal(got, exe):
		t.Error("content differs")
	case err != nil && (!errors.Is(err, errors.ErrUnsupported) || !strings.Contains(err.Error(), "BCJ")):
		t.Errorf("reading a BCJ block: %v", err)
	default:
		t.Logf("reading ls: %v", err)
	}
}
