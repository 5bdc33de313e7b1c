package closure

import (
	"bytes"
	"errors"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// Matcher finds the hash parts of a fixed set of candidates in byte streams,
// by Nix's rule: only 32-byte windows of base32 characters are candidates.
// Each window is checked from its last byte, so a byte outside the alphabet
// skips the scan past it; runs of base32 bytes are then walked one window at
// a time. A 20-bit filter on the first four characters keeps most windows
// from reaching the map.
//
// It also notices spelled-out store paths (<store>/<hash>-) whose hash is no
// entry of the store: a reference to an item that is missing.
type Matcher struct {
	index  map[string]int32
	filter [1 << 20 / 64]uint64
	prefix []byte // store directory plus "/"
}

// NewMatcher makes a matcher for hashes, each HashLen base32 characters.
// storeDir, when not empty, enables the detection of missing items.
func NewMatcher(hashes []string, storeDir string) *Matcher {
	m := &Matcher{index: make(map[string]int32, len(hashes))}
	if storeDir != "" {
		m.prefix = []byte(storeDir + "/")
	}
	for i, h := range hashes {
		if len(h) != HashLen {
			panic("closure: candidate " + h + " is not a hash part")
		}
		m.index[h] = int32(i)
		k := filterKey([]byte(h))
		m.filter[k>>6] |= 1 << (k & 63)
	}
	return m
}

// filterKey is the first four characters' 20 bits: a 128 KiB filter that
// stays in the L2 cache and passes a window of random base32 text about
// once in 500 for a store of 2,000 items.
func filterKey(b []byte) uint32 {
	_ = b[3]
	return uint32(b32code[b[0]])<<15 | uint32(b32code[b[1]])<<10 | uint32(b32code[b[2]])<<5 | uint32(b32code[b[3]])
}

// Hit is one found candidate.
type Hit struct {
	Index  int   // index into the hashes given to NewMatcher
	Offset int64 // offset of the hash in the stream
}

// Hits collects the first hit of each candidate in one stream, and the
// missing store paths it spells out.
type Hits struct {
	first   map[int32]int64
	order   []int32
	Missing []string // spelled-out hash parts of missing items, first seen first
	missSet map[string]bool
}

// Reset empties h for reuse.
func (h *Hits) Reset() {
	clear(h.first)
	h.order = h.order[:0]
	h.Missing = h.Missing[:0]
	clear(h.missSet)
}

// Len is the number of distinct candidates found.
func (h *Hits) Len() int { return len(h.order) }

// List returns the distinct hits in the order they were first seen.
func (h *Hits) List() []Hit {
	out := make([]Hit, len(h.order))
	for i, idx := range h.order {
		out[i] = Hit{Index: int(idx), Offset: h.first[idx]}
	}
	return out
}

func (h *Hits) add(idx int32, off int64) {
	if h.first == nil {
		h.first = make(map[int32]int64)
	}
	if _, ok := h.first[idx]; ok {
		return
	}
	h.first[idx] = off
	h.order = append(h.order, idx)
}

func (h *Hits) addMissing(hash string) {
	if h.missSet == nil {
		h.missSet = make(map[string]bool)
	}
	if h.missSet[hash] {
		return
	}
	h.missSet[hash] = true
	h.Missing = append(h.Missing, hash)
}

// scan checks the windows starting at [from, to) of buf; base is buf[0]'s
// offset in the stream. The caller guarantees to <= len(buf)-HashLen+1, and
// to <= len(buf)-HashLen unless buf ends the stream, so that the byte after a
// window (a store path's dash) can be seen.
func (m *Matcher) scan(buf []byte, from, to int, base int64, h *Hits) {
	i := from
	for i < to {
		j := i + HashLen - 1
		for j >= i && isB32[buf[j]] {
			j--
		}
		if j >= i {
			i = j + 1
			continue
		}
		// buf[i:i+32] is all base32: walk the run one window at a time.
		// This loop is the scanner's worst case (long runs of digits and
		// lower-case letters), so the filter key rolls from window to
		// window and check runs only for windows that pass the filter
		// or, for the run's first, follow a '/'.
		k := filterKey(buf[i:])
		if m.filter[k>>6]&(1<<(k&63)) != 0 || (i > 0 && buf[i-1] == '/') {
			m.check(buf, i, base, h)
		}
		for {
			i++
			if i >= to || !isB32[buf[i+HashLen-1]] {
				break
			}
			k = (k<<5 | uint32(b32code[buf[i+3]])) & (1<<20 - 1)
			if m.filter[k>>6]&(1<<(k&63)) != 0 {
				m.check(buf, i, base, h)
			}
		}
		i += HashLen // past the byte that ended the run
	}
}

func (m *Matcher) check(buf []byte, i int, base int64, h *Hits) {
	k := filterKey(buf[i:])
	if m.filter[k>>6]&(1<<(k&63)) != 0 {
		if idx, ok := m.index[string(buf[i:i+HashLen])]; ok {
			h.add(idx, base+int64(i))
			return
		}
	}
	if m.prefix != nil && i > 0 && buf[i-1] == '/' && i+HashLen < len(buf) && buf[i+HashLen] == '-' &&
		i >= len(m.prefix) && bytes.Equal(buf[i-len(m.prefix):i], m.prefix) {
		h.addMissing(string(buf[i : i+HashLen]))
	}
}

// ScanBytes finds the candidates in one whole string (a file name or a
// symlink target).
func (m *Matcher) ScanBytes(b []byte, h *Hits) {
	if len(b) >= HashLen {
		m.scan(b, 0, len(b)-HashLen+1, 0, h)
	}
}

// ChunkSize is how much of a file a scan reads at once. Large enough that
// read(2) costs little per byte, small enough that many workers fit in cache.
const ChunkSize = 256 << 10

// Scanner scans streams with a fixed buffer, so memory does not depend on
// the size of what it reads. A Scanner is not safe for concurrent use.
type Scanner struct {
	m     *Matcher
	buf   []byte
	carry int // bytes kept before each chunk: the longest look-back a hit needs
}

// NewScanner returns a scanner reading chunkSize bytes at a time (ChunkSize
// when zero).
func (m *Matcher) NewScanner(chunkSize int) *Scanner {
	if chunkSize <= 0 {
		chunkSize = ChunkSize
	}
	carry := len(m.prefix) + HashLen
	return &Scanner{m: m, carry: carry, buf: make([]byte, carry+chunkSize)}
}

// Scan reads r to the end, adding what it finds to h; offsets start at base.
func (s *Scanner) Scan(r io.Reader, base int64, h *Hits) error {
	n := 0      // bytes in buf
	from := 0   // first window start not yet checked
	off := base // stream offset of buf[0]
	for {
		k, err := io.ReadAtLeast(r, s.buf[n:], 1)
		n += k
		eof := errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
		if err != nil && !eof {
			return err
		}
		// Windows that end at the last byte wait for the next chunk, so
		// that the byte after them is known, except at the end.
		to := n - HashLen
		if eof {
			to = n - HashLen + 1
		}
		if to > from {
			s.m.scan(s.buf[:n], from, to, off, h)
			from = to
		}
		if eof {
			return nil
		}
		// Keep the tail that a later window can reach back into.
		keep := min(n, n-from+len(s.m.prefix))
		drop := n - keep
		copy(s.buf, s.buf[drop:n])
		n = keep
		from -= drop
		if from < 0 {
			from = 0
		}
		off += int64(drop)
	}
}

// ScanFile scans an open regular file of the given size. Holes in sparse
// files are skipped: they read as zeros, which hold no hash.
func (s *Scanner) ScanFile(f *os.File, size int64, h *Hits) error {
	if size < 1<<20 {
		return s.Scan(f, 0, h)
	}
	fd := int(f.Fd())
	var pos int64
	for pos < size {
		data, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if err != nil {
			if errors.Is(err, unix.ENXIO) {
				return nil // only a hole remains
			}
			// No hole support here: read it all.
			return s.Scan(io.NewSectionReader(f, pos, size-pos), pos, h)
		}
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil || hole > size {
			hole = size
		}
		if err := s.Scan(io.NewSectionReader(f, data, hole-data), data, h); err != nil {
			return err
		}
		pos = hole
	}
	return nil
}
