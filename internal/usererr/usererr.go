// Package usererr is gpack's one type for messages meant for the user: what
// went wrong, the path it concerns, and what to do about it.
//
// Every package that finds a problem the user can act on (a path that is not
// a store item, an unreadable file, a flag that makes no sense) returns an
// *Error, and says with its Kind whether the user asked for something wrong
// (Usage) or the work failed (Failure). Only cmd/gpack turns a Kind into an
// exit status, in one place (main.go); nothing below it exits or prints.
// Other errors (a disk that fills up, a registry that goes away) stay plain
// wrapped errors: their text is already the message.
package usererr

import (
	"errors"
	"fmt"
	"strconv"
)

// Kind says what sort of problem an Error reports, which decides the exit
// status.
type Kind uint8

const (
	// Failure: the work could not be done (exit 1). The zero Kind, so that
	// an Error says Usage only on purpose.
	Failure Kind = iota
	// Usage: bad flags or arguments (exit 2).
	Usage
	// NotFound: what was asked about is not there, e.g. gpack why finds
	// no chain of references (exit 3).
	NotFound
)

// Error is a message meant for the user. It reads "PATH: WHAT; FIX", with
// the parts that are empty left out.
type Error struct {
	Kind Kind
	Path string // the file, item or flag concerned; may be empty
	What string // what is wrong, e.g. "permission denied"
	Fix  string // what the user can do about it; may be empty
	Err  error  // the underlying error; may be nil
}

func (e *Error) Error() string {
	s := e.What
	if e.Path != "" {
		s = Quote(e.Path) + ": " + s
	}
	if e.Fix != "" {
		s += "; " + e.Fix
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Usagef returns a Usage error whose What is formatted as by fmt.Sprintf.
func Usagef(format string, args ...any) *Error {
	return &Error{Kind: Usage, What: fmt.Sprintf(format, args...)}
}

// KindOf returns the Kind of the first *Error in err's chain, and Failure
// for an error that holds none.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return Failure
}

// Quote shows a path as it is unless it holds bytes that would break a
// one-line message (newlines, invalid UTF-8, control characters), which it
// quotes the way Go does.
func Quote(p string) string {
	for _, r := range p {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return strconv.Quote(p)
		}
	}
	return p
}
