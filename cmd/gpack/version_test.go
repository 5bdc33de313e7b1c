package main

import (
	"strings"
	"testing"

	"github.com/gpack/gpack/launcher/launcherbin"
)

// TestVersion: gpack version and gpack --version print the same two lines,
// gpack's version and that of the launchers it embeds, which is what
// .gpack/launcher --version prints in a pack (launcherbin's TestVersion).
func TestVersion(t *testing.T) {
	a := gpack(t, 0, "version")
	b := gpack(t, 0, "--version")
	if a.code != 0 || b.code != 0 || a.stdout != b.stdout {
		t.Fatalf("gpack version: %d %q %q; gpack --version: %d %q %q", a.code, a.stdout, a.stderr, b.code, b.stdout, b.stderr)
	}
	l := lines(a.stdout)
	if len(l) != 2 || !strings.HasPrefix(l[0], "gpack ") ||
		l[1] != "launcher "+launcherbin.Version+", for linux/amd64, linux/arm64" {
		t.Errorf("gpack version printed %q", a.stdout)
	}
	oneLineError(t, gpack(t, 0, "version", "extra"), 2, "see 'gpack version --help'")
}
