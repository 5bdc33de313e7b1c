// Package contract is what a relocatable pack and its launcher agree on: the
// paths inside an unpacked pack and the manifest that names the programs.
// The pack writer (package pack, cmd/gpack) fills them in; the launcher reads
// them at run time. Nothing else ties the two together, so this package
// depends on nothing but the standard library, and both sides import it.
//
// An unpacked pack directory ROOT, wherever it was extracted, holds the
// store items at ROOT/<store directory> (ROOT/nix/store/…), the launcher
// binary at [LauncherPath], one hard link to it per program at
// ROOT/bin/<name>, an empty directory at [RootDir], and the [Manifest] at
// [ManifestPath].
//
// The kernel names the file it executed in /proc/self/exe. Because each
// wrapper is a hard link and not a symlink, that is ROOT/bin/<name>, so the
// launcher knows both the pack root and which program it stands for without
// any configuration, wherever the pack was extracted.
package contract

// Paths inside an unpacked pack, relative to its root. The pack writer
// creates them and the launcher finds them from its own location.
const (
	// ManifestPath is the manifest that maps wrapper names to store programs.
	ManifestPath = ".gpack/manifest"
	// LauncherPath is the launcher binary (mode 0555); every ROOT/bin/<name>
	// is a hard link to it.
	LauncherPath = ".gpack/launcher"
	// RootDir is an empty directory that the userns engine mounts its new
	// root on, so that running a program creates nothing on the host. The
	// launcher falls back to a directory under $TMPDIR when it is missing.
	RootDir = ".gpack/root"
	// EntryPath is, in a pack with an entry point, one more hard link to
	// the launcher, which runs the manifest's Entry (its program with its
	// arguments, then the caller's); EntryLink, ROOT/run, is a symlink to
	// it, so that ./run starts the entry point and the kernel still names
	// ROOT/.gpack/run in /proc/self/exe.
	EntryPath = ".gpack/run"
	EntryLink = "run"
)
