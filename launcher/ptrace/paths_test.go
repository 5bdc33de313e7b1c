package ptrace

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/gpack/gpack/launcher/internal/proc"
)

// TestResolve checks the tracer's path resolution on a real directory
// tree: a pack whose store is seen at /gpack-test/store, which need not
// exist on the host.
func TestResolve(t *testing.T) {
	root := t.TempDir()
	root, _ = filepath.EvalSymlinks(root)
	const store = "/gpack-test/store"
	real := filepath.Join(root, store)
	mk := func(dir string) {
		if err := os.MkdirAll(filepath.Join(real, dir), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, name string) {
		if err := os.Symlink(target, filepath.Join(real, name)); err != nil {
			t.Fatal(err)
		}
	}
	mk("aaa-hello/bin")
	mk("aaa-hello/lib")
	mk("bbb-profile")
	if err := os.WriteFile(filepath.Join(real, "aaa-hello/bin/hello"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	link(store+"/aaa-hello/bin", "bbb-profile/bin") // absolute, as in profiles
	link("../aaa-hello/lib", "bbb-profile/lib")     // relative
	link(store+"/bbb-profile", "ccc-current")       // a chain
	link(store+"/ddd-loop", "ddd-loop")             // a loop
	link("/etc", "bbb-profile/etc")                 // out of the store
	link(store+"/aaa-hello/bin/hello", "bbb-profile/hello")

	// Store items are read-only, except bbb-profile here: what is missing
	// in a writable directory may yet appear.
	for _, d := range []string{"", "aaa-hello", "aaa-hello/bin", "aaa-hello/lib"} {
		if err := os.Chmod(filepath.Join(real, d), 0o555); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		for _, d := range []string{"", "aaa-hello", "aaa-hello/bin", "aaa-hello/lib"} {
			os.Chmod(filepath.Join(real, d), 0o755)
		}
	})

	tr := newTranslator(store, real, root)
	for _, tc := range []struct {
		name    string
		path    string
		follow  bool
		want    string
		missing bool
		err     error
	}{
		{name: "store dir", path: store, follow: true, want: real},
		{name: "file", path: store + "/aaa-hello/bin/hello", follow: true, want: real + "/aaa-hello/bin/hello"},
		{name: "absolute link in the middle", path: store + "/bbb-profile/bin/hello", follow: true, want: real + "/aaa-hello/bin/hello"},
		{name: "chain of links", path: store + "/ccc-current/bin/hello", follow: true, want: real + "/aaa-hello/bin/hello"},
		{name: "relative link", path: store + "/bbb-profile/lib", follow: true, want: real + "/aaa-hello/lib"},
		{name: "last link followed", path: store + "/bbb-profile/hello", follow: true, want: real + "/aaa-hello/bin/hello"},
		{name: "last link kept (lstat)", path: store + "/bbb-profile/hello", follow: false, want: real + "/bbb-profile/hello"},
		{name: "trailing slash follows", path: store + "/bbb-profile/bin/", follow: false, want: real + "/aaa-hello/bin/"},
		{name: "dot-dot after a link", path: store + "/bbb-profile/bin/../lib", follow: true, want: real + "/aaa-hello/lib"},
		{name: "dot and double slash", path: store + "//aaa-hello/./bin", follow: true, want: real + "/aaa-hello/bin"},
		{name: "into the store by dot-dot", path: "/usr/.." + store + "/aaa-hello", follow: true, want: real + "/aaa-hello"},
		{name: "link out of the store", path: store + "/bbb-profile/etc/passwd", follow: true, want: "/etc/passwd"},
		{name: "missing in the store", path: store + "/aaa-hello/lib/libnone.so", follow: true, want: real + "/aaa-hello/lib/libnone.so", missing: true},
		{name: "missing item", path: store + "/zzz-none/bin/x", follow: true, want: real + "/zzz-none/bin/x", missing: true},
		{name: "missing in a writable directory", path: store + "/bbb-profile/new", follow: true, want: real + "/bbb-profile/new"},
		{name: "loop", path: store + "/ddd-loop/x", follow: true, err: syscall.ELOOP},
		{name: "store parent", path: "/gpack-test", follow: true, want: "/gpack-test"},
		{name: "pack path", path: real + "/bbb-profile/bin/hello", follow: true, want: real + "/aaa-hello/bin/hello"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, missing, err := tr.resolve(tc.path, tc.follow)
			if err != tc.err {
				t.Fatalf("resolve(%q) error %v, want %v", tc.path, err, tc.err)
			}
			if err == nil && (got != tc.want || missing != tc.missing) {
				t.Errorf("resolve(%q, %v) = %q, missing %v; want %q, missing %v", tc.path, tc.follow, got, missing, tc.want, tc.missing)
			}
		})
	}
	// Where a path leads in the program's view decides whether a write
	// there changes the store: by a store path, or by the pack's own.
	for _, tc := range []struct{ path, view, store string }{
		{store + "/aaa-hello/bin/hello", store + "/aaa-hello/bin/hello", store},
		{store + "/aaa-hello/lib/new", store + "/aaa-hello/lib/new", store},
		{real + "/aaa-hello/bin/hello", real + "/aaa-hello/bin/hello", ""},
		{real + "/bbb-profile/bin/hello", store + "/aaa-hello/bin/hello", store}, // an absolute link
		{store + "/bbb-profile/etc/passwd", "/etc/passwd", ""},
		{"/usr/.." + store + "/aaa-hello", store + "/aaa-hello", store},
		{store + "/../x", "/gpack-test/x", ""},
		{store + "x/y", store + "x/y", ""},
	} {
		view, _, _, err := tr.resolveView(tc.path, true)
		if err != nil || view != tc.view || tr.storeOf(view) != tc.store {
			t.Errorf("resolveView(%q) = %q (store %q), %v; want %q (store %q)", tc.path, view, tr.storeOf(view), err, tc.view, tc.store)
		}
	}
	for _, p := range []string{"/etc/passwd", "/gpack-testx/store", "/usr/lib/../share", "relative"} {
		if tr.ours(p) {
			t.Errorf("ours(%q) = true, want false: host paths are the kernel's", p)
		}
	}
	if v := tr.toVirtual(real + "/aaa-hello/bin"); v != store+"/aaa-hello/bin" {
		t.Errorf("toVirtual = %q", v)
	}
}

func TestParseShebang(t *testing.T) {
	for _, tc := range []struct{ line, interp, arg string }{
		{"/bin/sh\n", "/bin/sh", ""},
		{" /usr/bin/env  python3 -u \nprint()", "/usr/bin/env", "python3 -u"},
		{"/nix/store/x-dash/bin/sh -e", "/nix/store/x-dash/bin/sh", "-e"},
		{"\t\n", "", ""},
	} {
		i, a := proc.ParseShebang([]byte(tc.line))
		if i != tc.interp || a != tc.arg {
			t.Errorf("proc.ParseShebang(%q) = %q, %q; want %q, %q", tc.line, i, a, tc.interp, tc.arg)
		}
	}
}

func TestKernelAtLeast(t *testing.T) {
	for _, tc := range []struct {
		rel  string
		want bool
	}{{"6.1.0-26-amd64", true}, {"4.8.0", true}, {"4.7.10", false}, {"3.10.0-1160.el7.x86_64", false}, {"weird", true}} {
		if got := kernelAtLeast(tc.rel, 4, 8); got != tc.want {
			t.Errorf("kernelAtLeast(%q) = %v", tc.rel, got)
		}
	}
}

// TestResolveHost checks resolveAt on host paths (outside the store and the
// pack) that reach the store through symlinks of the host, and what the
// translator learns of host paths: enough that a path without links costs
// no lstat once its directory is known, never a symlink, and nothing while
// a call that may change host names is under way.
func TestResolveHost(t *testing.T) {
	root, _ := filepath.EvalSymlinks(t.TempDir())
	host, _ := filepath.EvalSymlinks(t.TempDir())
	const store = "/gpack-test/store"
	real := filepath.Join(root, store)
	for _, d := range []string{"aaa-hello/bin", "aaa-hello/lib", "ddd-loop"} {
		if err := os.MkdirAll(filepath.Join(real, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(real, "aaa-hello/bin/hello"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(store+"/ddd-loop/x", filepath.Join(real, "ddd-loop/x")); err != nil {
		t.Fatal(err)
	}
	hello := store + "/aaa-hello/bin/hello"
	up := strings.Repeat("../", strings.Count(host, "/"))
	for name, target := range map[string]string{
		"abs":   hello,
		"rel":   up + hello[1:],
		"c1":    "c2", // host → host → host → store
		"c2":    host + "/abs",
		"bin":   store + "/aaa-hello/bin",
		"top":   "/gpack-test", // the store's parent, which the host lacks
		"hl":    "plain",
		"loop1": "loop2",
		"loop2": "loop1",
		"sloop": store + "/ddd-loop/x",
		"procl": "/proc/self/cwd",
	} {
		if err := os.Symlink(target, filepath.Join(host, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Join(host, "plain/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(host, "plain/sub/file"), nil, 0o644); err != nil {
		t.Fatal(err)
	}

	tr := newTranslator(store, real, root)
	for _, tc := range []struct {
		name       string
		base, path string
		follow     bool
		via        bool // the lookup reaches the store: real is the path to give the kernel
		want       string
		err        error
	}{
		{name: "absolute link", path: host + "/abs", follow: true, via: true, want: real + "/aaa-hello/bin/hello"},
		{name: "link not followed", path: host + "/abs"},
		{name: "relative link", path: host + "/rel", follow: true, via: true, want: real + "/aaa-hello/bin/hello"},
		{name: "chain of host links", path: host + "/c1", follow: true, via: true, want: real + "/aaa-hello/bin/hello"},
		{name: "directory link", path: host + "/bin/hello", via: true, want: real + "/aaa-hello/bin/hello"},
		{name: "trailing slash follows", path: host + "/bin/", via: true, want: real + "/aaa-hello/bin/"},
		{name: "dot-dot after a link", path: host + "/bin/../lib", follow: true, via: true, want: real + "/aaa-hello/lib"},
		{name: "link to the store's parent", path: host + "/top/store/aaa-hello", follow: true, via: true, want: real + "/aaa-hello"},
		{name: "relative to a directory", base: host, path: "bin/hello", follow: true, via: true, want: real + "/aaa-hello/bin/hello"},
		{name: "relative one component", base: host, path: "abs", follow: true, via: true, want: real + "/aaa-hello/bin/hello"},
		{name: "host file", path: host + "/plain/sub/file", follow: true},
		{name: "host link to a host file", path: host + "/hl/sub/file", follow: true},
		{name: "missing", path: host + "/plain/none/x", follow: true},
		{name: "host loop: the kernel's ELOOP", path: host + "/loop1", follow: true},
		{name: "loop in the store", path: host + "/sloop", follow: true, via: true, err: syscall.ELOOP},
		{name: "procfs is the kernel's", path: host + "/procl/x", follow: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := tc.base
			if base == "" {
				base = "/"
			}
			abs := tc.path
			if abs[0] != '/' {
				abs = joinPath(base, abs)
			}
			_, got, _, via, err := tr.resolveAt(base, abs, tc.follow)
			if err != tc.err || via != tc.via || via && err == nil && got != tc.want {
				t.Errorf("resolveAt(%q, %q, %v) = %q, via %v, %v; want %q, via %v, %v",
					base, tc.path, tc.follow, got, via, err, tc.want, tc.via, tc.err)
			}
		})
	}

	lstats := func(f func()) int {
		n := tr.hostLstats
		f()
		return tr.hostLstats - n
	}
	resolve := func(p string, follow bool) bool {
		_, _, _, via, err := tr.resolveAt("/", p, follow)
		if err != nil {
			t.Fatalf("resolveAt(%q): %v", p, err)
		}
		return via
	}
	file := host + "/plain/sub/file"
	resolve(file, true)
	if n := lstats(func() { resolve(file, true) }); n != 0 {
		t.Errorf("a known host path without links cost %d lstats, want 0", n)
	}
	if n := lstats(func() { resolve(host+"/plain/sub/other", false) }); n != 0 {
		t.Errorf("a name not followed in a known directory cost %d lstats, want 0", n)
	}
	if n := lstats(func() { resolve(host+"/plain/sub/new", true) }); n != 1 {
		t.Errorf("a new name in a known directory cost %d lstats, want 1", n)
	}
	// A host link that leads to the host costs nothing either once known;
	// one that leads into the store is looked up again, with every host
	// name on the way, before the path is rewritten after it: c1, c2 and
	// abs, and their directory twice (c2's target is absolute).
	resolve(host+"/hl/sub/file", true)
	if n := lstats(func() { resolve(host+"/hl/sub/file", true) }); n != 0 {
		t.Errorf("a known host link to the host cost %d lstats, want 0", n)
	}
	resolve(host+"/c1", true)
	if n := lstats(func() { resolve(host+"/c1", true) }); n != 5 {
		t.Errorf("a known chain of 3 links into the store cost %d lstats, want 5", n)
	}
	// So a link changed behind the translator's back never misleads it
	// into the store.
	sw := host + "/plain/sw"
	if err := os.Symlink(hello, sw); err != nil {
		t.Fatal(err)
	}
	resolve(sw, true)
	if err := os.Remove(sw); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(store+"/aaa-hello/lib", sw); err != nil {
		t.Fatal(err)
	}
	if _, got, _, _, _ := tr.resolveAt("/", sw, true); got != real+"/aaa-hello/lib" {
		t.Errorf("after %s changed, resolveAt gives %q, want %q", sw, got, real+"/aaa-hello/lib")
	}
	if err := os.Remove(sw); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host+"/plain", sw); err != nil {
		t.Fatal(err)
	}
	if resolve(sw, true) {
		t.Errorf("%s, changed to a host directory, still reaches the store", sw)
	}

	// Nor does a ".." out of a directory known only from what was learnt:
	// dd, a directory, becomes a link behind the translator's back, after
	// which dd/.. is no longer host.
	dd := host + "/dd"
	if err := os.Mkdir(dd, 0o755); err != nil {
		t.Fatal(err)
	}
	// Up to / from dd/.., then into the store (no link on the way).
	viaDD := dd + "/.." + strings.Repeat("/..", strings.Count(host, "/")) + store + "/aaa-hello"
	if _, got, _, _, _ := tr.resolveAt("/", viaDD, true); got != real+"/aaa-hello" {
		t.Fatalf("%s leads to %s, want %s", viaDD, got, real+"/aaa-hello")
	}
	if err := os.Remove(dd); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(host+"/plain/sub", dd); err != nil {
		t.Fatal(err)
	}
	if _, got, _, _, _ := tr.resolveAt("/", viaDD, true); tr.inRealStore(got) {
		t.Errorf("%s leads to %s after dd became a link to plain/sub, two levels deeper", viaDD, got)
	}

	// What was learnt holds until a call that may change host names:
	// a link made behind the translator's back is not seen...
	late := host + "/plain/sub/late"
	if resolve(late, true) {
		t.Fatalf("%s, missing, reaches the store", late)
	}
	if err := os.Symlink(hello, late); err != nil {
		t.Fatal(err)
	}
	if resolve(late, true) {
		t.Errorf("%s: a missing name was not kept", late)
	}
	// ...and is once such a call has begun.
	tr.beginHostChange()
	if !resolve(late, true) {
		t.Errorf("%s does not reach the store once the facts are dropped", late)
	}
	// Nothing is learnt while the call runs, as the names may be either:
	// each lookup takes an lstat per component below the directory that
	// holds both temporary directories, an ancestor of the pack.
	want := strings.Count(file[len(filepath.Dir(host)):], "/")
	if n := lstats(func() { resolve(file, true) }) + lstats(func() { resolve(file, true) }); n != 2*want {
		t.Errorf("two lookups of %s during a change cost %d lstats, want 2×%d", file, n, want)
	}
	tr.endHostChange()
	resolve(file, true)
	if n := lstats(func() { resolve(file, true) }); n != 0 {
		t.Errorf("after the change, a known path cost %d lstats, want 0", n)
	}
}

// BenchmarkResolveHost measures what the translator adds to a call on a
// host path: a followed lookup of a file never seen (the first lookup: an
// lstat), of one already known, and a lookup that does not follow its last
// component, in a known directory.
func BenchmarkResolveHost(b *testing.B) {
	root, _ := filepath.EvalSymlinks(b.TempDir())
	host, _ := filepath.EvalSymlinks(b.TempDir())
	dir := filepath.Join(host, "a", "b", "c")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	const files = 4096
	names := make([]string, files)
	for i := range names {
		names[i] = "file" + strconv.Itoa(i)
		if err := os.WriteFile(filepath.Join(dir, names[i]), nil, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	const store = "/gpack-test/store"
	for _, bc := range []struct {
		name          string
		known, follow bool
	}{
		{"followed, never seen", false, true},
		{"followed, known", true, true},
		{"not followed", true, false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			tr := newTranslator(store, filepath.Join(root, store), root)
			for _, n := range names {
				tr.resolveAt("/", filepath.Join(dir, n), true)
			}
			for i := 0; b.Loop(); i++ {
				if !bc.known && i%files == 0 {
					clear(tr.hostFacts)
				}
				if _, _, _, via, _ := tr.resolveAt(dir, dir+"/"+names[i%files], bc.follow); via {
					b.Fatal("a host file reaches the store")
				}
			}
		})
	}
	b.Run("lstat alone", func(b *testing.B) {
		var st syscall.Stat_t
		for i := 0; b.Loop(); i++ {
			syscall.Lstat(filepath.Join(dir, names[i%files]), &st)
		}
	})
}
