package main

import (
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/internal/teststore"
	"github.com/gpack/gpack/launcher/relocate"
)

// relocBase is where the relocation tests keep their packs: outside /tmp,
// which TestRelocateNodes replaces per "node".
var relocBase struct {
	once sync.Once
	dir  string
	err  error
}

// userPack returns a fresh copy of the fixture pack owned by uid, as a
// user's own extracted pack is, outside /tmp. Its relocation link, if a
// test makes one, is removed at the end.
func (p *pack) userPack(t *testing.T, uid int) string {
	t.Helper()
	relocBase.once.Do(func() {
		relocBase.dir, relocBase.err = os.MkdirTemp("/var/tmp", "gpr")
		if relocBase.err == nil {
			relocBase.err = os.Chmod(relocBase.dir, 0o755)
		}
	})
	if relocBase.err != nil {
		t.Fatal(relocBase.err)
	}
	dir, err := os.MkdirTemp(relocBase.dir, "pack")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	root := filepath.Join(dir, "root")
	if out, err := exec.Command("cp", "-a", p.root, root).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	if out, err := exec.Command("chown", "-R", strconv.Itoa(uid)+":"+strconv.Itoa(uid), root).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
	t.Cleanup(func() {
		if link := relocLink(root); link != "" {
			os.Remove(link)
		}
		exec.Command("chmod", "-R", "u+w", dir).Run()
		os.RemoveAll(dir)
	})
	return root
}

// relocState returns the pack's relocation state, or nil.
func relocState(root string) *relocate.State {
	b, err := os.ReadFile(filepath.Join(root, relocate.StateDir, "state"))
	if err != nil {
		return nil
	}
	st, err := relocate.ParseState(b)
	if err != nil {
		return nil
	}
	return st
}

func relocLink(root string) string {
	if st := relocState(root); st != nil {
		return strings.TrimRight(st.Prefix, "/")
	}
	return ""
}

// fileInfo is what relocation must keep of a file: its mode, owner, size
// and mtime, and a symlink's target with the store replaced.
type fileInfo struct {
	mode         fs.FileMode
	uid          uint32
	size         int64
	atime, mtime int64
	target       string
}

// listStore lists the pack's copy of store; in symlink targets, from is
// replaced by to.
func listStore(t *testing.T, root, store, from, to string) map[string]fileInfo {
	t.Helper()
	m := map[string]fileInfo{}
	err := filepath.WalkDir(root+store, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := os.Lstat(path)
		if err != nil {
			return err
		}
		st := fi.Sys().(*syscall.Stat_t)
		// Not the atime: reading a file may change it, and the
		// relocation reads them all, as cat would.
		info := fileInfo{mode: fi.Mode(), uid: st.Uid, size: fi.Size(), mtime: st.Mtim.Nano()}
		if fi.Mode()&fs.ModeSymlink != 0 {
			l, err := os.Readlink(path)
			if err != nil {
				return err
			}
			info.target = strings.ReplaceAll(l, from, to)
			info.size = 0
		}
		m[path] = info
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// storeRefs counts the references to the pack's items by their store
// path left in its files and symlinks.
func storeRefs(t *testing.T, root, store string) int {
	t.Helper()
	entries, err := os.ReadDir(root + store)
	if err != nil {
		t.Fatal(err)
	}
	var items []string
	for _, e := range entries {
		items = append(items, e.Name())
	}
	sc := relocate.NewScanner(store, items)
	n := 0
	filepath.WalkDir(root+store, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		var b []byte
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			l, _ := os.Readlink(path)
			b = []byte(l)
		case d.Type().IsRegular():
			b, _ = os.ReadFile(path)
		default:
			return nil
		}
		n += len(sc.Find(b, len(b), 0, nil))
		return nil
	})
	return n
}

// relocated is the expected output of a tracee after relocation: the
// store's paths that the program found in its own files name the prefix.
func relocated(s, store, prefix string) string {
	return strings.ReplaceAll(s, store+"/", prefix+"/")
}

// TestRelocate runs the wrappers through the relocate engine where user
// namespaces are really off, as an ordinary user who owns the pack: the
// first run rewrites the pack's references to the prefix, keeping every
// file's mode and times, and the programs then run natively.
func TestRelocate(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	for _, engine := range []string{"relocate", "auto"} {
		t.Run(engine, func(t *testing.T) {
			root := p.userPack(t, testUID)
			before := listStore(t, root, p.store.Dir, "", "")
			if n := storeRefs(t, root, p.store.Dir); n == 0 {
				t.Fatal("the fresh pack has no store references: nothing to test")
			}
			inv := invocation{engine: engine, root: root, usernsOff: true, args: []string{"bin/hello", "first"},
				env: []string{"GPACK_DEBUG=1"}}
			r := p.run(t, inv)
			st := relocState(root)
			if r.status != 0 || r.stdout != greeting+"first\n" || st == nil || !st.Complete {
				t.Fatalf("status %d, stdout %q, state %+v, stderr:\n%s", r.status, r.stdout, st, r.stderr)
			}
			link := strings.TrimRight(st.Prefix, "/")
			lines := strings.Split(r.stderr, "\n")
			if want := "gpack-launcher: engine relocate: running " + st.Prefix + strings.TrimPrefix(hello, p.store.Dir); !contains(lines, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
			if !strings.Contains(r.stderr, "gpack-launcher: relocate: rewrote ") {
				t.Errorf("stderr does not say what was rewritten:\n%s", r.stderr)
			}
			if n := storeRefs(t, root, p.store.Dir); n != 0 {
				t.Errorf("%d references to the store are left in the pack", n)
			}
			after := listStore(t, root, p.store.Dir, st.Prefix, p.store.Dir)
			for path, b := range before {
				if a, ok := after[path]; !ok || a != b {
					t.Errorf("%s: %+v before, %+v after relocation", path, b, a)
				}
			}
			if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 ||
				fi.Sys().(*syscall.Stat_t).Uid != testUID {
				t.Errorf("the link %s: %v %v", link, fi, err)
			}

			// Later runs: nothing more to rewrite.
			inv.args = []string{"bin/hello", "again"}
			r = p.run(t, inv)
			if r.status != 0 || r.stdout != greeting+"again\n" || strings.Contains(r.stderr, "rewrote") {
				t.Errorf("second run: status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
			}

			cases := []runCase{
				{name: "script with a store shebang", inv: invocation{args: []string{"bin/greet-script", "x"}},
					stdout: greeting + "x\n"},
				{name: "program that execs a store program by absolute path",
					inv: invocation{args: []string{"bin/execer", "y"}}, stdout: greeting + "y\n"},
				{name: "exit 3", inv: invocation{args: []string{"bin/hello"}, env: []string{"HELLO_EXIT=3"}},
					stdout: greeting, status: 3},
				{name: "killed by SIGTERM", inv: invocation{args: []string{"bin/sh", "-c", "kill -TERM $$"}},
					status: 128 + int(syscall.SIGTERM)},
				{name: "stdin piped through",
					inv:    invocation{args: []string{"bin/sh", "-c", "read x; echo got $x"}, stdin: "data\n"},
					stdout: "got data\n"},
				{name: "working directory kept", inv: invocation{args: []string{"bin/sh", "-c", "pwd"}},
					stdout: teststore.WorkDir + "\n"},
				{name: "argv[0] kept as typed", inv: invocation{args: []string{"bin/sh", "-c", `echo "$0"`}},
					stdout: filepath.Join(root, "bin/sh") + "\n"},
				{name: "nested call", inv: invocation{args: []string{"bin/sh", "-c", `"$ROOT"/bin/hello nested`}},
					stdout: greeting + "nested\n"},
			}
			for _, tr := range p.tracees {
				switch tr.Name {
				case "threads", "selfexe", "selfexe-link", "cwd", "pipeline", "newsys", "gostatic", "godynamic", "hostlink":
					// threads hashes its own binary, which relocation
					// changed; the others print real paths (the
					// pack's, behind the link) or name the store
					// directory itself (hostlink links to it):
					// TestRelocateTracees has them.
					continue
				}
				cases = append(cases, runCase{name: "tracee " + tr.Name,
					inv:    invocation{args: append([]string{"bin/" + tr.Name}, tr.Args...)},
					stdout: relocated(strings.ReplaceAll(tr.Stdout, teststore.Argv0, filepath.Join(root, "bin", tr.Name)), p.store.Dir, st.Prefix)})
			}
			for _, tc := range cases {
				tc.inv.engine, tc.inv.root, tc.inv.usernsOff = engine, root, true
				tc.run(t, p)
			}
		})
	}
}

// TestRelocateTracees checks, under relocation, the tracees whose output
// differs from a run at the store path: a program sees the pack's real
// paths where the kernel resolves the prefix's link (getcwd, realpath,
// /proc/self/exe), and the prefix where it reads its own files.
func TestRelocateTracees(t *testing.T) {
	p := testPack(t)
	root := p.userPack(t, testUID)
	run := func(t *testing.T, args ...string) string {
		t.Helper()
		r := p.run(t, invocation{engine: "relocate", root: root, usernsOff: true, args: args})
		if r.status != 0 {
			t.Fatalf("%v: status %d, stdout %q, stderr:\n%s", args, r.status, r.stdout, r.stderr)
		}
		return r.stdout
	}
	run(t, "bin/hello")
	st := relocState(root)
	real, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	selfexe := real + filepath.Join(p.store.Path("selfexe"), "bin/selfexe")
	if got, want := run(t, "bin/selfexe"), "/proc/self/exe: "+selfexe+"\n/proc/PID/exe: "+selfexe+
		"\nargv[0]: "+filepath.Join(root, "bin/selfexe")+"\n"; got != want {
		t.Errorf("selfexe printed\n%s\nwant\n%s", got, want)
	}
	if got := run(t, "bin/threads"); !strings.HasPrefix(got, "threads ok 8 threads 100 rounds") {
		t.Errorf("threads printed %q", got)
	}
	share := real + filepath.Join(p.store.Path("noref"), "share")
	if got := run(t, "bin/cwd"); !strings.HasPrefix(got, "getcwd: "+share+"\n") || !strings.Contains(got, "data.txt: ") {
		t.Errorf("cwd printed\n%s", got)
	}
	for _, g := range []string{"gostatic", "godynamic"} {
		exe := real + filepath.Join(p.store.Path(g), "bin", g)
		if got := run(t, "bin/"+g); !strings.Contains(got, "executable: "+exe+"\n") ||
			strings.Count(got, greeting) != 4 {
			t.Errorf("%s printed\n%s", g, got)
		}
	}
	// hostlink goes through host symlinks into the store: those that it
	// makes to items work natively; its link to the store directory
	// itself leads nowhere, as without the launcher.
	for _, tr := range p.tracees {
		if tr.Name != "hostlink" {
			continue
		}
		got := run(t, append([]string{"bin/hostlink"}, tr.Args...)...)
		for _, l := range []string{"stat abs: reg 0555", "stat chain1: reg 0555", "exec abs: exit 0", "exec chain1: exit 0",
			"exec script: exit 0", "stat store/.../data.txt: ENOENT"} {
			if !strings.Contains(got, l+"\n") {
				t.Errorf("hostlink did not print %q:\n%s", l, got)
			}
		}
	}
	// newsys opens store paths it was built with: the prefix now. It
	// also opens the store directory itself, named alone, which no
	// rewrite changes (relocation rewrites references to items only):
	// that, and only that, is missing.
	for _, l := range strings.Split(strings.TrimSpace(run(t, "bin/newsys")), "\n") {
		if strings.Contains(l, "ENOENT") != strings.Contains(l, "storefd") {
			t.Errorf("newsys printed %q", l)
		}
	}
	if st == nil || !st.Complete {
		t.Fatalf("state %+v", st)
	}
	// gzref names hello only inside gzip'ed data, out of any rewrite's
	// reach: the state counts it, and a failing program hears of it.
	if st.Compressed == 0 || !strings.HasSuffix(st.FirstCompressed, "/share/doc.gz") {
		t.Errorf("the state counts %d compressed files, first %q", st.Compressed, st.FirstCompressed)
	}
	r := p.run(t, invocation{engine: "relocate", root: root, usernsOff: true, args: []string{"bin/hello"},
		env: []string{"HELLO_EXIT=3", "GPACK_DEBUG=1"}})
	if r.status != 3 || !strings.Contains(r.stderr, "relocation could not rewrite it: the pack has ") {
		t.Errorf("status %d, stderr:\n%s", r.status, r.stderr)
	}
}

// TestRelocateConcurrent starts 64 launchers at once on a fresh pack: one
// rewrites it, the others wait for it, and every one runs its program.
func TestRelocateConcurrent(t *testing.T) {
	p := testPack(t)
	root := p.userPack(t, testUID)
	const n = 64
	var wg sync.WaitGroup
	results := make([]result, n)
	for i := range n {
		wg.Go(func() {
			results[i] = p.run(t, invocation{engine: "relocate", root: root, usernsOff: true,
				args: []string{"bin/hello", strconv.Itoa(i)}, env: []string{"GPACK_DEBUG=1"}})
		})
	}
	wg.Wait()
	rewrote := 0
	for i, r := range results {
		if r.status != 0 || r.stdout != greeting+strconv.Itoa(i)+"\n" {
			t.Errorf("run %d: status %d, stdout %q, stderr:\n%s", i, r.status, r.stdout, r.stderr)
		}
		if strings.Contains(r.stderr, "relocate: rewrote") {
			rewrote++
		}
	}
	if rewrote != 1 {
		t.Errorf("%d runs rewrote the pack, want 1", rewrote)
	}
	if st := relocState(root); st == nil || !st.Complete {
		t.Errorf("state %+v", st)
	}
}

// TestRelocateCrash kills the launcher while it rewrites a pack made large
// enough to take a while: the next run completes the relocation, and every
// file ends with its mode and times, as if nothing had happened.
func TestRelocateCrash(t *testing.T) {
	p := testPack(t)
	for attempt := 1; ; attempt++ {
		root := p.userPack(t, testUID)
		bulk(t, root, p.store.Dir, filepath.Join(p.store.Path("hello"), "bin/hello"))
		before := listStore(t, root, p.store.Dir, "", "")
		inv := invocation{engine: "relocate", root: root, usernsOff: true, args: []string{"bin/hello"}}
		cmd, tmpdir, cancel := p.command(t, &inv)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		journal := filepath.Join(root, relocate.StateDir, "journal")
		for {
			if fi, err := os.Stat(journal); err == nil && fi.Size() > 0 {
				break
			}
			if cmd.ProcessState != nil {
				break
			}
			time.Sleep(200 * time.Microsecond)
		}
		// The whole chain dies at once, as on a node that goes down.
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		cancel()
		checkEmpty(t, tmpdir)
		st := relocState(root)
		if st == nil || st.Complete {
			if attempt < 3 {
				t.Logf("attempt %d: the relocation was over before the kill; again", attempt)
				continue
			}
			t.Fatalf("the relocation finished before the kill, three times: state %+v", st)
		}
		r := p.run(t, invocation{engine: "relocate", root: root, usernsOff: true, args: []string{"bin/hello"},
			env: []string{"GPACK_DEBUG=1"}})
		if r.status != 0 || r.stdout != greeting {
			t.Fatalf("after the crash: status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
		}
		if !strings.Contains(r.stderr, "relocation lock is stale") {
			t.Errorf("the run after the crash did not take the stale lock over:\n%s", r.stderr)
		}
		if st := relocState(root); st == nil || !st.Complete {
			t.Fatalf("state %+v", st)
		}
		if n := storeRefs(t, root, p.store.Dir); n != 0 {
			t.Errorf("%d references to the store are left", n)
		}
		after := listStore(t, root, p.store.Dir, relocState(root).Prefix, p.store.Dir)
		for path, b := range before {
			if a := after[path]; a != b {
				t.Errorf("%s: %+v before, %+v after", path, b, a)
			}
		}
		if _, err := os.Stat(journal); err == nil {
			t.Error("the journal is left")
		}
		return
	}
}

// bulk adds an item of many read-only files that name ref, so that a
// relocation takes long enough to be killed in the middle.
func bulk(t *testing.T, root, store, ref string) {
	t.Helper()
	item := root + store + "/" + teststore.Hash("bulk") + "-bulk"
	if err := os.Chmod(root+store, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(item, 0o755); err != nil {
		t.Fatal(err)
	}
	pad := bytes.Repeat([]byte("x"), 64<<10)
	for i := range 3000 {
		data := append(append([]byte{}, pad...), ref+"\n"...)
		if err := os.WriteFile(filepath.Join(item, "f"+strconv.Itoa(i)), data, 0o444); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{item, root + store} {
		if err := os.Chmod(d, 0o555); err != nil {
			t.Fatal(err)
		}
	}
	if out, err := exec.Command("chown", "-R", strconv.Itoa(testUID), item).CombinedOutput(); err != nil {
		t.Fatalf("chown: %v\n%s", err, out)
	}
}

// TestRelocateNodes runs one pack directory on two "nodes" with a /tmp of
// their own each, as a cluster's shared file system and per-node /tmp
// give: each node gets its own link.
func TestRelocateNodes(t *testing.T) {
	p := testPack(t)
	root := p.userPack(t, testUID)
	work := filepath.Dir(root)
	for node := range 2 {
		r := p.run(t, invocation{engine: "relocate", root: root, usernsOff: true, privateTmp: true, dir: work,
			args: []string{"bin/sh", "-c", `"$ROOT"/bin/hello node` + strconv.Itoa(node) + `; ls -l /tmp`}})
		if r.status != 0 || !strings.HasPrefix(r.stdout, greeting+"node"+strconv.Itoa(node)+"\n") {
			t.Errorf("node %d: status %d, stdout %q, stderr:\n%s", node, r.status, r.stdout, r.stderr)
		}
		if link := relocLink(root); !strings.Contains(r.stdout, filepath.Base(link)+" -> ") {
			t.Errorf("node %d: its /tmp lacks the link %s:\n%s", node, link, r.stdout)
		}
	}
	if relocLink(root) != "" {
		if _, err := os.Lstat(relocLink(root)); err == nil {
			t.Errorf("the nodes' link reached the host's /tmp")
		}
	}
}

// TestRelocateTaken: another user holds the prefix's link, pointing at a
// store of their own whose hello says so. The relocate engine refuses it,
// the ptrace engine runs instead, and nothing of theirs is loaded: neither
// for a fresh pack, nor for one relocated on another node.
func TestRelocateTaken(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	evil := p.userDir(t, "evil", otherUID)
	evilItem := filepath.Join(evil, filepath.Base(p.store.Path("hello")), "bin")
	os.MkdirAll(evilItem, 0o755)
	os.WriteFile(filepath.Join(evilItem, "hello"), []byte("#!/bin/sh\necho EVIL\n"), 0o755)
	exec.Command("chown", "-R", strconv.Itoa(otherUID), evil).Run()

	root := p.userPack(t, testUID)
	// The relocated pack first, on a node of its own.
	r := p.run(t, invocation{engine: "relocate", root: root, usernsOff: true, privateTmp: true, dir: filepath.Dir(root),
		args: []string{"bin/hello"}})
	if r.status != 0 || relocState(root) == nil {
		t.Fatalf("relocating: status %d, stderr:\n%s", r.status, r.stderr)
	}
	link := relocLink(root)
	fresh := p.userPack(t, testUID)
	freshLink, _, err := relocate.Prefix(p.store.Dir, testUID, itemNames(t, fresh+p.store.Dir))
	if err != nil {
		t.Fatal(err)
	}
	freshLink = strings.TrimRight(freshLink, "/")
	for _, l := range []string{link, freshLink} {
		os.Remove(l)
		if err := os.Symlink(evil, l); err != nil {
			t.Fatal(err)
		}
		if err := os.Lchown(l, otherUID, otherUID); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(l) })
	}
	for _, c := range []struct{ name, root string }{{"fresh pack", fresh}, {"relocated pack", root}} {
		t.Run(c.name, func(t *testing.T) {
			r := p.run(t, invocation{root: c.root, usernsOff: true, args: []string{"bin/hello"}, env: []string{"GPACK_DEBUG=1"}})
			if r.status != 0 || r.stdout != greeting || strings.Contains(r.stdout, "EVIL") {
				t.Errorf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
			}
			if !contains(strings.Split(r.stderr, "\n"), running("ptrace", hello)) || !strings.Contains(r.stderr, "belongs to user "+strconv.Itoa(otherUID)) {
				t.Errorf("the ptrace engine did not run, or no line says why:\n%s", r.stderr)
			}
		})
	}
	if st := relocState(fresh); st != nil {
		t.Errorf("the fresh pack was relocated to a link it does not own: %+v", st)
	}
}

func itemNames(t *testing.T, store string) []string {
	t.Helper()
	entries, err := os.ReadDir(store)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// TestRelocateReadOnly: a pack the user cannot write (another user's, as a
// shared install is) is not relocated: the ptrace engine runs it, and
// nothing is left in /tmp.
func TestRelocateReadOnly(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	root := p.userPack(t, 0)
	r := p.run(t, invocation{root: root, usernsOff: true, args: []string{"bin/hello"}, env: []string{"GPACK_DEBUG=1"}})
	if r.status != 0 || r.stdout != greeting || !contains(strings.Split(r.stderr, "\n"), running("ptrace", hello)) ||
		!strings.Contains(r.stderr, "engine relocate: failed: the pack cannot be written") {
		t.Errorf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
	}
	link, _, _ := relocate.Prefix(p.store.Dir, testUID, itemNames(t, root+p.store.Dir))
	if _, err := os.Lstat(strings.TrimRight(link, "/")); err == nil {
		t.Errorf("%s was made for a pack that cannot be relocated", link)
	}
}

// TestRelocateMoved moves a relocated pack: it still runs, its link now
// leading to the new place.
func TestRelocateMoved(t *testing.T) {
	p := testPack(t)
	root := p.userPack(t, testUID)
	r := p.run(t, invocation{engine: "relocate", root: root, usernsOff: true, args: []string{"bin/hello"}})
	if r.status != 0 {
		t.Fatalf("status %d, stderr:\n%s", r.status, r.stderr)
	}
	moved := root + "-moved"
	if err := os.Rename(root, moved); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Rename(moved, root) })
	r = p.run(t, invocation{engine: "relocate", root: moved, usernsOff: true, args: []string{"bin/hello", "moved"}})
	if r.status != 0 || r.stdout != greeting+"moved\n" {
		t.Errorf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
	}
	target, err := os.Readlink(relocLink(moved))
	if err != nil || !strings.HasPrefix(target, moved) {
		t.Errorf("the link leads to %q (%v), want the moved pack", target, err)
	}
	// A copy of it runs too, and then the original again: the link
	// follows whichever ran last, and both hold the same files.
	copied := root + "-copy"
	if out, err := exec.Command("cp", "-a", moved, copied).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("chmod", "-R", "u+w", copied).Run(); os.RemoveAll(copied) })
	for _, r := range []string{copied, moved} {
		res := p.run(t, invocation{engine: "relocate", root: r, usernsOff: true, args: []string{"bin/hello", "copy"}})
		target, _ := os.Readlink(relocLink(r))
		if res.status != 0 || res.stdout != greeting+"copy\n" || !strings.HasPrefix(target, r+"/") {
			t.Errorf("%s: status %d, stdout %q, link to %q, stderr:\n%s", r, res.status, res.stdout, target, res.stderr)
		}
	}
}
