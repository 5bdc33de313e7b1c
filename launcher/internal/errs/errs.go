// Package errs wraps errors with context for the launcher's packages. The
// launcher avoids fmt, which would add a sizeable share to a binary that
// every pack carries, so Wrap stands in for fmt.Errorf("…: %w", err).
package errs

// wrapError is an error with the context of what was being done.
type wrapError struct {
	msg string
	err error
}

func (e *wrapError) Error() string { return e.msg + ": " + e.err.Error() }

func (e *wrapError) Unwrap() error { return e.err }

// Wrap returns err prefixed with the concatenation of msg, or nil if err is
// nil so that callers can wrap a result without checking it first.
func Wrap(err error, msg ...string) error {
	if err == nil {
		return nil
	}
	s := ""
	for _, m := range msg {
		s += m
	}
	return &wrapError{msg: s, err: err}
}
