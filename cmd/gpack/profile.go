package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/gpack/gpack/closure"
	"github.com/gpack/gpack/internal/usererr"
	"github.com/gpack/gpack/pack"
)

// maxManifest bounds what -m reads: a profile's manifest of thousands of
// packages is a few megabytes.
const maxManifest = 64 << 20

// manifestNames are the files, in this order, that a profile directory
// given to -m holds its package list in: Guix's, nix profile's, nix-env's.
var manifestNames = []string{"manifest", "manifest.json", "manifest.nix"}

// readManifest returns the store paths -m FILE lists, in its order, each
// once. FILE is a list of paths, one a line ('#' starts a comment), or a
// profile's manifest (Guix's manifest, nix profile's manifest.json,
// nix-env's manifest.nix), or a profile directory that holds one.
func readManifest(file string) ([]string, error) {
	if fi, err := os.Stat(file); err == nil && fi.IsDir() {
		for _, n := range manifestNames {
			if _, err := os.Stat(filepath.Join(file, n)); err == nil {
				file = filepath.Join(file, n)
				break
			}
		}
	}
	f, err := os.Open(file)
	if err != nil {
		return nil, &usererr.Error{Kind: usererr.NotFound, Path: file, What: "-m: " + reason(err), Err: err}
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, maxManifest+1))
	if err != nil {
		return nil, &usererr.Error{Path: file, What: "-m: " + reason(err), Err: err}
	}
	if len(b) > maxManifest {
		return nil, &usererr.Error{Kind: usererr.Usage, Path: file, What: fmt.Sprintf("-m: larger than %d MiB, not a manifest", maxManifest>>20)}
	}
	paths := parseManifest(b)
	if len(paths) == 0 {
		return nil, &usererr.Error{Kind: usererr.Usage, Path: file, What: "-m: names no store path",
			Fix: "give a file of store paths, one a line, or a Nix or Guix profile (or its manifest)"}
	}
	return paths, nil
}

// storeItemRE matches a store item's path: a directory, then a
// 32-character nix-base32 hash, a dash and a name.
var storeItemRE = regexp.MustCompile(`/(?:[A-Za-z0-9._+-]+/)+[0-9abcdfghijklmnpqrsvwxyz]{32}-[A-Za-z0-9+._?=-]+`)

// parseManifest is readManifest's parser.
func parseManifest(b []byte) []string {
	var out []string
	seen := map[string]bool{}
	add := func(p string) {
		if strings.HasPrefix(p, "/") && !seen[p] && !strings.HasSuffix(p, ".drv") {
			seen[p] = true
			out = append(out, p)
		}
	}
	if list, ok := pathList(b); ok {
		for _, p := range list {
			add(p)
		}
		return out
	}
	var js struct {
		Elements json.RawMessage `json:"elements"`
	}
	if json.Unmarshal(b, &js) == nil && len(js.Elements) > 0 {
		// nix profile: "elements" is an object (version 3) or an array
		// (versions 1 and 2) of elements with "storePaths"; other
		// fields hold URLs, whose store paths are flake sources.
		type element struct {
			StorePaths []string `json:"storePaths"`
		}
		var byName map[string]element
		var list []element
		if json.Unmarshal(js.Elements, &byName) == nil {
			names := make([]string, 0, len(byName))
			for n := range byName {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				list = append(list, byName[n])
			}
		} else if json.Unmarshal(js.Elements, &list) != nil {
			return nil
		}
		for _, e := range list {
			for _, p := range e.StorePaths {
				add(p)
			}
		}
		return out
	}
	for _, m := range storeItemRE.FindAll(b, -1) {
		add(string(m))
	}
	return out
}

// pathList reads b as a list of absolute paths, one a line, with blank
// lines and '#' comments.
func pathList(b []byte) ([]string, bool) {
	var out []string
	for _, line := range bytes.Split(b, []byte("\n")) {
		s := strings.TrimSpace(string(line))
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t\"()") {
			return nil, false
		}
		out = append(out, s)
	}
	return out, len(out) > 0
}

// reason is err without the path an *fs.PathError repeats.
func reason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// packProfile is the profile gpack makes for a pack: none (nil) when the
// arguments name one item, which is its own profile; else the union of the
// items they name, in the order given (an item named twice counts once).
func packProfile(g *closure.Graph, args []string, store string, firstWins bool) (*pack.Profile, error) {
	var items []string
	seen := map[string]bool{}
	for _, a := range args {
		_, item, err := closure.Locate(a, store)
		if err != nil {
			return nil, err
		}
		if !seen[item] {
			seen[item] = true
			items = append(items, item)
		}
	}
	if len(items) < 2 {
		return nil, nil
	}
	return pack.NewProfile(g.Store, items, firstWins)
}
