package main

import (
	"strings"

	"github.com/gpack/gpack/pack"
	"github.com/gpack/gpack/runner"
	"github.com/gpack/gpack/runner/launcherbin"
)

// relocatable fills in what -R needs: the embedded launcher, its manifest
// and where they go in the pack. It is the one place of gpack pack that
// names the launcher's packages, so that the launcher's contract can move
// without touching the rest.
func relocatable(o *pack.Options) {
	o.Relocatable = true
	o.Launcher = launcherbin.Binary
	o.Manifest = manifestBytes
	o.LauncherPath = runner.LauncherPath
	o.ManifestPath = runner.ManifestPath
	o.RootDir = runner.RootDir
}

// manifestBytes renders the launcher's manifest: which store program each
// wrapper name runs.
func manifestBytes(store string, programs map[string]string) ([]byte, error) {
	var b strings.Builder
	m := &runner.Manifest{Store: store, Programs: programs}
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
