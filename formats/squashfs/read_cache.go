package squashfs

import (
	"errors"
	"sync"
)

// blockCache keeps decompressed blocks for reuse, in two LRU lists of
// bounded size: metadata blocks (8 KiB each: inodes, directories, lookup
// tables) and data blocks (data and fragment blocks, up to the block
// size), so that reading through large files cannot push out the
// metadata that every lookup needs.
//
// It is safe for concurrent use. A block is decompressed by the first
// goroutine that asks for it; others that ask meanwhile wait for that
// result instead of decompressing it again. Blocks are decompressed outside
// the lock. Cached blocks are never written to: a reader may keep using a
// block after it is evicted (the garbage collector frees it after), which
// is why the memory in use can pass the bound by the blocks that readers
// hold at the moment, at most a block or two each.
//
// Lock order: blockCache.mu is a leaf; nothing is called with it held.
type blockCache struct {
	mu   sync.Mutex
	m    map[cacheKey]*cacheEntry
	meta lru
	data lru
}

// cacheKey names a block by where it starts in the image and its size
// word (data) or metaKey (metadata), so that a corrupt image in which
// blocks overlap cannot pass one kind of block off as the other.
type cacheKey struct {
	off  uint64
	word uint32
}

// metaKey is the word of metadata blocks' keys: data size words use 25
// bits at most.
const metaKey = 1 << 31

type cacheEntry struct {
	key        cacheKey
	data       []byte
	err        error
	done       chan struct{} // closed once data or err is set; nil then
	prev, next *cacheEntry   // in its list, most recently used first
}

// lru is one list of the cache and its bound, in bytes of capacity.
type lru struct {
	max, used int64
	head      cacheEntry // sentinel: head.next is the most recently used
}

// newBlockCache returns a cache of at most size bytes: a quarter, at least
// 64 KiB, for metadata, the rest for data. A size below zero keeps
// nothing.
func newBlockCache(size int64) *blockCache {
	c := &blockCache{m: make(map[cacheKey]*cacheEntry)}
	if size > 0 {
		c.meta.max = min(size, max(size/4, 64<<10))
		c.data.max = size - c.meta.max
	}
	for _, l := range []*lru{&c.meta, &c.data} {
		l.head.next, l.head.prev = &l.head, &l.head
	}
	return c
}

// get returns the block k, from the cache or from load, which is called
// at most once at a time per block. l is the list the block belongs in.
// An error is returned to the callers waiting for it and not kept.
func (c *blockCache) get(k cacheKey, l *lru, load func() ([]byte, error)) ([]byte, error) {
	if l.max <= 0 {
		return load()
	}
	c.mu.Lock()
	if e, ok := c.m[k]; ok {
		if done := e.done; done != nil {
			c.mu.Unlock()
			<-done
			return e.data, e.err
		}
		l.unlink(e)
		l.pushFront(e)
		c.mu.Unlock()
		return e.data, nil
	}
	e := &cacheEntry{key: k, done: make(chan struct{})}
	c.m[k] = e
	c.mu.Unlock()
	// Whatever load does, even panic, the entry is finished, so that no
	// waiter waits for ever.
	data, err := []byte(nil), errLoadFailed
	defer c.finish(e, l, &data, &err)
	data, err = load()
	return data, err
}

// errLoadFailed is what waiters get if a load panics.
var errLoadFailed = errors.New("squashfs: reading a block failed")

// finish records the result of loading e, wakes its waiters, and keeps it
// in l if it fits, evicting the least recently used blocks.
func (c *blockCache) finish(e *cacheEntry, l *lru, data *[]byte, err *error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e.data, e.err = *data, *err
	close(e.done)
	e.done = nil
	if e.err != nil || int64(cap(e.data)) > l.max {
		delete(c.m, e.key)
		return
	}
	l.pushFront(e)
	l.used += int64(cap(e.data))
	for l.used > l.max {
		old := l.head.prev
		l.unlink(old)
		l.used -= int64(cap(old.data))
		delete(c.m, old.key)
	}
}

// peek returns block k if it is cached, without loading it or counting it
// as used: for sequential readers, which would only push out blocks that
// others read again.
func (c *blockCache) peek(k cacheKey) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[k]; ok && e.done == nil {
		return e.data
	}
	return nil
}

func (l *lru) pushFront(e *cacheEntry) {
	e.prev, e.next = &l.head, l.head.next
	l.head.next.prev = e
	l.head.next = e
}

func (l *lru) unlink(e *cacheEntry) {
	if e.prev == nil {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
}

// stats returns the bytes cached in each list, for tests.
func (c *blockCache) stats() (meta, data int64, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.meta.used, c.data.used, len(c.m)
}
