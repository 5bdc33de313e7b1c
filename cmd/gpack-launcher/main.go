// Command gpack-launcher is the launcher that relocatable packs carry as
// .gpack/launcher, hard-linked as bin/<name> for each program. It finds the
// pack from its own path and runs the store program it stands for, making the
// pack's store appear at its original path when the host lacks it. All logic
// lives in package launcher; see launcher/README.md.
//
// The process starts in _gpack_launcher_entry (entry_amd64.s,
// entry_arm64.s; the linker's -E), which records what the program must
// inherit before the Go runtime changes it: the signal mask, the ignored
// signals and the closed standard descriptors.
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
)

func main() {
	os.Exit(launcher.Main(launcher.StartState{
		Captured: startCaptured == 1,
		Mask:     startMask,
		Ignored:  startIgnored,
		Closed:   startClosed,
	}))
}
