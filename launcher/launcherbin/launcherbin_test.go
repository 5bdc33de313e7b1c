package launcherbin

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/need"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// TestEmbeddedLauncherFresh fails when the launcher's sources differ from
// those the embedded binary was built from.
func TestEmbeddedLauncherFresh(t *testing.T) {
	for _, c := range []struct{ name, tags string }{{"gpack-launcher", ""}, {"gpack-appimage-runtime", "appimage"}} {
		t.Run(c.name, func(t *testing.T) { checkFresh(t, c.name, c.tags) })
	}
}

// checkFresh compares name.sha256 with the sources a build with tags uses.
func checkFresh(t *testing.T, name, tags string) {
	want, err := os.ReadFile(name + ".sha256")
	if err != nil {
		t.Fatal(err)
	}
	got := sourceHashes(t, tags)
	if string(want) == got {
		return
	}
	var diff []string
	old := map[string]bool{}
	for _, l := range strings.Split(string(want), "\n") {
		old[l] = true
	}
	for _, l := range strings.Split(got, "\n") {
		if l != "" && !old[l] {
			diff = append(diff, strings.TrimSpace(l[strings.Index(l, " "):]))
		}
	}
	t.Fatalf("the embedded %s is stale: run launcher/launcherbin/build.sh (changed or added: %s)",
		name, strings.Join(diff, ", "))
}

// sourceHashes computes what build.sh writes to gpack-launcher.sha256
// (tags "") or gpack-appimage-runtime.sha256 (tags "appimage").
func sourceHashes(t *testing.T, tags string) string {
	t.Helper()
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	run := func(arch string, args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = abs
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("go %v: %v\n%s", args, err, ee.Stderr)
			}
			t.Fatalf("go %v: %v", args, err)
		}
		return string(out)
	}
	module := strings.TrimSpace(run("amd64", "list", "-m"))
	seen := map[string]bool{}
	var files []string
	for _, arch := range Arches() {
		out := run(arch, "list", "-tags", tags, "-deps", "-f",
			`{{if and .Module (eq .Module.Path "`+module+`")}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
			"./cmd/gpack-launcher")
		for _, f := range strings.Fields(out) {
			rel, err := filepath.Rel(abs, f)
			if err != nil {
				t.Fatal(err)
			}
			if !seen[rel] {
				seen[rel] = true
				files = append(files, rel)
			}
		}
	}
	sort.Strings(files) // bytewise, as LC_ALL=C sort -u
	files = append(files, "go.mod")
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join(abs, f))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		b.WriteString(hex.EncodeToString(sum[:]) + "  " + f + "\n")
	}
	return b.String()
}

// TestBinary checks the embedded binaries: static executables for their
// machine, the launcher under 3 MiB and the AppImage runtime under 4 MiB
// (issue 13's bound).
func TestBinary(t *testing.T) {
	for _, c := range []struct {
		name    string
		binary  func(string) ([]byte, error)
		maxSize int
	}{{"launcher", Binary, 3 << 20}, {"runtime", AppImageRuntime, 4 << 20}} {
		t.Run(c.name, func(t *testing.T) { checkBinary(t, c.binary, c.maxSize) })
	}
	if _, err := Binary("riscv64"); err == nil || !strings.Contains(err.Error(), "no launcher for riscv64") {
		t.Errorf("Binary(riscv64) = %v, want an error naming riscv64", err)
	}
	if _, err := AppImageRuntime("riscv64"); err == nil || !strings.Contains(err.Error(), "riscv64") {
		t.Errorf("AppImageRuntime(riscv64) = %v, want an error naming riscv64", err)
	}
}

func checkBinary(t *testing.T, binary func(string) ([]byte, error), maxSize int) {
	machines := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}
	for _, arch := range Arches() {
		t.Run(arch, func(t *testing.T) {
			b, err := binary(arch)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) == 0 || len(b) > maxSize {
				t.Fatalf("the embedded launcher is %d bytes, want 1 to %d", len(b), maxSize)
			}
			t.Logf("%s: %d bytes", arch, len(b))
			f, err := elf.NewFile(bytes.NewReader(b))
			if err != nil {
				t.Fatal(err)
			}
			if f.Machine != machines[arch] || f.Type != elf.ET_EXEC {
				t.Errorf("the embedded launcher is %v %v, want a %v executable", f.Machine, f.Type, machines[arch])
			}
			for _, p := range f.Progs {
				if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
					t.Errorf("the embedded launcher has %v: it must be static", p.Type)
				}
			}
		})
	}
}

// TestVersion runs each embedded launcher as .gpack/launcher --version, as a
// user would to learn which launcher a pack carries: it must say Version.
// The arm64 one runs under qemu-aarch64-static, which the tests' deps
// install; with CI=true its absence is a failure.
func TestVersion(t *testing.T) {
	for _, arch := range Arches() {
		t.Run(arch, func(t *testing.T) {
			var prefix []string
			if arch != runtime.GOARCH {
				qemu := map[string]string{"arm64": "qemu-aarch64-static", "amd64": "qemu-x86_64-static"}[arch]
				prefix = []string{need.Tool(t, qemu, "qemu-user-static")}
			}
			b, err := Binary(arch)
			if err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), ".gpack")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			exe := filepath.Join(dir, "launcher")
			if err := os.WriteFile(exe, b, 0o755); err != nil {
				t.Fatal(err)
			}
			args := append(prefix, exe, "--version")
			out, err := exec.Command(args[0], args[1:]...).Output()
			if err != nil {
				t.Fatalf("%v: %v", args, err)
			}
			want := "gpack-launcher " + Version + " linux/" + arch + "\n"
			if string(out) != want {
				t.Errorf("%v printed %q, want %q", args, out, want)
			}
		})
	}
}
