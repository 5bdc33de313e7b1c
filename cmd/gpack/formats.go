package main

import (
	"github.com/gpack/gpack/formats"
	"github.com/gpack/gpack/formats/appimage"
	"github.com/gpack/gpack/formats/deb"
	"github.com/gpack/gpack/formats/oci"
	"github.com/gpack/gpack/formats/rpm"
	"github.com/gpack/gpack/formats/sif"
	"github.com/gpack/gpack/formats/squashfs"
	"github.com/gpack/gpack/formats/tarball"
)

// packFormats are the formats of gpack pack -f, in the order the help
// lists them: the one place that names them all. A new format is a
// package that implements formats.Format, and one line here.
var packFormats = []formats.Format{
	tarball.Format,
	squashfs.Format,
	sif.Format,
	oci.Docker,
	oci.OCI,
	deb.Format,
	rpm.Format,
	appimage.Format,
}
