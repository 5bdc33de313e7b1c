// Package target runs commands on "the target machine" of gpack's tests: a
// private mount namespace in which the store directory is hidden under an
// empty tmpfs, as an unprivileged user. It uses util-linux's unshare and
// setpriv, so the test process itself (root) changes nothing on the host.
package target

import (
	"os/exec"
	"strconv"
	"syscall"
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

// CommandUsernsOff is Command on a target machine where unprivileged user
// namespaces are off: the chain runs in a user namespace of its own (ids
// 0–65535 mapped to themselves, so root and the test user keep their
// identity) whose user.max_user_namespaces is 0. The kernel checks that
// limit in every ancestor namespace, so nothing below can create a user
// namespace, exactly as under the machine-wide sysctl, while the rest of
// the machine is unaffected.
func CommandUsernsOff(store string, uid int, dir string, argv ...string) *exec.Cmd {
	cmd := Command(store, uid, dir, argv...)
	cmd.Args = append([]string{"sh", "-c", `echo 0 > /proc/sys/user/max_user_namespaces && exec "$@"`, "sh"}, cmd.Args...)
	cmd.Path = "/bin/sh"
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Cloneflags:                 syscall.CLONE_NEWUSER,
		UidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappings:                []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 65536}},
		GidMappingsEnableSetgroups: true, // setpriv --clear-groups
	}
	return cmd
}
