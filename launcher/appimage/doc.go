// Package appimage is the runtime of gpack's AppImages: cmd/gpack-launcher
// built with the appimage tag, written by gpack pack -f appimage in front
// of a squashfs image of a -R pack tree (formats/appimage). It reads its
// own file and runs one of the pack's programs, the fastest way the host
// allows, through the launcher's engines.
//
// # Which program
//
// A link to the AppImage named after one of the pack's programs runs that
// program (busybox style); "--gpack-run NAME ARG..." runs NAME; otherwise
// the entry point, the wrapper that the image's AppRun link names. The
// other --appimage-* and --gpack-* first arguments are commands (Main's
// help lists them); unknown ones go to the program, as the AppImage
// runtime does.
//
// # How
//
// An entry of the extraction cache (3 below) that is there already comes
// first: it runs at native speed, and using it writes nothing.
//
//  1. Over a FUSE mount shared by the user's runs of the image in one
//     mount namespace (share.go): a server, the runtime started again in
//     a session of its own, mounts the image as in 2 and keeps the
//     namespaces; each run enters them (engine.Job.Join), where the
//     kernel's caches hold what earlier runs read. The server ends
//     GPACK_APPIMAGE_LINGER seconds (default 15) after the last run.
//
//  2. Over FUSE for the run alone, where user namespaces work: launcher.RunFUSE gives the
//     userns engine a Job whose FUSE is set. The engine's child mounts
//     /dev/fuse in the program's own namespaces, on an empty directory of
//     $TMPDIR, and hands the descriptor back; this process serves it
//     (fusefs.go: go-fuse's raw API over formats/squashfs's reader, node
//     ids the image's inode numbers, everything cached by the kernel for
//     an hour since the image never changes). Nothing is extracted, and
//     the directory stays empty on the host. The store visible at its
//     path runs the program in place instead, as bin/<name> does.
//
//  3. From the extraction cache, where FUSE cannot be had, or when
//     APPIMAGE_EXTRACT_AND_RUN is set (or GPACK_ENGINE names an engine
//     other than userns): $XDG_CACHE_HOME/gpack/<digest>, made once,
//     after the image has been checked against the trailer's digest, in a
//     temporary directory renamed into place (cache.go), so that two first
//     runs at once both work and leave one entry. launcher.RunPack runs
//     the extracted -R pack through the usual engines: userns, then
//     relocate (the user owns the entry; user namespaces off), then ptrace.
//
//  4. The last resorts (lastresort.go), where the cache cannot be
//     written either (an unwritableError: no room, no right, no cache
//     directory): the image mounted by the setuid fusermount3 or
//     fusermount on a directory of $TMPDIR, served by this process, and
//     the program run from it with ptrace (a read-only mount cannot be
//     relocated); without fusermount, an extraction into $TMPDIR for this
//     run alone, run with ptrace and removed after. --appimage-mount uses
//     the same fusermount mount.
//
// A truncated file fails on its trailer, a damaged image when it is
// checked or read, each with one line naming the file and exit 126; while
// serving FUSE, a read error gives the program EIO and the user one line.
//
// The program's environment gets APPIMAGE, APPDIR, ARGV0 and OWD, as the
// AppImage specification sets them.
package appimage
