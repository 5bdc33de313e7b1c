//go:build !linux || !(amd64 || arm64)

package ptrace

import (
	"errors"
	"runtime"

	"github.com/gpack/gpack/launcher/engine"
)

// Engine has registers and system-call tables for amd64 and arm64
// only; elsewhere it holds its place in the order.
type Engine struct{}

func (Engine) Name() string { return "ptrace" }

func (Engine) Available() error {
	return errors.New("the ptrace engine does not support " + runtime.GOOS + "/" + runtime.GOARCH)
}

func (e Engine) Run(*engine.Job) (int, error) { return 0, e.Available() }
