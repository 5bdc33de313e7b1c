//go:build linux && (amd64 || arm64)

package ptrace

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestWriteCallsJudged checks that every system call that can create,
// change or remove a file by its path or descriptor is traced and judged by
// readOnly: one missing from the table would change the pack's store under
// the ptrace engine, where the userns engine's read-only mount refuses it.
func TestWriteCallsJudged(t *testing.T) {
	calls := append([]int{
		unix.SYS_OPENAT, unix.SYS_OPENAT2, unix.SYS_MKNODAT, unix.SYS_MKDIRAT, unix.SYS_UNLINKAT,
		unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2, unix.SYS_LINKAT, unix.SYS_SYMLINKAT,
		unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_FCHOWNAT, unix.SYS_UTIMENSAT, unix.SYS_TRUNCATE,
		unix.SYS_SETXATTR, unix.SYS_LSETXATTR, unix.SYS_REMOVEXATTR, unix.SYS_LREMOVEXATTR,
		unix.SYS_SETXATTRAT, unix.SYS_REMOVEXATTRAT,
		unix.SYS_FCHMOD, unix.SYS_FCHOWN, unix.SYS_FSETXATTR, unix.SYS_FREMOVEXATTR,
		unix.SYS_FACCESSAT, unix.SYS_FACCESSAT2, unix.SYS_ACCT, unix.SYS_SWAPON,
	}, legacyWriteCalls...)
	for _, nr := range calls {
		if s := specs[nr]; s == nil || s.write == wrNone {
			t.Errorf("system call %d may write, but the tracer does not judge it", nr)
		}
	}
	// And the legacy table has no call left out by mistake.
	for _, s := range legacyPathCalls {
		if s.write == wrNone && !legacyReadCalls[s.nr] {
			t.Errorf("legacy system call %d: neither judged as a write nor listed as a read", s.nr)
		}
	}
}

func TestOpenWrites(t *testing.T) {
	for _, tc := range []struct {
		flags uint64
		want  bool
	}{
		{unix.O_RDONLY, false},
		{unix.O_RDONLY | unix.O_CLOEXEC | unix.O_DIRECTORY | unix.O_NOFOLLOW, false},
		{unix.O_WRONLY, true},
		{unix.O_RDWR, true},
		{unix.O_RDONLY | unix.O_CREAT, true},
		{unix.O_RDONLY | unix.O_TRUNC, true},
		{unix.O_TMPFILE | unix.O_WRONLY, true},
		{unix.O_PATH | unix.O_WRONLY | unix.O_CREAT, false},
	} {
		if got := openWrites(tc.flags); got != tc.want {
			t.Errorf("openWrites(%#o) = %v, want %v", tc.flags, got, tc.want)
		}
	}
}
