// Package sif writes a pack.Tree as a SIF image (Singularity Image Format),
// the native image of Apptainer and SingularityCE: one file that holds the
// squashfs of the tree as its primary system partition, plus the metadata
// that `apptainer inspect` reads, written through the SIF library of the
// Apptainer project (github.com/apptainer/sif/v2) so that the container
// layout is the one Apptainer's own `apptainer build` writes.
//
// # Layout
//
// The image holds, in order:
//
//   - the SIF header (with the launch script "#!/usr/bin/env
//     run-singularity", as Apptainer writes it) and 48 descriptors;
//   - a generic JSON object named "inspect-metadata.json", which `apptainer
//     inspect` (--labels, --runscript, --environment) reads instead of
//     opening the image: the labels, the /.singularity.d/env scripts and the
//     runscript, taken from the tree itself, in the JSON `apptainer build`
//     writes;
//   - the primary system partition, squashfs, with the tree's architecture:
//     formats/squashfs's image of the tree, aligned on 4 KiB.
//
// The tree is what -f squashfs makes (Prepare is squashfs's: /bin, the
// /.singularity.d environment and runscript, the mount points, /etc), plus
// /.singularity.d/labels.json, which `apptainer build new.sif old.sif`
// carries over into the new image. The labels are Apptainer's
// org.label-schema ones that apply (schema version, build date = the tree's
// mtime, name, description, build architecture) and gpack's roots and
// store, as container images carry them. The architecture is that of the
// closure's first ELF file (or --arch): it cannot be known before the tree
// is built, so labels.json, written by Prepare, lacks it, and the metadata
// object adds it.
//
// One change to squashfs's tree: the runscript links (/.singularity.d/
// runscript and actions/run) lead to the entry point's file inside the
// image by a relative path, not to its absolute store path. `apptainer
// build new.sif old.sif` extracts the image to a directory and chmods the
// runscripts there, following the links: an absolute one (or a profile's
// absolute links into its items) would lead it out of the extracted tree
// to the host's store, which fails as a user and changes the host's files
// as root. In the container both lead to the same program; the metadata
// names it by its store path.
//
// # One pass
//
// The squashfs image is not written to a temporary file and then copied:
// the partition's data object is an io.WriterTo, which io.Copy, as the SIF
// library writes it, hands the output; WriteTo writes the squashfs image
// straight into the output at the partition's offset (superblock last, at
// that offset, as squashfs does), and reports its size, which goes into the
// descriptor. The library writes the descriptors and the header after the
// data objects, so, as with squashfs, an image that failed half-way has no
// header a reader takes for one. The output needs only io.Writer and
// io.WriterAt (internal/atomicfile.File): the seeking the library does is
// kept by a small writer over it, which appends where it can.
//
// # Determinism
//
// An image is a function of the tree and the options. The header's and
// descriptors' times are the tree's mtime, owner and group root; the image
// ID, which the library would draw at random, is a name-based UUID (SHA-1,
// version 5) of the tree's paths, kinds, modes, sizes, link targets and
// generated contents, the options and the metadata: the same pack gets the
// same ID, two different packs different ones. The store files' contents
// are not read for it: a store path names its contents. The JSON object's
// maps are written in key order.
package sif
