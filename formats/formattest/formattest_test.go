package formattest

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/pack"
)

// TestDiff: the suite can fail. Each way a reader's view can differ from
// the tree is reported.
func TestDiff(t *testing.T) {
	tr := Tree(t)
	want := Want(t, tr)
	if d := Diff(want, want); len(d) != 0 {
		t.Fatalf("the tree against itself: %v", d)
	}
	find := func(es []Entry, suffix string) int {
		for i, e := range es {
			if strings.HasSuffix(e.Path, suffix) {
				return i
			}
		}
		t.Fatalf("no %s in the tree", suffix)
		return -1
	}
	for _, tc := range []struct {
		name   string
		change func([]Entry) []Entry
		says   string
	}{
		{"mode", func(es []Entry) []Entry { es[find(es, "/bin/su")].Mode = 0o555; return es }, "bin/su file 0555"},
		{"content", func(es []Entry) []Entry { es[find(es, "/empty")].Digest = "x"; return es }, "want"},
		{"missing", func(es []Entry) []Entry { return es[1:] }, ".gpack: missing"},
		{"extra", func(es []Entry) []Entry { return append(es, Entry{Path: "zzz", Kind: pack.Dir}) }, "zzz dir 0000: not in the tree"},
		{"owner", func(es []Entry) []Entry { es[0].Uid = 1000; return es }, "owner 1000:0"},
		{"mtime", func(es []Entry) []Entry { es[0].Mtime = time.Unix(1, 0); return es }, "mtime 1970-01-01"},
		{"hard link lost", func(es []Entry) []Entry {
			i := find(es, "bin/sh")
			es[i].Kind, es[i].Target = pack.File, ""
			return es
		}, "bin/sh file"},
	} {
		got := tc.change(append([]Entry(nil), want...))
		d := Diff(got, want)
		if len(d) == 0 || !strings.Contains(strings.Join(d, "\n"), tc.says) {
			t.Errorf("%s: %q, want a difference saying %q", tc.name, d, tc.says)
		}
	}
}

// TestReadTar: a tar's TypeLink entries become hard links to the first name
// in tree order, whatever order the tar has them in, with that file's
// content.
func TestReadTar(t *testing.T) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "./bin/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "./bin/b", Typeflag: tar.TypeLink, Linkname: "./a"},
		{Name: "./a", Typeflag: tar.TypeReg, Mode: 0o4555, Size: 2},
		{Name: "./l", Typeflag: tar.TypeSymlink, Linkname: "/a", Mode: 0o777},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write([]byte("hi"))
		}
	}
	tw.Close()
	got := ReadTar(t, &buf)
	var s []string
	for _, e := range got {
		s = append(s, e.String())
	}
	want := []string{
		"a file 4555 2 bytes 8f434346648f",
		"bin dir 0755",
		"bin/b hardlink 4555 -> a",
		"l symlink 0000 -> /a",
	}
	if strings.Join(s, "\n") != strings.Join(want, "\n") {
		t.Errorf("ReadTar:\n%s\nwant\n%s", strings.Join(s, "\n"), strings.Join(want, "\n"))
	}
}
