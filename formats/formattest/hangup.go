package formattest

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/internal/teststore"
)

// hangupSize is the content of the item the SIGHUP test packs: enough that
// the slowest compressor a format takes is still at work seconds after
// its first temporary file appears, on any machine.
const hangupSize = 96 << 20

// hangup runs the real gpack pack -f NAME on a big item, sends it SIGHUP
// once it has started writing, and checks that it exits 129 and leaves
// nothing behind. The test stops gpack first (SIGSTOP) and looks: if the
// output were already complete the test would say so rather than pass.
func (s Suite) hangup(t *testing.T) {
	bin := buildGpack(t)
	root := t.TempDir()
	store := filepath.Join(root, "gnu", "store")
	item := filepath.Join(store, teststore.Hash("big")+"-big")
	if err := os.MkdirAll(item, 0o755); err != nil {
		t.Fatal(err)
	}
	data := Compressible(rand.New(rand.NewPCG(7, 7)), hangupSize)
	if err := os.WriteFile(filepath.Join(item, "data"), data, 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(item, "ld.so"), ELFHeader(t), 0o555); err != nil {
		t.Fatal(err)
	}
	// A program, for the formats that make every pack relocatable
	// (appimage), which need one to wrap.
	if err := os.Mkdir(filepath.Join(item, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(item, "bin", "big"), ELFHeader(t), 0o555); err != nil {
		t.Fatal(err)
	}
	// The slowest compressor the format takes: xz where there is one.
	algo := s.Format.Compressors()[0].Algo
	if _, ok := compress.Find(s.Format.Compressors(), compress.Xz); ok {
		algo = compress.Xz
	}
	outDir, cache := t.TempDir(), t.TempDir()
	out := filepath.Join(outDir, formats.DefaultOutput(s.Format, "big", algo, &formats.Options{}))
	cmd := exec.Command(bin, "pack", "-q", "-f", s.Format.Name(), "-C", string(algo), "-o", out, item)
	cmd.Env = append(os.Environ(), "XDG_CACHE_HOME="+cache)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()

	// Wait for the first temporary file, in the output's directory or
	// the cache, then freeze gpack and look.
	for !started(outDir, cache) {
		if exited(cmd.Process.Pid) {
			cmd.Wait()
			t.Fatalf("gpack exited before it wrote anything: %s", stderr.String())
		}
		time.Sleep(5 * time.Millisecond)
	}
	must(t, cmd.Process.Signal(syscall.SIGSTOP))
	for !stopped(cmd.Process.Pid) {
		time.Sleep(time.Millisecond)
	}
	if _, err := os.Lstat(out); err == nil {
		t.Fatalf("%s was complete before the signal: make hangupSize larger", out)
	}
	must(t, cmd.Process.Signal(syscall.SIGHUP))
	must(t, cmd.Process.Signal(syscall.SIGCONT))
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 128+int(syscall.SIGHUP) {
		t.Errorf("after SIGHUP: %v, want exit status 129; stderr %q", err, stderr.String())
	}
	NoLeftovers(t, outDir, cache)
}

// started reports whether gpack has begun to write: anything in the
// output's directory, or a temporary name in the cache.
func started(outDir, cache string) bool {
	if ents, _ := os.ReadDir(outDir); len(ents) > 0 {
		return true
	}
	found := false
	filepath.WalkDir(cache, func(p string, d os.DirEntry, err error) error {
		found = found || err == nil && strings.Contains(d.Name(), ".tmp")
		return nil
	})
	return found
}

// procState is the state letter of /proc/PID/stat: R, S, T (stopped), Z.
func procState(pid int) byte {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "stat"))
	if err != nil {
		return 'X'
	}
	// The command name, in parentheses, may hold spaces: the state
	// follows the last ')'.
	if i := bytes.LastIndexByte(b, ')'); i >= 0 && i+2 < len(b) {
		return b[i+2]
	}
	return 'X'
}

func stopped(pid int) bool { return procState(pid) == 'T' }
func exited(pid int) bool  { s := procState(pid); return s == 'Z' || s == 'X' }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// buildGpack builds this module's gpack, as `make build` does, into a
// directory of the test.
func buildGpack(t *testing.T) string {
	t.Helper()
	gomod, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil || len(bytes.TrimSpace(gomod)) == 0 {
		t.Fatalf("go env GOMOD: %v %s", err, gomod)
	}
	bin := filepath.Join(t.TempDir(), "gpack")
	cmd := exec.Command("go", "build", "-trimpath", "-o", bin, "./cmd/gpack")
	cmd.Dir = filepath.Dir(string(bytes.TrimSpace(gomod)))
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/gpack: %v\n%s", err, out)
	}
	return bin
}
