//go:build cgo

package main

// Importing C links the program against libc dynamically. (A comment right
// above the import would be C code, cgo's preamble.)

import "C"

const linked = "dynamic"
