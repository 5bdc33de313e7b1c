// Package launcherbin holds the launcher binaries (cmd/gpack-launcher) that
// gpack writes into relocatable packs as .gpack/launcher, one per
// architecture. They are embedded, not built at pack time, so that a plain
// `go build ./cmd/gpack` or `go install` gives a complete gpack that packs
// for every architecture it knows, and every pack gets the same reviewed
// bytes.
//
// The binaries are committed next to this file together with
// gpack-launcher.sha256, the hashes of the sources they were built from; a
// test fails when those sources change without a rebuild. To rebuild, run
// launcher/launcherbin/build.sh (or go generate ./launcher/launcherbin).
package launcherbin

import (
	"crypto/sha256"
	_ "embed" // for go:embed
	"encoding/hex"
	"errors"
	"slices"
	"strings"
)

//go:generate bash build.sh

//go:embed gpack-launcher-amd64
var amd64 []byte

//go:embed gpack-launcher-arm64
var arm64 []byte

//go:embed gpack-launcher.sha256
var sources string

//go:embed gpack-appimage-runtime-amd64
var runtimeAmd64 []byte

//go:embed gpack-appimage-runtime-arm64
var runtimeArm64 []byte

//go:embed gpack-appimage-runtime.sha256
var runtimeSources string

// runtimes maps a GOARCH name to its AppImage runtime.
var runtimes = map[string][]byte{"amd64": runtimeAmd64, "arm64": runtimeArm64}

// AppImageRuntime returns the runtime of AppImages for arch (a GOARCH
// name): cmd/gpack-launcher built with the appimage tag, which adds the
// squashfs reader to the launcher, so that -R tarballs keep the small
// one. It fails, in words for the user, for an architecture gpack has no
// runtime for.
func AppImageRuntime(arch string) ([]byte, error) {
	b, ok := runtimes[arch]
	if !ok {
		return nil, errors.New("gpack has no AppImage runtime for " + arch + " (it has " + strings.Join(Arches(), ", ") + ")")
	}
	return b, nil
}

// RuntimeVersion is what Version is for the AppImage runtime.
var RuntimeVersion = func() string {
	sum := sha256.Sum256([]byte(runtimeSources))
	return "src-" + hex.EncodeToString(sum[:])[:12]
}()

// binaries maps a GOARCH name to its launcher.
var binaries = map[string][]byte{"amd64": amd64, "arm64": arm64}

// Arches returns the architectures gpack has a launcher for, as GOARCH
// names, sorted.
func Arches() []string {
	var a []string
	for k := range binaries {
		a = append(a, k)
	}
	slices.Sort(a)
	return a
}

// Binary returns the static linux launcher executable for arch, a GOARCH
// name ("amd64", "arm64"). It fails, in words for the user, for an
// architecture gpack has no launcher for.
func Binary(arch string) ([]byte, error) {
	b, ok := binaries[arch]
	if !ok {
		return nil, errors.New("gpack has no launcher for " + arch + " (it has " + strings.Join(Arches(), ", ") +
			"): pack without -R, and run the pack extracted at /")
	}
	return b, nil
}

// Version is what the embedded launchers print for .gpack/launcher
// --version: "src-" and the first 12 hex digits of the SHA-256 of
// gpack-launcher.sha256, as build.sh computes it.
var Version = func() string {
	sum := sha256.Sum256([]byte(sources))
	return "src-" + hex.EncodeToString(sum[:])[:12]
}()
