package squashfs_test

import (
	"bytes"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/formattest"
	"github.com/gpack/gpack/formats/squashfs"
)

func TestFormat(t *testing.T) {
	formattest.Run(t, formattest.Suite{
		Format: squashfs.Format,
		Readers: []formattest.Reader{
			{Name: "unsquashfs", Read: func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
				dir := filepath.Join(t.TempDir(), "root")
				if b, err := exec.Command("unsquashfs", "-no-progress", "-n", "-d", dir, out).CombinedOutput(); err != nil {
					t.Fatalf("unsquashfs: %v\n%s", err, b)
				}
				return formattest.ReadDir(t, dir)
			}},
			{Name: "sqfs2tar", Read: func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
				b, err := exec.Command("sqfs2tar", "--no-skip", out).Output()
				if err != nil {
					t.Fatalf("sqfs2tar: %v", err)
				}
				return formattest.ReadTar(t, bytes.NewReader(b))
			}},
		},
	})
}
