// Package teststore builds a small synthetic functional store (like /nix/store
// or /gnu/store) for tests. Each item exercises one way a store path can be
// referenced — ELF interpreter and RUNPATH, shebang, string constant, symlink
// target, file name, embedded binary data, self-reference — or one blind spot
// that a byte scanner must share with Nix (references inside compressed data).
//
// The references recorded in Store.Refs are written by hand rather than found
// by scanning, so that tests of the real scanner have an independent ground
// truth.
//
// Some items are tracees (Store.Tracees): programs that each exercise one
// thing a launcher must get right when it shows the store at its path by
// intercepting system calls, with the output they print where the store is
// at its path.
//
// Building needs gcc, patchelf, the go command, the host's glibc under
// /lib/x86_64-linux-gnu and /bin/dash; it only works on x86-64 glibc Linux
// hosts.
package teststore

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// nixBase32 is Nix's base-32 alphabet: it omits e, o, u and t so that hashes
// cannot spell common words.
const nixBase32 = "0123456789abcdfghijklmnpqrsvwxyz"

// Host files copied into the store. They are fixed paths because the items
// must be real, runnable glibc binaries for the launcher tests.
const (
	hostLdSo = "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
	hostLibc = "/lib/x86_64-linux-gnu/libc.so.6"
	hostDash = "/bin/dash"
)

// maxShebang is the longest "#!interpreter" line Linux accepts
// (BINPRM_BUF_SIZE is 256 including the newline since Linux 5.1).
const maxShebang = 255

// Blob layout for the binref item: the reference sits past the first pages
// and off any page boundary so that a scanner reading in chunks must handle
// data that is not at the start of a chunk.
const (
	blobSize   = 64 << 10
	blobOffset = 45001
)

// Store is a synthetic store built under a root directory.
type Store struct {
	// Dir is the absolute store directory, <root>/store.
	Dir string
	// Items maps each item's short name (such as "hello") to its absolute
	// path <Dir>/<Hash(name)>-<name>.
	Items map[string]string
	// Refs maps each short name to the sorted short names of the items it
	// references directly, itself included when it references itself. It is
	// what a Nix-compatible reference scanner should find, and nothing more.
	Refs map[string][]string
}

// Hash returns the 32-character nix-base32 hash part used for the item name.
// It depends only on the name so that item paths are the same in every build
// under the same root, and tests can predict them.
func Hash(name string) string {
	sum := sha256.Sum256([]byte(name))
	var b strings.Builder
	b.Grow(32)
	// 32 characters of 5 bits each use the first 160 bits of the digest.
	for i := range 32 {
		bit := i * 5
		v := (binary.BigEndian.Uint16(sum[bit/8:]) >> (11 - bit%8)) & 0x1f
		b.WriteByte(nixBase32[v])
	}
	return b.String()
}

// refs is the ground truth for Store.Refs. Keep it in step with the builders
// in Build.
var refs = map[string][]string{
	"libc":   {},
	"greet":  {"libc"},
	"hello":  {"greet", "libc"},
	"dash":   {"libc"},
	"script": {"dash", "hello"},
	"execer": {"hello", "libc"},
	// threads reads its own binary, so it names itself.
	"threads": {"hello", "libc", "threads"},
	"forker":  {"hello", "libc"},
	// More tracees (tracees.go), besides threads and forker.
	"cwd":      {"libc", "noref"},
	"selfexe":  {"libc"},
	"newsys":   {"libc", "linkonly", "noref"},
	"unixsock": {"libc"},
	// startstate prints what it inherited through execve.
	"startstate": {"libc"},
	// badinterp's ELF interpreter, and badshebang's #! interpreter, are
	// missing from the store, as from a damaged pack.
	"badinterp":  {"libc"},
	"badshebang": {"dash"},
	// rofs names the items whose files it tries to change.
	"rofs":  {"libc", "linkonly", "noref", "unixsock"},
	"chain": {"chain", "dash", "hello"},
	// hostlink makes links outside the store to these items' files.
	"hostlink": {"dash", "hello", "libc", "noref", "profile", "selfexe"},
	// The Go tracees find the paths they use in a file of their own.
	"gostatic":  {"hello", "noref"},
	"godynamic": {"hello", "libc", "noref"},
	"profile":   {"dash", "execer", "forker", "greet", "hello", "profile", "script", "selfexe", "threads"},
	// guixprofile has a Guix profile's layout: its manifest lists hello
	// and dash, its etc/profile names itself.
	"guixprofile": {"dash", "guixprofile", "hello"},
	"noref":       {},
	"linkonly":    {"noref"},
	"binref":      {"noref"},
	// gzref mentions hello's path only inside gzip-compressed data. Nix and
	// Guix scan raw bytes, so they do not record that reference either; gpack
	// must match them, so the expected set is empty. This is a known,
	// accepted blind spot, not a bug to fix in the scanner.
	"gzref":    {},
	"namedref": {"noref"},
}

// Build creates the store at filepath.Join(root, "store") and returns it.
// root must be an absolute, existing directory without a store in it. Items
// are left read-only like a real store, but the store directory itself stays
// writable; to delete the tree, make the item directories writable first (New
// does that in a cleanup).
func Build(root string) (*Store, error) {
	if !filepath.IsAbs(root) {
		return nil, fmt.Errorf("teststore: root %q is not absolute", root)
	}
	dir := filepath.Join(root, "store")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return nil, fmt.Errorf("teststore: create store: %w", err)
	}
	// Mkdir is subject to the umask; the store must be 0755 whatever it is.
	if err := os.Chmod(dir, 0o755); err != nil {
		return nil, fmt.Errorf("teststore: %w", err)
	}
	s := &Store{Dir: dir, Items: map[string]string{}, Refs: map[string][]string{}}
	for name, r := range refs {
		s.Items[name] = filepath.Join(dir, Hash(name)+"-"+name)
		s.Refs[name] = slices.Clone(r)
	}
	b := &builder{s: s, src: sourceDir()}
	// The steps write to different items and only name the paths of
	// others, so they run in parallel: the compilers are most of the build
	// time. hello links against libgreet, so greet comes first.
	steps := []func() error{
		b.libc, b.greetHello,
		b.dash, b.script, b.execer, b.threads, b.forker, b.profile,
		b.cwd, b.selfexe, b.newsys, b.unixsock, b.rofs, b.chain, b.gostatic, b.godynamic,
		b.noref, b.linkonly, b.binref, b.gzref, b.namedref, b.startstate, b.badinterp, b.badshebang,
		b.hostlink, b.guixProfile,
	}
	errs := make([]error, len(steps))
	// Bound the compilers running at once by the CPUs, plus one for the
	// time each spends starting.
	sem := make(chan struct{}, runtime.GOMAXPROCS(0)+1)
	var wg sync.WaitGroup
	for i, step := range steps {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			errs[i] = step()
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("teststore: %w", err)
	}
	for _, name := range slices.Sorted(maps.Keys(s.Items)) {
		if err := freeze(s.Items[name]); err != nil {
			return nil, fmt.Errorf("teststore: make %s read-only: %w", name, err)
		}
	}
	return s, nil
}

// New is Build for tests: it fails the test on error and, because Go's
// t.TempDir cleanup cannot delete files in read-only directories when not
// running as root, registers a cleanup that makes the store writable again.
// Cleanups run last-in first-out, so this one runs before that of a
// t.TempDir created earlier.
func New(t testing.TB, root string) *Store {
	t.Helper()
	t.Cleanup(func() {
		if err := thaw(filepath.Join(root, "store")); err != nil && !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("teststore: make store writable: %v", err)
		}
	})
	s, err := Build(root)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Path returns the absolute path of the named item. It panics on unknown
// names because a typo in a test is a bug in the test, not a condition to
// handle.
func (s *Store) Path(name string) string {
	p, ok := s.Items[name]
	if !ok {
		panic(fmt.Sprintf("teststore: unknown item %q", name))
	}
	return p
}

// sourceDir finds testdata/teststore from this file's location, so that
// tests in any package (each with its own working directory) can build.
func sourceDir() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("teststore: runtime.Caller failed")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "testdata", "teststore")
}

type builder struct {
	s   *Store
	src string
}

func (b *builder) item(name string) string { return b.s.Path(name) }

// ldso is the store interpreter path every ELF program in the store uses.
func (b *builder) ldso() string {
	return filepath.Join(b.item("libc"), "lib", "ld-linux-x86-64.so.2")
}

func (b *builder) helloBin() string { return filepath.Join(b.item("hello"), "bin", "hello") }

func (b *builder) libc() error {
	lib := filepath.Join(b.item("libc"), "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		return err
	}
	for _, src := range []string{hostLdSo, hostLibc} {
		if err := copyFile(src, filepath.Join(lib, filepath.Base(src)), 0o755); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) greet() error {
	lib := filepath.Join(b.item("greet"), "lib")
	if err := os.MkdirAll(lib, 0o755); err != nil {
		return err
	}
	return b.gcc("greet.c", filepath.Join(lib, "libgreet.so"),
		"-shared", "-fPIC", "-Wl,-rpath,"+filepath.Join(b.item("libc"), "lib"))
}

// greetHello builds greet, then hello, which links against it.
func (b *builder) greetHello() error {
	if err := b.greet(); err != nil {
		return err
	}
	return b.hello()
}

func (b *builder) hello() error {
	greetLib := filepath.Join(b.item("greet"), "lib")
	return b.program("hello", "hello.c",
		"-Wl,-rpath,"+filepath.Join(b.item("libc"), "lib")+":"+greetLib,
		"-L"+greetLib, "-lgreet")
}

// The programs below need only libc, so their RUNPATH names libc alone:
// naming greet too would add a reference the ground truth does not list.

func (b *builder) execer() error {
	return b.program("execer", "execer.c", b.libcRpath(), b.helloDefine())
}

func (b *builder) threads() error {
	self := fmt.Sprintf("-DSELF_PATH=%q", filepath.Join(b.item("threads"), "bin", "threads"))
	return b.program("threads", "threads.c", b.libcRpath(), b.helloDefine(), self, "-pthread")
}

func (b *builder) forker() error {
	return b.program("forker", "forker.c", b.libcRpath(), b.helloDefine())
}

func (b *builder) libcRpath() string {
	return "-Wl,-rpath," + filepath.Join(b.item("libc"), "lib")
}

func (b *builder) helloDefine() string {
	return fmt.Sprintf("-DHELLO_PATH=%q", b.helloBin())
}

// program compiles src into <item>/bin/<name> with the store interpreter.
func (b *builder) program(name, src string, flags ...string) error {
	bin := filepath.Join(b.item(name), "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	flags = append([]string{"-Wl,--dynamic-linker=" + b.ldso()}, flags...)
	return b.gcc(src, filepath.Join(bin, name), flags...)
}

func (b *builder) gcc(src, out string, flags ...string) error {
	path := filepath.Join(b.src, src)
	args := append([]string{"-O1", "-o", out, path}, flags...)
	cmd := exec.Command("gcc", args...)
	// A fixed locale keeps diagnostics readable in errors; gcc's output does
	// not depend on it.
	cmd.Env = append(os.Environ(), "LC_ALL=C")
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("compile %s: %w\n%s", path, err, output)
	}
	return nil
}

func (b *builder) dash() error {
	bin := filepath.Join(b.item("dash"), "bin")
	if err := os.MkdirAll(bin, 0o755); err != nil {
		return err
	}
	sh := filepath.Join(bin, "sh")
	if err := copyFile(hostDash, sh, 0o755); err != nil {
		return err
	}
	cmd := exec.Command("patchelf", "--set-interpreter", b.ldso(),
		"--set-rpath", filepath.Join(b.item("libc"), "lib"), sh)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("patchelf %s: %w\n%s", sh, err, output)
	}
	return os.Symlink("sh", filepath.Join(bin, "dash"))
}

func (b *builder) script() error {
	return b.shellScript(filepath.Join(b.item("script"), "bin", "greet-script"),
		filepath.Join(b.item("dash"), "bin", "sh"), "exec "+b.helloBin()+" \"$@\"\n")
}

// shellScript writes an executable script whose #! line names interp.
func (b *builder) shellScript(path, interp, body string) error {
	shebang := "#!" + interp
	if len(shebang) > maxShebang {
		return fmt.Errorf("shebang of %d bytes exceeds the kernel's %d; use a shorter root",
			len(shebang), maxShebang)
	}
	return writeFile(path, []byte(shebang+"\n"+body), 0o755)
}

func (b *builder) profile() error {
	p := b.item("profile")
	links := []struct{ link, target string }{
		{"bin/hello", b.helloBin()},
		{"bin/greet-script", filepath.Join(b.item("script"), "bin", "greet-script")},
		{"bin/sh", filepath.Join(b.item("dash"), "bin", "sh")},
		{"bin/execer", filepath.Join(b.item("execer"), "bin", "execer")},
		{"bin/threads", filepath.Join(b.item("threads"), "bin", "threads")},
		{"bin/forker", filepath.Join(b.item("forker"), "bin", "forker")},
		{"bin/selfexe", filepath.Join(b.item("selfexe"), "bin", "selfexe")},
		{"lib/libgreet.so", filepath.Join(b.item("greet"), "lib", "libgreet.so")},
	}
	for _, l := range links {
		if err := symlink(l.target, filepath.Join(p, l.link)); err != nil {
			return err
		}
	}
	text := "export PATH=" + filepath.Join(p, "bin") + ":$PATH\n"
	return writeFile(filepath.Join(p, "etc", "profile"), []byte(text), 0o644)
}

// guixProfile builds a profile as Guix lays one out: links to the
// packages' files, directories of its own where packages meet
// (lib/locale), a manifest in Guix's format (version 4) and an
// etc/profile of export lines in Guix's form.
func (b *builder) guixProfile() error {
	p := b.item("guixprofile")
	hello, dash := b.item("hello"), b.item("dash")
	for _, l := range []struct{ link, target string }{
		{"bin/hello", b.helloBin()},
		{"bin/sh", filepath.Join(dash, "bin", "sh")},
	} {
		if err := symlink(l.target, filepath.Join(p, l.link)); err != nil {
			return err
		}
	}
	if err := writeFile(filepath.Join(p, "lib", "locale", "README"), []byte("locale data\n"), 0o644); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(p, "share", "man", "man1", "hello.1"), []byte(".TH HELLO 1\n"), 0o644); err != nil {
		return err
	}
	manifest := `;; This file was automatically generated and is for internal use only.
;; It cannot be passed to the '--manifest' option.

(manifest
  (version 4)
  (packages
    (("hello" "2.12.1" "out" "` + hello + `"
      (propagated-inputs ())
      (search-paths ())
      (properties ()))
     ("dash" "0.5.12" "out" "` + dash + `"
      (propagated-inputs ())
      (search-paths ())
      (properties ())))))
`
	if err := writeFile(filepath.Join(p, "manifest"), []byte(manifest), 0o444); err != nil {
		return err
	}
	profile := `# Source this file to define all the relevant environment variables in Bash
# for this profile.  You may want to define the 'GUIX_PROFILE' environment
# variable to point to the "visible" name of the profile, like this:
#
#  GUIX_PROFILE=/path/to/profile ; \
#  source /path/to/profile/etc/profile
#
# When GUIX_PROFILE is undefined, the various environment variables refer
# to this specific profile generation.

export PATH="${GUIX_PROFILE:-` + p + `}/bin${PATH:+:}$PATH"
export GUIX_LOCPATH="${GUIX_PROFILE:-` + p + `}/lib/locale${GUIX_LOCPATH:+:}$GUIX_LOCPATH"
export MANPATH="${GUIX_PROFILE:-` + p + `}/share/man${MANPATH:+:}$MANPATH"
`
	return writeFile(filepath.Join(p, "etc", "profile"), []byte(profile), 0o444)
}

// dataText is the content of noref's share/data.txt, which tracees read.
const dataText = "plain data that names no store item\n"

func (b *builder) noref() error {
	share := filepath.Join(b.item("noref"), "share")
	if err := writeFile(filepath.Join(share, "data.txt"), []byte(dataText), 0o644); err != nil {
		return err
	}
	return writeFile(filepath.Join(share, "empty"), nil, 0o644)
}

func (b *builder) linkonly() error {
	share := filepath.Join(b.item("linkonly"), "share")
	if err := symlink(filepath.Join(b.item("noref"), "share", "data.txt"),
		filepath.Join(share, "target")); err != nil {
		return err
	}
	return writeFile(filepath.Join(share, "readme.txt"),
		[]byte("the only reference of this item is the target of a symlink\n"), 0o644)
}

func (b *builder) binref() error {
	blob := pseudoRandom(blobSize, "teststore binref")
	ref := b.item("noref")
	copy(blob[blobOffset:], ref)
	// NUL bytes on both sides make the path look like a C string in a binary
	// section, and keep stray alphabet bytes from extending it.
	blob[blobOffset-1] = 0
	blob[blobOffset+len(ref)] = 0
	return writeFile(filepath.Join(b.item("binref"), "lib", "blob.bin"), blob, 0o644)
}

func (b *builder) gzref() error {
	text := "This documentation is compressed. It mentions " + b.helloBin() +
		" but only inside the gzip stream, where a byte scanner cannot see it.\n"
	var buf bytes.Buffer
	// A zero header (no name, no mtime) keeps the stream deterministic.
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return err
	}
	if _, err := zw.Write([]byte(text)); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if bytes.Contains(buf.Bytes(), []byte(Hash("hello"))) {
		return errors.New("gzref: hello's hash survived compression; change the text")
	}
	return writeFile(filepath.Join(b.item("gzref"), "share", "doc.gz"), buf.Bytes(), 0o644)
}

func (b *builder) namedref() error {
	return writeFile(filepath.Join(b.item("namedref"), "share", Hash("noref")+"-noref.marker"),
		[]byte("this file is referenced by its name only\n"), 0o644)
}

// pseudoRandom returns n bytes of SHA-256 in counter mode: unlike math/rand,
// its output is fixed forever, so the blob is identical on every Go version.
func pseudoRandom(n int, seed string) []byte {
	out := make([]byte, 0, n+sha256.Size)
	var ctr [8]byte
	for i := uint64(0); len(out) < n; i++ {
		binary.BigEndian.PutUint64(ctr[:], i)
		h := sha256.New()
		h.Write([]byte(seed))
		h.Write(ctr[:])
		out = h.Sum(out)
	}
	return out[:n]
}

func writeFile(path string, data []byte, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, data, mode)
}

func symlink(target, path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.Symlink(target, path)
}

// copyFile copies the bytes of src, following symlinks, because the store
// must hold real files and not links back into the host.
func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", src, err)
	}
	return out.Close()
}

// freeze gives an item the modes of a real store item: 0444 or 0555 files
// and 0555 directories. A pre-order walk works because 0555 still lets the
// walk read and enter the directory it has just made read-only.
func freeze(item string) error {
	return filepath.WalkDir(item, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			return nil // Linux cannot change a symlink's mode.
		case d.IsDir():
			return os.Chmod(path, 0o555)
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		mode := os.FileMode(0o444)
		if info.Mode()&0o111 != 0 {
			mode = 0o555
		}
		return os.Chmod(path, mode)
	})
}

// thaw makes every directory under dir writable again so it can be removed.
// Parents are fixed before their children are read, hence the pre-order walk.
func thaw(dir string) error {
	return filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return os.Chmod(path, 0o755)
		}
		return nil
	})
}
