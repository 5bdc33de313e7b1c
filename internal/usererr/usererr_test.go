package usererr

import (
	"errors"
	"fmt"
	"io/fs"
	"testing"
)

func TestError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  *Error
		want string
	}{
		{"all parts", &Error{Path: "/gnu/store/x", What: "permission denied", Fix: "make it readable"}, "/gnu/store/x: permission denied; make it readable"},
		{"no fix", &Error{Path: "/p", What: "vanished"}, "/p: vanished"},
		{"no path", &Error{What: "-C lzip: unknown", Fix: "see 'gpack pack --help'"}, "-C lzip: unknown; see 'gpack pack --help'"},
		{"odd path", &Error{Path: "/a\nb\xff", What: "bad"}, `"/a\nb\xff": bad`},
		{"usagef", Usagef("--level %d: %s has no levels", 3, "none"), "--level 3: none has no levels"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.err.Error(); got != tc.want {
				t.Errorf("Error() = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want Kind
	}{
		{"plain", errors.New("disk full"), Failure},
		{"failure", &Error{What: "x"}, Failure},
		{"usage", Usagef("bad"), Usage},
		{"wrapped usage", fmt.Errorf("pack: %w", Usagef("bad")), Usage},
		{"not found", &Error{Kind: NotFound, What: "no chain"}, NotFound},
	} {
		if got := KindOf(tc.err); got != tc.want {
			t.Errorf("%s: KindOf = %d, want %d", tc.name, got, tc.want)
		}
	}
	// The underlying error stays reachable.
	e := &Error{What: "gone", Err: fs.ErrNotExist}
	if !errors.Is(fmt.Errorf("x: %w", e), fs.ErrNotExist) {
		t.Error("errors.Is does not see through an Error")
	}
}
