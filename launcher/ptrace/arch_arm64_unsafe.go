//go:build linux && arm64

package ptrace

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// setSyscallNr changes the system call a tracee stopped at its entry is
// about to make, through the NT_ARM_SYSTEM_CALL register set: arm64 ignores
// a change of x8 there.
func setSyscallNr(tid int, n int32) error {
	iov := unix.Iovec{Base: (*byte)(unsafe.Pointer(&n)), Len: 4}
	if _, _, e := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SETREGSET, uintptr(tid), ntArmSystemCall,
		uintptr(unsafe.Pointer(&iov)), 0, 0); e != 0 {
		return e
	}
	return nil
}
