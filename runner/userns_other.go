//go:build !linux

package runner

import "errors"

var errNotLinux = errors.New("user namespaces exist only on Linux")

// usernsEngine needs Linux; elsewhere it holds its place in the order so that
// the package builds, for the manifest code that gpack uses on any system.
type usernsEngine struct{}

func (usernsEngine) Name() string { return "userns" }

func (usernsEngine) Available() error { return errNotLinux }

func (usernsEngine) Run(*Job) (int, error) { return 0, errNotLinux }
