package syspkg

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/internal/atomicfile"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// CheckDir tells, before any work, whether packages ending in ext (".deb")
// may be written to the directory dir: nothing is there, or a directory
// that holds only such packages (which are replaced, the directory as a
// whole), and its parent takes new entries. Standard output is refused.
func CheckDir(f formats.Format, dir, ext string) error {
	if dir == formats.Stdout {
		return formats.StdoutRefused(f, "it writes a directory of packages")
	}
	dir = filepath.Clean(dir)
	if fi, err := os.Lstat(dir); err == nil {
		if !fi.IsDir() {
			return &usererr.Error{Path: dir, What: "exists and is not a directory; -f " + f.Name() + " writes a directory of packages", Fix: "remove it or give -o a new directory"}
		}
		ents, err := os.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("writing %s: %w", dir, err)
		}
		for _, e := range ents {
			if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), ext) {
				return &usererr.Error{Path: dir, What: "holds " + e.Name() + ", which is not a " + ext + " package, and the directory would be replaced", Fix: "remove it or give -o a new directory"}
			}
		}
	}
	return atomicfile.CheckDir(dir)
}

// WriteOne writes package p to w; scratch is a directory for its
// temporary files.
type WriteOne func(ctx context.Context, w io.Writer, p *Package, scratch string) error

// WriteDir writes every package of pkgs to the directory out, atomically
// (atomicfile.Dir: it appears whole or not at all), each under the name
// name(p), mode 0644, and returns the total size written, which it
// reports to prog.
func WriteDir(ctx context.Context, out string, pkgs []*Package, prog pack.Progress, name func(*Package) string, write WriteOne) (int64, error) {
	if prog == nil {
		prog = pack.NoProgress{}
	}
	d, err := atomicfile.CreateDir(out)
	if err != nil {
		return 0, err
	}
	defer d.Abort()
	var total int64
	for _, p := range pkgs {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		path := filepath.Join(d.Name(), name(p))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return 0, fmt.Errorf("writing %s: %w", out, err)
		}
		c := &counter{w: f, prog: prog}
		err = write(ctx, c, p, d.Name())
		if err == nil {
			// The mode of every output, whatever the umask.
			err = f.Chmod(atomicfile.Mode)
		}
		if cerr := f.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if c.err != nil {
			return 0, fmt.Errorf("writing %s: %w", filepath.Join(out, name(p)), c.err)
		}
		if err != nil {
			return 0, err
		}
		total += c.n
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if err := d.Commit(); err != nil {
		return 0, err
	}
	return total, nil
}

type counter struct {
	w    io.Writer
	n    int64
	prog pack.Progress
	err  error
}

func (c *counter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.prog.Wrote(int64(n))
	if err != nil && c.err == nil {
		c.err = err
	}
	return n, err
}

// TreeArch is the architecture of every package of t, in a package
// manager's words (arch turns a GOARCH name into them): that of its
// launcher, else of its first ELF file, else none (deb's all, rpm's
// noarch).
func TreeArch(t *pack.Tree, arch func(goarch string) string, none string) string {
	if t.LauncherArch != "" {
		return arch(t.LauncherArch)
	}
	a, err := t.Arch()
	if err != nil {
		return none
	}
	return arch(a)
}
