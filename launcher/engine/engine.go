// Package engine is the interface between the launcher and its engines: the
// ways of making a pack's store appear at its original path for a program.
// Each engine is a package of its own (launcher/userns, launcher/ptrace)
// that implements [Engine]; package launcher holds the ordered list of them,
// the only place that names them all, and tries them in turn.
//
// An engine's failure comes in three kinds, because each leads the launcher
// to a different message and the user to a different fix:
//
//   - an [*ExecError]: the engine worked, but the kernel refused the program
//     itself; no other engine would change that, so the launcher stops;
//   - an [*UnavailableError]: the host lacks what the engine needs at all
//     (user namespaces are off, ptrace is forbidden), and the message names
//     the switch an administrator can turn;
//   - any other error: this run's setup failed (a mount, a directory); the
//     message names the step and its error, and blames nothing else.
package engine

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"

	"github.com/gpack/gpack/launcher/contract"
)

// Engine makes a pack's store appear at its original path for one program
// and runs the program there.
type Engine interface {
	// Name is the engine's GPACK_ENGINE value.
	Name() string
	// Available is a cheap check of what the engine needs from the host. A
	// nil result does not promise that Run works: some hosts only refuse at
	// the last step (AppArmor lets clone succeed and then denies mount).
	Available() error
	// Run starts the program of j and waits for it. It returns the
	// program's exit status, or 128+n if signal n killed it. An *ExecError
	// means the engine worked but the program itself cannot be executed,
	// which another engine would not change; any other error means the
	// engine could not build the program's view of the store, the program
	// never ran, and the launcher tries the next engine.
	Run(j *Job) (int, error)
}

// Exit statuses of the launcher itself. Any other status is the program's,
// or 128+n when signal n killed it, as a shell reports it.
const (
	// ExitUsage: the launcher was run as .gpack/launcher, not through a
	// wrapper, so there is no program to run.
	ExitUsage = 2
	// ExitCannotRun: the program cannot be run on this host (no engine
	// works, the pack is damaged, GPACK_ENGINE is wrong), or the kernel
	// refused to execute it.
	ExitCannotRun = 126
	// ExitNotFound: the wrapper's name is not in the manifest, or the
	// program is missing from the pack.
	ExitNotFound = 127
)

// StartState is what the launcher's process was started with that the Go
// runtime changes before any launcher code runs, recorded by the entry point
// of cmd/gpack-launcher, so that the program can be given it as execve
// would: the runtime unblocks the signals it handles, installs handlers over
// inherited SIG_IGN dispositions, and opens /dev/null on closed standard
// descriptors.
type StartState struct {
	// Captured says the rest was recorded (a launcher built without its
	// entry point has zeros).
	Captured bool
	// Mask is the signal mask: bit n-1 for signal n.
	Mask uint64
	// Ignored are the signals whose disposition was SIG_IGN.
	Ignored uint64
	// Closed are the closed descriptors among 0, 1 and 2: bit fd.
	Closed uint64
	// Nofile and AS are the soft and hard RLIMIT_NOFILE and RLIMIT_AS,
	// and Raised says which soft limit (bit 0 NOFILE, bit 1 AS) the entry
	// point raised to the hard one for the runtime: the program gets them
	// back.
	Nofile, AS [2]uint64
	Raised     uint64
}

// Job is one start of a wrapped program.
type Job struct {
	// Start is the launcher's start state, for the program.
	Start StartState
	// Root is the absolute path of the unpacked pack.
	Root string
	// Store is the store directory the program expects, e.g. /nix/store;
	// the pack holds it at Root+Store.
	Store string
	// Name is the wrapper's name in Root/bin.
	Name string
	// Program is the absolute store path of the program.
	Program string
	// Args is the argument vector, Args[0] as the user typed it.
	Args []string
	// Env is the program's environment, as the caller gave it; PackEnv
	// are the pack's variables (the manifest's Env), which Environ
	// applies to it.
	Env     []string
	PackEnv []contract.EnvVar
	// Prefix is, for a pack that the relocate engine has rewritten, the
	// path its files name in place of the store (its link, without the
	// padding slashes), else "". PrefixOK says the link is the user's and
	// leads to this pack: an engine that lets the kernel follow Prefix
	// may run only then.
	Prefix   string
	PrefixOK bool
	// FUSE, if not nil, asks for the pack's tree to be a FUSE file
	// system mounted at Root in the program's namespaces rather than a
	// directory: only an engine that implements FUSEMounter takes it.
	FUSE *FUSE
	// Join, if not nil, asks for the program to run in the user and
	// mount namespaces of an earlier Job (whose FUSE mount they hold),
	// as they are: nothing is mounted. Only a FUSEMounter takes it.
	Join *Join
	// Started, if not nil, is called with the child's pid as soon as it
	// exists (before it has set its namespaces up): the AppImage
	// runtime's server opens the child's namespaces then, to keep them.
	Started func(pid int)
	// DebugTo, if not nil, receives one-line explanations for
	// GPACK_DEBUG.
	DebugTo func(msg string)
	// WarnTo, if not nil, receives one-line warnings that the user must
	// see whatever GPACK_DEBUG says.
	WarnTo func(msg string)
}

// FUSE is a file system the launcher serves itself (the AppImage
// runtime's squashfs image): the engine's child, in the program's user
// namespace, opens /dev/fuse, mounts it on Job.Root and passes the
// descriptor back, and the launcher serves it with Serve.
type FUSE struct {
	// Serve starts serving the mounted descriptor fd in the background,
	// having answered the kernel's first request; it returns an error if
	// it cannot.
	Serve func(fd int) error
}

// Join names the namespaces a Job's program joins: descriptors of
// /proc/PID/ns/user and /proc/PID/ns/mnt of a process that was in them.
type Join struct {
	User, Mnt int
}

// FUSEMounter is an Engine that can run a Job whose FUSE is set.
type FUSEMounter interface {
	Engine
	MountsFUSE()
}

// Warn tells the user the concatenation of msg.
func (j *Job) Warn(msg ...string) {
	if j.WarnTo != nil {
		j.WarnTo(strings.Join(msg, ""))
	}
}

// Debugging reports whether GPACK_DEBUG lines are wanted, for callers that
// would otherwise build a line for nothing.
func (j *Job) Debugging() bool { return j.DebugTo != nil }

// Debug writes the concatenation of msg as a GPACK_DEBUG line.
func (j *Job) Debug(msg ...string) {
	if j.DebugTo != nil {
		j.DebugTo(strings.Join(msg, ""))
	}
}

// ExecError reports that an engine prepared the program's view of the store
// but the kernel refused to execute the program itself.
type ExecError struct {
	// Path is the program's store path.
	Path string
	// Err is the reason, usually a syscall.Errno from execve.
	Err error
}

func (e *ExecError) Error() string { return "cannot execute " + e.Path + ": " + e.Err.Error() }

func (e *ExecError) Unwrap() error { return e.Err }

// Status is the exit status the launcher returns for e, following the shell:
// 127 when the program (or its interpreter) does not exist, 126 otherwise.
func (e *ExecError) Status() int {
	if errors.Is(e.Err, fs.ErrNotExist) || errors.Is(e.Err, syscall.ENOENT) {
		return ExitNotFound
	}
	return ExitCannotRun
}

// UnavailableError reports that the host lacks what an engine needs at all
// (the kernel or an administrator turned it off), as opposed to a failure
// while the engine was setting up one run: only the first deserves advice to
// switch something on.
type UnavailableError struct {
	// What names the missing facility as the message says it: "user
	// namespaces are not available".
	What string
	// Hint is what an administrator can do, or "".
	Hint string
	Err  error
}

// Error is the reason alone; [Explain] puts What before it.
func (e *UnavailableError) Error() string { return e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

func (e *UnavailableError) advice() string { return e.Hint }

// HintedError is a failure of an engine's setup that comes with advice for
// an administrator.
type HintedError struct {
	Err  error
	Hint string
}

func (e *HintedError) Error() string { return e.Err.Error() }

func (e *HintedError) Unwrap() error { return e.Err }

func (e *HintedError) advice() string { return e.Hint }

// Explain turns an engine's failure into the words of the user-facing
// message, which must say what the host lacks rather than which engine the
// launcher happened to try, and must not blame the host for a failure of
// the engine's own setup.
func Explain(e Engine, err error) string {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue.What + " (" + err.Error() + ")"
	}
	return "the " + e.Name() + " engine failed (" + err.Error() + ")"
}

// Advice returns the administrator's advice that err carries, or "".
func Advice(err error) string {
	var h interface{ advice() string }
	if errors.As(err, &h) {
		return h.advice()
	}
	return ""
}

// Environ is the program's environment: Env with PackEnv applied, their
// store paths as they are (the store is at its path for the program).
func (j *Job) Environ() []string { return contract.WithEnv(j.Env, j.PackEnv, "", "") }

// EnvironAt is Environ for an engine that shows the store at at: store
// paths in PackEnv name at instead.
func (j *Job) EnvironAt(at string) []string {
	return contract.WithEnv(j.Env, j.PackEnv, j.Store, at)
}
