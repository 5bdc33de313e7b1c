package need

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestMissingHelper is run by TestMissing in a child process.
func TestMissingHelper(t *testing.T) {
	if os.Getenv("NEED_HELPER") == "" {
		t.Skip("helper for TestMissing")
	}
	Tool(t, "gpack-no-such-tool", "no-such-package")
}

// TestMissing checks both behaviours of a missing tool: a skip on a
// developer's machine, a failure under CI=true.
func TestMissing(t *testing.T) {
	for _, c := range []struct {
		ci   string
		fail bool
		says string
	}{
		{"", false, "--- SKIP"},
		{"true", true, "--- FAIL"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestMissingHelper$", "-test.v")
		cmd.Env = append(os.Environ(), "NEED_HELPER=1", "CI="+c.ci)
		out, err := cmd.CombinedOutput()
		if (err != nil) != c.fail || !strings.Contains(string(out), c.says) ||
			!strings.Contains(string(out), "needs gpack-no-such-tool, which is missing") ||
			!strings.Contains(string(out), "apt-get install no-such-package") {
			t.Errorf("CI=%q: %v\n%s", c.ci, err, out)
		}
	}
}
