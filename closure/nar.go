package closure

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
)

// The NAR serialisation (Nix's archive format) writes every string as an
// 8-byte length and the bytes padded to 8. Its size is what nix path-info -s
// reports as an item's size, so gpack computes it from the tree without
// serialising anything.
func narStr(n int) int64 { return 8 + int64(n+7)&^7 }

func narLit(s string) int64 { return narStr(len(s)) }

var (
	// "nix-archive-1", before the root node.
	narHeader = narLit("nix-archive-1")
	// "(" "type" "directory" … ")": a directory node without its entries.
	narDir = narLit("(") + narLit("type") + narLit("directory") + narLit(")")
)

// narEntry is a directory entry's wrapper around its node:
// "entry" "(" "name" <name> "node" <node> ")".
func narEntry(nameLen int) int64 {
	return narLit("entry") + narLit("(") + narLit("name") + narStr(nameLen) + narLit("node") + narLit(")")
}

// narRegular is a regular file's node:
// "(" "type" "regular" ["executable" ""] "contents" <bytes> ")".
func narRegular(size int64, exec bool) int64 {
	n := narLit("(") + narLit("type") + narLit("regular") + narLit("contents") + 8 + (size+7)&^7 + narLit(")")
	if exec {
		n += narLit("executable") + narLit("")
	}
	return n
}

// narSymlink is a symlink's node: "(" "type" "symlink" "target" <target> ")".
func narSymlink(targetLen int) int64 {
	return narLit("(") + narLit("type") + narLit("symlink") + narLit("target") + narStr(targetLen) + narLit(")")
}

// drvOutputHashes reads the output paths of a derivation file
// (Derive([("out","/nix/store/…-x","",""),…],…). The daemons record a
// .drv's inputs as its references, never its outputs, although the file
// spells the outputs out.
func drvOutputHashes(path string) (map[string]bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, readError(path, err)
	}
	defer f.Close()
	// The outputs come first and are short; 64 KiB holds thousands.
	head, err := io.ReadAll(io.LimitReader(bufio.NewReader(f), 64<<10))
	if err != nil {
		return nil, readError(path, err)
	}
	rest, ok := bytes.CutPrefix(head, []byte("Derive(["))
	if !ok {
		return nil, nil // not a derivation: scan it like any file
	}
	out := map[string]bool{}
	for len(rest) > 0 && rest[0] == '(' {
		// ("name","path","hashAlgo","hash")
		fields, n, err := drvTuple(rest)
		if err != nil {
			return nil, fmt.Errorf("parse derivation %s: %w", path, err)
		}
		if len(fields) >= 2 {
			p := fields[1]
			if i := bytes.LastIndexByte(p, '/'); i >= 0 && len(p) >= i+1+HashLen {
				out[string(p[i+1:i+1+HashLen])] = true
			}
		}
		rest = rest[n:]
		if len(rest) > 0 && rest[0] == ',' {
			rest = rest[1:]
		}
	}
	return out, nil
}

// drvTuple parses ("a","b",…) and returns its strings and the bytes used.
func drvTuple(b []byte) ([][]byte, int, error) {
	var fields [][]byte
	i := 1
	for i < len(b) {
		switch b[i] {
		case ')':
			return fields, i + 1, nil
		case ',':
			i++
		case '"':
			j := i + 1
			var s []byte
			for j < len(b) && b[j] != '"' {
				if b[j] == '\\' && j+1 < len(b) {
					j++
				}
				s = append(s, b[j])
				j++
			}
			if j >= len(b) {
				return nil, 0, fmt.Errorf("unterminated string")
			}
			fields = append(fields, s)
			i = j + 1
		default:
			return nil, 0, fmt.Errorf("unexpected %q in outputs", b[i])
		}
	}
	return nil, 0, fmt.Errorf("unterminated outputs")
}
