package launcher

import (
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/launcher/engine"
	"github.com/gpack/gpack/launcher/internal/proc"
	"github.com/gpack/gpack/launcher/ptrace"
	"github.com/gpack/gpack/launcher/userns"
)

// Environment variables the launcher reads.
const (
	engineVar = "GPACK_ENGINE"
	debugVar  = "GPACK_DEBUG"
)

// stageVar marked the re-executed second stage of earlier launchers. The
// launcher no longer sets it, but still strips it from the program's
// environment, so that programs never see it and a stray copy cannot reach
// an earlier launcher (another pack's) that a program starts.
const stageVar = "GPACK_LAUNCHER_STAGE"

const msgPrefix = "gpack-launcher: "

// Version names the launcher's sources: "src-" and the start of the hash of
// their hashes, which launcherbin/build.sh sets with -X when it builds the
// binary that gpack embeds, so that `.gpack/launcher --version` and
// `gpack version` agree. Other builds say "devel".
var Version = "devel"

// Main runs the launcher: it is the whole of cmd/gpack-launcher. It returns
// only when it could not exec the program in place, with the status to exit
// with.
//
// st is what the entry point of cmd/gpack-launcher recorded before the Go
// runtime started: the program is given it, as execve would.
func Main(st StartState) int {
	l := &launch{stderr: os.Stderr, debugOn: debugEnabled(os.Getenv(debugVar)), start: st}
	return l.run()
}

// StartState is engine.StartState, for cmd/gpack-launcher.
type StartState = engine.StartState

// debugEnabled reads GPACK_DEBUG: any value but empty and "0" turns it on, so
// that GPACK_DEBUG=yes does what it says.
func debugEnabled(v string) bool { return v != "" && v != "0" }

// launch is one run of the launcher.
type launch struct {
	stderr  io.Writer
	debugOn bool
	start   StartState
}

// say writes one line for the user.
func (l *launch) say(msg ...string) {
	io.WriteString(l.stderr, msgPrefix+strings.Join(msg, "")+"\n")
}

// debug writes one line when GPACK_DEBUG is on.
func (l *launch) debug(msg ...string) {
	if l.debugOn {
		l.say(msg...)
	}
}

func (l *launch) run() int {
	exe, err := os.Executable()
	if err != nil {
		l.say("cannot find the launcher's own path, and so the pack: ", err.Error())
		return engine.ExitCannotRun
	}
	// ROOT/bin/<name> or ROOT/.gpack/launcher: either way the root is two
	// levels up.
	root := filepath.Dir(filepath.Dir(exe))
	name := filepath.Base(exe)
	self := filepath.Join(root, contract.LauncherPath) == exe
	if self && len(os.Args) == 2 && os.Args[1] == "--version" {
		v := "gpack-launcher " + Version + " " + runtime.GOOS + "/" + runtime.GOARCH
		if !l.start.Captured {
			v += " (built without its entry point: programs get the Go runtime's signal mask)"
		}
		io.WriteString(os.Stdout, v+"\n")
		return 0
	}
	m, err := contract.ReadManifest(root)
	if err != nil {
		l.say("cannot read the pack at ", root, ": ", err.Error())
		return engine.ExitCannotRun
	}
	if self {
		l.usage(root, m)
		return engine.ExitUsage
	}
	program, ok := m.Programs[name]
	if !ok {
		l.say(exe, ": the pack has no program named ", strconv.Quote(name),
			" (see ", filepath.Join(root, contract.ManifestPath), ")")
		return engine.ExitNotFound
	}
	args := os.Args
	if len(args) == 0 {
		// execve with an empty argv: programs expect argv[0].
		args = []string{exe}
	}
	env := withoutVar(os.Environ(), stageVar)
	l.debug("pack ", root, ", program ", name, " = ", program)
	if !l.start.Captured {
		l.debug("this launcher was built without its entry point (-E _gpack_launcher_entry): " +
			"the program gets the Go runtime's signal mask and dispositions, not the caller's")
	}

	_, err = os.Stat(program)
	if err == nil {
		l.debug("direct: ", program, " exists here, so it runs without a namespace")
		if l.start.Captured {
			// The mask is the thread's: stay on this one until the exec.
			runtime.LockOSThread()
			if err := proc.PrepareExec(l.start.Mask, l.start.Ignored, l.start.Closed); err != nil {
				l.debug(err.Error())
			}
		}
		err := syscall.Exec(program, args, env)
		return l.execFailed(&engine.ExecError{Path: program, Err: err})
	}
	l.debug("not direct: ", err.Error())

	engines, err := chooseEngines(os.Getenv(engineVar))
	if err != nil {
		l.say(err.Error())
		return engine.ExitCannotRun
	}
	// Every engine needs the pack's copy of the store; without it their
	// failures would read as the host's fault.
	if fi, err := os.Stat(filepath.Join(root, m.Store)); err != nil || !fi.IsDir() {
		l.say("the pack at ", root, " is incomplete: it lacks its store ", filepath.Join(root, m.Store))
		return engine.ExitCannotRun
	}
	job := &engine.Job{Start: l.start, Root: root, Store: m.Store, Name: name, Program: program, Args: args, Env: env,
		WarnTo: func(msg string) { l.say(msg) }}
	if l.debugOn {
		job.DebugTo = func(msg string) { l.say(msg) }
	}
	var reasons, hints []string
	note := func(e engine.Engine, err error) {
		reasons = append(reasons, engine.Explain(e, err))
		if h := engine.Advice(err); h != "" && !slices.Contains(hints, h) {
			hints = append(hints, h)
		}
	}
	for _, e := range engines {
		if err := e.Available(); err != nil {
			l.debug("engine ", e.Name(), ": not available: ", err.Error())
			note(e, err)
			continue
		}
		l.debug("engine ", e.Name(), ": trying")
		status, err := e.Run(job)
		if err == nil {
			return status
		}
		var xe *engine.ExecError
		if errors.As(err, &xe) {
			return l.execFailed(xe)
		}
		l.debug("engine ", e.Name(), ": failed: ", err.Error())
		note(e, err)
	}
	advice := "; run the pack extracted at / (tar -x -C /)"
	for _, h := range hints {
		advice += " or " + h
	}
	l.say("cannot run bin/", name, " here: ", strings.Join(reasons, ", and "), advice)
	return engine.ExitCannotRun
}

func (l *launch) execFailed(xe *engine.ExecError) int {
	l.say(xe.Error())
	return xe.Status()
}

func (l *launch) usage(root string, m *contract.Manifest) {
	var progs []string
	for _, name := range slices.Sorted(maps.Keys(m.Programs)) {
		progs = append(progs, filepath.Join(root, "bin", name))
	}
	l.say("this is the launcher of the pack at ", root,
		"; run one of its programs instead: ", strings.Join(progs, " "))
}

// chooseEngines maps GPACK_ENGINE to the engines to try, in order.
func chooseEngines(v string) ([]engine.Engine, error) {
	all := Engines()
	if v == "" || v == "auto" {
		return all, nil
	}
	names := []string{"auto"}
	for _, e := range all {
		if e.Name() == v {
			return []engine.Engine{e}, nil
		}
		names = append(names, e.Name())
	}
	return nil, errors.New(engineVar + "=" + strconv.Quote(v) + " is not one of " + strings.Join(names, ", "))
}

// withoutVar returns env without any entry for the variable name.
func withoutVar(env []string, name string) []string {
	out := make([]string, 0, len(env))
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}

// Engines returns every engine in the order GPACK_ENGINE=auto tries them:
// user namespaces first because they run the program at native speed, then
// ptrace, which works where user namespaces are off but slows down system
// calls. This list is the only place that names them all: a new engine is a
// package that implements engine.Engine, and a line here. An explicit list
// beats init-time registration for so few engines: the order is visible in
// one place.
func Engines() []engine.Engine {
	return []engine.Engine{
		userns.Engine{},
		ptrace.Engine{},
	}
}
