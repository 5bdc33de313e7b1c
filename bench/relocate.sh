#!/usr/bin/env bash
# bench/relocate.sh: the relocate engine's first run on the corpus of
# bench/corpus.sh (gpack pack -R of the whole corpus, extracted), against
# cat of the same files, both from the page cache. The goal: the first-run
# relocation at most 2× the time of cat. Prints a markdown table.
#
# Each relocation runs on a fresh copy of the extracted pack (hyperfine
# --prepare, untimed), with the store hidden and GPACK_ENGINE=relocate; the
# program run is the profile's true, which does nothing itself.
#
# Environment: GPACK (default bin/gpack), BENCH_RUNS (default 3). Runs as root.
set -euo pipefail

die() { printf 'bench/relocate.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpack=${GPACK:-$repo/bin/gpack}
runs=${BENCH_RUNS:-3}
[[ $(id -u) == 0 ]] || die "must run as root (mount namespaces)"
[[ -x $gpack ]] || die "no gpack at $gpack: run make build"
for tool in hyperfine nix-store unshare python3; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done

corpus=$("$repo/bench/corpus.sh")
profile=$(nix-store -qR "$corpus" | grep -- '-profile$') || die "the corpus has no profile"
tmp=$(mktemp -d /var/tmp/gpack-bench-relocate.XXXXXX)
cleanup() {
	for r in "$tmp"/copy "$tmp"/root; do
		[[ -f $r/.gpack/relocate/state ]] && rm -f "$(awk -F'\t' '$1 == "prefix" { sub(/\/+$/, "", $2); print $2 }' "$r/.gpack/relocate/state")"
	done
	chmod -R u+w "$tmp" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
log "packing the corpus with -R"
"$gpack" pack -q -R -C none -o "$tmp/p.tar" "$corpus" "$profile" >/dev/null
mkdir "$tmp/root"
tar -xf "$tmp/p.tar" -C "$tmp/root"
rm "$tmp/p.tar"
store=$(awk -F'\t' '$1 == "store" { print $2; exit }' "$tmp/root/.gpack/manifest")
[[ -d $store ]] || die "$store does not exist on this host: it must, to be hidden"
read -r files bytes < <(find "$tmp/root$store" -type f -printf '%s\n' | awk '{ n++; s += $1 } END { print n, s }')
log "the pack's store: $files files, $bytes bytes"

# Both sides read every file of the store from the page cache: warm it.
find "$tmp/root$store" -type f -print0 | xargs -0 cat >/dev/null
# The copies read the same files again: cp -a makes new inodes, so the
# relocation reads the copy, which cp has just brought into the cache.
hyperfine --style basic --runs "$runs" --export-json "$tmp/cat.json" \
	"find $tmp/root$store -type f -print0 | xargs -0 cat >/dev/null" >&2
hyperfine --style basic --runs "$runs" --export-json "$tmp/reloc.json" \
	--prepare "rm -f \$(awk -F'\t' '\$1 == \"prefix\" { sub(/\/+\$/, \"\", \$2); print \$2 }' $tmp/copy/.gpack/relocate/state 2>/dev/null) 2>/dev/null; chmod -R u+w $tmp/copy 2>/dev/null; rm -rf $tmp/copy; cp -a $tmp/root $tmp/copy; find $tmp/copy$store -type f -print0 | xargs -0 cat >/dev/null" \
	"unshare --mount --propagation private sh -c 'mount -t tmpfs none $store && GPACK_ENGINE=relocate exec $tmp/copy/bin/echo >/dev/null'" >&2
python3 - "$tmp/cat.json" "$tmp/reloc.json" "$files" "$bytes" <<'PY'
import json, sys
cat = json.load(open(sys.argv[1]))["results"][0]
rel = json.load(open(sys.argv[2]))["results"][0]
files, size = int(sys.argv[3]), int(sys.argv[4])
print(f"| {files:,} files, {size:,} bytes | mean s | min s | × cat |")
print("|---|---:|---:|---:|")
print(f"| cat of every file | {cat['mean']:.3f} | {cat['min']:.3f} | 1 |")
print(f"| first run, relocate | {rel['mean']:.3f} | {rel['min']:.3f} | {rel['mean'] / cat['mean']:.2f} |")
PY
