package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// churnRuns is how many times TestHostChurn runs the program per engine
// choice: the issue that prompted it saw 8 failures in 100.
const churnRuns = 100

// TestHostChurn runs the userns engine on a host without the store's parent
// while files and directories come and go, as fast as a loop can make them,
// in a directory it mirrors: /tmp on a busy machine, where compilers create
// and delete their temporary files between the launcher's listing of the
// directory and its binds. Every run must succeed, and in the userns engine:
// with GPACK_ENGINE=auto a failure there would silently fall back to ptrace.
func TestHostChurn(t *testing.T) {
	p := testPack(t)
	hello := filepath.Join(p.store.Path("hello"), "bin/hello")
	// The store lives at base/s/store and noStoreDir hides base/s, so
	// the userns engine lists base and binds each of its entries.
	dir := p.base

	var stop atomic.Bool
	var wg sync.WaitGroup
	var made atomic.Int64
	for w := range 2 {
		wg.Go(func() {
			for i := 0; !stop.Load(); i++ {
				name := filepath.Join(dir, "churn-"+strconv.Itoa(w)+"-"+strconv.Itoa(i%8))
				switch i % 3 {
				case 0:
					if os.WriteFile(name, nil, 0o644) == nil {
						made.Add(1)
					}
				case 1:
					if os.Mkdir(name, 0o755) == nil {
						made.Add(1)
					}
				case 2:
					if os.Symlink("/nonexistent", name) == nil {
						made.Add(1)
					}
				}
				os.Remove(name)
			}
		})
	}
	t.Cleanup(func() {
		stop.Store(true)
		wg.Wait()
	})

	for _, engine := range []string{"userns", "auto"} {
		t.Run(engine, func(t *testing.T) {
			failed, raced := 0, 0
			for i := range churnRuns {
				r := p.run(t, invocation{engine: engine, args: []string{"bin/hello"}, noStoreDir: true,
					env: []string{"GPACK_DEBUG=1"}})
				ok := r.status == 0 && r.stdout == greeting &&
					contains(strings.Split(r.stderr, "\n"), running("userns", hello))
				if strings.Contains(r.stderr, ": leaving out ") {
					raced++ // an entry went between listing and binding
				}
				if !ok {
					failed++
					if failed <= 3 {
						t.Errorf("run %d: status %d, stdout %q, stderr:\n%s", i, r.status, r.stdout, r.stderr)
					}
				}
			}
			t.Logf("%d of %d runs succeeded in the userns engine; %d met an entry that went before its bind "+
				"(%d entries made meanwhile)", churnRuns-failed, churnRuns, raced, made.Load())
			if failed > 0 {
				t.Errorf("%d of %d runs failed or left the userns engine", failed, churnRuns)
			}
		})
	}
}
