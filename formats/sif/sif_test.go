package sif_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/apptainer/sif/v2/pkg/sif"

	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/compress"
	"github.com/gpack/gpack/formats/formattest"
	gsif "github.com/gpack/gpack/formats/sif"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// prepared is the suite's tree with what Prepare adds, as gpack pack
// builds it: /.singularity.d and labels.json; with an entry point, its
// bin/hello (relative to the root item), "" for none.
func prepared(t *testing.T, entryPoint string) *pack.Tree {
	t.Helper()
	tr := formattest.Tree(t)
	o := pack.Options{Mtime: tr.Mtime}
	profile := tr.Roots[0]
	ep := ""
	if entryPoint != "" {
		ep = profile + "/" + entryPoint
	}
	gsif.Format.Prepare(&o, profile, &formats.Options{EntryPoint: ep})
	es := append([]pack.Entry(nil), tr.Entries...)
	have := map[string]bool{}
	for _, e := range es {
		have[e.Path] = true
	}
	for _, e := range o.Extra {
		if !have[e.Path] {
			es = append(es, e)
		}
	}
	sort.Slice(es, func(i, j int) bool { return pack.Less(es[i].Path, es[j].Path) })
	c := *tr
	c.Entries = es
	if err := pack.Validate(&c); err != nil {
		t.Fatal(err)
	}
	return &c
}

// writeFile writes t to a new file with opts and returns its path.
func writeFile(t *testing.T, tr *pack.Tree, opts gsif.Options) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "out.sif")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := gsif.Write(context.Background(), f, tr, opts); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return p
}

// TestWriteAsTheLibrary: the image written in one pass, the squashfs in
// place, is byte for byte what the SIF library writes when it copies the
// same squashfs image, read from a file, into a file it seeks in itself.
// (Without an entry point, whose links Write changes: TestLayout.)
func TestWriteAsTheLibrary(t *testing.T) {
	tr := prepared(t, "")
	for _, tc := range []struct {
		name string
		opts squashfs.Options
	}{
		{"gzip", squashfs.Options{}},
		{"zstd 4K blocks", squashfs.Options{Compression: compress.Zstd, BlockSize: 4 << 10}},
		{"none", squashfs.Options{Compression: compress.None}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := writeFile(t, tr, gsif.Options{Squashfs: tc.opts})
			f, err := sif.LoadContainerFromPath(got, sif.OptLoadWithFlag(os.O_RDONLY))
			if err != nil {
				t.Fatal(err)
			}
			id, created := f.ID(), f.CreatedAt()
			md, err := f.GetDescriptor(sif.WithDataType(sif.DataGenericJSON))
			if err != nil {
				t.Fatal(err)
			}
			meta, err := md.GetData()
			if err != nil {
				t.Fatal(err)
			}
			f.UnloadContainer()

			sq, err := os.Create(filepath.Join(t.TempDir(), "part.squashfs"))
			if err != nil {
				t.Fatal(err)
			}
			defer sq.Close()
			if err := squashfs.Write(context.Background(), sq, tr, tc.opts); err != nil {
				t.Fatal(err)
			}
			if _, err := sq.Seek(0, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			jsonIn, err := sif.NewDescriptorInput(sif.DataGenericJSON, bytes.NewReader(meta), sif.OptObjectName(gsif.MetadataName))
			if err != nil {
				t.Fatal(err)
			}
			partIn, err := sif.NewDescriptorInput(sif.DataPartition, sq, sif.OptPartitionMetadata(sif.FsSquash, sif.PartPrimSys, runtime.GOARCH))
			if err != nil {
				t.Fatal(err)
			}
			want := filepath.Join(t.TempDir(), "want.sif")
			w, err := sif.CreateContainerAtPath(want, sif.OptCreateWithLaunchScript(gsif.LaunchScript), sif.OptCreateWithID(id),
				sif.OptCreateWithTime(created), sif.OptCreateWithDescriptors(jsonIn, partIn))
			if err != nil {
				t.Fatal(err)
			}
			if err := w.UnloadContainer(); err != nil {
				t.Fatal(err)
			}
			a, _ := os.ReadFile(got)
			b, _ := os.ReadFile(want)
			if !bytes.Equal(a, b) {
				i := 0
				for i < min(len(a), len(b)) && a[i] == b[i] {
					i++
				}
				t.Errorf("gpack's image (%d bytes) and the library's (%d bytes) differ from byte %d", len(a), len(b), i)
			}
		})
	}
}

// TestLayout checks the header, the descriptors and the metadata object
// of an image of a prepared tree.
func TestLayout(t *testing.T) {
	tr := prepared(t, "bin/hello")
	out := writeFile(t, tr, gsif.Options{})
	f, err := sif.LoadContainerFromPath(out, sif.OptLoadWithFlag(os.O_RDONLY))
	if err != nil {
		t.Fatal(err)
	}
	defer f.UnloadContainer()
	if got := f.LaunchScript(); got != gsif.LaunchScript {
		t.Errorf("launch script %q", got)
	}
	if got := f.PrimaryArch(); got != runtime.GOARCH {
		t.Errorf("primary architecture %q, want %q", got, runtime.GOARCH)
	}
	if !f.CreatedAt().Equal(tr.Mtime) || !f.ModifiedAt().Equal(tr.Mtime) {
		t.Errorf("created %v, modified %v, want the tree's mtime %v", f.CreatedAt(), f.ModifiedAt(), tr.Mtime)
	}
	var ds []sif.Descriptor
	f.WithDescriptors(func(d sif.Descriptor) bool { ds = append(ds, d); return false })
	if len(ds) != 2 {
		t.Fatalf("%d descriptors, want 2 (metadata, partition)", len(ds))
	}
	if ds[0].DataType() != sif.DataGenericJSON || ds[0].Name() != gsif.MetadataName {
		t.Errorf("first object: %v %q, want generic JSON %q", ds[0].DataType(), ds[0].Name(), gsif.MetadataName)
	}
	fs, pt, arch, err := ds[1].PartitionMetadata()
	if err != nil || fs != sif.FsSquash || pt != sif.PartPrimSys || arch != runtime.GOARCH {
		t.Errorf("second object: %v %v %s %v, want a squashfs primary system partition of %s", fs, pt, arch, err, runtime.GOARCH)
	}
	if ds[1].Offset()%4096 != 0 {
		t.Errorf("partition at %d, not aligned on 4 KiB", ds[1].Offset())
	}
	for _, d := range ds {
		if !d.CreatedAt().Equal(tr.Mtime) {
			t.Errorf("object %d created %v, want %v", d.ID(), d.CreatedAt(), tr.Mtime)
		}
	}
	// The partition is the tree: it reads back, with labels.json.
	im, err := squashfs.Open(io.NewSectionReader(mustOpen(t, out), ds[1].Offset(), ds[1].Size()), ds[1].Size(), squashfs.ReadOptions{})
	if err != nil {
		t.Fatalf("partition: %v", err)
	}
	inside, err := fsRead(im, gsif.LabelsPath)
	if err != nil {
		t.Fatal(err)
	}
	// The runscript links lead to the program inside the image, so that
	// apptainer build, which follows them in the extracted tree, stays
	// in it.
	for p, want := range map[string]string{
		".singularity.d/runscript":   "../gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/bin/hello",
		".singularity.d/actions/run": "../../gnu/store/0123456789abcdfghijklmnpqrsvwxyz-a-1.0/bin/hello",
	} {
		if got, err := im.ReadLink(p); err != nil || got != want {
			t.Errorf("%s -> %q (%v), want %q", p, got, err, want)
		}
	}

	raw, err := ds[0].GetData()
	if err != nil {
		t.Fatal(err)
	}
	var md gsif.Metadata
	if err := json.Unmarshal(raw, &md); err != nil {
		t.Fatalf("metadata %s: %v", raw, err)
	}
	a := md.Data.Attributes
	profile := tr.Roots[0]
	wantLabels := gsif.Labels(tr.Roots, tr.Store, tr.Mtime)
	var labelsJSON map[string]string
	if err := json.Unmarshal(inside, &labelsJSON); err != nil || !reflect.DeepEqual(labelsJSON, wantLabels) {
		t.Errorf("labels.json in the image: %s (%v), want %v", inside, err, wantLabels)
	}
	wantLabels[gsif.LabelArch] = runtime.GOARCH
	if !reflect.DeepEqual(a.Labels, wantLabels) {
		t.Errorf("labels %v, want %v", a.Labels, wantLabels)
	}
	for k, v := range map[string]string{
		gsif.LabelName:   "a-1.0",
		gsif.LabelDate:   "2023-11-14T22:13:20Z",
		gsif.LabelRoots:  profile,
		gsif.LabelStore:  "/gnu/store",
		gsif.LabelSchema: "1.0",
	} {
		if a.Labels[k] != v {
			t.Errorf("label %s = %q, want %q", k, a.Labels[k], v)
		}
	}
	wantRun := "# /.singularity.d/runscript is a symlink to the entry point, run without a shell\nexec " + profile + `/bin/hello "$@"`
	if a.Runscript != wantRun {
		t.Errorf("runscript %q, want %q", a.Runscript, wantRun)
	}
	env := a.Environment["/.singularity.d/env/90-environment.sh"]
	if len(a.Environment) != 1 || !strings.Contains(env, `export PATH="`+profile+"/bin:") || strings.HasSuffix(env, "\n") {
		t.Errorf("environment %q: want the one script, without its last newline", a.Environment)
	}
	if md.Type != "container" {
		t.Errorf("type %q", md.Type)
	}
}

func mustOpen(t *testing.T, p string) *os.File {
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func fsRead(im *squashfs.Image, p string) ([]byte, error) {
	f, err := im.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// TestImageID: the same tree gives the same ID, a change anywhere (a
// mode, a link target, generated contents, an option) another one.
func TestImageID(t *testing.T) {
	id := func(tr *pack.Tree, o gsif.Options) string {
		t.Helper()
		f, err := sif.LoadContainerFromPath(writeFile(t, tr, o), sif.OptLoadWithFlag(os.O_RDONLY))
		if err != nil {
			t.Fatal(err)
		}
		defer f.UnloadContainer()
		return f.ID()
	}
	tr := prepared(t, "bin/hello")
	base := id(tr, gsif.Options{})
	if base == "00000000-0000-0000-0000-000000000000" {
		t.Fatalf("the nil ID")
	}
	if again := id(prepared(t, "bin/hello"), gsif.Options{}); again != base {
		t.Errorf("the same tree: IDs %s and %s", base, again)
	}
	if d := id(tr, gsif.Options{Squashfs: squashfs.Options{Compression: compress.Gzip, Level: 9, BlockSize: 128 << 10}}); d != base {
		t.Errorf("the defaults spelt out give another ID: %s, %s", d, base)
	}
	change := func(f func(e *pack.Entry) bool) *pack.Tree {
		c := *tr
		c.Entries = append([]pack.Entry(nil), tr.Entries...)
		for i := range c.Entries {
			if f(&c.Entries[i]) {
				return &c
			}
		}
		t.Fatal("nothing changed")
		return nil
	}
	for name, tc := range map[string]struct {
		tr   *pack.Tree
		opts gsif.Options
	}{
		"zstd":       {tr, gsif.Options{Squashfs: squashfs.Options{Compression: compress.Zstd}}},
		"block size": {tr, gsif.Options{Squashfs: squashfs.Options{BlockSize: 4 << 10}}},
		"mode": {change(func(e *pack.Entry) bool {
			if e.Kind == pack.File && e.Mode == 0o444 {
				e.Mode = 0o555
				return true
			}
			return false
		}), gsif.Options{}},
		"link target": {change(func(e *pack.Entry) bool {
			if e.Kind == pack.Symlink {
				e.Target += "x"
				return true
			}
			return false
		}), gsif.Options{}},
		"generated contents": {change(func(e *pack.Entry) bool {
			if e.Path == "etc/hosts" {
				e.Data, e.Size = []byte("x"), 1
				return true
			}
			return false
		}), gsif.Options{}},
	} {
		if got := id(tc.tr, tc.opts); got == base {
			t.Errorf("%s: the same ID %s", name, got)
		}
	}
}

// TestArch: the architecture comes from --arch, or else from the
// closure's ELF files; neither is an error that says what to do, as is an
// architecture SIF cannot record.
func TestArch(t *testing.T) {
	tr := prepared(t, "")
	noELF := *tr
	noELF.Entries = nil
	for _, e := range tr.Entries {
		if !strings.HasSuffix(e.Path, "/ld.so") {
			noELF.Entries = append(noELF.Entries, e)
		}
	}
	for _, tc := range []struct {
		name    string
		tr      *pack.Tree
		arch    string
		want    string // the partition's architecture
		wantErr string
	}{
		{"from the closure", tr, "", runtime.GOARCH, ""},
		{"--arch", tr, "riscv64", "riscv64", ""},
		{"--arch without ELF files", &noELF, "arm64", "arm64", ""},
		{"no ELF file", &noELF, "", "", "give the architecture explicitly (--arch"},
		{"unknown", tr, "vax", "", "vax: a SIF image records 386, amd64"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "out.sif")
			f, err := os.Create(p)
			if err != nil {
				t.Fatal(err)
			}
			err = gsif.Write(context.Background(), f, tc.tr, gsif.Options{Arch: tc.arch})
			f.Close()
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Write: %v, want an error with %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := primary(t, p); got.Offset() == 0 {
				t.Fatal("no partition")
			} else if _, _, arch, _ := got.PartitionMetadata(); arch != tc.want {
				t.Errorf("partition architecture %s, want %s", arch, tc.want)
			}
		})
	}
}

// TestCheck: what -f sif refuses before any work, as bad usage.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		out  string
		opts formats.Options
		want string // in the error; "" for none
	}{
		{"fine", filepath.Join(dir, "a.sif"), formats.Options{BlockSize: 1 << 20, Image: formats.ImageOptions{Arch: "arm64"}}, ""},
		{"stdout", formats.Stdout, formats.Options{}, "cannot be written to standard output"},
		{"block size", filepath.Join(dir, "a.sif"), formats.Options{BlockSize: 3 << 10}, "--block-size 3072"},
		{"arch", filepath.Join(dir, "a.sif"), formats.Options{Image: formats.ImageOptions{Arch: "pdp11"}}, "--arch pdp11: a SIF image records"},
		{"mtime", filepath.Join(dir, "a.sif"), formats.Options{Mtime: time.Unix(1<<33, 0)}, "SOURCE_DATE_EPOCH=8589934592"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := gsif.Format.Check(tc.out, &tc.opts)
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ue *usererr.Error
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.As(err, &ue) || ue.Kind != usererr.Usage {
				t.Errorf("Check: %v, want bad usage with %q", err, tc.want)
			}
		})
	}
}
