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
// unshare(CLONE_NEWUSER) itself; the launcher starts a second copy of itself
// ("stage 2") in new user and mount namespaces with an identity uid/gid map.
// Stage 2 mounts a tmpfs on [RootDir] and fills it with the host's / (one
// recursive bind when the host has the store directory, else a mirror of
// each directory along the store path), binds the pack's store at the store
// path, makes it the root with pivot_root and execs the program. It reports a
// failure on an inherited close-on-exec pipe, so an empty pipe means the
// program started. The first process stays behind to forward signals and to
// return the program's exit status. README.md describes the mechanism and its
// limits in full.
package runner
