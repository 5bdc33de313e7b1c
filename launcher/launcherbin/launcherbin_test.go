package launcherbin

import (
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

// TestEmbeddedLauncherFresh fails when the launcher's sources differ from
// those the embedded binary was built from.
func TestEmbeddedLauncherFresh(t *testing.T) {
	want, err := os.ReadFile("gpack-launcher.sha256")
	if err != nil {
		t.Fatal(err)
	}
	got := sourceHashes(t)
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
	t.Fatalf("the embedded launcher is stale: run launcher/launcherbin/build.sh (changed or added: %s)",
		strings.Join(diff, ", "))
}

// sourceHashes computes what build.sh writes to gpack-launcher.sha256.
func sourceHashes(t *testing.T) string {
	t.Helper()
	abs, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		cmd := exec.Command("go", args...)
		cmd.Dir = abs
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
		out, err := cmd.Output()
		if err != nil {
			if ee, ok := err.(*exec.ExitError); ok {
				t.Fatalf("go %v: %v\n%s", args, err, ee.Stderr)
			}
			t.Fatalf("go %v: %v", args, err)
		}
		return string(out)
	}
	module := strings.TrimSpace(run("list", "-m"))
	out := run("list", "-deps", "-f",
		`{{if and .Module (eq .Module.Path "`+module+`")}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}`,
		"./cmd/gpack-launcher")
	var files []string
	for _, f := range strings.Fields(out) {
		rel, err := filepath.Rel(abs, f)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, rel)
	}
	sort.Strings(files) // bytewise, as LC_ALL=C sort
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

func TestBinary(t *testing.T) {
	const maxSize = 3 << 20
	if len(Binary) == 0 || len(Binary) > maxSize {
		t.Fatalf("the embedded launcher is %d bytes, want 1 to %d", len(Binary), maxSize)
	}
	f, err := elf.NewFile(bytes.NewReader(Binary))
	if err != nil {
		t.Fatal(err)
	}
	if f.Machine != elf.EM_X86_64 || f.Type != elf.ET_EXEC {
		t.Errorf("the embedded launcher is %v %v, want an x86-64 executable", f.Machine, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the embedded launcher has %v: it must be static", p.Type)
		}
	}
}
