package closure

import (
	"errors"
	"fmt"
	"github.com/gpack/gpack/internal/usererr"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// HashLen is the length of the hash part of a store item's name.
const HashLen = 32

// Base32Chars is the alphabet of store hashes (Nix's base32: no e, o, u, t).
const Base32Chars = "0123456789abcdfghijklmnpqrsvwxyz"

// b32code maps a byte to its 5-bit value in Base32Chars, or 0xff.
var b32code [256]byte

// isB32 is b32code != 0xff, kept as its own table because the scanner's inner
// loop tests nothing else.
var isB32 [256]bool

func init() {
	for i := range b32code {
		b32code[i] = 0xff
	}
	for i := 0; i < len(Base32Chars); i++ {
		b32code[Base32Chars[i]] = byte(i)
		isB32[Base32Chars[i]] = true
	}
}

// ValidName reports whether name is a store item name: 32 base32 characters,
// a dash, and a non-empty name of the characters Nix and Guix allow.
func ValidName(name string) bool {
	if !looksLikeItem(name) {
		return false
	}
	rest := name[HashLen+1:]
	if rest[0] == '.' {
		return false
	}
	for i := 0; i < len(rest); i++ {
		c := rest[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("+-._?=", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// looksLikeItem is ValidName's lenient cousin, used to find which component of
// a path is meant as an item so that a malformed name can be reported as such.
func looksLikeItem(name string) bool {
	if len(name) < HashLen+2 || name[HashLen] != '-' {
		return false
	}
	for i := 0; i < HashLen; i++ {
		if !isB32[name[i]] {
			return false
		}
	}
	return true
}

// Store is a store directory and the hash parts of its entries.
type Store struct {
	// Dir is the absolute store directory as paths inside items spell it,
	// e.g. /gnu/store; symlinks in it are not resolved, because references
	// are found by that spelling.
	Dir string

	hashes []string          // sorted hash parts, the scanner's candidates
	paths  map[string]string // hash part -> absolute item path
}

// OpenStore lists dir and indexes the hash part of every entry whose name is
// a store item name. Entries such as .links or lock files are ignored.
func OpenStore(dir string) (*Store, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store directory %s: %w", dir, err)
	}
	f, err := os.Open(abs)
	if err != nil {
		return nil, storeDirError(abs, err)
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return nil, storeDirError(abs, err)
	}
	sort.Strings(names)
	s := &Store{Dir: abs, paths: make(map[string]string, len(names))}
	for _, n := range names {
		if !ValidName(n) {
			continue
		}
		h := n[:HashLen]
		if old, ok := s.paths[h]; ok {
			// Two entries share a hash only when one is a lock or a
			// temporary next to the real item: keep the item.
			if strings.HasSuffix(n, ".lock") || !strings.HasSuffix(old, ".lock") {
				continue
			}
		} else {
			s.hashes = append(s.hashes, h)
		}
		s.paths[h] = abs + "/" + n
	}
	sort.Strings(s.hashes)
	return s, nil
}

func storeDirError(dir string, err error) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		return &usererr.Error{Path: dir, What: "cannot list the store directory (permission denied)", Fix: "gpack needs read access to the store directory to learn its items; ask its owner for r-x or pass --store with a readable copy", Err: err}
	case errors.Is(err, fs.ErrNotExist):
		return &usererr.Error{Path: dir, What: "store directory does not exist", Fix: "check --store or the path you gave", Err: err}
	}
	return &usererr.Error{Path: dir, What: "cannot list the store directory: " + errText(err), Err: err}
}

// Len is the number of items in the store.
func (s *Store) Len() int { return len(s.hashes) }

// Item returns the item path for a hash part.
func (s *Store) Item(hash string) (string, bool) {
	p, ok := s.paths[hash]
	return p, ok
}

// Locate returns the store directory and the store item that path names.
// path may be an item, any path inside one, or a chain of symlinks that ends
// in one (a profile link). With storeDir empty the store is the directory
// that holds the first path component shaped like an item name.
func Locate(path, storeDir string) (store, item string, err error) {
	p, err := filepath.Abs(path)
	if err != nil {
		return "", "", fmt.Errorf("locate %s: %w", path, err)
	}
	if storeDir != "" {
		if storeDir, err = filepath.Abs(storeDir); err != nil {
			return "", "", fmt.Errorf("store directory %s: %w", storeDir, err)
		}
	}
	if _, err := os.Lstat(p); err != nil {
		return "", "", missingPath(path, err)
	}
	var via string // the last symlink followed, for error messages
	for hops := 0; hops < 64; hops++ {
		if st, it, ok, err := itemOf(p, storeDir); err != nil {
			return "", "", err
		} else if ok {
			if _, err := os.Lstat(it); err != nil {
				e := missingPath(it, err)
				if via != "" && errors.Is(err, fs.ErrNotExist) {
					e = &usererr.Error{Path: path, What: "dangling symlink to " + usererr.Quote(p) + ": store item " + usererr.Quote(it) + " does not exist", Fix: "build or fetch it again, or give the store item itself", Err: err}
				}
				return "", "", e
			}
			return st, it, nil
		}
		next, link, err := resolveOne(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && via != "" {
				return "", "", &usererr.Error{Path: path, What: "dangling symlink: " + usererr.Quote(via) + " points to " + usererr.Quote(p) + ", which does not exist", Fix: "rebuild the target or give a store item", Err: err}
			}
			return "", "", missingPath(p, err)
		}
		if next == "" {
			return "", "", notInStore(path, p, storeDir)
		}
		p, via = next, link
	}
	return "", "", &usererr.Error{Path: path, What: "too many levels of symbolic links", Fix: "give the store item itself"}
}

// itemOf finds the item in a lexically clean absolute path.
func itemOf(p, storeDir string) (store, item string, ok bool, err error) {
	if storeDir != "" {
		rel, isUnder := strings.CutPrefix(p, storeDir+"/")
		if !isUnder {
			return "", "", false, nil
		}
		name, _, _ := strings.Cut(rel, "/")
		if !ValidName(name) {
			return "", "", false, malformed(storeDir + "/" + name)
		}
		return storeDir, storeDir + "/" + name, true, nil
	}
	comps := strings.Split(p, "/")
	for i, c := range comps {
		if !looksLikeItem(c) {
			continue
		}
		dir := strings.Join(comps[:i], "/")
		if dir == "" {
			dir = "/"
		}
		if !ValidName(c) {
			return "", "", false, malformed(filepath.Join(dir, c))
		}
		return dir, filepath.Join(dir, c), true, nil
	}
	// A path right under a directory called "store" is meant as an item:
	// say what is wrong with its name instead of "not in a store".
	for i := 1; i < len(comps)-1; i++ {
		if comps[i] == "store" && i+1 < len(comps) {
			if _, err := os.Lstat(strings.Join(comps[:i+2], "/")); err == nil && !isSymlink(strings.Join(comps[:i+2], "/")) {
				return "", "", false, malformed(strings.Join(comps[:i+2], "/"))
			}
		}
	}
	return "", "", false, nil
}

func isSymlink(p string) bool {
	fi, err := os.Lstat(p)
	return err == nil && fi.Mode()&fs.ModeSymlink != 0
}

// resolveOne replaces the first symlink component of p by its target. It
// returns "" when p holds no symlink.
func resolveOne(p string) (next, link string, err error) {
	comps := strings.Split(p, "/")
	prefix := ""
	for i := 1; i < len(comps); i++ {
		cur := prefix + "/" + comps[i]
		fi, err := os.Lstat(cur)
		if err != nil {
			return "", "", err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			t, err := os.Readlink(cur)
			if err != nil {
				return "", "", err
			}
			if !filepath.IsAbs(t) {
				t = filepath.Join(prefix+"/", t)
			}
			rest := strings.Join(comps[i+1:], "/")
			return filepath.Clean(t + "/" + rest), cur, nil
		}
		prefix = cur
	}
	return "", "", nil
}

func missingPath(p string, err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return &usererr.Error{Path: p, What: "no such file or directory", Fix: "check the path", Err: err}
	case errors.Is(err, fs.ErrPermission):
		return &usererr.Error{Path: p, What: "permission denied", Fix: "make it readable or run gpack as a user who can read it", Err: err}
	}
	return &usererr.Error{Path: p, What: errText(err), Err: err}
}

func malformed(p string) error {
	return &usererr.Error{Path: p, What: "malformed store item name", Fix: "a store item is named <32 characters of " + Base32Chars + ">-<name> with name in [A-Za-z0-9+-._?=]"}
}

func notInStore(arg, resolved, storeDir string) error {
	if resolved == storeDir || storeDir == "" && holdsItems(resolved) {
		what := "is a store directory, not a store item"
		if abs, err := filepath.Abs(arg); err != nil || abs != resolved {
			what = "resolves to the store directory " + usererr.Quote(resolved) + ", not to a store item"
		}
		return &usererr.Error{Path: arg, What: what,
			Fix: "give an item of it (" + resolved + "/<hash>-<name>), a path inside one, or a profile that links to one (~/.guix-profile, ./result)"}
	}
	what := "not in a store"
	if resolved != arg {
		what += " (resolves to " + usererr.Quote(resolved) + ")"
	}
	if storeDir != "" {
		what = "not in the store " + usererr.Quote(storeDir)
		if resolved != arg {
			what += " (resolves to " + usererr.Quote(resolved) + ")"
		}
	}
	return &usererr.Error{Path: arg, What: what, Fix: "give a store item such as /gnu/store/<hash>-<name>, a path inside one, or a link to one; --store DIR names the store"}
}

// holdsItems reports whether dir is a directory with an entry named as a
// store item is: a store directory. Only error messages ask, so reading
// some of a large store is no cost.
func holdsItems(dir string) bool {
	f, err := os.Open(dir)
	if err != nil {
		return false
	}
	defer f.Close()
	for {
		names, err := f.Readdirnames(1024)
		for _, n := range names {
			if ValidName(n) {
				return true
			}
		}
		if err != nil || len(names) == 0 {
			return false
		}
	}
}

// errText is err's message without the "op path:" prefix that *fs.PathError
// adds, since Error already names the path.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}
