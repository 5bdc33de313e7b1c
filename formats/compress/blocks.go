package compress

import (
	"bytes"
	"fmt"
	"io"
)

// encodeBlock compresses one block of input into dst. dict is the input that
// came just before the block (at most the window the format can use; nil for
// the first block) and final is set on the last block of the stream. It runs
// on a worker of the Pipeline and must not keep data or dict after it
// returns. worker is the index of the Pipeline worker that runs it, from 0,
// so that an encoder may keep state per worker; the output must not
// depend on it.
type encodeBlock func(worker int, dst *bytes.Buffer, data, dict []byte, final bool) error

// block is one block of a stream on its way through the Pipeline. Blocks
// are recycled, with their buffers, once written.
type block struct {
	data  []byte       // input
	dict  []byte       // copy of the preceding input's tail, or empty
	out   bytes.Buffer // compressed block
	final bool
	seq   int // the block's number in the stream, for errors
}

// blockWriter cuts its input into blocks of exactly blockSize bytes (the last
// one shorter), compresses them on a Pipeline of `workers`, and writes the
// results to w in input order from the caller's goroutine.
//
// The output is a function of the input alone: block boundaries depend only
// on blockSize and on how many bytes came before, never on the sizes of the
// Write calls, the number of workers or which one finishes first, and each
// block is encoded from fresh encoder state.
//
// Memory: the block being filled plus `depth` blocks in flight (input and
// output), plus the state of `workers` encoders.
type blockWriter struct {
	w         io.Writer
	name      string // format name, for errors
	encode    encodeBlock
	blockSize int
	dictSize  int // how much preceding input each block gets as dict
	pipe      *Pipeline[block]

	cur     *block // block being filled, nil until the first byte
	tail    []byte // last dictSize bytes of the input dispatched so far
	free    []*block
	nblocks int   // blocks dispatched so far
	err     error // sticky: the first error ends the stream
}

func newBlockWriter(w io.Writer, name string, encode encodeBlock, blockSize, dictSize, workers, depth int) *blockWriter {
	b := &blockWriter{w: w, name: name, encode: encode, blockSize: blockSize, dictSize: dictSize}
	b.pipe = NewPipeline(workers, depth, b.encodeOne, b.writeOne)
	return b
}

func (b *blockWriter) encodeOne(worker int, j *block) error {
	if err := b.encode(worker, &j.out, j.data, j.dict, j.final); err != nil {
		return fmt.Errorf("%s block %d: %w", b.name, j.seq, err)
	}
	return nil
}

// writeOne writes an encoded block to w and recycles it. An error of w
// comes back as it is: it is the destination's, which names itself
// ("writing OUT: no space left on device").
func (b *blockWriter) writeOne(j *block) error {
	if _, err := b.w.Write(j.out.Bytes()); err != nil {
		return err
	}
	b.free = append(b.free, j)
	return nil
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
			b.cur = b.newBlock()
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
			b.cur = b.newBlock()
		}
		if b.err = b.dispatch(true); b.err == nil {
			b.err = b.pipe.Flush()
		}
	}
	// After an error, blocks still being encoded finish on their own;
	// Close waits for them so that no goroutine outlives the writer.
	b.pipe.Close()
	return b.err
}

// dispatch hands the current block to the pipeline with a copy of the
// input before it as its dict.
func (b *blockWriter) dispatch(final bool) error {
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
	j.final, j.seq = final, b.nblocks
	b.nblocks++
	if err := b.pipe.Submit(j); err != nil {
		b.err = err
		return err
	}
	return nil
}

// newBlock returns a recycled block, or a new one. At most depth+1 blocks
// ever exist, which is what bounds the memory.
func (b *blockWriter) newBlock() *block {
	if n := len(b.free); n > 0 {
		j := b.free[n-1]
		b.free = b.free[:n-1]
		j.data, j.dict = j.data[:0], j.dict[:0]
		j.out.Reset()
		return j
	}
	// The buffer grows by append up to blockSize: a small input, such as
	// a small image layer, should not cost a whole block of memory.
	return &block{data: make([]byte, 0, min(b.blockSize, 64<<10))}
}
