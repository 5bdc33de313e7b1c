//go:build linux && (amd64 || arm64)

package ptrace

import "golang.org/x/sys/unix"

// followRule says whether a system call follows a symlink in the last
// component of its path, which decides whether the tracer resolves it.
type followRule int

const (
	followAlways    followRule = iota
	followNever                // lstat, unlink, mkdir: the link itself
	followAtFlag               // unless the flags argument has AT_SYMLINK_NOFOLLOW
	followAtFollow             // only if the flags argument has AT_SYMLINK_FOLLOW (linkat)
	followOpenFlags            // unless O_NOFOLLOW, or O_CREAT|O_EXCL
	followOpenHow              // openat2: the open flags are in struct open_how
	followInotify              // unless IN_DONT_FOLLOW
)

// pathSpec is one path argument of a system call.
type pathSpec struct {
	arg     int // the path's argument
	dirfd   int // the argument holding the directory fd, or -1 (the cwd)
	follow  followRule
	flagArg int  // the argument the rule reads
	creates bool // the call creates the file it names (creat)
}

// exitKind is what the tracer does at a system call's exit, to show the
// program the store path where the kernel returned the pack's.
type exitKind int

const (
	exitNone     exitKind = iota
	exitReadlink          // the link's target, in bufArg (sizeArg bytes at most)
	exitGetcwd            // the working directory, in bufArg
	exitSockname          // an AF_UNIX address, in bufArg with its length at *sizeArg
)

// special marks system calls that need more than a path rewrite.
type special int

const (
	specNone special = iota
	specExecve
	specExecveat
	specChdir // a new working directory: forget the cached one
	specBind  // an AF_UNIX address to translate
	specConnect
)

// sysSpec is what the tracer does with one system call.
type sysSpec struct {
	nr      int
	paths   []pathSpec
	exit    exitKind
	bufArg  int
	sizeArg int
	special special
	write   writeKind // how the call may change the store (readonly_linux.go)
}

// changesNames reports whether the call may make a name of the host a
// symlink (symlink and link create one, rename moves one over another name)
// or change what paths lead to (mounts, chroot): see beginHostChange.
func (s *sysSpec) changesNames() bool {
	switch s.write {
	case wrSymlink, wrLink, wrRename, wrRenameat2:
		return true
	}
	switch s.nr {
	case unix.SYS_MOUNT, unix.SYS_UMOUNT2, unix.SYS_PIVOT_ROOT, unix.SYS_CHROOT:
		return true
	}
	return false
}

func at(arg, dirfd int, f followRule, flagArg int) pathSpec {
	return pathSpec{arg: arg, dirfd: dirfd, follow: f, flagArg: flagArg}
}

func p0(f followRule) []pathSpec { return []pathSpec{{arg: 0, dirfd: -1, follow: f}} }

// pathCalls are the system calls the seccomp filter sends to the tracer,
// with the numbers of this architecture (x/sys/unix is generated per
// architecture). research-ptrace.md lists them with their quirks.
var pathCalls = append([]sysSpec{
	{nr: unix.SYS_OPENAT, paths: []pathSpec{at(1, 0, followOpenFlags, 2)}, write: wrOpen},
	{nr: unix.SYS_OPENAT2, paths: []pathSpec{at(1, 0, followOpenHow, 2)}, write: wrOpen},
	{nr: unix.SYS_NEWFSTATAT, paths: []pathSpec{at(1, 0, followAtFlag, 3)}},
	{nr: unix.SYS_STATX, paths: []pathSpec{at(1, 0, followAtFlag, 2)}},
	{nr: unix.SYS_FACCESSAT, paths: []pathSpec{at(1, 0, followAlways, 0)}, write: wrFaccessat},
	{nr: unix.SYS_FACCESSAT2, paths: []pathSpec{at(1, 0, followAtFlag, 3)}, write: wrFaccessat},
	{nr: unix.SYS_FCHMODAT, paths: []pathSpec{at(1, 0, followAlways, 0)}, write: wrAttr},
	{nr: unix.SYS_FCHMODAT2, paths: []pathSpec{at(1, 0, followAtFlag, 3)}, write: wrAttrAt},
	{nr: unix.SYS_FCHOWNAT, paths: []pathSpec{at(1, 0, followAtFlag, 4)}, write: wrAttrAt},
	{nr: unix.SYS_UTIMENSAT, paths: []pathSpec{at(1, 0, followAtFlag, 3)}, write: wrUtimensat},
	{nr: unix.SYS_NAME_TO_HANDLE_AT, paths: []pathSpec{at(1, 0, followAtFollow, 4)}},
	{nr: unix.SYS_MKNODAT, paths: []pathSpec{at(1, 0, followNever, 0)}, write: wrMknodat},
	{nr: unix.SYS_MKDIRAT, paths: []pathSpec{at(1, 0, followNever, 0)}, write: wrMkdir},
	{nr: unix.SYS_UNLINKAT, paths: []pathSpec{at(1, 0, followNever, 0)}, write: wrUnlinkat},
	{nr: unix.SYS_READLINKAT, paths: []pathSpec{at(1, 0, followNever, 0)}, exit: exitReadlink, bufArg: 2, sizeArg: 3},
	{nr: unix.SYS_RENAMEAT, paths: []pathSpec{at(1, 0, followNever, 0), at(3, 2, followNever, 0)}, write: wrRename},
	{nr: unix.SYS_RENAMEAT2, paths: []pathSpec{at(1, 0, followNever, 0), at(3, 2, followNever, 0)}, write: wrRenameat2},
	{nr: unix.SYS_LINKAT, paths: []pathSpec{at(1, 0, followAtFollow, 4), at(3, 2, followNever, 0)}, write: wrLink},
	{nr: unix.SYS_SYMLINKAT, paths: []pathSpec{at(2, 1, followNever, 0)}, write: wrSymlink},
	{nr: unix.SYS_TRUNCATE, paths: p0(followAlways), write: wrTruncate},
	{nr: unix.SYS_STATFS, paths: p0(followAlways)},
	{nr: unix.SYS_CHROOT, paths: p0(followAlways)},
	{nr: unix.SYS_ACCT, paths: p0(followAlways), write: wrPrivileged},
	{nr: unix.SYS_SWAPON, paths: p0(followAlways), write: wrPrivileged},
	{nr: unix.SYS_SWAPOFF, paths: p0(followAlways)},
	{nr: unix.SYS_UMOUNT2, paths: p0(followNever)},
	{nr: unix.SYS_MOUNT, paths: []pathSpec{at(0, -1, followAlways, 0), at(1, -1, followAlways, 0)}},
	{nr: unix.SYS_PIVOT_ROOT, paths: []pathSpec{at(0, -1, followAlways, 0), at(1, -1, followAlways, 0)}},
	{nr: unix.SYS_GETXATTR, paths: p0(followAlways)},
	{nr: unix.SYS_SETXATTR, paths: p0(followAlways), write: wrSetxattr},
	{nr: unix.SYS_LISTXATTR, paths: p0(followAlways)},
	{nr: unix.SYS_REMOVEXATTR, paths: p0(followAlways), write: wrRemovexattr},
	{nr: unix.SYS_LGETXATTR, paths: p0(followNever)},
	{nr: unix.SYS_LSETXATTR, paths: p0(followNever), write: wrSetxattr},
	{nr: unix.SYS_LLISTXATTR, paths: p0(followNever)},
	{nr: unix.SYS_LREMOVEXATTR, paths: p0(followNever), write: wrRemovexattr},
	// setxattrat, getxattrat, listxattrat, removexattrat (Linux 6.13):
	// the same numbers everywhere; older kernels answer ENOSYS anyway.
	{nr: 463, paths: []pathSpec{at(1, 0, followAtFlag, 2)}, write: wrSetxattrat},
	{nr: 464, paths: []pathSpec{at(1, 0, followAtFlag, 2)}},
	{nr: 465, paths: []pathSpec{at(1, 0, followAtFlag, 2)}},
	{nr: 466, paths: []pathSpec{at(1, 0, followAtFlag, 2)}, write: wrRemovexattrat},
	{nr: unix.SYS_INOTIFY_ADD_WATCH, paths: []pathSpec{at(1, -1, followInotify, 2)}},
	{nr: unix.SYS_FANOTIFY_MARK, paths: []pathSpec{at(4, 3, followAlways, 0)}},
	{nr: unix.SYS_CHDIR, paths: p0(followAlways), special: specChdir},
	{nr: unix.SYS_FCHDIR, special: specChdir},
	{nr: unix.SYS_GETCWD, exit: exitGetcwd, bufArg: 0, sizeArg: 1},
	{nr: unix.SYS_EXECVE, special: specExecve},
	{nr: unix.SYS_EXECVEAT, special: specExecveat},
	{nr: unix.SYS_BIND, special: specBind},
	// Calls on a descriptor that change its file: traced only so that a
	// descriptor of the store gets EROFS (see the package comment).
	{nr: unix.SYS_FCHMOD, write: wrFchmod},
	{nr: unix.SYS_FCHOWN, write: wrFchown},
	{nr: unix.SYS_FSETXATTR, write: wrFsetxattr},
	{nr: unix.SYS_FREMOVEXATTR, write: wrFremovexattr},
	{nr: unix.SYS_CONNECT, special: specConnect},
	{nr: unix.SYS_GETSOCKNAME, exit: exitSockname, bufArg: 1, sizeArg: 2},
	{nr: unix.SYS_GETPEERNAME, exit: exitSockname, bufArg: 1, sizeArg: 2},
	{nr: unix.SYS_ACCEPT, exit: exitSockname, bufArg: 1, sizeArg: 2},
	{nr: unix.SYS_ACCEPT4, exit: exitSockname, bufArg: 1, sizeArg: 2},
}, legacyPathCalls...)

// deniedCalls fail with ENOSYS straight from the seccomp filter: io_uring
// performs path operations from kernel threads, out of the tracer's reach,
// and programs fall back to ordinary system calls when it is missing.
var deniedCalls = []int{unix.SYS_IO_URING_SETUP}

// specs indexes pathCalls by number.
var specs = func() map[int]*sysSpec {
	m := make(map[int]*sysSpec, len(pathCalls))
	for i := range pathCalls {
		m[pathCalls[i].nr] = &pathCalls[i]
	}
	return m
}()
