//go:build linux && (amd64 || arm64)

package ptrace

import (
	"encoding/binary"
	"errors"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/engine"
	"github.com/gpack/gpack/launcher/internal/errs"
	"github.com/gpack/gpack/launcher/internal/proc"
)

// Engine runs the program under the launcher's own tracer, which
// rewrites the paths of system calls that reach the store to the pack's
// copy. It needs neither user namespaces nor any privilege, only ptrace of
// one's own children, which is why it is the fallback. The package comment
// describes the design.
type Engine struct{}

func (Engine) Name() string { return "ptrace" }

// Available reads the switches that forbid ptrace, so that the refusal
// names the switch and what an administrator can do about it.
func (Engine) Available() error {
	if err := ptraceAvailable(); err != nil {
		return &engine.UnavailableError{What: "the ptrace engine cannot run", Err: err}
	}
	return nil
}

func ptraceAvailable() error {
	if b, err := proc.ReadFile("/proc/sys/kernel/yama/ptrace_scope", 64); err == nil {
		switch strings.TrimSpace(string(b)) {
		case "3":
			return errors.New("kernel.yama.ptrace_scope is 3, which forbids ptrace until the next boot " +
				"(an administrator can set it to 1 at boot)")
		case "2":
			if os.Geteuid() != 0 {
				return errors.New("kernel.yama.ptrace_scope is 2, which allows ptrace to administrators only " +
					"(an administrator can run sysctl kernel.yama.ptrace_scope=1)")
			}
		}
	}
	if b, err := proc.ReadFile("/proc/self/status", 64<<10); err == nil {
		if i := strings.Index(string(b), "\nTracerPid:\t"); i >= 0 && !strings.HasPrefix(string(b[i+12:]), "0\n") {
			return errors.New("the launcher is itself traced (by a debugger, or by the launcher of another pack " +
				"of another store), and a traced process cannot trace")
		}
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err == nil && !kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 4, 8) {
		// Before 4.8 the seccomp stop came before the system-call entry
		// and a skipped call was not checked again: another protocol.
		return errors.New("the kernel is older than 4.8 (" + unix.ByteSliceToString(u.Release[:]) + ")")
	}
	return nil
}

// kernelAtLeast compares a release string such as "6.1.0-26-amd64".
func kernelAtLeast(release string, major, minor int) bool {
	f := strings.FieldsFunc(release, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) < 2 {
		return true // unknown: let the tracer find out
	}
	ma, _ := strconv.Atoi(f[0])
	mi, _ := strconv.Atoi(f[1])
	return ma > major || ma == major && mi >= minor
}

// Ptrace options: follow every new task, stop at execs and at the seccomp
// filter's RET_TRACE, tell system-call stops apart (TRACESYSGOOD), and kill
// every tracee if the tracer dies, so that no program runs on without its
// view of the store.
const ptraceOptions = unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK |
	unix.PTRACE_O_TRACECLONE | unix.PTRACE_O_TRACEEXEC | unix.PTRACE_O_TRACESECCOMP | unix.PTRACE_O_EXITKILL

// Run starts the program as a traced child and serves its system calls
// until it and every process it started have exited.
func (Engine) Run(j *engine.Job) (int, error) {
	realStore, err := filepath.EvalSymlinks(filepath.Join(j.Root, j.Store))
	if err != nil {
		return 0, errs.Wrap(err, "finding the pack's store")
	}
	root, err := filepath.EvalSymlinks(j.Root)
	if err != nil {
		return 0, errs.Wrap(err, "finding the pack")
	}

	fwc := make(chan *proc.Forwarder, 1)
	go func() { fwc <- proc.CatchSignals(j.Start.Ignored) }()
	// The tracer must keep running when the terminal stops the job
	// (Ctrl-Z): it stops itself once the program has stopped.
	jobc := make(chan os.Signal, 4)
	signal.Notify(jobc, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU)
	go func() {
		for range jobc {
		}
	}()

	// Every ptrace request for a tracee must come from the thread that
	// attached it, and PR_SET_PDEATHSIG follows the cloning thread. The
	// goroutine never unlocks: the launcher exits when Run returns.
	runtime.LockOSThread()
	proc.QuietChildStops()

	plan, opMsgs, report, err := startPlan(j)
	if err != nil {
		(<-fwc).Stop()
		return 0, err
	}
	defer syscall.Close(report)

	proc.RestoreFileLimit()
	fw := <-fwc
	pid, err := proc.Start(plan)
	// The write end stays open until the child may go: its first step
	// reads the byte written there once the tracer has attached. The
	// same pipe then carries its report.
	w := int(plan.ReportFD)
	if err != nil {
		syscall.Close(w)
		fw.Stop()
		return 0, errs.Wrap(err, "starting the program's process")
	}
	c := &proc.Child{Pid: pid}
	if _, _, e := syscall.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, ptraceOptions, 0, 0); e != 0 {
		syscall.Close(w)
		c.Signal(syscall.SIGKILL)
		c.Wait()
		fw.Stop()
		return 0, seizeError(e)
	}
	syscall.Write(w, []byte{1})
	syscall.Close(w)
	fw.ForwardTo(c)

	tr := newTranslator(j.Store, realStore, root)
	if j.Prefix != "" {
		tr.addAlias(j.Prefix)
	}
	t := newTracer(j, tr, c)
	// A seized process has no initial stop, unlike the tasks it creates.
	t.add(pid, &addrSpace{slots: map[int]int{}}, &process{}).seen = true
	status, started := t.loop()
	if !started {
		b, _ := proc.ReadAll(report, proc.MaxReport)
		for _, rec := range proc.ParseRecords(b) {
			switch {
			case rec.Kind == proc.RecExec:
				return 0, &engine.ExecError{Path: j.Program, Err: syscall.Errno(rec.Errno)}
			case int(rec.Step) < len(opMsgs):
				return 0, errs.Wrap(syscall.Errno(rec.Errno), opMsgs[rec.Step])
			}
		}
		return 0, errors.New("the traced process ended before it started the program (status " + strconv.Itoa(status) + ")")
	}
	return status, nil
}

// raisedAS is the bit of engine.StartState.Raised for RLIMIT_AS.
const raisedAS = 2

// startPlan builds the child's plan: wait until the tracer has attached,
// set no_new_privs, install the seccomp filter, exec the program. One pipe
// does for the wait and the report, since every descriptor counts under a
// low ulimit -n: the child's first step reads a byte that the tracer writes
// once it has attached, and then the child reports on it. startPlan returns
// the plan with the messages of its steps and the read end of the pipe (the
// write end is plan.ReportFD). On error, nothing stays open.
func startPlan(j *engine.Job) (*proc.Plan, []string, int, error) {
	var pipe [2]int
	if err := syscall.Pipe2(pipe[:], syscall.O_CLOEXEC); err != nil {
		return nil, nil, -1, errs.Wrap(err, "creating a pipe")
	}
	plan := &proc.Plan{CloneFlags: uintptr(syscall.SIGCHLD)}
	plan.Ops = []proc.Op{
		// Wait until the tracer has attached: a system call that the
		// filter sends to a missing tracer fails with ENOSYS.
		{Kind: proc.OpSyscall, Trap: unix.SYS_READ, A: [6]uintptr{uintptr(pipe[0]), plan.Buffer(1), 1}},
		// Required for an unprivileged seccomp filter; it also means
		// set-user-ID bits do nothing, which ptrace implies anyway.
		{Kind: proc.OpSyscall, Trap: unix.SYS_PRCTL, A: [6]uintptr{unix.PR_SET_NO_NEW_PRIVS, 1}},
		{Kind: proc.OpSyscall, Trap: unix.SYS_SECCOMP,
			A: [6]uintptr{unix.SECCOMP_SET_MODE_FILTER, 0, plan.SeccompProgram(seccompFilter())}},
	}
	opMsgs := []string{"waiting for the tracer", "setting no_new_privs", "installing the seccomp filter"}
	if err := plan.SetExec(j.Program, j.Args, j.Environ()); err != nil {
		syscall.Close(pipe[0])
		syscall.Close(pipe[1])
		return nil, nil, -1, &engine.ExecError{Path: j.Program, Err: err}
	}
	plan.ReportFD = uintptr(pipe[1])
	plan.PPid = uintptr(os.Getpid())
	if j.Start.Captured {
		plan.SetExact(j.Start.Mask, j.Start.Ignored, j.Start.Closed)
		// The address-space limit goes back only once the program has
		// replaced the copy of the launcher (see execed): the tracer
		// makes the tracee map scratch memory for that first exec, which
		// the copy of the Go runtime's reservations would not leave room
		// for.
		plan.SetLimits(j.Start.Nofile, j.Start.AS, j.Start.Raised&^raisedAS)
	}
	return plan, opMsgs, pipe[0], nil
}

// seizeError explains a refused PTRACE_SEIZE.
func seizeError(e syscall.Errno) error {
	if e == syscall.EPERM || e == syscall.EACCES {
		return &engine.UnavailableError{What: "the ptrace engine cannot run", Err: errs.Wrap(e, "ptrace is not permitted here: "+
			"a seccomp profile (a container's) or a security module forbids it; an administrator can allow the ptrace system call")}
	}
	return errs.Wrap(e, "attaching to the program's process")
}

// process is what the tracer knows of one program image: the store path it
// runs, when the kernel believes it runs something else (the pack's ld.so).
type process struct {
	exe string // the program's path as the program should see it, or ""
}

// tracee is one traced thread.
type tracee struct {
	tid    int
	mm     *addrSpace
	proc   *process
	known  bool // its parent's fork event has been seen, so mm is right
	seen   bool // its first stop has been seen
	cwd    string
	cwdGen uint64

	pendingExe string // the exe of an execve on its way
	slotOff    int    // next free byte in its scratch slot
	exit       *exitState
	// changing: the tracee is in a call that may change host names, whose
	// exit ends the translator's hostFrozen (beginHostChange).
	changing bool
}

// exitState is what a system call's exit handler needs from its entry.
type exitState struct {
	spec    *sysSpec
	entry   regs
	path    string // the first path argument, as the program wrote it
	bufSize int    // exitSockname: the size the program gave
}

// tracer is the state of the single tracing goroutine.
type tracer struct {
	j       *engine.Job
	tr      *translator
	main    *proc.Child
	tids    map[int]*tracee
	cwdGen  uint64
	started bool
	status  int
	pending map[int]bool // tids stopped before their parent's event

	stops, rewrites int
	spin            int // polls before wait blocks
	execCache       map[string]*execInfo
	warned          map[string]bool
	packs           map[string]bool   // directories checked by notePack
	mounts          map[string]uint64 // a pack's real store → the id of its mount
	buf             []byte
}

func newTracer(j *engine.Job, tr *translator, main *proc.Child) *tracer {
	return &tracer{
		j: j, tr: tr, main: main,
		tids:      map[int]*tracee{},
		pending:   map[int]bool{},
		execCache: map[string]*execInfo{},
		warned:    map[string]bool{},
		packs:     map[string]bool{},
		mounts:    map[string]uint64{},
		buf:       make([]byte, pathMax+1),
		cwdGen:    1,
		spin:      spinPolls(),
	}
}

func (t *tracer) add(tid int, mm *addrSpace, p *process) *tracee {
	tc := &tracee{tid: tid, mm: mm, proc: p, known: true}
	t.tids[tid] = tc
	return tc
}

// loop waits for the tracees' stops and serves them until none is left.
// It returns the main program's status, and whether the program was ever
// started (its first execve succeeded).
func (t *tracer) loop() (int, bool) {
	for len(t.tids) > 0 {
		var ws syscall.WaitStatus
		tid, err := t.wait(&ws)
		if err != nil {
			if err == syscall.EINTR {
				continue
			}
			if err == syscall.ECHILD {
				break
			}
			t.j.Debug("ptrace: wait4: ", err.Error())
			break
		}
		t.stops++
		t.handle(tid, ws)
	}
	if t.j.Debugging() {
		t.j.Debug("ptrace: ", strconv.Itoa(t.stops), " stops, ", strconv.Itoa(t.rewrites), " paths rewritten, ",
			strconv.Itoa(t.tr.hostLstats), " host paths looked up")
	}
	return t.status, t.started
}

// wait returns the next stop of any tracee. A tracee that was just resumed
// usually stops again within microseconds, so wait first polls for a
// while with raw system calls, which the Go scheduler does not see, and
// only then blocks in an ordinary one. Blocking at once costs far more
// than the poll: the scheduler hands the thread's P to another thread
// whenever a system call blocks for more than 20 µs, and takes it back
// when the call returns.
func (t *tracer) wait(ws *syscall.WaitStatus) (int, error) {
	for i := 0; i < t.spin; i++ {
		pid, e := proc.Wait4Raw(ws, unix.WALL|unix.WNOHANG)
		if e != 0 {
			return 0, e
		}
		if pid != 0 {
			return pid, nil
		}
	}
	return syscall.Wait4(-1, ws, unix.WALL, nil)
}

func (t *tracer) handle(tid int, ws syscall.WaitStatus) {
	tc := t.tids[tid]
	if ws.Exited() || ws.Signaled() {
		if tc != nil {
			t.gone(tc)
		}
		delete(t.pending, tid)
		if tid == t.main.Pid {
			t.main.Reaped()
			t.status = proc.Status(ws)
		}
		return
	}
	if !ws.Stopped() {
		return
	}
	if tc == nil {
		// A new task whose parent's event has not been seen yet: it
		// waits, stopped, until that event says which address space
		// it has.
		t.pending[tid] = true
		return
	}
	sig := ws.StopSignal()
	// Not ws.TrapCause(), which is -1 unless the stop signal is SIGTRAP:
	// a group-stop is PTRACE_EVENT_STOP with the stop signal.
	event := int(uint32(ws) >> 16)
	switch {
	case sig == syscall.SIGTRAP|0x80:
		t.syscallExit(tc)
	case sig == syscall.SIGTRAP && event == unix.PTRACE_EVENT_SECCOMP:
		t.syscallEntry(tc)
	case sig == syscall.SIGTRAP && (event == unix.PTRACE_EVENT_FORK || event == unix.PTRACE_EVENT_VFORK || event == unix.PTRACE_EVENT_CLONE):
		t.newTask(tc, event)
		t.cont(tid, 0)
	case sig == syscall.SIGTRAP && event == unix.PTRACE_EVENT_EXEC:
		t.execed(tc)
	case event == unix.PTRACE_EVENT_STOP:
		if !tc.seen {
			// The stop every new tracee starts with.
			tc.seen = true
			t.cont(tid, 0)
			return
		}
		switch sig {
		case syscall.SIGSTOP, syscall.SIGTSTP, syscall.SIGTTIN, syscall.SIGTTOU:
			// Group-stop: the tracee stays stopped, yet a SIGCONT
			// can wake it, as for any stopped process.
			unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_LISTEN, uintptr(tid), 0, 0, 0, 0)
			if tid == t.main.Pid && sig != syscall.SIGSTOP && proc.InForeground() {
				// Ctrl-Z: the shell learns that the job stopped from
				// its child, the launcher, so the launcher stops
				// too; `fg` continues both.
				syscall.Kill(os.Getpid(), syscall.SIGSTOP)
			}
		default:
			t.cont(tid, 0)
		}
	default:
		// A signal on its way to the tracee: deliver it.
		if tc.exit != nil {
			unix.PtraceSyscall(tid, int(sig))
			return
		}
		t.cont(tid, int(sig))
	}
}

func (t *tracer) cont(tid, sig int) {
	// ESRCH: the tracee was killed meanwhile; its exit comes next.
	_ = unix.PtraceCont(tid, sig)
}

// gone forgets a tracee that exited.
func (t *tracer) gone(tc *tracee) {
	t.endHostChange(tc)
	tc.mm.release(tc.tid)
	delete(t.tids, tc.tid)
}

// newTask registers the task that tc just created, with its address space:
// a fork's is a copy (which has the scratch regions at the same addresses),
// a thread's or a vfork child's is the same. kcmp tells which for clone,
// whose flags the tracer does not see.
func (t *tracer) newTask(tc *tracee, event int) {
	msg, err := unix.PtraceGetEventMsg(tc.tid)
	if err != nil {
		return
	}
	nt := int(msg)
	mm, proc := tc.mm, tc.proc
	if event == unix.PTRACE_EVENT_FORK || !sameVM(tc.tid, nt) {
		mm = tc.mm.fork()
		proc = &process{exe: tc.proc.exe}
	}
	n := t.add(nt, mm, proc)
	n.cwd, n.cwdGen = tc.cwd, tc.cwdGen
	if t.pending[nt] {
		delete(t.pending, nt)
		n.seen = true
		t.cont(nt, 0)
	}
}

func sameVM(a, b int) bool {
	const kcmpVM = 1
	r, _, e := unix.Syscall6(unix.SYS_KCMP, uintptr(a), uintptr(b), kcmpVM, 0, 0, 0)
	return e == 0 && r == 0
}

// execed handles the stop after a successful execve: the tracee has a new
// address space (with no scratch yet) and runs the program the entry
// handler chose. If a thread other than the leader called execve, the
// kernel has given it the leader's tid.
func (t *tracer) execed(tc *tracee) {
	if msg, err := unix.PtraceGetEventMsg(tc.tid); err == nil && int(msg) != tc.tid {
		if old := t.tids[int(msg)]; old != nil {
			t.gone(tc)
			old.mm.release(old.tid)
			delete(t.tids, old.tid)
			old.tid = tc.tid
			t.tids[tc.tid] = old
			tc = old
		}
	} else {
		tc.mm.release(tc.tid)
	}
	t.endHostChange(tc)
	tc.mm = &addrSpace{slots: map[int]int{}}
	tc.proc = &process{exe: tc.pendingExe}
	tc.pendingExe = ""
	tc.slotOff = 0
	tc.exit = nil
	if tc.tid == t.main.Pid && !t.started {
		t.started = true
		if st := t.j.Start; st.Raised&raisedAS != 0 {
			lim := unix.Rlimit{Cur: st.AS[0], Max: st.AS[1]}
			if err := unix.Prlimit(tc.tid, unix.RLIMIT_AS, &lim, nil); err != nil {
				t.j.Debug("ptrace: cannot restore the address-space limit: ", err.Error())
			}
		}
		t.j.Debug("engine ptrace: running ", t.j.Program)
	}
	t.cont(tc.tid, 0)
}

// syscallEntry serves a system call that the seccomp filter sent: it
// rewrites its path arguments where they reach the store, and asks for the
// exit stop where the result needs translating back.
func (t *tracer) syscallEntry(tc *tracee) {
	var r regs
	if err := getRegs(tc.tid, &r); err != nil {
		t.cont(tc.tid, 0)
		return
	}
	spec := specs[r.nr()]
	if spec == nil {
		t.cont(tc.tid, 0)
		return
	}
	switch spec.special {
	case specExecve, specExecveat:
		t.execEntry(tc, &r, spec.special == specExecveat)
		return
	case specBind, specConnect:
		t.sockaddrEntry(tc, &r, spec.special == specBind)
		return
	}

	// A call that may change what it names is judged on every path
	// argument at once (a rename's two sides), and not by the
	// one-component shortcut, which does not know the directory.
	writes := t.mayWrite(tc, &r, spec)
	var tg [2]target
	first := ""
	for i, ps := range spec.paths {
		tg[i] = target{skip: true, dirfd: unix.AT_FDCWD}
		if ps.dirfd >= 0 {
			tg[i].dirfd = int(int32(r.arg(ps.dirfd)))
		}
		addr := r.arg(ps.arg)
		if tc.mm.contains(addr) {
			// Already ours: a system call restarted after a signal
			// handler.
			continue
		}
		if addr == 0 {
			tg[i].empty = true // utimensat(fd, NULL): futimens
			continue
		}
		p, err := t.readString(tc.tid, addr)
		if err != nil {
			continue
		}
		if p == "" {
			tg[i].empty = true // AT_EMPTY_PATH, or ENOENT from the kernel
			continue
		}
		if i == 0 {
			first = p
		}
		noLinks := false
		if ps.follow == followOpenHow {
			// struct open_how: u64 flags, mode, resolve.
			var b [24]byte
			if _, err := t.readMem(tc.tid, r.arg(ps.flagArg), b[:]); err == nil {
				resolve := binary.NativeEndian.Uint64(b[16:])
				if resolve&(unix.RESOLVE_BENEATH|unix.RESOLVE_IN_ROOT) != 0 {
					// Resolution confined to the dirfd's tree: the
					// kernel does it right from the real dirfd, and an
					// absolute path would break the confinement.
					tg[i].beneath, tg[i].given = true, p
					continue
				}
				noLinks = resolve&unix.RESOLVE_NO_SYMLINKS != 0
			}
		}
		if noLinks {
			t.tr.linkLimit = 0
		}
		x, errno := t.translate(tc, p, tg[i].dirfd, t.follows(tc, &r, ps), writes)
		t.tr.linkLimit = maxSymlinks
		x.dirfd = tg[i].dirfd
		tg[i] = x
		if errno == errMissing {
			tg[i].missing = true
		} else if errno != 0 {
			t.fail(tc, &r, errno)
			return
		}
	}
	if spec.special == specChdir {
		// Threads may share the working directory: every cached one
		// is stale now. Not before the translation of chdir's own
		// path, which caches the directory it starts from: that one
		// must be stale too.
		t.cwdGen++
	}
	if writes {
		if errno := t.readOnly(tc, &r, spec, tg[:len(spec.paths)]); errno != 0 {
			t.fail(tc, &r, errno)
			return
		}
	}
	var rewrite [2]struct {
		arg  int
		path string
	}
	n := 0
	for i, ps := range spec.paths {
		if tg[i].skip {
			continue
		}
		if tg[i].missing && !t.mayCreate(tc, &r, spec, i) {
			// Nothing to look up: the kernel would say the same.
			t.fail(tc, &r, syscall.ENOENT)
			return
		}
		if tg[i].changed {
			rewrite[n].arg, rewrite[n].path = ps.arg, tg[i].real
			n++
		}
	}
	if n > 0 {
		var data []byte
		var offs [2]int
		for i := 0; i < n; i++ {
			if len(rewrite[i].path) >= pathMax {
				t.fail(tc, &r, syscall.ENAMETOOLONG)
				return
			}
			offs[i] = len(data)
			data = append(data, rewrite[i].path...)
			data = append(data, 0)
		}
		addr, ok := t.scratch(tc, &r, len(data))
		if !ok {
			return // the tracee re-runs the call once it has scratch
		}
		if err := t.writeMem(tc.tid, addr, data); err != nil {
			t.fail(tc, &r, syscall.EFAULT)
			return
		}
		for i := 0; i < n; i++ {
			r.setArg(rewrite[i].arg, addr+uint64(offs[i]))
		}
		if err := setRegs(tc.tid, &r); err != nil {
			t.cont(tc.tid, 0)
			return
		}
		t.rewrites++
	}
	if spec.changesNames() {
		// What the translator learnt of host paths may not hold once
		// the call has run: it learns nothing until the call's exit.
		t.beginHostChange(tc)
	}
	if spec.exit == exitGetcwd && tc.cwdGen == t.cwdGen && tc.cwd != "" && !t.tr.ours(tc.cwd) {
		// The working directory is known and on the host: the
		// kernel's answer is already the program's. (Python asks at
		// every import.)
		t.cont(tc.tid, 0)
		return
	}
	if spec.exit != exitNone || tc.changing {
		tc.exit = &exitState{spec: spec, entry: r, path: first}
		if spec.exit == exitSockname {
			tc.exit.bufSize = t.readInt32(tc.tid, r.arg(spec.sizeArg))
		}
		unix.PtraceSyscall(tc.tid, 0)
		return
	}
	t.cont(tc.tid, 0)
}

// beginHostChange marks tc as in a call that may change host names, until
// endHostChange: at the call's exit stop, or when tc exits or execs.
func (t *tracer) beginHostChange(tc *tracee) {
	if !tc.changing {
		tc.changing = true
		t.tr.beginHostChange()
	} else {
		t.tr.beginHostChange()
		t.tr.endHostChange()
	}
}

func (t *tracer) endHostChange(tc *tracee) {
	if tc.changing {
		tc.changing = false
		t.tr.endHostChange()
	}
}

// fail makes the system call fail with errno without running it.
func (t *tracer) fail(tc *tracee, r *regs, errno syscall.Errno) {
	r.setNr(-1)
	r.setRet(-int64(errno))
	setRegs(tc.tid, r)
	t.cont(tc.tid, 0)
}

// follows decides whether a path argument's last symlink is followed.
func (t *tracer) follows(tc *tracee, r *regs, ps pathSpec) bool {
	flags := r.arg(ps.flagArg)
	switch ps.follow {
	case followNever:
		return false
	case followAtFlag:
		return flags&unix.AT_SYMLINK_NOFOLLOW == 0
	case followAtFollow:
		return flags&unix.AT_SYMLINK_FOLLOW != 0
	case followOpenFlags:
		return openFollows(flags)
	case followOpenHow:
		// struct open_how starts with the 64-bit open flags.
		var b [8]byte
		if _, err := t.readMem(tc.tid, flags, b[:]); err != nil {
			return true
		}
		return openFollows(binary.NativeEndian.Uint64(b[:]))
	case followInotify:
		return flags&unix.IN_DONT_FOLLOW == 0
	}
	return true
}

func openFollows(flags uint64) bool {
	if flags&unix.O_NOFOLLOW != 0 {
		return false
	}
	return flags&(unix.O_CREAT|unix.O_EXCL) != unix.O_CREAT|unix.O_EXCL
}

// target is what translate found for one path argument.
type target struct {
	given   string // the path as the program wrote it
	abs     string // made absolute in the program's view, or "" if unknown
	view    string // where it leads in the program's view, symlinks resolved as far as the tracer resolves them
	real    string // the path to give the kernel
	changed bool   // real differs from given
	missing bool   // translate's errMissing
	dirfd   int    // the directory a relative path starts from
	skip    bool   // the tracer leaves this argument to the kernel
	empty   bool   // an empty or NULL path: the call is about dirfd itself
	beneath bool   // openat2 with RESOLVE_BENEATH or RESOLVE_IN_ROOT
}

// translate maps one path argument. It returns what it found, with the
// host path to use, or an errno to fail the call with. exact turns off the
// shortcut for a one-component relative path, which leaves the path
// unexamined: a call that may write must know where it writes.
func (t *tracer) translate(tc *tracee, p string, dirfd int, follow, exact bool) (target, syscall.Errno) {
	x := target{given: p, real: p}
	abs := p
	if p[0] != '/' && !exact && !follow && p != "." && p != ".." && strings.IndexByte(p, '/') < 0 {
		// One component, no symlink followed: whatever directory the
		// kernel starts from, it finds what the program means. This is
		// how fts (find, du, rm -r) lstats every entry of a tree, so
		// skipping the directory's lookup matters.
		return x, 0
	}
	base := "/"
	if p[0] != '/' {
		base = t.dirPath(tc, dirfd)
		if base == "" {
			return x, 0
		}
		abs = joinPath(base, p)
	}
	x.abs, x.view = abs, abs
	if follow && tc.proc.exe != "" && t.isOwnExe(tc, abs) {
		// The kernel runs the pack's ld.so; the program opens itself.
		x.view, x.real, x.changed = tc.proc.exe, t.tr.toReal(tc.proc.exe), true
		return x, 0
	}
	view, real, missing, via, err := t.tr.resolveAt(base, abs, follow)
	if err != nil {
		if errno, ok := err.(syscall.Errno); ok {
			return x, errno
		}
		return x, syscall.EIO
	}
	if !via {
		// No store and no pack on the way: the kernel finds what the
		// program means from the path as it is.
		return x, 0
	}
	x.view, x.real, x.changed = view, real, real != p
	if missing {
		return x, errMissing
	}
	return x, 0
}

// errMissing is translate's answer for a path inside the pack's store that
// does not exist. It is not a real errno: the caller decides between
// failing the call with ENOENT at once, which spares the kernel a lookup
// (dynamic loaders probe dozens of missing library paths per program), and
// letting a call that creates the file go on.
const errMissing = syscall.Errno(^uint(0) >> 1)

// mayCreate reports whether path argument i of the call may create what it
// names, so that its absence is no error.
func (t *tracer) mayCreate(tc *tracee, r *regs, spec *sysSpec, i int) bool {
	if spec.paths[i].creates {
		return true
	}
	switch spec.paths[i].follow {
	case followOpenFlags:
		return r.arg(spec.paths[i].flagArg)&unix.O_CREAT != 0
	case followOpenHow:
		var b [8]byte
		if _, err := t.readMem(tc.tid, r.arg(spec.paths[i].flagArg), b[:]); err != nil {
			return true
		}
		return binary.NativeEndian.Uint64(b[:])&unix.O_CREAT != 0
	case followNever:
		// mkdir, mknod, symlink, link and rename targets, unlink:
		// let the kernel answer.
		return true
	}
	return false
}

// isOwnExe reports whether abs names the tracee's /proc/…/exe.
func (t *tracer) isOwnExe(tc *tracee, abs string) bool {
	if !strings.HasPrefix(abs, "/proc/") || !strings.HasSuffix(abs, "/exe") {
		return false
	}
	mid := abs[len("/proc/") : len(abs)-len("/exe")]
	switch mid {
	case "self", "thread-self":
		return true
	}
	if pid, err := strconv.Atoi(mid); err == nil {
		if o := t.tids[pid]; o != nil && o.proc == tc.proc {
			return true
		}
	}
	return strings.HasPrefix(mid, "self/task/")
}

// dirPath returns the program's view of the directory a relative path
// starts from: the working directory or the directory of dirfd, or "" if
// unknown.
func (t *tracer) dirPath(tc *tracee, dirfd int) string {
	if dirfd == unix.AT_FDCWD {
		if tc.cwdGen != t.cwdGen || tc.cwd == "" {
			cwd, err := os.Readlink("/proc/" + strconv.Itoa(tc.tid) + "/cwd")
			if err != nil {
				return ""
			}
			tc.cwd, tc.cwdGen = t.tr.toVirtual(cwd), t.cwdGen
		}
		return tc.cwd
	}
	d, err := os.Readlink("/proc/" + strconv.Itoa(tc.tid) + "/fd/" + strconv.Itoa(dirfd))
	if err != nil || !strings.HasPrefix(d, "/") {
		return ""
	}
	return t.tr.toVirtual(d)
}

// syscallExit serves the exit stop of a call whose result names a path.
func (t *tracer) syscallExit(tc *tracee) {
	t.endHostChange(tc)
	st := tc.exit
	tc.exit = nil
	if st == nil {
		t.cont(tc.tid, 0)
		return
	}
	var r regs
	if err := getRegs(tc.tid, &r); err != nil {
		t.cont(tc.tid, 0)
		return
	}
	ret := r.ret()
	e := &st.entry
	if ret >= 0 {
		switch st.spec.exit {
		case exitReadlink:
			t.readlinkExit(tc, &r, st, ret)
		case exitGetcwd:
			t.getcwdExit(tc, &r, e, ret)
		case exitSockname:
			t.socknameExit(tc, e, st)
		}
	}
	t.cont(tc.tid, 0)
}

func (t *tracer) readlinkExit(tc *tracee, r *regs, st *exitState, ret int64) {
	e := &st.entry
	buf, size := e.arg(st.spec.bufArg), int(e.arg(st.spec.sizeArg))
	var want string
	if st.path != "" && tc.proc.exe != "" && st.path[0] == '/' && t.isOwnExe(tc, st.path) {
		want = tc.proc.exe
	} else {
		b := make([]byte, ret)
		if _, err := t.readMem(tc.tid, buf, b); err != nil {
			return
		}
		got := string(b)
		want = t.tr.toVirtual(got)
		if want == got {
			return
		}
	}
	if len(want) > size {
		want = want[:size]
	}
	if t.writeMem(tc.tid, buf, []byte(want)) == nil {
		r.setRet(int64(len(want)))
		setRegs(tc.tid, r)
	}
}

func (t *tracer) getcwdExit(tc *tracee, r *regs, e *regs, ret int64) {
	buf, size := e.arg(0), int64(e.arg(1))
	if ret <= 1 || ret > pathMax {
		return
	}
	b := make([]byte, ret-1)
	if _, err := t.readMem(tc.tid, buf, b); err != nil {
		return
	}
	got := string(b)
	want := t.tr.toVirtual(got)
	if want == got {
		return
	}
	if int64(len(want))+1 > size {
		r.setRet(-int64(syscall.ERANGE))
	} else if t.writeMem(tc.tid, buf, append([]byte(want), 0)) == nil {
		r.setRet(int64(len(want)) + 1)
	}
	setRegs(tc.tid, r)
}

// sunPathMax is the size of sockaddr_un's sun_path.
const sunPathMax = 108

func (t *tracer) socknameExit(tc *tracee, e *regs, st *exitState) {
	buf, lenp := e.arg(st.spec.bufArg), e.arg(st.spec.sizeArg)
	if buf == 0 || lenp == 0 || st.bufSize <= 2 {
		return
	}
	n := t.readInt32(tc.tid, lenp)
	if n <= 2 {
		return
	}
	b := make([]byte, min(n, st.bufSize, 2+sunPathMax))
	if _, err := t.readMem(tc.tid, buf, b); err != nil {
		return
	}
	if binary.NativeEndian.Uint16(b) != unix.AF_UNIX || b[2] == 0 {
		return
	}
	got := unix.ByteSliceToString(b[2:])
	want := t.tr.toVirtual(got)
	if want == got {
		return
	}
	out := append(append(b[:2:2], want...), 0)
	full := len(out)
	if len(out) > st.bufSize {
		out = out[:st.bufSize]
	}
	if t.writeMem(tc.tid, buf, out) == nil {
		var l [4]byte
		binary.NativeEndian.PutUint32(l[:], uint32(int32(full)))
		t.writeMem(tc.tid, lenp, l[:])
	}
}

// sockaddrEntry translates the AF_UNIX address of bind or connect.
func (t *tracer) sockaddrEntry(tc *tracee, r *regs, bind bool) {
	addr, alen := r.arg(1), int(r.arg(2))
	if addr == 0 || alen <= 2 || alen > 2+sunPathMax || tc.mm.contains(addr) {
		t.cont(tc.tid, 0)
		return
	}
	b := make([]byte, alen)
	if _, err := t.readMem(tc.tid, addr, b); err != nil ||
		binary.NativeEndian.Uint16(b) != unix.AF_UNIX || b[2] == 0 {
		t.cont(tc.tid, 0) // not a path: another family, or abstract
		return
	}
	p := unix.ByteSliceToString(b[2:])
	x, errno := t.translate(tc, p, unix.AT_FDCWD, !bind, bind)
	if errno == errMissing {
		errno = syscall.ENOENT
		if bind {
			errno = 0 // bind creates the socket file
		}
	}
	if errno == 0 && bind {
		// A socket file in the store: the kernel creates it after
		// checking the name, as for mknod.
		errno = t.bindReadOnly(&x)
	}
	real, changed := x.real, x.changed
	switch {
	case errno != 0:
		t.fail(tc, r, errno)
		return
	case !changed:
		t.cont(tc.tid, 0)
		return
	case len(real) >= sunPathMax:
		// The pack's path is longer than the address can hold.
		t.fail(tc, r, syscall.ENAMETOOLONG)
		return
	}
	out := append(append(b[:2:2], real...), 0)
	sa, ok := t.scratch(tc, r, len(out))
	if !ok {
		return
	}
	if t.writeMem(tc.tid, sa, out) != nil {
		t.fail(tc, r, syscall.EFAULT)
		return
	}
	r.setArg(1, sa)
	r.setArg(2, uint64(len(out)))
	setRegs(tc.tid, r)
	t.rewrites++
	t.cont(tc.tid, 0)
}

// readInt32 reads a socklen_t; 0 if unreadable.
func (t *tracer) readInt32(tid int, addr uint64) int {
	if addr == 0 {
		return 0
	}
	var b [4]byte
	if _, err := t.readMem(tid, addr, b[:]); err != nil {
		return 0
	}
	return int(int32(binary.NativeEndian.Uint32(b[:])))
}

// spinPolls is how many times wait polls before it blocks. Polling only
// pays where the tracee can run meanwhile on another CPU; on one CPU it
// would only delay the tracee. 30 polls (some 30 µs) was the best of 0,
// 10, 30, 100 and 1000 on 2 CPUs for a shell starting store programs.
func spinPolls() int {
	var set unix.CPUSet
	if err := unix.SchedGetaffinity(0, &set); err == nil && set.Count() < 2 {
		return 0
	}
	return 30
}
