package main

import (
	"os"
	"os/exec"
	"runtime"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// seccompVar makes the test binary a helper that installs a seccomp filter on
// itself and then execs its arguments. The filter is inherited by every
// process below, across clone and execve, which is how the tests put a host
// restriction on the real launcher binary without a test hook in it.
const seccompVar = "GPACK_TEST_SECCOMP"

const (
	// denyMount plays Ubuntu's AppArmor restriction of unprivileged user
	// namespaces: clone(CLONE_NEWUSER) succeeds, then every mount-related
	// call fails with EPERM, as capable(CAP_SYS_ADMIN) does under the
	// unprivileged_userns profile.
	denyMount = "deny-mount"
	// denyUserns plays a kernel or sandbox that refuses new user
	// namespaces outright: clone and unshare with CLONE_NEWUSER fail with
	// EPERM. clone3 gets ENOSYS because a filter cannot read its flags
	// (they sit behind a pointer), and callers then fall back to clone.
	denyUserns = "deny-userns"
	// denyPtrace plays a container's seccomp profile that forbids ptrace
	// (Docker's default one did on kernels before 4.8).
	denyPtrace = "deny-ptrace"
	// denyMountPtrace is an AppArmor host inside such a container: no
	// engine can work.
	denyMountPtrace = "deny-mount-ptrace"
)

// seccompHelper never returns: it execs its arguments or exits 99.
func seccompHelper(mode string) {
	var filter []unix.SockFilter
	mounts := []uint32{unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT,
		unix.SYS_CHROOT, unix.SYS_FSOPEN, unix.SYS_FSMOUNT, unix.SYS_MOVE_MOUNT,
		unix.SYS_OPEN_TREE, unix.SYS_MOUNT_SETATTR}
	switch mode {
	case denyMount:
		filter = denySyscalls(unix.EPERM, mounts...)
	case denyPtrace:
		filter = denySyscalls(unix.EPERM, unix.SYS_PTRACE)
	case denyMountPtrace:
		filter = denySyscalls(unix.EPERM, append(mounts, unix.SYS_PTRACE)...)
	case denyUserns:
		filter = denyNewUserns()
	default:
		fail("unknown mode " + mode)
	}
	// execve runs with the filter of the calling thread; TSYNC gives it to
	// every thread anyway, so the lock is only belt and braces.
	runtime.LockOSThread()
	prog := unix.SockFprog{Len: uint16(len(filter)), Filter: &filter[0]}
	// As root, installing a filter needs no PR_SET_NO_NEW_PRIVS, which
	// AppArmor does not set either.
	if _, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_TSYNC, uintptr(unsafe.Pointer(&prog))); errno != 0 {
		fail("seccomp: " + errno.Error())
	}
	os.Unsetenv(seccompVar)
	if len(os.Args) < 2 {
		fail("no command")
	}
	path, err := exec.LookPath(os.Args[1])
	if err != nil {
		fail(err.Error())
	}
	fail("exec: " + syscall.Exec(path, os.Args[1:], os.Environ()).Error())
}

func fail(msg string) {
	os.Stderr.WriteString("seccomp helper: " + msg + "\n")
	os.Exit(99)
}

// Offsets into struct seccomp_data.
const (
	dataNr   = 0
	dataArch = 4
	dataArg0 = 16 // low 32 bits on little-endian x86-64
)

func stmt(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }

func jump(code uint16, k uint32, jt, jf uint8) unix.SockFilter {
	return unix.SockFilter{Code: code, Jt: jt, Jf: jf, K: k}
}

const (
	ldAbs = unix.BPF_LD | unix.BPF_W | unix.BPF_ABS
	jeq   = unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K
	jset  = unix.BPF_JMP | unix.BPF_JSET | unix.BPF_K
	ret   = unix.BPF_RET | unix.BPF_K
)

// denySyscalls fails the given x86-64 system calls with errno. Other
// architectures pass, since the tests build their store for x86-64 only.
func denySyscalls(errno syscall.Errno, nrs ...uint32) []unix.SockFilter {
	n := len(nrs)
	f := []unix.SockFilter{
		stmt(ldAbs, dataArch),
		jump(jeq, unix.AUDIT_ARCH_X86_64, 0, uint8(n+1)), // to allow
		stmt(ldAbs, dataNr),
	}
	for i, nr := range nrs {
		f = append(f, jump(jeq, nr, uint8(n-i), 0)) // to deny
	}
	return append(f,
		stmt(ret, unix.SECCOMP_RET_ALLOW),
		stmt(ret, unix.SECCOMP_RET_ERRNO|uint32(errno)))
}

func denyNewUserns() []unix.SockFilter {
	return []unix.SockFilter{
		/* 0 */ stmt(ldAbs, dataArch),
		/* 1 */ jump(jeq, unix.AUDIT_ARCH_X86_64, 0, 6), // to 8
		/* 2 */ stmt(ldAbs, dataNr),
		/* 3 */ jump(jeq, unix.SYS_CLONE, 2, 0), // to 6
		/* 4 */ jump(jeq, unix.SYS_UNSHARE, 1, 0), // to 6
		/* 5 */ jump(jeq, unix.SYS_CLONE3, 4, 2), // to 10, else 8
		/* 6 */ stmt(ldAbs, dataArg0),
		/* 7 */ jump(jset, unix.CLONE_NEWUSER, 1, 0), // to 9, else 8
		/* 8 */ stmt(ret, unix.SECCOMP_RET_ALLOW),
		/* 9 */ stmt(ret, unix.SECCOMP_RET_ERRNO|uint32(unix.EPERM)),
		/* 10 */ stmt(ret, unix.SECCOMP_RET_ERRNO|uint32(unix.ENOSYS)),
	}
}
