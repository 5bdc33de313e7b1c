// Package proc is the process plumbing that the launcher's engines share:
// starting the program's process with a raw clone whose child runs a plan of
// system calls before its exec, learning from the child's report whether the
// program started, waiting for it, and forwarding signals to it.
//
// Why a raw clone: a Go process is multi-threaded and so cannot
// unshare(CLONE_NEWUSER) itself, and Go cannot run ordinary code between fork
// and exec; re-executing the launcher as a second stage would cost a second
// Go start-up, most of an engine's time. So the launcher clones a child
// itself ([Start]), and the child runs a [Plan] built by the parent: a list
// of system calls with their arguments ready, then the exec.
//
// The child follows the discipline of the standard library's
// syscall.forkAndExecInChild, for the same reasons:
//
//   - It is a copy of a multi-threaded Go process in which only the cloning
//     thread exists, and other threads may have held runtime locks at the
//     time, so it must not allocate, take a lock, grow its stack or be
//     preempted. Its functions are //go:nosplit (the linker then proves that
//     their stack fits) and call nothing but syscall.RawSyscall and
//     RawSyscall6. Everything it needs, NUL-terminated paths, argv and envp,
//     buffers, is built by the parent before the clone as addresses and
//     system-call arguments, so the child only loops over arrays.
//   - Every signal is blocked on the cloning thread, which is locked to its
//     goroutine, from before the clone: no Go signal handler (SIGURG
//     preemption, a forwarded SIGINT) can run in the child. The parent
//     restores its mask right after the clone; the child first resets every
//     caught signal to its default action, so that a signal forwarded early
//     acts as it would on the program, and restores the mask just before
//     execve.
//   - It reports a failure as a small binary [Record] (the step and the
//     errno) on a close-on-exec pipe and exits: a successful exec closes the
//     pipe with nothing written, so an empty pipe means the program started.
//
// The launcher stays as the program's parent to forward signals
// ([Forwarder]) and to return its exit status; PR_SET_PDEATHSIG, set by the
// child, takes the program down if the launcher is killed.
//
// Every use of package unsafe is in the _unsafe.go files.
package proc
