package rpm_test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/formats/rpm"
	"github.com/gpack/gpack/formats/syspkg/syspkgtest"
	"github.com/gpack/gpack/internal/need"
	"github.com/gpack/gpack/pack"
)

// rpms lists the .rpm files of an output directory.
func rpms(t *testing.T, out string) []string {
	t.Helper()
	rs, err := filepath.Glob(filepath.Join(out, "*.rpm"))
	if err != nil || len(rs) == 0 {
		t.Fatalf("no .rpm in %s (%v)", out, err)
	}
	return rs
}

// extract unpacks every package with rpm2cpio and cpio into one
// directory, as root, keeping modes and mtimes.
func extract(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
	need.Tool(t, "rpm2cpio", "rpm2cpio")
	need.Tool(t, "cpio", "cpio")
	dir := t.TempDir()
	for _, r := range rpms(t, out) {
		cmd := exec.Command("sh", "-c", `rpm2cpio "$1" | cpio -idm --quiet --no-absolute-filenames`, "sh", r)
		cmd.Dir = dir
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("rpm2cpio %s | cpio -idm: %v\n%s", r, err, b)
		}
	}
	return noDirMtimes(fromRPM(syspkgtest.Unprefix(formattest.ReadDir(t, dir), "")))
}

// noDirMtimes clears the mtimes of directories, which neither cpio nor rpm
// restores once it has put more in them (another package's items in the
// store, hard links cpio makes last): mtimes checks the package's own.
func noDirMtimes(es []formattest.Entry) []formattest.Entry {
	for i := range es {
		if es[i].Kind == pack.Dir {
			es[i].Mtime = time.Time{}
		}
	}
	return es
}

// install installs every package with rpm into an empty root.
func install(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
	need.Tool(t, "rpm", "rpm")
	need.Root(t)
	root := t.TempDir()
	if b, err := exec.Command("rpm", "--root", root, "--dbpath", "/rpmdb", "--initdb").CombinedOutput(); err != nil {
		t.Fatalf("rpm --initdb: %v\n%s", err, b)
	}
	args := append([]string{"--root", root, "--dbpath", "/rpmdb", "-i"}, rpms(t, out)...)
	if b, err := exec.Command("rpm", args...).CombinedOutput(); err != nil {
		t.Fatalf("rpm %s: %v\n%s", strings.Join(args, " "), err, b)
	}
	return noDirMtimes(fromRPM(syspkgtest.Unprefix(formattest.ReadDir(t, root), "rpmdb")))
}

// fromRPM undoes what rpm packages do to the tree's hard links, for
// rpm 4.18.0: names of one file in different directories are copies.
// The suite's tree has one such file, the launcher, whose hard links
// are in bin/: the first of them in bin/ is a copy, and the others its
// links.
func fromRPM(es []formattest.Entry) []formattest.Entry {
	first := ""
	for i := range es {
		e := &es[i]
		if !strings.HasPrefix(e.Path, "bin/") {
			continue
		}
		switch {
		case e.Kind == pack.File && first == "":
			first = e.Path
			e.Kind, e.Target = pack.HardLink, ".gpack/launcher"
		case e.Kind == pack.HardLink && e.Target == first:
			e.Target = ".gpack/launcher"
		}
	}
	return es
}

func TestFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format: rpm.Format,
		Readers: []formattest.Reader{
			{Name: "rpm2cpio", Read: extract},
			{Name: "rpm -i", Read: install},
		},
	})
}

// TestHeaders reads the packages' headers back with rpm: every file's mtime
// (directories' too) is the tree's, owned by root, and rpm -K finds every
// digest good.
func TestHeaders(t *testing.T) {
	need.Tool(t, "rpm", "rpm")
	tr := formattest.Tree(t)
	out := filepath.Join(t.TempDir(), "out-rpm")
	if _, err := rpm.Format.Write(context.Background(), tr, out, &formats.Options{Compression: compress.Gzip, Level: 9}); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprint(tr.Mtime.Unix())
	for _, r := range rpms(t, out) {
		b, err := exec.Command("rpm", "-qp", "--qf", "[%{FILEMTIMES} %{FILEUSERNAME}:%{FILEGROUPNAME}\n]", r).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm -qp %s: %v\n%s", r, err, b)
		}
		for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
			if l != want+" root:root" {
				t.Errorf("%s: %q, want mtime %s and root", filepath.Base(r), l, want)
			}
		}
		if b, err := exec.Command("rpm", "-K", "-v", r).CombinedOutput(); err != nil || strings.Count(string(b), ": OK") != 4 {
			t.Errorf("rpm -K %s: %v\n%s", r, err, b)
		}
	}
}

// TestQuery reads the packages back with rpm -qip, -qlp and --requires:
// names, versions, the relocation prefix, the files and the dependencies
// as the split made them.
func TestQuery(t *testing.T) {
	need.Tool(t, "rpm", "rpm")
	tr := formattest.Tree(t)
	a, b := tr.Items[0], tr.Items[1]
	out := filepath.Join(t.TempDir(), "out-rpm")
	opts := &formats.Options{Compression: compress.Zstd, Level: 3}
	opts.Image.References = map[string][]string{a: {a, b}, b: nil}
	if _, err := rpm.Format.Write(context.Background(), tr, out, opts); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(out, "a-1.0-01234567-0+0123456789abcdfghijklmnpqrsvwxyz-1.x86_64.rpm")
	for _, tt := range []struct {
		args []string
		want []string
	}{
		{[]string{"-qip", p}, []string{"Name        : a-1.0-01234567\n", "Version     : 0+0123456789abcdfghijklmnpqrsvwxyz\n",
			"Release     : 1\n", "Architecture: x86_64\n", "Relocations : / \n", "Summary     : Store item 0123456789abcdfghijklmnpqrsvwxyz-a-1.0\n"}},
		{[]string{"-qlp", p}, []string{"/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/lib/self\n", "/gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/share/spool\n"}},
		{[]string{"-qp", "--requires", p}, []string{"b-2.0-zyxwvsrq = 0+zyxwvsrqpnmlkjihgfdcba9876543210\n", "rpmlib(PayloadIsZstd) <= 5.4.18-1\n"}},
		{[]string{"-qp", "--provides", p}, []string{"a-1.0-01234567 = 0+0123456789abcdfghijklmnpqrsvwxyz-1\n"}},
	} {
		b, err := exec.Command("rpm", tt.args...).CombinedOutput()
		if err != nil {
			t.Fatalf("rpm %v: %v\n%s", tt.args, err, b)
		}
		for _, w := range tt.want {
			if !strings.Contains(string(b), w) {
				t.Errorf("rpm %v lacks %q:\n%s", tt.args[:len(tt.args)-1], w, b)
			}
		}
	}
	m, _ := filepath.Glob(filepath.Join(out, "gpack-a-1.0-*.rpm"))
	if len(m) != 1 {
		t.Fatalf("pack package: %v", m)
	}
	b2, err := exec.Command("rpm", "-qlvp", m[0]).CombinedOutput()
	if err != nil || !strings.Contains(string(b2), "/opt/gpack/a-1.0/bin/hello\n") || strings.Contains(string(b2), " /opt\n") {
		t.Errorf("rpm -qlvp %s: %v\n%s", m[0], err, b2)
	}
}
