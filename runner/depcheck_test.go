package runner

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestLauncherDeps keeps the launcher small and self-contained: every pack
// carries it, so it may use only the standard library, golang.org/x/sys and
// its own packages. It must never link the embedding package (it would embed
// itself), nor gpack's CLI, registry and compression libraries.
func TestLauncherDeps(t *testing.T) {
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.ImportPath}}{{end}}",
		"github.com/gpack/gpack/cmd/gpack-launcher")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderrOf(err))
	}
	allowed := []string{
		"golang.org/x/sys/",
		"github.com/gpack/gpack/runner",
		"github.com/gpack/gpack/cmd/gpack-launcher",
	}
	forbidden := []string{
		"github.com/spf13/",                      // cobra, pflag: the CLI
		"github.com/google/go-containerregistry", // OCI output
		"github.com/klauspost/",                  // compressors
		"github.com/ulikunitz/",
		"github.com/schollz/", // progress bars
		"github.com/gpack/gpack/runner/launcherbin",
	}
	for _, pkg := range strings.Fields(string(out)) {
		for _, f := range forbidden {
			if strings.HasPrefix(pkg, f) {
				t.Errorf("the launcher depends on %s", pkg)
			}
		}
		ok := false
		for _, a := range allowed {
			ok = ok || strings.HasPrefix(pkg, a)
		}
		if !ok {
			t.Errorf("the launcher depends on %s, which is neither the standard library nor golang.org/x/sys", pkg)
		}
	}

	// Standard packages that would add hundreds of kilobytes for nothing
	// the launcher needs; fmt in particular brings its reflection-based
	// printer, which is why errors are wrapped by hand (errors.go).
	cmd = exec.Command("go", "list", "-deps", "github.com/gpack/gpack/cmd/gpack-launcher")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64")
	out, err = cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderrOf(err))
	}
	heavy := map[string]bool{"fmt": true, "net": true, "net/http": true, "encoding/json": true, "text/template": true}
	for _, pkg := range strings.Fields(string(out)) {
		if heavy[pkg] {
			t.Errorf("the launcher depends on %s", pkg)
		}
	}
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}
