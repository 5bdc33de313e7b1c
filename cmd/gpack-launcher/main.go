// Command gpack-launcher is the launcher that relocatable packs carry as
// .gpack/launcher, hard-linked as bin/<name> for each program. It finds the
// pack from its own path and runs the store program it stands for, making the
// pack's store appear at its original path when the host lacks it. All logic
// lives in package launcher; see launcher/README.md.
//
// Built with the appimage tag it is the runtime of gpack's AppImages
// instead (launcher/appimage, run_appimage.go): the same entry point and
// start state, and the squashfs reader on top, which the small launcher
// of -R tarballs does without.
//
// The process starts in _gpack_launcher_entry (entry_amd64.s,
// entry_arm64.s; the linker's -E), which records what the program must
// inherit before the Go runtime changes it: the signal mask, the ignored
// signals and the closed standard descriptors.
//
// The runtime's container-aware GOMAXPROCS is off (the go:debug lines): it
// reads the cgroup files at start and keeps two of them open for the life
// of the process to follow changes, descriptors the launcher cannot spare
// under a low ulimit -n, for a setting it does not need (the tracer is one
// thread, and the program starts with its own runtime).
//
//go:debug containermaxprocs=0
//go:debug updatemaxprocs=0
package main

import (
	"os"

	"github.com/gpack/gpack/launcher"
)

// Written by _gpack_launcher_entry before the runtime starts: the signal
// mask, the signals ignored (bit n-1 for signal n), the closed descriptors
// among 0-2 (bit fd), and 1 once it has run. A build without -E leaves
// them zero.
var (
	startMask     uint64
	startIgnored  uint64
	startClosed   uint64
	startCaptured uint32
	// The soft and hard RLIMIT_NOFILE and RLIMIT_AS at start, and which of
	// the two soft limits the entry point raised to the hard one (bit 0,
	// bit 1) for the runtime's sake.
	startNofile [2]uint64
	startAS     [2]uint64
	startRaised uint64
)

// minAddressSpace is the address-space limit (ulimit -v) below which the
// entry point raises the soft limit, or, when the hard limit forbids it,
// stops with one line (entryASMsg, asMsgLen bytes) rather than let the Go
// runtime die while it reserves its heap: the runtime needs some 705 MiB of
// address space to start on amd64 (measured: 700000 KiB fails, 710000 KiB
// works).
const (
	minAddressSpace = 720 << 20
	asMsgLen        = 252
)

func main() {
	os.Exit(run(launcher.StartState{
		Captured: startCaptured == 1,
		Mask:     startMask,
		Ignored:  startIgnored,
		Closed:   startClosed,
		Nofile:   startNofile,
		AS:       startAS,
		Raised:   startRaised,
	}))
}
