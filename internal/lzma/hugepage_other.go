//go:build !linux

package lzma

func adviseHuge([]uint32) {}
