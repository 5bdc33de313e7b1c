//go:build !linux || !(amd64 || arm64)

package runner

import (
	"errors"
	"runtime"
)

// ptraceEngine has registers and system-call tables for amd64 and arm64
// only; elsewhere it holds its place in the order.
type ptraceEngine struct{}

func (ptraceEngine) Name() string { return "ptrace" }

func (ptraceEngine) Available() error {
	return errors.New("the ptrace engine does not support " + runtime.GOOS + "/" + runtime.GOARCH)
}

func (e ptraceEngine) Run(*Job) (int, error) { return 0, e.Available() }
