package deb

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/syspkg/syspkgtest"
	"github.com/gpack/gpack/pack"
)

// arMember is a member of an ar archive as readAr parses it.
type arMember struct {
	name  string
	mtime int64
	data  []byte
}

// readAr parses a common ar archive strictly: the magic, 60-byte headers
// of decimal fields ending in "`\n", owner 0:0, mode 100644, and the
// padding to even offsets.
func readAr(b []byte) ([]arMember, error) {
	if !bytes.HasPrefix(b, []byte("!<arch>\n")) {
		return nil, fmt.Errorf("no ar magic")
	}
	b = b[8:]
	var ms []arMember
	for len(b) > 0 {
		if len(b) < 60 {
			return nil, fmt.Errorf("a header cut short: %d bytes", len(b))
		}
		h := string(b[:60])
		if h[58:] != "`\n" {
			return nil, fmt.Errorf("header %q: no end", h)
		}
		field := func(from, to int) string { return strings.TrimRight(h[from:to], " ") }
		if field(28, 34) != "0" || field(34, 40) != "0" || field(40, 48) != "100644" {
			return nil, fmt.Errorf("header %q: owner or mode", h)
		}
		mtime, err1 := strconv.ParseInt(field(16, 28), 10, 64)
		size, err2 := strconv.ParseInt(field(48, 58), 10, 64)
		if err1 != nil || err2 != nil || size < 0 || size > int64(len(b)-60) {
			return nil, fmt.Errorf("header %q: mtime or size", h)
		}
		ms = append(ms, arMember{name: field(0, 16), mtime: mtime, data: b[60 : 60+size]})
		b = b[60+size:]
		if size%2 == 1 {
			if len(b) == 0 || b[0] != '\n' {
				return nil, fmt.Errorf("member %s: no padding", field(0, 16))
			}
			b = b[1:]
		}
	}
	return ms, nil
}

// FuzzWrite writes random packages and reads them back with readAr and
// archive/tar: the members dpkg wants in its order, the control file, and
// data.tar holding every entry with its kind, mode, content, owner and
// mtime, and md5sums for every file.
func FuzzWrite(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x10\x01\x00ab\x07\x41\x05\x03\x03\x00x\x11\x44\x02\x02y\x01\x00\x03\x01\x00z\x09\x00"))
	f.Add(bytes.Repeat([]byte{7, 1, 3, 'n', 0x55, 9, 2}, 30))
	mtime := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, data []byte) {
		p := syspkgtest.RandomPackage(data)
		var buf bytes.Buffer
		err := WritePackage(context.Background(), &buf, p, Options{Compression: compress.None, Arch: "amd64", Mtime: mtime, Scratch: t.TempDir()})
		newline := false
		for _, e := range p.Entries {
			newline = newline || strings.Contains(e.Path, "\n") || strings.Contains(e.Target, "\n")
		}
		if newline {
			if err == nil {
				t.Fatal("a name with a newline: no error")
			}
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		ms, err := readAr(buf.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) != 3 || ms[0].name != "debian-binary" || string(ms[0].data) != "2.0\n" || ms[1].name != "control.tar.gz" || ms[2].name != "data.tar" {
			t.Fatalf("members %v", ms)
		}
		for _, m := range ms {
			if m.mtime != mtime.Unix() {
				t.Errorf("%s: mtime %d", m.name, m.mtime)
			}
		}
		zr, err := gzip.NewReader(bytes.NewReader(ms[1].data))
		if err != nil {
			t.Fatal(err)
		}
		control := readTar(t, zr, mtime)
		if string(control["./control"]) != string(Control(p, "amd64")) {
			t.Errorf("control %q", control["./control"])
		}
		files := readTar(t, bytes.NewReader(ms[2].data), mtime)
		var sums strings.Builder
		for _, e := range p.Entries {
			name := "./" + e.Path
			if e.Kind == pack.Dir {
				name += "/"
			}
			got, ok := files[name]
			if !ok {
				t.Errorf("%q: missing", name)
				continue
			}
			switch e.Kind {
			case pack.File:
				if !bytes.Equal(got, e.Data) {
					t.Errorf("%q: content differs", name)
				}
				s := md5.Sum(e.Data)
				fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(s[:]), e.Path)
			case pack.HardLink:
				for _, f := range p.Entries {
					if f.Path == e.Target {
						s := md5.Sum(f.Data)
						fmt.Fprintf(&sums, "%s  %s\n", hex.EncodeToString(s[:]), e.Path)
					}
				}
			}
			if string(got) != string(files[name]) {
				t.Errorf("%q differs", name)
			}
		}
		if len(files) != len(p.Entries)+1 {
			t.Errorf("data.tar has %d entries, want %d and ./", len(files), len(p.Entries))
		}
		if string(control["./md5sums"]) != sums.String() {
			t.Errorf("md5sums %q, want %q", control["./md5sums"], sums.String())
		}
	})
}

// readTar reads a tar archive into its names and contents (a link's
// target for a link), checking owners and mtimes on the way.
func readTar(t *testing.T, r io.Reader, mtime time.Time) map[string][]byte {
	t.Helper()
	tr := tar.NewReader(r)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" || !h.ModTime.Equal(mtime) {
			t.Errorf("%q: header %+v", h.Name, h)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeSymlink || h.Typeflag == tar.TypeLink {
			b = []byte(h.Linkname)
		}
		out[h.Name] = b
	}
}
