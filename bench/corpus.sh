#!/usr/bin/env bash
# bench/corpus.sh: builds (once) the benchmark corpus, at least 1 GB and
# 15,000 files as Nix store items, and prints the root item whose closure
# is the corpus. bench/closure.sh and bench/pack.sh use it. Runs as root.
set -euo pipefail

die() { printf 'bench/corpus.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${BENCH_CACHE:-/var/cache/gpack-bench}
[[ $(id -u) == 0 ]] || die "must run as root (adds to /nix/store)"
nixopts=(--option build-users-group "" --option substituters "" --option sandbox false)
nixcmd=(nix --extra-experimental-features nix-command "${nixopts[@]}")
mkdir -p "$cache"

# The corpus: big trees every machine of this kind has, each one store item.
sources=(
	go=/usr/local/go
	jdk25=/usr/lib/jvm/temurin-25-jdk-amd64
	jdk17=/usr/lib/jvm/java-17-openjdk-amd64
	gcc-lib=/usr/lib/gcc
	doc=/usr/share/doc
	python3-lib=/usr/lib/python3
)
# corpus.env: "name<TAB>source<TAB>fingerprint<TAB>store path" per item. The
# fingerprint hashes the metadata (names, types, sizes, mtimes, modes, link
# targets) of the source tree, so an upgraded source is added again.
index=$cache/corpus.env
touch "$index"
paths=()
start=$(date +%s.%N)
for s in "${sources[@]}"; do
	name=${s%%=*} src=${s#*=}
	[[ -d $src ]] || die "corpus source $src (item $name) is missing"
	fp=$(cd "$src" && find . -printf '%P\t%y\t%s\t%T@\t%m\t%l\n' | LC_ALL=C sort | sha256sum | cut -d' ' -f1)
	path=$(awk -F'\t' -v n="$name" -v s="$src" -v f="$fp" \
		'$1 == n && $2 == s && $3 == f { p = $4 } END { print p }' "$index")
	if [[ -n $path ]] && nix-store "${nixopts[@]}" --check-validity "$path" 2>/dev/null; then
		log "corpus: $name = $path (cached)"
	else
		log "corpus: adding $src as $name …"
		path=$("${nixcmd[@]}" store add-path --name "$name" "$src")
		awk -F'\t' -v n="$name" '$1 != n' "$index" >"$index.new"
		printf '%s\t%s\t%s\t%s\n' "$name" "$src" "$fp" "$path" >>"$index.new"
		mv "$index.new" "$index"
		log "corpus: $name = $path"
	fi
	paths+=("$path")
done

# The root: a derivation referencing the corpus and the test store's profile.
# hostKey is computed as internal/nixstore.HostKey does, so the test store
# items are the ones `go test ./internal/nixstore/` builds.
mapfile -t hostfiles < <(nix-instantiate "${nixopts[@]}" --eval --json --strict "$repo/testdata/nix/host.nix" |
	python3 -c 'import json, sys; m = json.load(sys.stdin); print("\n".join(m[k] for k in sorted(m)))')
hostkey=$(sha256sum "${hostfiles[@]}" | sha256sum | cut -d' ' -f1)
# The out-link is a GC root: the corpus survives `nix-store --gc`.
root=$(nix-build "${nixopts[@]}" "$repo/testdata/nix/bench.nix" \
	--argstr hostKey "$hostkey" --argstr paths "${paths[*]}" \
	--out-link "$cache/bench-root")
root=$(readlink -f "$root")
end=$(date +%s.%N)
log "corpus ready in $(python3 -c "print(f'{$end - $start:.1f}')") s: $root"
echo "$root"
