// Command mkstore builds the synthetic test store under a directory, for the
// demo and for trying gpack by hand: go run ./internal/teststore/mkstore DIR.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/gpack/gpack/internal/teststore"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: mkstore DIR")
		os.Exit(2)
	}
	root, err := filepath.Abs(os.Args[1])
	if err == nil {
		err = os.MkdirAll(root, 0o755)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkstore:", err)
		os.Exit(1)
	}
	s, err := teststore.Build(root)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mkstore:", err)
		os.Exit(1)
	}
	var names []string
	for n := range s.Items {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Printf("%s\t%s\n", n, s.Items[n])
	}
}
