package main

import (
	"bufio"
	"context"
	"debug/elf"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/internal/teststore"
	"github.com/gpack/gpack/launcher/contract"
)

// testUID is the ordinary user the launcher runs as: nobody, which owns
// nothing on the host. otherUID is a user that is not the kernel's overflow
// id (65534), so that "id -u" inside a namespace proves the identity map:
// with no mapping at all, nobody would show as 65534 anyway.
const (
	testUID  = 65534
	otherUID = 4242
)

// maxLauncherSize is the budget for the launcher, which every pack carries.
const maxLauncherSize = 3 << 20

// launcherBin is the launcher built by TestMain the way build.sh builds it.
var launcherBin string

func TestMain(m *testing.M) {
	if mode := os.Getenv(seccompVar); mode != "" {
		seccompHelper(mode)
	}
	if mode := os.Getenv(stateVar); mode != "" {
		stateHelper(mode)
	}
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	dir, err := os.MkdirTemp("", "gpack-launcher-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	launcherBin = filepath.Join(dir, "gpack-launcher")
	cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w -E=_gpack_launcher_entry", "-o", launcherBin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the launcher: %v\n%s", err, out)
		return 1
	}
	code := m.Run()
	if fixture.p != nil {
		fixture.p.remove()
	}
	return code
}

func TestLauncherBinary(t *testing.T) {
	info, err := os.Stat(launcherBin)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("launcher: %d bytes (%.2f MiB)", info.Size(), float64(info.Size())/(1<<20))
	if info.Size() > maxLauncherSize {
		t.Errorf("the launcher is %d bytes, over the budget of %d", info.Size(), maxLauncherSize)
	}
	f, err := elf.Open(launcherBin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the launcher has a %v program header: it must be static to run on any host", p.Type)
		}
	}
}

// pack is the hand-built fixture: a synthetic store and two packs of it, and
// a pack of a second store at another path, for a pack that runs another.
type pack struct {
	base    string             // everything lives here; 0755 so that testUID can reach it
	store   *teststore.Store   // the original store, hidden on "the target machine"
	tracees []teststore.Tracee // store's, each with a wrapper in every pack
	root    string             // a pack with .gpack/root
	bare    string             // the same pack without .gpack/root
	store2  *teststore.Store   // another store, hidden too
	other   string             // a pack of store2
}

var fixture struct {
	once sync.Once
	p    *pack
	err  error
}

// programs are wrappers of the fixture packs: name → item, path in it.
// "missing" names a file the pack lacks, to reach execve's ENOENT inside the
// namespace. The packs also have a wrapper for each tracee of the store (see
// wrappers).
var programs = map[string][2]string{
	"hello":        {"hello", "bin/hello"},
	"greet-script": {"script", "bin/greet-script"},
	"execer":       {"execer", "bin/execer"},
	"sh":           {"dash", "bin/sh"},
	"missing":      {"hello", "bin/missing"},
	"startstate":   {"startstate", "bin/startstate"},
	"badinterp":    {"badinterp", "bin/badinterp"},
	"badshebang":   {"badshebang", "bin/badshebang"},
}

func requireRoot(t *testing.T) {
	t.Helper()
	// The tests hide the store in mount namespaces and run as other users.
	need.Root(t)
	for _, tool := range [][2]string{{"unshare", "util-linux"}, {"setpriv", "util-linux"}, {"gcc", "gcc"}, {"patchelf", "patchelf"}} {
		need.Tool(t, tool[0], tool[1])
	}
}

func testPack(t *testing.T) *pack {
	t.Helper()
	requireRoot(t)
	fixture.once.Do(func() { fixture.p, fixture.err = buildPack() })
	if fixture.err != nil {
		t.Fatal(fixture.err)
	}
	return fixture.p
}

func buildPack() (*pack, error) {
	// A short base keeps the store's shebangs well under the kernel's limit.
	base, err := os.MkdirTemp("", "gpl")
	if err != nil {
		return nil, err
	}
	p := &pack{base: base, root: filepath.Join(base, "pack"), bare: filepath.Join(base, "bare"),
		other: filepath.Join(base, "other")}
	if err := os.Chmod(base, 0o755); err != nil {
		return p, err
	}
	for _, s := range []struct {
		dir   string
		store **teststore.Store
	}{{"s", &p.store}, {"t", &p.store2}} {
		if err := os.Mkdir(filepath.Join(base, s.dir), 0o755); err != nil {
			return p, err
		}
		if *s.store, err = teststore.Build(filepath.Join(base, s.dir)); err != nil {
			return p, err
		}
	}
	if p.tracees, err = p.store.Tracees(); err != nil {
		return p, err
	}
	if err := assemble(p.root, p.store, true); err != nil {
		return p, err
	}
	if err := assemble(p.bare, p.store, false); err != nil {
		return p, err
	}
	return p, assemble(p.other, p.store2, true)
}

// assemble lays out a pack of store at root the way the pack writer will.
func assemble(root string, store *teststore.Store, withRootDir bool) error {
	storeCopy := filepath.Join(root, store.Dir)
	if err := os.MkdirAll(filepath.Dir(storeCopy), 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("cp", "-a", store.Dir, filepath.Dir(storeCopy)).CombinedOutput(); err != nil {
		return fmt.Errorf("copying the store: %v\n%s", err, out)
	}
	for _, d := range []string{".gpack", "bin"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			return err
		}
	}
	progs, err := wrappers(store)
	if err != nil {
		return err
	}
	m := &contract.Manifest{Store: store.Dir, Programs: progs}
	f, err := os.OpenFile(filepath.Join(root, contract.ManifestPath), os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o444)
	if err != nil {
		return err
	}
	if _, err := m.WriteTo(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	launcher := filepath.Join(root, contract.LauncherPath)
	data, err := os.ReadFile(launcherBin)
	if err != nil {
		return err
	}
	if err := os.WriteFile(launcher, data, 0o555); err != nil {
		return err
	}
	// "nosuch" is a wrapper the manifest does not list.
	for name := range progs {
		if err := os.Link(launcher, filepath.Join(root, "bin", name)); err != nil {
			return err
		}
	}
	if err := os.Link(launcher, filepath.Join(root, "bin", "nosuch")); err != nil {
		return err
	}
	if withRootDir {
		if err := os.Mkdir(filepath.Join(root, contract.RootDir), 0o555); err != nil {
			return err
		}
	}
	// Read-only like an extracted pack: nothing may need to write here.
	for _, d := range []string{".gpack", "bin"} {
		if err := os.Chmod(filepath.Join(root, d), 0o555); err != nil {
			return err
		}
	}
	return os.Chmod(filepath.Join(root, contract.LauncherPath), 0o555)
}

// wrappers returns the programs of a pack of store by wrapper name: those of
// programs and the store's tracees.
func wrappers(store *teststore.Store) (map[string]string, error) {
	progs := map[string]string{}
	for name, prog := range programs {
		progs[name] = filepath.Join(store.Path(prog[0]), prog[1])
	}
	tracees, err := store.Tracees()
	if err != nil {
		return nil, err
	}
	for _, tr := range tracees {
		if _, dup := progs[tr.Name]; dup {
			return nil, fmt.Errorf("the tracee %s has the name of a wrapper of programs", tr.Name)
		}
		progs[tr.Name] = tr.Program(store)
	}
	return progs, nil
}

func (p *pack) remove() {
	// The store and the packs are read-only; make them writable first.
	filepath.WalkDir(p.base, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(path, 0o755)
		}
		return nil
	})
	os.RemoveAll(p.base)
}

// userDir makes a fresh directory owned by uid.
func (p *pack) userDir(t *testing.T, prefix string, uid int) string {
	t.Helper()
	dir, err := os.MkdirTemp(p.base, prefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// invocation is one run of a command on "the target machine": a mount
// namespace in which the store directory is an empty tmpfs, as an ordinary
// user.
type invocation struct {
	// args is the command. A first element "bin/NAME" is a wrapper of the
	// pack; $ROOT in the environment is the pack root; teststore.WorkDir
	// stands for the working directory.
	args []string
	// engine is the launcher's GPACK_ENGINE; "" leaves it unset.
	engine  string
	env     []string
	stdin   string
	fds     []string // contents of extra files passed as descriptors 3, 4…
	uid     int      // 0 means testUID
	visible bool     // leave the store visible, as on a host that has it
	// wrap runs a visible command through the same mount-namespace shell
	// as a hidden one, so that the two see the same chain of programs
	// (the shell adds PWD and orders the environment its own way).
	wrap bool
	// noStoreDir hides the store's parent instead of the store, as on a
	// host without /nix at all: the store directory does not exist.
	noStoreDir bool
	seccomp    string // install this seccomp filter (seccompVar) first
	// privateTmp gives the command a /tmp of its own, empty, as on
	// another node of a cluster; dir and root must then lie elsewhere.
	privateTmp bool
	// state starts the command in the start state of stateHelper, with
	// these standard descriptors closed ("none" for none).
	state string
	root  string // the pack root; "" means the pack with .gpack/root
	// usernsOff runs the whole chain in a user namespace of its own whose
	// user.max_user_namespaces is 0, which no process below can raise.
	usernsOff bool
	dir       string // the working directory; "" means a fresh one owned by uid
	// timeout kills the command after this long; 0 means two minutes.
	timeout time.Duration
	// writable are directories of a pack's store, made writable by the
	// test, that are bound on themselves in the mount namespace before
	// the command runs. Each is then a mount of its own, which the userns
	// engine's recursive bind of the store carries and its read-only
	// remount (of the store's mount alone) leaves writable.
	writable []string
}

type result struct {
	stdout, stderr string
	status         int // the exit status, or -n when signal n killed it
	dir            string
}

// command builds the command for inv, with its TMPDIR, and a cancel func.
func (p *pack) command(t *testing.T, inv *invocation) (*exec.Cmd, string, context.CancelFunc) {
	t.Helper()
	if inv.uid == 0 {
		inv.uid = testUID
	}
	if inv.root == "" {
		inv.root = p.root
	}
	if inv.dir == "" {
		inv.dir = p.userDir(t, "work", inv.uid)
	}
	tmpdir := p.userDir(t, "tmp", inv.uid)
	args := make([]string, len(inv.args))
	for i, a := range inv.args {
		args[i] = strings.ReplaceAll(a, teststore.WorkDir, inv.dir)
	}
	if strings.HasPrefix(args[0], "bin/") {
		args[0] = filepath.Join(inv.root, args[0])
	}
	uid := strconv.Itoa(inv.uid)
	args = append([]string{"setpriv", "--reuid=" + uid, "--regid=" + uid, "--clear-groups", "--"}, args...)
	if inv.state != "" {
		args = append([]string{os.Args[0]}, args...)
	}
	if inv.seccomp != "" {
		args = append([]string{os.Args[0]}, args...)
	}
	hide := []string{p.store.Dir, p.store2.Dir}
	switch {
	case inv.visible:
		hide = nil
	case inv.noStoreDir:
		hide = []string{filepath.Dir(p.store.Dir), filepath.Dir(p.store2.Dir)}
	}
	if inv.visible && len(inv.writable) > 0 {
		t.Fatal("writable needs a mount namespace: it cannot go with visible")
	}
	script := ""
	for _, dir := range inv.writable {
		script += "mount --bind '" + dir + "' '" + dir + "' && "
	}
	for _, dir := range hide {
		script += "mount -t tmpfs none '" + dir + "' && "
	}
	if inv.privateTmp {
		script += "mount -t tmpfs -o mode=1777 none /tmp && "
		inv.env = append(inv.env, "TMPDIR=/tmp")
	}
	script += `exec "$@"`
	var sys syscall.SysProcAttr
	switch {
	case inv.usernsOff:
		// Root of a new user namespace that maps the first 65536 ids to
		// themselves holds every capability in it, including the
		// CAP_SYS_RESOURCE that writing its user.* sysctls needs.
		args = append([]string{"sh", "-c", "echo 0 > /proc/sys/user/max_user_namespaces && " + script, "sh"}, args...)
		sys.Cloneflags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS
		sys.UidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		sys.GidMappings = []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}}
		sys.GidMappingsEnableSetgroups = true // for setpriv --clear-groups
	case !inv.visible || inv.wrap:
		args = append([]string{"unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"}, args...)
	}
	timeout := inv.timeout
	if timeout == 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = inv.dir
	cmd.Env = append([]string{
		"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C", "HOME=/nonexistent",
		"TMPDIR=" + tmpdir, "ROOT=" + inv.root, "OTHER=" + p.other,
	}, inv.env...)
	if inv.engine != "" {
		cmd.Env = append(cmd.Env, "GPACK_ENGINE="+inv.engine)
	}
	if inv.seccomp != "" {
		cmd.Env = append(cmd.Env, seccompVar+"="+inv.seccomp)
	}
	if inv.state != "" {
		cmd.Env = append(cmd.Env, stateVar+"="+inv.state)
	}
	// A session of its own: no controlling terminal, so the launcher relays
	// every signal, whatever terminal runs go test.
	sys.Setsid = true
	cmd.SysProcAttr = &sys
	if inv.stdin != "" {
		cmd.Stdin = strings.NewReader(inv.stdin)
	}
	for i, content := range inv.fds {
		name := filepath.Join(tmpdir, "..", filepath.Base(tmpdir)+"-fd"+strconv.Itoa(i+3))
		if err := os.WriteFile(name, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		cmd.ExtraFiles = append(cmd.ExtraFiles, f)
	}
	return cmd, tmpdir, cancel
}

// run runs inv and checks what every run must leave: an empty TMPDIR.
func (p *pack) run(t *testing.T, inv invocation) result {
	t.Helper()
	cmd, tmpdir, cancel := p.command(t, &inv)
	defer cancel()
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String(), dir: inv.dir}
	r.status = statusOf(t, cmd, err)
	checkEmpty(t, tmpdir)
	return r
}

func statusOf(t *testing.T, cmd *exec.Cmd, err error) int {
	t.Helper()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("%v: %v", cmd.Args, err)
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		return -int(ws.Signal())
	}
	return ws.ExitStatus()
}

func checkEmpty(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("%s was left in %s", e.Name(), dir)
	}
}

const greeting = teststore.Greeting

// TestStoreHidden checks the test harness itself: on "the target machine"
// the store programs really cannot run without the launcher.
func TestStoreHidden(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin", "hello")
	for _, noStoreDir := range []bool{false, true} {
		r := p.run(t, invocation{args: []string{hello}, noStoreDir: noStoreDir})
		if r.status == 0 || strings.Contains(r.stdout, "hello from the store") {
			t.Errorf("%s ran with the store hidden: status %d, %q", hello, r.status, r.stdout)
		}
		r = p.run(t, invocation{args: []string{"ls", "-A", filepath.Dir(p.store.Dir)}, noStoreDir: noStoreDir})
		want := "store\n"
		if noStoreDir {
			want = ""
		}
		if r.status != 0 || r.stdout != want {
			t.Errorf("the store's parent lists as %q (status %d, %s), want %q", r.stdout, r.status, r.stderr, want)
		}
	}
	// And the copy in the pack is complete: with the store visible it runs.
	r := p.run(t, invocation{args: []string{hello}, visible: true})
	if r.status != 0 || r.stdout != greeting {
		t.Errorf("%s with the store visible: status %d, %q, %q", hello, r.status, r.stdout, r.stderr)
	}
}

// runCase is one row of TestRun.
type runCase struct {
	name      string
	inv       invocation
	status    int
	stdout    string   // exact; teststore.WorkDir is replaced by the working directory
	stderrHas []string // lines expected on stderr; nil means stderr is empty
	stderrNot []string
	check     func(t *testing.T, r result)
}

func (tc runCase) run(t *testing.T, p *pack) {
	t.Run(tc.name, func(t *testing.T) {
		r := p.run(t, tc.inv)
		want := strings.ReplaceAll(tc.stdout, teststore.WorkDir, r.dir)
		if r.status != tc.status || r.stdout != want {
			t.Errorf("status %d, stdout %q; want %d, %q\nstderr:\n%s", r.status, r.stdout, tc.status, want, r.stderr)
		}
		if tc.stderrHas == nil && r.stderr != "" {
			t.Errorf("stderr should be empty:\n%s", r.stderr)
		}
		lines := strings.Split(r.stderr, "\n")
		for _, l := range tc.stderrHas {
			if !contains(lines, l) {
				t.Errorf("stderr lacks the line %q:\n%s", l, r.stderr)
			}
		}
		for _, s := range tc.stderrNot {
			if strings.Contains(r.stderr, s) {
				t.Errorf("stderr mentions %q:\n%s", s, r.stderr)
			}
		}
		if tc.check != nil {
			tc.check(t, r)
		}
	})
}

// TestRun runs the wrappers through each engine on the kinds of target
// machine: one with an empty store directory (the userns engine binds /
// whole), one without the store's parent at all (it mirrors / around the
// store path), and, for the engines that need no user namespace, one where
// user namespaces are really off.
func TestRun(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	forEachEngine(t, func(t *testing.T, engine string) {
		cases := append(runCases(p, engine), traceeCases(p)...)
		for _, host := range []struct {
			name       string
			noStoreDir bool
			usernsOff  bool
			// usernsMode is how the userns engine says it built the root.
			usernsMode string
		}{
			{name: "empty store directory", usernsMode: "gpack-launcher: stage 2: the host has " + p.store.Dir +
				": binding / whole, with the pack's store over " + p.store.Dir},
			{name: "no store directory", noStoreDir: true, usernsMode: "gpack-launcher: stage 2: the host lacks " +
				p.store.Dir + ": mirroring / around the store path"},
			{name: "user namespaces off", usernsOff: true},
		} {
			if host.usernsOff && engine == "userns" {
				continue // TestUsernsOff checks how it fails there.
			}
			t.Run(host.name, func(t *testing.T) {
				r := p.run(t, invocation{engine: engine, args: []string{"bin/hello"}, noStoreDir: host.noStoreDir,
					usernsOff: host.usernsOff, env: []string{"GPACK_DEBUG=1"}})
				want := []string{running(engine, hello)}
				if engine == "userns" {
					want = append(want, host.usernsMode)
				}
				if r.status != 0 || r.stdout != greeting {
					t.Errorf("status %d, stdout %q; want 0 and a greeting; stderr:\n%s", r.status, r.stdout, r.stderr)
				}
				for _, l := range want {
					if !contains(strings.Split(r.stderr, "\n"), l) {
						t.Errorf("stderr lacks the line %q:\n%s", l, r.stderr)
					}
				}
				for _, tc := range cases {
					tc.inv.noStoreDir = host.noStoreDir
					tc.inv.usernsOff = host.usernsOff
					tc.inv.engine = engine
					tc.run(t, p)
				}
			})
		}
	})
}

// runCases are the rows of TestRun for engine, besides the tracees'. They
// expect the same of every engine but the GPACK_DEBUG lines that name it.
func runCases(p *pack, engine string) []runCase {
	return []runCase{
		{name: "dynamic ELF with a store interpreter",
			inv:    invocation{args: []string{"bin/hello", "a", "b c"}},
			stdout: greeting + "a\nb c\n"},
		{name: "script with a store shebang",
			inv:    invocation{args: []string{"bin/greet-script", "x"}},
			stdout: greeting + "x\n"},
		{name: "program that execs a store program by absolute path",
			inv:    invocation{args: []string{"bin/execer", "y"}},
			stdout: greeting + "y\n"},
		{name: "uid nobody and file ownership",
			inv:    invocation{args: []string{"bin/sh", "-c", "id -u; id -g; echo x > created"}},
			stdout: "65534\n65534\n",
			check:  ownedBy(testUID)},
		{name: "uid that is not the overflow id",
			inv:    invocation{args: []string{"bin/sh", "-c", "id -u; id -g; echo x > created"}, uid: otherUID},
			stdout: "4242\n4242\n",
			check:  ownedBy(otherUID)},
		{name: "exit 0", inv: invocation{args: []string{"bin/hello"}, env: []string{"HELLO_EXIT=0"}},
			stdout: greeting},
		{name: "exit 3", inv: invocation{args: []string{"bin/hello"}, env: []string{"HELLO_EXIT=3"}},
			stdout: greeting, status: 3},
		{name: "exit 255", inv: invocation{args: []string{"bin/hello"}, env: []string{"HELLO_EXIT=255"}},
			stdout: greeting, status: 255},
		{name: "killed by SIGTERM", inv: invocation{args: []string{"bin/sh", "-c", "kill -TERM $$"}},
			status: 128 + int(syscall.SIGTERM)},
		{name: "stdin piped through",
			inv:    invocation{args: []string{"bin/sh", "-c", "read x; echo got $x"}, stdin: "data\n"},
			stdout: "got data\n"},
		{name: "nested call takes the direct path",
			inv: invocation{args: []string{"bin/sh", "-c", `"$ROOT"/bin/hello nested`},
				env: []string{"GPACK_DEBUG=1"}},
			stdout: greeting + "nested\n",
			stderrHas: []string{
				running(engine, filepath.Join(p.store.Path("dash"), "bin/sh")),
				"gpack-launcher: direct: " + filepath.Join(p.store.Path("hello"), "bin/hello") +
					" exists here, so it runs without a namespace",
			}},
		{name: "a pack that runs another pack's program",
			inv: invocation{args: []string{"bin/sh", "-c", `"$OTHER"/bin/hello other`},
				env: []string{"GPACK_DEBUG=1"}},
			stdout: greeting + "other\n",
			stderrHas: []string{
				running(engine, filepath.Join(p.store.Path("dash"), "bin/sh")),
				nestedLine(engine, filepath.Join(p.store2.Path("hello"), "bin/hello")),
			}},
		{name: "direct when the store is visible",
			inv:       invocation{args: []string{"bin/hello"}, env: []string{"GPACK_DEBUG=1"}, visible: true},
			stdout:    greeting,
			stderrHas: []string{"gpack-launcher: direct: " + filepath.Join(p.store.Path("hello"), "bin/hello") + " exists here, so it runs without a namespace"},
			stderrNot: []string{"engine"}},
		{name: "descriptors passed through",
			inv: invocation{args: []string{"bin/sh", "-c", "read a <&3; read b <&4; echo $a $b"},
				fds: []string{"three\n", "four\n"}},
			stdout: "three four\n"},
		{name: "working directory kept",
			inv:    invocation{args: []string{"bin/sh", "-c", "pwd"}},
			stdout: teststore.WorkDir + "\n"},
		{name: "argv[0] kept as typed",
			inv:    invocation{args: []string{"bin/sh", "-c", `echo "$0"`}},
			stdout: filepath.Join(p.root, "bin/sh") + "\n"},
		{name: "environment passed, stage marker hidden",
			inv: invocation{
				args: []string{"bin/sh", "-c", `echo "$FOO"; case "$(export -p)" in *GPACK_LAUNCHER*) echo marker visible;; *) echo no marker;; esac`},
				// A stray marker from the user's environment must
				// neither start stage 2 nor reach the program.
				env: []string{"FOO=bar baz", "GPACK_LAUNCHER_STAGE=2"}},
			stdout: "bar baz\nno marker\n"},
		{name: "program missing from the pack",
			inv:       invocation{args: []string{"bin/missing"}},
			status:    127,
			stderrHas: []string{"gpack-launcher: cannot execute " + filepath.Join(p.store.Path("hello"), "bin/missing") + ": no such file or directory"}},
		{name: "pack without .gpack/root, TMPDIR not writable",
			inv: invocation{args: []string{"bin/hello", "bare"}, root: p.bare,
				env: []string{"TMPDIR=/proc/sys", "GPACK_DEBUG=1"}},
			stdout:    greeting + "bare\n",
			stderrHas: []string{running(engine, filepath.Join(p.store.Path("hello"), "bin/hello"))},
			check: func(t *testing.T, r result) {
				if engine == "userns" && !strings.Contains(r.stderr, "so the new root is mounted on /tmp/gpack-root-") {
					t.Errorf("the userns engine did not fall back to /tmp:\n%s", r.stderr)
				}
			}},
		{name: "ELF interpreter missing from the pack",
			inv:    invocation{args: []string{"bin/badinterp"}},
			status: 127,
			stderrHas: []string{"gpack-launcher: cannot execute " + filepath.Join(p.store.Path("badinterp"), "bin/badinterp") +
				": no such file or directory (its ELF interpreter " + filepath.Join(p.store.Path("libc"), "lib/ld-missing.so.2") +
				" is missing from the pack at " + p.root + ")"}},
		{name: "#! interpreter missing from the pack",
			inv:    invocation{args: []string{"bin/badshebang"}},
			status: 127,
			stderrHas: []string{"gpack-launcher: cannot execute " + filepath.Join(p.store.Path("badshebang"), "bin/badshebang") +
				": no such file or directory (its interpreter " + filepath.Join(p.store.Path("dash"), "bin/nosuch-sh") +
				", from its #! line, is missing from the pack at " + p.root + ")"}},
		{name: "pack without .gpack/root",
			inv:       invocation{args: []string{"bin/hello", "bare"}, root: p.bare, env: []string{"GPACK_DEBUG=1"}},
			stdout:    greeting + "bare\n",
			stderrHas: []string{running(engine, filepath.Join(p.store.Path("hello"), "bin/hello"))},
			check: func(t *testing.T, r result) {
				// Only the userns engine builds a new root.
				if engine == "userns" && !strings.Contains(r.stderr, "the pack lacks .gpack/root, so the new root is mounted on ") {
					t.Errorf("stderr does not say where the new root went:\n%s", r.stderr)
				}
			}},
	}
}

func contains(lines []string, l string) bool {
	for _, x := range lines {
		if x == l {
			return true
		}
	}
	return false
}

// ownedBy checks, from the host, the owner of the file the program created.
func ownedBy(uid int) func(t *testing.T, r result) {
	return func(t *testing.T, r result) {
		info, err := os.Stat(filepath.Join(r.dir, "created"))
		if err != nil {
			t.Fatal(err)
		}
		st := info.Sys().(*syscall.Stat_t)
		if int(st.Uid) != uid || int(st.Gid) != uid {
			t.Errorf("the file belongs to %d:%d on the host, want %d:%d", st.Uid, st.Gid, uid, uid)
		}
	}
}

// TestSignalForwarded sends SIGINT to the launcher process alone (not its
// group): the program must get it through the launcher.
func TestSignalForwarded(t *testing.T) {
	p := testPack(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		inv := invocation{engine: engine, args: []string{"bin/sh", "-c",
			`trap "echo got INT; exit 7" INT; echo ready; while :; do sleep 0.1; done`}}
		cmd, tmpdir, cancel := p.command(t, &inv)
		defer cancel()
		lines, stderr := startReady(t, cmd)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		var rest []string
		for lines.Scan() {
			rest = append(rest, lines.Text())
		}
		status := statusOf(t, cmd, cmd.Wait())
		if status != 7 || strings.Join(rest, "\n") != "got INT" {
			t.Errorf("after SIGINT: status %d, output %q, stderr %q; want 7, \"got INT\"", status, rest, stderr.String())
		}
		checkEmpty(t, tmpdir)
	})
}

// TestNoTraces checks that a run leaves nothing on the host: no mount, and
// nothing in the pack's .gpack/root (TMPDIR is checked by every run).
func TestNoTraces(t *testing.T) {
	p := testPack(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, root := range []string{p.root, p.bare} {
			for _, noStoreDir := range []bool{false, true} {
				r := p.run(t, invocation{engine: engine, args: []string{"bin/hello"}, root: root, noStoreDir: noStoreDir})
				if r.status != 0 || r.stdout != greeting {
					t.Fatalf("status %d, %q, %q", r.status, r.stdout, r.stderr)
				}
			}
		}
		checkEmpty(t, filepath.Join(p.root, contract.RootDir))
		mounts, err := os.ReadFile("/proc/self/mountinfo")
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(mounts), "\n") {
			if strings.Contains(l, p.base) {
				t.Errorf("a mount remains on the host: %s", l)
			}
		}
	})
}

// nestedLine is what the launcher of a pack that a traced program runs says:
// under the userns engine it makes a namespace of its own; under ptrace the
// process is already traced, so the outer tracer adds the inner pack's
// store to the view and the inner launcher finds its program in place.
func nestedLine(engine, program string) string {
	if engine == "ptrace" {
		return "gpack-launcher: direct: " + program + " exists here, so it runs without a namespace"
	}
	return running(engine, program)
}

// cannotRunHint ends the launcher's message when no engine works.
const cannotRunHint = "; run the pack extracted at / (tar -x -C /) or enable unprivileged user namespaces " +
	"(sysctl user.max_user_namespaces>0; kernel.apparmor_restrict_unprivileged_userns=0)\n"

// mountHint ends the message when the userns engine may not mount.
const mountHint = "; run the pack extracted at / (tar -x -C /) or allow mounts in unprivileged user namespaces " +
	"(AppArmor: sysctl kernel.apparmor_restrict_unprivileged_userns=0, or a profile for the launcher)\n"

// ptraceDenied is the ptrace engine's reason where a seccomp profile
// forbids ptrace.
const ptraceDenied = "the ptrace engine cannot run (ptrace is not permitted here: a seccomp profile (a container's) " +
	"or a security module forbids it; an administrator can allow the ptrace system call: operation not permitted)"

// TestFallback covers hosts where the userns engine fails at different
// steps: the ptrace engine must take over, and where it cannot either, the
// launcher must end in one clear line and exit 126, never 255 (Guix's
// wrapper aborts with 255 on AppArmor hosts).
func TestFallback(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	const mountDenied = "making the mounts private (mount --make-rprivate /): operation not permitted"
	const usernsDenied = "creating a user namespace is not permitted: operation not permitted"
	t.Run("falls back to ptrace", func(t *testing.T) {
		for _, tc := range []struct {
			name  string
			inv   invocation
			debug []string
		}{
			{name: "AppArmor: clone works, mount denied", inv: invocation{seccomp: denyMount},
				debug: []string{"gpack-launcher: engine userns: failed: " + mountDenied}},
			{name: "clone refused", inv: invocation{seccomp: denyUserns},
				debug: []string{"gpack-launcher: engine userns: failed: " + usernsDenied}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				tc.inv.args = []string{"bin/hello"}
				tc.inv.env = []string{"GPACK_DEBUG=1"}
				r := p.run(t, tc.inv)
				if r.status != 0 || r.stdout != greeting {
					t.Fatalf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
				}
				lines := strings.Split(r.stderr, "\n")
				for _, l := range append(tc.debug, "gpack-launcher: engine ptrace: trying", running("ptrace", hello)) {
					if !contains(lines, l) {
						t.Errorf("stderr lacks %q:\n%s", l, r.stderr)
					}
				}
			})
		}
	})
	for _, tc := range []struct {
		name   string
		inv    invocation
		stderr string   // the exact stderr without GPACK_DEBUG
		debug  []string // lines GPACK_DEBUG=1 adds
	}{
		{name: "AppArmor in a container that forbids ptrace",
			inv: invocation{seccomp: denyMountPtrace},
			stderr: "gpack-launcher: cannot run bin/hello here: the userns engine failed (" + mountDenied +
				"), and the relocate engine failed (the pack cannot be written (making " + p.root + "/.gpack/relocate): " +
				"permission denied), and " + ptraceDenied + mountHint,
			debug: []string{
				"gpack-launcher: engine userns: trying",
				"gpack-launcher: engine userns: failed: " + mountDenied,
				"gpack-launcher: engine ptrace: trying",
			}},
		{name: "AppArmor with GPACK_ENGINE=userns",
			inv:    invocation{seccomp: denyMount, env: []string{"GPACK_ENGINE=userns"}},
			stderr: "gpack-launcher: cannot run bin/hello here: the userns engine failed (" + mountDenied + ")" + mountHint,
			debug:  []string{"gpack-launcher: engine userns: failed: " + mountDenied}},
		// Only where clone or the id maps fail does the message say
		// user namespaces are not available, and advise the sysctls.
		{name: "GPACK_ENGINE=userns where clone is refused",
			inv:    invocation{seccomp: denyUserns, env: []string{"GPACK_ENGINE=userns"}},
			stderr: "gpack-launcher: cannot run bin/hello here: user namespaces are not available (" + usernsDenied + ")" + cannotRunHint,
			debug:  []string{"gpack-launcher: engine userns: failed: " + usernsDenied}},
		{name: "GPACK_ENGINE=userns where user namespaces are off",
			inv: invocation{usernsOff: true, env: []string{"GPACK_ENGINE=userns"}},
			stderr: "gpack-launcher: cannot run bin/hello here: user namespaces are not available " +
				"(sysctl user.max_user_namespaces is 0)" + cannotRunHint,
			debug: []string{"gpack-launcher: engine userns: not available: sysctl user.max_user_namespaces is 0"}},
		{name: "GPACK_ENGINE=ptrace where ptrace is forbidden",
			inv:    invocation{seccomp: denyPtrace, env: []string{"GPACK_ENGINE=ptrace"}},
			stderr: "gpack-launcher: cannot run bin/hello here: " + ptraceDenied + "; run the pack extracted at / (tar -x -C /)\n",
			debug:  []string{"gpack-launcher: engine ptrace: trying"}},
		{name: "GPACK_ENGINE=bogus",
			inv:    invocation{env: []string{"GPACK_ENGINE=bogus"}},
			stderr: "gpack-launcher: GPACK_ENGINE=\"bogus\" is not one of auto, userns, relocate, ptrace\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.inv.args = []string{"bin/hello"}
			checkCannotRun(t, p.run(t, tc.inv), tc.stderr, nil)
			tc.inv.env = append(tc.inv.env, "GPACK_DEBUG=1")
			checkCannotRun(t, p.run(t, tc.inv), tc.stderr, append([]string{}, tc.debug...))
		})
	}
}

// checkCannotRun checks a run that must fail with status 126: without debug
// lines stderr must be exactly want; with them, it must end with want.
func checkCannotRun(t *testing.T, r result, want string, debug []string) {
	t.Helper()
	if r.status != 126 || r.stdout != "" {
		t.Errorf("status %d, stdout %q; want 126 and nothing", r.status, r.stdout)
	}
	if debug == nil {
		if r.stderr != want {
			t.Errorf("stderr\n%q\nwant\n%q", r.stderr, want)
		}
		return
	}
	if !strings.HasSuffix(r.stderr, want) {
		t.Errorf("with GPACK_DEBUG, stderr does not end with the message:\n%s", r.stderr)
	}
	lines := strings.Split(r.stderr, "\n")
	for _, l := range debug {
		if !contains(lines, l) {
			t.Errorf("with GPACK_DEBUG, stderr lacks the line %q:\n%s", l, r.stderr)
		}
	}
}

// TestUsernsOff runs the launcher where user namespaces are really off
// (user.max_user_namespaces=0), as on many clusters: GPACK_ENGINE=auto must
// fall back to the ptrace engine, which runs the program.
func TestUsernsOff(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	debug := []string{
		"gpack-launcher: engine userns: not available: sysctl user.max_user_namespaces is 0",
		"gpack-launcher: engine ptrace: trying",
		running("ptrace", hello),
	}
	check := func(t *testing.T, r result) {
		t.Helper()
		if r.status != 0 || r.stdout != greeting {
			t.Fatalf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
		}
		lines := strings.Split(r.stderr, "\n")
		for _, l := range debug {
			if !contains(lines, l) {
				t.Errorf("stderr lacks %q:\n%s", l, r.stderr)
			}
		}
	}

	// The sysctl set to 0 in a user namespace that holds the whole run:
	// the kernel checks the limit of every ancestor namespace, so
	// clone(CLONE_NEWUSER) fails below it exactly as on a host where it is
	// off, and nothing else on the machine is affected. The machine-wide
	// switch is never touched: tests of other packages run meanwhile and
	// need user namespaces.
	t.Run("sysctl in a user namespace", func(t *testing.T) {
		check(t, p.run(t, invocation{args: []string{"bin/hello"}, usernsOff: true, env: []string{"GPACK_DEBUG=1"}}))
	})
}

func TestUnknownProgram(t *testing.T) {
	p := testPack(t)
	r := p.run(t, invocation{args: []string{"bin/nosuch"}})
	want := "gpack-launcher: " + filepath.Join(p.root, "bin/nosuch") + `: the pack has no program named "nosuch" (see ` +
		filepath.Join(p.root, contract.ManifestPath) + ")\n"
	if r.status != 127 || r.stderr != want {
		t.Errorf("status %d, stderr %q; want 127, %q", r.status, r.stderr, want)
	}
}

func TestLauncherItself(t *testing.T) {
	p := testPack(t)
	r := p.run(t, invocation{args: []string{filepath.Join(p.root, contract.LauncherPath)}})
	wrapped, err := wrappers(p.store)
	if err != nil {
		t.Fatal(err)
	}
	var progs []string
	for _, name := range slices.Sorted(maps.Keys(wrapped)) {
		progs = append(progs, filepath.Join(p.root, "bin", name))
	}
	want := "gpack-launcher: this is the launcher of the pack at " + p.root +
		"; run one of its programs instead: " + strings.Join(progs, " ") + "\n"
	if r.status != 2 || r.stderr != want {
		t.Errorf("status %d, stderr %q; want 2, %q", r.status, r.stderr, want)
	}
}

// siginfoC reports the origin of each SIGINT it gets within half a second of
// the first: "kernel" for the terminal's, "user" for one sent with kill(2).
const siginfoC = `#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
static volatile sig_atomic_t n;
static volatile int codes[8];
static void on_int(int sig, siginfo_t *si, void *ctx) {
	(void)sig; (void)ctx;
	if (n < 8) codes[n] = si->si_code;
	n++;
}
int main(void) {
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_int;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGINT, &sa, NULL);
	printf("ready\n");
	fflush(stdout);
	while (n == 0) pause();
	for (int i = 0; i < 50; i++) usleep(10000);
	for (int i = 0; i < n && i < 8; i++)
		printf("%s\n", codes[i] == SI_KERNEL ? "kernel" : codes[i] == SI_USER ? "user" : "other");
	return 0;
}
`

// TestTerminalSignalOnce presses Ctrl-C on a terminal whose foreground
// process group holds the launcher and the program: the terminal signals
// both, so the launcher must not relay its copy, or the program would get
// SIGINT twice (a shell trap or Python's KeyboardInterrupt running twice).
func TestTerminalSignalOnce(t *testing.T) {
	p := testPack(t)
	// A host program, visible inside through the mirrored root, started
	// by the store's shell with exec so that it is the launcher's child.
	src := filepath.Join(p.base, "siginfo.c")
	bin := filepath.Join(p.base, "siginfo")
	if err := os.WriteFile(src, []byte(siginfoC), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("gcc", "-O1", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("gcc: %v\n%s", err, out)
	}
	forEachEngine(t, func(t *testing.T, engine string) {
		master, slave, err := openPty()
		if err != nil {
			need.Missing(t, "a pseudo-terminal", err.Error())
		}
		defer master.Close()
		defer slave.Close()
		inv := invocation{engine: engine, args: []string{"bin/sh", "-c", "exec " + bin}}
		cmd, tmpdir, cancel := p.command(t, &inv)
		defer cancel()
		// The terminal becomes the controlling terminal of the new
		// session, with the launcher's process group in the foreground.
		cmd.Stdin = slave
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
		lines, stderr := startReady(t, cmd)
		// A lost SIGINT leaves the program waiting for ever: give up
		// after a while rather than at the command's deadline.
		watchdog := time.AfterFunc(20*time.Second, func() { cmd.Process.Kill() })
		if _, err := master.Write([]byte{0x03}); err != nil { // Ctrl-C
			t.Fatal(err)
		}
		var rest []string
		for lines.Scan() {
			rest = append(rest, lines.Text())
		}
		status := statusOf(t, cmd, cmd.Wait())
		if !watchdog.Stop() {
			t.Errorf("the program did not end within 20 s of Ctrl-C, so the SIGINT was lost")
		}
		if status != 0 || strings.Join(rest, " ") != "kernel" {
			t.Errorf("after Ctrl-C: status %d, SIGINTs from %q, stderr %q; want 0 and one from the kernel",
				status, rest, stderr.String())
		}
		checkEmpty(t, tmpdir)
	})
}

// openPty opens a new pseudo-terminal pair with the kernel's default line
// discipline settings, in which Ctrl-C sends SIGINT.
func openPty() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// TestLauncherKilled kills the launcher with SIGKILL, which it cannot
// forward: the program must not run on without it.
func TestLauncherKilled(t *testing.T) {
	p := testPack(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		inv := invocation{engine: engine, args: []string{"bin/sh", "-c", `echo $$; while :; do sleep 0.1; done`}}
		cmd, _, cancel := p.command(t, &inv)
		defer cancel()
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := bufio.NewScanner(out)
		if !lines.Scan() {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no pid line: %v", lines.Err())
		}
		pid, err := strconv.Atoi(lines.Text())
		if err != nil {
			t.Fatal(err)
		}
		cmd.Process.Kill()
		cmd.Wait()
		deadline := time.Now().Add(10 * time.Second)
		for alive(pid) {
			if time.Now().After(deadline) {
				syscall.Kill(pid, syscall.SIGKILL)
				t.Fatalf("the program (pid %d) outlived its launcher by 10 s", pid)
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// alive reports whether pid is a process that has not exited; a zombie
// waiting for its new parent to reap it counts as gone.
func alive(pid int) bool {
	state := procState(pid)
	return state != 0 && state != 'Z'
}

// procState returns the state of pid in /proc/PID/stat (R, S, T, t, Z…), 0
// when there is no such process, or '?' when the line is cut short.
func procState(pid int) byte {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 || i+2 >= len(s) {
		return '?'
	}
	return s[i+2]
}

// TestIncompletePack runs a wrapper of a pack that lacks its store copy: the
// message must blame the pack, not the host.
func TestIncompletePack(t *testing.T) {
	p := testPack(t)
	root, err := os.MkdirTemp(p.base, "incomplete")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{".gpack/root", "bin"} {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(filepath.Join(p.root, contract.ManifestPath))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, contract.ManifestPath), data, 0o444); err != nil {
		t.Fatal(err)
	}
	bin, err := os.ReadFile(launcherBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, contract.LauncherPath), bin, 0o555); err != nil {
		t.Fatal(err)
	}
	if err := os.Link(filepath.Join(root, contract.LauncherPath), filepath.Join(root, "bin/hello")); err != nil {
		t.Fatal(err)
	}
	want := "gpack-launcher: the pack at " + root + " is incomplete: it lacks its store " +
		filepath.Join(root, p.store.Dir) + "\n"
	forEachEngine(t, func(t *testing.T, engine string) {
		r := p.run(t, invocation{engine: engine, args: []string{"bin/hello"}, root: root})
		if r.status != 126 || r.stderr != want {
			t.Errorf("status %d, stderr %q; want 126, %q", r.status, r.stderr, want)
		}
	})
}

// startReady starts cmd and waits for its first line, "ready"; it returns
// the rest of stdout and the stderr being collected.
func startReady(t *testing.T, cmd *exec.Cmd) (*bufio.Scanner, *strings.Builder) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &strings.Builder{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no ready line: %q, %v, stderr %q", lines.Text(), lines.Err(), stderr.String())
	}
	return lines, stderr
}
