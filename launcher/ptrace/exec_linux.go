//go:build linux && (amd64 || arm64)

package ptrace

import (
	"bytes"
	"encoding/binary"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/internal/proc"
)

// maxInterpDepth bounds shebang chains, as the kernel does (it allows 5
// levels of binfmt rewriting).
const maxInterpDepth = 5

// execInfo is what the tracer learned about one program file: its shebang
// line, or the ELF interpreter it names. The pack's files never change, so
// it is cached for them.
type execInfo struct {
	interp, arg string // "#!interp arg"
	shebang     bool
	elfInterp   string // PT_INTERP
	setid       bool   // set-user-ID or set-group-ID
}

// execEntry serves execve and execveat. The kernel itself opens the
// program's "#!" interpreter and its ELF interpreter (PT_INTERP), where no
// path rewrite can reach, so the tracer takes both over:
//
//   - a script is replaced by its interpreter, with the arguments the
//     kernel would give it, chain after chain;
//   - a dynamic program whose interpreter is in the store is run by the
//     pack's copy of that interpreter (ld.so), with --argv0 so that the
//     program sees its own argv[0], and the program's store path as the
//     file to load, so that $ORIGIN is the program's directory in the
//     store. /proc/self/exe then names ld.so, so the tracer answers it
//     with the program's store path (see translate and readlinkExit);
//   - anything else runs from its translated path.
//
// execveat becomes an execve of the resolved path.
func (t *tracer) execEntry(tc *tracee, r *regs, isAt bool) {
	pathArg, argvArg, envArg := 0, 1, 2
	dirfd, flags := unix.AT_FDCWD, uint64(0)
	if isAt {
		pathArg, argvArg, envArg = 1, 2, 3
		dirfd, flags = int(int32(r.arg(0))), r.arg(4)
	}
	pathAddr := r.arg(pathArg)
	if pathAddr == 0 || tc.mm.contains(pathAddr) {
		t.cont(tc.tid, 0)
		return
	}
	given, err := t.readString(tc.tid, pathAddr)
	if err != nil {
		t.cont(tc.tid, 0)
		return
	}
	var virt string
	switch {
	case given == "" && isAt && flags&unix.AT_EMPTY_PATH != 0:
		virt = t.dirPath(tc, dirfd) // fexecve: the fd is the program
		given = virt
	case given == "":
		t.cont(tc.tid, 0) // ENOENT, from the kernel
		return
	case given[0] == '/':
		virt = given
	default:
		base := t.dirPath(tc, dirfd)
		if base != "" {
			virt = joinPath(base, given)
		}
	}
	if virt == "" {
		t.cont(tc.tid, 0)
		return
	}
	argv, err := t.readArgv(tc.tid, r.arg(argvArg))
	if err != nil {
		t.cont(tc.tid, 0)
		return
	}
	file, args, exe, errno := t.planExec(virt, given, argv)
	if errno != 0 {
		t.fail(tc, r, errno)
		return
	}
	if file == given && !isAt && sameStrings(args, argv) {
		tc.pendingExe = exe
		t.cont(tc.tid, 0)
		return
	}

	// The new file name, the strings, then the pointer array (aligned).
	var data []byte
	data = append(append(data, file...), 0)
	offs := make([]int, len(args))
	for i, a := range args {
		offs[i] = len(data)
		data = append(append(data, a...), 0)
	}
	for len(data)%8 != 0 {
		data = append(data, 0)
	}
	arrayOff := len(data)
	data = append(data, make([]byte, 8*(len(args)+1))...)
	base, ok := t.scratch(tc, r, len(data))
	if !ok {
		return
	}
	for i := range args {
		binary.LittleEndian.PutUint64(data[arrayOff+8*i:], base+uint64(offs[i]))
	}
	if err := t.writeMem(tc.tid, base, data); err != nil {
		t.fail(tc, r, syscall.EFAULT)
		return
	}
	env := r.arg(envArg)
	r.setNr(unix.SYS_EXECVE)
	r.setArg(0, base)
	r.setArg(1, base+uint64(arrayOff))
	r.setArg(2, env)
	if err := setRegs(tc.tid, r); err != nil {
		t.cont(tc.tid, 0)
		return
	}
	t.rewrites++
	tc.pendingExe = exe
	t.cont(tc.tid, 0)
}

func sameStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// planExec works out what to execute for execve(virt, argv), virt being
// the program's path as the program sees it (given, as it wrote it). It
// returns the host file to give the kernel, its argv, and the store path
// that /proc/self/exe must name ("" when the kernel's own answer, reverse
// translated, is right).
func (t *tracer) planExec(virt, given string, argv []string) (string, []string, string, syscall.Errno) {
	prog, shown, args := virt, given, argv
	for depth := 0; ; depth++ {
		real := prog
		if _, r, _, via, err := t.tr.resolveAt("/", prog, true); err != nil {
			return "", nil, "", errnoOf(err)
		} else if via {
			real = r
		} else if depth == 0 {
			// Another pack's wrapper, maybe through a host link
			// (~/bin/tool): the wrapper's own path names its pack.
			t.notePack(t.tr.hostTarget(real))
		}
		info := t.execInfo(real)
		if info == nil {
			// Unreadable (execute-only) or missing: the kernel decides.
			return real, args, "", 0
		}
		if info.setid && !t.warned[real] {
			t.warned[real] = true
			t.j.Warn(t.tr.toVirtual(real), " is set-user-ID or set-group-ID, which the ptrace engine cannot honour "+
				"(ptrace and no_new_privs drop those privileges): it runs as the user. Enable unprivileged user "+
				"namespaces (an administrator: sysctl user.max_user_namespaces=15000) or install the pack at / (tar -x -C /)")
		}
		switch {
		case info.shebang:
			if depth >= maxInterpDepth {
				return "", nil, "", syscall.ELOOP
			}
			// What the kernel passes: interpreter, its argument, the
			// script's path as given, then argv[1:].
			next := []string{info.interp}
			if info.arg != "" {
				next = append(next, info.arg)
			}
			next = append(next, shown)
			if len(args) > 1 {
				next = append(next, args[1:]...)
			}
			args = next
			prog, shown = info.interp, info.interp
			if !strings.HasPrefix(prog, "/") {
				// A relative interpreter is the kernel's to find.
				return prog, args, "", 0
			}
			continue
		case info.elfInterp != "":
			// The kernel opens the interpreter itself: if its path
			// reaches the store, the tracer runs the pack's copy.
			_, ld, _, via, err := t.tr.resolveAt("/", info.elfInterp, true)
			if err != nil {
				return "", nil, "", errnoOf(err)
			}
			if !via {
				return real, args, "", 0
			}
			exe := t.tr.toVirtual(real)
			argv0 := exe
			if len(args) > 0 {
				argv0 = args[0]
			}
			next := []string{info.elfInterp}
			if t.ldHasArgv0(ld) {
				next = append(next, "--argv0", argv0)
			}
			next = append(next, exe)
			if len(args) > 1 {
				next = append(next, args[1:]...)
			}
			return ld, next, exe, 0
		}
		return real, args, "", 0
	}
}

func errnoOf(err error) syscall.Errno {
	if e, ok := err.(syscall.Errno); ok {
		return e
	}
	return syscall.EIO
}

// execInfo reads the start of a program file; nil if it cannot.
func (t *tracer) execInfo(real string) *execInfo {
	cacheable := hasPathPrefix(real, t.tr.real)
	if cacheable {
		if i, ok := t.execCache[real]; ok {
			return i
		}
	}
	f, err := proc.Open(real)
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
		return nil
	}
	var hdr [256]byte
	n, _ := f.ReadAt(hdr[:], 0)
	b := hdr[:n]
	info := &execInfo{setid: st.Mode&(syscall.S_ISUID|syscall.S_ISGID) != 0}
	switch {
	case bytes.HasPrefix(b, []byte("#!")):
		info.shebang = true
		info.interp, info.arg = proc.ParseShebang(b[2:])
		if info.interp == "" {
			return nil // ENOEXEC, from the kernel
		}
	case bytes.HasPrefix(b, []byte("\x7fELF")):
		info.elfInterp = proc.ELFInterp(f, b)
	}
	if cacheable {
		t.execCache[real] = info
	}
	return info
}

// ldHasArgv0 reports whether the dynamic loader at path understands
// --argv0 (glibc 2.33 and later): without it the program sees its own path
// as argv[0].
func (t *tracer) ldHasArgv0(path string) bool {
	key := "argv0:" + path
	if i, ok := t.execCache[key]; ok {
		return i.shebang
	}
	b, err := proc.ReadFile(path, 64<<20)
	has := err == nil && bytes.Contains(b, []byte("--argv0"))
	t.execCache[key] = &execInfo{shebang: has}
	return has
}

// notePack adds the pack of a launcher that the program runs (ROOT/bin/NAME
// of another pack) to the view, once per directory: see translator.others.
func (t *tracer) notePack(real string) {
	bin := filepath.Dir(real)
	if filepath.Base(bin) != "bin" {
		return
	}
	root := filepath.Dir(bin)
	if _, seen := t.packs[root]; seen || root == t.tr.root {
		return
	}
	t.packs[root] = true
	m, err := proc.ReadManifest(root)
	if err != nil {
		return
	}
	r, err := filepath.EvalSymlinks(filepath.Join(root, m.Store))
	if err != nil {
		return
	}
	t.tr.addPack(root, m.Store, r)
	t.j.Debug("ptrace: the program runs the pack at ", root, ", whose store joins the view")
}
