package appimage

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gpack/gpack/formats/appimage/layout"
	"github.com/gpack/gpack/formats/squashfs"
)

// cacheBase is the directory of the extraction cache:
// $XDG_CACHE_HOME/gpack, else ~/.cache/gpack.
func cacheBase() (string, error) {
	if d := os.Getenv("XDG_CACHE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gpack"), nil
	}
	home := os.Getenv("HOME")
	if !filepath.IsAbs(home) {
		return "", errors.New("no cache directory: neither XDG_CACHE_HOME nor HOME is an absolute path")
	}
	return filepath.Join(home, ".cache", "gpack"), nil
}

// tmpPrefix starts the names of extractions under way in the cache.
const tmpPrefix = ".tmp-"

// isEntry says whether name is the name of a cache entry: a digest.
func isEntry(name string) bool {
	if len(name) != 64 {
		return false
	}
	for _, c := range name {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// cached returns the extraction of the AppImage's image (f, laid out as l)
// in the cache, extracting it first if no run has. An extraction is
// checked (the image's bytes against the digest), made in a temporary
// directory of the cache and renamed into place, so that an entry is
// complete or absent; of two runs that extract at once, one rename wins
// and the other run uses the winner's and removes its own.
func cached(f *os.File, l *layout.Layout, im *squashfs.Image, debug func(string)) (string, error) {
	base, err := cacheBase()
	if err != nil {
		return "", &unwritableError{err}
	}
	if dir, ok := cacheEntry(l); ok {
		debug("cache: " + dir + " is there")
		return dir, nil
	}
	dir := filepath.Join(base, l.Hex())
	if err := verify(f, l); err != nil {
		return "", err
	}
	// The image is what its digest says: whatever fails from here on is
	// the cache's (no room, no right to write), not the AppImage's.
	if err := os.MkdirAll(base, 0o700); err != nil {
		return "", &unwritableError{fmt.Errorf("making the cache directory: %w", err)}
	}
	tmp, err := os.MkdirTemp(base, tmpPrefix+l.Hex()[:16]+"-")
	if err != nil {
		return "", &unwritableError{fmt.Errorf("extracting into the cache: %w", err)}
	}
	start := time.Now()
	if err := extract(im, tmp, nil); err != nil {
		removeTree(tmp)
		return "", &unwritableError{fmt.Errorf("extracting into %s: %w", tmp, err)}
	}
	if err := os.Chmod(tmp, perm(im.Root())); err != nil {
		removeTree(tmp)
		return "", &unwritableError{err}
	}
	if err := os.Rename(tmp, dir); err != nil {
		removeTree(tmp)
		if fi, err2 := os.Stat(dir); err2 == nil && fi.IsDir() {
			debug("cache: another run extracted " + dir + " first")
			return dir, nil
		}
		return "", &unwritableError{fmt.Errorf("extracting into the cache: %w", err)}
	}
	debug("cache: extracted into " + dir + " in " + time.Since(start).Round(time.Millisecond).String())
	return dir, nil
}

// cacheEntry returns the cache's entry for the image laid out as l, if
// there is one. Only a complete extraction is ever renamed into place.
func cacheEntry(l *layout.Layout) (string, bool) {
	base, err := cacheBase()
	if err != nil {
		return "", false
	}
	dir := filepath.Join(base, l.Hex())
	fi, err := os.Stat(dir)
	return dir, err == nil && fi.IsDir()
}

// unwritableError is a cache that cannot be written (or found): the run
// goes on another way, where an AppImage that fails its digest does not.
type unwritableError struct{ err error }

func (e *unwritableError) Error() string { return e.err.Error() }
func (e *unwritableError) Unwrap() error { return e.err }

// verify checks that the image's bytes have the trailer's digest: the
// SHA-256 of the superblock followed by the SHA-256 of the rest of the
// image, as formats/appimage computes it while the image streams out.
func verify(f *os.File, l *layout.Layout) error {
	damaged := fmt.Errorf("%s is damaged: its image does not match its digest (copy it again)", f.Name())
	if l.Size < superblockSize {
		return damaged
	}
	sb := make([]byte, superblockSize)
	if _, err := f.ReadAt(sb, l.Offset); err != nil {
		return fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	rest := sha256.New()
	if _, err := io.Copy(rest, io.NewSectionReader(f, l.Offset+superblockSize, l.Size-superblockSize)); err != nil {
		return fmt.Errorf("reading %s: %w", f.Name(), err)
	}
	h := sha256.New()
	h.Write(sb)
	h.Write(rest.Sum(nil))
	if !bytes.Equal(h.Sum(nil), l.Digest[:]) {
		return damaged
	}
	return nil
}

// superblockSize is a squashfs superblock's.
const superblockSize = 96

// cacheCommand runs --gpack-cache list|clean: list prints every entry of
// the cache, this AppImage's marked; clean removes every entry but this
// AppImage's, and extractions that a killed run left (older than an hour).
func cacheCommand(w io.Writer, op, current string) error {
	base, err := cacheBase()
	if err != nil {
		return err
	}
	des, err := os.ReadDir(base)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	switch op {
	case "list":
		for _, de := range des {
			if !isEntry(de.Name()) {
				continue
			}
			mark := ""
			if de.Name() == current {
				mark = "\t(this AppImage)"
			}
			fmt.Fprintln(w, filepath.Join(base, de.Name())+mark)
		}
		return nil
	case "clean":
		for _, de := range des {
			p := filepath.Join(base, de.Name())
			switch {
			case isEntry(de.Name()) && de.Name() != current:
			case strings.HasPrefix(de.Name(), tmpPrefix):
				if fi, err := de.Info(); err != nil || time.Since(fi.ModTime()) < time.Hour {
					continue
				}
			default:
				continue
			}
			if err := removeTree(p); err != nil {
				return fmt.Errorf("removing %s: %w", p, err)
			}
			fmt.Fprintln(w, "removed "+p)
		}
		return nil
	}
	return fmt.Errorf("--gpack-cache %q: want list or clean", op)
}
