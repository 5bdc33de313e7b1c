package compress

import (
	"fmt"
	"runtime/debug"

	"github.com/gpack/gpack/internal/deflate"
	"github.com/gpack/gpack/internal/lzma"
)

// streamRules names the rules by which gpack frames its streams besides the
// numbers that Fingerprint lists: a gzip member of sync-flushed blocks, each
// from a fresh encoder primed with the input before it, under a fixed
// header; xz as one stream of LZMA2 segments, each primed with the input before it; zstd in its parallel mode
// with at least 2 goroutines. Change it whenever the bytes for the same
// input, level and numbers could change, so that caches of compressed data
// never mix old bytes with new ones.
const streamRules = "gpack-stream-2"

// Fingerprint names everything the output of NewWriter depends on besides
// the input: the algorithm and level, gpack's own block parameters (block
// size, dictionary, the framing rules) and the version of the library that
// encodes. Two writers with one fingerprint make the same bytes of the
// same input, so a cache of compressed blobs keys them by it (the layer
// cache of formats/oci does). level 0 means the default.
func Fingerprint(a Algo, level int) string {
	c, ok := Find(Streams, a)
	if !ok {
		return fmt.Sprintf("%s unknown", a)
	}
	if level == 0 {
		level = c.Default
	}
	return fingerprint(a, level, streamParams(a, level))
}

// params are a stream compressor's block parameters, as NewWriter uses
// them.
type params struct {
	block, dict int
	lib         string // module path of the encoder
}

func streamParams(a Algo, level int) params {
	switch a {
	case Gzip:
		if _, own := deflate.ForGzipLevel(level); own {
			return params{gzipBlockSize, gzipDictSize, deflateLib}
		}
		return params{gzipBlockSize, gzipDictSize, "github.com/klauspost/compress"}
	case Xz:
		return params{xzBlockSize(level), xzDictCap[level], lzmaLib}
	case Zstd:
		// The jobs are cut by the library from its window, which the
		// level decides; its version covers that.
		return params{0, 0, "github.com/klauspost/compress"}
	}
	return params{}
}

// deflateLib names gpack's own deflate encoder as a library for
// fingerprints: it is versioned with gpack, by deflate.Version.
const deflateLib = "github.com/gpack/gpack/internal/deflate"

func fingerprint(a Algo, level int, p params) string {
	if a == None {
		return string(None)
	}
	return fmt.Sprintf("%s %s level %d block %d dict %d %s@%s", streamRules, a, level, p.block, p.dict, p.lib, moduleVersion(p.lib))
}

// moduleVersion is the version of a module built into gpack: a new release
// of an encoder may compress the same bytes differently (as a Go release
// did to compress/gzip, nix2container PR #222).
func moduleVersion(path string) string {
	if path == deflateLib {
		return deflate.Version
	}
	if path == lzmaLib {
		return lzma.Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	for _, m := range bi.Deps {
		if m.Path == path {
			if m.Replace != nil {
				return m.Replace.Path + "@" + m.Replace.Version
			}
			return m.Version
		}
	}
	return "unknown"
}
