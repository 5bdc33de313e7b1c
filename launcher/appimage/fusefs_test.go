package appimage

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/hanwen/go-fuse/v2/fuse"

	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/internal/need"
)

// counted counts the requests the kernel sends to a fuseFS, by opcode, and
// the names it looks up.
type counted struct {
	*fuseFS
	mu      sync.Mutex
	ops     map[string]int
	lookups map[string]int
}

func (c *counted) count(op string) {
	c.mu.Lock()
	c.ops[op]++
	c.mu.Unlock()
}

func (c *counted) get(op string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ops[op]
}

func (c *counted) looked(name string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lookups[name]
}

func (c *counted) Lookup(cancel <-chan struct{}, h *fuse.InHeader, name string, out *fuse.EntryOut) fuse.Status {
	c.mu.Lock()
	c.lookups[name]++
	c.mu.Unlock()
	return c.fuseFS.Lookup(cancel, h, name, out)
}

func (c *counted) Open(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	c.count("open")
	return c.fuseFS.Open(cancel, in, out)
}

func (c *counted) Flush(cancel <-chan struct{}, in *fuse.FlushIn) fuse.Status {
	c.count("flush")
	return c.fuseFS.Flush(cancel, in)
}

func (c *counted) Read(cancel <-chan struct{}, in *fuse.ReadIn, buf []byte) (fuse.ReadResult, fuse.Status) {
	c.count("read")
	return c.fuseFS.Read(cancel, in, buf)
}

// mountImage mounts the squashfs image of dir (made by mksquashfs) with
// fuseFS, as root, and returns the mount point and the counts. A flip at
// or past 0 flips a bit of the image's byte there first.
func mountImage(t *testing.T, dir string, flip int64) (string, *counted) {
	t.Helper()
	need.Root(t)
	need.Device(t, "/dev/fuse", "modprobe fuse")
	mksquashfs := need.Tool(t, "mksquashfs", "squashfs-tools")
	img := filepath.Join(t.TempDir(), "img.squashfs")
	if out, err := exec.Command(mksquashfs, dir, img, "-noappend", "-quiet", "-comp", "gzip").CombinedOutput(); err != nil {
		t.Fatalf("mksquashfs: %v\n%s", err, out)
	}
	if flip >= 0 {
		b, err := os.ReadFile(img)
		if err != nil {
			t.Fatal(err)
		}
		b[flip] ^= 0x10
		if err := os.WriteFile(img, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	f, err := os.Open(img)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	im, err := squashfs.Open(f, st.Size(), squashfs.ReadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	c := &counted{fuseFS: newFuseFS(im), ops: map[string]int{}, lookups: map[string]int{}}
	mnt := t.TempDir()
	opts := mountOptions()
	opts.DirectMount = true
	// Read-only, as the runtime's own mount (launcher/userns) is.
	opts.DirectMountFlags = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_RDONLY
	srv, err := fuse.NewServer(c, mnt, opts)
	if err != nil {
		t.Fatalf("mounting over FUSE: %v", err)
	}
	c.started(srv)
	go srv.Serve()
	if err := srv.WaitMount(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := srv.Unmount(); err != nil {
			t.Errorf("unmount: %v", err)
		}
	})
	return mnt, c
}

// TestFuseRequests checks, on the real kernel's FUSE, that the file system
// spares the requests its doc comment says it does, and still serves the
// right bytes: a missing name is looked up once, a listed directory's
// entries are not looked up, files are opened without OPEN (where the
// kernel offers it) and closed without FLUSH.
func TestFuseRequests(t *testing.T) {
	src := t.TempDir()
	big := make([]byte, 300<<10+123) // two data blocks and a fragment
	r := rand.New(rand.NewPCG(1, 2))
	for i := range big {
		big[i] = byte(r.IntN(16)) // compressible, but not trivially
	}
	files := map[string][]byte{
		"a/big":      big,
		"a/small":    []byte("a small file, in a fragment\n"),
		"a/d/x":      []byte("x\n"),
		"a/listed-1": []byte("1\n"),
		"a/listed-2": []byte("22\n"),
	}
	for name, data := range files {
		p := filepath.Join(src, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mnt, c := mountImage(t, src, -1)

	t.Run("negative entries", func(t *testing.T) {
		for range 3 {
			if _, err := os.Lstat(filepath.Join(mnt, "a", "missing")); !os.IsNotExist(err) {
				t.Fatalf("lstat of a missing name: %v, want not exist", err)
			}
		}
		if n := c.looked("missing"); n != 1 {
			t.Errorf("a missing name was looked up %d times over 3 lstats, want 1 (a cached negative entry)", n)
		}
	})

	t.Run("readdirplus", func(t *testing.T) {
		es, err := os.ReadDir(filepath.Join(mnt, "a"))
		if err != nil {
			t.Fatal(err)
		}
		if len(es) != 5 {
			t.Fatalf("a has %d entries, want 5: %v", len(es), es)
		}
		for _, e := range es {
			fi, err := os.Lstat(filepath.Join(mnt, "a", e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if want := int64(len(files["a/"+e.Name()])); !fi.IsDir() && fi.Size() != want {
				t.Errorf("a/%s: size %d, want %d", e.Name(), fi.Size(), want)
			}
		}
		for _, name := range []string{"listed-1", "listed-2"} {
			if n := c.looked(name); n != 0 {
				t.Errorf("%s, listed, was then looked up %d times, want 0 (READDIRPLUS gave its entry)", name, n)
			}
		}
	})

	t.Run("listings cached", func(t *testing.T) {
		var after int
		for i := range 3 {
			if _, err := os.ReadDir(filepath.Join(mnt, "a", "d")); err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				after = c.get("readdirplus")
			}
		}
		if n := c.get("readdirplus"); after == 0 || n != after {
			t.Errorf("READDIRPLUS requests: %d after the first listing, %d after the third; want the kernel to keep the first", after, n)
		}
		if n := c.get("opendir"); c.noOpenDir && n > 1 {
			t.Errorf("%d OPENDIR requests, want at most 1 (ENOSYS, remembered)", n)
		}
	})

	t.Run("open and flush", func(t *testing.T) {
		var firstPass int
		for i := range 3 {
			if i == 1 {
				firstPass = c.get("read")
			}
			for name, want := range files {
				got, err := os.ReadFile(filepath.Join(mnt, name))
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got, want) {
					t.Fatalf("%s: read %d bytes that differ from the %d written", name, len(got), len(want))
				}
			}
		}
		if firstPass == 0 {
			t.Fatal("no READ reached the file system")
		}
		if n := c.get("read"); n != firstPass {
			t.Errorf("%d READ requests after the first pass over the files, %d after the third: want the pages kept", firstPass, n)
		}
		if n := c.get("flush"); n > 1 {
			t.Errorf("%d FLUSH requests for 15 closes, want at most 1 (ENOSYS, remembered)", n)
		}
		if !c.noOpen {
			t.Logf("the kernel does not offer FUSE_NO_OPEN_SUPPORT: %d OPEN requests", c.get("open"))
		} else if n := c.get("open"); n > 1 {
			t.Errorf("%d OPEN requests for 15 opens, want at most 1 (ENOSYS, remembered)", n)
		}
	})

	t.Run("writes refused", func(t *testing.T) {
		if _, err := os.OpenFile(filepath.Join(mnt, "a", "small"), os.O_WRONLY, 0); err == nil {
			t.Fatal("a file opened for writing")
		}
	})
}

// TestFuseDamaged flips a byte of a file's first data block (mksquashfs
// writes the data of the first file right after the 96-byte superblock):
// reading it over FUSE gives EIO (zlib's checksum catches it), the damage
// is reported (the runtime's callback prints its one line once), and the
// other files still read.
func TestFuseDamaged(t *testing.T) {
	src := t.TempDir()
	big := make([]byte, 256<<10)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range big {
		big[i] = byte(r.IntN(16))
	}
	if err := os.WriteFile(filepath.Join(src, "a-big"), big, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "b-small"), []byte("intact\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mnt, c := mountImage(t, src, 96+1000)
	var mu sync.Mutex
	var reports []error
	c.damaged = func(err error) {
		mu.Lock()
		reports = append(reports, err)
		mu.Unlock()
	}
	for range 3 {
		_, err := os.ReadFile(filepath.Join(mnt, "a-big"))
		if !errors.Is(err, syscall.EIO) {
			t.Fatalf("reading the damaged file: %v, want EIO", err)
		}
	}
	if got, err := os.ReadFile(filepath.Join(mnt, "b-small")); err != nil || string(got) != "intact\n" {
		t.Errorf("the intact file: %q, %v", got, err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(reports) == 0 {
		t.Fatal("the damage was not reported")
	}
	t.Logf("reported: %v", reports[0])
}

func (c *counted) ReadDirPlus(cancel <-chan struct{}, in *fuse.ReadIn, out *fuse.DirEntryList) fuse.Status {
	c.count("readdirplus")
	return c.fuseFS.ReadDirPlus(cancel, in, out)
}

func (c *counted) OpenDir(cancel <-chan struct{}, in *fuse.OpenIn, out *fuse.OpenOut) fuse.Status {
	c.count("opendir")
	return c.fuseFS.OpenDir(cancel, in, out)
}
