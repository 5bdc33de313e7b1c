package appimage

import "errors"

// runFUSE runs the program over a FUSE mount of the image in a user
// namespace. ran says it did (status and err are the run's); otherwise err
// says why not, and the caller extracts instead.
func (r *run) runFUSE(name string, args []string) (status int, err error, ran bool) {
	return 0, errors.New("not built into this runtime"), false
}

// mountOnly is --appimage-mount.
func (r *run) mountOnly() (int, error) {
	return 1, errors.New("--appimage-mount: this runtime cannot mount its image; use --appimage-extract")
}
