// Command gpack-launcher is the launcher that relocatable packs carry as
// .gpack/launcher, hard-linked as bin/<name> for each program. It finds the
// pack from its own path and runs the store program it stands for, making the
// pack's store appear at its original path when the host lacks it. All logic
// lives in package launcher; see launcher/README.md.
package main

import (
	"os"

	"github.com/gpack/gpack/launcher"
)

func main() {
	os.Exit(launcher.Main())
}
