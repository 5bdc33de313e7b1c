package runner

import (
	"errors"
	"io/fs"
	"strings"
	"syscall"
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

// Job is one start of a wrapped program.
type Job struct {
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
	// Env is the program's environment.
	Env []string
	// Debug, if not nil, receives one-line explanations for GPACK_DEBUG.
	Debug func(msg string)
	// Warn, if not nil, receives one-line warnings that the user must
	// see whatever GPACK_DEBUG says.
	Warn func(msg string)
}

func (j *Job) say(msg ...string) {
	if j.Warn != nil {
		j.Warn(strings.Join(msg, ""))
	}
}

func (j *Job) debug(msg ...string) {
	if j.Debug != nil {
		s := ""
		for _, m := range msg {
			s += m
		}
		j.Debug(s)
	}
}

// Engines returns every engine in the order GPACK_ENGINE=auto tries them:
// user namespaces first because they run the program at native speed, then
// ptrace, which works where user namespaces are off but slows down system
// calls. An explicit list beats init-time registration for so few engines:
// the order is visible in one place.
func Engines() []Engine {
	return []Engine{usernsEngine{}, ptraceEngine{}}
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
		return exitNotFound
	}
	return exitCannotRun
}

// UnavailableError reports that the host lacks what an engine needs at all
// (the kernel or an administrator turned it off), as opposed to a failure
// while the engine was setting up one run: only the first deserves advice to
// switch something on.
type UnavailableError struct {
	// What names the missing facility, as the message says it: "user
	// namespaces are not available".
	What string
	// Hint is what an administrator can do, or "".
	Hint string
	Err  error
}

// Error is the reason alone; explain puts What before it.
func (e *UnavailableError) Error() string { return e.Err.Error() }

func (e *UnavailableError) Unwrap() error { return e.Err }

// explain turns an engine's failure into the words of the user-facing
// message, which must say what the host lacks rather than which engine the
// launcher happened to try, and must not blame the host for a failure of
// the engine's own setup.
func explain(e Engine, err error) string {
	var ue *UnavailableError
	if errors.As(err, &ue) {
		return ue.What + " (" + err.Error() + ")"
	}
	return "the " + e.Name() + " engine failed (" + err.Error() + ")"
}

func (e *UnavailableError) advice() string { return e.Hint }

// hintedError is a failure of an engine's setup that comes with advice.
type hintedError struct {
	err  error
	hint string
}

func (e *hintedError) Error() string { return e.err.Error() }

func (e *hintedError) Unwrap() error { return e.err }

func (e *hintedError) advice() string { return e.hint }

// hint returns the administrator's advice that err carries, if any.
func hint(err error) string {
	var h interface{ advice() string }
	if errors.As(err, &h) {
		return h.advice()
	}
	return ""
}
