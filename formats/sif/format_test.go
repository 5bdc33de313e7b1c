package sif_test

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/apptainer/sif/v2/pkg/sif"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/formattest"
	gsif "github.com/gpack/gpack/formats/sif"
	"github.com/gpack/gpack/internal/need"
)

// primary returns the primary system partition of the image out, as the
// SIF library finds it.
func primary(t *testing.T, out string) sif.Descriptor {
	t.Helper()
	f, err := sif.LoadContainerFromPath(out, sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		t.Fatalf("loading %s: %v", out, err)
	}
	defer f.UnloadContainer()
	d, err := f.GetDescriptor(sif.WithPartitionType(sif.PartPrimSys))
	if err != nil {
		t.Fatalf("%s: primary partition: %v", out, err)
	}
	return d
}

func TestFormat(t *testing.T) {
	unsquashfs := need.Tool(t, "unsquashfs", "squashfs-tools")
	sqfs2tar := need.Tool(t, "sqfs2tar", "squashfs-tools-ng")
	formattest.Run(t, formattest.Suite{
		Format: gsif.Format,
		Readers: []formattest.Reader{
			// unsquashfs reads the partition in place, at the offset the
			// SIF library finds it.
			{Name: "unsquashfs -o", Read: func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
				off := primary(t, out).Offset()
				dir := filepath.Join(t.TempDir(), "root")
				cmd := exec.Command(unsquashfs, "-no-progress", "-n", "-o", strconv.FormatInt(off, 10), "-d", dir, out)
				if b, err := cmd.CombinedOutput(); err != nil {
					t.Fatalf("unsquashfs: %v\n%s", err, b)
				}
				return formattest.ReadDir(t, dir)
			}},
			// The partition as the SIF library reads it out, to sqfs2tar.
			{Name: "sif library, sqfs2tar", Read: func(t *testing.T, out string, _ *formats.Options) []formattest.Entry {
				f, err := os.Open(out)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				d := primary(t, out)
				part := filepath.Join(t.TempDir(), "part.squashfs")
				p, err := os.Create(part)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.Copy(p, io.NewSectionReader(f, d.Offset(), d.Size())); err != nil {
					t.Fatal(err)
				}
				if err := p.Close(); err != nil {
					t.Fatal(err)
				}
				b, err := exec.Command(sqfs2tar, "--no-skip", part).Output()
				if err != nil {
					t.Fatalf("sqfs2tar: %v", err)
				}
				return formattest.ReadTar(t, bytes.NewReader(b))
			}},
		},
	})
}
