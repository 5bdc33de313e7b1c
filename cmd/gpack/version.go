package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/gpack/gpack/launcher/launcherbin"
)

// versionText is what gpack version and gpack --version print: gpack's own
// version (the module's, or the commit it was built from) and the version
// of the launchers it embeds, which every -R pack carries and which
// `.gpack/launcher --version` prints in a pack.
func versionText() string {
	v := "(devel)"
	var rev, modified string
	if bi, ok := debug.ReadBuildInfo(); ok {
		if bi.Main.Version != "" {
			v = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if rev != "" {
		v += " (commit " + rev + modified + ")"
	}
	return fmt.Sprintf("gpack %s, %s %s/%s\nlauncher %s, for linux/%s\n", v, runtime.Version(), runtime.GOOS, runtime.GOARCH,
		launcherbin.Version, strings.Join(launcherbin.Arches(), ", linux/"))
}

func newVersionCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print gpack's version and that of the launcher it embeds",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprint(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}
