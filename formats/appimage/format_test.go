package appimage_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/appimage"
	"github.com/gpack/gpack/formats/appimage/layout"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/launcher/contract"
	"github.com/gpack/gpack/pack"
)

// withAppImage adds to the suite's tree what -f appimage packs hold
// beyond the -R tree the suite has: AppRun, a manifest naming the
// wrappers, and the launcher's architecture.
func withAppImage(t *testing.T, tr *pack.Tree) *pack.Tree {
	var m strings.Builder
	const hello = "/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/bin/hello"
	if _, err := (&contract.Manifest{Store: tr.Store, Programs: map[string]string{"hello": hello, "sh": hello}}).WriteTo(&m); err != nil {
		t.Fatal(err)
	}
	out := *tr
	out.Entries = append(append([]pack.Entry{}, tr.Entries...),
		pack.Entry{Path: contract.ManifestPath, Kind: pack.File, Mode: 0o444, Size: int64(m.Len()), Data: []byte(m.String())},
		pack.Entry{Path: appimage.AppRunPath, Kind: pack.Symlink, Mode: 0o777, Target: "bin/hello"})
	sort.Slice(out.Entries, func(i, j int) bool { return pack.Less(out.Entries[i].Path, out.Entries[j].Path) })
	out.LauncherArch = runtime.GOARCH
	return &out
}

// offset is what the AppImage out says with --appimage-offset, checked
// against the layout package's reading of the file.
func offset(t *testing.T, out string) int64 {
	b, err := exec.Command(out, "--appimage-offset").Output()
	if err != nil {
		t.Fatalf("%s --appimage-offset: %v", out, err)
	}
	off, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	l, err := layout.Read(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	if l.Offset != off {
		t.Fatalf("--appimage-offset says %d, the file's layout %d", off, l.Offset)
	}
	return off
}

func TestFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format: appimage.Format,
		Tree:   withAppImage,
		Readers: []formattest.Reader{
			{Name: "unsquashfs -o", Read: func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
				need.Tool(t, "unsquashfs", "squashfs-tools")
				dir := filepath.Join(t.TempDir(), "root")
				cmd := exec.Command("unsquashfs", "-no-progress", "-n", "-o", strconv.FormatInt(offset(t, out), 10), "-d", dir, out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("unsquashfs: %v\n%s", err, b)
				}
				return formattest.ReadDir(t, dir)
			}},
			{Name: "--appimage-extract", Read: func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
				dir := t.TempDir()
				cmd := exec.Command(out, "--appimage-extract")
				cmd.Dir = dir
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("%s --appimage-extract: %v\n%s", out, err, b)
				}
				return formattest.ReadDir(t, filepath.Join(dir, "squashfs-root"))
			}},
		},
	})
}

// TestExtractPattern: --appimage-extract PATTERN extracts the paths that
// match and their parents only, as the AppImage runtime does.
func TestExtractPattern(t *testing.T) {
	tr := withAppImage(t, formattest.Tree(t))
	out := filepath.Join(t.TempDir(), "x.AppImage")
	if _, err := appimage.Format.Write(context.Background(), tr, out, &formats.Options{Compression: compress.Zstd, Level: 3}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		pattern string
		want    []string
	}{
		{"bin/*", []string{"bin", "bin/hello", "bin/sh"}},
		{"gnu/store/*-b-2.0/data", []string{"gnu", "gnu/store", "gnu/store/zyxwvsrqpnmlkjihgfdcba9876543210-b-2.0",
			"gnu/store/zyxwvsrqpnmlkjihgfdcba9876543210-b-2.0/data"}},
		{"nothing*", nil},
	} {
		t.Run(c.pattern, func(t *testing.T) {
			dir := t.TempDir()
			cmd := exec.Command(out, "--appimage-extract", c.pattern)
			cmd.Dir = dir
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("--appimage-extract %s: %v\n%s", c.pattern, err, b)
			}
			var got []string
			for _, e := range formattest.ReadDir(t, filepath.Join(dir, "squashfs-root")) {
				got = append(got, e.Path)
			}
			if strings.Join(got, "\n") != strings.Join(c.want, "\n") {
				t.Errorf("--appimage-extract %s extracted %q, want %q", c.pattern, got, c.want)
			}
		})
	}
}
