package tarball_test

import (
	"os/exec"
	"testing"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/formats/tarball"
)

// extract unpacks a tarball with a real tar, as root, keeping modes.
func extract(tool string) func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
	return func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
		dir := t.TempDir()
		if b, err := exec.Command(tool, "--numeric-owner", "-xpf", out, "-C", dir).CombinedOutput(); err != nil {
			t.Fatalf("%s -xpf %s: %v\n%s", tool, out, err, b)
		}
		return formattest.ReadDir(t, dir)
	}
}

func TestFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format: tarball.Format,
		Readers: []formattest.Reader{
			{Name: "GNU tar", Read: extract("tar")},
			{Name: "bsdtar", Read: extract("bsdtar")},
		},
	})
}
