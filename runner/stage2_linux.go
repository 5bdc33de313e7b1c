package runner

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// stage2Job recognises stage 2 by its marker and its argv[0] together: a user
// who exports the marker by hand still gets an ordinary launch (the marker is
// then stripped), and an ordinary argv never starts with stage2Arg0.
func stage2Job() (*stage2Plan, bool) {
	if os.Getenv(stageVar) != stageValue || len(os.Args) <= stage2Args || os.Args[0] != stage2Arg0 {
		return nil, false
	}
	a := os.Args
	fd, err := strconv.Atoi(a[1])
	if err != nil || fd < 3 {
		return nil, false
	}
	p := &stage2Plan{
		reportFD: fd,
		root:     a[2],
		store:    a[3],
		program:  a[4],
		newRoot:  a[5],
		args:     a[stage2Args:],
		env:      withoutVar(os.Environ(), stageVar),
	}
	if debugEnabled(os.Getenv(debugVar)) {
		p.debug = func(msg ...string) {
			io.WriteString(os.Stderr, msgPrefix+"stage 2: "+strings.Join(msg, "")+"\n")
		}
	} else {
		p.debug = func(...string) {}
	}
	return p, true
}

// runStage2 builds the new root, enters it and execs the program. It returns
// only on failure, after reporting it on the pipe.
func runStage2(p *stage2Plan) int {
	report := os.NewFile(uintptr(p.reportFD), "stage 2 report")
	// The program must not inherit the pipe: its closing by a successful
	// exec is how the first stage learns that the program started.
	syscall.CloseOnExec(p.reportFD)
	// Capabilities belong to threads, and execve runs with those of the
	// calling thread, so the thread that drops them must be the one that
	// execs.
	runtime.LockOSThread()

	if err := enterNewRoot(p); err != nil {
		io.WriteString(report, reportSetup+"\t"+oneLine(err.Error())+"\n")
		return exitCannotRun
	}
	if err := dropCapabilities(); err != nil {
		io.WriteString(report, reportSetup+"\t"+oneLine(err.Error())+"\n")
		return exitCannotRun
	}
	err := syscall.Exec(p.program, p.args, p.env)
	errno, ok := err.(syscall.Errno)
	if !ok {
		errno = syscall.EINVAL
	}
	io.WriteString(report, reportExec+"\t"+strconv.Itoa(int(errno))+"\n")
	return (&ExecError{Path: p.program, Err: errno}).Status()
}

// oneLine keeps a report to the single line the protocol allows.
func oneLine(s string) string { return strings.ReplaceAll(s, "\n", " ") }

// enterNewRoot builds the new root on a tmpfs at p.newRoot: the host's /
// with the pack's store at the store path. It chroots into it and returns to
// the working directory.
func enterNewRoot(p *stage2Plan) error {
	cwd, cwdErr := os.Getwd()
	// Nothing done here may reach the host's mount table, whatever the
	// propagation of the mounts this namespace was copied from.
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return wrap(err, "making the mounts private (mount --make-rprivate /)")
	}
	if err := unix.Mount("tmpfs", p.newRoot, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=0755"); err != nil {
		return wrap(err, "mounting a tmpfs on ", p.newRoot)
	}
	// The new root usually sits inside a directory that is itself bound
	// (the pack is somewhere under /home or /tmp). Unbindable keeps the
	// recursive binds below from copying the new root into itself.
	if err := unix.Mount("", p.newRoot, "", unix.MS_UNBINDABLE, ""); err != nil {
		return wrap(err, "making ", p.newRoot, " unbindable")
	}

	if hostHasDir(p.store) {
		// The store directory exists here (empty, or another store):
		// a mount point is ready, so bind / whole, as faithful as it
		// gets, and cover only the store with the pack's copy. Two
		// mounts instead of one per entry of every directory on the
		// store path.
		p.debug("the host has ", p.store, ": binding / whole, with the pack's store over ", p.store)
		if err := unix.Mount("/", p.newRoot, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return wrap(err, "binding / at ", p.newRoot)
		}
	} else {
		p.debug("the host lacks ", p.store, ": mirroring / around the store path")
		if err := mirrorAround(p.newRoot, p.store, p.debug); err != nil {
			return err
		}
	}
	dst := filepath.Join(p.newRoot, p.store)
	src := filepath.Join(p.root, p.store)
	if err := unix.Mount(src, dst, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return wrap(err, "binding the pack's store ", src, " at ", p.store)
	}
	if err := remountReadOnly(dst); err != nil {
		p.debug("the store stays writable: ", err.Error())
	}

	if err := switchRoot(p.newRoot, p.debug); err != nil {
		return err
	}
	if cwdErr != nil {
		p.debug("the working directory is unknown (", cwdErr.Error(), "), using /")
		cwd = "/"
	}
	if err := os.Chdir(cwd); err != nil {
		p.debug("cannot return to the working directory in the new root (", err.Error(), "), using /")
		if err := os.Chdir("/"); err != nil {
			return wrap(err, "chdir / in the new root")
		}
	}
	return nil
}

// switchRoot makes newRoot the root of the mount namespace with pivot_root,
// and detaches the old root. Unlike chroot this leaves no trace the kernel
// cares about: it refuses CLONE_NEWUSER to a chrooted process, so a program
// that starts another pack's wrapper (another store, hence another namespace)
// would fail under chroot. pivot_root cannot leave the initramfs rootfs that
// some diskless nodes run from, and there chroot has to do.
func switchRoot(newRoot string, debug func(...string)) error {
	if err := unix.Chdir(newRoot); err != nil {
		return wrap(err, "entering ", newRoot)
	}
	// With both arguments ".", the old root ends up stacked over the new
	// one, where a lazy unmount removes it without a directory to hold it.
	err := unix.PivotRoot(".", ".")
	if err == nil {
		return wrap(unix.Unmount(".", unix.MNT_DETACH), "detaching the old root")
	}
	debug("pivot_root failed (", err.Error(), "), so chroot: programs here cannot create user namespaces")
	return wrap(unix.Chroot("."), "chroot ", newRoot)
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

// mirrorAround fills the empty new root with the host's / for a host that
// lacks the store directory, without writing to the host: it walks down the
// store path, mirroring each host directory except the next component, which
// becomes a directory of the tmpfs, down to an empty store directory.
func mirrorAround(newRoot, store string, debug func(...string)) error {
	type dirMode struct {
		path string
		mode fs.FileMode
	}
	var modes []dirMode
	host, dst := "/", newRoot
	comps := strings.Split(strings.TrimPrefix(store, "/"), "/")
	for i, c := range comps {
		if err := mirror(host, dst, c, debug); err != nil {
			return err
		}
		host, dst = filepath.Join(host, c), filepath.Join(dst, c)
		if err := os.Mkdir(dst, 0o700); err != nil {
			return wrap(err, "creating ", host, " in the new root")
		}
		if i == len(comps)-1 {
			break // the store's own mode is that of the pack's copy
		}
		mode := fs.FileMode(0o755)
		if fi, err := os.Stat(host); err == nil && fi.IsDir() {
			mode = fi.Mode() & (fs.ModePerm | fs.ModeSticky | fs.ModeSetgid)
		}
		modes = append(modes, dirMode{dst, mode})
	}
	// The host's modes (1777 for /tmp) come last, deepest first, once the
	// directories no longer need to be writable for us.
	for i := len(modes) - 1; i >= 0; i-- {
		if err := os.Chmod(modes[i].path, modes[i].mode); err != nil {
			return wrap(err, "setting the mode of ", modes[i].path)
		}
	}
	return nil
}

// mirror makes every entry of the host directory host except skip appear in
// dst: directories and other files by recursive bind mounts on empty
// placeholders, symlinks as copies. A missing host directory mirrors as
// empty, which is how the store path works on a host without /nix.
func mirror(host, dst, skip string, debug func(...string)) error {
	entries, err := os.ReadDir(host)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return nil
	case errors.Is(err, fs.ErrPermission):
		debug("cannot list ", host, " (", err.Error(), "): the program sees only the store path in it")
		return nil
	case err != nil:
		return wrap(err, "listing ", host)
	}
	for _, e := range entries {
		if e.Name() == skip {
			continue
		}
		src, tgt := filepath.Join(host, e.Name()), filepath.Join(dst, e.Name())
		switch {
		case e.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(src)
			if err != nil {
				return wrap(err, "reading the symlink ", src)
			}
			if err := os.Symlink(target, tgt); err != nil {
				return wrap(err, "copying the symlink ", src)
			}
			continue
		case e.IsDir():
			if err := os.Mkdir(tgt, 0o755); err != nil {
				return wrap(err, "creating a mount point for ", src)
			}
		default:
			// Regular files, and the odd socket or device: a bind mount
			// needs a non-directory to land on.
			f, err := os.OpenFile(tgt, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
			if err != nil {
				return wrap(err, "creating a mount point for ", src)
			}
			f.Close()
		}
		// A partial mirror would show the program an empty /usr or /home
		// with no hint why; better to fail and let another engine try.
		if err := unix.Mount(src, tgt, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
			return wrap(err, "binding ", src)
		}
	}
	return nil
}

// remountReadOnly makes the bind mount at path read-only. The kernel refuses
// a remount that would clear the flags the mount inherited from a more
// privileged namespace (nosuid, nodev, noexec, the atime mode), so they are
// read back and kept.
func remountReadOnly(path string) error {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return wrap(err, "statfs ", path)
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
	return wrap(unix.Mount("", path, "", flags, ""), "remounting ", path, " read-only")
}

// dropCapabilities gives up the capabilities that stage 2 needed, so that the
// program starts with none, as it would outside: ambient ones would survive
// execve, and inheritable ones could combine with file capabilities.
// Precondition: the OS thread is locked, and it is the one that will exec.
func dropCapabilities() error {
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil {
		return wrap(err, "clearing ambient capabilities")
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return wrap(err, "reading capabilities")
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	return wrap(unix.Capset(&hdr, &data[0]), "clearing inheritable capabilities")
}
