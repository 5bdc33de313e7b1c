// Package ptrace is the launcher's engine for hosts where user namespaces are
// off (many HPC clusters): it traces the program and rewrites the paths of its
// system calls, as PRoot does, so that the pack's store appears at its store
// path. It needs no privilege, only ptrace of one's own children.
// GPACK_ENGINE=ptrace forces it; GPACK_ENGINE=auto uses it when the userns
// engine cannot run. The pack is the same for both.
//
// # Start
//
// The launcher clones a child with package proc's raw clone (no namespaces).
// The child waits on a pipe until the tracer has attached with PTRACE_SEIZE
// (options: follow fork, vfork and clone; exec and seccomp events; EXITKILL,
// so that no tracee runs on without its view of the store once the tracer
// dies), sets no_new_privs, installs the seccomp filter and execs the
// program's store path: that first exec is translated like any other. A
// forked child rather than a re-executed launcher saves a second Go start-up.
// SEIZE, not TRACEME, is what makes group-stops visible (PTRACE_EVENT_STOP,
// then PTRACE_LISTEN), so kill -STOP/-CONT and Ctrl-Z/fg behave as natively:
// on Ctrl-Z the launcher, in the terminal's foreground group, stops itself
// once the program has stopped, so the shell sees the job stop.
//
// # Seccomp
//
// The filter (seccomp_linux.go) sends only the path-carrying system calls of
// the table (table_linux.go) to the tracer with SECCOMP_RET_TRACE; every
// other call runs at native speed, which is where the engine's speed comes
// from. io_uring_setup gets ENOSYS (io_uring would do path operations out of
// the tracer's reach; programs fall back), and so does any call of another
// ABI (x32, 32-bit code), whose paths the tables do not cover. Each traced
// number is a test followed by its own return, so the jumps are 0 and 1
// whatever the table's length: BPF's 8-bit jump offsets cannot overflow.
//
// # Thread rules
//
// The kernel accepts ptrace requests for a tracee only from the thread that
// attached it, and PR_SET_PDEATHSIG fires when the thread that cloned the
// child exits. So:
//
//   - [Engine.Run] locks its goroutine to its OS thread before the clone and
//     never unlocks it: the launcher exits when Run returns. That goroutine
//     is the tracer: it clones the child, seizes it and issues every ptrace
//     request and every wait4 of the run.
//   - Every method of tracer (and the memory and exec helpers on it) runs on
//     that goroutine. Precondition of all of them: the calling goroutine is
//     the tracer's, locked to the thread that seized the tracees. No other
//     goroutine touches the tracer's state, so it has no locks.
//   - The only other goroutines are the signal forwarder (package proc),
//     which calls kill(2) on the program's pid under proc.Child's lock, and
//     one that drains SIGTSTP/SIGTTIN/SIGTTOU so that the tracer keeps
//     running when the terminal stops the job. The tracer marks the program
//     reaped (proc.Child.Reaped) before its pid can be reused, so a forwarded
//     signal can never reach another process.
//   - The tracer waits with wait4(-1, __WALL), polling a few times with raw
//     system calls before it blocks: blocking at once made the Go scheduler
//     hand the thread's P around at every stop. SA_NOCLDSTOP on the runtime's
//     SIGCHLD handler (proc.QuietChildStops) keeps the kernel from signalling
//     the launcher at every stop.
//
// Lock order: proc.Child's mutex is the only lock, taken alone.
//
// # Paths
//
// A path that reaches the store (or the pack) is resolved by the tracer
// (paths.go), component by component, following symlinks itself: profiles are
// forests of absolute symlinks into the store, which the kernel would resolve
// against the host's root. The pack is immutable while it runs, so lstat
// results under it are cached, and a path that cannot exist there fails with
// ENOENT in the tracer (dynamic loaders probe dozens per program). Relative
// paths are joined to the working directory (read from /proc/PID/cwd, cached
// until any chdir or fchdir) or to the dirfd (/proc/PID/fd/N); a
// one-component lookup that follows no symlink (fts: find, du, rm -r) needs
// neither. Paths elsewhere on the host cost one string comparison and go to
// the kernel untouched. The kernel keeps the real working directory (inside
// the pack when the program changes into the store); getcwd, readlink
// (/proc/PID/cwd, /proc/PID/fd/N …) and the AF_UNIX names of getsockname,
// getpeername and accept are translated back to store paths. openat2's
// RESOLVE_BENEATH and RESOLVE_IN_ROOT are left to the kernel, and
// RESOLVE_NO_SYMLINKS refuses links in the tracer too.
//
// # Where rewritten paths go
//
// Not below the stack pointer: goroutine stacks are small, and a vfork child
// (posix_spawn, Go's os/exec) runs on its parent's stack. At the first call
// that needs it, the tracer makes the tracee run mmap in place of the stopped
// call and then re-run the call (the program counter goes back over the
// system-call instruction). Each thread gets a 16 KiB slot of a 1 MiB region,
// written round-robin, so threads never share scratch and a call that the
// kernel restarts after a signal handler still finds its path. A fork copies
// the regions at the same addresses; kcmp(KCMP_VM) tells a thread or a vfork
// child (same memory) from a fork.
//
// # exec
//
// The kernel opens "#!" interpreters and ELF interpreters itself, where no
// path rewrite can reach, so the tracer takes both over (exec_linux.go). It
// reads the program's first bytes (cached under the pack): a script becomes
// its interpreter with the kernel's argument layout, chain after chain (5
// levels, as Linux); a dynamic program whose interpreter is in the store is
// run by the pack's copy of that ld.so, with --argv0 (glibc ≥ 2.33) and the
// program's canonical store path, so that $ORIGIN is its store directory.
// /proc/self/exe would then name ld.so, so readlink of the tracee's own
// /proc/…/exe answers the program's store path, and open of it opens the
// program. Static programs and host interpreters run from the translated
// path. execveat becomes execve of the resolved path. A traced program that
// runs another pack's launcher adds that pack's store to the view, since a
// traced launcher cannot trace.
//
// # Refusals
//
// kernel.yama.ptrace_scope 3 (or 2 for a non-root user), a PTRACE_SEIZE
// refused by a seccomp profile or a security module, or a kernel older than
// 4.8 (whose seccomp and ptrace stops come in another order) make Available or
// Run fail with an engine.UnavailableError that names the switch. A
// set-user-ID program runs without its privileges (ptrace and no_new_privs
// drop them): the launcher says so once.
//
// # Limits
//
// The launcher waits for every traced process, not only the program, since an
// untraced process would lose the store: a daemon the program leaves behind
// keeps the launcher alive. File contents (/proc/self/maps, mountinfo) are not
// translated; nor are sendto and sendmsg to an AF_UNIX path under the store,
// or open_tree and move_mount. A pack path longer than an AF_UNIX address can
// hold gives ENAMETOOLONG.
//
// Every use of package unsafe is in the _unsafe.go files; register access is
// in the _amd64 and _arm64 files. The kernel facts behind all this are in
// the project's research-ptrace.md notes.
package ptrace
