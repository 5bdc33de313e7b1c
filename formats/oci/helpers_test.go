package oci

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	needpkg "github.com/gpack/gpack/internal/need"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/teststore"
	"github.com/gpack/gpack/pack"
)

// fakeStore is a small synthetic store: item 0 ("libc") holds a copy of a
// real ELF program, every other item references the previous one and libc
// (so libc is the most popular), and the last item ("app") is the root, a
// profile with bin/hello.
type fakeStore struct {
	dir   string
	items []string // dependencies first
}

// newFakeStore makes a store of n >= 2 items under a fresh directory. Item
// i's payload is i*sizeStep bytes, so sizes rank the items.
func newFakeStore(t testing.TB, n int, sizeStep int) *fakeStore {
	t.Helper()
	root := testRoot(t)
	s := &fakeStore{dir: filepath.Join(root, "gnu", "store")}
	must(t, os.MkdirAll(s.dir, 0o755))
	for i := 0; i < n; i++ {
		name := fmt.Sprintf("item%03d", i)
		switch i {
		case 0:
			name = "libc-2.41"
		case n - 1:
			name = "app-1.0"
		}
		s.items = append(s.items, filepath.Join(s.dir, teststore.Hash(name)+"-"+name))
	}
	elf, err := os.ReadFile("/bin/true")
	must(t, err)
	for i, it := range s.items {
		must(t, os.MkdirAll(filepath.Join(it, "lib"), 0o755))
		var refs strings.Builder
		if i > 0 {
			fmt.Fprintf(&refs, "needs %s\nneeds %s\n", s.items[i-1], s.items[0])
		}
		must(t, os.WriteFile(filepath.Join(it, "lib", "refs.txt"), []byte(refs.String()), 0o644))
		payload := []byte(strings.Repeat(fmt.Sprintf("data of item %d\n", i), 1+i*sizeStep/16))
		must(t, os.WriteFile(filepath.Join(it, "lib", "data"), payload, 0o444))
		if i == 0 {
			must(t, os.WriteFile(filepath.Join(it, "lib", "ld.so"), elf, 0o555))
			must(t, os.Symlink("ld.so", filepath.Join(it, "lib", "ld-linux.so")))
		}
	}
	app := s.items[n-1]
	must(t, os.MkdirAll(filepath.Join(app, "bin"), 0o755))
	must(t, os.WriteFile(filepath.Join(app, "bin", "hello"), []byte("#!"+s.items[0]+"/lib/ld.so\necho hello\n"), 0o555))
	// Freeze the store as the daemons do: no write bits.
	must(t, filepath.Walk(s.dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == s.dir || fi.Mode()&os.ModeSymlink != 0 {
			return err
		}
		return os.Chmod(p, fi.Mode().Perm()&^0o222)
	}))
	t.Cleanup(func() {
		filepath.Walk(s.dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
	})
	return s
}

// tree builds the pack tree of the store's root item, with /bin -> bin.
func (s *fakeStore) tree(t testing.TB) (*pack.Tree, *closure.Graph) {
	t.Helper()
	ctx := context.Background()
	g, err := closure.Load(ctx, []string{s.items[len(s.items)-1]}, closure.LoadOptions{})
	must(t, err)
	tr, err := pack.Build(ctx, g, pack.Options{Symlinks: []pack.LinkRequest{{Link: "/bin", Target: "bin"}}})
	must(t, err)
	return tr, g
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// build builds the image of tr without the cache and closes it at the end
// of the test.
func build(t testing.TB, tr *pack.Tree, opts Options) *Image {
	t.Helper()
	if opts.CacheDir == "" {
		opts.NoCache = true
	}
	im, err := Build(context.Background(), tr, opts)
	must(t, err)
	t.Cleanup(func() { im.Close() })
	return im
}

// need needs a reader, which the Debian package of its name installs.
func need(t testing.TB, prog string) string {
	t.Helper()
	return needpkg.Tool(t, prog, prog)
}

// run runs a command and returns its stdout, failing the test with its
// stderr.
func run(t testing.TB, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return string(out)
}

// subTree builds the pack tree of one item, without -S links.
func subTree(t testing.TB, item string) (*closure.Graph, *pack.Tree) {
	t.Helper()
	ctx := context.Background()
	g, err := closure.Load(ctx, []string{item}, closure.LoadOptions{})
	must(t, err)
	tr, err := pack.Build(ctx, g, pack.Options{})
	must(t, err)
	return g, tr
}

// testRoot is a fresh directory for a store. It avoids /tmp where it can,
// because a store under /tmp makes tmp a parent of the store, and the image
// would then keep that parent's mode instead of the 1777 of /tmp.
func testRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/var/tmp", "gpack-oci-test-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() {
		filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.IsDir() {
				os.Chmod(p, 0o755)
			}
			return nil
		})
		os.RemoveAll(dir)
	})
	return dir
}
