package runner

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"golang.org/x/sys/unix"
)

// maxReport bounds what the launcher reads from the child's report pipe; a
// report is a few records.
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
		return unavailable(errors.New("sysctl user.max_user_namespaces is 0"))
	}
	// Debian's kernels (and Ubuntu's before 24.04) carry a switch of
	// their own, which does not apply to root.
	if os.Geteuid() != 0 && sysctlIs("/proc/sys/kernel/unprivileged_userns_clone", "0") {
		return unavailable(errors.New("sysctl kernel.unprivileged_userns_clone is 0"))
	}
	return nil
}

func sysctlIs(path, value string) bool {
	b, err := os.ReadFile(path)
	return err == nil && strings.TrimSpace(string(b)) == value
}

// Run clones a child in new namespaces that builds the program's root and
// execs it (userns_cloned_linux.go), learns from its report whether the
// program started, and waits for it while forwarding signals.
func (usernsEngine) Run(j *Job) (int, error) {
	newRoot := filepath.Join(j.Root, RootDir)
	if fi, err := os.Lstat(newRoot); err != nil || !fi.IsDir() {
		// The child mounts a tmpfs on this directory in its own
		// namespace, so on the host it stays empty and can be removed.
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

	return runCloned(j, newRoot)
}

// child is the cloned child, and then the program it becomes, known by pid.
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

// usernsHint is what turns unprivileged user namespaces on.
const usernsHint = "enable unprivileged user namespaces " +
	"(sysctl user.max_user_namespaces>0; kernel.apparmor_restrict_unprivileged_userns=0)"

// unavailable marks err as the host's refusal of user namespaces.
func unavailable(err error) error {
	return &UnavailableError{What: "user namespaces are not available", Hint: usernsHint, Err: err}
}

// startError explains why the kernel refused the new namespaces.
func startError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return unavailable(wrap(err, "the limit of user namespaces is reached (sysctl user.max_user_namespaces)"))
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return unavailable(wrap(err, "creating a user namespace is not permitted"))
	case errors.Is(err, syscall.EINVAL):
		return unavailable(wrap(err, "the kernel does not support user namespaces"))
	}
	return wrap(err, "cloning a child in new user and mount namespaces")
}
