//go:build linux

package ptrace

// arm64 has only the *at forms.
var (
	legacyWriteCalls []int
	legacyReadCalls  = map[int]bool{}
)
