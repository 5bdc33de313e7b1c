//go:build !linux

package userns

import (
	"errors"

	"github.com/gpack/gpack/launcher/engine"
)

var errNotLinux = errors.New("user namespaces exist only on Linux")

// Engine needs Linux; elsewhere it holds its place in the order so that the
// launcher builds.
type Engine struct{}

func (Engine) Name() string { return "userns" }

func (Engine) Available() error { return errNotLinux }

func (Engine) Run(*engine.Job) (int, error) { return 0, errNotLinux }
