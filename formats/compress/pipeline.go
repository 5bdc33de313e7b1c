package compress

import (
	"errors"
	"sync"
	"sync/atomic"
)

// Pipeline compresses blocks on a fixed set of workers and hands them back
// in the order they were submitted, on the caller's goroutine. It is the
// one ordered block pipeline of gpack: the stream compressors (gzip and xz
// blocks) and squashfs's data blocks go through it.
//
// The output is a function of the blocks alone: which worker encodes a
// block, and when, never shows, because blocks are emitted in submission
// order and each encode may use only the block and its worker's own state.
// Emitting on the caller's goroutine means an error from the destination
// comes back from the Submit or Flush that hit it, with no goroutine left
// holding the destination.
//
// Up to depth blocks are in flight: being encoded, waiting for a worker,
// or encoded and waiting for an older block to be emitted. Submit emits
// the oldest block first when depth are in flight, which is what bounds
// the memory whatever the size of the input. A depth above the number of
// workers keeps every worker busy when a block that finished early would
// otherwise wait behind a slow older one.
//
// A Pipeline is not safe for concurrent use: one goroutine submits, and
// emit runs on it.
type Pipeline[B any] struct {
	encode func(worker int, b *B) error
	emit   func(b *B) error

	jobs     chan *slot[B] // to the workers; room for depth, so a send never blocks
	wg       sync.WaitGroup
	depth    int
	inflight []*slot[B] // oldest first
	free     []*slot[B]
	err      error       // sticky: the first error ends the pipeline
	failed   atomic.Bool // set with err, so that workers skip what is left
	closed   bool
}

type slot[B any] struct {
	b    *B
	err  error
	done chan struct{} // closed when err is set
}

// errSkipped marks blocks left unencoded after an earlier error; it is
// never returned, since the earlier error is.
var errSkipped = errors.New("skipped after an earlier error")

// NewPipeline starts workers goroutines (at least 1) that call encode, and
// allows depth blocks (at least workers) in flight. encode gets the index
// of its worker, from 0, so that each worker can keep encoder state of its
// own; it must leave the result in b. emit is called with every encoded
// block, in submission order, on the goroutine that calls Submit or Flush;
// once it returns the pipeline no longer holds b, so emit may recycle it.
// Close must be called, after an error too, to stop the workers.
func NewPipeline[B any](workers, depth int, encode func(worker int, b *B) error, emit func(b *B) error) *Pipeline[B] {
	workers = max(workers, 1)
	depth = max(depth, workers)
	p := &Pipeline[B]{encode: encode, emit: emit, depth: depth, jobs: make(chan *slot[B], depth)}
	p.wg.Add(workers)
	for w := range workers {
		go p.work(w)
	}
	return p
}

func (p *Pipeline[B]) work(w int) {
	defer p.wg.Done()
	for s := range p.jobs {
		if p.failed.Load() {
			s.err = errSkipped
		} else {
			s.err = p.encode(w, s.b)
		}
		close(s.done)
	}
}

// Submit hands b to the workers, first emitting the oldest block if depth
// blocks are in flight. After an error (from encode or emit) it returns
// that error and takes nothing more.
func (p *Pipeline[B]) Submit(b *B) error {
	if p.err != nil {
		return p.err
	}
	if p.closed {
		return ErrClosed
	}
	for len(p.inflight) >= p.depth {
		if err := p.emitOldest(); err != nil {
			return err
		}
	}
	var s *slot[B]
	if n := len(p.free); n > 0 {
		s, p.free = p.free[n-1], p.free[:n-1]
	} else {
		s = new(slot[B])
	}
	s.b, s.err, s.done = b, nil, make(chan struct{})
	p.inflight = append(p.inflight, s)
	p.jobs <- s
	return nil
}

// Flush waits for every block in flight and emits them, oldest first.
func (p *Pipeline[B]) Flush() error {
	for p.err == nil && len(p.inflight) > 0 {
		p.emitOldest()
	}
	return p.err
}

// emitOldest waits for the oldest block in flight and emits it.
func (p *Pipeline[B]) emitOldest() error {
	s := p.inflight[0]
	<-s.done
	err := s.err
	if err == nil {
		err = p.emit(s.b)
	}
	if err != nil {
		p.err = err
		p.failed.Store(true)
		return err
	}
	p.inflight = p.inflight[1:]
	s.b = nil
	p.free = append(p.free, s)
	return nil
}

// Close stops the workers and waits for them; blocks not yet emitted are
// dropped (after an error, those not yet encoded are skipped). It returns
// the pipeline's error, if any, and may be called more than once.
func (p *Pipeline[B]) Close() error {
	if !p.closed {
		p.closed = true
		close(p.jobs)
		p.wg.Wait()
		p.inflight = nil
	}
	return p.err
}
