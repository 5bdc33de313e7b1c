package main

import (
	"strings"
	"sync"
	"testing"
	"time"
)

func TestProgressLine(t *testing.T) {
	const MiB = 1 << 20
	mid := progressState{files: 1, totalFiles: 4, in: 50 * MiB, totalIn: 100 * MiB, out: 20 * MiB}
	for _, tc := range []struct {
		name    string
		s       progressState
		elapsed time.Duration
		width   int
		has     []string
		hasNot  []string
	}{
		{"half way", mid, 10 * time.Second, 120, []string{"files 1/4", "50.0 MiB/100.0 MiB", " 50%", "out 20.0 MiB", "5.0 MiB/s", "10s left", "[==="}, []string{"finishing"}},
		// The same counts later: the time left grows instead of
		// freezing.
		{"stalled", mid, 20 * time.Second, 120, []string{"2.5 MiB/s", "20s left"}, nil},
		{"nothing read yet", progressState{totalFiles: 4, totalIn: 100 * MiB}, time.Second, 120, []string{"files 0/4", "  0%", "-- "}, nil},
		{"narrow: no bar", mid, time.Second, 60, []string{"files 1/4"}, []string{"["}},
		{"all read", progressState{files: 4, totalFiles: 4, in: 100 * MiB, totalIn: 100 * MiB, out: 30 * MiB}, 95 * time.Second,
			80, []string{"finishing the last blocks", "files 4/4 (100.0 MiB) read", "out 30.0 MiB", "1m35s"}, []string{"left"}},
		{"empty tree", progressState{}, time.Second, 80, []string{"finishing"}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := tc.s.line(tc.elapsed, tc.width)
			if len([]rune(l)) > tc.width-1 {
				t.Errorf("%d columns, width %d: %q", len([]rune(l)), tc.width, l)
			}
			for _, h := range tc.has {
				if !strings.Contains(l, h) {
					t.Errorf("%q lacks %q", l, h)
				}
			}
			for _, h := range tc.hasNot {
				if strings.Contains(l, h) {
					t.Errorf("%q has %q", l, h)
				}
			}
		})
	}
}

// syncBuffer collects what the progress goroutine draws.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestProgressRedraws: the line is redrawn with nothing reported (a big
// file, a slow block), counts output, says "finishing" once everything is
// read, and is cleared by Done.
func TestProgressRedraws(t *testing.T) {
	var buf syncBuffer
	p := startProgress(&buf, func() int { return 150 }, 2, 1000)
	p.Add(1, 500)
	p.Wrote(123)
	waitFor := func(what string, ok func(string) bool) {
		t.Helper()
		for deadline := time.Now().Add(time.Minute); !ok(buf.String()); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("no %s after a minute: %q", what, buf.String())
			}
		}
	}
	// Three redraws without a report.
	waitFor("three redraws", func(s string) bool { return strings.Count(s, "files 1/2") >= 3 })
	if !strings.Contains(buf.String(), "out 123 B") {
		t.Errorf("output not counted: %q", buf.String())
	}
	p.Add(1, 500)
	waitFor("finishing", func(s string) bool { return strings.Contains(s, "finishing") })
	p.Done()
	if s := buf.String(); !strings.HasSuffix(s, "\r\x1b[K") {
		t.Errorf("the line is not cleared at the end: %q", s[max(0, len(s)-40):])
	}
	p.Done() // twice is harmless
}
