// Package meta holds checks of the repository itself, rather than of one
// package: promises the build makes that no package's own tests can see.
package meta

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
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
