//go:build !cgo

package main

const linked = "static"
