package formattest

import (
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/pack"
)

// Tree is the suite's tree: what pack.Build makes of a closure, with every
// kind of entry a format must carry and the cases where formats differ.
//
//   - the store's parents, the store (1775) and two items, read-only as the
//     daemons leave them, with files on disk (Source) and generated (Data);
//   - empty files, a file of one byte, files across block boundaries of
//     every format (300 KiB crosses squashfs's 128 KiB blocks, 1.5 MiB
//     gzip's 1 MiB ones), duplicate contents (squashfs stores them once),
//     a file of 4.25 MiB, which squashfs reads block by block;
//   - set-user-ID and executable modes, a sticky directory and /tmp 1777;
//   - symlinks, absolute into the store and relative, and one whose
//     target is long;
//   - names longer than tar's 100 bytes, with spaces, UTF-8, a newline;
//   - the launcher and its hard links, as -R makes them;
//   - an ELF header of the machine's own kind, which images take their
//     architecture from.
func Tree(tb testing.TB) *pack.Tree {
	tb.Helper()
	dir := tb.TempDir()
	rng := rand.New(rand.NewPCG(10, 10))
	src := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		return p
	}
	const a = "gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0"
	const b = "gnu/store/zyxwvsrqpnmlkjihgfdcba9876543210-b-2.0"
	text := Compressible(rng, 3<<19)
	elf := ELFHeader(tb)
	es := []pack.Entry{
		{Path: ".gpack", Kind: pack.Dir, Mode: 0o755},
		{Path: ".gpack/launcher", Kind: pack.File, Mode: 0o555, Size: 4, Data: []byte("\x7fELF")},
		{Path: "bin", Kind: pack.Dir, Mode: 0o755},
		{Path: "bin/hello", Kind: pack.HardLink, Mode: 0o555, Target: ".gpack/launcher"},
		{Path: "bin/sh", Kind: pack.HardLink, Mode: 0o555, Target: ".gpack/launcher"},
		{Path: "gnu", Kind: pack.Dir, Mode: 0o755},
		{Path: "gnu/store", Kind: pack.Dir, Mode: 0o1775},
		{Path: a, Kind: pack.Dir, Mode: 0o555},
		{Path: a + "/bin", Kind: pack.Dir, Mode: 0o555},
		{Path: a + "/bin/hello", Kind: pack.File, Mode: 0o555, Size: 300 << 10, Source: src("hello", Compressible(rng, 300<<10))},
		{Path: a + "/bin/su", Kind: pack.File, Mode: 0o4555, Size: 1, Data: []byte("x")},
		{Path: a + "/empty", Kind: pack.File, Mode: 0o444, Data: []byte{}},
		{Path: a + "/lib", Kind: pack.Dir, Mode: 0o555},
		{Path: a + "/lib/ld.so", Kind: pack.File, Mode: 0o555, Size: int64(len(elf)), Data: elf},
		{Path: a + "/lib/big.txt", Kind: pack.File, Mode: 0o444, Size: int64(len(text)), Source: src("big", text)},
		{Path: a + "/lib/copy.txt", Kind: pack.File, Mode: 0o444, Size: int64(len(text)), Source: src("copy", text)},
		{Path: a + "/lib/self", Kind: pack.Symlink, Mode: 0o777, Target: "/" + a + "/lib/big.txt"},
		{Path: a + "/lib/up", Kind: pack.Symlink, Mode: 0o777, Target: "../bin/hello"},
		{Path: a + "/share", Kind: pack.Dir, Mode: 0o555},
		{Path: a + "/share/" + strings.Repeat("long name ", 15), Kind: pack.File, Mode: 0o444, Size: 5, Data: []byte("long\n")},
		{Path: a + "/share/new\nline é", Kind: pack.File, Mode: 0o444, Size: 3, Data: []byte("odd")},
		{Path: a + "/share/spool", Kind: pack.Dir, Mode: 0o1777},
		{Path: a + "/share/far", Kind: pack.Symlink, Mode: 0o777, Target: "../lib/" + strings.Repeat("far ", 40)},
		{Path: b, Kind: pack.Dir, Mode: 0o555},
		{Path: b + "/data", Kind: pack.File, Mode: 0o444, Size: 1 << 20, Source: src("data", Incompressible(rng, 1<<20))},
		{Path: b + "/large", Kind: pack.File, Mode: 0o444, Size: 17 << 18, Source: src("large", Compressible(rng, 17<<18))},
		{Path: b + "/empty", Kind: pack.File, Mode: 0o444, Data: []byte{}},
		{Path: "tmp", Kind: pack.Dir, Mode: 0o1777},
	}
	for i := range es {
		if es[i].Data != nil {
			es[i].Size = int64(len(es[i].Data))
		}
	}
	sort.Slice(es, func(i, j int) bool { return pack.Less(es[i].Path, es[j].Path) })
	t := &pack.Tree{Entries: es, Store: "/gnu/store", Items: []string{"/" + a, "/" + b}, Roots: []string{"/" + a},
		Mtime: time.Unix(1700000000, 0).UTC()}
	if err := pack.Validate(t); err != nil {
		tb.Fatalf("the suite's tree: %v", err)
	}
	return t
}

// Compressible returns n bytes of text-like data from rng: words and
// numbers, which every compressor shrinks, so that blocks really compress.
func Compressible(rng *rand.Rand, n int) []byte {
	words := strings.Fields("store item closure pack tarball squashfs layer digest launcher namespace ptrace profile wrapper symlink")
	b := make([]byte, 0, n+32)
	for len(b) < n {
		b = append(b, words[rng.IntN(len(words))]...)
		b = append(b, " \n/-0123456789"[rng.IntN(14)])
	}
	return b[:n]
}

// Incompressible returns n random bytes, which every compressor stores.
func Incompressible(rng *rand.Rand, n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// ELFHeader returns the first 64 bytes of the running (test) program: an
// ELF header of this machine's architecture.
func ELFHeader(tb testing.TB) []byte {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	f, err := os.Open(exe)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 64)
	if _, err := io.ReadFull(f, b); err != nil {
		tb.Fatalf("reading %s: %v", exe, err)
	}
	return b
}
