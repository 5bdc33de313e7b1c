//go:build !appimage

package main

import "github.com/gpack/gpack/launcher"

// run is the launcher of -R packs.
func run(st launcher.StartState) int { return launcher.Main(st) }
