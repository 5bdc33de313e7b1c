package ptrace

import (
	"os"
	"path/filepath"
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
