//go:build !linux

package relocate

import (
	"errors"

	"github.com/gpack/gpack/launcher/engine"
)

// Engine needs Linux; elsewhere it holds its place in the order so that the
// launcher builds.
type Engine struct{}

func (Engine) Name() string { return "relocate" }

func (Engine) Available() error { return errors.New("relocation needs Linux") }

func (e Engine) Run(*engine.Job) (int, error) { return 0, e.Available() }

// Relocated is false: nothing runs a relocated pack here.
func Relocated(string) bool { return false }

// Link has nothing to do here.
func Link(root, store string) (string, error) { return "", nil }
