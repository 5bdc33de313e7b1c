package runner

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxReport bounds what the first stage reads from stage 2's report pipe;
// a report is one short line.
const maxReport = 4096

// usernsEngine runs the program in new user and mount namespaces whose root
// mirrors the host's / with the pack's store bound at the store path.
type usernsEngine struct{}

func (usernsEngine) Name() string { return "userns" }

// Available reads the switches that turn unprivileged user namespaces off
// everywhere, so that the common refusal gets a message naming the switch
// rather than the errno that clone returns for it.
func (usernsEngine) Available() error {
	if sysctlIs("/proc/sys/user/max_user_namespaces", "0") {
		return errors.New("sysctl user.max_user_namespaces is 0")
	}
	// Debian's kernels (and Ubuntu's before 24.04) carry a switch of
	// their own, which does not apply to root.
	if os.Geteuid() != 0 && sysctlIs("/proc/sys/kernel/unprivileged_userns_clone", "0") {
		return errors.New("sysctl kernel.unprivileged_userns_clone is 0")
	}
	return nil
}

func sysctlIs(path, value string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.TrimSpace(string(b)) == value
}

// Run starts stage 2 in new namespaces, learns from its report whether the
// program started, and waits for it while forwarding signals.
func (usernsEngine) Run(j *Job) (int, error) {
	newRoot := filepath.Join(j.Root, RootDir)
	if fi, err := os.Lstat(newRoot); err != nil || !fi.IsDir() {
		// Stage 2 mounts a tmpfs on this directory in its own namespace,
		// so on the host it stays empty and the first stage can remove it.
		tmp, err := os.MkdirTemp("", "gpack-root-")
		if err != nil {
			return 0, wrap(err, "creating a mount point for the new root (the pack lacks ", RootDir, ")")
		}
		defer func() {
			if err := os.Remove(tmp); err != nil {
				j.debug("userns: cannot remove ", tmp, ": ", err.Error())
			}
		}()
		j.debug("userns: the pack lacks ", RootDir, ", so the new root is mounted on ", tmp)
		newRoot = tmp
	}

	// The program must get the descriptors the user gave the launcher
	// (socket activation passes fd 3 and up), so the report pipe goes just
	// above them and stage 2 learns its number from its arguments.
	inherited, err := inheritedFDs()
	if err != nil {
		return 0, err
	}
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return 0, wrap(err, "creating the stage 2 report pipe")
	}
	r := os.NewFile(uintptr(p[0]), "stage 2 report")
	files := inherited
	reportFD := len(files)
	files = append(files, uintptr(p[1]))

	uid, gid := os.Geteuid(), os.Getegid()
	attr := &syscall.ProcAttr{
		Env:   append(slices.Clip(j.Env), stageVar+"="+stageValue),
		Files: files,
		Sys: &syscall.SysProcAttr{
			Cloneflags: syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS,
			// The identity map keeps the user's own uid and gid inside,
			// so files the program creates belong to the user and
			// programs that compare ids see the real ones.
			UidMappings:                []syscall.SysProcIDMap{{ContainerID: uid, HostID: uid, Size: 1}},
			GidMappings:                []syscall.SysProcIDMap{{ContainerID: gid, HostID: gid, Size: 1}},
			GidMappingsEnableSetgroups: false,
			// The new namespace gives the child every capability, but
			// execve as a non-zero uid would drop them all: ambient
			// capabilities carry the two that stage 2 needs across the
			// re-exec. Stage 2 clears them before it execs the program.
			AmbientCaps: []uintptr{unix.CAP_SYS_ADMIN, unix.CAP_SYS_CHROOT},
			// If the launcher is killed outright (SIGKILL cannot be
			// forwarded), the program goes too rather than run on
			// unseen. The signal survives the exec of the program.
			Pdeathsig: syscall.SIGKILL,
		},
	}
	argv := append([]string{stage2Arg0, strconv.Itoa(reportFD), j.Root, j.Store, j.Program, newRoot}, j.Args...)

	// Installing the signal handlers takes the Go runtime a new thread
	// and a good part of a millisecond, so it runs alongside the fork.
	// A signal that arrives before it is done gets its default action,
	// which is what the program would get too: it has not started yet.
	// Pdeathsig then takes the child down with the launcher.
	fwc := make(chan *forwarder, 1)
	go func() { fwc <- catchSignals() }()
	// The kernel sends Pdeathsig when the thread that forked the child
	// ends, not the process: keep this goroutine on its thread until the
	// child is gone, so that the Go runtime cannot retire that thread.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	// syscall.ForkExec rather than os.StartProcess: it takes descriptor
	// numbers as they are, where os.File would switch the user's
	// non-blocking descriptors to blocking mode; and a plain pid, safe
	// with the care that child takes, spares os.Process its pidfd probe.
	pid, err := syscall.ForkExec("/proc/self/exe", argv, attr)
	syscall.Close(p[1])
	fw := <-fwc
	defer fw.stop()
	if err != nil {
		r.Close()
		return 0, startError(err)
	}
	c := &child{pid: pid}
	fw.forwardTo(c)

	// EOF without a byte means stage 2 exec'd the program (the pipe is
	// close-on-exec there) or died without a word, e.g. from a signal.
	report, _ := io.ReadAll(io.LimitReader(r, maxReport))
	r.Close()
	if len(report) == 0 {
		j.debug("engine userns: running ", j.Program)
	}
	ws, err := c.wait()
	if err != nil {
		// The program may have run: never fall back to another engine,
		// which would run it a second time.
		return 0, &ExecError{Path: j.Program, Err: wrap(err, "waiting for it")}
	}
	if len(report) > 0 {
		return 0, parseReport(string(report), j.Program)
	}
	if ws.Signaled() {
		return 128 + int(ws.Signal()), nil
	}
	return ws.ExitStatus(), nil
}

// child is stage 2, and then the program it becomes, known by pid.
type child struct {
	pid    int
	mu     sync.Mutex // held to signal, and to reap
	reaped bool
}

// signal sends sig to the child unless it has been reaped: after that its
// pid may belong to another process.
func (c *child) signal(sig syscall.Signal) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.reaped {
		// An error means the child is already gone.
		_ = syscall.Kill(c.pid, sig)
	}
}

// wait waits for the child to exit, then reaps it. Waiting without reaping
// first (WNOWAIT) leaves it a zombie, whose pid no other process can take,
// until wait holds the lock that signal takes: no signal can miss its aim.
func (c *child) wait() (syscall.WaitStatus, error) {
	var info unix.Siginfo
	for {
		err := unix.Waitid(unix.P_PID, c.pid, &info, unix.WEXITED|unix.WNOWAIT, nil)
		if err == nil {
			break
		}
		if err != unix.EINTR {
			return 0, wrap(err, "waitid")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	var ws syscall.WaitStatus
	for {
		_, err := syscall.Wait4(c.pid, &ws, 0, nil)
		if err == nil {
			c.reaped = true
			return ws, nil
		}
		if err != syscall.EINTR {
			return 0, wrap(err, "wait4")
		}
	}
}

// inheritedFDs lists, by number, the descriptors that the launcher itself
// inherited and an exec would pass on: those without close-on-exec. Every
// descriptor Go opens is close-on-exec, so these are the user's. A closed
// number in between gets -1, which ForkExec closes in the child.
func inheritedFDs() ([]uintptr, error) {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		// Without /proc there is no /proc/self/exe to start stage 2
		// from either; say so here.
		return nil, wrap(err, "listing the launcher's descriptors")
	}
	var open []int
	maxFD := 2
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		flags, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
		if err != nil || flags&unix.FD_CLOEXEC != 0 {
			continue // closed since (the directory's own) or not passed on
		}
		open = append(open, fd)
		maxFD = max(maxFD, fd)
	}
	files := make([]uintptr, maxFD+1)
	for i := range files {
		files[i] = ^uintptr(0)
	}
	for _, fd := range open {
		files[fd] = uintptr(fd)
	}
	// 0, 1 and 2 always go through; Go's runtime opens /dev/null on any
	// that were closed at start.
	for fd := range 3 {
		files[fd] = uintptr(fd)
	}
	return files, nil
}

// startError explains why the kernel refused the new namespaces.
func startError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return wrap(err, "the limit of user namespaces is reached (sysctl user.max_user_namespaces)")
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return wrap(err, "creating a user namespace is not permitted")
	case errors.Is(err, syscall.EINVAL):
		return wrap(err, "the kernel does not support user namespaces")
	}
	return wrap(err, "starting stage 2 in new user and mount namespaces")
}

// parseReport turns stage 2's report line into the engine's error.
func parseReport(report, program string) error {
	line := strings.TrimSuffix(report, "\n")
	kind, rest, _ := strings.Cut(line, "\t")
	if kind == reportExec {
		if n, err := strconv.Atoi(rest); err == nil {
			return &ExecError{Path: program, Err: syscall.Errno(n)}
		}
	}
	if kind == reportSetup {
		return errors.New(rest)
	}
	return errors.New("stage 2 reported " + strconv.Quote(line))
}
