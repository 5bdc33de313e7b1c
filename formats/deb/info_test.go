package deb_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/deb"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/internal/need"
)

// TestInfo reads the packages back with dpkg-deb --info, --field and
// --contents: names, versions and dependencies as the split made them,
// and the files where they go.
func TestInfo(t *testing.T) {
	need.Tool(t, "dpkg-deb", "dpkg")
	tr := noNewlines(t, formattest.Tree(t))
	a, b := tr.Items[0], tr.Items[1]
	out := filepath.Join(t.TempDir(), "out-deb")
	opts := &formats.Options{Compression: compress.Xz, Level: 6}
	opts.Image.References = map[string][]string{a: {a, b}, b: nil}
	if _, err := deb.Format.Write(context.Background(), tr, out, opts); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		file     string
		fields   string // dpkg-deb --field PACKAGE Package Version Depends Architecture
		contents []string
	}{
		{"a-1.0-01234567_0+0123456789abcdfghijklmnpqrsvwxyz_amd64.deb",
			"Package: a-1.0-01234567\nVersion: 0+0123456789abcdfghijklmnpqrsvwxyz\nDepends: b-2.0-zyxwvsrq (= 0+zyxwvsrqpnmlkjihgfdcba9876543210)\nArchitecture: amd64\n",
			[]string{"./gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/lib/self -> /gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/lib/big.txt"}},
		{"b-2.0-zyxwvsrq_0+zyxwvsrqpnmlkjihgfdcba9876543210_amd64.deb",
			"Package: b-2.0-zyxwvsrq\nVersion: 0+zyxwvsrqpnmlkjihgfdcba9876543210\nArchitecture: amd64\n",
			[]string{"./gnu/store/zyxwvsrqpnmlkjihgfdcba9876543210-b-2.0/large"}},
		{"", "Package: gpack-a-1.0\n", []string{"./opt/gpack/a-1.0/bin/hello link to ./opt/gpack/a-1.0/.gpack/launcher", "./opt/gpack/a-1.0/tmp/"}},
	} {
		file := tt.file
		if file == "" {
			m, _ := filepath.Glob(filepath.Join(out, "gpack-a-1.0_*.deb"))
			if len(m) != 1 {
				t.Fatalf("pack package: %v", m)
			}
			file = filepath.Base(m[0])
		}
		p := filepath.Join(out, file)
		f, err := exec.Command("dpkg-deb", "--field", p, "Package", "Version", "Depends", "Architecture").CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg-deb --field %s: %v\n%s", file, err, f)
		}
		if !strings.HasPrefix(string(f), tt.fields) {
			t.Errorf("%s: fields\n%s\nwant\n%s", file, f, tt.fields)
		}
		info, err := exec.Command("dpkg-deb", "--info", p).CombinedOutput()
		if err != nil || !strings.Contains(string(info), "new Debian package, version 2.0.") || !strings.Contains(string(info), "md5sums") {
			t.Errorf("dpkg-deb --info %s: %v\n%s", file, err, info)
		}
		list := exec.Command("dpkg-deb", "--contents", p)
		list.Env = append(os.Environ(), "TZ=UTC")
		c, err := list.CombinedOutput()
		if err != nil {
			t.Fatalf("dpkg-deb --contents %s: %v\n%s", file, err, c)
		}
		for _, want := range tt.contents {
			if !strings.Contains(string(c), want) {
				t.Errorf("%s: --contents lacks %q:\n%s", file, want, c)
			}
		}
		for _, l := range strings.Split(strings.TrimSpace(string(c)), "\n") {
			if !strings.Contains(l, " root/root ") || !strings.Contains(l, " 2023-11-14 ") {
				t.Errorf("%s: %q, want root/root and the tree's mtime", file, l)
			}
		}
	}
}
