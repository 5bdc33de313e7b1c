package main

import (
	"strings"

	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/launcher/launcherbin"
	"github.com/gpack/gpack/pack"
)

// relocatable fills in what -R needs: the embedded launchers (pack.Build
// picks the one of the programs' architecture), the manifest and where they
// go in the pack. It is the one place of gpack pack that names the
// launcher's packages.
func relocatable(o *pack.Options) {
	o.Relocatable = true
	o.Launcher = launcherbin.Binary
	o.Manifest = manifestBytes
	o.LauncherPath = contract.LauncherPath
	o.ManifestPath = contract.ManifestPath
	o.RootDir = contract.RootDir
	o.EntryPath = contract.EntryPath
	o.EntryLink = contract.EntryLink
}

// manifestBytes renders the launcher's manifest: which store program each
// wrapper name runs, and the entry point ./run runs.
func manifestBytes(in pack.ManifestInput) ([]byte, error) {
	var b strings.Builder
	m := &contract.Manifest{Store: in.Store, Programs: in.Programs, Entry: in.Entry}
	for _, v := range in.Env {
		m.Env = append(m.Env, contract.EnvVar{Name: v.Name, Value: v.Value, Prefix: v.Prefix})
	}
	if _, err := m.WriteTo(&b); err != nil {
		return nil, err
	}
	return []byte(b.String()), nil
}
