package closure

import (
	"fmt"
	"io/fs"
	"syscall"

	"github.com/gpack/gpack/internal/usererr"
)

// Stamp is what tells that a file changed: its size, its modification
// time and its status change time. A rewrite in place of the same size
// keeps the size, and a careful one the mtime too (touch -r), but no
// write leaves the ctime as it was.
type Stamp struct {
	Size         int64
	Mtime, Ctime int64 // nanoseconds since the epoch
}

// StampOf is fi's Stamp; fi must come from a stat on Linux.
func StampOf(fi fs.FileInfo) Stamp {
	s := Stamp{Size: fi.Size(), Mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		s.Ctime = st.Ctim.Nano()
	}
	return s
}

// Changed is the error for a file whose stamp was before and is now after,
// as every reader of store files reports it (the closure scan, the pack's
// tree and the formats reading it): the closure, the pack or both may
// hold a mix of old and new content, or miss an item the new content
// refers to.
func Changed(path string, before, after Stamp) error {
	how := "its status change time moved"
	switch {
	case before.Size != after.Size:
		how = fmt.Sprintf("size %d, was %d", after.Size, before.Size)
	case before.Mtime != after.Mtime:
		how = "its modification time moved"
	}
	return &usererr.Error{Path: path, What: "changed while gpack read it (" + how + ")",
		Fix: "pack again once nothing writes to the store (a build, an upgrade or a repair of the store)"}
}
