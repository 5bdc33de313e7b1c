package runner

import (
	"errors"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// Exit statuses of the launcher itself. Any other status is the program's,
// or 128+n when signal n killed it, as a shell reports it.
const (
	// exitUsage: the launcher was run as .gpack/launcher, not through a
	// wrapper, so there is no program to run.
	exitUsage = 2
	// exitCannotRun: the program cannot be run on this host (no engine
	// works, the pack is damaged, GPACK_ENGINE is wrong), or the kernel
	// refused to execute it.
	exitCannotRun = 126
	// exitNotFound: the wrapper's name is not in the manifest, or the
	// program is missing from the pack.
	exitNotFound = 127
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

// Main runs the launcher: it is the whole of cmd/gpack-launcher. It returns
// only when it could not exec the program in place, with the status to exit
// with.
func Main() int {
	l := &launch{stderr: os.Stderr, debugOn: debugEnabled(os.Getenv(debugVar))}
	return l.run()
}

// debugEnabled reads GPACK_DEBUG: any value but empty and "0" turns it on, so
// that GPACK_DEBUG=yes does what it says.
func debugEnabled(v string) bool { return v != "" && v != "0" }

// launch is one run of the launcher.
type launch struct {
	stderr  io.Writer
	debugOn bool
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
		return exitCannotRun
	}
	// ROOT/bin/<name> or ROOT/.gpack/launcher: either way the root is two
	// levels up.
	root := filepath.Dir(filepath.Dir(exe))
	name := filepath.Base(exe)
	m, err := readManifest(root)
	if err != nil {
		l.say("cannot read the pack at ", root, ": ", err.Error())
		return exitCannotRun
	}
	if filepath.Join(root, LauncherPath) == exe {
		l.usage(root, m)
		return exitUsage
	}
	program, ok := m.Programs[name]
	if !ok {
		l.say(exe, ": the pack has no program named ", strconv.Quote(name),
			" (see ", filepath.Join(root, ManifestPath), ")")
		return exitNotFound
	}
	args := os.Args
	if len(args) == 0 {
		// execve with an empty argv: programs expect argv[0].
		args = []string{exe}
	}
	env := withoutVar(os.Environ(), stageVar)
	l.debug("pack ", root, ", program ", name, " = ", program)

	_, err = os.Stat(program)
	if err == nil {
		l.debug("direct: ", program, " exists here, so it runs without a namespace")
		err := syscall.Exec(program, args, env)
		return l.execFailed(&ExecError{Path: program, Err: err})
	}
	l.debug("not direct: ", err.Error())

	engines, err := chooseEngines(os.Getenv(engineVar))
	if err != nil {
		l.say(err.Error())
		return exitCannotRun
	}
	// Every engine needs the pack's copy of the store; without it their
	// failures would read as the host's fault.
	if fi, err := os.Stat(filepath.Join(root, m.Store)); err != nil || !fi.IsDir() {
		l.say("the pack at ", root, " is incomplete: it lacks its store ", filepath.Join(root, m.Store))
		return exitCannotRun
	}
	job := &Job{Root: root, Store: m.Store, Name: name, Program: program, Args: args, Env: env,
		Warn: func(msg string) { l.say(msg) }}
	if l.debugOn {
		job.Debug = func(msg string) { l.say(msg) }
	}
	var reasons, hints []string
	note := func(e Engine, err error) {
		reasons = append(reasons, explain(e, err))
		if h := hint(err); h != "" && !slices.Contains(hints, h) {
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
		var xe *ExecError
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
	return exitCannotRun
}

func (l *launch) execFailed(xe *ExecError) int {
	l.say(xe.Error())
	return xe.Status()
}

func (l *launch) usage(root string, m *Manifest) {
	var progs []string
	for _, name := range slices.Sorted(maps.Keys(m.Programs)) {
		progs = append(progs, filepath.Join(root, "bin", name))
	}
	l.say("this is the launcher of the pack at ", root,
		"; run one of its programs instead: ", strings.Join(progs, " "))
}

func readManifest(root string) (*Manifest, error) {
	f, err := os.Open(filepath.Join(root, ManifestPath))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	m, err := ParseManifest(f)
	return m, wrap(err, filepath.Join(root, ManifestPath))
}

// chooseEngines maps GPACK_ENGINE to the engines to try, in order.
func chooseEngines(v string) ([]Engine, error) {
	all := Engines()
	if v == "" || v == "auto" {
		return all, nil
	}
	names := []string{"auto"}
	for _, e := range all {
		if e.Name() == v {
			return []Engine{e}, nil
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
