// Package launcher is the launcher that relocatable packs carry
// (cmd/gpack-launcher): it finds the pack from its own path, reads the
// manifest (package contract) and runs the store program the wrapper stands
// for.
//
// If the program already exists at its absolute store path (the pack was
// extracted at /, it runs inside a container built from the pack, or it is a
// nested call from a program the launcher already started), the launcher
// execs it in place. Otherwise it asks each engine of [Engines] in turn, or
// only the one GPACK_ENGINE names, to make the pack's store appear at the
// store path for the program:
//
//   - launcher/userns: unprivileged user and mount namespaces, native speed;
//   - launcher/ptrace: system-call tracing, where user namespaces are off.
//
// RunPack and RunFUSE are the same for the AppImage runtime
// (launcher/appimage), on a pack it extracted or serves over FUSE.
//
// Each engine is a package behind the engine.Engine interface, and the list
// in [Engines] is the only place that names them all. A failed engine is
// silent unless GPACK_DEBUG=1, because the next one may well work; when none
// works the launcher prints one line that says what the host lacks (never
// blaming user namespaces for a failed mount) and what an administrator can
// do, and exits 126.
//
// The launcher binary may use only the standard library, golang.org/x/sys
// and its own packages (depcheck_test.go), and no fmt: every pack carries it.
// README.md describes the contract, the exit codes and the tests.
package launcher
