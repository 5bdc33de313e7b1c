package runner

// The protocol between the launcher and the copy of itself that it starts in
// new namespaces ("stage 2"). Both ends are the same binary, so it need not be
// stable across versions.
const (
	// stageVar marks stage 2 in its environment. Stage 2 removes it before
	// it execs the program, and the first stage strips any stray copy, so
	// programs never see it.
	stageVar   = "GPACK_LAUNCHER_STAGE"
	stageValue = "2"
	// stage2Arg0 is stage 2's argv[0]; its arguments follow as the
	// report descriptor, root, store, program, new root, then the
	// program's argv. The report descriptor is stage 2's end of the report
	// pipe, placed above the descriptors the user passed: close-on-exec
	// there, so a successful exec of the program closes it unwritten.
	stage2Arg0 = "gpack-launcher-stage2"
	stage2Args = 6
	// Report lines: "setup\t<message>" when stage 2 could not build the
	// new root (the next engine may work), "exec\t<errno>" when execve of
	// the program failed inside it (no engine would help).
	reportSetup = "setup"
	reportExec  = "exec"
)

// stage2Plan is what stage 2 needs, decoded from its arguments.
type stage2Plan struct {
	reportFD                      int
	root, store, program, newRoot string
	args, env                     []string
	debug                         func(msg ...string)
}
