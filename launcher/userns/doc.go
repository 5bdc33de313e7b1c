// Package userns is the launcher's engine for hosts that grant unprivileged
// user namespaces: the program runs at native speed in new user and mount
// namespaces whose root is the host's / with the pack's store bound at the
// store path.
//
// The child of package proc's raw clone(CLONE_NEWUSER|CLONE_NEWNS|SIGCHLD)
// does the whole setup with raw system calls and then execs the program; the
// parent plans every step beforehand (plan_linux.go), inspecting the host
// (which directories exist, what they hold, the flags of the pack's mount),
// since the child can only run the plan. GPACK_DEBUG lines call the child
// "stage 2", as it was when it was a second copy of the launcher.
//
// # Identity and capabilities
//
// A process that has just created a user namespace holds every capability in
// it and may map its own effective ids, so the child writes "deny" to
// /proc/self/setgroups, then uid → uid and gid → gid (size 1) to its own maps:
// no round trip with the parent. The program sees the user's own ids, and its
// files belong to the user on the host; other users' files show as the
// overflow id, and set-user-ID programs gain nothing. execve as a non-zero
// uid drops the namespace's capabilities, and the child clears the ambient
// set first, so the program starts with none.
//
// # The new root
//
//  1. mount --make-rprivate /, so nothing reaches the host's mount table.
//  2. A tmpfs on ROOT/.gpack/root (the empty directory the pack ships, so
//     nothing is created on the host), made unbindable so that the recursive
//     binds below, which usually contain the pack itself, do not copy the new
//     root into itself. A pack without it gets a directory under $TMPDIR,
//     removed when the program ends.
//  3. The host's / on it, in one of two ways. Where the host has the store
//     directory (every component a real directory: empty, or a store of its
//     own), / is bound whole and only the store is covered. Where it lacks
//     it, every entry of each directory along the store path is mirrored: a
//     directory is bound onto an empty directory, a file onto an empty file,
//     a symlink copied, except the next component, which becomes a directory
//     of the tmpfs (with the host's mode once done: 1777 for /tmp).
//  4. ROOT/<store> bound at <store>, and remounted read-only with the flags
//     the kernel locks (nosuid, nodev, noexec, the atime mode) kept.
//  5. pivot_root into the new root and a lazy unmount of the old one. Not
//     chroot: the kernel refuses CLONE_NEWUSER to a chrooted process, which
//     would break a program that runs another pack's wrapper. On an initramfs
//     root, where pivot_root cannot work, chroot has to do.
//  6. chdir back to the working directory, else / (a GPACK_DEBUG line).
//  7. execve of the program's store path with the original argv and
//     environment.
//
// # A FUSE file system (the AppImage runtime)
//
// A Job with FUSE set has no pack directory: its tree is a file system the
// launcher serves itself. Right after step 1 the child opens /dev/fuse at
// a descriptor number the parent holds for it (the kernel takes only a
// descriptor opened in the mount's own user namespace, so the parent
// cannot open it), mounts it read-only, with default_permissions and the
// user's ids, on Job.Root (an empty directory of the host's), and sends
// the descriptor to the parent over a socketpair (SCM_RIGHTS). The parent
// receives it and calls FUSE.Serve, which answers the kernel's INIT; the
// child's binds below then see the tree, and the store bound at the store
// path comes from it. A child that fails first closes the socket with
// nothing sent, and its report says which step.
//
// # A host that changes meanwhile
//
// The host goes on changing between the parent's listing of a directory and
// the child's binds: /tmp above all, where compilers and editors create and
// delete files all the time. An entry that has gone by then, or that cannot
// be bound (a stale network mount, a directory the user may not enter, an
// unbindable mount), is left out of the new root with a GPACK_DEBUG line and
// its placeholder removed. Only the entries on the way to the working
// directory and to the pack fail the engine.
//
// # Failures
//
// A failed step is reported on the child's pipe and the launcher moves on to
// the next engine: it never aborts, and never exits 255 for a setup problem.
// Only a refused clone or id map is an engine.UnavailableError ("user
// namespaces are not available", with the sysctls to turn); a first mount
// refused with EPERM (AppArmor confines the namespace) comes with advice on
// AppArmor; any other step names the mount or call and its error.
package userns
