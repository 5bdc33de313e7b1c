package launcher

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// goList returns the packages that pkg depends on, as go list -deps
// prints them with format, for linux/arch.
func goList(t *testing.T, arch, format, pkg string) []string {
	t.Helper()
	args := []string{"list", "-deps"}
	if format != "" {
		args = append(args, "-f", format)
	}
	cmd := exec.Command("go", append(args, pkg)...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list: %v\n%s", err, stderr)
	}
	return strings.Fields(string(out))
}

// TestLauncherDeps keeps the launcher small and self-contained: every pack
// carries it, so it may use only the standard library, golang.org/x/sys and
// its own packages. It must never link the embedding package (it would embed
// itself), nor gpack's CLI, registry and compression libraries.
func TestLauncherDeps(t *testing.T) {
	allowed := []string{
		"golang.org/x/sys/",
		"github.com/gpack/gpack/launcher",
		"github.com/gpack/gpack/cmd/gpack-launcher",
	}
	forbidden := []string{
		"github.com/spf13/",                      // cobra, pflag: the CLI
		"github.com/google/go-containerregistry", // OCI output
		"github.com/klauspost/",                  // compressors
		"github.com/ulikunitz/",
		"github.com/gpack/gpack/launcher/launcherbin",
	}
	// Standard packages that would add hundreds of kilobytes for nothing
	// the launcher needs; fmt in particular brings its reflection-based
	// printer, which is why errors are wrapped by hand (internal/errs).
	heavy := map[string]bool{"fmt": true, "net": true, "net/http": true, "encoding/json": true, "text/template": true}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			for _, pkg := range goList(t, arch, "{{if not .Standard}}{{.ImportPath}}{{end}}", "github.com/gpack/gpack/cmd/gpack-launcher") {
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
			for _, pkg := range goList(t, arch, "", "github.com/gpack/gpack/cmd/gpack-launcher") {
				if heavy[pkg] {
					t.Errorf("the launcher depends on %s", pkg)
				}
			}
		})
	}
}

// TestGpackDeps keeps the launcher's run-time code out of gpack's own
// binary: gpack writes packs, it needs only their contract and the embedded
// launcher binary. Linking an engine (the ptrace tables, the raw-clone
// child) would grow gpack for nothing, and let the pack writer and the
// launcher drift into sharing private state.
func TestGpackDeps(t *testing.T) {
	allowed := map[string]bool{
		"github.com/gpack/gpack/launcher/contract":      true,
		"github.com/gpack/gpack/launcher/internal/errs": true,
		"github.com/gpack/gpack/launcher/launcherbin":   true,
	}
	for _, pkg := range goList(t, "amd64", "{{.ImportPath}}", "github.com/gpack/gpack/cmd/gpack") {
		if strings.HasPrefix(pkg, "github.com/gpack/gpack/launcher") && !allowed[pkg] {
			t.Errorf("gpack links %s, which belongs to the launcher's run time", pkg)
		}
	}
}

// TestAppImageRuntimeDeps bounds the AppImage runtime (cmd/gpack-launcher
// built with the appimage tag): the launcher, plus the squashfs reader and
// what it needs (the decompressors, fmt). The CLI, the registry code and
// the embedding package stay out, and so do the network packages.
func TestAppImageRuntimeDeps(t *testing.T) {
	forbidden := []string{
		"github.com/spf13/",
		"github.com/google/go-containerregistry",
		"github.com/gpack/gpack/launcher/launcherbin",
		"github.com/gpack/gpack/cmd/gpack",
		"github.com/gpack/gpack/formats/oci",
		"github.com/gpack/gpack/formats/tarball",
	}
	for _, arch := range []string{"amd64", "arm64"} {
		t.Run(arch, func(t *testing.T) {
			deps := goListTags(t, arch, "appimage", "github.com/gpack/gpack/cmd/gpack-launcher")
			has := map[string]bool{}
			for _, pkg := range deps {
				has[pkg] = true
				for _, f := range forbidden {
					if pkg == f || strings.HasPrefix(pkg, f) && !strings.HasPrefix(pkg, "github.com/gpack/gpack/cmd/gpack-launcher") {
						t.Errorf("the AppImage runtime depends on %s", pkg)
					}
				}
				if pkg == "net/http" || pkg == "crypto/tls" {
					t.Errorf("the AppImage runtime depends on %s", pkg)
				}
			}
			for _, want := range []string{"github.com/gpack/gpack/launcher/appimage", "github.com/gpack/gpack/formats/squashfs"} {
				if !has[want] {
					t.Errorf("the AppImage runtime does not link %s: is the appimage tag still what selects it?", want)
				}
			}
		})
	}
}

// goListTags is go list -deps with build tags, import paths only.
func goListTags(t *testing.T, arch, tags, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", tags, pkg)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	return strings.Fields(string(out))
}
