// Package launcherbin holds the launcher binary (cmd/gpack-launcher) that
// gpack writes into relocatable packs as .gpack/launcher. It is embedded, not
// built at pack time, so that a plain `go build ./cmd/gpack` or `go install`
// gives a complete gpack, and every pack gets the same reviewed bytes.
//
// The binary is committed next to this file together with
// gpack-launcher.sha256, the hashes of the sources it was built from; a test
// fails when those sources change without a rebuild. To rebuild, run
// launcher/launcherbin/build.sh (or go generate ./launcher/launcherbin).
package launcherbin

import _ "embed" // for go:embed

//go:generate bash build.sh

// Binary is the static linux/amd64 launcher executable.
//
//go:embed gpack-launcher
var Binary []byte
