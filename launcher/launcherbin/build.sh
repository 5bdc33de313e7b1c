#!/usr/bin/env bash
# launcher/launcherbin/build.sh: rebuild the launcher binary that gpack embeds
# (launcher/launcherbin/gpack-launcher) and record the hashes of the sources it
# was built from (gpack-launcher.sha256), which TestEmbeddedLauncherFresh
# compares with the checkout. Run it after changing the launcher's code or
# go.mod, then commit both files. `go generate ./launcher/launcherbin` runs it.
#
# The launcher is built for linux/amd64 whatever the host: packs run on Linux,
# and the test store is x86-64 only. -buildvcs=false keeps the commit and the
# dirty flag out of the binary, so that rebuilding unchanged sources with the
# same Go release gives the same bytes.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
export CGO_ENABLED=0 GOOS=linux GOARCH=amd64
out=launcher/launcherbin

go build -trimpath -buildvcs=false -ldflags='-s -w' -o "$out/gpack-launcher.new" ./cmd/gpack-launcher
mv "$out/gpack-launcher.new" "$out/gpack-launcher"

# The inputs: every .go file of this module that the build used, sorted
# bytewise, then go.mod (it pins golang.org/x/sys). One `sha256sum` line each,
# with paths relative to the repository, so the record names what changed.
module=$(go list -m)
mapfile -t files < <(
	go list -deps -f '{{if and .Module (eq .Module.Path "'"$module"'")}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}' ./cmd/gpack-launcher |
		sed "s|^$repo/||" | LC_ALL=C sort
)
sha256sum "${files[@]}" go.mod >"$out/gpack-launcher.sha256.new"
mv "$out/gpack-launcher.sha256.new" "$out/gpack-launcher.sha256"
printf 'built %s (%s bytes) from %s files\n' "$out/gpack-launcher" "$(stat -c %s "$out/gpack-launcher")" "$((${#files[@]} + 1))"
