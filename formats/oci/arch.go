package oci

import (
	"fmt"

	"github.com/gpack/gpack/pack"
)

// knownArch are the GOARCH names an image config may carry, as the OCI
// image spec asks (it defers to GOARCH).
var knownArch = map[string]bool{
	"386": true, "amd64": true, "arm": true, "arm64": true, "loong64": true,
	"mips": true, "mipsle": true, "mips64": true, "mips64le": true,
	"ppc64": true, "ppc64le": true, "riscv64": true, "s390x": true,
}

// detectArch is the tree's architecture, with the way out when it has none.
func detectArch(t *pack.Tree) (string, error) {
	arch, err := t.Arch()
	if err != nil {
		return "", fmt.Errorf("oci: %w: give the architecture explicitly (--arch amd64, arm64, ...)", err)
	}
	return arch, nil
}
