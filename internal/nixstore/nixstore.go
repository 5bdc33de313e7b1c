// Package nixstore builds and queries a small, real Nix store for tests.
//
// The store is described by testdata/nix/store.nix: plain derivations (builder
// /bin/sh, no nixpkgs) that copy the host's glibc, a few shared libraries and
// programs into /nix/store and patch them with patchelf so that they really
// need their store paths (store ELF interpreter, RUNPATH into the store, store
// shebangs, a profile of absolute symlinks). It needs Debian's nix-bin and
// patchelf and runs nix in single-user mode as root, offline, without sandbox
// or build users.
package nixstore

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
)

// Store is the set of items built from testdata/nix/store.nix in the real
// /nix/store.
type Store struct {
	// Dir is the store directory, "/nix/store".
	Dir string
	// Items maps an attribute name of store.nix (glibc, pcre2, selinux, acl,
	// tinfo, coreutils, bash, grep, sed, dash, hello-script, profile, noref)
	// to its output path.
	Items map[string]string
}

// offlineOptions are passed to the nix commands that accept them: no
// substituters (no network), no sandbox and no build users (single-user
// mode as root, no daemon).
var offlineOptions = []string{
	"--option", "build-users-group", "",
	"--option", "substituters", "",
	"--option", "sandbox", "false",
}

// Dir returns the absolute path of testdata/nix, found from this source
// file's location.
func Dir() (string, error) {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return "", errors.New("nixstore: cannot locate package source (runtime.Caller failed)")
	}
	dir := filepath.Join(filepath.Dir(file), "..", "..", "testdata", "nix")
	if _, err := os.Stat(filepath.Join(dir, "store.nix")); err != nil {
		return "", fmt.Errorf("nixstore: locate testdata/nix: %w", err)
	}
	return dir, nil
}

// Build builds testdata/nix/store.nix with nix-build (offline, as root, no
// sandbox, no build users) and returns its outputs. It is idempotent and fast
// when already built. hostKey is the sha256 of the host's copied library and
// program files, so a host upgrade rebuilds.
func Build() (*Store, error) {
	if _, err := exec.LookPath("nix-build"); err != nil {
		return nil, fmt.Errorf("nixstore: nix-build not found (%w): run `make deps` to install Debian's nix-bin and patchelf", err)
	}
	if _, err := exec.LookPath("patchelf"); err != nil {
		return nil, fmt.Errorf("nixstore: patchelf not found (%w): run `make deps`", err)
	}
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	key, err := HostKey()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "store.nix")
	out, err := Run("nix-build", file, "--argstr", "hostKey", key, "--no-out-link")
	if err != nil {
		return nil, fmt.Errorf("nixstore: build %s: %w", file, err)
	}
	s := &Store{Items: map[string]string{}}
	for _, p := range strings.Fields(out) {
		name, err := itemName(p)
		if err != nil {
			return nil, fmt.Errorf("nixstore: nix-build %s printed %q: %w", file, p, err)
		}
		if _, dup := s.Items[name]; dup {
			return nil, fmt.Errorf("nixstore: nix-build %s: two outputs named %q", file, name)
		}
		d := filepath.Dir(p)
		if s.Dir != "" && s.Dir != d {
			return nil, fmt.Errorf("nixstore: nix-build %s: outputs in two store directories, %s and %s", file, s.Dir, d)
		}
		s.Dir = d
		s.Items[name] = p
	}
	if len(s.Items) == 0 {
		return nil, fmt.Errorf("nixstore: nix-build %s printed no output paths", file)
	}
	return s, nil
}

// itemName returns the name part of a store path: the derivation name, which
// store.nix makes equal to the attribute name.
func itemName(p string) (string, error) {
	base := filepath.Base(p)
	if !filepath.IsAbs(p) || len(base) < 34 || base[32] != '-' {
		return "", errors.New("not a store path")
	}
	return base[33:], nil
}

// HostFiles returns the host files that store.nix copies, as listed in
// testdata/nix/host.nix, in attribute-name order.
func HostFiles() ([]string, error) {
	dir, err := Dir()
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "host.nix")
	out, err := Run("nix-instantiate", "--eval", "--json", "--strict", file)
	if err != nil {
		return nil, fmt.Errorf("nixstore: evaluate %s: %w", file, err)
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		return nil, fmt.Errorf("nixstore: evaluate %s: %w", file, err)
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	files := make([]string, len(names))
	for i, k := range names {
		files[i] = m[k]
	}
	return files, nil
}

// HostKey returns the hostKey argument of store.nix: the hex sha256 of the
// lines "<hex sha256 of file>  <path>\n" for each of HostFiles, which is what
// `sha256sum FILES… | sha256sum` prints (bench/closure.sh computes it so).
func HostKey() (string, error) {
	files, err := HostFiles()
	if err != nil {
		return "", err
	}
	sum := sha256.New()
	for _, f := range files {
		h, err := hashFile(f)
		if err != nil {
			return "", fmt.Errorf("nixstore: host key: %w", err)
		}
		fmt.Fprintf(sum, "%s  %s\n", h, f)
	}
	return hex.EncodeToString(sum.Sum(nil)), nil
}

func hashFile(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", name, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

var (
	once     sync.Once
	built    *Store
	buildErr error
)

// New is Build for tests: it builds once per process (sync.Once) and calls
// t.Fatal on error, never t.Skip. When nix-build is missing the message says
// to run `make deps`.
func New(t testing.TB) *Store {
	t.Helper()
	once.Do(func() { built, buildErr = Build() })
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return built
}

// Run runs a nix command (nix-store, nix-build, nix-instantiate, nix
// path-info …) with the offline options where they apply and returns its
// stdout. A failure is returned with the command line and its stderr.
// For the nix command, the nix-command experimental feature is turned on.
func Run(args ...string) (string, error) {
	if len(args) == 0 {
		return "", errors.New("nixstore: Run: no command")
	}
	cmdArgs := []string{}
	switch args[0] {
	case "nix":
		cmdArgs = append(cmdArgs, "--extra-experimental-features", "nix-command")
		cmdArgs = append(cmdArgs, offlineOptions...)
	case "nix-build", "nix-store", "nix-instantiate", "nix-env", "nix-shell":
		cmdArgs = append(cmdArgs, offlineOptions...)
	}
	cmdArgs = append(cmdArgs, args[1:]...)
	cmd := exec.Command(args[0], cmdArgs...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%s: %w\n%s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// Python builds the python3 item of testdata/nix/bench-ptrace.nix, Debian's
// python3.11 with its standard library copied into the store as store.nix
// copies programs, and returns its path. Its benchKey covers the host's
// python binary and the metadata of its library tree, so a host upgrade
// rebuilds it; the first build compiles the standard library (half a
// minute or so).
func Python() (string, error) {
	dir, err := Dir()
	if err != nil {
		return "", err
	}
	hostKey, err := HostKey()
	if err != nil {
		return "", err
	}
	file := filepath.Join(dir, "bench-ptrace.nix")
	sum := sha256.New()
	h, err := hashFile("/usr/bin/python3.11")
	if err != nil {
		return "", fmt.Errorf("nixstore: python: %w", err)
	}
	fmt.Fprintf(sum, "%s  /usr/bin/python3.11\n", h)
	err = filepath.WalkDir("/usr/lib/python3.11", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(sum, "%s\t%v\t%d\t%d\n", p, fi.Mode(), fi.Size(), fi.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("nixstore: python: %w", err)
	}
	out, err := Run("nix-build", file, "-A", "python3", "--argstr", "hostKey", hostKey,
		"--argstr", "benchKey", "test-"+hex.EncodeToString(sum.Sum(nil)), "--no-out-link")
	if err != nil {
		return "", fmt.Errorf("nixstore: build %s: %w", file, err)
	}
	p := strings.TrimSpace(out)
	if name, err := itemName(p); err != nil || name != "python3" {
		return "", fmt.Errorf("nixstore: nix-build %s -A python3 printed %q", file, out)
	}
	return p, nil
}

var (
	pyOnce  sync.Once
	pyPath  string
	pyError error
)

// NewPython is Python for tests: once per process, t.Fatal on error.
func NewPython(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() { pyPath, pyError = Python() })
	if pyError != nil {
		t.Fatal(pyError)
	}
	return pyPath
}
