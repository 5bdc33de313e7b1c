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
	"github.com/gpack/gpack/launcher/relocate"
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
	l := &launch{stderr: fdWriter(2), debugOn: debugEnabled(os.Getenv(debugVar)), start: st}
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
	// root and store, once known: the pack and its store directory.
	root, store string
	// engine, when set, is the engine to run with, as GPACK_ENGINE names
	// it, whatever GPACK_ENGINE says.
	engine string
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
		io.WriteString(fdWriter(1), v+"\n")
		return 0
	}
	m, err := proc.ReadManifest(root)
	if err != nil {
		hint := ""
		if tooManyFiles(err) {
			hint = "; " + fdHint
		}
		l.say("cannot read the pack at ", root, ": ", err.Error(), hint)
		return engine.ExitCannotRun
	}
	if self {
		l.usage(root, m)
		return engine.ExitUsage
	}
	args := os.Args
	if len(args) == 0 {
		// execve with an empty argv: programs expect argv[0].
		args = []string{exe}
	}
	program, ok := m.Programs[name]
	if filepath.Join(root, contract.EntryPath) == exe {
		// ROOT/run: the entry point, with the arguments given at pack
		// time before the caller's.
		if len(m.Entry) == 0 {
			l.say(exe, ": the pack has no entry point (see ", filepath.Join(root, contract.ManifestPath), ")")
			return engine.ExitNotFound
		}
		program, ok = m.Entry[0], true
		args = append(append([]string{args[0]}, m.Entry[1:]...), args[1:]...)
	}
	if !ok {
		l.say(exe, ": the pack has no program named ", strconv.Quote(name),
			" (see ", filepath.Join(root, contract.ManifestPath), ")")
		return engine.ExitNotFound
	}
	return l.runProgram(root, name, program, m, args, os.Environ())
}

// RunPack runs the program name of the unpacked pack at root as its
// bin/<name> would, with args (args[0] as the user typed it) and env, and
// returns the status to exit with, when it did not exec the program in
// place. The AppImage runtime (launcher/appimage) calls it on the pack it
// extracted or mounted.
func RunPack(st StartState, root, name string, args, env []string) int {
	return RunPackWith(st, root, "", name, args, env)
}

// RunPackWith is RunPack through the engine named eng (a GPACK_ENGINE
// value; "" for GPACK_ENGINE's choice): the AppImage runtime runs a pack
// it cannot let the relocate engine rewrite (mounted read-only, or
// extracted for one run) with ptrace.
func RunPackWith(st StartState, root, eng, name string, args, env []string) int {
	l := &launch{stderr: fdWriter(2), debugOn: debugEnabled(os.Getenv(debugVar)), start: st, engine: eng}
	m, err := proc.ReadManifest(root)
	if err != nil {
		l.say("cannot read the pack at ", root, ": ", err.Error())
		return engine.ExitCannotRun
	}
	if len(args) == 0 {
		args = []string{filepath.Join(root, "bin", name)}
	}
	program, ok := m.Programs[name]
	if !ok {
		l.say(filepath.Join(root, "bin", name), ": the pack has no program named ", strconv.Quote(name),
			" (see ", filepath.Join(root, contract.ManifestPath), ")")
		return engine.ExitNotFound
	}
	return l.runProgram(root, name, program, m, args, env)
}

// RunFUSE runs the program name of the pack m describes from a FUSE file
// system that serve serves, mounted on the empty directory mnt in the
// program's namespaces, through the engines that can mount one
// (engine.FUSEMounter). ran is false when none could set it up, with the
// reasons in err, and the caller runs the program another way; otherwise
// the status is the program's (or the launcher's own when the kernel
// refused the program). A program that the host has at its store path
// runs in place, as bin/<name> would run it, with nothing mounted.
func RunFUSE(st StartState, mnt string, m *contract.Manifest, name string, args, env []string, serve func(fd int) error) (status int, ran bool, err error) {
	l := &launch{stderr: fdWriter(2), debugOn: debugEnabled(os.Getenv(debugVar)), start: st, root: mnt, store: m.Store}
	program, env, status, done, err := l.inPlace(m, name, args, env)
	if done || err != nil {
		return status, done, err
	}
	job := &engine.Job{Start: st, Root: mnt, Store: m.Store, Name: name, Program: program, Args: args, Env: env, PackEnv: m.Env,
		FUSE: &engine.FUSE{Serve: serve}, WarnTo: func(msg string) { l.say(msg) }}
	if l.debugOn {
		job.DebugTo = func(msg string) { l.say(msg) }
	}
	var reasons []string
	for _, e := range Engines() {
		if _, ok := e.(engine.FUSEMounter); !ok {
			continue
		}
		if err := e.Available(); err != nil {
			reasons = append(reasons, engine.Explain(e, err))
			continue
		}
		l.debug("engine ", e.Name(), ": trying, with the image mounted over FUSE on ", mnt)
		status, err := e.Run(job)
		if err == nil {
			return status, true, nil
		}
		var xe *engine.ExecError
		if errors.As(err, &xe) {
			return l.execFailed(xe), true, nil
		}
		reasons = append(reasons, engine.Explain(e, err))
	}
	if len(reasons) == 0 {
		reasons = append(reasons, "no engine mounts FUSE")
	}
	return 0, false, errors.New(strings.Join(reasons, ", and "))
}

// inPlace finds the store program of name for RunFUSE and RunJoined, and
// env without the launcher's own variable; when the host has the program
// at its store path, it runs it there (done, with its status).
func (l *launch) inPlace(m *contract.Manifest, name string, args, env []string) (program string, _ []string, status int, done bool, err error) {
	program, ok := m.Programs[name]
	if !ok {
		return "", nil, 0, false, errors.New("the pack has no program named " + strconv.Quote(name))
	}
	env = withoutVar(env, stageVar)
	if _, err := os.Stat(program); err == nil {
		return program, env, l.direct(program, args, contract.WithEnv(env, m.Env, "", "")), true, nil
	}
	return program, env, 0, false, nil
}

// HoldFUSE mounts the FUSE file system that serve serves on the empty
// directory mnt in new user and mount namespaces, as RunFUSE does, and
// runs argv there, a program that exits at once: the namespaces outlive
// it for whoever holds them. started gets the child's pid as soon as it
// exists, to open its namespaces. The AppImage runtime's server keeps a
// mount this way for the runs that join it (RunJoined).
func HoldFUSE(st StartState, mnt string, m *contract.Manifest, argv, env []string, serve func(fd int) error, started func(pid int)) error {
	l := &launch{stderr: fdWriter(2), debugOn: debugEnabled(os.Getenv(debugVar)), start: st, root: mnt, store: m.Store}
	job := &engine.Job{Start: st, Root: mnt, Store: m.Store, Name: "hold", Program: argv[0], Args: argv, Env: env,
		FUSE: &engine.FUSE{Serve: serve}, Started: started, WarnTo: func(msg string) { l.say(msg) }}
	e := userns.Engine{}
	if err := e.Available(); err != nil {
		return err
	}
	status, err := e.Run(job)
	if err != nil {
		return err
	}
	if status != 0 {
		return errors.New("the program that holds the namespaces exited with status " + strconv.Itoa(status))
	}
	return nil
}

// RunJoined runs the program name of the pack m describes in the
// namespaces that join names, which hold the pack's store at its path (a
// mount that HoldFUSE made): ran is false, with the reason in err, when
// the child could not join them, and the caller runs the program another
// way. A program that the host has at its store path runs in place.
func RunJoined(st StartState, m *contract.Manifest, name string, args, env []string, join *engine.Join) (status int, ran bool, err error) {
	l := &launch{stderr: fdWriter(2), debugOn: debugEnabled(os.Getenv(debugVar)), start: st, store: m.Store}
	program, env, status, done, err := l.inPlace(m, name, args, env)
	if done || err != nil {
		return status, done, err
	}
	job := &engine.Job{Start: st, Store: m.Store, Name: name, Program: program, Args: args, Env: env, PackEnv: m.Env,
		Join: join, WarnTo: func(msg string) { l.say(msg) }}
	if l.debugOn {
		job.DebugTo = func(msg string) { l.say(msg) }
	}
	status, err = userns.Engine{}.Run(job)
	if err == nil {
		l.debug("engine userns: ran ", program, " in the namespaces of an earlier run's FUSE mount")
		return status, true, nil
	}
	var xe *engine.ExecError
	if errors.As(err, &xe) {
		return l.execFailed(xe), true, nil
	}
	return 0, false, err
}

// runProgram runs program, the store program that name stands for in the
// pack at root, whose manifest is m.
func (l *launch) runProgram(root, name, program string, m *contract.Manifest, args, env []string) int {
	l.root, l.store = root, m.Store
	env = withoutVar(env, stageVar)
	l.debug("pack ", root, ", program ", name, " = ", program)
	if !l.start.Captured {
		l.debug("this launcher was built without its entry point (-E _gpack_launcher_entry): " +
			"the program gets the Go runtime's signal mask and dispositions, not the caller's")
	}

	_, err := os.Stat(program)
	if err == nil {
		return l.direct(program, args, contract.WithEnv(env, m.Env, "", ""))
	}
	l.debug("not direct: ", err.Error())

	relocated := relocate.Relocated(root)
	choice := os.Getenv(engineVar)
	if l.engine != "" {
		choice = l.engine
	}
	engines, err := chooseEngines(choice, relocated)
	if err != nil {
		l.say(err.Error())
		return engine.ExitCannotRun
	}
	var prefix string
	prefixOK := false
	if relocated {
		// Its files name the relocation's prefix, whatever the engine:
		// the prefix's link must lead here on this node too.
		prefix, err = relocate.Link(root, m.Store)
		prefixOK = err == nil
		if err != nil {
			l.debug("relocate: ", err.Error())
		}
	}
	// Every engine needs the pack's copy of the store; without it their
	// failures would read as the host's fault.
	if fi, err := os.Stat(filepath.Join(root, m.Store)); err != nil || !fi.IsDir() {
		l.say("the pack at ", root, " is incomplete: it lacks its store ", filepath.Join(root, m.Store))
		return engine.ExitCannotRun
	}
	job := &engine.Job{Start: l.start, Prefix: prefix, PrefixOK: prefixOK, Root: root, Store: m.Store, Name: name, Program: program, Args: args, Env: env, PackEnv: m.Env,
		WarnTo: func(msg string) { l.say(msg) }}
	if l.debugOn {
		job.DebugTo = func(msg string) { l.say(msg) }
	}
	var reasons, hints []string
	note := func(e engine.Engine, err error) {
		reasons = append(reasons, engine.Explain(e, err))
		h := engine.Advice(err)
		if tooManyFiles(err) {
			h = fdHint
		}
		if h != "" && !slices.Contains(hints, h) {
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

// direct execs program in place, which exists at its store path here,
// with the start state the launcher was given; it returns only when the
// exec failed.
func (l *launch) direct(program string, args, env []string) int {
	l.debug("direct: ", program, " exists here, so it runs without a namespace")
	if l.start.Captured {
		// The mask is the thread's: stay on this one until the exec.
		runtime.LockOSThread()
		if err := proc.PrepareExec(l.start.Mask, l.start.Ignored, l.start.Closed, l.start.Nofile, l.start.AS, l.start.Raised); err != nil {
			l.debug(err.Error())
		}
	}
	err := syscall.Exec(program, args, env)
	return l.execFailed(&engine.ExecError{Path: program, Err: err})
}

func (l *launch) execFailed(xe *engine.ExecError) int {
	l.say(xe.Error(), l.missingInterpreter(xe))
	return xe.Status()
}

// missingInterpreter explains an ENOENT from execve of a program that is
// there: the kernel says "no such file or directory" when the program's
// ELF interpreter (or "#!" interpreter) is missing, which reads as if the
// program were. It returns "" or the words to add.
func (l *launch) missingInterpreter(xe *engine.ExecError) string {
	if !errors.Is(xe.Err, syscall.ENOENT) {
		return ""
	}
	// The file as the host has it, or the pack's copy of a store path.
	find := func(p string) (string, bool) {
		if _, err := os.Stat(p); err == nil {
			return p, true
		}
		if l.store != "" && strings.HasPrefix(p, l.store+"/") {
			if _, err := os.Stat(l.root + p); err == nil {
				return l.root + p, true
			}
		}
		return p, false
	}
	prog, ok := find(xe.Path)
	if !ok {
		return ""
	}
	shebang, elf := proc.Interpreters(prog)
	switch {
	case elf != "":
		if _, ok := find(elf); !ok {
			return " (its ELF interpreter " + elf + " is missing" + l.fromPack(elf) + ")"
		}
	case shebang != "":
		if _, ok := find(shebang); !ok {
			return " (its interpreter " + shebang + ", from its #! line, is missing" + l.fromPack(shebang) + ")"
		}
	}
	return ""
}

// fromPack says where a missing store file should have been.
func (l *launch) fromPack(p string) string {
	if l.store != "" && strings.HasPrefix(p, l.store+"/") {
		return " from the pack at " + l.root
	}
	return ""
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
// A relocated pack tries the relocate engine first.
func chooseEngines(v string, relocated bool) ([]engine.Engine, error) {
	all := Engines()
	if v == "" || v == "auto" {
		if relocated {
			slices.SortStableFunc(all, func(a, b engine.Engine) int {
				return boolInt(b.Name() == "relocate") - boolInt(a.Name() == "relocate")
			})
		}
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
// user namespaces first because they run the program at native speed and
// change nothing in the pack, then relocation, native speed too once the
// pack's files are rewritten (the first run), then ptrace, which works even
// where the pack cannot be written but slows down system calls. A pack that
// has been relocated tries relocate first (chooseEngines): its files name
// the relocation's prefix, which the other engines only reach through the
// same link. This list is the only place that names them all: a new engine is a
// package that implements engine.Engine, and a line here. An explicit list
// beats init-time registration for so few engines: the order is visible in
// one place.
func Engines() []engine.Engine {
	return []engine.Engine{
		userns.Engine{},
		relocate.Engine{},
		ptrace.Engine{},
	}
}

// fdWriter writes to a descriptor with plain system calls: os.Stderr of a
// non-blocking descriptor would start the Go runtime's network poller (see
// package proc). A failed write is dropped, as a message to a closed
// stderr is.
type fdWriter int

func (w fdWriter) Write(b []byte) (int, error) {
	n := 0
	for n < len(b) {
		m, err := syscall.Write(int(w), b[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
	}
	return n, nil
}

// fdHint is the advice when the launcher ran out of descriptors: under a
// hard ulimit -n, the direct path and the ptrace engine need 5, the userns
// engine 6 (at 4, the Go runtime loses one while it reads the cgroup files
// at start), and the program needs its own; TestLowLimits checks those
// numbers.
const fdHint = "raise the descriptor limit (ulimit -n 8 or more)"

func tooManyFiles(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
