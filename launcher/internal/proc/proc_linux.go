package proc

import (
	"sync"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/internal/errs"
)

// AtFDCWD is AT_FDCWD (-100) as a system-call argument.
const AtFDCWD = ^uintptr(99)

// childFailStatus is the exit status of a child that failed before its
// exec: the launcher's "cannot run" (engine.ExitCannotRun). The parent never
// passes it on; it reads the report instead.
const childFailStatus = 126

// Child is the cloned child, and then the program it becomes, known by pid.
type Child struct {
	Pid    int
	mu     sync.Mutex // held to signal, and to reap
	reaped bool
}

// Signal sends sig to the child unless it has been reaped: after that its
// pid may belong to another process.
func (c *Child) Signal(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reaped {
		// An error means the child is already gone.
		_ = syscall.Kill(c.Pid, sig)
	}
}

// Reaped records that a wait of the caller's own (a tracer's wait4 of every
// tracee) has reaped the child, so that no signal goes to its pid now.
func (c *Child) Reaped() {
	c.mu.Lock()
	c.reaped = true
	c.mu.Unlock()
}

// Wait waits for the child to exit, then reaps it. Waiting without reaping
// first (WNOWAIT) leaves it a zombie, whose pid no other process can take,
// until Wait holds the lock that Signal takes: no signal can miss its aim.
func (c *Child) Wait() (syscall.WaitStatus, error) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, c.Pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return 0, errs.Wrap(err, "waitid")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(c.Pid, &ws, 0, nil)
		if err == nil {
			c.reaped = true
			return ws, nil
		}
		if err != syscall.EINTR {
			return 0, errs.Wrap(err, "wait4")
		}
	}
}

// Status is the exit status a shell would report for ws: the program's, or
// 128+n if signal n killed it.
func Status(ws syscall.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// RestoreFileLimit gives the launcher back the soft RLIMIT_NOFILE it started
// with, so that the cloned child, and the program, inherit it. The Go runtime
// raises the soft limit to the hard one at start and remembers the original
// privately; syscall.ForkExec and syscall.Exec put it back for the new
// program, but a raw clone copies the raised one. syscall.Exec restores it in
// the calling process before its execve, and an execve of "" fails at once
// (ENOENT), leaving the original limit in place. Should a later Go stop doing
// this, the program merely inherits the raised limit.
func RestoreFileLimit() {
	_ = syscall.Exec("", nil, nil)
}

// SetExact gives the plan's program the launcher's start state, when the
// entry point recorded it.
func (p *Plan) SetExact(mask, ignored, closed uint64) {
	p.Exact, p.ExecMask, p.ExecIgnored, p.ExecClosed = true, mask, ignored, closed
}

// PrepareExec puts the calling thread and process back in the start state
// for an execve in place (the direct path): the signals ignored at start
// ignored again, the closed standard descriptors closed, the mask as it
// was. Precondition: the calling goroutine is locked to its OS thread until
// the exec, since the mask is the thread's. After it, no Go code may run
// that writes to a closed descriptor or depends on a blocked signal.
func PrepareExec(mask, ignored, closed uint64, nofile, as [2]uint64, raised uint64) error {
	ignoreSignals(ignored)
	restoreLimits(nofile, as, raised)
	for fd := 0; fd < 3; fd++ {
		if closed&(1<<fd) != 0 {
			syscall.Close(fd)
		}
	}
	// The launcher is built for 64-bit Linux only, where the kernel's 64
	// signals are the first word.
	var set unix.Sigset_t
	set.Val[0] = mask
	return errs.Wrap(unix.PthreadSigmask(unix.SIG_SETMASK, &set, nil), "restoring the signal mask")
}
