// Package oci writes a pack.Tree as a container image with one layer per
// store item, as a docker-archive, an OCI image layout or oci-archive, or
// straight to a registry, through go-containerregistry.
//
// Build cuts the tree into layers (see planLayers for how items are merged
// when there are more than Options.MaxLayers), writes each layer's tar once
// while hashing both the tar (the diff_id) and its compressed bytes (the
// digest), and keeps the compressed blobs in a cache keyed by store path, so
// a second image that shares items reuses their blobs without compressing
// them again. Every byte of the image is a function of the tree and the
// options, so two builds give the same image digest.
//
// The cache lives in $XDG_CACHE_HOME/gpack/layers (by default
// ~/.cache/gpack/layers). It holds one compressed blob and one small JSON
// record per layer, keyed by the store paths and compress.Fingerprint (the
// compressor, its level, gpack's block parameters and the library
// version); nothing else points into it, so `rm -rf` of that directory
// clears it safely at any time when no gpack runs. Every build holds the
// cache's .lock shared while it has temporary files there; a build that
// finds no other holding it removes the temporary files that killed builds
// left (see lockCache).
package oci
