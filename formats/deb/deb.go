// Package deb writes the packages of a pack (formats/syspkg) as Debian
// binary packages, which dpkg and apt install: gpack pack -f deb.
//
// A .deb is an ar archive of three members: debian-binary ("2.0\n"),
// control.tar.gz and data.tar (gzip, zstd, xz or none, as -C says). gpack
// writes all three itself, with archive/tar and its own compressors: ar is
// 60-byte headers of decimal fields. Everything that could vary is fixed:
// member and tar mtimes are the tree's, owners 0 named root, ar modes
// 100644, tar in GNU format with names ./<path> in the tree's order. So a
// package is a function of the tree, whatever the core count, umask or
// clock (goreleaser/nfpm was measured for this, and is deterministic too,
// but keeps data.tar whole in memory, has no hard links, and adds 6.5 MB to
// gpack's binary).
//
// ar needs a member's size in its header, before the member, and the
// control member, which comes first, lists the md5sums of the data: so
// data.tar is compressed to a scratch file beside the output first, with
// the md5 of each file taken as it streams by, then the .deb is written
// (header, control, and the scratch file copied in). Memory does not grow
// with the files.
//
// The control file has Package, Version, Architecture (the closure's, from
// its first ELF file, or all), Maintainer, Installed-Size, Depends (on
// exact versions), Section, Priority, Homepage, Description. There are no
// maintainer scripts: nothing needs doing at install or removal time but
// unpacking and deleting the files, which dpkg does.
package deb

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/syspkg"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Options say how to write a package.
type Options struct {
	Compression compress.Algo // of data.tar; default gzip
	Level       int           // 0: the compressor's default
	Concurrency int           // 0: GOMAXPROCS
	// Arch is the Debian architecture (amd64, arm64, all).
	Arch string
	// Mtime is every entry's and member's modification time.
	Mtime time.Time
	// Progress receives the content read; nil: none. What is written
	// is for the caller to count.
	Progress pack.Progress
	// Scratch is a directory for the data.tar being compressed, which
	// is removed before WritePackage returns.
	Scratch string
}

// Maintainer is the Maintainer of every package gpack writes.
const Maintainer = "gpack <gpack@users.noreply.github.com>"

// FileName is the file name of p's .deb, as dpkg-name names it.
func FileName(p *syspkg.Package, arch string) string {
	return p.Name + "_" + p.Version + "_" + arch + ".deb"
}

// Arch maps a GOARCH name to Debian's.
func Arch(goarch string) string {
	switch goarch {
	case "386":
		return "i386"
	case "arm":
		return "armhf"
	case "ppc64le":
		return "ppc64el"
	case "":
		return "all"
	}
	return goarch
}

// WritePackage writes p as a .deb to w.
func WritePackage(ctx context.Context, w io.Writer, p *syspkg.Package, opts Options) error {
	if opts.Compression == "" {
		opts.Compression = compress.Gzip
	}
	if opts.Progress == nil {
		opts.Progress = pack.NoProgress{}
	}
	for _, e := range p.Entries {
		// dpkg: "newline not allowed in archive object name".
		if strings.Contains(e.Path, "\n") || strings.Contains(e.Target, "\n") {
			return &usererr.Error{Path: "/" + e.Path, What: "dpkg cannot install a file name or link target with a newline",
				Fix: "pack another format, or rename the file in the item"}
		}
	}
	scratch, err := os.CreateTemp(opts.Scratch, ".data.tar.tmp-*")
	if err != nil {
		return fmt.Errorf("deb: scratch file for %s: %w", p.Name, err)
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	sums, err := writeData(ctx, scratch, p, opts)
	if err != nil {
		return err
	}
	dataSize, err := scratch.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("deb: %s: %w", scratch.Name(), err)
	}
	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("deb: %s: %w", scratch.Name(), err)
	}
	control, err := controlTar(p, opts, sums)
	if err != nil {
		return err
	}
	aw := &arWriter{w: w, mtime: opts.Mtime.Unix()}
	aw.header()
	aw.member("debian-binary", 4, strings.NewReader("2.0\n"))
	aw.member("control.tar.gz", int64(len(control)), bytes.NewReader(control))
	aw.member("data.tar"+opts.Compression.Ext(), dataSize, pack.ContextReader(ctx, scratch))
	return aw.err
}

// writeData writes p's entries to w as a compressed data.tar and returns
// the md5sums file.
func writeData(ctx context.Context, w io.Writer, p *syspkg.Package, opts Options) ([]byte, error) {
	cw, err := compress.NewWriter(w, opts.Compression, compress.Options{Level: opts.Level, Concurrency: opts.Concurrency})
	if err != nil {
		return nil, err
	}
	closed := false
	defer func() {
		if !closed {
			cw.Close()
		}
	}()
	tw := tar.NewWriter(cw)
	if err := tw.WriteHeader(dirHeader("./", opts.Mtime)); err != nil {
		return nil, fmt.Errorf("deb: data.tar of %s: %w", p.Name, err)
	}
	var sums bytes.Buffer
	sumOf := map[string]string{}
	buf := make([]byte, 1<<20)
	for i := range p.Entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := &p.Entries[i]
		hdr := &tar.Header{Name: "./" + e.Path, Mode: int64(e.Mode), Uname: "root", Gname: "root",
			ModTime: opts.Mtime, Format: tar.FormatGNU}
		switch e.Kind {
		case pack.Dir:
			hdr.Typeflag, hdr.Name = tar.TypeDir, hdr.Name+"/"
		case pack.File:
			hdr.Typeflag, hdr.Size = tar.TypeReg, e.Size
		case pack.Symlink:
			hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, e.Target
		case pack.HardLink:
			hdr.Typeflag, hdr.Linkname = tar.TypeLink, "./"+e.Target
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, fmt.Errorf("deb: data.tar header for /%s: %w", e.Path, err)
		}
		switch e.Kind {
		case pack.File:
			r, err := e.Open()
			if err != nil {
				return nil, err
			}
			h := md5.New()
			_, err = io.CopyBuffer(io.MultiWriter(tw, h), pack.ContextReader(ctx, pack.ProgressReader(r, opts.Progress)), buf)
			r.Close()
			if err != nil {
				return nil, err
			}
			opts.Progress.Add(1, 0)
			sumOf[e.Path] = hex.EncodeToString(h.Sum(nil))
			fmt.Fprintf(&sums, "%s  %s\n", sumOf[e.Path], e.Path)
		case pack.HardLink:
			fmt.Fprintf(&sums, "%s  %s\n", sumOf[e.Target], e.Path)
		}
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("deb: data.tar of %s: %w", p.Name, err)
	}
	closed = true
	if err := cw.Close(); err != nil {
		return nil, err
	}
	return sums.Bytes(), nil
}

func dirHeader(name string, mtime time.Time) *tar.Header {
	return &tar.Header{Name: name, Typeflag: tar.TypeDir, Mode: 0o755, Uname: "root", Gname: "root", ModTime: mtime, Format: tar.FormatGNU}
}

// Control is p's control file.
func Control(p *syspkg.Package, arch string) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: %s\nInstalled-Size: %d\n",
		p.Name, p.Version, arch, Maintainer, (p.InstalledSize()+1023)/1024)
	if len(p.Depends) > 0 {
		deps := make([]string, len(p.Depends))
		for i, d := range p.Depends {
			deps[i] = d.Name + " (= " + d.Version + ")"
		}
		fmt.Fprintf(&b, "Depends: %s\n", strings.Join(deps, ", "))
	}
	fmt.Fprintf(&b, "Section: misc\nPriority: optional\nHomepage: https://github.com/gpack/gpack\n")
	fmt.Fprintf(&b, "Description: %s\n", p.Summary)
	for _, l := range p.Description() {
		fmt.Fprintf(&b, " %s\n", l)
	}
	return []byte(b.String())
}

// controlTar is control.tar.gz: control and md5sums.
func controlTar(p *syspkg.Package, opts Options, sums []byte) ([]byte, error) {
	var out bytes.Buffer
	cw, err := compress.NewWriter(&out, compress.Gzip, compress.Options{Concurrency: 1})
	if err != nil {
		return nil, err
	}
	tw := tar.NewWriter(cw)
	tw.WriteHeader(dirHeader("./", opts.Mtime))
	for _, f := range []struct {
		name string
		data []byte
	}{{"./control", Control(p, opts.Arch)}, {"./md5sums", sums}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(f.data)),
			Uname: "root", Gname: "root", ModTime: opts.Mtime, Format: tar.FormatGNU})
		tw.Write(f.data)
	}
	if err := tw.Close(); err != nil {
		return nil, fmt.Errorf("deb: control.tar of %s: %w", p.Name, err)
	}
	if err := cw.Close(); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// arWriter writes a common (System V/GNU) ar archive, as dpkg-deb does.
type arWriter struct {
	w     io.Writer
	mtime int64
	err   error
}

func (a *arWriter) write(p []byte) {
	if a.err == nil {
		_, a.err = a.w.Write(p)
	}
}

func (a *arWriter) header() { a.write([]byte("!<arch>\n")) }

// member writes a member of size bytes read from r, and the padding to an
// even offset.
func (a *arWriter) member(name string, size int64, r io.Reader) {
	a.write([]byte(ArHeader(name, a.mtime, size)))
	if a.err != nil {
		return
	}
	n, err := io.Copy(a.w, r)
	if err == nil && n != size {
		err = fmt.Errorf("deb: ar member %s: %d bytes, want %d", name, n, size)
	}
	if err != nil {
		a.err = err
		return
	}
	if size%2 == 1 {
		a.write([]byte("\n"))
	}
}

// ArHeader is the 60-byte header of an ar member.
func ArHeader(name string, mtime, size int64) string {
	pad := func(s string, n int) string { return s + strings.Repeat(" ", n-len(s)) }
	return pad(name, 16) + pad(strconv.FormatInt(mtime, 10), 12) + pad("0", 6) + pad("0", 6) +
		pad("100644", 8) + pad(strconv.FormatInt(size, 10), 10) + "`\n"
}
