package teststore

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gpack/gpack/internal/need"
)

// shared builds one store for the read-only tests; building is the slow part.
var shared struct {
	once sync.Once
	root string
	s    *Store
	err  error
}

func sharedStore(t *testing.T) *Store {
	t.Helper()
	shared.once.Do(func() {
		shared.root, shared.err = os.MkdirTemp("", "teststore")
		if shared.err == nil {
			shared.s, shared.err = Build(shared.root)
		}
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.s
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.root != "" {
		if err := thaw(shared.root); err != nil {
			fmt.Fprintln(os.Stderr, "thaw:", err)
		}
		os.RemoveAll(shared.root)
	}
	os.Exit(code)
}

const greeting = Greeting

func TestHash(t *testing.T) {
	seen := map[string]string{}
	for name := range refs {
		h := Hash(name)
		if len(h) != 32 || strings.Trim(h, nixBase32) != "" {
			t.Errorf("Hash(%q) = %q, not 32 nix-base32 characters", name, h)
		}
		if h != Hash(name) {
			t.Errorf("Hash(%q) is not deterministic", name)
		}
		if other, ok := seen[h]; ok {
			t.Errorf("Hash(%q) == Hash(%q)", name, other)
		}
		seen[h] = name
	}
}

func TestLayout(t *testing.T) {
	s := sharedStore(t)
	if !filepath.IsAbs(s.Dir) || filepath.Base(s.Dir) != "store" {
		t.Errorf("Dir = %q", s.Dir)
	}
	if info, err := os.Stat(s.Dir); err != nil || info.Mode().Perm() != 0o755 {
		t.Errorf("store dir: %v, %v; want mode 0755", info, err)
	}
	if !slices.Equal(slices.Sorted(maps.Keys(s.Items)), slices.Sorted(maps.Keys(s.Refs))) {
		t.Errorf("Items and Refs name different items")
	}
	for name, p := range s.Items {
		if want := filepath.Join(s.Dir, Hash(name)+"-"+name); p != want || s.Path(name) != want {
			t.Errorf("item %s at %q, want %q", name, p, want)
		}
		if !slices.IsSorted(s.Refs[name]) {
			t.Errorf("Refs[%s] = %v, not sorted", name, s.Refs[name])
		}
		for _, r := range s.Refs[name] {
			if _, ok := s.Items[r]; !ok {
				t.Errorf("Refs[%s] names unknown item %q", name, r)
			}
		}
		err := filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := os.Lstat(path)
			if err != nil {
				return err
			}
			m := info.Mode()
			switch {
			case m&fs.ModeSymlink != 0:
			case m.IsDir() && m.Perm() != 0o555,
				m.IsRegular() && m.Perm() != 0o444 && m.Perm() != 0o555,
				!m.IsDir() && !m.IsRegular():
				t.Errorf("%s has mode %v", path, m)
			}
			return nil
		})
		if err != nil {
			t.Errorf("item %s: %v", name, err)
		}
	}
	for _, f := range []string{
		"libc/lib/ld-linux-x86-64.so.2", "libc/lib/libc.so.6", "greet/lib/libgreet.so",
		"hello/bin/hello", "dash/bin/sh", "dash/bin/dash", "script/bin/greet-script",
		"execer/bin/execer", "threads/bin/threads", "forker/bin/forker",
		"profile/bin/hello", "profile/bin/greet-script", "profile/bin/sh",
		"profile/bin/execer", "profile/bin/threads", "profile/bin/forker", "profile/bin/selfexe",
		"cwd/bin/cwd", "selfexe/bin/selfexe", "newsys/bin/newsys", "unixsock/bin/unixsock", "unixsock/run",
		"chain/bin/chain", "chain/bin/interp", "gostatic/bin/gostatic", "godynamic/bin/godynamic",
		"profile/lib/libgreet.so", "profile/etc/profile",
		"noref/share/data.txt", "noref/share/empty", "linkonly/share/target",
		"binref/lib/blob.bin", "gzref/share/doc.gz",
		"namedref/share/" + Hash("noref") + "-noref.marker",
	} {
		name, rest, _ := strings.Cut(f, "/")
		if _, err := os.Stat(filepath.Join(s.Path(name), rest)); err != nil {
			t.Errorf("missing %s: %v", f, err)
		}
	}
	for _, f := range []string{"libc/lib/ld-linux-x86-64.so.2", "libc/lib/libc.so.6"} {
		name, rest, _ := strings.Cut(f, "/")
		if info, err := os.Lstat(filepath.Join(s.Path(name), rest)); err != nil || !info.Mode().IsRegular() {
			t.Errorf("%s is not a regular file: %v", f, err)
		}
	}
}

func TestPathPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("Path of an unknown item did not panic")
		}
	}()
	(&Store{Items: map[string]string{}}).Path("nope")
}

func TestPrograms(t *testing.T) {
	s := sharedStore(t)
	tests := []struct {
		name     string
		prog     string // <item>/<path>
		args     []string
		env      []string
		want     string
		wantExit int
	}{
		{name: "hello", prog: "hello/bin/hello", want: greeting},
		{name: "hello args", prog: "hello/bin/hello", args: []string{"a b", "c"}, want: greeting + "a b\nc\n"},
		{name: "hello exit", prog: "hello/bin/hello", env: []string{"HELLO_EXIT=3"}, want: greeting, wantExit: 3},
		{name: "execer", prog: "execer/bin/execer", args: []string{"x", "y"}, want: greeting + "x\ny\n"},
		{name: "execer exit", prog: "execer/bin/execer", env: []string{"HELLO_EXIT=5"}, want: greeting, wantExit: 5},
		{name: "forker 20", prog: "forker/bin/forker", args: []string{"20"}, want: "forked 20 ok\n"},
		{name: "forker fails", prog: "forker/bin/forker", args: []string{"3"}, env: []string{"HELLO_EXIT=1"}, want: "forked 3 failed 3\n", wantExit: 1},
		{name: "greet-script", prog: "script/bin/greet-script", args: []string{"z"}, want: greeting + "z\n"},
		{name: "dash", prog: "dash/bin/dash", args: []string{"-c", "echo $((6*7))"}, want: "42\n"},
		{name: "profile hello", prog: "profile/bin/hello", want: greeting},
		{name: "profile PATH", prog: "profile/bin/sh", args: []string{"-c", ". " + filepath.Join(s.Path("profile"), "etc", "profile") + " && greet-script p"}, want: greeting + "p\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			name, rest, _ := strings.Cut(tt.prog, "/")
			cmd := exec.Command(filepath.Join(s.Path(name), rest), tt.args...)
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(e string) bool {
				return strings.HasPrefix(e, "HELLO_EXIT=")
			}), tt.env...)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			exit := 0
			if ee := (*exec.ExitError)(nil); errors.As(err, &ee) {
				exit = ee.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if string(out) != tt.want || exit != tt.wantExit {
				t.Errorf("got exit %d, output %q; want exit %d, output %q\nstderr: %s",
					exit, out, tt.wantExit, tt.want, stderr.Bytes())
			}
		})
	}
}

// TestTracees runs every tracee where the store exists at its path, which
// is what a launcher must reproduce where it does not.
func TestTracees(t *testing.T) {
	s := sharedStore(t)
	tracees, err := s.Tracees()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, tr := range tracees {
		if names[tr.Name] {
			t.Errorf("two tracees named %q", tr.Name)
		}
		names[tr.Name] = true
		t.Run(tr.Name, func(t *testing.T) {
			dir := t.TempDir()
			prog := tr.Program(s)
			var args []string
			for _, a := range tr.Args {
				args = append(args, strings.ReplaceAll(a, WorkDir, dir))
			}
			cmd := exec.Command(prog, args...)
			cmd.Dir = dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			want := strings.NewReplacer(WorkDir, dir, Argv0, prog).Replace(tr.Stdout)
			if err != nil || string(out) != want {
				t.Errorf("%v: %v, output\n%s\nwant\n%s\nstderr: %s", cmd.Args, err, out, want, stderr.Bytes())
			}
			// Tracees leave their working directory as they found it.
			if entries, err := os.ReadDir(dir); err != nil || len(entries) != 0 {
				t.Errorf("%s left %v in its working directory (%v)", tr.Name, entries, err)
			}
		})
	}
}

// TestStaticGo checks that gostatic really is static: it is the tracee
// whose threads and vfork come from Go's runtime alone.
func TestStaticGo(t *testing.T) {
	s := sharedStore(t)
	f, err := elf.Open(filepath.Join(s.Path("gostatic"), "bin", "gostatic"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("gostatic has a %v program header", p.Type)
		}
	}
}

func TestELF(t *testing.T) {
	need.Tool(t, "readelf", "binutils")
	s := sharedStore(t)
	ldso := filepath.Join(s.Path("libc"), "lib", "ld-linux-x86-64.so.2")
	libcLib := filepath.Join(s.Path("libc"), "lib")
	tests := []struct {
		file   string
		interp string // "" for a shared library
		rpath  string
	}{
		{"hello/bin/hello", ldso, libcLib + ":" + filepath.Join(s.Path("greet"), "lib")},
		{"greet/lib/libgreet.so", "", libcLib},
		{"dash/bin/sh", ldso, libcLib},
		{"execer/bin/execer", ldso, libcLib},
		{"threads/bin/threads", ldso, libcLib},
		{"forker/bin/forker", ldso, libcLib},
		{"cwd/bin/cwd", ldso, libcLib},
		{"selfexe/bin/selfexe", ldso, libcLib},
		{"newsys/bin/newsys", ldso, libcLib},
		{"unixsock/bin/unixsock", ldso, libcLib},
		{"godynamic/bin/godynamic", ldso, libcLib},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			name, rest, _ := strings.Cut(tt.file, "/")
			path := filepath.Join(s.Path(name), rest)
			out, err := exec.Command("readelf", "-l", "-d", "-W", path).CombinedOutput()
			if err != nil {
				t.Fatalf("readelf: %v\n%s", err, out)
			}
			text := string(out)
			if tt.interp != "" && !strings.Contains(text, "[Requesting program interpreter: "+tt.interp+"]") {
				t.Errorf("interpreter is not %s:\n%s", tt.interp, text)
			}
			if !strings.Contains(text, "path: ["+tt.rpath+"]") {
				t.Errorf("RUNPATH/RPATH is not %s:\n%s", tt.rpath, text)
			}
		})
	}
}

func TestGzref(t *testing.T) {
	s := sharedStore(t)
	gz, err := os.ReadFile(filepath.Join(s.Path("gzref"), "share", "doc.gz"))
	if err != nil {
		t.Fatal(err)
	}
	hash := []byte(Hash("hello"))
	if bytes.Contains(gz, hash) {
		t.Error("hello's hash is visible in the compressed bytes")
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	text, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(text, []byte(s.Path("hello"))) {
		t.Errorf("decompressed text does not mention hello: %q", text)
	}
}

func TestBinref(t *testing.T) {
	s := sharedStore(t)
	blob, err := os.ReadFile(filepath.Join(s.Path("binref"), "lib", "blob.bin"))
	if err != nil {
		t.Fatal(err)
	}
	ref := []byte(s.Path("noref"))
	off := bytes.Index(blob, ref)
	if len(blob) != 64<<10 || off < 40000 || off%4096 == 0 || bytes.Count(blob, ref) != 1 {
		t.Errorf("blob of %d bytes has the reference at %d, %d times",
			len(blob), off, bytes.Count(blob, ref))
	}
}

// itemBytes concatenates what a reference scanner looks at in an item: file
// contents, symlink targets and entry names below the item (not the item's
// own name, which holds its own hash).
func itemBytes(t *testing.T, item string) []byte {
	t.Helper()
	var buf bytes.Buffer
	err := filepath.WalkDir(item, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(item, path)
		if err != nil {
			return err
		}
		buf.WriteString(rel)
		buf.WriteByte(0)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			buf.WriteString(target)
		case d.Type().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			buf.Write(data)
		}
		buf.WriteByte(0)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRefsNaive(t *testing.T) {
	s := sharedStore(t)
	for name, item := range s.Items {
		data := itemBytes(t, item)
		for other := range s.Items {
			found := bytes.Contains(data, []byte(Hash(other)))
			if want := slices.Contains(s.Refs[name], other); found != want {
				t.Errorf("%s: hash of %s found=%v, Refs says %v", name, other, found, want)
			}
		}
	}
	if len(s.Refs["gzref"]) != 0 {
		t.Errorf("Refs[gzref] = %v, want empty", s.Refs["gzref"])
	}
}

// digest records every entry's name, mode, contents and link target.
func digest(t *testing.T, dir string) map[string]string {
	t.Helper()
	d := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := os.Lstat(path)
		if err != nil {
			return err
		}
		v := info.Mode().String()
		switch {
		case info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			v += " -> " + target
		case info.Mode().IsRegular():
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			v += fmt.Sprintf(" %x", sha256.Sum256(data))
		}
		d[path] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestDeterministic(t *testing.T) {
	root := t.TempDir()
	first := digest(t, New(t, root).Dir)
	if err := thaw(filepath.Join(root, "store")); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(root, "store")); err != nil {
		t.Fatal(err)
	}
	second := digest(t, New(t, root).Dir)
	if !maps.Equal(first, second) {
		for p, v := range first {
			if second[p] != v {
				t.Errorf("%s: %s then %s", p, v, second[p])
			}
		}
		t.Errorf("second build differs (%d vs %d entries)", len(first), len(second))
	}
}

// TestNewCleanup checks that the t.TempDir holding a read-only store is
// removed at the end of the test that made it.
func TestNewCleanup(t *testing.T) {
	var root string
	t.Run("build", func(t *testing.T) {
		root = t.TempDir()
		New(t, root)
	})
	if _, err := os.Lstat(root); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still exists after its test: %v", root, err)
	}
}

func TestBuildErrors(t *testing.T) {
	if _, err := Build("relative"); err == nil {
		t.Error("Build accepted a relative root")
	}
	root := t.TempDir()
	New(t, root)
	if _, err := Build(root); err == nil {
		t.Error("Build over an existing store succeeded")
	}
}
