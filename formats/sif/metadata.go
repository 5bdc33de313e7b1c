package sif

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/gpack/gpack/formats/oci"
	"github.com/gpack/gpack/pack"
)

// Label keys: Apptainer's org.label-schema ones that apply to a pack, and
// gpack's roots and store, as container images carry them.
const (
	LabelSchema      = "org.label-schema.schema-version"
	LabelDate        = "org.label-schema.build-date"
	LabelArch        = "org.label-schema.build-arch"
	LabelName        = "org.label-schema.name"
	LabelDescription = "org.label-schema.description"
	LabelRoots       = oci.LabelRoots
	LabelStore       = oci.LabelStore
)

// LabelsPath is where Apptainer keeps an image's labels, and where
// `apptainer build` finds those of a source image.
const LabelsPath = ".singularity.d/labels.json"

// Labels are the labels of a pack of roots (sorted) from store made at
// mtime, all but LabelArch, which only the built tree tells.
func Labels(roots []string, store string, mtime time.Time) map[string]string {
	l := map[string]string{
		LabelSchema: "1.0",
		LabelDate:   mtime.UTC().Format(time.RFC3339),
		LabelStore:  store,
	}
	if len(roots) > 0 {
		l[LabelName] = oci.ItemName(roots[0])
		l[LabelDescription] = "gpack image of " + strings.Join(roots, " ")
		l[LabelRoots] = strings.Join(roots, " ")
	}
	return l
}

// labelsEntry is labels.json, indented with tabs as Apptainer writes it.
func labelsEntry(labels map[string]string) pack.Entry {
	b, _ := json.MarshalIndent(labels, "", "\t") // a map of strings always marshals
	return pack.Entry{Path: LabelsPath, Kind: pack.File, Mode: 0o644, Size: int64(len(b)), Data: b}
}

// maxMetadataFile bounds what is read of one file of /.singularity.d into
// the metadata object: gpack's own are a few hundred bytes.
const maxMetadataFile = 1 << 20

// readEntry reads the content of the file entry e.
func readEntry(e *pack.Entry) (string, error) {
	r, err := e.Open()
	if err != nil {
		return "", fmt.Errorf("sif: %w", err)
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, maxMetadataFile+1))
	if err != nil {
		return "", fmt.Errorf("sif: reading /%s: %w", e.Path, err)
	}
	if len(b) > maxMetadataFile {
		return "", fmt.Errorf("sif: /%s is larger than %d bytes, too large for the image's metadata", e.Path, maxMetadataFile)
	}
	return string(b), nil
}

// treeLabels are the labels of t: its labels.json (Prepare's), or else
// Labels of its roots.
func treeLabels(t *pack.Tree) (map[string]string, error) {
	for i := range t.Entries {
		if e := &t.Entries[i]; e.Path == LabelsPath && e.Kind == pack.File {
			s, err := readEntry(e)
			if err != nil {
				return nil, err
			}
			l := map[string]string{}
			if err := json.Unmarshal([]byte(s), &l); err != nil {
				return nil, fmt.Errorf("sif: /%s: %w", LabelsPath, err)
			}
			return l, nil
		}
	}
	return Labels(t.Roots, t.Store, t.Mtime), nil
}

// Metadata is the JSON object `apptainer inspect` reads from a SIF image
// (Apptainer's inspect.Metadata, the fields gpack fills).
type Metadata struct {
	Data struct {
		Attributes Attributes `json:"attributes"`
	} `json:"data"`
	Type string `json:"type"` // "container"
}

// Attributes are what `apptainer inspect` shows of an image: its labels
// (--labels), its environment scripts by path in the container
// (--environment) and its runscript (--runscript).
type Attributes struct {
	Environment map[string]string `json:"environment,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	Runscript   string            `json:"runscript,omitempty"`
}

// inspectMetadata is the metadata object of t: labels, and the
// environment scripts and runscript of its /.singularity.d, each without
// its trailing newlines, as `apptainer build` records them.
func inspectMetadata(t *pack.Tree, labels map[string]string) ([]byte, error) {
	var m Metadata
	m.Type = "container"
	a := &m.Data.Attributes
	a.Labels = labels
	for i := range t.Entries {
		e := &t.Entries[i]
		switch {
		case strings.HasPrefix(e.Path, ".singularity.d/env/") && strings.HasSuffix(e.Path, ".sh") && e.Kind == pack.File:
			s, err := readEntry(e)
			if err != nil {
				return nil, err
			}
			if a.Environment == nil {
				a.Environment = map[string]string{}
			}
			a.Environment["/"+e.Path] = strings.TrimRight(s, "\n")
		case e.Path == ".singularity.d/runscript" && e.Kind == pack.File:
			s, err := readEntry(e)
			if err != nil {
				return nil, err
			}
			a.Runscript = strings.TrimRight(s, "\n")
		case e.Path == ".singularity.d/runscript" && e.Kind == pack.Symlink:
			a.Runscript = symlinkRunscript(e.Target)
		}
	}
	return json.Marshal(m)
}

// symlinkRunscript is what the metadata says of a runscript that is a
// symlink to the entry point (pack.Singularity makes it one, so that
// `apptainer run` needs no shell): what it does, in the shell's words.
func symlinkRunscript(target string) string {
	return "# /.singularity.d/runscript is a symlink to the entry point, run without a shell\n" +
		"exec " + shellQuote(target) + ` "$@"`
}

// shellQuote quotes s for sh when it holds anything but the characters of
// store paths.
func shellQuote(s string) string {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/._+-=:,", c)) {
			return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
		}
	}
	if s == "" {
		return "''"
	}
	return s
}
