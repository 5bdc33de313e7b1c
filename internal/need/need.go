// Package need is how a test says what it needs of the machine: a tool,
// root, a device. What is missing skips the test on a developer's machine,
// with the command that installs it, and fails it under CI=true: CI's
// machine runs make deps first, so there a missing tool is a broken setup,
// and a skip would let a test pass that never ran.
package need

import (
	"os"
	"os/exec"
	"testing"
)

// CI reports whether the tests run in CI (CI=true), where every need is
// a must.
func CI() bool { return os.Getenv("CI") == "true" }

// Missing ends the test for want, which is missing: a skip, or under CI a
// failure. fix says how to get it.
func Missing(t testing.TB, want, fix string) {
	t.Helper()
	if CI() {
		t.Fatalf("needs %s, which is missing (CI=true): %s", want, fix)
	}
	t.Skipf("needs %s, which is missing: %s", want, fix)
}

// Tool returns the path of the command name, which Debian's package pkg
// installs (make deps does).
func Tool(t testing.TB, name, pkg string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(t, name, "apt-get install "+pkg+" (make deps installs it)")
	}
	return p
}

// Root needs the test to run as root: it mounts, or runs programs as other
// users (make test runs as root).
func Root(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "root", "run the tests as root (sudo make test)")
	}
}

// Device needs the device file path, such as /dev/fuse, to be there and
// open for reading and writing.
func Device(t testing.TB, path, fix string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		Missing(t, path, fix+" ("+err.Error()+")")
	}
	f.Close()
}
