//go:build linux

package proc

import (
	"encoding/binary"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// This file holds the only code of the launcher that runs between a fork and
// an exec: the child of a raw clone(CLONE_NEWUSER|CLONE_NEWNS|SIGCHLD), with
// fork semantics (no CLONE_VM: the child has its own copy of the memory).
// The package comment explains why; the rules are those of the standard
// library's syscall.forkAndExecInChild. The child is a copy of a
// multi-threaded Go process of which only the calling thread exists, and
// whose other threads may have held runtime locks at the time of the clone,
// so it must not allocate, grow its stack, take a lock, write a pointer (a
// write barrier may be on), be preempted, or call anything but the assembly
// system-call stubs (syscall.RawSyscall and RawSyscall6, themselves nosplit
// and norace, which the standard library calls in the same place). So:
//
//   - the child's functions are //go:nosplit (no stack check, hence no
//     growth and no preemption point; the linker rejects a chain of them
//     that could overflow the stack), //go:norace and //go:nocheckptr (no
//     instrumentation calls), and keep small frames;
//   - they work on the Plan that the parent built before the clone:
//     paths, argv, envp and buffers as addresses of NUL-terminated bytes
//     that the plan keeps alive, system calls as numbers and arguments, so
//     the child only loops over arrays and writes integers on its stack;
//   - every signal is blocked on the cloning thread from before the clone
//     until the child has reset all handlers to the default, so no Go signal
//     handler ever runs in the child; the child restores the launcher's mask
//     just before execve;
//   - a failure is a fixed-size record written on a close-on-exec pipe,
//     which the parent turns into its message.

// Kinds of child step.
const (
	OpSyscall   = iota // RawSyscall6(trap, a...)
	OpWriteFile        // open(a0, O_WRONLY), write(a1, a2), close
	OpCreate           // open(a0, O_CREAT|O_EXCL|O_WRONLY, 0644), close
	OpOpenAt           // fd = open(a0, a1), then dup3(fd, a2, O_CLOEXEC) and close(fd) unless fd is a2
)

// Op is one step of the child. On success it skips OkSkip further steps;
// on failure, a fatal step reports its index and errno and the child exits,
// while a Warn step reports them and skips FailSkip steps.
type Op struct {
	Kind     uintptr // OpSyscall, OpWriteFile, OpCreate or OpOpenAt
	Trap     uintptr // OpSyscall: the system call number
	A        [6]uintptr
	Warn     bool
	OkSkip   int
	FailSkip int
}

// Record is what the child writes on the report pipe, native-endian:
// the record kind, the index of the step (or 0 for exec) and the errno.
type Record struct {
	Kind  uint32
	Step  uint32
	Errno uint32
}

// Kinds of record.
const (
	RecFatal = 1 // a setup step failed; the child exits
	RecWarn  = 2 // a step failed and its fallback follows
	RecExec  = 3 // execve of the program failed
)

const recordSize = 12

// MaxReport bounds what the parent reads from the report pipe; a report is
// a few records.
const MaxReport = 4096

// Plan is everything the child needs, built by the parent before the
// clone. The slices are read, never written, by the child; the addresses in
// the steps point into memory that the plan keeps alive (keep).
type Plan struct {
	// CloneFlags are the flags of the clone: new namespaces for the
	// userns engine, none for the ptrace engine; the exit signal is
	// SIGCHLD.
	CloneFlags uintptr
	Ops        []Op
	// ReportFD is the write end of the report pipe, close-on-exec.
	ReportFD uintptr
	// PPid is the launcher's pid: a child whose parent is already gone
	// (PR_SET_PDEATHSIG came too late) exits at once.
	PPid uintptr
	// Exact says that ExecMask, ExecIgnored and ExecClosed hold the
	// launcher's start state (engine.StartState), which the program gets
	// in place of the launcher's own: the signal mask, the ignored
	// signals (bit n-1 for signal n) and the closed descriptors among 0-2
	// (bit fd).
	Exact       bool
	ExecMask    uint64
	ExecIgnored uint64
	ExecClosed  uint64
	// execLimits are the soft and hard RLIMIT_NOFILE and RLIMIT_AS the
	// program gets back, for the bits of execRaised (SetLimits).
	execLimits [2][2]uint64
	execRaised uint64
	oldMask    uint64
	program    uintptr // *byte
	argv       uintptr // **byte
	envp       uintptr // **byte
	keep       []any
}

// sigIgn is SIG_IGN; the zero handler is SIG_DFL.
const sigIgn = 1

// sigactiont is the kernel's struct sigaction (amd64, arm64, 386, arm; it
// is at least as large as the others'). The child only passes a zero one
// (SIG_DFL) and reads the old handler.
type sigactiont struct {
	handler  uintptr
	flags    uintptr
	restorer uintptr
	mask     uint64
}

// Start clones the child, which runs plan and execs the program. It
// returns the child's pid, or the errno of clone. Precondition: the calling
// goroutine is locked to its OS thread (PR_SET_PDEATHSIG follows the thread),
// and stays so until the child is reaped.
func Start(plan *Plan) (int, error) {
	var all uint64 = ^uint64(0)
	// Block every signal on this thread, so that no Go handler runs in the
	// child before it has reset them all to the default.
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&plan.oldMask)), 8, 0, 0); e != 0 {
		return 0, e
	}
	pid := cloneChild(plan)
	// The parent's own mask back, whatever happened.
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(&plan.oldMask)), 0, 8, 0, 0)
	runtime.KeepAlive(plan)
	if pid < 0 {
		return 0, syscall.Errno(-pid)
	}
	return pid, nil
}

// cloneChild forks; in the child it never returns. It returns the pid, or
// minus the errno.
//
//go:nosplit
//go:norace
//go:nocheckptr
//go:noinline
func cloneChild(plan *Plan) int {
	flags := plan.CloneFlags
	var r1 uintptr
	var e syscall.Errno
	if runtime.GOARCH == "s390x" {
		// The first two arguments of clone are swapped there.
		r1, _, e = syscall.RawSyscall6(unix.SYS_CLONE, 0, flags, 0, 0, 0, 0)
	} else {
		r1, _, e = syscall.RawSyscall6(unix.SYS_CLONE, flags, 0, 0, 0, 0, 0)
	}
	if e != 0 {
		return -int(e)
	}
	if r1 != 0 {
		return int(r1)
	}
	childRun(plan)
	return 0 // not reached
}

// childRun is the child: it never returns.
//
//go:nosplit
//go:norace
//go:nocheckptr
//go:noinline
func childRun(plan *Plan) {
	// No Go handler may run here, and a forwarded signal that arrives
	// before the exec must get its action in the program: every signal
	// goes to SIG_DFL, or SIG_IGN if the launcher was started with it
	// ignored (Exact), or, without that record, if it is ignored now.
	// Signals are still blocked.
	var old, dfl, ign sigactiont
	ign.handler = sigIgn
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig == uintptr(syscall.SIGKILL) || sig == uintptr(syscall.SIGSTOP) {
			continue
		}
		act := &dfl
		if plan.Exact && plan.ExecIgnored&(1<<(sig-1)) != 0 {
			act = &ign
		}
		_, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig,
			uintptr(unsafe.Pointer(act)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
		if !plan.Exact && e == 0 && old.handler == sigIgn {
			syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
		}
	}
	// The program dies with the launcher; if the launcher is already
	// gone, the signal will never come, so go now.
	syscall.RawSyscall6(unix.SYS_PRCTL, unix.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0)
	if r, _, _ := syscall.RawSyscall(unix.SYS_GETPPID, 0, 0, 0); r != plan.PPid {
		syscall.RawSyscall(unix.SYS_EXIT_GROUP, childFailStatus, 0, 0)
	}

	for i := 0; i < len(plan.Ops); i++ {
		op := &plan.Ops[i]
		e := childStep(op)
		if e == 0 {
			i += op.OkSkip
			continue
		}
		if !op.Warn {
			childReport(plan.ReportFD, RecFatal, uint32(i), e)
			syscall.RawSyscall(unix.SYS_EXIT_GROUP, childFailStatus, 0, 0)
		}
		childReport(plan.ReportFD, RecWarn, uint32(i), e)
		i += op.FailSkip
	}

	// The standard descriptors the launcher was started without: the Go
	// runtime opened /dev/null on them, which the program must not get.
	for fd := uintptr(0); fd < 3; fd++ {
		if plan.Exact && plan.ExecClosed&(1<<fd) != 0 {
			syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		}
	}
	// The limits the entry point raised for the Go runtime.
	for i := uintptr(0); i < 2; i++ {
		if plan.execRaised&(1<<i) != 0 {
			syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, limitResources[i],
				uintptr(unsafe.Pointer(&plan.execLimits[i])), 0, 0, 0)
		}
	}
	// The mask the launcher was started with (or, without that record,
	// the one it has), for the program: the handlers are set by now.
	mask := &plan.oldMask
	if plan.Exact {
		mask = &plan.ExecMask
	}
	syscall.RawSyscall6(unix.SYS_RT_SIGPROCMASK, unix.SIG_SETMASK,
		uintptr(unsafe.Pointer(mask)), 0, 8, 0, 0)
	_, _, e := syscall.RawSyscall(unix.SYS_EXECVE, plan.program, plan.argv, plan.envp)
	childReport(plan.ReportFD, RecExec, 0, e)
	syscall.RawSyscall(unix.SYS_EXIT_GROUP, childFailStatus, 0, 0)
}

// childStep runs one step and returns its errno, or 0.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childStep(op *Op) syscall.Errno {
	switch op.Kind {
	case OpSyscall:
		_, _, e := syscall.RawSyscall6(op.Trap, op.A[0], op.A[1], op.A[2], op.A[3], op.A[4], op.A[5])
		return e
	case OpWriteFile:
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, AtFDCWD, op.A[0],
			unix.O_WRONLY|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 {
			return e
		}
		n, _, e := syscall.RawSyscall(unix.SYS_WRITE, fd, op.A[1], op.A[2])
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		if e == 0 && n != op.A[2] {
			e = syscall.EIO
		}
		return e
	case OpCreate:
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, AtFDCWD, op.A[0],
			unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_CLOEXEC, 0o644, 0, 0)
		if e != 0 {
			return e
		}
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return 0
	case OpOpenAt:
		fd, _, e := syscall.RawSyscall6(unix.SYS_OPENAT, AtFDCWD, op.A[0], op.A[1]|unix.O_CLOEXEC, 0, 0, 0)
		if e != 0 || fd == op.A[2] {
			return e
		}
		_, _, e = syscall.RawSyscall(unix.SYS_DUP3, fd, op.A[2], unix.O_CLOEXEC)
		syscall.RawSyscall(unix.SYS_CLOSE, fd, 0, 0)
		return e
	}
	return syscall.EINVAL
}

// childReport writes one record on the report pipe.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childReport(fd uintptr, kind, step uint32, e syscall.Errno) {
	rec := Record{Kind: kind, Step: step, Errno: uint32(e)}
	syscall.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&rec)), recordSize)
}

// ParseRecords decodes what the child wrote, ignoring a torn tail.
func ParseRecords(b []byte) []Record {
	var recs []Record
	for len(b) >= recordSize {
		recs = append(recs, Record{Kind: binary.NativeEndian.Uint32(b), Step: binary.NativeEndian.Uint32(b[4:]),
			Errno: binary.NativeEndian.Uint32(b[8:])})
		b = b[recordSize:]
	}
	return recs
}

// Addr returns the address of the NUL-terminated copy of s, kept alive by
// the plan.
func (p *Plan) Addr(s string) uintptr {
	b, err := syscall.ByteSliceFromString(s)
	if err != nil {
		// A NUL inside: the kernel would see the part before it. Paths
		// here come from the manifest and the file system, which have
		// none; keep the behaviour defined anyway.
		b = []byte(s[:indexNUL(s)] + "\x00")
	}
	p.keep = append(p.keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

// Bytes returns the address of a copy of s, unterminated, kept alive by the
// plan.
func (p *Plan) Bytes(s string) uintptr {
	b := []byte(s + "\x00")
	p.keep = append(p.keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

func indexNUL(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return i
		}
	}
	return len(s)
}

// SetExec fills in the program, argv and envp of the exec.
func (p *Plan) SetExec(program string, argv, env []string) error {
	prog, err := syscall.BytePtrFromString(program)
	if err != nil {
		return err
	}
	av, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return err
	}
	ev, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return err
	}
	p.keep = append(p.keep, prog, av, ev)
	p.program = uintptr(unsafe.Pointer(prog))
	p.argv = uintptr(unsafe.Pointer(&av[0]))
	p.envp = uintptr(unsafe.Pointer(&ev[0]))
	return nil
}

// FDMessage returns the address of a struct msghdr that sends descriptor
// fd (SCM_RIGHTS) with one byte of data, kept alive by the plan, for a
// sendmsg(2) step: how the userns child hands the parent the /dev/fuse
// descriptor it mounted.
func (p *Plan) FDMessage(fd int) uintptr {
	rights := unix.UnixRights(fd)
	data := []byte{'f'}
	iov := &unix.Iovec{Base: &data[0]}
	iov.SetLen(len(data))
	msg := &unix.Msghdr{Iov: iov, Iovlen: 1, Control: &rights[0]}
	msg.SetControllen(len(rights))
	p.keep = append(p.keep, rights, data, iov, msg)
	return uintptr(unsafe.Pointer(msg))
}

// Buffer returns the address of n zero bytes kept alive by the plan, for a
// step that reads into memory.
func (p *Plan) Buffer(n int) uintptr {
	b := make([]byte, n)
	p.keep = append(p.keep, b)
	return uintptr(unsafe.Pointer(&b[0]))
}

// SeccompProgram returns the address of a struct sock_fprog for filter,
// kept alive by the plan with the filter, for a seccomp(2) step.
func (p *Plan) SeccompProgram(filter []unix.SockFilter) uintptr {
	prog := &unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	p.keep = append(p.keep, filter, prog)
	return uintptr(unsafe.Pointer(prog))
}

// QuietChildStops stops the kernel from sending the launcher a SIGCHLD for
// every stop of a child (for a tracer, one per traced system call), each of
// which would run the Go runtime's signal handler and interrupt a wait. The
// runtime has installed a handler for SIGCHLD; the same handler is put back
// with SA_NOCLDSTOP added, which the kernel also applies to ptrace stops.
// Callers must not need SIGCHLD for stops: wait4 still reports them.
func QuietChildStops() {
	var sa sigactiont
	if _, _, e := syscall.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD), 0,
		uintptr(unsafe.Pointer(&sa)), 8, 0, 0); e != 0 {
		return
	}
	if sa.handler == 0 || sa.handler == sigIgn {
		return // default or ignored: nothing runs anyway
	}
	sa.flags |= saNoCldStop
	syscall.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(syscall.SIGCHLD), uintptr(unsafe.Pointer(&sa)), 0, 8, 0, 0)
}

// saNoCldStop is SA_NOCLDSTOP, the same on every Linux architecture.
const saNoCldStop = 1

// Wait4Raw is wait4(-1, ws, options) as a raw system call, which the Go
// scheduler does not see: for polls with WNOHANG that must not cost a
// scheduler round trip. It returns the pid, 0 if none, or the errno.
func Wait4Raw(ws *syscall.WaitStatus, options int) (int, syscall.Errno) {
	r, _, e := syscall.RawSyscall6(unix.SYS_WAIT4, ^uintptr(0), uintptr(unsafe.Pointer(ws)), uintptr(options), 0, 0, 0)
	return int(r), e
}

// ignoreSignals sets SIG_IGN for the signals of ignored (bit n-1 for
// signal n) with raw system calls: os/signal.Ignore would skip those the Go
// runtime keeps for itself (SIGSEGV, SIGPROF). For the direct path, just
// before an exec.
func ignoreSignals(ignored uint64) {
	ign := sigactiont{handler: sigIgn}
	for sig := uintptr(1); sig <= 64; sig++ {
		if ignored&(1<<(sig-1)) != 0 && sig != uintptr(syscall.SIGKILL) && sig != uintptr(syscall.SIGSTOP) {
			syscall.RawSyscall6(unix.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&ign)), 0, 8, 0, 0)
		}
	}
}

// limitResources are the resources of Plan.execLimits, in order.
var limitResources = [2]uintptr{unix.RLIMIT_NOFILE, unix.RLIMIT_AS}

// SetLimits gives the plan's program the soft and hard RLIMIT_NOFILE and
// RLIMIT_AS of the launcher's start, for the ones whose bit (0, 1) is set
// in raised: those the entry point raised for the Go runtime.
func (p *Plan) SetLimits(nofile, as [2]uint64, raised uint64) {
	p.execLimits = [2][2]uint64{nofile, as}
	p.execRaised = raised
}

// restoreLimits puts back, in the calling process, the limits of raised
// (as in SetLimits), for an exec in place.
func restoreLimits(nofile, as [2]uint64, raised uint64) {
	lims := [2][2]uint64{nofile, as}
	for i := range lims {
		if raised&(1<<i) != 0 {
			syscall.RawSyscall6(unix.SYS_PRLIMIT64, 0, limitResources[i], uintptr(unsafe.Pointer(&lims[i])), 0, 0, 0)
		}
	}
}
