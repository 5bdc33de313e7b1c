package main

import (
	"errors"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestSuspendResume presses Ctrl-Z on a program that an interactive shell
// with job control runs through a wrapper, then resumes it with fg, as a
// user at a terminal does. The shell must see the job stop (the launcher
// stops too: the shell waits for it, not for the program), fg must give the
// program the terminal back, and the program must then read a line and
// exit 0.
func TestSuspendResume(t *testing.T) {
	p := testPack(t)
	forEachEngine(t, func(t *testing.T, engine string) {
		master, slave, err := openPty()
		if err != nil {
			t.Fatalf("no pseudo-terminal: %v", err)
		}
		defer master.Close()
		// bash as the session leader, the terminal its controlling
		// terminal; without line editing it reads whole lines in the
		// terminal's canonical mode, as the program does.
		inv := invocation{engine: engine, args: []string{"bash", "--norc", "--noprofile", "--noediting", "-i"},
			env: []string{"PS1=$ ", "TERM=dumb"}}
		cmd, tmpdir, cancel := p.command(t, &inv)
		defer cancel()
		cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
		cmd.SysProcAttr.Setctty = true
		cmd.SysProcAttr.Ctty = 0
		if err := cmd.Start(); err != nil {
			slave.Close()
			t.Fatal(err)
		}
		slave.Close()
		term := readTerminal(master)
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		pgrp := 0 // the job's process group, once known
		stop := func(format string, args ...any) {
			t.Helper()
			if pgrp > 0 {
				syscall.Kill(-pgrp, syscall.SIGKILL)
			}
			cmd.Process.Kill()
			<-exited
			t.Fatalf(format+"\nterminal:\n%s", append(args, term.String())...)
		}
		send := func(s string) {
			t.Helper()
			if _, err := master.Write([]byte(s)); err != nil {
				stop("writing %q to the terminal: %v", s, err)
			}
		}
		const timeout = 20 * time.Second
		expect := func(re string) []string {
			t.Helper()
			m, ok := term.expect(regexp.MustCompile(re), timeout)
			if !ok {
				stop("no %q on the terminal within %v", re, timeout)
			}
			return m
		}
		// Waits until the program reads the terminal in the foreground.
		reading := func(pid int) {
			t.Helper()
			deadline := time.Now().Add(timeout)
			for {
				fg, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPGRP)
				state := procState(pid)
				if err == nil && fg == pgrp && state == 'S' {
					return
				}
				if time.Now().After(deadline) {
					stop("the program (pid %d, state %q) is not reading in the foreground (%d, want %d, %v) after %v",
						pid, state, fg, pgrp, err, timeout)
				}
				time.Sleep(5 * time.Millisecond)
			}
		}

		expect(`\$ $`)
		// The echoed command line has "pid=$$"; the output, digits.
		send(`"$ROOT"/bin/sh -c 'echo "pid=$$"; read x; echo "got $x"'` + "\n")
		pid, _ := strconv.Atoi(expect(`pid=(\d+)`)[1])
		pgrp = procPgrp(pid)
		if pgrp <= 0 {
			stop("no process group for the program (pid %d)", pid)
		}
		reading(pid)

		send("\x1a") // Ctrl-Z
		expect(`\[1\]\+ +Stopped +"\$ROOT"/bin/sh`)
		// The terminal sent SIGTSTP to the launcher and the program at
		// once: under the userns engine the shell may see the launcher
		// stop while the program is still on its way.
		if state := waitState(pid, "Tt", timeout); state != 'T' && state != 't' {
			stop("the shell says the job stopped, but %v later the program's state is %q", timeout, state)
		}
		send("jobs\n")
		expect(`\[1\]\+ +Stopped +"\$ROOT"/bin/sh`)

		send("fg\n")
		reading(pid)
		send("resumed\n")
		expect(`got resumed\r?\n`)
		// fg returns the job's status.
		send(`echo "status=$?"` + "\n")
		if status := expect(`status=(\d+)\r?\n`)[1]; status != "0" {
			stop("after fg the job ended with status %s, want 0", status)
		}
		send("exit\n")
		select {
		case err := <-exited:
			if status := statusOf(t, cmd, err); status != 0 {
				t.Errorf("the shell exited with %d\nterminal:\n%s", status, term.String())
			}
		case <-time.After(timeout):
			stop("the shell did not exit within %v", timeout)
		}
		checkEmpty(t, tmpdir)
	})
}

// procPgrp returns the process group of pid from /proc/PID/stat, or 0.
func procPgrp(pid int) int {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0
	}
	// state ppid pgrp …
	f := strings.Fields(s[i+1:])
	if len(f) < 3 {
		return 0
	}
	pgrp, _ := strconv.Atoi(f[2])
	return pgrp
}

// terminal collects what is written on a pseudo-terminal, for expect to
// search: each expect starts where the previous match ended.
type terminal struct {
	mu      sync.Mutex
	changed *sync.Cond
	out     []byte
	from    int  // where the next expect starts
	done    bool // the reader has stopped (EIO once the slave is closed)
}

// readTerminal starts reading master until it fails.
func readTerminal(master *os.File) *terminal {
	term := &terminal{}
	term.changed = sync.NewCond(&term.mu)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			term.mu.Lock()
			term.out = append(term.out, buf[:n]...)
			if err != nil {
				term.done = true
			}
			term.changed.Broadcast()
			term.mu.Unlock()
			if err != nil {
				if !errors.Is(err, syscall.EIO) && !errors.Is(err, os.ErrClosed) {
					term.mu.Lock()
					term.out = append(term.out, "\n[reading the terminal: "+err.Error()+"]\n"...)
					term.mu.Unlock()
				}
				return
			}
		}
	}()
	return term
}

// expect waits until re matches what came after the previous match, and
// returns its submatches; false after timeout.
func (term *terminal) expect(re *regexp.Regexp, timeout time.Duration) ([]string, bool) {
	timer := time.AfterFunc(timeout, func() {
		term.mu.Lock()
		term.changed.Broadcast()
		term.mu.Unlock()
	})
	defer timer.Stop()
	deadline := time.Now().Add(timeout)
	term.mu.Lock()
	defer term.mu.Unlock()
	for {
		rest := string(term.out[term.from:])
		if loc := re.FindStringSubmatchIndex(rest); loc != nil {
			var m []string
			for i := 0; i < len(loc); i += 2 {
				if loc[i] < 0 {
					m = append(m, "")
				} else {
					m = append(m, rest[loc[i]:loc[i+1]])
				}
			}
			term.from += loc[1]
			return m, true
		}
		if term.done || !time.Now().Before(deadline) {
			return nil, false
		}
		term.changed.Wait()
	}
}

// String returns everything written on the terminal so far.
func (term *terminal) String() string {
	term.mu.Lock()
	defer term.mu.Unlock()
	return string(term.out)
}
