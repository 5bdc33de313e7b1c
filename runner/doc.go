// Package runner is the launcher that relocatable packs carry, and the
// contract between it and the pack writer.
//
// # The pack contract
//
// An unpacked pack directory ROOT, wherever it was extracted, holds the store
// items at ROOT/<store directory> (ROOT/nix/store/…), the launcher binary at
// [LauncherPath], one hard link to it per program at ROOT/bin/<name>, an empty
// directory at [RootDir], and the [Manifest] at [ManifestPath]. The pack
// writer fills in these paths and the manifest; the launcher reads them at run
// time. Nothing else ties the two together.
//
// # Finding the pack
//
// The kernel names the file it executed in /proc/self/exe. Because each
// wrapper is a hard link and not a symlink, that is ROOT/bin/<name>, so the
// launcher knows both the pack root and which program it stands for without
// any configuration, wherever the pack was extracted.
//
// # Running the program
//
// If the program already exists at its absolute store path (the pack was
// extracted at /, it runs inside a container built from the pack, or it is a
// nested call from a program the launcher already started), the launcher execs
// it in place. Otherwise it asks each [Engine] of [Engines] in turn, or only
// the one GPACK_ENGINE names, to make the pack's store appear at the store path
// for the program. A failed engine is silent unless GPACK_DEBUG=1, because the
// next one may well work.
//
// The userns engine needs no privilege where the kernel grants unprivileged
// user namespaces. A Go process is multi-threaded and so cannot
// unshare(CLONE_NEWUSER) itself, and Go cannot run ordinary code between fork
// and exec; re-executing the launcher as a second stage would cost a second
// Go start-up, most of the engine's time. So the launcher clones a child
// itself, with a raw clone(CLONE_NEWUSER|CLONE_NEWNS|SIGCHLD), and the child
// does the whole namespace setup with raw system calls and then execs the
// program: it writes its own identity uid/gid maps, mounts a tmpfs on
// [RootDir] and fills it with the host's / (one recursive bind when the host
// has the store directory, else a mirror of each directory along the store
// path), binds the pack's store at the store path, makes it the root with
// pivot_root, returns to the working directory and execs the program.
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
//     the id maps, the mount list (the host's directories are listed by the
//     parent), the working directory, is built by the parent before the
//     clone as addresses and system-call arguments (childPlan), so the child
//     only loops over arrays.
//   - Every signal is blocked on the cloning thread, which is locked to its
//     goroutine, from before the clone: no Go signal handler (SIGURG
//     preemption, a forwarded SIGINT) can run in the child. The parent
//     restores its mask right after the clone; the child first resets every
//     caught signal to its default action, so that a signal forwarded early
//     acts as it would on the program, and restores the mask just before
//     execve.
//   - A process that has just created a user namespace holds every
//     capability in it, and may map its own effective uid and gid there
//     (after denying setgroups), so the child writes its own maps: no round
//     trip with the parent, which would have to wait for the clone and
//     write them from outside.
//   - It reports a failure as a small binary record (the step and the
//     errno) on a close-on-exec pipe and exits: a successful exec closes the
//     pipe with nothing written, so an empty pipe means the program started.
//     The parent words the record as a message and tries the next engine.
//
// Where user namespaces are off, the ptrace engine runs the program as a
// traced child instead: a seccomp filter sends only the path-carrying system
// calls to the launcher, which resolves their paths itself (following the
// store's absolute symlinks) and points them at the pack's copy, takes over
// the exec of scripts and of programs whose ELF interpreter is in the store,
// and translates paths back where the kernel returns them. README.md
// describes both engines in full.
//
// The launcher stays as the program's parent to forward signals and to return
// its exit status; PR_SET_PDEATHSIG, set by the child, takes the program down
// if the launcher is killed. README.md describes the mechanism and its limits
// in full.
package runner
