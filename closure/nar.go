package closure

import (
	"bytes"
	"fmt"
	"os"
	"strings"
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

// drvReferences reads a derivation file (Derive(outputs, inputDrvs,
// inputSrcs, …)) and returns the hash parts of its input derivations and
// input sources. The daemons record exactly those as a .drv's references:
// the file also spells out its own outputs and, in its environment, the
// outputs of its inputs, and neither counts. ok is false when the file is
// not a derivation, which is then scanned like any file.
func drvReferences(path string) (refs map[string]bool, ok bool, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, false, readError(path, err)
	}
	rest, isDrv := bytes.CutPrefix(b, []byte("Derive"))
	if !isDrv {
		return nil, false, nil
	}
	v, _, perr := parseATerm(rest)
	fields, isList := v.([]any)
	if perr != nil || !isList || len(fields) < 3 {
		return nil, false, nil
	}
	refs = map[string]bool{}
	addHash := func(p any) {
		if s, ok := p.(string); ok {
			if i := strings.LastIndexByte(s, '/'); i >= 0 && len(s) >= i+1+HashLen {
				refs[s[i+1:i+1+HashLen]] = true
			}
		}
	}
	inputDrvs, _ := fields[1].([]any)
	for _, d := range inputDrvs {
		if pair, ok := d.([]any); ok && len(pair) > 0 {
			addHash(pair[0])
		}
	}
	inputSrcs, _ := fields[2].([]any)
	for _, src := range inputSrcs {
		addHash(src)
	}
	return refs, true, nil
}

// parseATerm parses the subset of ATerm that derivations use: strings with
// backslash escapes, and lists and tuples of them (both returned as []any).
func parseATerm(b []byte) (any, []byte, error) {
	if len(b) == 0 {
		return nil, nil, fmt.Errorf("unexpected end")
	}
	switch b[0] {
	case '"':
		var s []byte
		i := 1
		for ; i < len(b) && b[i] != '"'; i++ {
			if b[i] == '\\' && i+1 < len(b) {
				i++
			}
			s = append(s, b[i])
		}
		if i >= len(b) {
			return nil, nil, fmt.Errorf("unterminated string")
		}
		return string(s), b[i+1:], nil
	case '[', '(':
		end := byte(']')
		if b[0] == '(' {
			end = ')'
		}
		var out []any
		b = b[1:]
		for {
			if len(b) > 0 && b[0] == end {
				return out, b[1:], nil
			}
			v, rest, err := parseATerm(b)
			if err != nil {
				return nil, nil, err
			}
			out = append(out, v)
			b = rest
			if len(b) > 0 && b[0] == ',' {
				b = b[1:]
			}
		}
	}
	return nil, nil, fmt.Errorf("unexpected %q", b[0])
}
