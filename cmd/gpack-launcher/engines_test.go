package main

import (
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gpack/gpack/internal/teststore"
)

// engines are the launcher's engines by their GPACK_ENGINE value. Every
// end-to-end run goes through each of them, with the same expectations: an
// engine must give the program the view of the store it would have where
// the store exists at its path, whatever the engine does to get there.
var engines = []string{"userns", "ptrace"}

// forEachEngine runs f as one subtest per engine, named by the engine, so
// that "go test -run 'TestRun/ptrace'" runs one engine's cases.
func forEachEngine(t *testing.T, f func(t *testing.T, engine string)) {
	t.Helper()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) { f(t, engine) })
	}
}

// running is the GPACK_DEBUG line in which engine says that it runs program.
func running(engine, program string) string {
	return "gpack-launcher: engine " + engine + ": running " + program
}

// traceeCases are the rows of TestRun for the store's tracees, each run
// through its own wrapper: they must print exactly what they print where
// the store exists at its path (teststore checks that output there).
func traceeCases(p *pack) []runCase {
	var cases []runCase
	for _, tr := range p.tracees {
		// The launcher passes argv[0] as typed: the wrapper's path.
		argv0 := filepath.Join(p.root, "bin", tr.Name)
		cases = append(cases, runCase{
			name:   "tracee " + tr.Name,
			inv:    invocation{args: append([]string{"bin/" + tr.Name}, tr.Args...)},
			stdout: strings.ReplaceAll(tr.Stdout, teststore.Argv0, argv0),
		})
	}
	return cases
}

// TestStopCont stops the program with SIGSTOP and resumes it with SIGCONT,
// as job control and debuggers do. The program must really stop: its state
// is T (t under a tracer, which sees the stop first) and it answers no input
// meanwhile. The launcher must go on waiting rather than take the stop for
// an exit or swallow it, and after SIGCONT the program must finish normally.
func TestStopCont(t *testing.T) {
	p := testPack(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		inv := invocation{engine: engine, args: []string{"bin/sh", "-c",
			`echo ready; echo $$; read x; echo "got $x"`}}
		cmd, tmpdir, cancel := p.command(t, &inv)
		defer cancel()
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		lines, stderr := startReady(t, cmd)
		stop := func(format string, args ...any) {
			t.Helper()
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf(format+"\nstderr:\n%s", append(args, stderr.String())...)
		}
		if !lines.Scan() {
			stop("no pid line: %v", lines.Err())
		}
		// No pid namespace in either engine: $$ is the program's pid here.
		pid, err := strconv.Atoi(lines.Text())
		if err != nil {
			stop("pid line %q: %v", lines.Text(), err)
		}
		if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
			stop("SIGSTOP: %v", err)
		}
		if state := waitState(pid, "Tt", 10*time.Second); state != 'T' && state != 't' {
			stop("10 s after SIGSTOP the program's state is %q, want T or t", state)
		}
		// A line written now must stay unread until SIGCONT.
		if _, err := io.WriteString(stdin, "go\n"); err != nil {
			stop("writing to the program: %v", err)
		}
		answer := make(chan string, 1)
		go func() {
			defer close(answer)
			if lines.Scan() {
				answer <- lines.Text()
			}
		}()
		select {
		case l := <-answer:
			stop("the stopped program answered %q", l)
		case <-time.After(300 * time.Millisecond):
		}
		if state := procState(pid); state != 'T' && state != 't' {
			stop("the stopped program's state became %q", state)
		}
		if !alive(cmd.Process.Pid) {
			stop("the launcher exited while the program was stopped")
		}
		if err := syscall.Kill(pid, syscall.SIGCONT); err != nil {
			stop("SIGCONT: %v", err)
		}
		select {
		case l := <-answer:
			if l != "got go" {
				t.Errorf("after SIGCONT the program said %q, want \"got go\"", l)
			}
		case <-time.After(10 * time.Second):
			stop("no answer 10 s after SIGCONT (state %q)", procState(pid))
		}
		stdin.Close()
		if status := statusOf(t, cmd, cmd.Wait()); status != 0 || stderr.Len() != 0 {
			t.Errorf("status %d, stderr %q; want 0 and nothing", status, stderr.String())
		}
		checkEmpty(t, tmpdir)
	})
}

// waitState polls the state of pid until it is one of states or timeout
// passes, and returns the last state seen.
func waitState(pid int, states string, timeout time.Duration) byte {
	deadline := time.Now().Add(timeout)
	for {
		state := procState(pid)
		if strings.IndexByte(states, state) >= 0 || time.Now().After(deadline) {
			return state
		}
		time.Sleep(5 * time.Millisecond)
	}
}
