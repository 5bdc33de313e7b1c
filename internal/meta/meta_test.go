// Package meta holds checks of the repository itself, rather than of one
// package: promises the build makes that no package's own tests can see.
package meta

import (
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gpack/gpack/internal/need"
)

// repoRoot is the module root, two levels above this package.
const repoRoot = "../.."

var fuzzFunc = regexp.MustCompile(`(?m)^func (Fuzz\w+)\(\w+ \*testing\.F\)`)

// TestFuzzTargetsListed fails when a fuzz target is not in the Makefile's
// FUZZ_TARGETS, which make fuzz (and so make test) runs: a fuzz function
// that nothing fuzzes only runs its seed corpus.
func TestFuzzTargetsListed(t *testing.T) {
	mk, err := os.ReadFile(filepath.Join(repoRoot, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, f := range regexp.MustCompile(`\./[\w/.-]*/:Fuzz\w+`).FindAllString(string(mk), -1) {
		listed[f] = true
	}
	found := 0
	err = filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(repoRoot, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, m := range fuzzFunc.FindAllStringSubmatch(string(b), -1) {
			found++
			key := "./" + filepath.ToSlash(rel) + "/:" + m[1]
			if !listed[key] {
				t.Errorf("%s in %s is not in the Makefile's FUZZ_TARGETS (add %s:BUDGET)", m[1], path, key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found == 0 {
		t.Fatal("found no fuzz targets at all: the search is broken")
	}
	t.Logf("%d fuzz targets", found)
}

// TestUnsafeFiles keeps every use of package unsafe in a file named
// *_unsafe.go (or *_unsafe_test.go), as gVisor's checkunsafe does: the
// code a reviewer must read with the most care is then found by its name.
func TestUnsafeFiles(t *testing.T) {
	err := filepath.WalkDir(repoRoot, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_unsafe.go") || strings.HasSuffix(path, "_unsafe_test.go") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if regexp.MustCompile(`(?m)^\s*(import\s+)?(\w+\s+)?"unsafe"`).Match(b) {
			t.Errorf("%s imports unsafe: move that code to a file named *_unsafe.go", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// builtOnPurpose are the executables the repository holds on purpose: the
// launchers gpack embeds (launcher/launcherbin/build.sh writes them).
var builtOnPurpose = map[string]bool{
	"launcher/launcherbin/gpack-launcher-amd64":         true,
	"launcher/launcherbin/gpack-launcher-arm64":         true,
	"launcher/launcherbin/gpack-appimage-runtime-amd64": true,
	"launcher/launcherbin/gpack-appimage-runtime-arm64": true,
}

// TestNoBuildOutput fails when git tracks an ELF file other than the
// embedded launchers: a `go build` or `go test -c` run in a package
// directory leaves one there, and a commit of it adds megabytes to every
// clone for ever.
func TestNoBuildOutput(t *testing.T) {
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		if need.CI() {
			t.Fatalf("git ls-files: %v", err)
		}
		t.Skipf("git ls-files: %v (not a git checkout?)", err)
	}
	for _, name := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		if name == "" || builtOnPurpose[name] || strings.HasPrefix(name, "testdata/") || strings.Contains(name, "/testdata/") {
			continue
		}
		f, err := os.Open(filepath.Join(repoRoot, name))
		if err != nil {
			continue // deleted in the work tree, not yet committed
		}
		head := make([]byte, 4)
		n, _ := io.ReadFull(f, head)
		f.Close()
		if n == 4 && string(head) == "\x7fELF" {
			t.Errorf("%s is an ELF file tracked by git: build output, remove it (git rm --cached) and ignore it", name)
		}
	}
}
