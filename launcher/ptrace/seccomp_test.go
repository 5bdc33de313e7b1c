//go:build linux && (amd64 || arm64)

package ptrace

import (
	"testing"

	"golang.org/x/sys/unix"
)

// runFilter interprets the subset of classic BPF that seccompFilter uses on
// the seccomp data of one system call (nr, arch): loads of the number and
// the arch, jeq and jge against constants, and returns. It fails the test
// on anything else, and on a jump out of the program.
func runFilter(t *testing.T, f []unix.SockFilter, nr, arch uint32) uint32 {
	t.Helper()
	var acc uint32
	for pc := 0; pc < len(f); pc++ {
		ins := f[pc]
		switch ins.Code {
		case unix.BPF_LD | unix.BPF_W | unix.BPF_ABS:
			switch ins.K {
			case 0:
				acc = nr
			case 4:
				acc = arch
			default:
				t.Fatalf("instruction %d loads offset %d", pc, ins.K)
			}
		case unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, unix.BPF_JMP | unix.BPF_JGE | unix.BPF_K:
			taken := acc == ins.K
			if ins.Code&0xf0 == unix.BPF_JGE {
				taken = acc >= ins.K
			}
			if taken {
				pc += int(ins.Jt)
			} else {
				pc += int(ins.Jf)
			}
			if pc+1 >= len(f) {
				t.Fatalf("instruction %d jumps past the end", pc)
			}
		case unix.BPF_RET | unix.BPF_K:
			return ins.K
		default:
			t.Fatalf("instruction %d has code %#x", pc, ins.Code)
		}
	}
	t.Fatal("the filter ends without a return")
	return 0
}

// TestSeccompFilter runs the filter on every system call number: the path
// calls stop in the tracer, io_uring_setup and other ABIs fail with ENOSYS,
// and everything else runs. It would catch a jump offset gone wrong, which
// sends a call to the wrong return.
func TestSeccompFilter(t *testing.T) {
	f := seccompFilter()
	if len(f) > unix.BPF_MAXINSNS {
		t.Fatalf("the filter has %d instructions, over the kernel's %d", len(f), unix.BPF_MAXINSNS)
	}
	enosys := uint32(unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS))
	traced := 0
	for nr := uint32(0); nr < 1024; nr++ {
		want := uint32(unix.SECCOMP_RET_ALLOW)
		if specs[int(nr)] != nil {
			want = unix.SECCOMP_RET_TRACE
			traced++
		}
		for _, d := range deniedCalls {
			if int(nr) == d {
				want = enosys
			}
		}
		if got := runFilter(t, f, nr, auditArch); got != want {
			t.Errorf("system call %d: the filter returns %#x, want %#x", nr, got, want)
		}
		if got := runFilter(t, f, nr, auditArch^1); got != enosys {
			t.Errorf("system call %d of another arch: the filter returns %#x, want ENOSYS", nr, got)
		}
		if x32Bit != 0 {
			if got := runFilter(t, f, nr|x32Bit, auditArch); got != enosys {
				t.Errorf("x32 system call %d: the filter returns %#x, want ENOSYS", nr, got)
			}
		}
	}
	if traced != len(specs) {
		t.Errorf("%d traced calls below 1024, the table has %d", traced, len(specs))
	}
}
