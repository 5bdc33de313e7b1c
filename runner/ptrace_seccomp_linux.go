//go:build linux && (amd64 || arm64)

package runner

import (
	"slices"

	"golang.org/x/sys/unix"
)

// seccompFilter is the BPF program the tracee installs before its first
// exec. It sends the path-carrying system calls to the tracer
// (SECCOMP_RET_TRACE) and lets every other one run at native speed, which
// is where the engine's speed comes from: a program that computes, or reads
// and writes open files, never stops. io_uring_setup fails with ENOSYS, and
// so does any system call of another ABI (x32, or 32-bit code), whose
// numbers the tables do not cover: letting those through would let a path
// escape translation.
func seccompFilter() []unix.SockFilter {
	traced := make([]int, 0, len(pathCalls))
	for _, s := range pathCalls {
		traced = append(traced, s.nr)
	}
	slices.Sort(traced)
	traced = slices.Compact(traced)

	const (
		ld  = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
		jeq = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
		jge = unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K
		ret = unix.BPF_RET | unix.BPF_K
	)
	enosys := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	jump := func(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
		return unix.SockFilter{Code: code, K: k, Jt: jt, Jf: jf}
	}

	// struct seccomp_data: nr at 0, arch at 4.
	f := []unix.SockFilter{
		stmt(ld, 4),
		jump(jeq, auditArch, 1, 0),
		stmt(ret, enosys),
		stmt(ld, 0),
	}
	if x32Bit != 0 {
		f = append(f, jump(jge, x32Bit, 0, 1), stmt(ret, enosys))
	}
	for _, nr := range deniedCalls {
		f = append(f, jump(jeq, uint32(nr), 0, 1), stmt(ret, enosys))
	}
	// One comparison per traced call, each jumping to the RET_TRACE at
	// the end; the fall-through is ALLOW. A linear list is what the JIT
	// turns into a few compare-and-branch instructions per call; a
	// binary search would save little for some 70 numbers.
	n := len(traced)
	for i, nr := range traced {
		// Distance to the RET_TRACE: the comparisons left after this
		// one, then the RET_ALLOW.
		f = append(f, jump(jeq, uint32(nr), uint8(n-1-i+1), 0))
	}
	f = append(f, stmt(ret, unix.SECCOMP_RET_ALLOW), stmt(ret, unix.SECCOMP_RET_TRACE))
	return f
}
