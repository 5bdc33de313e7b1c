package nixstore

import (
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

var allItems = []string{
	"acl", "bash", "coreutils", "dash", "glibc", "grep", "hello-script",
	"noref", "pcre2", "profile", "sed", "selinux", "tinfo",
}

func TestBuildTwice(t *testing.T) {
	start := time.Now()
	s1, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	start = time.Now()
	s2, err := Build()
	if err != nil {
		t.Fatal(err)
	}
	second := time.Since(start)
	t.Logf("Build: first %v, second %v", first, second)

	if s1.Dir != "/nix/store" {
		t.Errorf("Dir = %q, want /nix/store", s1.Dir)
	}
	if got := slices.Sorted(maps.Keys(s1.Items)); !slices.Equal(got, allItems) {
		t.Errorf("items = %q, want %q", got, allItems)
	}
	if !maps.Equal(s1.Items, s2.Items) {
		t.Errorf("second Build gave other paths:\n%v\n%v", s1.Items, s2.Items)
	}
	for name, p := range s1.Items {
		if !strings.HasPrefix(p, s1.Dir+"/") || !strings.HasSuffix(p, "-"+name) {
			t.Errorf("item %s = %q, not %s/<hash>-%s", name, p, s1.Dir, name)
		}
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("item %s: %v", name, err)
		}
	}
}

func TestNewIsOnce(t *testing.T) {
	if a, b := New(t), New(t); a != b {
		t.Errorf("New returned two stores")
	}
}

func TestHostKey(t *testing.T) {
	k1, err := HostKey()
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != 64 {
		t.Errorf("HostKey() = %q, want 64 hex digits", k1)
	}
	files, err := HostFiles()
	if err != nil {
		t.Fatal(err)
	}
	// The shell recipe bench/closure.sh uses must give the same key.
	cmd := exec.Command("sh", append([]string{"-c", `sha256sum "$@" | sha256sum | cut -d' ' -f1`, "sh"}, files...)...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if k2 := strings.TrimSpace(string(out)); k2 != k1 {
		t.Errorf("HostKey() = %s, sha256sum recipe = %s", k1, k2)
	}
}

func TestProgramsRun(t *testing.T) {
	s := New(t)
	cu := s.Items["coreutils"] + "/bin/"
	tmp := t.TempDir()
	if err := os.WriteFile(filepath.Join(tmp, "in"), []byte("b\na\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	uid := strconv.Itoa(os.Getuid())
	tests := []struct {
		args  []string
		stdin string
		want  string
	}{
		{[]string{cu + "ls", "/"}, "", "\n"},
		{[]string{cu + "cat", filepath.Join(tmp, "in")}, "", "b\na\n"},
		{[]string{cu + "echo", "hi"}, "", "hi\n"},
		{[]string{cu + "sort"}, "b\na\n", "a\nb\n"},
		{[]string{cu + "env", "-i", "A=1", cu + "env"}, "", "A=1\n"},
		{[]string{cu + "id", "-u"}, "", uid + "\n"},
		{[]string{cu + "touch", filepath.Join(tmp, "touched")}, "", ""},
		{[]string{cu + "sleep", "0"}, "", ""},
		{[]string{s.Items["bash"] + "/bin/bash", "-c", "echo ${BASH_VERSION%%.*}"}, "", "5\n"},
		{[]string{s.Items["bash"] + "/bin/sh", "-c", "echo $((1+2))"}, "", "3\n"},
		{[]string{s.Items["grep"] + "/bin/grep", "-P", "b.r"}, "foo\nbar\n", "bar\n"},
		{[]string{s.Items["sed"] + "/bin/sed", "s/o/0/g"}, "foo\n", "f00\n"},
		{[]string{s.Items["dash"] + "/bin/dash", "-c", "echo $((2*3))"}, "", "6\n"},
		{[]string{s.Items["hello-script"] + "/bin/hello-script"}, "", "hello from nix\n" + uid + "\n"},
		{[]string{s.Items["profile"] + "/bin/hello-script"}, "", "hello from nix\n" + uid + "\n"},
		{[]string{s.Items["profile"] + "/bin/sh", "-c", ". " + s.Items["profile"] + "/etc/profile.d/env.sh; echo hi | sed s/h/H/"}, "", "Hi\n"},
	}
	for _, tt := range tests {
		cmd := exec.Command(tt.args[0], tt.args[1:]...)
		cmd.Dir = tmp
		cmd.Env = []string{"PATH=/nonexistent", "LC_ALL=C"}
		cmd.Stdin = strings.NewReader(tt.stdin)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Errorf("%q: %v\n%s", tt.args, err, out)
			continue
		}
		if tt.args[0] == cu+"ls" {
			if !strings.Contains(string(out), "proc\n") {
				t.Errorf("%q = %q, want a listing of / with proc", tt.args, out)
			}
			continue
		}
		if string(out) != tt.want {
			t.Errorf("%q = %q, want %q", tt.args, out, tt.want)
		}
	}
	if _, err := os.Stat(filepath.Join(tmp, "touched")); err != nil {
		t.Errorf("touch: %v", err)
	}
}

// The programs load their libraries from the store, not from the host.
func TestProgramsLoadStoreLibraries(t *testing.T) {
	s := New(t)
	for _, item := range []string{"coreutils", "bash", "grep", "sed", "dash"} {
		bins, err := filepath.Glob(s.Items[item] + "/bin/*")
		if err != nil || len(bins) == 0 {
			t.Fatalf("%s: no programs (%v)", item, err)
		}
		for _, bin := range bins {
			cmd := exec.Command(bin)
			cmd.Env = []string{"LD_TRACE_LOADED_OBJECTS=1"}
			out, err := cmd.CombinedOutput()
			if err != nil {
				t.Errorf("%s: %v\n%s", bin, err, out)
				continue
			}
			n := 0
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Fields(line)
				if len(f) == 0 || strings.HasPrefix(f[0], "linux-vdso") {
					continue
				}
				lib := f[0]
				if len(f) >= 3 && f[1] == "=>" {
					lib = f[2]
				}
				if !strings.HasPrefix(lib, s.Dir+"/") {
					t.Errorf("%s loads %q from outside the store", bin, line)
				}
				n++
			}
			if n < 2 {
				t.Errorf("%s: want at least libc and the loader, got:\n%s", bin, out)
			}
		}
	}
}

func refs(t *testing.T, flag, path string) []string {
	t.Helper()
	out, err := Run("nix-store", "-q", flag, path)
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(out)
}

func TestReferences(t *testing.T) {
	s := New(t)
	want := map[string][]string{
		"glibc":        {},
		"pcre2":        {"glibc"},
		"selinux":      {"glibc", "pcre2"},
		"acl":          {"glibc"},
		"tinfo":        {"glibc"},
		"coreutils":    {"glibc", "pcre2", "selinux"},
		"bash":         {"bash", "glibc", "tinfo"},
		"grep":         {"glibc", "pcre2"},
		"sed":          {"acl", "glibc", "pcre2", "selinux"},
		"dash":         {"glibc"},
		"hello-script": {"bash", "coreutils"},
		"noref":        {},
		"profile": {"bash", "coreutils", "dash", "grep", "hello-script",
			"profile", "sed"},
	}
	for item, names := range want {
		var w []string
		for _, n := range names {
			w = append(w, s.Items[n])
		}
		slices.Sort(w)
		got := refs(t, "--references", s.Items[item])
		slices.Sort(got)
		if !slices.Equal(got, w) {
			t.Errorf("references of %s:\n got %q\nwant %q", item, got, w)
		}
	}
}

func TestProfileClosure(t *testing.T) {
	s := New(t)
	got := refs(t, "-qR", s.Items["profile"])
	slices.Sort(got)
	var want []string
	for name, p := range s.Items {
		if name != "noref" {
			want = append(want, p)
		}
	}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("closure of profile:\n got %q\nwant %q", got, want)
	}
}

func TestInterpreter(t *testing.T) {
	s := New(t)
	out, err := exec.Command("readelf", "-l", s.Items["grep"]+"/bin/grep").CombinedOutput()
	if err != nil {
		t.Fatalf("readelf: %v\n%s", err, out)
	}
	want := "[Requesting program interpreter: " + s.Items["glibc"] + "/lib/ld-linux-x86-64.so.2]"
	if !strings.Contains(string(out), want) {
		t.Errorf("readelf -l grep does not contain %q:\n%s", want, out)
	}
}

func TestRunNixCommand(t *testing.T) {
	s := New(t)
	out, err := Run("nix", "path-info", "-r", s.Items["hello-script"])
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, s.Items["glibc"]) {
		t.Errorf("nix path-info -r hello-script does not list glibc:\n%s", out)
	}
}

func TestRunError(t *testing.T) {
	bad := "/nix/store/00000000000000000000000000000000-missing"
	_, err := Run("nix-store", "-q", "--references", bad)
	if err == nil {
		t.Fatal("nix-store -q --references on a missing path succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, "nix-store -q --references "+bad) || !strings.Contains(msg, "is not valid") {
		t.Errorf("error %q lacks the command line or nix-store's stderr", msg)
	}
}
