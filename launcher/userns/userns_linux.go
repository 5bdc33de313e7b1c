package userns

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/launcher/engine"
	"github.com/gpack/gpack/launcher/internal/errs"
	"github.com/gpack/gpack/launcher/internal/proc"
)

// Engine runs the program in new user and mount namespaces whose root
// mirrors the host's / with the pack's store bound at the store path.
type Engine struct{}

func (Engine) Name() string { return "userns" }

// MountsFUSE: the engine's child mounts a Job's FUSE file system
// (engine.FUSEMounter).
func (Engine) MountsFUSE() {}

// Available reads the switches that turn unprivileged user namespaces off
// everywhere, so that the common refusal gets a message naming the switch
// rather than the errno that clone returns for it.
func (Engine) Available() error {
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
	b, err := proc.ReadFile(path, 64)
	return err == nil && strings.TrimSpace(string(b)) == value
}

// Run clones a child in new namespaces that builds the program's root and
// execs it (userns_cloned_linux.go), learns from its report whether the
// program started, and waits for it while forwarding signals.
func (Engine) Run(j *engine.Job) (int, error) {
	if j.Prefix != "" && !j.PrefixOK {
		// The program would follow the prefix's link, which is not
		// ours here: the ptrace engine resolves the prefix itself.
		return 0, errors.New("the pack is relocated to " + j.Prefix + ", whose link is not the user's on this host")
	}
	if j.Join != nil {
		return runCloned(j, "")
	}
	newRoot := filepath.Join(j.Root, contract.RootDir)
	if fi, err := os.Lstat(newRoot); err != nil || !fi.IsDir() {
		// The child mounts a tmpfs on this directory in its own
		// namespace, so on the host it stays empty and can be removed.
		tmp, err := mountPoint()
		if err != nil {
			return 0, errs.Wrap(err, "creating a mount point for the new root (the pack lacks ", contract.RootDir, ")")
		}
		defer func() {
			if err := os.Remove(tmp); err != nil {
				j.Debug("userns: cannot remove ", tmp, ": ", err.Error())
			}
		}()
		j.Debug("userns: the pack lacks ", contract.RootDir, ", so the new root is mounted on ", tmp)
		newRoot = tmp
	}

	return runCloned(j, newRoot)
}

// mountPoint makes an empty directory for the new root: in $TMPDIR, else
// in the other places a user may write to (a TMPDIR that is full, read-only
// or gone must not fail the engine while /tmp would do). The error names
// every place tried.
func mountPoint() (string, error) {
	var tried []string
	var first error
	for _, dir := range []string{os.TempDir(), "/tmp", "/var/tmp", "/dev/shm", os.Getenv("XDG_RUNTIME_DIR")} {
		if dir == "" || slices.Contains(tried, dir) {
			continue
		}
		tmp, err := os.MkdirTemp(dir, "gpack-root-")
		if err == nil {
			return tmp, nil
		}
		if first == nil {
			first = err
		}
		tried = append(tried, dir)
	}
	return "", errs.Wrap(first, "no writable directory among "+strings.Join(tried, ", "))
}

// usernsHint is what turns unprivileged user namespaces on.
const usernsHint = "enable unprivileged user namespaces " +
	"(sysctl user.max_user_namespaces>0; kernel.apparmor_restrict_unprivileged_userns=0)"

// unavailable marks err as the host's refusal of user namespaces.
func unavailable(err error) error {
	return &engine.UnavailableError{What: "user namespaces are not available", Hint: usernsHint, Err: err}
}

// startError explains why the kernel refused the new namespaces.
func startError(err error) error {
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return unavailable(errs.Wrap(err, "the limit of user namespaces is reached (sysctl user.max_user_namespaces)"))
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return unavailable(errs.Wrap(err, "creating a user namespace is not permitted"))
	case errors.Is(err, syscall.EINVAL):
		return unavailable(errs.Wrap(err, "the kernel does not support user namespaces"))
	}
	return errs.Wrap(err, "cloning a child in new user and mount namespaces")
}
