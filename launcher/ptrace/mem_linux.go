//go:build linux && (amd64 || arm64)

package ptrace

import (
	"encoding/binary"
	"syscall"

	"golang.org/x/sys/unix"
)

// pathMax is PATH_MAX: the kernel refuses longer paths.
const pathMax = 4096

// Scratch memory. A rewritten path must be written somewhere in the
// tracee's memory where it cannot clash with the program's data. Below the
// stack pointer is not such a place: goroutine stacks are small, and the
// child of a vfork (posix_spawn, Go's os/exec) runs on its parent's stack.
// So the tracer gives each address space regions of its own: at the first
// system call that needs one, it makes the tracee run mmap instead, then
// the original call again. Each thread gets a slot of a region, so threads
// never write over each other's paths, and within its slot the paths of
// successive calls go one after another, so a call that a signal handler
// interrupted, and which the kernel restarts with the same arguments, still
// finds its path intact after the handler's own calls.
const (
	regionSize     = 1 << 20
	slotSize       = 16 << 10
	slotsPerRegion = regionSize / slotSize
)

// addrSpace is the tracer's record of one address space: its scratch
// regions, and which thread owns which slot.
type addrSpace struct {
	regions []uint64
	big     uint64 // a region for one large execve, or 0
	bigSize uint64
	slots   map[int]int // tid → slot
	free    []int
	next    int
}

// fork returns the record of a copy of m: the regions are at the same
// addresses in the copy, and the slots are free again.
func (m *addrSpace) fork() *addrSpace {
	return &addrSpace{regions: append([]uint64(nil), m.regions...), big: m.big, bigSize: m.bigSize, slots: map[int]int{}}
}

func (m *addrSpace) contains(addr uint64) bool {
	for _, base := range m.regions {
		if addr >= base && addr < base+regionSize {
			return true
		}
	}
	return m.big != 0 && addr >= m.big && addr < m.big+m.bigSize
}

func (m *addrSpace) release(tid int) {
	if s, ok := m.slots[tid]; ok {
		delete(m.slots, tid)
		m.free = append(m.free, s)
	}
}

// scratch returns where the tracee tc may hold n bytes for the system call
// it is stopped at. If its address space needs another region first, it
// arranges for the tracee to map one and then re-run the call, resumes it,
// and returns false: the call will stop again.
func (t *tracer) scratch(tc *tracee, r *regs, n int) (uint64, bool) {
	m := tc.mm
	if n > slotSize {
		if m.big == 0 || m.bigSize < uint64(n) {
			size := (uint64(n) + 4095) &^ 4095
			base, err := t.inject(tc, r, size)
			if err != nil {
				t.fail(tc, r, syscall.ENOMEM)
				return 0, false
			}
			m.big, m.bigSize = base, size
			t.cont(tc.tid, 0)
			return 0, false
		}
		return m.big, true
	}
	s, ok := m.slots[tc.tid]
	if !ok {
		if k := len(m.free); k > 0 {
			s = m.free[k-1]
			m.free = m.free[:k-1]
		} else {
			s = m.next
			m.next++
		}
		m.slots[tc.tid] = s
	}
	if s/slotsPerRegion >= len(m.regions) {
		base, err := t.inject(tc, r, regionSize)
		if err != nil {
			t.fail(tc, r, syscall.ENOMEM)
			return 0, false
		}
		m.regions = append(m.regions, base)
		t.cont(tc.tid, 0)
		return 0, false
	}
	if tc.slotOff+n > slotSize {
		tc.slotOff = 0
	}
	addr := m.regions[s/slotsPerRegion] + uint64(s%slotsPerRegion)*slotSize + uint64(tc.slotOff)
	tc.slotOff += (n + 15) &^ 15
	return addr, true
}

// inject makes the tracee, stopped at the entry of the system call in r,
// run mmap(NULL, size, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS)
// instead, and leaves it at that call's exit with its registers set to run
// the original call again when resumed.
func (t *tracer) inject(tc *tracee, r *regs, size uint64) (uint64, error) {
	m := *r
	m.setNr(unix.SYS_MMAP)
	m.setArg(0, 0)
	m.setArg(1, size)
	m.setArg(2, unix.PROT_READ|unix.PROT_WRITE)
	m.setArg(3, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS)
	m.setArg(4, ^uint64(0))
	m.setArg(5, 0)
	if err := setRegs(tc.tid, &m); err != nil {
		return 0, err
	}
	if err := unix.PtraceSyscall(tc.tid, 0); err != nil {
		return 0, err
	}
	for {
		var ws syscall.WaitStatus
		_, err := syscall.Wait4(tc.tid, &ws, unix.WALL, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, err
		}
		if !ws.Stopped() {
			// Killed meanwhile: the main loop must still see it.
			t.handle(tc.tid, ws)
			return 0, syscall.ESRCH
		}
		if ws.StopSignal() == syscall.SIGTRAP|0x80 {
			break
		}
		// Nothing else should come between the entry and the exit of
		// mmap; go on to the exit.
		if err := unix.PtraceSyscall(tc.tid, 0); err != nil {
			return 0, err
		}
	}
	var got regs
	if err := getRegs(tc.tid, &got); err != nil {
		return 0, err
	}
	base := got.ret()
	back := *r
	back.rewind()
	if err := setRegs(tc.tid, &back); err != nil {
		return 0, err
	}
	if base < 0 && base > -4096 {
		return 0, syscall.Errno(-base)
	}
	return uint64(base), nil
}

// readMem reads the tracee's memory at addr into b, with
// process_vm_readv, or word by word through ptrace where the tracee is not
// dumpable (process_vm_readv checks that, ptrace of an attached tracee
// does not).
func (t *tracer) readMem(tid int, addr uint64, b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	local := []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
	n, err := unix.ProcessVMReadv(tid, local, remote, 0)
	if err == unix.EPERM || err == unix.ENOSYS {
		return unix.PtracePeekData(tid, uintptr(addr), b)
	}
	return n, err
}

func (t *tracer) writeMem(tid int, addr uint64, b []byte) error {
	local := []unix.Iovec{{Base: &b[0], Len: uint64(len(b))}}
	remote := []unix.RemoteIovec{{Base: uintptr(addr), Len: len(b)}}
	n, err := unix.ProcessVMWritev(tid, local, remote, 0)
	if err == unix.EPERM || err == unix.ENOSYS {
		_, err = unix.PtracePokeData(tid, uintptr(addr), b)
		return err
	}
	if err == nil && n != len(b) {
		err = syscall.EFAULT
	}
	return err
}

// readString reads a NUL-terminated string of at most pathMax bytes. It
// reads up to each page end at a time, since the page after the string
// may not be mapped.
func (t *tracer) readString(tid int, addr uint64) (string, error) {
	buf := t.buf[:0]
	for len(buf) <= pathMax {
		chunk := int(4096 - addr%4096)
		chunk = min(chunk, pathMax+1-len(buf))
		n, err := t.readMem(tid, addr, t.buf[len(buf):len(buf)+chunk])
		if n <= 0 {
			if err == nil {
				err = syscall.EFAULT
			}
			return "", err
		}
		seg := t.buf[len(buf) : len(buf)+n]
		for i, c := range seg {
			if c == 0 {
				return string(t.buf[:len(buf)+i]), nil
			}
		}
		buf = t.buf[:len(buf)+n]
		addr += uint64(n)
	}
	return "", syscall.ENAMETOOLONG
}

// readArgv reads a NULL-terminated array of string pointers (argv).
func (t *tracer) readArgv(tid int, addr uint64) ([]string, error) {
	var out []string
	if addr == 0 {
		return out, nil
	}
	var raw [64 * 8]byte
	for {
		// Up to the page end, as for strings.
		want := min(len(raw), int(4096-addr%4096))
		n, err := t.readMem(tid, addr, raw[:want])
		if n < 8 {
			if err == nil {
				err = syscall.EFAULT
			}
			return nil, err
		}
		for i := 0; i < n/8; i++ {
			ptr := binary.NativeEndian.Uint64(raw[i*8:])
			if ptr == 0 {
				return out, nil
			}
			s, err := t.readString(tid, ptr)
			if err != nil {
				return nil, err
			}
			out = append(out, s)
		}
		addr += uint64(n / 8 * 8)
		if len(out) > 1<<20 {
			return nil, syscall.E2BIG
		}
	}
}
