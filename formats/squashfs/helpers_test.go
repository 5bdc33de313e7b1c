package squashfs

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	needpkg "github.com/gpack/gpack/internal/need"

	"github.com/gpack/gpack/pack"
)

// treeBuilder makes pack.Trees for the tests: parents are added as
// needed and the entries sorted at the end.
type treeBuilder struct {
	entries map[string]pack.Entry
}

func newTreeBuilder() *treeBuilder { return &treeBuilder{entries: map[string]pack.Entry{}} }

func (b *treeBuilder) parents(p string) {
	for d := filepath.Dir(p); d != "."; d = filepath.Dir(d) {
		if _, ok := b.entries[d]; !ok {
			b.entries[d] = pack.Entry{Path: d, Kind: pack.Dir, Mode: 0o755}
		}
	}
}

func (b *treeBuilder) dir(p string, mode fs.FileMode) {
	b.parents(p)
	b.entries[p] = pack.Entry{Path: p, Kind: pack.Dir, Mode: mode}
}

func (b *treeBuilder) file(p string, mode fs.FileMode, data []byte) {
	b.parents(p)
	if data == nil {
		data = []byte{}
	}
	b.entries[p] = pack.Entry{Path: p, Kind: pack.File, Mode: mode, Size: int64(len(data)), Data: data}
}

func (b *treeBuilder) symlink(p, target string) {
	b.parents(p)
	b.entries[p] = pack.Entry{Path: p, Kind: pack.Symlink, Mode: 0o777, Target: target}
}

func (b *treeBuilder) hardlink(p, target string) {
	b.parents(p)
	b.entries[p] = pack.Entry{Path: p, Kind: pack.HardLink, Target: target}
}

func (b *treeBuilder) tree(mtime int64) *pack.Tree {
	t := &pack.Tree{Store: "/gnu/store", Mtime: time.Unix(mtime, 0)}
	for _, e := range b.entries {
		t.Entries = append(t.Entries, e)
	}
	sort.Slice(t.Entries, func(i, j int) bool { return pack.Less(t.Entries[i].Path, t.Entries[j].Path) })
	return t
}

// dirTree turns a directory on disk into a tree, as pack.Build does with
// store items (regular files, symlinks and directories only; each file is
// its own inode).
func dirTree(t testing.TB, root string) *pack.Tree {
	t.Helper()
	tr := &pack.Tree{Store: "/gnu/store", Mtime: time.Unix(1, 0)}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		perm := fi.Mode().Perm()
		if fi.Mode()&fs.ModeSetuid != 0 {
			perm |= 0o4000
		}
		if fi.Mode()&fs.ModeSetgid != 0 {
			perm |= 0o2000
		}
		if fi.Mode()&fs.ModeSticky != 0 {
			perm |= 0o1000
		}
		switch {
		case fi.Mode().IsRegular():
			tr.Entries = append(tr.Entries, pack.Entry{Path: rel, Kind: pack.File, Mode: perm, Size: fi.Size(), Source: p})
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			tr.Entries = append(tr.Entries, pack.Entry{Path: rel, Kind: pack.Symlink, Mode: 0o777, Target: target})
		case fi.IsDir():
			tr.Entries = append(tr.Entries, pack.Entry{Path: rel, Kind: pack.Dir, Mode: perm})
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(tr.Entries, func(i, j int) bool { return pack.Less(tr.Entries[i].Path, tr.Entries[j].Path) })
	return tr
}

// writeImage writes t to a file in a temporary directory and returns its
// path and content.
func writeImage(t testing.TB, tr *pack.Tree, opts Options) (string, []byte) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "img.squashfs")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := Write(context.Background(), f, tr, opts); err != nil {
		f.Close()
		t.Fatalf("Write: %v", err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return p, b
}

// content returns a File entry's bytes.
func content(t testing.TB, e *pack.Entry) []byte {
	t.Helper()
	r, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// want is what a tree's entry should read back as.
type want struct {
	path   string
	kind   pack.Kind // HardLink entries become File
	mode   fs.FileMode
	size   int64
	target string
	entry  *pack.Entry // the File that holds the content
	link   string      // the first name of the inode, for files
	nlink  int
}

// wants lists what every entry of t should read back as, in tree order.
func wants(t *pack.Tree) []want {
	files := map[string]*pack.Entry{}
	nlink := map[string]int{}
	for i := range t.Entries {
		e := &t.Entries[i]
		switch e.Kind {
		case pack.File:
			files[e.Path] = e
			nlink[e.Path]++
		case pack.HardLink:
			nlink[e.Target]++
		}
	}
	var ws []want
	for i := range t.Entries {
		e := &t.Entries[i]
		w := want{path: e.Path, kind: e.Kind, mode: e.Mode, target: e.Target}
		switch e.Kind {
		case pack.File:
			w.entry, w.size, w.link, w.nlink = e, e.Size, e.Path, nlink[e.Path]
		case pack.HardLink:
			f := files[e.Target]
			w = want{path: e.Path, kind: pack.File, mode: f.Mode, size: f.Size, entry: f, link: f.Path, nlink: nlink[f.Path]}
		case pack.Symlink:
			w.size = int64(len(e.Target))
		}
		ws = append(ws, w)
	}
	return ws
}

// checkRead compares what the Go reader read back with the tree.
func checkRead(t testing.TB, tr *pack.Tree, got []readEntry, im *imageStats) {
	t.Helper()
	ws := wants(tr)
	if len(got) != len(ws) {
		t.Fatalf("read back %d entries, tree has %d", len(got), len(ws))
	}
	if im.mkfsTime != uint32(tr.Mtime.Unix()) {
		t.Errorf("mkfs time %d, want %d", im.mkfsTime, tr.Mtime.Unix())
	}
	inos := map[string]uint32{}
	for i, w := range ws {
		g := got[i]
		if g.Path != w.path {
			t.Fatalf("entry %d is %q, want %q", i, g.Path, w.path)
		}
		if g.Mtime != uint32(tr.Mtime.Unix()) {
			t.Errorf("%s: mtime %d", w.path, g.Mtime)
		}
		wantMode := w.mode
		switch w.kind {
		case pack.Dir:
			wantMode |= fs.ModeDir
		case pack.Symlink:
			wantMode |= fs.ModeSymlink
		}
		if g.Mode != wantMode {
			t.Errorf("%s: mode %v, want %v", w.path, g.Mode, wantMode)
		}
		switch w.kind {
		case pack.Symlink:
			if g.Target != w.target {
				t.Errorf("%s: target %q, want %q", w.path, g.Target, w.target)
			}
		case pack.File:
			if g.Size != w.size || !bytes.Equal(g.Data, content(t, w.entry)) {
				t.Errorf("%s: content differs (size %d, want %d)", w.path, g.Size, w.size)
			}
			if int(g.Nlink) != w.nlink {
				t.Errorf("%s: nlink %d, want %d", w.path, g.Nlink, w.nlink)
			}
			if ino, ok := inos[w.link]; ok && ino != g.Ino {
				t.Errorf("%s: inode %d, but its hard link %s has %d", w.path, g.Ino, w.link, ino)
			}
			inos[w.link] = g.Ino
		}
	}
}

// readBack reads an image with the Go reader, checks it and compares it
// with the tree.
func readBack(t testing.TB, tr *pack.Tree, img []byte) *imageStats {
	t.Helper()
	got, im, err := readImage(img)
	if err != nil {
		t.Fatalf("reading the image back: %v", err)
	}
	checkRead(t, tr, got, im)
	return im
}

// need needs a command, which Debian's pkg installs.
func need(t testing.TB, cmd, pkg string) {
	t.Helper()
	needpkg.Tool(t, cmd, pkg)
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "TZ=UTC", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// lsMode formats a mode as ls and unsquashfs do.
func lsMode(k pack.Kind, m fs.FileMode) string {
	b := []byte("-rwxrwxrwx")
	switch k {
	case pack.Dir:
		b[0] = 'd'
	case pack.Symlink:
		b[0] = 'l'
	}
	for i := range 9 {
		if m&(1<<(8-i)) == 0 {
			b[1+i] = '-'
		}
	}
	special := func(bit fs.FileMode, at int, set, unset byte) {
		if m&bit != 0 {
			if b[at] == 'x' {
				b[at] = set
			} else {
				b[at] = unset
			}
		}
	}
	special(0o4000, 3, 's', 'S')
	special(0o2000, 6, 's', 'S')
	special(0o1000, 9, 't', 'T')
	return string(b)
}

// checkUnsquashfs lists the image with `unsquashfs -lln` and compares the
// listing with the tree, then extracts it with `unsquashfs -d` and
// compares every file, symlink, mode, mtime and hard link.
func checkUnsquashfs(t testing.TB, tr *pack.Tree, img string) {
	t.Helper()
	checkUnsquashfsList(t, tr, img)
	dir := filepath.Join(t.TempDir(), "x")
	run(t, "unsquashfs", "-q", "-n", "-d", dir, img)
	compareDir(t, tr, dir, true)
}

// checkUnsquashfsList compares `unsquashfs -lln` with the tree: modes,
// owners, sizes, mtimes, names and symlink targets, in order.
func checkUnsquashfsList(t testing.TB, tr *pack.Tree, img string) {
	t.Helper()
	need(t, "unsquashfs", "squashfs-tools")
	ws := wants(tr)
	stamp := tr.Mtime.UTC().Format("2006-01-02 15:04")
	var wantList []string
	for _, w := range ws {
		size := fmt.Sprint(w.size)
		if w.kind == pack.Dir {
			size = "-" // the listing's size, the format's business
		}
		l := fmt.Sprintf("%s 0/0 %s %s squashfs-root/%s", lsMode(w.kind, w.mode), size, stamp, w.path)
		if w.kind == pack.Symlink {
			l += " -> " + w.target
		}
		wantList = append(wantList, l)
	}
	var gotList []string
	for i, l := range lines(run(t, "unsquashfs", "-lln", img)) {
		f := strings.Fields(l)
		at := strings.Index(l, " squashfs-root")
		if len(f) < 6 || at < 0 {
			t.Fatalf("unsquashfs -lln line %q", l)
		}
		if i == 0 {
			if f[0] != "drwxr-xr-x" || f[1] != "0/0" || l[at+1:] != "squashfs-root" {
				t.Errorf("unsquashfs root line %q", l)
			}
			continue
		}
		if f[0][0] == 'd' {
			f[2] = "-"
		}
		// Names may hold runs of spaces: the path is the line's tail.
		gotList = append(gotList, strings.Join(f[:5], " ")+l[at:])
	}
	if !slices.Equal(gotList, wantList) {
		for i := range max(len(gotList), len(wantList)) {
			var g, w string
			if i < len(gotList) {
				g = gotList[i]
			}
			if i < len(wantList) {
				w = wantList[i]
			}
			if g != w {
				t.Fatalf("unsquashfs -lln line %d:\n got %q\nwant %q", i+1, g, w)
			}
		}
	}
}

// compareDir compares a directory tree (extracted or mounted) with the
// tree: kinds, modes, owners, contents, targets, mtimes, link counts, hard
// links by inode number (unless sameIno is false: squashfuse numbers
// inodes its own way), and no extra names.
func compareDir(t testing.TB, tr *pack.Tree, dir string, sameIno bool) {
	t.Helper()
	inos := map[string]uint64{}
	names := map[string]bool{}
	for _, w := range wants(tr) {
		names[w.path] = true
		p := filepath.Join(dir, w.path)
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatalf("%v", err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		mode := fs.FileMode(st.Mode & 0o7777)
		kind := map[uint32]pack.Kind{syscall.S_IFDIR: pack.Dir, syscall.S_IFREG: pack.File, syscall.S_IFLNK: pack.Symlink}[st.Mode&syscall.S_IFMT]
		if st.Mode&syscall.S_IFMT != map[pack.Kind]uint32{pack.Dir: syscall.S_IFDIR, pack.File: syscall.S_IFREG, pack.Symlink: syscall.S_IFLNK}[w.kind] {
			t.Fatalf("%s: is a %s, want a %s", w.path, kind, w.kind)
		}
		if w.kind != pack.Symlink && mode != w.mode {
			t.Errorf("%s: mode %o, want %o", w.path, mode, w.mode)
		}
		if st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: owner %d:%d", w.path, st.Uid, st.Gid)
		}
		if st.Mtim.Sec != tr.Mtime.Unix() {
			t.Errorf("%s: mtime %d, want %d", w.path, st.Mtim.Sec, tr.Mtime.Unix())
		}
		switch w.kind {
		case pack.Symlink:
			if got, err := os.Readlink(p); err != nil || got != w.target {
				t.Errorf("%s: target %q (%v), want %q", w.path, got, err, w.target)
			}
		case pack.File:
			got, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, content(t, w.entry)) {
				t.Errorf("%s: content differs (%d bytes, want %d)", w.path, len(got), w.size)
			}
			if int(st.Nlink) != w.nlink {
				t.Errorf("%s: nlink %d, want %d", w.path, st.Nlink, w.nlink)
			}
			if ino, ok := inos[w.link]; ok && sameIno && ino != st.Ino {
				t.Errorf("%s: inode %d, its hard link %s has %d", w.path, st.Ino, w.link, ino)
			}
			inos[w.link] = st.Ino
		}
	}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel != "." && !names[rel] {
			t.Errorf("%s: not in the tree", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// checkNg reads the image with squashfs-tools-ng: `rdsquashfs -d` must
// describe the tree, and `sqfs2tar` must give a tar of the same files.
func checkNg(t testing.TB, tr *pack.Tree, img string) {
	t.Helper()
	need(t, "rdsquashfs", "squashfs-tools-ng")
	var wantDesc []string
	for _, w := range wants(tr) {
		l := fmt.Sprintf("%s %s 0%o 0 0", map[pack.Kind]string{pack.Dir: "dir", pack.File: "file", pack.Symlink: "slink"}[w.kind], quoteNg(w.path), w.mode)
		if w.kind == pack.Symlink {
			l += " " + w.target
		}
		wantDesc = append(wantDesc, l)
	}
	got := lines(run(t, "rdsquashfs", "-d", img))
	if !slices.Equal(got, wantDesc) {
		for i := range max(len(got), len(wantDesc)) {
			if i >= len(got) || i >= len(wantDesc) || got[i] != wantDesc[i] {
				g, w := "", ""
				if i < len(got) {
					g = got[i]
				}
				if i < len(wantDesc) {
					w = wantDesc[i]
				}
				t.Fatalf("rdsquashfs -d line %d:\n got %q\nwant %q", i+1, g, w)
			}
		}
	}

	need(t, "sqfs2tar", "squashfs-tools-ng")
	tarball := run(t, "sqfs2tar", "--no-xattr", img)
	tr2 := tar.NewReader(bytes.NewReader(tarball))
	ws := map[string]want{}
	for _, w := range wants(tr) {
		ws[w.path] = w
	}
	seen := 0
	for {
		h, err := tr2.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("sqfs2tar output: %v", err)
		}
		name := strings.TrimSuffix(h.Name, "/")
		w, ok := ws[name]
		if !ok {
			t.Fatalf("sqfs2tar: %q not in the tree", h.Name)
		}
		seen++
		if h.ModTime.Unix() != tr.Mtime.Unix() || h.Uid != 0 || h.Gid != 0 {
			t.Errorf("sqfs2tar %s: mtime %v owner %d:%d", name, h.ModTime, h.Uid, h.Gid)
		}
		switch h.Typeflag {
		case tar.TypeReg:
			b, _ := io.ReadAll(tr2)
			if w.kind != pack.File || !bytes.Equal(b, content(t, w.entry)) {
				t.Errorf("sqfs2tar %s: content differs", name)
			}
		case tar.TypeLink:
			if w.kind != pack.File || ws[h.Linkname].entry != w.entry {
				t.Errorf("sqfs2tar %s: hard link to %s", name, h.Linkname)
			}
		case tar.TypeSymlink:
			if h.Linkname != w.target {
				t.Errorf("sqfs2tar %s: target %q", name, h.Linkname)
			}
		case tar.TypeDir:
			if w.kind != pack.Dir {
				t.Errorf("sqfs2tar %s: a directory", name)
			}
		default:
			t.Errorf("sqfs2tar %s: type %c", name, h.Typeflag)
		}
	}
	if seen != len(ws) {
		t.Errorf("sqfs2tar gave %d entries, want %d", seen, len(ws))
	}
}

// lines splits a command's output into lines.
func lines(out []byte) []string {
	if len(out) == 0 {
		return nil
	}
	return strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
}

// quoteNg quotes a name as rdsquashfs -d does when it holds a space.
func quoteNg(p string) string {
	if strings.ContainsAny(p, " \"") {
		return `"` + strings.ReplaceAll(p, `"`, `\"`) + `"`
	}
	return p
}

// goroutinesLeft is how many goroutines beyond before are still running
// once those that are ending have ended: a goroutine of wg.Go has called
// Done before it returns, so a count taken right after Wait may still
// see it. It waits up to 5 s, so only goroutines that stay are counted.
func goroutinesLeft(before int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine() - before
		if n <= 0 || time.Now().After(deadline) {
			return max(n, 0)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
