package userns

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/gpack/gpack/launcher/engine"
	"github.com/gpack/gpack/launcher/internal/errs"
	"github.com/gpack/gpack/launcher/internal/proc"
)

// opInfo says what a child step was doing, for the parent's messages: a
// fatal step's failure reads errs.Wrap(errno, msg); a warning step's is a debug
// line that warn formats.
type opInfo struct {
	msg  string
	warn func(err error) string
	// idMap marks the steps whose failure means the host refuses user
	// namespaces, rather than that this run's setup failed.
	idMap bool
}

// planBuilder turns the userns engine's recipe into the child's steps.
type planBuilder struct {
	plan  proc.Plan
	info  []opInfo
	debug func(msg ...string)
	// firstMount is the index of the first mount step, whose refusal
	// tells a confined namespace.
	firstMount int
	// fuseFD and fuseSock are, for a Job with FUSE, the descriptor
	// number the child puts /dev/fuse at and its end of the socket it
	// sends it on.
	fuseFD, fuseSock int
}

func (b *planBuilder) add(op proc.Op, info opInfo) *proc.Op {
	b.plan.Ops = append(b.plan.Ops, op)
	b.info = append(b.info, info)
	return &b.plan.Ops[len(b.plan.Ops)-1]
}

// sys adds a fatal system call step.
func (b *planBuilder) sys(msg string, trap uintptr, a ...uintptr) {
	op := proc.Op{Kind: proc.OpSyscall, Trap: trap}
	copy(op.A[:], a)
	b.add(op, opInfo{msg: msg})
}

// warnSys adds a system call step whose failure is a debug line, after
// which failSkip steps are skipped; success skips okSkip.
func (b *planBuilder) warnSys(warn func(error) string, okSkip, failSkip int, trap uintptr, a ...uintptr) {
	op := proc.Op{Kind: proc.OpSyscall, Trap: trap, Warn: true, OkSkip: okSkip, FailSkip: failSkip}
	copy(op.A[:], a)
	b.add(op, opInfo{warn: warn})
}

// str returns the address of a NUL-terminated copy of s, or 0 for "".
func (b *planBuilder) str(s string) uintptr {
	if s == "" {
		return 0
	}
	return b.plan.Addr(s)
}

func (b *planBuilder) mount(msg, src, dst, fstype string, flags uintptr, data string) {
	b.sys(msg, unix.SYS_MOUNT, b.str(src), b.str(dst), b.str(fstype), flags, b.str(data))
}

// idMapFile adds the step that writes data to one of the id-map files
// of /proc/self.
func (b *planBuilder) idMapFile(msg, path, data string) {
	op := proc.Op{Kind: proc.OpWriteFile}
	op.A[0] = b.plan.Addr(path)
	op.A[1] = b.plan.Bytes(data)
	op.A[2] = uintptr(len(data))
	b.add(op, opInfo{msg: msg, idMap: true})
}

// build lays out the whole child, in order: its own id maps; the mounts of
// the new root on newRoot (the host's / with the pack's store at the store
// path); the switch into it; the way back to the working directory. The host
// is inspected here, in the parent (which directories exist, what they hold,
// the flags of the pack's mount), since the child can only run the plan.
func (b *planBuilder) build(j *engine.Job, newRoot string) error {
	cwd, err := os.Getwd()
	if err != nil {
		b.debug("the working directory is unknown (", err.Error(), "), using /")
		cwd = "/"
	}
	uid, gid := strconv.Itoa(os.Geteuid()), strconv.Itoa(os.Getegid())
	// A process that has just created a user namespace holds every
	// capability in it, and may map its own effective ids: no round trip
	// with the parent. setgroups must be denied before the gid map.
	b.idMapFile("denying setgroups in the new user namespace", "/proc/self/setgroups", "deny")
	b.idMapFile("writing the uid map", "/proc/self/uid_map", uid+" "+uid+" 1\n")
	b.idMapFile("writing the gid map", "/proc/self/gid_map", gid+" "+gid+" 1\n")

	b.firstMount = len(b.plan.Ops)
	b.mount("making the mounts private (mount --make-rprivate /)", "", "/", "", unix.MS_REC|unix.MS_PRIVATE, "")
	if j.FUSE != nil {
		// Before the new root is built: the binds of the host's
		// directories below carry the FUSE mount with them. The
		// kernel takes only a /dev/fuse opened in the mount's own user
		// namespace, so the child opens it, at the descriptor number
		// the parent reserved, and sends it back on its socket.
		fd := strconv.Itoa(b.fuseFD)
		b.add(proc.Op{Kind: proc.OpOpenAt, A: [6]uintptr{b.str("/dev/fuse"), unix.O_RDWR, uintptr(b.fuseFD)}},
			opInfo{msg: "opening /dev/fuse in the new user namespace"})
		b.mount("mounting the AppImage's image (FUSE) on "+j.Root, "gpack-appimage", j.Root, "fuse",
			unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV,
			"fd="+fd+",rootmode=40000,user_id="+uid+",group_id="+gid+",default_permissions")
		b.add(proc.Op{Kind: proc.OpSyscall, Trap: unix.SYS_SENDMSG, A: [6]uintptr{uintptr(b.fuseSock), b.plan.FDMessage(b.fuseFD), 0}},
			opInfo{msg: "passing the FUSE descriptor to the launcher"})
	}
	b.mount("mounting a tmpfs on "+newRoot, "tmpfs", newRoot, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755")
	// The new root usually sits inside a directory that is itself bound
	// (the pack is somewhere under /home or /tmp). Unbindable keeps the
	// recursive binds below from copying the new root into itself.
	b.mount("making "+newRoot+" unbindable", "", newRoot, "", unix.MS_UNBINDABLE, "")

	if hostHasDir(j.Store) {
		// The store directory exists here (empty, or another store):
		// a mount point is ready, so bind / whole, as faithful as it
		// gets, and cover only the store with the pack's copy.
		b.debug("the host has ", j.Store, ": binding / whole, with the pack's store over ", j.Store)
		b.mount("binding / at "+newRoot, "/", newRoot, "", unix.MS_BIND|unix.MS_REC, "")
	} else {
		b.debug("the host lacks ", j.Store, ": mirroring / around the store path")
		if err := b.mirrorAround(newRoot, j.Store, []string{cwd, j.Root}); err != nil {
			return err
		}
	}
	dst := filepath.Join(newRoot, j.Store)
	src := filepath.Join(j.Root, j.Store)
	b.mount("binding the pack's store "+src+" at "+j.Store, src, dst, "", unix.MS_BIND|unix.MS_REC, "")
	if j.FUSE != nil {
		b.debug("the store is the AppImage's read-only FUSE mount")
	} else if flags, err := readOnlyFlags(src); err != nil {
		b.debug("the store stays writable: ", err.Error())
	} else {
		b.warnSys(func(err error) string {
			return "the store stays writable: " + errs.Wrap(err, "remounting ", dst, " read-only").Error()
		}, 0, 0, unix.SYS_MOUNT, 0, b.str(dst), 0, flags, 0)
	}

	// pivot_root rather than chroot: the kernel refuses CLONE_NEWUSER to a
	// chrooted process, so a program that starts another pack's wrapper
	// (another store, hence another namespace) would fail. With both
	// arguments ".", the old root ends up stacked over the new one, where a
	// lazy unmount removes it. pivot_root cannot leave the initramfs rootfs
	// that some diskless nodes run from, and there chroot has to do: on
	// failure the child skips the unmount and chroots; on success it skips
	// the chroot.
	dot := b.str(".")
	b.sys("entering "+newRoot, unix.SYS_CHDIR, b.str(newRoot))
	b.warnSys(func(err error) string {
		return "pivot_root failed (" + err.Error() + "), so chroot: programs here cannot create user namespaces"
	}, 0, 1, unix.SYS_PIVOT_ROOT, dot, dot)
	b.add(proc.Op{Kind: proc.OpSyscall, Trap: unix.SYS_UMOUNT2, A: [6]uintptr{dot, unix.MNT_DETACH}, OkSkip: 1},
		opInfo{msg: "detaching the old root"})
	b.sys("chroot "+newRoot, unix.SYS_CHROOT, dot)

	b.warnSys(func(err error) string {
		return "cannot return to the working directory in the new root (chdir " + cwd + ": " + err.Error() + "), using /"
	}, 1, 0, unix.SYS_CHDIR, b.str(cwd))
	b.sys("chdir / in the new root", unix.SYS_CHDIR, b.str("/"))
	// Ambient capabilities would survive the exec: the program starts
	// with none in the new namespace.
	b.warnSys(func(err error) string {
		return "cannot clear ambient capabilities: " + err.Error()
	}, 0, 0, unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)

	return b.plan.SetExec(j.Program, j.Args, j.Environ())
}

// buildJoin plans a child that joins the namespaces of j.Join, whose root
// an earlier child built (with the store at its path), and execs the
// program there: no new namespace, nothing mounted. The child is
// single-threaded, as setns(CLONE_NEWUSER) wants, and the user's, who owns
// the user namespace, so it may enter it; in it, it holds the
// capabilities that entering the mount namespace takes. Entering a mount
// namespace moves the root and the working directory to its root, so the
// working directory is entered again.
func (b *planBuilder) buildJoin(j *engine.Job, _ string) error {
	b.plan.CloneFlags = uintptr(syscall.SIGCHLD)
	cwd, err := os.Getwd()
	if err != nil {
		b.debug("the working directory is unknown (", err.Error(), "), using /")
		cwd = "/"
	}
	b.add(proc.Op{Kind: proc.OpSyscall, Trap: unix.SYS_SETNS, A: [6]uintptr{uintptr(j.Join.User), unix.CLONE_NEWUSER}},
		opInfo{msg: "entering the user namespace of the AppImage's mount"})
	b.add(proc.Op{Kind: proc.OpSyscall, Trap: unix.SYS_SETNS, A: [6]uintptr{uintptr(j.Join.Mnt), unix.CLONE_NEWNS}},
		opInfo{msg: "entering the mount namespace of the AppImage's mount"})
	b.warnSys(func(err error) string {
		return "cannot return to the working directory in the AppImage's namespace (chdir " + cwd + ": " + err.Error() + "), using /"
	}, 1, 0, unix.SYS_CHDIR, b.str(cwd))
	b.sys("chdir / in the AppImage's namespace", unix.SYS_CHDIR, b.str("/"))
	b.warnSys(func(err error) string {
		return "cannot clear ambient capabilities: " + err.Error()
	}, 0, 0, unix.SYS_PRCTL, unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL)
	return b.plan.SetExec(j.Program, j.Args, j.Environ())
}

// mirrorAround plans the new root for a host that lacks the store directory,
// without writing to the host: walking down the store path, each host
// directory is mirrored except the next component, which becomes a directory
// of the tmpfs, down to an empty store directory. The host's directories are
// listed here; the child creates the mount points and binds them.
func (b *planBuilder) mirrorAround(newRoot, store string, needed []string) error {
	type dirMode struct {
		path string
		mode uint32
	}
	var modes []dirMode
	host, dst := "/", newRoot
	comps := strings.Split(strings.TrimPrefix(store, "/"), "/")
	for i, c := range comps {
		if err := b.mirror(host, dst, c, needed); err != nil {
			return err
		}
		host, dst = filepath.Join(host, c), filepath.Join(dst, c)
		b.sys("creating "+host+" in the new root", unix.SYS_MKDIRAT, proc.AtFDCWD, b.str(dst), 0o700)
		if i == len(comps)-1 {
			break // the store's own mode is that of the pack's copy
		}
		mode := uint32(0o755)
		if fi, err := os.Stat(host); err == nil && fi.IsDir() {
			mode = uint32(fi.Mode().Perm())
			if fi.Mode()&fs.ModeSticky != 0 {
				mode |= unix.S_ISVTX
			}
			if fi.Mode()&fs.ModeSetgid != 0 {
				mode |= unix.S_ISGID
			}
		}
		modes = append(modes, dirMode{dst, mode})
	}
	// The host's modes (1777 for /tmp) come last, deepest first, once the
	// directories no longer need to be writable for the child.
	for i := len(modes) - 1; i >= 0; i-- {
		b.sys("setting the mode of "+modes[i].path, unix.SYS_FCHMODAT, proc.AtFDCWD, b.str(modes[i].path), uintptr(modes[i].mode), 0)
	}
	return nil
}

// mirror plans how every entry of the host directory host except skip
// appears in dst: directories and other files by recursive bind mounts on
// empty placeholders, symlinks as copies. A missing host directory mirrors as
// empty, which is how the store path works on a host without /nix.
//
// The host goes on changing between the listing here and the binds in the
// child: /tmp in particular, where compilers and editors create and delete
// files all the time. An entry that has gone by then, or that cannot be bound
// (a stale network mount, a directory the user may not enter, an unbindable
// mount), is left out of the new root with a GPACK_DEBUG line, and its
// placeholder removed: the program sees the host as it is a moment later.
// Only the entries the program cannot do without, those on the way to the
// working directory and to the pack, fail the engine when they cannot be
// bound.
func (b *planBuilder) mirror(host, dst, skip string, needed []string) error {
	entries, err := proc.ReadDir(host)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return nil
	case errors.Is(err, fs.ErrPermission):
		b.debug("cannot list ", host, " (", err.Error(), "): the program sees only the store path in it")
		return nil
	case err != nil:
		return errs.Wrap(err, "listing ", host)
	}
	for _, e := range entries {
		if e.Name == skip {
			continue
		}
		src, tgt := filepath.Join(host, e.Name), filepath.Join(dst, e.Name)
		if e.Type == fs.ModeIrregular {
			// The file system does not give types in its listing.
			fi, err := os.Lstat(src)
			if err != nil {
				b.debug("leaving out ", src, ": ", err.Error())
				continue
			}
			e.Type = fi.Mode().Type()
		}
		need := false
		for _, n := range needed {
			need = need || n == src || strings.HasPrefix(n, src+"/")
		}
		switch {
		case e.Type&fs.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				if need {
					return errs.Wrap(err, "reading the symlink ", src)
				}
				b.debug("leaving out ", src, ": ", err.Error())
				continue
			}
			b.sys("copying the symlink "+src, unix.SYS_SYMLINKAT, b.str(target), proc.AtFDCWD, b.str(tgt))
			continue
		case e.IsDir():
			b.sys("creating a mount point for "+src, unix.SYS_MKDIRAT, proc.AtFDCWD, b.str(tgt), 0o755)
		default:
			op := proc.Op{Kind: proc.OpCreate}
			op.A[0] = b.plan.Addr(tgt)
			b.add(op, opInfo{msg: "creating a mount point for " + src})
		}
		if need {
			// Without it the program could not even start where it
			// was asked to: fail, and let another engine try.
			b.mount("binding "+src+" (the way to the working directory or the pack)", src, tgt, "", unix.MS_BIND|unix.MS_REC, "")
			continue
		}
		b.warnSys(func(err error) string {
			if errors.Is(err, syscall.ENOENT) {
				return "leaving out " + src + ": it was removed from the host meanwhile"
			}
			return "leaving out " + src + ": " + errs.Wrap(err, "binding it").Error()
		}, 1, 0, unix.SYS_MOUNT, b.str(src), b.str(tgt), 0, unix.MS_BIND|unix.MS_REC, 0)
		// Reached only when the bind failed: the placeholder goes too.
		rm := uintptr(0)
		if e.IsDir() {
			rm = unix.AT_REMOVEDIR
		}
		b.warnSys(func(err error) string {
			return "cannot remove the placeholder of " + src + ": " + err.Error()
		}, 0, 0, unix.SYS_UNLINKAT, proc.AtFDCWD, b.str(tgt), rm)
	}
	return nil
}

// hostHasDir reports whether every component of the absolute path dir is a
// real directory on the host. A symlink does not count: mount(2) would follow
// it from the host's root, out of the new root.
func hostHasDir(dir string) bool {
	p := "/"
	for _, c := range strings.Split(strings.TrimPrefix(dir, "/"), "/") {
		p = filepath.Join(p, c)
		fi, err := os.Lstat(p)
		if err != nil || !fi.IsDir() {
			return false
		}
	}
	return true
}

// readOnlyFlags are the flags that remount a bind of path read-only. The
// kernel refuses a remount that would clear the flags the mount inherited
// from a more privileged namespace (nosuid, nodev, noexec, the atime mode);
// a bind copies those of the mount that holds path, so they are read there
// and kept.
func readOnlyFlags(path string) (uintptr, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, errs.Wrap(err, "statfs ", path)
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY)
	for _, f := range []struct{ st, ms uintptr }{
		{unix.ST_NOSUID, unix.MS_NOSUID},
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOEXEC, unix.MS_NOEXEC},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f.st != 0 {
			flags |= f.ms
		}
	}
	if uintptr(st.Flags)&(unix.ST_NOATIME|unix.ST_RELATIME) == 0 {
		flags |= unix.MS_STRICTATIME
	}
	return flags, nil
}

// runCloned runs the program of j through a raw clone whose child builds the
// new root on newRoot and execs the program (userns_clone_unsafe.go).
func runCloned(j *engine.Job, newRoot string) (int, error) {
	// Installing the signal handlers takes the Go runtime a new thread
	// and a good part of a millisecond, so it runs while the plan is
	// built. It must be done before the clone: the child execs the
	// program so soon that a signal sent once the program is up could
	// otherwise still find the launcher without its handler, and kill
	// it. A signal caught before the child exists waits in the channel
	// and is forwarded once it does; the child, whose handlers are the
	// defaults by then, takes it as the program would. A signal that
	// arrives before the handlers are installed gets its default action,
	// which is what the program would get too: it has not started yet.
	fwc := make(chan *proc.Forwarder, 1)
	go func() { fwc <- proc.CatchSignals(j.Start.Ignored) }()
	fail := func(err error) (int, error) {
		(<-fwc).Stop()
		return 0, err
	}

	// GPACK_DEBUG calls the child "stage 2", as it was when it was a
	// second copy of the launcher.
	b := &planBuilder{plan: proc.Plan{CloneFlags: unix.CLONE_NEWUSER | unix.CLONE_NEWNS | uintptr(syscall.SIGCHLD)}, debug: func(msg ...string) { j.Debug(append([]string{"stage 2: "}, msg...)...) }}
	var fuseSock int = -1
	if j.FUSE != nil {
		// The child's end of a socket for the descriptor, and a
		// descriptor number held here (on /dev/null) that the child
		// replaces with /dev/fuse: free in the child, whose table is a
		// copy of this one.
		sp, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fail(errs.Wrap(err, "creating the FUSE socket"))
		}
		hold, err := syscall.Open("/dev/null", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != nil {
			syscall.Close(sp[0])
			syscall.Close(sp[1])
			return fail(errs.Wrap(err, "opening /dev/null"))
		}
		fuseSock, b.fuseSock, b.fuseFD = sp[0], sp[1], hold
		defer syscall.Close(fuseSock)
		defer syscall.Close(hold)
	}
	build := b.build
	if j.Join != nil {
		build = b.buildJoin
	}
	if err := build(j, newRoot); err != nil {
		if j.FUSE != nil {
			syscall.Close(b.fuseSock)
		}
		return fail(err)
	}
	// Close-on-exec at both ends: a successful exec of the program closes
	// the child's copies with nothing written.
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return fail(errs.Wrap(err, "creating the report pipe"))
	}
	r := p[0]
	b.plan.ReportFD = uintptr(p[1])
	b.plan.PPid = uintptr(os.Getpid())
	if j.Start.Captured {
		b.plan.SetExact(j.Start.Mask, j.Start.Ignored, j.Start.Closed)
		b.plan.SetLimits(j.Start.Nofile, j.Start.AS, j.Start.Raised)
	}

	proc.RestoreFileLimit()

	fw := <-fwc
	// PR_SET_PDEATHSIG follows the thread that cloned the child: keep
	// this goroutine on it until the child is gone.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	pid, err := proc.Start(&b.plan)
	syscall.Close(p[1])
	if err != nil {
		fw.Stop()
		syscall.Close(r)
		return 0, startError(err)
	}
	c := &proc.Child{Pid: pid}
	if j.Started != nil {
		j.Started(pid)
	}
	fw.ForwardTo(c)
	var fuseErr error
	if j.FUSE != nil {
		syscall.Close(b.fuseSock)
		if fuseErr = serveFUSE(j, fuseSock); fuseErr != nil {
			// The child waits for the file system, or has failed
			// (its report says why): it must not go on.
			c.Signal(syscall.SIGKILL)
		}
	}

	report, _ := proc.ReadAll(r, proc.MaxReport)
	syscall.Close(r)
	var fatal error
	for _, rec := range proc.ParseRecords(report) {
		errno := syscall.Errno(rec.Errno)
		switch {
		case rec.Kind == proc.RecExec:
			fatal = &engine.ExecError{Path: j.Program, Err: errno}
		case int(rec.Step) >= len(b.info):
			fatal = errors.New("the userns child reported an unknown step")
		case rec.Kind == proc.RecWarn && b.info[rec.Step].warn != nil:
			b.debug(b.info[rec.Step].warn(errno))
		case b.info[rec.Step].idMap && errno != syscall.EMFILE && errno != syscall.ENFILE:
			fatal = unavailable(errs.Wrap(errno, b.info[rec.Step].msg))
		case int(rec.Step) == b.firstMount && (errno == syscall.EPERM || errno == syscall.EACCES):
			// The namespace exists, yet holds no right to mount:
			// a security module confines it (Ubuntu's AppArmor).
			fatal = &engine.HintedError{Err: errs.Wrap(errno, b.info[rec.Step].msg), Hint: "allow mounts in unprivileged user " +
				"namespaces (AppArmor: sysctl kernel.apparmor_restrict_unprivileged_userns=0, or a profile for the launcher)"}
		default:
			fatal = errs.Wrap(errno, b.info[rec.Step].msg)
		}
	}
	if fatal == nil && fuseErr != nil {
		fatal = fuseErr
	}
	if fatal == nil {
		j.Debug("engine userns: running ", j.Program)
	}
	ws, err := c.Wait()
	if err != nil {
		return 0, &engine.ExecError{Path: j.Program, Err: errs.Wrap(err, "waiting for it")}
	}
	if fatal != nil {
		// The launcher goes on (another engine, or its message).
		fw.Stop()
		return 0, fatal
	}
	// The program ran and the launcher exits with its status at once:
	// stopping the forwarder (signal.Stop waits for the signal machinery
	// to go idle) would only delay that. A signal that arrives now is
	// caught and dropped, as one for a program that has just exited.
	return proc.Status(ws), nil
}

// serveFUSE receives the /dev/fuse descriptor that the child mounted and
// hands it to j.FUSE.Serve. A child that failed first closes the socket
// with nothing sent, and its report says why.
func serveFUSE(j *engine.Job, sock int) error {
	buf := make([]byte, 1)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(sock, buf, oob, unix.MSG_CMSG_CLOEXEC)
	if err != nil {
		return errs.Wrap(err, "receiving the FUSE descriptor")
	}
	if n == 0 {
		return errors.New("the child sent no FUSE descriptor")
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil || len(msgs) != 1 {
		return errors.New("the child sent no FUSE descriptor")
	}
	fds, err := unix.ParseUnixRights(&msgs[0])
	if err != nil || len(fds) != 1 {
		return errors.New("the child sent no FUSE descriptor")
	}
	if err := j.FUSE.Serve(fds[0]); err != nil {
		syscall.Close(fds[0])
		return errs.Wrap(err, "serving the AppImage's image over FUSE")
	}
	return nil
}
