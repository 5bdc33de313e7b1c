//go:build linux && arm64

package ptrace

import "golang.org/x/sys/unix"

// regs is a tracee's registers at a system-call stop. arm64 keeps the
// system call number in x8 but takes a change of it only through its own
// register set (NT_ARM_SYSTEM_CALL), so the number is kept apart and
// written back only when it changed.
type regs struct {
	r       unix.PtraceRegsArm64
	sysno   int
	changed bool
}

const (
	ntPrstatus      = 1
	ntArmSystemCall = 0x404
)

func getRegs(tid int, r *regs) error {
	if err := unix.PtraceGetRegSetArm64(tid, ntPrstatus, &r.r); err != nil {
		return err
	}
	r.sysno, r.changed = int(int64(r.r.Regs[8])), false
	return nil
}

func setRegs(tid int, r *regs) error {
	if r.changed {
		if err := setSyscallNr(tid, int32(r.sysno)); err != nil {
			return err
		}
	}
	return unix.PtraceSetRegSetArm64(tid, ntPrstatus, &r.r)
}

func (r *regs) nr() int { return r.sysno }

func (r *regs) setNr(n int) { r.sysno, r.changed = n, true }

// arg reads x0–x5. x0 is also the return value: at an exit stop the first
// argument is gone, so exit handlers read the registers saved at entry.
func (r *regs) arg(i int) uint64 { return r.r.Regs[i] }

func (r *regs) setArg(i int, v uint64) { r.r.Regs[i] = v }

func (r *regs) ret() int64 { return int64(r.r.Regs[0]) }

func (r *regs) setRet(v int64) { r.r.Regs[0] = uint64(v) }

// rewind makes the tracee run the `svc #0` instruction (4 bytes) again
// with the number and arguments of r: x8 and x0 come back from r, which
// holds them as they were at entry.
func (r *regs) rewind() {
	r.r.Pc -= 4
	r.r.Regs[8] = uint64(r.sysno)
	r.changed = false
}

const auditArch = unix.AUDIT_ARCH_AARCH64

// arm64 has no second ABI that shares the arch value.
const x32Bit = 0

// legacyPathCalls: arm64 has only the *at forms.
var legacyPathCalls []sysSpec
