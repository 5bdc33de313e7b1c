package main

import (
	"strconv"
	"testing"
)

// TestUsernsIdentityDifferences pins the userns engine's known differences
// from the host that launcher/README.md lists, and that the ptrace engine has
// none of. The namespace maps the user's own uid and gid alone, so: chown
// and chgrp to another id, and setresuid and setresgid to one, fail with
// EINVAL (the id has no mapping) where the host says EPERM; other users'
// files (root's) show as the overflow id; and where the host lacks the store
// directory, / is the engine's own tmpfs, the user's. The user is otherUID,
// which is not the overflow id, so the two cannot be mistaken.
func TestUsernsIdentityDifferences(t *testing.T) {
	p := testPack(t)
	const script = `echo x > f
chown 1000 f 2>&1
chgrp 1000 f 2>&1
chown 0 f 2>&1
setpriv --reuid=1000 true 2>&1
setpriv --regid=1000 --keep-groups true 2>&1
setpriv --groups=1000 true 2>&1
stat -c '/: %u:%g' /
stat -c '/etc/passwd: %u:%g' /etc/passwd
rm f
`
	errs := func(e string) string {
		return "chown: changing ownership of 'f': " + e + "\n" +
			"chgrp: changing group of 'f': " + e + "\n" +
			"chown: changing ownership of 'f': " + e + "\n" +
			"setpriv: setresuid failed: " + e + "\n" +
			"setpriv: setresgid failed: " + e + "\n" +
			// setgroups is denied in the namespace, as for any user.
			"setpriv: setgroups failed: Operation not permitted\n"
	}
	user := strconv.Itoa(otherUID)
	host := errs("Operation not permitted") + "/: 0:0\n/etc/passwd: 0:0\n"
	for _, tc := range []struct {
		name string
		inv  invocation
		want string
	}{
		{"host", invocation{visible: true, wrap: true}, host},
		{"ptrace", invocation{engine: "ptrace"}, host},
		{"ptrace, no store directory", invocation{engine: "ptrace", noStoreDir: true}, host},
		{"userns", invocation{engine: "userns"}, errs("Invalid argument") + "/: 65534:65534\n/etc/passwd: 65534:65534\n"},
		{"userns, no store directory", invocation{engine: "userns", noStoreDir: true},
			errs("Invalid argument") + "/: " + user + ":" + user + "\n/etc/passwd: 65534:65534\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.inv.uid = otherUID
			tc.inv.args = []string{"bin/sh", "-c", script}
			r := p.run(t, tc.inv)
			if r.status != 0 || r.stdout != tc.want || r.stderr != "" {
				t.Errorf("status %d, stderr %q, stdout (-want +got):\n%s", r.status, r.stderr, lineDiff(tc.want, r.stdout))
			}
		})
	}
}
