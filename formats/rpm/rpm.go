// Package rpm writes the packages of a pack (formats/syspkg) as RPM v4
// binary packages, which rpm, dnf and zypper install: gpack pack -f rpm.
//
// An .rpm is a 96-byte lead, a signature header, the main header and the
// payload, a cpio archive (newc, names ./<path>) compressed with gzip, xz
// or zstd. gpack writes them all itself (see formats/deb for why not
// goreleaser/nfpm, which keeps the payload and every file in memory).
// Headers are an index of (tag, type, offset, count) and a data store,
// with an immutable region whose trailer closes the store, as rpm writes
// and checks them; the signature header holds the sizes and digests rpm
// verifies before it installs (SHA-256 and SHA-1 of the header, MD5 of
// header and payload) and no signature.
//
// The main header's file list is sorted by path as rpm expects, with
// every file's mode, size, mtime (the tree's), SHA-256 digest, link
// target, owner root, and inode (hard links share one: the payload holds
// their content once, with the last of them, and the others empty, as
// rpm's own writer does). Requires are the items' packages at their
// exact version and the rpmlib features the package uses; Provides is
// the package itself. Every package is relocatable with the one prefix /
// (as guix pack makes them), so that `rpm -i --prefix DIR` puts the store
// items and the pack under DIR together and -R's wrappers still find the
// store through ROOT/<store's top directory>.
//
// The payload is compressed to a scratch file first, each file's SHA-256
// taken as it streams by, since the header that comes before it lists
// the digests and the signature the payload's size and MD5: memory does
// not grow with the files. No maintainer scripts.
package rpm

import (
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/syspkg"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// Options say how to write a package.
type Options struct {
	Compression compress.Algo // of the payload: gzip (default), xz or zstd
	Level       int           // 0: the compressor's default
	Concurrency int           // 0: GOMAXPROCS
	// Arch is the rpm architecture (x86_64, aarch64, noarch).
	Arch string
	// Mtime is every file's modification time, and the build time.
	Mtime time.Time
	// Progress receives the content read; nil: none.
	Progress pack.Progress
	// Scratch is a directory for the payload being compressed.
	Scratch string
}

// Release is the release of every package: a store item is built once.
const Release = "1"

// Packager is the Packager of every package gpack writes.
const Packager = "gpack <gpack@users.noreply.github.com>"

// FileName is the file name of p's .rpm, as rpmbuild names it.
func FileName(p *syspkg.Package, arch string) string {
	return p.Name + "-" + p.Version + "-" + Release + "." + arch + ".rpm"
}

// Arch maps a GOARCH name to rpm's.
func Arch(goarch string) string {
	switch goarch {
	case "amd64":
		return "x86_64"
	case "arm64":
		return "aarch64"
	case "386":
		return "i686"
	case "arm":
		return "armv7hl"
	case "":
		return "noarch"
	}
	return goarch
}

// file is one entry of the header's file list.
type file struct {
	path   string // absolute
	e      *pack.Entry
	mode   uint16
	size   uint32
	digest string
	link   string
	inode  uint32
	links  []int // the indexes of every name of a hard-linked file, this one's set
	// src holds a regular file's content; counted says whether reading
	// it is reported as progress.
	src     *pack.Entry
	counted bool
}

// Max is the largest file and payload rpm takes without its 64-bit tags,
// which gpack does not write.
const Max = 1<<32 - 1

// fileList is p's files sorted by path, with inodes and hard link sets.
func fileList(p *syspkg.Package) ([]*file, error) {
	var fs []*file
	for i := range p.Entries {
		e := &p.Entries[i]
		if e.Path == "opt" {
			// The filesystem package's (rpmlint: standard-dir-owned-by-package);
			// rpm makes it if it is missing.
			continue
		}
		f := &file{path: "/" + e.Path, e: e}
		switch e.Kind {
		case pack.Dir:
			f.mode = 0o040000
		case pack.File, pack.HardLink:
			f.mode = 0o100000
		case pack.Symlink:
			f.mode, f.link, f.size = 0o120000, e.Target, uint32(len(e.Target))
		}
		if e.Kind == pack.File {
			if e.Size > Max {
				return nil, &usererr.Error{Path: f.path, What: "rpm takes files of up to 4 GiB", Fix: "pack another format"}
			}
			f.size = uint32(e.Size)
		}
		f.mode |= uint16(e.Mode & 0o7777)
		fs = append(fs, f)
	}
	sort.Slice(fs, func(i, j int) bool { return fs[i].path < fs[j].path })
	byPath := map[string]int{}
	for i, f := range fs {
		byPath[f.e.Path] = i
		f.inode = uint32(i + 1)
	}
	for _, f := range fs {
		if f.e.Kind == pack.File {
			f.src, f.counted = f.e, true
		}
	}
	sets := map[uint32][]int{} // inode -> the names of a hard-linked file
	for i, f := range fs {
		if f.e.Kind != pack.HardLink {
			continue
		}
		t := fs[byPath[f.e.Target]]
		f.inode, f.size, f.src = t.inode, t.size, t.e
		if sets[t.inode] == nil {
			sets[t.inode] = []int{byPath[f.e.Target]}
		}
		sets[t.inode] = append(sets[t.inode], i)
	}
	// rpm 4.18.0 (Debian 12's) fails to install a hard link in another
	// directory than its first name ("cpio: link failed"), so the names
	// of a file are split by directory: one copy of the content, and one
	// inode, per directory. Only the copy holding the tree's File entry
	// reports its reading as progress, so progress counts it once.
	for _, set := range sets {
		byDir := map[string][]int{}
		for _, j := range set {
			d := fs[j].path[:lastSlash(fs[j].path)]
			byDir[d] = append(byDir[d], j)
		}
		for _, group := range byDir {
			sort.Ints(group)
			counted := false
			for _, j := range group {
				counted = counted || fs[j].counted
			}
			for _, j := range group {
				fs[j].inode = uint32(group[0] + 1)
				fs[j].counted = counted
				if len(group) > 1 {
					fs[j].links = group
				} else {
					fs[j].links = nil
				}
			}
		}
	}
	return fs, nil
}

// WritePackage writes p as an .rpm to w.
func WritePackage(ctx context.Context, w io.Writer, p *syspkg.Package, opts Options) error {
	if opts.Compression == "" {
		opts.Compression = compress.Gzip
	}
	if opts.Progress == nil {
		opts.Progress = pack.NoProgress{}
	}
	fs, err := fileList(p)
	if err != nil {
		return err
	}
	scratch, err := os.CreateTemp(opts.Scratch, ".payload.tmp-*")
	if err != nil {
		return fmt.Errorf("rpm: scratch file for %s: %w", p.Name, err)
	}
	defer os.Remove(scratch.Name())
	defer scratch.Close()
	payloadSum := sha256.New()
	cpioSize, err := writePayload(ctx, io.MultiWriter(scratch, payloadSum), fs, opts)
	if err != nil {
		return err
	}
	payloadSize, err := scratch.Seek(0, io.SeekCurrent)
	if err != nil {
		return fmt.Errorf("rpm: %s: %w", scratch.Name(), err)
	}
	hdr := mainHeader(p, fs, opts, hex.EncodeToString(payloadSum.Sum(nil)))
	if int64(len(hdr))+payloadSize > Max || cpioSize > Max {
		return &usererr.Error{Path: p.Item, What: "rpm takes packages of up to 4 GiB", Fix: "pack another format"}
	}
	// MD5 of header and payload: read the payload back once.
	md := md5.New()
	md.Write(hdr)
	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rpm: %s: %w", scratch.Name(), err)
	}
	if _, err := io.Copy(md, pack.ContextReader(ctx, scratch)); err != nil {
		return fmt.Errorf("rpm: reading back %s: %w", scratch.Name(), err)
	}
	sig := signature(hdr, uint32(int64(len(hdr))+payloadSize), md.Sum(nil), uint32(cpioSize))
	if _, err := w.Write(lead(p)); err != nil {
		return err
	}
	if _, err := w.Write(sig); err != nil {
		return err
	}
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	if _, err := scratch.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("rpm: %s: %w", scratch.Name(), err)
	}
	_, err = io.Copy(w, pack.ContextReader(ctx, scratch))
	return err
}

// lead is the 96-byte lead, which rpm reads past but checks the magic of.
func lead(p *syspkg.Package) []byte {
	b := make([]byte, 96)
	copy(b, []byte{0xed, 0xab, 0xee, 0xdb, 3, 0})
	binary.BigEndian.PutUint16(b[6:], 0) // binary
	binary.BigEndian.PutUint16(b[8:], 1) // archnum: rpm ignores it
	name := p.Name + "-" + p.Version + "-" + Release
	if len(name) > 65 {
		name = name[:65]
	}
	copy(b[10:76], name)
	binary.BigEndian.PutUint16(b[76:], 1) // Linux
	binary.BigEndian.PutUint16(b[78:], 5) // a header-style signature
	return b
}

// Signature tags.
const (
	sigSHA1        = 269
	sigSHA256      = 273
	sigSize        = 1000
	sigMD5         = 1004
	sigPayloadSize = 1007
)

// signature is the signature header, padded to 8 bytes.
func signature(hdr []byte, size uint32, md5sum []byte, payload uint32) []byte {
	var h header
	s1 := sha1.Sum(hdr)
	s256 := sha256.Sum256(hdr)
	h.str(sigSHA1, hex.EncodeToString(s1[:]))
	h.str(sigSHA256, hex.EncodeToString(s256[:]))
	h.int32s(sigSize, []uint32{size})
	h.bin(sigMD5, md5sum)
	h.int32s(sigPayloadSize, []uint32{payload})
	b := h.marshal(tagHeaderSignatures)
	for len(b)%8 != 0 {
		b = append(b, 0)
	}
	return b
}

// Main header tags (rpmtag.h).
const (
	tagI18NTable         = 100
	tagName              = 1000
	tagVersion           = 1001
	tagRelease           = 1002
	tagSummary           = 1004
	tagDescription       = 1005
	tagBuildTime         = 1006
	tagBuildHost         = 1007
	tagSize              = 1009
	tagVendor            = 1011
	tagLicense           = 1014
	tagPackager          = 1015
	tagGroup             = 1016
	tagURL               = 1020
	tagOS                = 1021
	tagArch              = 1022
	tagFileSizes         = 1028
	tagFileModes         = 1030
	tagFileRdevs         = 1033
	tagFileMtimes        = 1034
	tagFileDigests       = 1035
	tagFileLinkTos       = 1036
	tagFileFlags         = 1037
	tagFileUserName      = 1039
	tagFileGroupName     = 1040
	tagSourceRPM         = 1044
	tagFileVerifyFlags   = 1045
	tagProvideName       = 1047
	tagRequireFlags      = 1048
	tagRequireName       = 1049
	tagRequireVersion    = 1050
	tagRPMVersion        = 1064
	tagChangelogTime     = 1080
	tagChangelogName     = 1081
	tagChangelogText     = 1082
	tagFileDevices       = 1095
	tagFileInodes        = 1096
	tagFileLangs         = 1097
	tagPrefixes          = 1098
	tagProvideFlags      = 1112
	tagProvideVersion    = 1113
	tagDirIndexes        = 1116
	tagBaseNames         = 1117
	tagDirNames          = 1118
	tagPayloadFormat     = 1124
	tagPayloadCompressor = 1125
	tagPayloadFlags      = 1126
	tagFileDigestAlgo    = 5011
	tagEncoding          = 5062
	tagPayloadDigest     = 5092
	tagPayloadDigestAlgo = 5093
)

// Dependency flags.
const (
	senseLess   = 0x02
	senseEqual  = 0x08
	senseRPMLib = 1 << 24
)

const digestSHA256 = 8 // PGPHASHALGO_SHA256

// Compressors: the payload compressors of rpm that gpack writes, and
// the rpmlib feature each needs.
var payloadCompressors = map[compress.Algo]struct{ name, feature, version string }{
	compress.Gzip: {"gzip", "", ""},
	compress.Xz:   {"xz", "rpmlib(PayloadIsXz)", "5.2-1"},
	compress.Zstd: {"zstd", "rpmlib(PayloadIsZstd)", "5.4.18-1"},
}

func mainHeader(p *syspkg.Package, fs []*file, opts Options, payloadDigest string) []byte {
	var h header
	evr := p.Version + "-" + Release
	mtime := uint32(opts.Mtime.Unix())
	h.strs(tagI18NTable, []string{"C"})
	h.str(tagName, p.Name)
	h.str(tagVersion, p.Version)
	h.str(tagRelease, Release)
	h.i18n(tagSummary, p.Summary)
	h.i18n(tagDescription, strings.Join(p.Description(), "\n"))
	h.int32s(tagBuildTime, []uint32{mtime})
	h.str(tagBuildHost, "gpack")
	var size uint32
	for _, f := range fs {
		if f.e.Kind == pack.File {
			size += f.size
		}
	}
	h.int32s(tagSize, []uint32{size})
	h.str(tagVendor, "gpack")
	// The licence of a store item is its software's; the store does not
	// record it.
	h.str(tagLicense, "NOASSERTION")
	h.str(tagPackager, Packager)
	h.i18n(tagGroup, "Applications/System") // rpmlint: not Unspecified
	h.str(tagURL, "https://github.com/gpack/gpack")
	h.str(tagOS, "linux")
	h.str(tagArch, opts.Arch)

	n := len(fs)
	sizes, mtimes, flags, verify, devices, inodes := make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n), make([]uint32, n)
	modes, rdevs := make([]uint16, n), make([]uint16, n)
	digests, links, users, groups, langs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	dirIndex := map[string]uint32{}
	var dirs []string
	bases, dirIdx := make([]string, n), make([]uint32, n)
	for _, f := range fs {
		d := f.path[:lastSlash(f.path)+1]
		if _, ok := dirIndex[d]; !ok {
			dirIndex[d] = 0
			dirs = append(dirs, d)
		}
	}
	sort.Strings(dirs)
	for i, d := range dirs {
		dirIndex[d] = uint32(i)
	}
	for i, f := range fs {
		sizes[i], mtimes[i], modes[i], digests[i], links[i] = f.size, mtime, f.mode, f.digest, f.link
		verify[i], devices[i], inodes[i] = 0xffffffff, 1, f.inode
		users[i], groups[i] = "root", "root"
		j := lastSlash(f.path)
		bases[i], dirIdx[i] = f.path[j+1:], dirIndex[f.path[:j+1]]
	}
	h.int32s(tagFileSizes, sizes)
	h.int16s(tagFileModes, modes)
	h.int16s(tagFileRdevs, rdevs)
	h.int32s(tagFileMtimes, mtimes)
	h.strs(tagFileDigests, digests)
	h.strs(tagFileLinkTos, links)
	h.int32s(tagFileFlags, flags)
	h.strs(tagFileUserName, users)
	h.strs(tagFileGroupName, groups)
	h.str(tagSourceRPM, p.Name+"-"+evr+".src.rpm")
	h.int32s(tagFileVerifyFlags, verify)
	h.strs(tagProvideName, []string{p.Name})
	h.int32s(tagProvideFlags, []uint32{senseEqual})
	h.strs(tagProvideVersion, []string{evr})

	var rn, rv []string
	var rf []uint32
	for _, d := range p.Depends {
		rn, rv, rf = append(rn, d.Name), append(rv, d.Version), append(rf, senseEqual)
	}
	lib := func(name, version string) {
		rn, rv, rf = append(rn, name), append(rv, version), append(rf, senseRPMLib|senseLess|senseEqual)
	}
	lib("rpmlib(CompressedFileNames)", "3.0.4-1")
	lib("rpmlib(FileDigests)", "4.6.0-1")
	lib("rpmlib(PayloadFilesHavePrefix)", "4.0-1")
	c := payloadCompressors[opts.Compression]
	if c.feature != "" {
		lib(c.feature, c.version)
	}
	h.int32s(tagRequireFlags, rf)
	h.strs(tagRequireName, rn)
	h.strs(tagRequireVersion, rv)
	h.str(tagRPMVersion, "4.18.0")
	h.int32s(tagChangelogTime, []uint32{mtime})
	h.strs(tagChangelogName, []string{Packager + " - " + evr})
	h.strs(tagChangelogText, []string{"- Packed by gpack."})
	h.int32s(tagFileDevices, devices)
	h.int32s(tagFileInodes, inodes)
	h.strs(tagFileLangs, langs)
	h.strs(tagPrefixes, []string{"/"})
	h.int32s(tagDirIndexes, dirIdx)
	h.strs(tagBaseNames, bases)
	h.strs(tagDirNames, dirs)
	h.str(tagPayloadFormat, "cpio")
	h.str(tagPayloadCompressor, c.name)
	h.str(tagPayloadFlags, fmt.Sprint(opts.Level))
	h.int32s(tagFileDigestAlgo, []uint32{digestSHA256})
	h.str(tagEncoding, "utf-8")
	h.strs(tagPayloadDigest, []string{payloadDigest})
	h.int32s(tagPayloadDigestAlgo, []uint32{digestSHA256})
	return h.marshal(tagHeaderImmutable)
}

func lastSlash(p string) int {
	for i := len(p) - 1; i >= 0; i-- {
		if p[i] == '/' {
			return i
		}
	}
	return -1
}

// writePayload writes the files as a compressed cpio archive to w, takes
// each file's digest, and returns the archive's uncompressed size.
func writePayload(ctx context.Context, w io.Writer, fs []*file, opts Options) (int64, error) {
	cw, err := compress.NewWriter(w, opts.Compression, compress.Options{Level: opts.Level, Concurrency: opts.Concurrency})
	if err != nil {
		return 0, err
	}
	closed := false
	defer func() {
		if !closed {
			cw.Close()
		}
	}()
	cp := &cpioWriter{w: cw}
	mtime := uint32(opts.Mtime.Unix())
	buf := make([]byte, 1<<20)
	done := map[int]bool{}
	for i, f := range fs {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if done[i] {
			continue
		}
		set := []int{i}
		if len(f.links) > 0 {
			set = f.links // the hard links go together, the content with the last
		}
		for k, j := range set {
			g := fs[j]
			done[j] = true
			nlink := uint32(len(set))
			var size uint32
			var content *pack.Entry
			switch {
			case g.e.Kind == pack.Symlink:
				size = g.size
			case g.mode&0o170000 == 0o100000 && k == len(set)-1:
				size = g.size
				content = g.src
			}
			cp.header(CpioHeader{Ino: g.inode, Mode: uint32(g.mode), Nlink: nlink, Mtime: mtime, Size: size, Name: "." + g.path})
			switch {
			case g.e.Kind == pack.Symlink:
				cp.write([]byte(g.link))
			case content != nil:
				r, err := content.Open()
				if err != nil {
					return 0, err
				}
				h := sha256.New()
				var in io.Reader = r
				if g.counted {
					in = pack.ProgressReader(r, opts.Progress)
				}
				_, err = io.CopyBuffer(io.MultiWriter(cp, h), pack.ContextReader(ctx, in), buf)
				r.Close()
				if err != nil {
					return 0, err
				}
				if g.counted {
					opts.Progress.Add(1, 0)
				}
				sum := hex.EncodeToString(h.Sum(nil))
				for _, x := range set {
					fs[x].digest = sum
				}
			}
			cp.pad()
		}
	}
	cp.header(CpioHeader{Nlink: 1, Name: "TRAILER!!!"})
	cp.pad()
	if cp.err != nil {
		return 0, cp.err
	}
	closed = true
	if err := cw.Close(); err != nil {
		return 0, err
	}
	return cp.n, nil
}

// CpioHeader is a newc ("070701") cpio header's fields that rpm reads.
type CpioHeader struct {
	Ino, Mode, Nlink, Mtime, Size uint32
	Name                          string
}

// Marshal is the header with its name and the padding after it.
func (h CpioHeader) Marshal() []byte {
	s := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		h.Ino, h.Mode, 0, 0, h.Nlink, h.Mtime, h.Size, 0, 0, 0, 0, len(h.Name)+1, 0)
	b := append([]byte(s), h.Name...)
	b = append(b, 0)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

type cpioWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *cpioWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

func (c *cpioWriter) write(p []byte) { c.Write(p) }

func (c *cpioWriter) header(h CpioHeader) { c.write(h.Marshal()) }

// pad pads the archive to 4 bytes after a file's data.
func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}
