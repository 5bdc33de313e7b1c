//go:build appimage

package main

import (
	"github.com/gpack/gpack/launcher"
	"github.com/gpack/gpack/launcher/appimage"
)

// run is the runtime of AppImages.
func run(st launcher.StartState) int { return appimage.Main(st) }
