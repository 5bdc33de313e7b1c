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
// neither, unless the call may write (see below). The kernel keeps the real
// working directory (inside the pack when the program changes into the
// store); getcwd, readlink (/proc/PID/cwd, /proc/PID/fd/N …) and the AF_UNIX
// names of getsockname, getpeername and accept are translated back to store
// paths. openat2's RESOLVE_BENEATH and RESOLVE_IN_ROOT are left to the kernel,
// and RESOLVE_NO_SYMLINKS refuses links in the tracer too.
//
// # Host paths
//
// A path of the host can reach the store too, through a symlink outside it:
// a venv's bin/python, ~/bin/tool, ln -s /nix/store/…/hello /tmp/h. The
// kernel would follow such a link into the host's store directory, empty or
// missing. So the tracer resolves host paths as the kernel would, link by
// link, "." and ".." included (a ".." after a link is the parent of where the
// link leads), procfs excepted: its links (/proc/self, /proc/PID/fd/N) mean
// what they mean to the program, so the kernel resolves the rest of a path
// from there. A lookup that reaches a store or a pack is rewritten to where
// it leads, like a store path, for every path-carrying call (the stat,
// open, access, xattr, *at and exec families, readlink, chdir, bind and
// connect, the #! and ELF interpreters of an exec); one that does not goes to
// the kernel as the program wrote it, since the kernel finds the same. The
// links' own names are the host's: readlink of one gives its text, lstat,
// unlink and rename act on it, and only what the link leads to is the store
// (read-only, below).
//
// To keep that cheap, the translator keeps what lookups find of host paths
// (hostFacts: a name is a directory or a file, missing, on procfs, or a link
// with its target), at most 32768 of them, a random quarter dropped when
// full. A lookup starts from the deepest directory known to hold no link on
// its way (or the working directory or dirfd, which the kernel names without
// links), so a path whose directory is known costs two map look-ups and no
// system call if the call does not follow its last component (lstat,
// readlink, unlink, a relative open of one component…) or if that is known
// too; otherwise one lstat, the first time. A path is never walked from / on
// every call. The cost that remains is the first lookup of each host name,
// made by the tracer, which serves one call at a time: on a slow network
// filesystem its latency holds up every traced process, not only the one
// that asked.
//
// The host is not immutable like the pack, so what is kept may be stale.
// Invalidation: the program's own calls that can make a name a symlink
// (symlink, symlinkat, link, linkat, rename, renameat, renameat2) or change
// what paths lead to (mount, umount2, pivot_root, chroot) drop everything
// kept, at their seccomp stop, and nothing is learnt until their exit stop
// (one stop more per such call), since a lookup made meanwhile by another
// thread or process may see either state. Unlink and rmdir need not: a
// removed name becomes a link only by one of those calls. What was kept then
// holds as far as the traced programs go. Residual risk: a process the
// launcher does not trace (another login, a daemon, nix-env in another
// shell), or a traced one through calls the filter does not see (io_uring is
// refused; open_tree, move_mount and mounts in a namespace of its own are
// not covered), can change the host behind the tracer's back. Kept facts are
// therefore used only to decide that a path is the kernel's: a lookup that
// used a kept link, or went up with ".." from a directory known only from
// what was kept, and reached a store or a pack, is made again with every
// host name looked up afresh before the path is rewritten. So stale facts
// never make the tracer give a wrong path; at worst a link into the store
// made or changed by an untraced process, where the tracer had seen a plain
// name, a missing one or a link to the host, is missed (ENOENT, as before
// the tracer followed host links at all) until the next invalidation or
// until the fact is dropped for room. Lookups are made with the tracer's
// credentials and in its mount namespace, which are the program's unless the
// program changed its own.
//
// # The store is read-only
//
// The userns engine binds the pack's store read-only, so every call that
// would create, change or remove something there fails with EROFS, or with
// the error the kernel finds before it looks at the mount. The ptrace engine
// gives the same answers (readonly_linux.go), and never lets such a call
// run: the pack's copy is an ordinary directory, most often its user's own,
// which chmod alone would open to changes. Covered: open, openat, openat2
// and creat with write access, O_CREAT, O_TRUNC or O_TMPFILE; mkdir, mknod,
// symlink and link (the new name), unlink, rmdir, rename (either side);
// chmod, chown, lchown, the utimes family and truncate, in their legacy and
// *at forms (fchmodat2 and the *xattrat calls too); the xattr setters and
// removers; bind of an AF_UNIX socket; access with W_OK; acct and swapon.
// mount and the other administrator's calls change no file: the kernel
// answers them.
//
// The decision is made at the call's seccomp stop on the path as the
// program sees it, after the tracer's own resolution of symlinks, with a
// string prefix test against the stores of the view: a path that reaches the
// store by a store path (directly, through a link, through .., from a working
// directory or a directory descriptor in the store) is the store. The pack's
// copy by its own path (ROOT/nix/store/…, or ROOT/bin and ROOT/.gpack) is a
// host path, the user's files: the kernel decides, by the modes the pack was
// extracted with. A working directory or descriptor in the pack's store
// counts as the store whichever path reached it, as getcwd shows it. A mount
// inside the pack's store is the host's too: the userns engine's recursive
// bind carries it with its own flags, and remounts read-only the store's
// mount alone (statx's mount id tells them apart).
//
// The answer is the kernel's on a read-only mount, in the kernel's order
// (Linux 6.18; the launcher's tests compare every case with a real
// read-only bind mount): errors in the arguments first, left to the kernel,
// which fails such calls before any lookup; then the directory's lookup
// (ENOENT, ENOTDIR, ELOOP); . and .. (EEXIST, EISDIR, EINVAL, ENOTEMPTY,
// EBUSY); a name that exists for a call that makes one (EEXIST, EADDRINUSE
// for bind), which is why mkdir of an existing directory is EEXIST; EXDEV
// for a rename, or a link of a store file, across the store's edge; the
// permission checks that precede the mount's (opening an existing file for
// writing without O_TRUNC, truncate, access: EACCES); then EROFS. So unlink
// of a missing name in the store is EROFS, as on the mount, and of a name
// in a missing directory ENOENT. The tracer looks the names up itself, with
// lstat, stat and faccessat, and with its own credentials, which are the
// program's unless a privileged program changed its own. Calls that change
// nothing run: O_CREAT of a file that exists without write access, O_PATH,
// utimensat with both times UTIME_OMIT. A store directory itself cannot be
// removed or renamed: EACCES without the permission to change its parent,
// else EBUSY, as for a mount point. acct and swapon are EPERM
// from the kernel for an ordinary user, EROFS for an administrator.
//
// Reads cost nothing more: whether a call may write is known from its number
// and flags (open's access mode and O_CREAT, O_TRUNC, O_TMPFILE; access's
// W_OK) before any lookup, and a read keeps the one-component shortcut. A
// call that may write costs the prefix test, and, if relative with one
// component, the readlink of its directory that the shortcut spares; only a
// write that reaches the store costs the lookups of its answer.
//
// Descriptors. A read-only descriptor of a store file is easy to get, and
// fchmod, fchown, fsetxattr and fremovexattr change the file through it:
// on the read-only mount they fail with EROFS. So the filter sends these
// four to the tracer too, which answers EROFS when /proc/PID/fd/N is in a
// pack's store (unless the descriptor is O_PATH: EBADF, from the kernel).
// That costs one stop per such call, made mostly on files a program has
// just created (cp -p, install, tar), whose open stopped already; programs
// that only read never make them. futimens (utimensat with a NULL path)
// and the AT_EMPTY_PATH forms of fchownat, fchmodat2, utimensat and the
// *xattrat calls come with calls that are traced anyway. ftruncate, write,
// fallocate and the like need a descriptor open for writing, which no open
// of the store gives: the kernel refuses them (EINVAL, EBADF) as on the
// read-only mount, and they are not traced. Not covered: ioctl
// FS_IOC_SETFLAGS (chattr) on a store descriptor, and statfs, whose flags
// do not say ST_RDONLY.
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
// runs another pack's launcher (by its path, or through a host link to it:
// ~/bin/tool) adds that pack's store to the view, since a traced launcher
// cannot trace.
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
