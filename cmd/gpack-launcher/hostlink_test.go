package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/teststore"
)

// TestHostLinkIntoStore does, from the store's shell and with the host's
// tools, what users do with symlinks outside the store that lead into it
// (issue 17): the issue's own case (ln -s a store program into the working
// directory and run the link), a command found in PATH through a relative
// link to such a link, a link to a store link, a link to a store directory
// read, listed, tested and entered (pwd, pwd -P, .. from there), readlink,
// realpath, find -L, stat -L, and a venv's layout: bin/sh a link to the
// store's interpreter, and a console script whose #! names that link. The
// program must see what it sees where the store is at its path, which the
// test runs first as the reference. The hostlink tracee covers each system
// call family one by one (TestRun).
func TestHostLinkIntoStore(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin", "hello")
	share := filepath.Join(p.store.Path("noref"), "share")
	// The working directory is a directory of p.base.
	relHello := "../" + strings.TrimPrefix(hello, p.base+"/")
	script := `set -u
W=$PWD
ln -s '` + hello + `' h && ./h issue
"$W/h" absolute
ln -s '` + relHello + `' relh && ./relh relative
mkdir bin && ln -s ../h bin/tool && PATH="$W/bin:$PATH" tool via-path
ln -s '` + filepath.Join(p.store.Path("profile"), "bin", "hello") + `' p && ./p profile
ln -s '` + share + `' d && ln -s d d2
cat d/data.txt d2/data.txt
ls d
[ -d d ] && echo "d is a directory"
[ -L d ] && echo "d is a link"
[ -x h ] && echo "h is executable"
[ -e bin/tool ] && echo "bin/tool exists"
readlink h d2 bin/tool
realpath h bin/tool d2
stat -L -c '%F %a %s' h d2/data.txt | sed 's/^regular file 555 [0-9]*$/regular file 555/'
find -L . -name data.txt | sort
cd d2 && pwd && pwd -P && cat data.txt && ls ../share && cd .. && pwd -P
cd "$W"
mkdir -p venv/bin && ln -s '` + filepath.Join(p.store.Path("dash"), "bin", "sh") + `' venv/bin/sh
printf '#!%s\necho "venv script: $0 $1"\n' "$W/venv/bin/sh" > venv/bin/tool && chmod +x venv/bin/tool
venv/bin/tool arg
PATH="$W/venv/bin:$PATH" tool path
"$W/venv/bin/sh" -c 'echo "venv sh: $#"' x
rm h relh p d d2 && rm -r bin venv && ls -A
`
	// What the program sees where the store is at its path. The working
	// directory differs from run to run: $W stands for it.
	normal := func(r result) string { return strings.ReplaceAll(r.stdout, r.dir, "$W") }
	ref := p.run(t, invocation{visible: true, args: []string{"bin/sh", "-c", script}})
	if ref.status != 0 || ref.stderr != "" {
		t.Fatalf("with the store at its path: status %d, stdout:\n%s\nstderr:\n%s", ref.status, ref.stdout, ref.stderr)
	}
	want := normal(ref)
	for _, l := range []string{"hello from the store: greetings from libgreet\nissue\n", "venv script: venv/bin/tool arg\n",
		"venv script: $W/venv/bin/tool path\n", share + "\n"} {
		if !strings.Contains(want, l) {
			t.Fatalf("the reference output lacks %q:\n%s", l, want)
		}
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				r := p.run(t, invocation{engine: engine, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					args: []string{"bin/sh", "-c", script}})
				if got := normal(r); r.status != 0 || got != want || r.stderr != "" {
					t.Errorf("status %d, stderr:\n%s\nstdout differs from the store's at its path (-want +got):\n%s",
						r.status, r.stderr, lineDiff(want, got))
				}
			})
		}
	})
}

// TestHostLinkWrites changes the store through links outside it: a file
// and a directory made in a store directory through a link to it, a store
// file truncated through a link to it. The store is read-only under both
// engines, whatever path reaches it; the links themselves are the host's,
// and go as on the host.
func TestHostLinkWrites(t *testing.T) {
	p := testPack(t)
	share := filepath.Join(p.store.Path("noref"), "share")
	script := `ln -s '` + share + `' d && ln -s d/data.txt f
touch d/new 2>&1
mkdir d/dir 2>&1
truncate -s 0 f 2>&1
mv f g && readlink g && rm g d && ls -A
`
	want := "touch: cannot touch 'd/new': Read-only file system\n" +
		"mkdir: cannot create directory 'd/dir': Read-only file system\n" +
		// The permission check comes before the mount's, as the
		// kernel makes them (the file is 0444).
		"truncate: cannot open 'f' for writing: Permission denied\n" +
		"d/data.txt\n"
	packShare := filepath.Join(p.root, share)
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				r := p.run(t, invocation{engine: engine, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					args: []string{"bin/sh", "-c", script}})
				if r.status != 0 || r.stdout != want || r.stderr != "" {
					t.Errorf("status %d, stdout %q, stderr %q; want 0, %q and nothing", r.status, r.stdout, r.stderr, want)
				}
				checkEmpty(t, r.dir)
				for _, name := range []string{"new", "dir"} {
					if _, err := os.Lstat(filepath.Join(packShare, name)); err == nil {
						t.Errorf("%s was made in the pack's store", filepath.Join(packShare, name))
					}
				}
				if b, err := os.ReadFile(filepath.Join(packShare, "data.txt")); err != nil || len(b) == 0 {
					t.Errorf("the pack's data.txt: %q, %v", b, err)
				}
			})
		}
	})
}

// TestHostLinkMadeLater looks a name up before the program makes it a link
// into the store, so that the ptrace engine has learnt that it is missing or
// plain (a directory), then uses it: made with symlink (ln -s), moved over
// the name with rename (mv), made a hard link to a symlink with link
// (ln -P), and made a link where a directory was (rmdir, then ln -s). The
// engine must not go on believing what it learnt: each of those calls
// drops it.
func TestHostLinkMadeLater(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin", "hello")
	share := filepath.Join(p.store.Path("noref"), "share")
	script := `H='` + hello + `'
[ -e h ] || echo "h missing"
ln -s "$H" h && ./h symlink
ln -s "$H" tmp && [ -e m ] || echo "m missing"
mv tmp m && ./m rename
ln -s "$H" a && [ -e b ] || echo "b missing"
ln -P a b && ./b link
mkdir x && [ -d x ] && [ -e x/data.txt ] || echo "x/data.txt missing"
rmdir x && ln -s '` + share + `' x && cat x/data.txt
rm h m a b x && ls -A
`
	want := "h missing\n" + teststore.Greeting + "symlink\n" +
		"m missing\n" + teststore.Greeting + "rename\n" +
		"b missing\n" + teststore.Greeting + "link\n" +
		"x/data.txt missing\nplain data that names no store item\n"
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				r := p.run(t, invocation{engine: engine, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					args: []string{"bin/sh", "-c", script}})
				if r.status != 0 || r.stdout != want || r.stderr != "" {
					t.Errorf("status %d, stderr %q, stdout (-want +got):\n%s", r.status, r.stderr, lineDiff(want, r.stdout))
				}
			})
		}
	})
}

// TestHostLinkToOtherPack runs, from a traced program, another pack's
// wrapper through a host link (~/bin/tool -> PACK/bin/tool): the ptrace
// engine must add that pack's store to the view, as it does when the
// wrapper is run by its own path, since a traced launcher cannot trace.
func TestHostLinkToOtherPack(t *testing.T) {
	p := testPack(t)
	const script = `ln -s "$OTHER/bin/hello" h && mkdir bin && ln -s ../h bin/tool && ./h link && PATH="$PWD/bin:$PATH" tool chain
rm -r h bin`
	want := teststore.Greeting + "link\n" + teststore.Greeting + "chain\n"
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				r := p.run(t, invocation{engine: engine, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					args: []string{"bin/sh", "-c", script}})
				if r.status != 0 || r.stdout != want || r.stderr != "" {
					t.Errorf("status %d, stdout %q, stderr %q; want 0, %q and nothing", r.status, r.stdout, r.stderr, want)
				}
			})
		}
	})
}
