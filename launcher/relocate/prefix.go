package relocate

import (
	"bufio"
	"bytes"
	"errors"
	"hash/fnv"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gpack/gpack/launcher/internal/errs"
)

// linkDir is where the prefix symlinks live: /tmp is on every node, per
// node on a cluster, world-writable and sticky, so every user can make a
// link there that no other user can replace.
const linkDir = "/tmp"

// minName and maxName bound the link's own name: 5 characters of base32
// are what /nix/store and /gnu/store leave after "/tmp/" (32^5, some 33
// million names); longer store directories get up to 12, and the rest of
// the length is slashes.
const (
	minName = 3
	maxName = 12
)

// nixBase32 is the alphabet of store hashes.
const nixBase32 = "0123456789abcdfghijklmnpqrsvwxyz"

// Prefix returns the path that replaces store in the pack's files: as long
// as store, byte for byte, made of linkDir, a name derived from the user and
// the pack, and slashes to pad it; and the link itself, the path without
// the padding. Two users, or two packs, get different names. items are the
// names of the pack's store items.
func Prefix(store string, uid int, items []string) (prefix, link string, err error) {
	room := len(store) - len(linkDir) - 1
	if room < minName {
		return "", "", errors.New("the store directory " + store + " is too short to be replaced by a path in " + linkDir)
	}
	// FNV-1a rather than SHA-256, which would add some 300 KB of
	// crypto to the launcher: the name needs to differ, not to be
	// secret (what keeps other users out is the link's owner).
	h := fnv.New64a()
	io.WriteString(h, "gpack-relocate\x00"+strconv.Itoa(uid)+"\x00"+store+"\x00")
	sorted := slices.Clone(items)
	slices.Sort(sorted)
	for _, it := range sorted {
		io.WriteString(h, it+"\x00")
	}
	sum := h.Sum64()
	n := min(room, maxName) // 12 × 5 bits: the hash's 64 suffice
	name := make([]byte, n)
	for i := range name {
		name[i] = nixBase32[sum&31]
		sum >>= 5
	}
	link = linkDir + "/" + string(name)
	return link + strings.Repeat("/", room-n), link, nil
}

// hashLen is the length of a store item's hash part.
const hashLen = 32

// Scanner finds the references to be rewritten: store + "/" + the hash of
// one of the pack's items. Only those: the store directory alone, or a
// path of an item the pack does not hold, is left as it is.
type Scanner struct {
	needle []byte
	hashes map[string]bool
}

// NewScanner returns a Scanner for the items (their names, "<hash>-<name>")
// of store.
func NewScanner(store string, items []string) *Scanner {
	s := &Scanner{needle: []byte(store + "/"), hashes: map[string]bool{}}
	for _, it := range items {
		if len(it) > hashLen && it[hashLen] == '-' {
			s.hashes[it[:hashLen]] = true
		}
	}
	return s
}

// Overlap is how many bytes of a chunk's end a reader must also put at the
// start of the next one, so that a reference across the boundary is found.
func (s *Scanner) Overlap() int { return len(s.needle) + hashLen - 1 }

// Find appends to offs the offsets in b, plus base, of every reference
// that starts in b[:end] and lies wholly in b. A reader that reads in
// chunks passes end = len(b) - Overlap() for all but the last chunk.
func (s *Scanner) Find(b []byte, end int, base int64, offs []int64) []int64 {
	for i := 0; i < end; {
		j := bytes.Index(b[i:], s.needle)
		if j < 0 || i+j >= end {
			break
		}
		at := i + j
		h := at + len(s.needle)
		if h+hashLen <= len(b) && s.hashes[string(b[h:h+hashLen])] {
			offs = append(offs, base+int64(at))
		}
		i = at + 1
	}
	return offs
}

// Rewrite replaces, in a symlink target, every reference of the pack's
// items by prefix. ok is false when there is none.
func (s *Scanner) Rewrite(target, prefix string) (string, bool) {
	b := []byte(target)
	offs := s.Find(b, len(b), 0, nil)
	for _, o := range offs {
		copy(b[o:], prefix)
	}
	return string(b), len(offs) > 0
}

// State is what the pack's .gpack/relocate/state records: the prefix its
// files now name in place of the store, and whether the rewrite finished.
type State struct {
	Prefix string
	Store  string
	// Root is the pack's directory when it was last run, for people
	// reading the file: the prefix's link says where the pack is now.
	Root     string
	Complete bool
	// Compressed is how many of the pack's files are compressed (gzip,
	// xz, zstd, bzip2, zip), and FirstCompressed one of them: store
	// references inside them stay as they were.
	Compressed      int
	FirstCompressed string
}

const stateMagic = "gpack-relocate\t1"

// Format renders the state.
func (st *State) Format() []byte {
	complete := "no"
	if st.Complete {
		complete = "yes"
	}
	return []byte(stateMagic + "\nprefix\t" + st.Prefix + "\nstore\t" + st.Store + "\nroot\t" + st.Root +
		"\ncomplete\t" + complete + "\ncompressed\t" + strconv.Itoa(st.Compressed) + "\t" + st.FirstCompressed + "\n")
}

// ParseState reads a state that Format wrote.
func ParseState(b []byte) (*State, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	st := &State{}
	first := true
	for sc.Scan() {
		line := sc.Text()
		if first {
			if line != stateMagic {
				return nil, errors.New("not a relocation state of this launcher: " + strconv.Quote(line))
			}
			first = false
			continue
		}
		k, v, _ := strings.Cut(line, "\t")
		switch k {
		case "prefix":
			st.Prefix = v
		case "store":
			st.Store = v
		case "root":
			st.Root = v
		case "complete":
			st.Complete = v == "yes"
		case "compressed":
			n, first, _ := strings.Cut(v, "\t")
			st.Compressed, _ = strconv.Atoi(n)
			st.FirstCompressed = first
		}
	}
	if first {
		return nil, errors.New("the relocation state is empty")
	}
	if len(st.Prefix) != len(st.Store) || !strings.HasPrefix(st.Prefix, "/") {
		return nil, errs.Wrap(errors.New("prefix "+strconv.Quote(st.Prefix)+" does not stand for store "+strconv.Quote(st.Store)),
			"the relocation state is damaged")
	}
	return st, nil
}
