//go:build linux && (amd64 || arm64)

package ptrace

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
	// Each traced call is a test and its own return: the jumps are 0
	// and 1 whatever the length of the table, so no offset can overflow
	// BPF's 8-bit jump fields. A call that is not traced runs one test
	// per traced call, as it would with one shared return at the end.
	for _, nr := range traced {
		f = append(f, jump(jeq, uint32(nr), 0, 1), stmt(ret, unix.SECCOMP_RET_TRACE))
	}
	return append(f, stmt(ret, unix.SECCOMP_RET_ALLOW))
}
