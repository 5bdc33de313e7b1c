// Package target runs commands on "the target machine" of gpack's tests: a
// private mount namespace in which the store directory is hidden under an
// empty tmpfs, as an unprivileged user. It uses util-linux's unshare and
// setpriv, so the test process itself (root) changes nothing on the host.
package target

import (
	"os/exec"
	"strconv"
)

// Nobody is the unprivileged user the tests run packs as.
const Nobody = 65534

// Command returns a command that runs argv in dir as uid (and gid) in a new
// mount namespace where store, when not empty, is covered by an empty tmpfs.
// The process chain execs all the way down, so the command's pid is the
// program's: signals sent to it reach argv[0] itself.
func Command(store string, uid int, dir string, argv ...string) *exec.Cmd {
	script := `set -e
if [ -n "$0" ]; then mount -t tmpfs -o mode=0755,size=64k gpack-hides-the-store "$0"; fi
cd "$1"; u=$2; shift 2
exec setpriv --reuid="$u" --regid="$u" --clear-groups -- "$@"`
	args := append([]string{"--mount", "--propagation", "private", "--", "sh", "-c", script, store, dir, strconv.Itoa(uid)}, argv...)
	return exec.Command("unshare", args...)
}
