package main

import (
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// stateVar makes the test binary a helper that starts the rest of its
// arguments in a start state unlike the default (see stateHelper): its
// value says which standard descriptors to close ("0", "02", …; "none").
const stateVar = "GPACK_TEST_START_STATE"

// Signals the helper blocks and ignores: SIGINT and SIGTERM blocked, as
// Python's multiprocessing blocks them before it starts its resource
// tracker; SIGPIPE ignored, as systemd's IgnoreSIGPIPE does; SIGUSR1 and
// SIGQUIT ignored, which the Go runtime would otherwise reset; SIGUSR2
// blocked.
var (
	blockedSignals = []syscall.Signal{syscall.SIGINT, syscall.SIGTERM, syscall.SIGUSR2}
	ignoredSignals = []os.Signal{syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGQUIT}
)

// stateHelper never returns: it blocks and ignores the signals above, sets
// the umask to 027 and two resource limits, closes the descriptors that
// mode lists ("0", "02", …), and execs its arguments, or exits 99.
func stateHelper(mode string) {
	runtime.LockOSThread() // the mask is the thread's, up to the exec
	signal.Ignore(ignoredSignals...)
	syscall.Umask(0o027)
	if err := syscall.Setrlimit(syscall.RLIMIT_CORE, &syscall.Rlimit{Cur: 0, Max: 0}); err != nil {
		stateFail("setrlimit: " + err.Error())
	}
	// A soft file limit the Go runtime would raise to the hard one.
	var nofile syscall.Rlimit
	syscall.Getrlimit(syscall.RLIMIT_NOFILE, &nofile)
	nofile.Cur = min(nofile.Max, 777)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &nofile); err != nil {
		stateFail("setrlimit: " + err.Error())
	}
	os.Unsetenv(stateVar)
	if len(os.Args) < 2 {
		stateFail("no command")
	}
	// A soft address-space limit below what the Go runtime reserves,
	// which the launcher raises for itself and must put back. prlimit
	// sets it, in the chain: it would leave this Go helper itself too
	// little to run on.
	args := append([]string{"prlimit", "--as=419430400:unlimited", "--"}, os.Args[1:]...)
	path, err := exec.LookPath(args[0])
	if err != nil {
		stateFail(err.Error())
	}
	var set unix.Sigset_t
	for _, s := range blockedSignals {
		set.Val[0] |= 1 << (uint(s) - 1)
	}
	if err := unix.PthreadSigmask(unix.SIG_SETMASK, &set, nil); err != nil {
		stateFail("sigprocmask: " + err.Error())
	}
	for _, c := range mode {
		if c >= '0' && c <= '2' {
			syscall.Close(int(c - '0'))
		}
	}
	stateFail("exec: " + syscall.Exec(path, args, os.Environ()).Error())
}

// reportHex returns the hexadecimal field of startstate's report.
func reportHex(report, field string) uint64 {
	for _, l := range strings.Split(report, "\n") {
		if v, ok := strings.CutPrefix(l, field+": "); ok {
			n, _ := strconv.ParseUint(v, 16, 64)
			return n
		}
	}
	return 0
}

// tmpName matches the name of a run's TMPDIR (userDir "tmp").
var tmpName = regexp.MustCompile(`/tmp[0-9]+`)

func stateFail(msg string) {
	os.Stderr.WriteString("start-state helper: " + msg + "\n")
	os.Exit(99)
}

// TestStartState checks that the program gets exactly what execve would
// give it: the signal mask, the ignored signals, the descriptors (closed
// standard ones stay closed, others pass with their flags), the resource
// limits, the umask, the working directory, the environment and the
// arguments. startstate prints all of them; its output through the launcher,
// on each engine and on the direct path, must equal its output when the
// same chain starts it by its store path with the store visible.
func TestStartState(t *testing.T) {
	p := testPack(t)
	prog := filepath.Join(p.store.Path("startstate"), "bin/startstate")
	for _, closed := range []string{"", "0", "2", "012"} {
		t.Run("closed "+closed, func(t *testing.T) {
			out := filepath.Join(p.userDir(t, "state", testUID), "report")
			work := p.userDir(t, "work", testUID)
			mode := closed
			if mode == "" {
				mode = "none"
			}
			args := []string{"-o", out, "a", "b c"}
			report := func(t *testing.T, inv invocation) string {
				t.Helper()
				inv.state = mode
				inv.dir = work
				inv.wrap = true
				inv.fds = []string{"three\n"}
				r := p.run(t, inv)
				if r.status != 0 {
					t.Fatalf("status %d, stderr:\n%s", r.status, r.stderr)
				}
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				os.Remove(out)
				var keep []string
				// Each run has a TMPDIR of its own, where the file
				// behind descriptor 3 lives too.
				b = tmpName.ReplaceAll(b, []byte("tmpN"))
				for _, l := range strings.Split(string(b), "\n") {
					// The runs differ in GPACK_ENGINE alone.
					if !strings.HasPrefix(l, "env: GPACK_ENGINE=") {
						keep = append(keep, l)
					}
				}
				return strings.Join(keep, "\n")
			}
			// The same chain, the program run by its store path.
			want := report(t, invocation{args: append([]string{prog}, args...), visible: true})
			// The helper's signals, besides those that the test itself
			// may have been started with (nohup ignores SIGHUP).
			for field, bits := range map[string]uint64{"sigblk": 0x4802, "sigign": 0x1204} {
				if got := reportHex(want, field); got&bits != bits {
					t.Fatalf("the direct start has %s %x, without the helper's %x:\n%s", field, got, bits, want)
				}
			}
			for _, s := range []string{"umask: 0027",
				"rlimit 4: 0 0", "rlimit 7: 777 ", "rlimit 9: 419430400 18446744073709551615", "fd 3: "} {
				if !strings.Contains(want, s) {
					t.Fatalf("the direct start lacks %q: the helper did not set the state up:\n%s", s, want)
				}
			}
			for _, fd := range closed {
				if strings.Contains(want, "fd "+string(fd)+": ") {
					t.Fatalf("the direct start has descriptor %c, which the helper closed:\n%s", fd, want)
				}
			}
			cases := []struct {
				name string
				inv  invocation
			}{
				{"direct path", invocation{visible: true}},
				{"userns", invocation{engine: "userns"}},
				{"userns, no store directory", invocation{engine: "userns", noStoreDir: true}},
				{"ptrace", invocation{engine: "ptrace"}},
				{"ptrace, user namespaces off", invocation{engine: "ptrace", usernsOff: true}},
			}
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					tc.inv.args = append([]string{"bin/startstate"}, args...)
					got := report(t, tc.inv)
					if got != want {
						t.Errorf("through the launcher:\n%s\nstarted directly:\n%s", got, want)
					}
				})
			}
		})
	}
}
