package tarball

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/pack"
)

// testTree is a small tree with every kind of entry, long and odd names.
func testTree(t *testing.T) *pack.Tree {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.WriteFile(src, []byte("from disk"), 0o644)
	long := strings.Repeat("n", 200) + "/" + strings.Repeat("m", 120)
	tr := &pack.Tree{Store: "/gnu/store", Mtime: time.Unix(1, 0).UTC(), Entries: []pack.Entry{
		{Path: ".gpack", Kind: pack.Dir, Mode: 0o755},
		{Path: ".gpack/launcher", Kind: pack.File, Mode: 0o555, Size: 3, Data: []byte("elf")},
		{Path: "bin", Kind: pack.Dir, Mode: 0o755},
		{Path: "bin/hello", Kind: pack.HardLink, Mode: 0o555, Target: ".gpack/launcher"},
		{Path: "gnu", Kind: pack.Dir, Mode: 0o755},
		{Path: "gnu/store", Kind: pack.Dir, Mode: 0o1775},
		{Path: "gnu/store/x-a", Kind: pack.Dir, Mode: 0o555},
		{Path: "gnu/store/x-a/disk", Kind: pack.File, Mode: 0o444, Size: 9, Source: src},
		{Path: "gnu/store/x-a/empty", Kind: pack.File, Mode: 0o444, Size: 0, Data: []byte{}},
		{Path: "gnu/store/x-a/link", Kind: pack.Symlink, Mode: 0o777, Target: "/gnu/store/x-a/disk"},
		{Path: "gnu/store/x-a/new\nline\xff", Kind: pack.File, Mode: 0o444, Size: 1, Data: []byte("z")},
		{Path: "gnu/store/x-a/" + strings.Repeat("n", 200), Kind: pack.Dir, Mode: 0o555},
		{Path: "gnu/store/x-a/" + long, Kind: pack.Symlink, Mode: 0o777, Target: strings.Repeat("t", 300)},
	}}
	if err := pack.Validate(tr); err != nil {
		t.Fatal(err)
	}
	return tr
}

// readBack lists an archive as entries, for comparison with the tree.
func readBack(t *testing.T, r io.Reader) []pack.Entry {
	tr := tar.NewReader(r)
	var out []pack.Entry
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "root" || h.Gname != "root" || !h.ModTime.Equal(time.Unix(1, 0)) ||
			!h.AccessTime.IsZero() || !h.ChangeTime.IsZero() || len(h.PAXRecords) != 0 || h.Format != tar.FormatGNU {
			t.Errorf("%s: header %+v", h.Name, h)
		}
		if !strings.HasPrefix(h.Name, "./") {
			t.Errorf("%s: no ./ prefix", h.Name)
		}
		e := pack.Entry{Path: strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/"), Mode: os.FileMode(h.Mode)}
		switch h.Typeflag {
		case tar.TypeDir:
			e.Kind = pack.Dir
		case tar.TypeReg:
			e.Kind = pack.File
			e.Data, _ = io.ReadAll(tr)
			e.Size = int64(len(e.Data))
		case tar.TypeSymlink:
			e.Kind, e.Target = pack.Symlink, h.Linkname
		case tar.TypeLink:
			e.Kind, e.Target = pack.HardLink, strings.TrimPrefix(h.Linkname, "./")
		default:
			t.Errorf("%s: type %c", h.Name, h.Typeflag)
		}
		out = append(out, e)
	}
}

func TestRoundTrip(t *testing.T) {
	tr := testTree(t)
	for _, algo := range []compress.Algo{compress.Gzip, compress.Zstd, compress.Xz, compress.None} {
		var buf bytes.Buffer
		if err := Write(context.Background(), &buf, tr, Options{Compression: algo}); err != nil {
			t.Fatalf("%s: %v", algo, err)
		}
		r, err := decompress(algo, &buf)
		if err != nil {
			t.Fatal(err)
		}
		got := readBack(t, r)
		if len(got) != len(tr.Entries) {
			t.Fatalf("%s: %d entries, want %d", algo, len(got), len(tr.Entries))
		}
		for i, e := range tr.Entries {
			g := got[i]
			want := e
			if e.Kind == pack.File {
				rc, _ := e.Open()
				want.Data, _ = io.ReadAll(rc)
				rc.Close()
			}
			if g.Path != want.Path || g.Kind != want.Kind || g.Mode != want.Mode || g.Target != want.Target || !bytes.Equal(g.Data, want.Data) {
				t.Errorf("%s: entry %d: %+v, want %+v", algo, i, g, want)
			}
		}
	}
}

// TestChangedFile: a file that changed size since the tree was built is an
// error, not a corrupt archive.
func TestChangedFile(t *testing.T) {
	tr := testTree(t)
	for i := range tr.Entries {
		if tr.Entries[i].Source != "" {
			os.WriteFile(tr.Entries[i].Source, []byte("longer than before"), 0o644)
		}
	}
	err := Write(context.Background(), io.Discard, tr, Options{Compression: compress.None})
	if err == nil || !strings.Contains(err.Error(), "changed while gpack read it") {
		t.Errorf("error %v", err)
	}
}

func TestCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Write(ctx, io.Discard, testTree(t), Options{}); !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

// decompress reads a compressed stream with the system's own tool, the
// reader users have.
func decompress(algo compress.Algo, r io.Reader) (io.Reader, error) {
	tool := map[compress.Algo]string{compress.Gzip: "gzip", compress.Zstd: "zstd", compress.Xz: "xz"}[algo]
	if tool == "" {
		return r, nil
	}
	cmd := exec.Command(tool, "-dc")
	cmd.Stdin = r
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -dc: %w", tool, err)
	}
	return bytes.NewReader(out), nil
}
