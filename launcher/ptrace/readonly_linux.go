//go:build linux && (amd64 || arm64)

package ptrace

import (
	"encoding/binary"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// The store is read-only: the package comment says what the tracer
// answers, and why. Every function here runs on the tracer's goroutine.

// writeKind is how a system call may change what it names, and so which of
// the kernel's checks come before the read-only mount's EROFS.
type writeKind int

const (
	wrNone          writeKind = iota
	wrOpen                    // open, openat, openat2: by the open flags
	wrCreat                   // creat: O_CREAT|O_WRONLY|O_TRUNC
	wrMkdir                   // mkdir, mkdirat
	wrMknod                   // the mode in argument 1
	wrMknodat                 // the mode in argument 2
	wrSymlink                 // symlink, symlinkat: the target in argument 0
	wrLink                    // link, linkat: the old name, then the new
	wrUnlink                  // unlink
	wrRmdir                   // rmdir
	wrUnlinkat                // AT_REMOVEDIR in argument 2
	wrRename                  // rename, renameat
	wrRenameat2               // the flags in argument 4
	wrAttr                    // chmod, fchmodat, chown, lchown, utime
	wrAttrAt                  // fchmodat2, fchownat: flags in the path's flagArg
	wrUtimes                  // struct timeval[2] in argument 1
	wrFutimesat               // struct timeval[2] in argument 2
	wrUtimensat               // struct timespec[2] in argument 2, flags in 3
	wrTruncate                // the length in argument 1
	wrSetxattr                // setxattr, lsetxattr: name 1, size 3, flags 4
	wrRemovexattr             // removexattr, lremovexattr: name 1
	wrSetxattrat              // at-flags 2, name 3, struct xattr_args 4, its size 5
	wrRemovexattrat           // at-flags 2, name 3
	wrAccess                  // access: W_OK in the mode, argument 1
	wrFaccessat               // faccessat, faccessat2: the mode in argument 2
	wrPrivileged              // acct, swapon
	wrFchmod                  // the descriptor in argument 0
	wrFchown                  // the descriptor in argument 0
	wrFsetxattr               // descriptor 0, name 1, size 3, flags 4
	wrFremovexattr            // descriptor 0, name 1
)

// Limits the kernel checks before anything else (linux/limits.h).
const (
	xattrNameMax = 255
	xattrSizeMax = 65536
)

// oTmpfile is O_TMPFILE without the O_DIRECTORY it includes.
const oTmpfile = unix.O_TMPFILE &^ unix.O_DIRECTORY

// mayWrite reports whether the call, with these arguments, could change
// what it names. Reads answer false here and cost nothing more.
func (t *tracer) mayWrite(tc *tracee, r *regs, spec *sysSpec) bool {
	switch spec.write {
	case wrNone:
		return false
	case wrOpen:
		flags, ok := t.openFlags(tc, r, spec.paths[0])
		return ok && openWrites(flags)
	case wrAccess:
		return r.arg(1)&unix.W_OK != 0
	case wrFaccessat:
		return r.arg(2)&unix.W_OK != 0
	}
	return true
}

// openFlags returns the open flags of an open, openat or openat2.
func (t *tracer) openFlags(tc *tracee, r *regs, ps pathSpec) (uint64, bool) {
	if ps.follow != followOpenHow {
		return r.arg(ps.flagArg), true
	}
	var b [8]byte
	if _, err := t.readMem(tc.tid, r.arg(ps.flagArg), b[:]); err != nil {
		return 0, false // EFAULT, from the kernel
	}
	return binary.NativeEndian.Uint64(b[:]), true
}

// openWrites reports whether an open with these flags may change the file
// it names: the kernel ignores every other flag with O_PATH.
func openWrites(flags uint64) bool {
	if flags&unix.O_PATH != 0 {
		return false
	}
	return flags&unix.O_ACCMODE != unix.O_RDONLY || flags&(unix.O_CREAT|unix.O_TRUNC|oTmpfile) != 0
}

// fileState is what a lookup finds.
type fileState struct {
	err    syscall.Errno // the lookup fails: a missing or non-directory parent, a loop…
	exists bool          // else the name exists, or is absent from an existing directory
	mode   uint32
}

// probe looks up path as the kernel would for the program (the tracer has
// the program's credentials). follow matters only for a host path: the
// tracer has resolved the store's links itself.
func probe(path string, follow bool) fileState {
	var st unix.Stat_t
	var err error
	if follow {
		err = unix.Stat(path, &st)
	} else {
		err = unix.Lstat(path, &st)
	}
	if err == nil {
		return fileState{exists: true, mode: st.Mode}
	}
	if err != unix.ENOENT {
		return fileState{err: errnoOf(err)}
	}
	return probeDir(parentDir(trimSlashes(path)))
}

// probeDir looks up the directory a name would be made in or removed from.
func probeDir(dir string) fileState {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fileState{err: errnoOf(err)}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFDIR {
		return fileState{err: syscall.ENOTDIR}
	}
	return fileState{}
}

// canAccess is the permission check that some calls make before the
// mount's: 0 or the kernel's refusal (EACCES).
func canAccess(path string, mode uint32) syscall.Errno {
	return errnoOrZero(unix.Faccessat(unix.AT_FDCWD, path, mode, unix.AT_EACCESS))
}

func errnoOrZero(err error) syscall.Errno {
	if err == nil {
		return 0
	}
	return errnoOf(err)
}

func trimSlashes(p string) string {
	for len(p) > 1 && p[len(p)-1] == '/' {
		p = p[:len(p)-1]
	}
	return p
}

// lastName is the last component of a path as the program wrote it.
func lastName(p string) string {
	p = trimSlashes(p)
	return p[strings.LastIndexByte(p, '/')+1:]
}

func isDot(name string) bool { return name == "." || name == ".." }

// The parts of a target that the checks use. host is the path to look up
// from the tracer: the pack's copy for a store path, the program's own
// (made absolute) for a host path.
func (x *target) host() string {
	if x.real != "" && x.real[0] == '/' {
		return x.real
	}
	return x.abs
}

func (x *target) slash() bool { return strings.HasSuffix(x.given, "/") }

// object is the store directory holding the file the call acts on, or "".
func (t *tracer) object(x *target) string {
	if x.skip || x.view == "" {
		return ""
	}
	return t.onStoreMount(t.tr.storeOf(x.view), x.host())
}

// entry is the store directory holding the directory entry that the call
// makes or removes, or "": for a path ending in . or .., the directory
// itself; else its parent. A store directory's own entry is in its
// parent, outside the store (see storeDir).
func (t *tracer) entry(x *target) string {
	if x.skip || x.view == "" {
		return ""
	}
	if isDot(lastName(x.given)) {
		return t.onStoreMount(t.tr.storeOf(x.view), x.host())
	}
	return t.onStoreMount(t.tr.storeOf(parentDir(trimSlashes(x.view))), parentDir(trimSlashes(x.host())))
}

// onStoreMount returns store if real, a path in a pack's store, is on the
// mount of that pack's store directory, else "": a mount inside the pack's
// store is the host's, with its own flags, as in the userns engine's view,
// whose recursive bind carries it and whose read-only remount is of the
// store's mount alone. Where the kernel cannot tell mounts apart (statx's
// mount id is Linux 5.8), everything in the store is the store.
func (t *tracer) onStoreMount(store, real string) string {
	if store == "" {
		return ""
	}
	root := t.tr.realStoreOf(real)
	if root == "" || root == real {
		return store
	}
	want, ok := t.mounts[root]
	if !ok {
		want = mountID(root)
		t.mounts[root] = want
	}
	if want == 0 {
		return store
	}
	if id := mountID(real); id != 0 && id != want {
		return ""
	}
	return store
}

// mountID is the id of the mount that holds path, or 0 if unknown.
func mountID(path string) uint64 {
	var stx unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx) != nil ||
		stx.Mask&unix.STATX_MNT_ID == 0 {
		return 0
	}
	return stx.Mnt_id
}

// storeDir reports whether x names a store directory itself, which the
// userns engine's view has as a mount point.
func (t *tracer) storeDir(x *target) bool {
	if x.skip || x.view == "" || isDot(lastName(x.given)) {
		return false
	}
	v := trimSlashes(x.view)
	return t.tr.storeOf(v) == v
}

// readOnly returns the errno the call must fail with because it would
// change the store, or 0 to let it go on: it changes nothing there, or the
// kernel refuses it for its arguments before looking anything up.
func (t *tracer) readOnly(tc *tracee, r *regs, spec *sysSpec, tg []target) syscall.Errno {
	switch spec.write {
	case wrFchmod, wrFchown, wrFsetxattr, wrFremovexattr:
		return t.fdReadOnly(tc, r, spec.write)
	case wrLink:
		return t.linkReadOnly(r, spec, &tg[0], &tg[1])
	case wrRename, wrRenameat2:
		flags := uint64(0)
		if spec.write == wrRenameat2 {
			flags = r.arg(4)
		}
		return t.renameReadOnly(flags, &tg[0], &tg[1])
	}
	x := &tg[len(tg)-1]
	if x.skip && !x.beneath && !x.empty {
		return 0
	}
	if x.beneath {
		return t.beneathReadOnly(tc, r, spec, x)
	}
	if x.empty {
		return t.emptyReadOnly(tc, r, spec, x)
	}
	// The tracer's resolution drops . and .., which the kernel checks
	// right after finding the directory, before the mount.
	dot := lastName(x.given)
	if !isDot(dot) {
		dot = ""
	}
	switch spec.write {
	case wrMkdir, wrMknod, wrMknodat, wrSymlink:
		if t.entry(x) == "" {
			return 0
		}
		if spec.write == wrMknod && !mknodValid(uint32(r.arg(1))) ||
			spec.write == wrMknodat && !mknodValid(uint32(r.arg(2))) ||
			spec.write == wrSymlink && t.isEmptyString(tc, r.arg(0)) {
			return 0 // EPERM, EINVAL, ENOENT from the kernel first
		}
		if dot != "" {
			if st := probeDir(x.host()); st.err != 0 {
				return st.err
			}
			return syscall.EEXIST
		}
		return createErrno(probe(x.host(), false), spec.write == wrMkdir, x.slash(), syscall.EEXIST)
	case wrUnlink, wrRmdir, wrUnlinkat:
		if spec.write == wrUnlinkat && r.arg(2)&^unix.AT_REMOVEDIR != 0 {
			return 0 // EINVAL
		}
		if t.storeDir(x) {
			return storeDirErrno(x)
		}
		if t.entry(x) == "" {
			return 0
		}
		if dot != "" {
			if st := probeDir(x.host()); st.err != 0 {
				return st.err
			}
			rmdir := spec.write == wrRmdir || spec.write == wrUnlinkat && r.arg(2)&unix.AT_REMOVEDIR != 0
			switch {
			case !rmdir:
				return syscall.EISDIR
			case dot == ".":
				return syscall.EINVAL
			}
			return syscall.ENOTEMPTY
		}
		if st := probeDir(parentDir(trimSlashes(x.host()))); st.err != 0 {
			return st.err
		}
		return syscall.EROFS
	}
	if t.object(x) == "" {
		return 0
	}
	if !t.argsValid(tc, r, spec) {
		return 0
	}
	switch spec.write {
	case wrOpen, wrCreat:
		flags := uint64(unix.O_CREAT | unix.O_WRONLY | unix.O_TRUNC)
		if spec.write == wrOpen {
			flags, _ = t.openFlags(tc, r, spec.paths[0])
		}
		return openErrno(probe(x.host(), false), flags, x.slash(), x.host())
	case wrAccess, wrFaccessat:
		mode, flags := uint32(r.arg(1)), 0
		if spec.write == wrFaccessat {
			mode = uint32(r.arg(2))
			if spec.paths[0].follow == followAtFlag {
				flags = int(r.arg(spec.paths[0].flagArg)) &^ unix.AT_SYMLINK_NOFOLLOW
			}
		}
		// The tracer resolved the links: the last one too if it was
		// to be followed.
		return accessErrno(x.host(), mode, flags|unix.AT_SYMLINK_NOFOLLOW)
	case wrPrivileged:
		if os.Geteuid() != 0 {
			return 0 // EPERM: the kernel checks the capability first
		}
	}
	st := probe(x.host(), false)
	switch {
	case st.err != 0:
		return st.err
	case !st.exists:
		return syscall.ENOENT
	}
	if spec.write == wrTruncate {
		return truncateErrno(st, x.host())
	}
	return syscall.EROFS
}

// createErrno is the answer for a name to make in the store: the kernel
// looks up the directory, then the name (EEXIST), then checks the mount.
func createErrno(st fileState, mkdir, slash bool, exists syscall.Errno) syscall.Errno {
	switch {
	case st.err != 0:
		return st.err
	case st.exists:
		return exists
	case slash && !mkdir:
		return syscall.ENOENT // only mkdir accepts a trailing slash
	}
	return syscall.EROFS
}

// openErrno is the answer for an open that may write: the kernel's do_open
// and may_open, in their order. It is 0 for an open that writes nothing
// (O_CREAT of a file that exists, read-only).
func openErrno(st fileState, flags uint64, slash bool, path string) syscall.Errno {
	if st.err != 0 {
		return st.err
	}
	creat := flags&unix.O_CREAT != 0
	write := flags&unix.O_ACCMODE != unix.O_RDONLY
	trunc := flags&unix.O_TRUNC != 0
	typ := st.mode & unix.S_IFMT
	if flags&oTmpfile != 0 {
		// An unnamed file in the directory path names.
		switch {
		case !st.exists:
			return syscall.ENOENT
		case typ != unix.S_IFDIR:
			return syscall.ENOTDIR
		}
		return syscall.EROFS
	}
	switch {
	case creat && slash:
		return syscall.EISDIR
	case !st.exists && creat:
		return syscall.EROFS
	case !st.exists:
		return syscall.ENOENT
	case creat && flags&unix.O_EXCL != 0:
		return syscall.EEXIST
	case typ == unix.S_IFLNK:
		return syscall.ELOOP // O_NOFOLLOW; the tracer followed the others
	case typ == unix.S_IFDIR:
		if creat || write || trunc {
			return syscall.EISDIR
		}
		return 0
	case flags&unix.O_DIRECTORY != 0 || slash:
		return syscall.ENOTDIR
	case trunc && typ == unix.S_IFREG:
		return syscall.EROFS
	case write:
		mode := uint32(unix.W_OK)
		if flags&unix.O_ACCMODE != unix.O_WRONLY {
			mode |= unix.R_OK
		}
		if e := canAccess(path, mode); e != 0 {
			return e
		}
		return syscall.EROFS
	}
	return 0
}

// accessErrno is faccessat's answer on a read-only mount: the permission
// check, then EROFS for W_OK on anything but a device, FIFO or socket.
func accessErrno(path string, mode uint32, flags int) syscall.Errno {
	if e := errnoOrZero(unix.Faccessat(unix.AT_FDCWD, path, mode, flags)); e != 0 {
		return e
	}
	var st unix.Stat_t
	if unix.Lstat(path, &st) == nil {
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
			return 0
		}
	}
	return syscall.EROFS
}

// truncateErrno is vfs_truncate's order: the file's type, the permission,
// then the mount.
func truncateErrno(st fileState, path string) syscall.Errno {
	switch st.mode & unix.S_IFMT {
	case unix.S_IFDIR:
		return syscall.EISDIR
	case unix.S_IFREG:
	default:
		return syscall.EINVAL
	}
	if e := canAccess(path, unix.W_OK); e != 0 {
		return e
	}
	return syscall.EROFS
}

// mknodValid reports whether the kernel accepts mknod's file type: it
// refuses a directory (EPERM) and unknown types (EINVAL) before anything.
func mknodValid(mode uint32) bool {
	switch mode & unix.S_IFMT {
	case 0, unix.S_IFREG, unix.S_IFCHR, unix.S_IFBLK, unix.S_IFIFO, unix.S_IFSOCK:
		return true
	}
	return false
}

func (t *tracer) isEmptyString(tc *tracee, addr uint64) bool {
	var b [1]byte
	_, err := t.readMem(tc.tid, addr, b[:])
	return err == nil && b[0] == 0
}

// argsValid reports whether the kernel accepts the arguments that it
// checks before the lookup: a call that fails those changes nothing, and
// the kernel gives its own errno.
func (t *tracer) argsValid(tc *tracee, r *regs, spec *sysSpec) bool {
	const atFlags = unix.AT_SYMLINK_NOFOLLOW | unix.AT_EMPTY_PATH
	switch spec.write {
	case wrAttrAt:
		return r.arg(spec.paths[0].flagArg)&^atFlags == 0
	case wrUtimes:
		return t.timevalsValid(tc, r.arg(1))
	case wrFutimesat:
		return t.timevalsValid(tc, r.arg(2))
	case wrUtimensat:
		return r.arg(3)&^atFlags == 0 && t.timespecsChange(tc, r.arg(2))
	case wrTruncate:
		return int64(r.arg(1)) >= 0
	case wrSetxattr:
		return t.xattrValid(tc, r.arg(1), r.arg(3), r.arg(4))
	case wrRemovexattr:
		return t.xattrNameValid(tc, r.arg(1))
	case wrSetxattrat:
		if r.arg(2)&^atFlags != 0 || r.arg(5) < 16 {
			return false
		}
		// struct xattr_args: u64 value, u32 size, u32 flags.
		var b [16]byte
		if _, err := t.readMem(tc.tid, r.arg(4), b[:]); err != nil {
			return false
		}
		return t.xattrValid(tc, r.arg(3), uint64(binary.NativeEndian.Uint32(b[8:])), uint64(binary.NativeEndian.Uint32(b[12:])))
	case wrRemovexattrat:
		return r.arg(2)&^atFlags == 0 && t.xattrNameValid(tc, r.arg(3))
	}
	return true
}

func (t *tracer) xattrValid(tc *tracee, name, size, flags uint64) bool {
	return flags&^(unix.XATTR_CREATE|unix.XATTR_REPLACE) == 0 && size <= xattrSizeMax && t.xattrNameValid(tc, name)
}

// xattrNameValid: an empty name or one longer than XATTR_NAME_MAX is
// ERANGE, an unreadable one EFAULT.
func (t *tracer) xattrNameValid(tc *tracee, addr uint64) bool {
	name, err := t.readString(tc.tid, addr)
	return err == nil && name != "" && len(name) <= xattrNameMax
}

// timevalsValid checks utimes' microseconds, as the kernel does first.
func (t *tracer) timevalsValid(tc *tracee, addr uint64) bool {
	if addr == 0 {
		return true
	}
	var b [32]byte // struct timeval[2]: 64-bit seconds and microseconds
	if _, err := t.readMem(tc.tid, addr, b[:]); err != nil {
		return false
	}
	for _, off := range []int{8, 24} {
		if us := int64(binary.NativeEndian.Uint64(b[off:])); us < 0 || us >= 1000000 {
			return false
		}
	}
	return true
}

// timespecsChange checks utimensat's nanoseconds, as the kernel does
// first, and reports false also when both are UTIME_OMIT: such a call
// changes nothing, and succeeds on a read-only mount.
func (t *tracer) timespecsChange(tc *tracee, addr uint64) bool {
	if addr == 0 {
		return true
	}
	var b [32]byte
	if _, err := t.readMem(tc.tid, addr, b[:]); err != nil {
		return false
	}
	omit := 0
	for _, off := range []int{8, 24} {
		ns := int64(binary.NativeEndian.Uint64(b[off:]))
		switch {
		case ns == unix.UTIME_OMIT:
			omit++
		case ns == unix.UTIME_NOW:
		case ns < 0 || ns > 999999999:
			return false
		}
	}
	return omit < 2
}

// linkReadOnly is link's order: the old name must exist; then the new one
// is made (EEXIST, or EROFS in the store); then both must be on one mount
// (EXDEV).
func (t *tracer) linkReadOnly(r *regs, spec *sysSpec, old, nw *target) syscall.Errno {
	follow := false
	if spec.paths[0].follow == followAtFollow {
		flags := r.arg(spec.paths[0].flagArg)
		if flags&^(unix.AT_SYMLINK_FOLLOW|unix.AT_EMPTY_PATH) != 0 {
			return 0 // EINVAL
		}
		follow = flags&unix.AT_SYMLINK_FOLLOW != 0
	}
	if old.skip && !old.empty || nw.skip || nw.host() == "" {
		return 0
	}
	from, to := t.object(old), t.entry(nw)
	if from == "" && to == "" {
		return 0
	}
	if !old.empty { // else AT_EMPTY_PATH: the descriptor's file
		if old.host() == "" {
			return 0
		}
		// The tracer has followed the store's links itself.
		st := probe(old.host(), follow && from == "")
		switch {
		case st.err != 0:
			return st.err
		case !st.exists:
			return syscall.ENOENT
		}
	}
	if isDot(lastName(nw.given)) {
		return syscall.EEXIST
	}
	// createErrno's EROFS here means that the new name could be made.
	if e := createErrno(probe(nw.host(), false), false, nw.slash(), syscall.EEXIST); e != syscall.EROFS || to != "" {
		return e
	}
	if from != to {
		return syscall.EXDEV
	}
	return 0
}

// renameReadOnly is rename's order: both directories, then one mount
// (EXDEV), then the names (. and ..), then the mount's EROFS.
func (t *tracer) renameReadOnly(flags uint64, old, nw *target) syscall.Errno {
	const known = unix.RENAME_NOREPLACE | unix.RENAME_EXCHANGE | unix.RENAME_WHITEOUT
	if flags&^known != 0 || flags&unix.RENAME_EXCHANGE != 0 && flags&(unix.RENAME_NOREPLACE|unix.RENAME_WHITEOUT) != 0 {
		return 0 // EINVAL
	}
	if old.skip || nw.skip || old.empty || nw.empty {
		return 0
	}
	from, to := t.entry(old), t.entry(nw)
	busy := t.storeDir(old) || t.storeDir(nw)
	if from == "" && to == "" && !busy {
		return 0
	}
	for _, x := range []*target{old, nw} {
		dir := parentDir(trimSlashes(x.host()))
		if isDot(lastName(x.given)) {
			dir = x.host()
		}
		if st := probeDir(dir); st.err != 0 {
			return st.err
		}
	}
	switch {
	case t.storeDir(old):
		return storeDirErrno(old)
	case t.storeDir(nw):
		return storeDirErrno(nw)
	case from != to:
		return syscall.EXDEV
	case isDot(lastName(old.given)):
		return syscall.EBUSY
	case isDot(lastName(nw.given)) && flags&unix.RENAME_NOREPLACE != 0:
		return syscall.EEXIST
	case isDot(lastName(nw.given)):
		return syscall.EBUSY
	}
	return syscall.EROFS
}

// storeDirErrno answers the removal of a store directory itself, or its
// rename, as the kernel does for a mount point: the permission to change
// its parent (EACCES), then EBUSY. Its parent is a host directory, or one
// that only the program's view has (ENOENT here: then EBUSY).
func storeDirErrno(x *target) syscall.Errno {
	if e := canAccess(parentDir(trimSlashes(x.view)), unix.W_OK|unix.X_OK); e != 0 && e != syscall.ENOENT {
		return e
	}
	return syscall.EBUSY
}

// bindReadOnly answers bind of an AF_UNIX socket to a name in the store:
// like mknod, but a name that exists is EADDRINUSE.
func (t *tracer) bindReadOnly(x *target) syscall.Errno {
	if t.entry(x) == "" {
		return 0
	}
	return createErrno(probe(x.host(), false), false, x.slash(), syscall.EADDRINUSE)
}

// emptyReadOnly answers a call whose path is empty or NULL, so that it acts
// on its directory descriptor: utimensat(fd, NULL) is futimens, and an
// empty path with AT_EMPTY_PATH names the descriptor's file, even an
// O_PATH one.
func (t *tracer) emptyReadOnly(tc *tracee, r *regs, spec *sysSpec, x *target) syscall.Errno {
	ps := spec.paths[len(spec.paths)-1]
	null := r.arg(ps.arg) == 0
	switch {
	case null && spec.write == wrUtimensat && x.dirfd != unix.AT_FDCWD:
		// futimens: the descriptor must not be O_PATH (EBADF).
		if !t.argsValid(tc, r, spec) {
			return 0
		}
		if _, ok := t.fdStore(tc, x.dirfd, true); !ok {
			return 0
		}
		return syscall.EROFS
	case null:
		return 0 // EFAULT
	}
	if ps.follow != followAtFlag || r.arg(ps.flagArg)&unix.AT_EMPTY_PATH == 0 {
		return 0 // ENOENT
	}
	if !t.argsValid(tc, r, spec) {
		return 0
	}
	real, ok := t.fdStore(tc, x.dirfd, false)
	if !ok {
		return 0
	}
	switch spec.write {
	case wrFaccessat:
		flags := int(r.arg(ps.flagArg)) &^ unix.AT_EMPTY_PATH
		return accessErrno(real, uint32(r.arg(2)), flags|unix.AT_SYMLINK_NOFOLLOW)
	case wrAttrAt, wrUtimensat, wrSetxattrat, wrRemovexattrat:
		return syscall.EROFS
	}
	return 0
}

// beneathReadOnly answers openat2 with RESOLVE_BENEATH or RESOLVE_IN_ROOT,
// which the kernel resolves from the real directory descriptor: a lookup
// that cannot leave it stays in the store if the directory is there.
func (t *tracer) beneathReadOnly(tc *tracee, r *regs, spec *sysSpec, x *target) syscall.Errno {
	if x.given == "" {
		return 0
	}
	dir, ok := t.fdStore(tc, x.dirfd, false)
	if !ok {
		return 0
	}
	flags, _ := t.openFlags(tc, r, spec.paths[0])
	p := joinPath(dir, strings.TrimLeft(x.given, "/"))
	return openErrno(probe(p, false), flags, x.slash(), p)
}

// fdReadOnly answers fchmod, fchown, fsetxattr and fremovexattr on a
// descriptor of a file in the store.
func (t *tracer) fdReadOnly(tc *tracee, r *regs, kind writeKind) syscall.Errno {
	switch kind {
	case wrFsetxattr:
		if !t.xattrValid(tc, r.arg(1), r.arg(3), r.arg(4)) {
			return 0
		}
	case wrFremovexattr:
		if !t.xattrNameValid(tc, r.arg(1)) {
			return 0
		}
	}
	if _, ok := t.fdStore(tc, int(int32(r.arg(0))), true); !ok {
		return 0
	}
	return syscall.EROFS
}

// fdStore returns the real path of the file that the tracee's descriptor
// fd (or its working directory, for AT_FDCWD) names, if it is in a pack's
// store. With noPath, a descriptor opened with O_PATH does not count: the
// kernel refuses it (EBADF) to the calls that need an open file.
func (t *tracer) fdStore(tc *tracee, fd int, noPath bool) (string, bool) {
	link := "/proc/" + strconv.Itoa(tc.tid) + "/cwd"
	if fd != unix.AT_FDCWD {
		if fd < 0 {
			return "", false
		}
		link = "/proc/" + strconv.Itoa(tc.tid) + "/fd/" + strconv.Itoa(fd)
	}
	real, err := os.Readlink(link)
	if err != nil || !strings.HasPrefix(real, "/") || !t.tr.inRealStore(real) {
		return "", false
	}
	if noPath && fd != unix.AT_FDCWD {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(tc.tid) + "/fdinfo/" + strconv.Itoa(fd))
		if err != nil {
			return "", false
		}
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "flags:"); ok {
				if f, err := strconv.ParseUint(strings.TrimSpace(v), 8, 64); err == nil && f&unix.O_PATH != 0 {
					return "", false
				}
			}
		}
	}
	return real, true
}
