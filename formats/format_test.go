package formats_test

import (
	"strings"
	"testing"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/oci"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/formats/tarball"
	"github.com/gpack/gpack/internal/usererr"
)

var all = []formats.Format{tarball.Format, squashfs.Format, oci.Docker, oci.OCI}

func TestLookup(t *testing.T) {
	for _, f := range all {
		if got, err := formats.Lookup(all, f.Name()); err != nil || got != f {
			t.Errorf("Lookup(%q) = %v, %v", f.Name(), got, err)
		}
	}
	_, err := formats.Lookup(all, "deb")
	if err == nil || !strings.Contains(err.Error(), "tarball, squashfs, docker, oci") || usererr.KindOf(err) != usererr.Usage {
		t.Errorf("Lookup(deb): %v, want a usage error listing the formats", err)
	}
}

// TestCompression: -C, the output's name and --level decide together.
func TestCompression(t *testing.T) {
	for _, tc := range []struct {
		f         formats.Format
		out, c    string
		level     int
		algo      compress.Algo
		wantLevel int
		err       string
	}{
		{tarball.Format, "", "", 0, compress.Gzip, 9, ""},
		{tarball.Format, "x.tar.zst", "", 0, compress.Zstd, 3, ""},
		{tarball.Format, "x.tzst", "", 5, compress.Zstd, 5, ""},
		{tarball.Format, "dir/x.txz", "", 0, compress.Xz, 6, ""},
		{tarball.Format, "x.tgz", "gz", 0, compress.Gzip, 9, ""},
		{tarball.Format, "x.tar", "", 0, compress.None, 0, ""},
		{tarball.Format, "x.pack", "zstd", 0, compress.Zstd, 3, ""},
		{tarball.Format, ".tar.gz", "xz", 0, compress.Xz, 6, ""}, // a name that is all ending says nothing
		{tarball.Format, "x.tar.zst", "gzip", 0, "", 0, "-C gzip contradicts -o x.tar.zst, a name for zstd"},
		{tarball.Format, "x.tar", "gzip", 0, "", 0, "-C gzip contradicts -o x.tar, a name for none"},
		{tarball.Format, "", "lz4", 0, "", 0, "-C lz4: -f tarball takes gzip, zstd, xz or none (lz4 is for -f squashfs only)"},
		{tarball.Format, "", "lzip", 0, "", 0, "unknown compression"},
		{tarball.Format, "", "none", 3, "", 0, "--level 3: none has no levels"},
		{tarball.Format, "", "gzip", 10, "", 0, "--level 10: gzip takes 1 to 9"},
		{squashfs.Format, "x.squashfs", "", 0, compress.Gzip, 9, ""},
		{squashfs.Format, "x.squashfs", "zstd", 0, compress.Zstd, 15, ""},
		{squashfs.Format, "x.squashfs", "lz4", 0, compress.LZ4, 1, ""},
		{squashfs.Format, "x.tar.zst", "xz", 0, compress.Xz, 0, ""}, // a squashfs name says nothing of it
		{squashfs.Format, "", "xz", 2, "", 0, "--level 2: xz has no levels"},
		{oci.Docker, "", "zstd", 0, compress.Zstd, 3, ""},
		{oci.OCI, "x.tar", "", 0, compress.Gzip, 9, ""},
		{oci.OCI, "", "xz", 0, "", 0, "-f oci takes gzip or zstd (xz is for -f tarball and squashfs only)"},
	} {
		algo, level, err := formats.Compression(all, tc.f, tc.out, tc.c, tc.level)
		name := tc.f.Name() + " -o " + tc.out + " -C " + tc.c
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) || usererr.KindOf(err) != usererr.Usage {
				t.Errorf("%s --level %d: %s %d, %v; want a usage error %q", name, tc.level, algo, level, err, tc.err)
			}
			continue
		}
		if err != nil || algo != tc.algo || level != tc.wantLevel {
			t.Errorf("%s --level %d: %s %d, %v; want %s %d", name, tc.level, algo, level, err, tc.algo, tc.wantLevel)
		}
	}
}

func TestDefaultOutput(t *testing.T) {
	for _, tc := range []struct {
		f    formats.Format
		algo compress.Algo
		push string
		want string
	}{
		{tarball.Format, compress.Gzip, "", "hello.tar.gz"},
		{tarball.Format, compress.Zstd, "", "hello.tar.zst"},
		{tarball.Format, compress.Xz, "", "hello.tar.xz"},
		{tarball.Format, compress.None, "", "hello.tar"},
		{squashfs.Format, compress.Xz, "", "hello.squashfs"},
		{oci.Docker, compress.Gzip, "", "hello.docker.tar"},
		{oci.OCI, compress.Zstd, "", "hello.oci"},
		{oci.OCI, compress.Gzip, "localhost:5000/hello", ""},
	} {
		opts := &formats.Options{Image: formats.ImageOptions{Push: tc.push}}
		if got := formats.DefaultOutput(tc.f, "hello", tc.algo, opts); got != tc.want {
			t.Errorf("%s %s: %q, want %q", tc.f.Name(), tc.algo, got, tc.want)
		}
	}
}

// TestEveryFormat: what the CLI relies on of each format.
func TestEveryFormat(t *testing.T) {
	for _, f := range all {
		if len(f.Extensions()) == 0 || len(f.Compressors()) == 0 {
			t.Errorf("%s: no extensions or no compressors", f.Name())
		}
		for _, c := range f.Compressors() {
			if _, err := c.Level(0); err != nil {
				t.Errorf("%s %s: default level: %v", f.Name(), c.Algo, err)
			}
		}
		for _, e := range f.Extensions() {
			if _, ok := compress.Find(f.Compressors(), e.Algo); e.Algo != "" && !ok {
				t.Errorf("%s: %s stands for %s, which it does not take", f.Name(), e.Suffix, e.Algo)
			}
		}
	}
}

// TestCheckFlags: a flag that some format takes and the chosen one does not
// is bad usage, saying which formats take it; the flags every format takes
// are never refused.
func TestCheckFlags(t *testing.T) {
	for _, tc := range []struct {
		f     formats.Format
		given []string
		err   string
	}{
		{tarball.Format, []string{"output", "compression", "level", "relocatable", "symlink", "quiet"}, ""},
		{tarball.Format, []string{"block-size"}, "--block-size applies to -f squashfs, not to -f tarball"},
		{tarball.Format, []string{"cmd"}, "--cmd applies to -f docker and oci, not to -f tarball"},
		{tarball.Format, []string{"entry-point", "entry-point-argument"}, ""},
		{squashfs.Format, []string{"block-size", "entry-point", "entry-point-argument"}, ""},
		{squashfs.Format, []string{"push"}, "--push applies to -f docker and oci, not to -f squashfs"},
		{oci.Docker, []string{"push", "insecure", "max-layers", "arch", "cmd", "image-tag", "entry-point", "entry-point-argument", "no-cache"}, ""},
		{oci.OCI, []string{"image-tag", "block-size"}, "--block-size applies to -f squashfs, not to -f oci"},
	} {
		err := formats.CheckFlags(all, tc.f, tc.given)
		if tc.err == "" {
			if err != nil {
				t.Errorf("-f %s %v: %v", tc.f.Name(), tc.given, err)
			}
			continue
		}
		if err == nil || err.Error() != tc.err || usererr.KindOf(err) != usererr.Usage {
			t.Errorf("-f %s %v: %v; want the usage error %q", tc.f.Name(), tc.given, err, tc.err)
		}
	}
}

func TestParseSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"4096", 4096}, {"128K", 128 << 10}, {"1m", 1 << 20}, {" 64k ", 64 << 10},
		{"", -1}, {"K", -1}, {"-4K", -1}, {"1.5M", -1}, {"1G", -1}, {"0", -1},
	} {
		got, err := formats.ParseSize(tc.in)
		if tc.want < 0 {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}

// FuzzCompression: whatever -o, -C and --level say, the answer is a
// compressor the format takes at a level it takes, or a usage error.
func FuzzCompression(f *testing.F) {
	f.Add(uint8(0), "x.tar.zst", "", 0)
	f.Add(uint8(1), "x.squashfs", "lz4", 9)
	f.Add(uint8(3), "x.tar", "ZST", -1)
	f.Fuzz(func(t *testing.T, which uint8, out, c string, level int) {
		format := all[int(which)%len(all)]
		algo, l, err := formats.Compression(all, format, out, c, level)
		if err != nil {
			if usererr.KindOf(err) != usererr.Usage {
				t.Fatalf("not a usage error: %v", err)
			}
			return
		}
		comp, ok := compress.Find(format.Compressors(), algo)
		if !ok {
			t.Fatalf("%s does not take %s", format.Name(), algo)
		}
		if got, err := comp.Level(l); err != nil || got != l || (l == 0) != (comp.Max == 0) {
			t.Fatalf("%s level %d: %d, %v", algo, l, got, err)
		}
	})
}
