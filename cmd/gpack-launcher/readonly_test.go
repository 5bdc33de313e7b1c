package main

import (
	"path/filepath"
	"testing"
)

// TestRelativeChdir changes into a store directory by a relative path from
// the host (env -C does the chdir as given), then asks for the working
// directory: the store path, under every engine. The ptrace engine caches
// the working directory per tracee; chdir's own translation must not leave
// the directory it started from in that cache, or every relative path after
// it (getcwd's answer here, and where a relative write goes) is judged
// against the old one.
func TestRelativeChdir(t *testing.T) {
	p := testPack(t)
	share := filepath.Join(p.store.Path("noref"), "share")
	forEachEngine(t, func(t *testing.T, engine string) {
		for _, host := range hosts {
			if host.usernsOff && engine == "userns" {
				continue
			}
			t.Run(host.name, func(t *testing.T) {
				dir := p.userDir(t, "work", testUID)
				rel, err := filepath.Rel(dir, share)
				if err != nil {
					t.Fatal(err)
				}
				r := p.run(t, invocation{engine: engine, dir: dir, noStoreDir: host.noStoreDir, usernsOff: host.usernsOff,
					args: []string{"bin/sh", "-c", "env -C " + rel + " pwd"}})
				if r.status != 0 || r.stdout != share+"\n" || r.stderr != "" {
					t.Errorf("status %d, stdout %q, stderr %q; want 0, %q", r.status, r.stdout, r.stderr, share+"\n")
				}
			})
		}
	})
}
