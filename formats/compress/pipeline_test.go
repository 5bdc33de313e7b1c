package compress

import (
	"errors"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
)

// item is a block for the Pipeline tests: its number, and what the
// encoder made of it.
type item struct {
	n   int
	out int
	w   int // the worker that encoded it
}

// pipeRun submits n items through a Pipeline and returns what was emitted.
// failEncode and failEmit name an item whose encode or emit fails (-1 for
// none).
func pipeRun(t *testing.T, workers, depth, n, failEncode, failEmit int) (emitted []int, err error) {
	t.Helper()
	var live, peak atomic.Int64 // items submitted and not yet emitted
	busy := make([]atomic.Bool, max(workers, 1))
	encode := func(w int, it *item) error {
		if w < 0 || w >= len(busy) {
			t.Errorf("worker %d of %d", w, workers)
			return nil
		}
		if busy[w].Swap(true) {
			t.Errorf("worker %d runs two encodes at once", w)
		}
		defer busy[w].Store(false)
		if it.n == failEncode {
			return fmt.Errorf("encoding %d: %w", it.n, errBad)
		}
		// Uneven work, so that later items often finish first.
		x := it.n
		for range (n - it.n) % 7 * 1000 {
			x = x*31 + 7
			runtime.Gosched()
		}
		it.out, it.w = it.n*2, w
		_ = x
		return nil
	}
	emit := func(it *item) error {
		if it.out != it.n*2 {
			t.Errorf("item %d emitted before it was encoded", it.n)
		}
		if it.n == failEmit {
			return errFull
		}
		emitted = append(emitted, it.n)
		live.Add(-1)
		return nil
	}
	p := NewPipeline(workers, depth, encode, emit)
	for i := range n {
		if err = p.Submit(&item{n: i}); err != nil {
			break
		}
		peak.Store(max(peak.Load(), live.Add(1)))
	}
	if err == nil {
		err = p.Flush()
	}
	if cerr := p.Close(); cerr != err {
		t.Errorf("Close: %v, want the pipeline's error %v", cerr, err)
	}
	if limit := int64(max(depth, workers, 1)); peak.Load() > limit+1 {
		t.Errorf("%d items in flight, depth %d", peak.Load(), limit)
	}
	return emitted, err
}

var errBad = errors.New("bad block")

func TestPipeline(t *testing.T) {
	for _, tc := range []struct {
		name                         string
		workers, depth, n            int
		failEncode, failEmit, nEmits int
		err                          error
	}{
		{"one worker", 1, 1, 50, -1, -1, 50, nil},
		{"zero workers means one", 0, 0, 10, -1, -1, 10, nil},
		{"depth below workers", 4, 1, 100, -1, -1, 100, nil},
		{"deep", 3, 12, 200, -1, -1, 200, nil},
		{"nothing", 2, 4, 0, -1, -1, 0, nil},
		{"encode fails", 3, 6, 100, 40, -1, 40, errBad},
		{"first encode fails", 2, 2, 10, 0, -1, 0, errBad},
		{"emit fails", 3, 6, 100, -1, 70, 70, errFull},
		{"last emit fails", 2, 8, 20, -1, 19, 19, errFull},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			got, err := pipeRun(t, tc.workers, tc.depth, tc.n, tc.failEncode, tc.failEmit)
			if !errors.Is(err, tc.err) {
				t.Errorf("error %v, want %v", err, tc.err)
			}
			if len(got) != tc.nEmits {
				t.Errorf("%d items emitted, want %d", len(got), tc.nEmits)
			}
			for i, n := range got {
				if n != i {
					t.Fatalf("emitted %v: out of order at %d", got, i)
				}
			}
			waitGoroutines(t, before)
		})
	}
}

// TestPipelineOrder makes the second block finish before the first: it must
// still be emitted second.
func TestPipelineOrder(t *testing.T) {
	secondDone := make(chan struct{})
	var order []int
	p := NewPipeline(2, 2, func(_ int, it *item) error {
		if it.n == 0 {
			<-secondDone
		} else {
			close(secondDone)
		}
		return nil
	}, func(it *item) error {
		order = append(order, it.n)
		return nil
	})
	for i := range 2 {
		if err := p.Submit(&item{n: i}); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.Flush(); err != nil {
		t.Fatal(err)
	}
	p.Close()
	if len(order) != 2 || order[0] != 0 || order[1] != 1 {
		t.Errorf("emitted %v, want [0 1]", order)
	}
	if err := p.Submit(&item{}); !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v, want ErrClosed", err)
	}
}

// FuzzPipeline runs the Pipeline with fuzzed workers, depth, number of
// blocks and failure points: everything up to the first failure is emitted,
// in order, and nothing after it.
func FuzzPipeline(f *testing.F) {
	f.Add(uint8(2), uint8(4), uint16(100), int16(-1), int16(-1))
	f.Add(uint8(1), uint8(1), uint16(3), int16(1), int16(-1))
	f.Add(uint8(5), uint8(2), uint16(300), int16(-1), int16(299))
	f.Fuzz(func(t *testing.T, workers, depth uint8, n uint16, failEncode, failEmit int16) {
		w, d, count := int(workers%9), int(depth%33), int(n%500)
		fe, fm := int(failEncode), int(failEmit)
		got, err := pipeRun(t, w, d, count, fe, fm)
		want := count
		for _, f := range []int{fe, fm} {
			if f >= 0 && f < want {
				want = f
			}
		}
		if len(got) != want {
			t.Fatalf("%d emitted, want %d (err %v)", len(got), want, err)
		}
		if (want < count) != (err != nil) {
			t.Fatalf("error %v with %d of %d emitted", err, len(got), count)
		}
		for i, x := range got {
			if x != i {
				t.Fatalf("out of order at %d", i)
			}
		}
	})
}
