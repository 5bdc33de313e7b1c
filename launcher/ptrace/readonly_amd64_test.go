//go:build linux

package ptrace

import "golang.org/x/sys/unix"

// legacyWriteCalls are amd64's calls without an *at form that may write.
var legacyWriteCalls = []int{
	unix.SYS_OPEN, unix.SYS_CREAT, unix.SYS_MKDIR, unix.SYS_MKNOD, unix.SYS_RMDIR, unix.SYS_UNLINK,
	unix.SYS_RENAME, unix.SYS_LINK, unix.SYS_SYMLINK, unix.SYS_CHMOD, unix.SYS_CHOWN, unix.SYS_LCHOWN,
	unix.SYS_UTIME, unix.SYS_UTIMES, unix.SYS_FUTIMESAT, unix.SYS_ACCESS,
}

// legacyReadCalls are those that only read.
var legacyReadCalls = map[int]bool{unix.SYS_STAT: true, unix.SYS_LSTAT: true, unix.SYS_READLINK: true, unix.SYS_USELIB: true}
