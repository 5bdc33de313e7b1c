package compress

import (
	"bytes"
	"fmt"
	"io"
)

// encodeBlock compresses one block of input into dst. dict is the input that
// came just before the block (at most the window the format can use; nil for
// the first block) and final is set on the last block of the stream. It runs
// on its own goroutine and must not keep data or dict after it returns.
type encodeBlock func(dst *bytes.Buffer, data, dict []byte, final bool) error

// job is one block on its way through the pipeline. Jobs are recycled, with
// their buffers, once written.
type job struct {
	data []byte       // input
	dict []byte       // copy of the preceding input's tail, or empty
	out  bytes.Buffer // compressed block
	err  error
	done chan struct{} // closed when out and err are set
}

// blockWriter cuts its input into blocks of exactly blockSize bytes (the last
// one shorter), compresses up to `workers` of them at once, and writes the
// results to w in input order from the caller's goroutine.
//
// The output is a function of the input alone: block boundaries depend only
// on blockSize and on how many bytes came before, never on the sizes of the
// Write calls, the number of workers or which goroutine finishes first, and
// each block is encoded from fresh encoder state. Writing from the caller's
// goroutine means an error from w comes back from the Write or Close that
// hit it, with no goroutine left holding w.
//
// Up to `depth` blocks (at least `workers`) may be in flight: being
// compressed, waiting for a worker, or waiting for an older block to be
// written. A depth above the number of workers keeps every worker busy when
// a block that finished early would otherwise wait behind a slow older one.
// Memory: the block being filled plus `depth` blocks (input and output),
// plus the state of `workers` encoders.
type blockWriter struct {
	w         io.Writer
	name      string // format name, for errors
	encode    encodeBlock
	blockSize int
	dictSize  int           // how much preceding input each block gets as dict
	depth     int           // blocks in flight, at least workers
	sem       chan struct{} // one token per running encoder

	cur      *job   // block being filled, nil until the first byte
	tail     []byte // last dictSize bytes of the input dispatched so far
	inflight []*job // oldest first
	free     []*job
	nblocks  int   // blocks dispatched so far
	err      error // sticky: the first error ends the stream
}

func newBlockWriter(w io.Writer, name string, encode encodeBlock, blockSize, dictSize, workers, depth int) *blockWriter {
	workers = max(workers, 1)
	return &blockWriter{
		w:         w,
		name:      name,
		encode:    encode,
		blockSize: blockSize,
		dictSize:  dictSize,
		depth:     max(depth, workers),
		sem:       make(chan struct{}, workers),
	}
}

// Write buffers p into blocks. A full block is dispatched only when another
// byte arrives, because only then is it known not to be the last one.
func (b *blockWriter) Write(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	n := 0
	for len(p) > 0 {
		if b.cur != nil && len(b.cur.data) == b.blockSize {
			if err := b.dispatch(false); err != nil {
				return n, err
			}
		}
		if b.cur == nil {
			b.cur = b.newJob()
		}
		k := min(len(p), b.blockSize-len(b.cur.data))
		b.cur.data = append(b.cur.data, p[:k]...)
		p = p[k:]
		n += k
	}
	return n, nil
}

// Close dispatches the last block and writes everything still in flight.
// The last block may be empty: an empty input still makes one block, so
// each format emits its minimal valid stream.
func (b *blockWriter) Close() error {
	if b.err == nil {
		if b.cur == nil {
			b.cur = b.newJob()
		}
		b.err = b.dispatch(true)
	}
	for b.err == nil && len(b.inflight) > 0 {
		b.err = b.writeOldest()
	}
	// After an error, blocks still being encoded finish on their own; wait
	// for them so that no goroutine outlives Close.
	for _, j := range b.inflight {
		<-j.done
	}
	b.inflight = nil
	return b.err
}

// dispatch hands the current block to a new goroutine, first writing out
// the oldest block if `depth` are already in flight.
func (b *blockWriter) dispatch(final bool) error {
	for len(b.inflight) >= b.depth {
		if err := b.writeOldest(); err != nil {
			b.err = err
			return err
		}
	}
	j := b.cur
	b.cur = nil
	if b.dictSize > 0 {
		// The dict is copied rather than shared with the previous block,
		// whose buffer is recycled as soon as that block is written,
		// perhaps before this one is encoded.
		j.dict = append(j.dict[:0], b.tail...)
		b.tail = append(b.tail, j.data[max(0, len(j.data)-b.dictSize):]...)
		if over := len(b.tail) - b.dictSize; over > 0 {
			b.tail = b.tail[:copy(b.tail, b.tail[over:])]
		}
	}
	seq := b.nblocks
	b.nblocks++
	b.inflight = append(b.inflight, j)
	go func() {
		defer close(j.done)
		b.sem <- struct{}{}
		defer func() { <-b.sem }()
		if err := b.encode(&j.out, j.data, j.dict, final); err != nil {
			j.err = fmt.Errorf("%s block %d: %w", b.name, seq, err)
		}
	}()
	return nil
}

// writeOldest waits for the oldest block in flight, writes it to w and
// recycles its job.
func (b *blockWriter) writeOldest() error {
	j := b.inflight[0]
	<-j.done
	if j.err != nil {
		return j.err
	}
	if _, err := b.w.Write(j.out.Bytes()); err != nil {
		return fmt.Errorf("writing %s output: %w", b.name, err)
	}
	b.inflight = b.inflight[1:]
	b.free = append(b.free, j)
	return nil
}

// newJob returns a recycled job, or a new one. At most depth+1 jobs ever
// exist, which is what bounds the memory.
func (b *blockWriter) newJob() *job {
	if n := len(b.free); n > 0 {
		j := b.free[n-1]
		b.free = b.free[:n-1]
		j.data, j.dict, j.err = j.data[:0], j.dict[:0], nil
		j.out.Reset()
		j.done = make(chan struct{})
		return j
	}
	// The buffer grows by append up to blockSize: a small input, such as
	// a small image layer, should not cost a whole block of memory.
	return &job{data: make([]byte, 0, min(b.blockSize, 64<<10)), done: make(chan struct{})}
}
