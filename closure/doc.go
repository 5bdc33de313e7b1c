// Package closure finds the closure of store items without a daemon: it lists
// the store directory, scans every file's bytes, every symlink target and every
// file name of an item for the hash parts of the store's entries (the rule the
// Nix and Guix daemons use to record references), and builds the reference
// graph with sizes and a deterministic topological order.
//
// The scan runs on a bounded pool of workers that share one queue of
// directories and files. A referenced item is queued as soon as the first hit
// names it, so the whole closure is scanned in one parallel sweep; results are
// sets merged per item, so the graph does not depend on the core count or on
// scheduling. Files are read in fixed-size chunks (memory does not grow with
// file size) and holes in sparse files are skipped with SEEK_DATA/SEEK_HOLE.
package closure
