package main

import (
	"strings"
	"testing"
)

// asMessage is the launcher's one line when the hard address-space limit is
// below what the Go runtime reserves at start.
const asMessage = "gpack-launcher: the address-space limit (ulimit -v) is below the 720 MiB (737280 KiB) that " +
	"the launcher's Go runtime reserves at start, and its hard limit forbids raising it: run the pack " +
	"extracted at / (tar -x -C /), or under ulimit -v 737280 or more\n"

// TestLowLimits runs the launcher under the limits of HPC login nodes. A
// soft address-space limit far below what the Go runtime needs must not
// matter: the launcher raises it for itself and the program runs under it.
// A hard one that is too low, and descriptor limits, must end in one line
// and exit 126 where the launcher cannot work, never in a Go crash, and
// never blame user namespaces. The smallest descriptor limits that work
// are 5 for the direct path and the ptrace engine, 6 for the userns engine.
func TestLowLimits(t *testing.T) {
	p := testPack(t)
	run := func(t *testing.T, limits, engine string, visible bool) result {
		t.Helper()
		return p.run(t, invocation{engine: engine, visible: visible,
			args: []string{"sh", "-c", limits + ` && exec "$ROOT/bin/sh" -c 'echo ran; ulimit -v; ulimit -n'`}})
	}
	for _, tc := range []struct {
		name    string
		engines []string
		visible bool
	}{
		{"direct path", []string{""}, true},
		{"engines", engines, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, engine := range tc.engines {
				t.Run("soft ulimit -v 51200 "+engine, func(t *testing.T) {
					r := run(t, "ulimit -S -v 51200", engine, tc.visible)
					// The program runs under the limit it was given.
					if r.status != 0 || !strings.HasPrefix(r.stdout, "ran\n51200\n") {
						t.Errorf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
					}
				})
				t.Run("hard ulimit -v 600000 "+engine, func(t *testing.T) {
					r := run(t, "ulimit -v 600000", engine, tc.visible)
					if r.status != 126 || r.stdout != "" || r.stderr != asMessage {
						t.Errorf("status %d, stdout %q, stderr %q; want 126 and\n%s", r.status, r.stdout, r.stderr, asMessage)
					}
				})
				// The smallest hard ulimit -n that works.
				low := map[string]int{"": 5, "userns": 6, "ptrace": 5}[engine]
				for n := 3; n <= low; n++ {
					limit := "ulimit -n " + string(rune('0'+n))
					t.Run(limit+" "+engine, func(t *testing.T) {
						r := run(t, limit, engine, tc.visible)
						if n == low {
							if r.status != 0 || !strings.HasPrefix(r.stdout, "ran\n") {
								t.Errorf("status %d, stdout %q, stderr:\n%s", r.status, r.stdout, r.stderr)
							}
							return
						}
						if r.status != 126 || strings.Count(r.stderr, "\n") != 1 ||
							!strings.Contains(r.stderr, "too many open files") || !strings.Contains(r.stderr, fdHint) ||
							strings.Contains(r.stderr, "user namespaces are not available") {
							t.Errorf("status %d, stderr:\n%s\nwant 126 and one line with %q", r.status, r.stderr, fdHint)
						}
					})
				}
			}
		})
	}
}

// fdHint is the launcher's advice when it ran out of descriptors.
const fdHint = "raise the descriptor limit (ulimit -n 8 or more)"
