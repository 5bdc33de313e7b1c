// Package relocate is the launcher's engine that runs programs at native
// speed where user namespaces are off: it rewrites the pack's store
// references once, in place, and then runs the program with no namespace
// and no tracing.
//
// # The idea
//
// Every reference from one store item to another is <store>/<hash>-<name>.
// The first run replaces the store part of every such reference in the
// unpacked pack, byte for byte at equal length, by a prefix P that the
// launcher controls, and P is a symlink to ROOT/<store>. /nix/store (10
// bytes) becomes /tmp/g7k2q; a longer store directory gets a longer name and
// slashes to pad it (/tmp/abcdefghijkl/////, the same directory). Offsets do
// not move, so ELF interpreters, RUNPATHs, shebangs, strings compiled into
// binaries (static Go ones too), scripts and configuration files all stay
// valid, and the kernel, the dynamic loader and the program resolve P
// through the link as any path. Only references to the pack's own items are
// rewritten ([Scanner]: <store>/ followed by the hash of an item of the
// pack), in file contents and symlink targets, the places the closure
// scanner reads.
//
// # The prefix and its link
//
// P lies in /tmp, which is on every node and per node on a cluster, and is
// sticky: only the owner of a name there may remove or rename it. Its name
// comes from the user's id and the pack's items ([Prefix]), so two users
// or two packs never meet. Every run makes sure that P is a symlink owned
// by the user that leads to this pack's store, creating it where it is
// missing (a node's first run) and pointing it here when the pack moved.
// Any other file at P (another user's link, a regular file) is refused and
// never followed: the launcher falls back to the ptrace engine, which then
// resolves P itself (engine.Job.Prefix) rather than let the kernel follow
// someone else's link. P's times are renewed every hour while the program
// runs, so that /tmp cleaners leave it.
//
// # The first run
//
// The rewrite happens under a lock made with mkdir in .gpack/relocate
// (atomic on NFS, where flock may not be), whose owner file's mtime is the
// holder's heartbeat; other launchers wait for the state to say the
// relocation is complete. A lock whose holder is gone (a dead pid of this
// host, or a heartbeat that has not moved for a minute by the waiter's
// clock, for another host) is taken over. A holder that finds its lock
// taken stops before its next file.
//
// Files are rewritten in place with pwrite at the offsets found, which is
// idempotent: a crash leaves some references rewritten and the next run
// rewrites the rest. Before a file, symlink or directory changes, its mode
// and times go to a journal, written without buffering, which survives a
// SIGKILL; the next run puts them back before it goes on, so that no file
// stays writable or with a new mtime. A symlink is made anew beside the
// old one and renamed over it, never removed first. Files keep their mode
// and mtime; reading them may change their atime, as cat would.
//
// .gpack/relocate/state records the prefix, the store, the root the pack
// was last run from and whether the rewrite is complete. It is written,
// incomplete, before the first file changes: from then on the pack's files
// name P, and every engine reaches them through its link (the launcher
// makes sure of the link whatever the engine, and tries this engine first).
//
// # Limits
//
//   - The pack must be the user's to write: a pack of another user's, or
//     on a read-only file system, runs under the ptrace engine instead.
//   - References hidden in compressed data (gzip'ed man pages, .jar files)
//     are out of reach of any rewrite, as they are of Nix's scanner; a
//     program that reads a store path out of such data finds nothing at
//     the store path.
//   - The store directory named alone (without an item's hash), and store
//     paths that the user types on a command line, are not rewritten: they
//     are missing on the host, as without the launcher.
//   - Programs see the pack's real path wherever the kernel resolves the
//     link for them: getcwd after a cd into the store, realpath,
//     /proc/self/exe.
//   - The link is per node, in /tmp: a node whose /tmp is wiped while a
//     program runs loses it until the next run of the pack there.
package relocate
