//go:build linux && amd64

package ptrace

import "golang.org/x/sys/unix"

// regs is a tracee's registers at a system-call stop.
type regs struct{ r unix.PtraceRegs }

func getRegs(tid int, r *regs) error { return unix.PtraceGetRegs(tid, &r.r) }

func setRegs(tid int, r *regs) error { return unix.PtraceSetRegs(tid, &r.r) }

// nr is the system call number; at a seccomp stop it is orig_rax.
func (r *regs) nr() int { return int(int64(r.r.Orig_rax)) }

// setNr changes the system call about to run; -1 skips it, and the
// tracee then sees the return value set with setRet.
func (r *regs) setNr(n int) { r.r.Orig_rax = uint64(int64(n)) }

func (r *regs) arg(i int) uint64 {
	switch i {
	case 0:
		return r.r.Rdi
	case 1:
		return r.r.Rsi
	case 2:
		return r.r.Rdx
	case 3:
		return r.r.R10
	case 4:
		return r.r.R8
	}
	return r.r.R9
}

func (r *regs) setArg(i int, v uint64) {
	switch i {
	case 0:
		r.r.Rdi = v
	case 1:
		r.r.Rsi = v
	case 2:
		r.r.Rdx = v
	case 3:
		r.r.R10 = v
	case 4:
		r.r.R8 = v
	default:
		r.r.R9 = v
	}
}

func (r *regs) ret() int64 { return int64(r.r.Rax) }

func (r *regs) setRet(v int64) { r.r.Rax = uint64(v) }

// rewind makes the tracee run the system call instruction again, with the
// number and arguments of r, when it resumes from a syscall-exit stop: the
// `syscall` instruction is two bytes long, and the kernel has already put
// -ENOSYS in rax at entry, so the number goes back there.
func (r *regs) rewind() {
	r.r.Rip -= 2
	r.r.Rax = r.r.Orig_rax
}

// auditArch is the seccomp data's arch for this ABI; x32 system calls,
// which share it, are told apart by a bit of the number.
const auditArch = unix.AUDIT_ARCH_X86_64

const x32Bit = 0x40000000

// legacyPathCalls are the system calls of this architecture only.
var legacyPathCalls = []sysSpec{
	{nr: unix.SYS_OPEN, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followOpenFlags, flagArg: 1}}, write: wrOpen},
	{nr: unix.SYS_CREAT, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways, creates: true}}, write: wrCreat},
	{nr: unix.SYS_STAT, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}},
	{nr: unix.SYS_LSTAT, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}},
	{nr: unix.SYS_ACCESS, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}, write: wrAccess},
	{nr: unix.SYS_CHMOD, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}, write: wrAttr},
	{nr: unix.SYS_CHOWN, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}, write: wrAttr},
	{nr: unix.SYS_LCHOWN, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}, write: wrAttr},
	{nr: unix.SYS_MKNOD, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}, write: wrMknod},
	{nr: unix.SYS_UTIME, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}, write: wrAttr},
	{nr: unix.SYS_UTIMES, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}, write: wrUtimes},
	{nr: unix.SYS_FUTIMESAT, paths: []pathSpec{{arg: 1, dirfd: 0, follow: followAlways}}, write: wrFutimesat},
	{nr: unix.SYS_USELIB, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followAlways}}},
	{nr: unix.SYS_READLINK, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}, exit: exitReadlink, bufArg: 1, sizeArg: 2},
	{nr: unix.SYS_UNLINK, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}, write: wrUnlink},
	{nr: unix.SYS_RMDIR, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}, write: wrRmdir},
	{nr: unix.SYS_MKDIR, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}}, write: wrMkdir},
	{nr: unix.SYS_RENAME, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}, {arg: 1, dirfd: -1, follow: followNever}}, write: wrRename},
	{nr: unix.SYS_LINK, paths: []pathSpec{{arg: 0, dirfd: -1, follow: followNever}, {arg: 1, dirfd: -1, follow: followNever}}, write: wrLink},
	{nr: unix.SYS_SYMLINK, paths: []pathSpec{{arg: 1, dirfd: -1, follow: followNever}}, write: wrSymlink},
}
