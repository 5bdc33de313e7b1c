#!/usr/bin/env bash
# launcher/launcherbin/build.sh: rebuild the launcher binaries that gpack
# embeds (launcher/launcherbin/gpack-launcher-<arch>, one per architecture
# gpack packs for) and record the hashes of the sources they were built from
# (gpack-launcher.sha256), which TestEmbeddedLauncherFresh compares with the
# checkout. Run it after changing the launcher's code or go.mod, then commit
# the binaries and the record. `go generate ./launcher/launcherbin` runs it.
#
# The binaries are static (CGO_ENABLED=0) linux executables. -trimpath and
# -buildvcs=false keep paths, the commit and the dirty flag out of them, so
# that rebuilding unchanged sources with the same Go release gives the same
# bytes. The version they print (.gpack/launcher --version) is "src-" and the
# first 12 hex digits of the record's own SHA-256: it names the sources.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$repo"
export CGO_ENABLED=0 GOOS=linux
out=launcher/launcherbin
arches=(amd64 arm64)

# build NAME TAGS: the inputs are every .go file of this module that a build
# for any of the architectures with TAGS uses, sorted bytewise, then go.mod
# (it pins golang.org/x/sys and the decompressors). One `sha256sum` line
# each, with paths relative to the repository, so the record (NAME.sha256)
# names what changed. NAME is gpack-launcher, the small launcher of -R
# packs, or gpack-appimage-runtime, cmd/gpack-launcher built with the
# appimage tag: the runtime of AppImages, with the squashfs reader.
module=$(go list -m)
build() {
	local name=$1 tags=$2
	local -a files
	mapfile -t files < <(
		for arch in "${arches[@]}"; do
			GOARCH=$arch go list -tags "$tags" -deps -f '{{if and .Module (eq .Module.Path "'"$module"'")}}{{range .GoFiles}}{{$.Dir}}/{{.}}{{"\n"}}{{end}}{{end}}' ./cmd/gpack-launcher
		done | sed "s|^$repo/||" | LC_ALL=C sort -u
	)
	sha256sum "${files[@]}" go.mod >"$out/$name.sha256.new"
	local version
	version="src-$(sha256sum "$out/$name.sha256.new" | cut -c1-12)"
	for arch in "${arches[@]}"; do
		GOARCH=$arch go build -tags "$tags" -trimpath -buildvcs=false \
			-ldflags="-s -w -E=_gpack_launcher_entry -X github.com/gpack/gpack/launcher.Version=$version" \
			-o "$out/$name-$arch.new" ./cmd/gpack-launcher
		mv "$out/$name-$arch.new" "$out/$name-$arch"
		printf 'built %s (%s bytes)\n' "$out/$name-$arch" "$(stat -c %s "$out/$name-$arch")"
	done
	mv "$out/$name.sha256.new" "$out/$name.sha256"
	printf '%s: version %s, from %s files\n' "$name" "$version" "$((${#files[@]} + 1))"
}
build gpack-launcher ""
build gpack-appimage-runtime appimage
rm -f "$out/gpack-launcher"
