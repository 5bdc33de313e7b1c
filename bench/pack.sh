#!/usr/bin/env bash
# bench/pack.sh: gpack pack against the tar pipelines users would pick
# instead, side by side on the corpus of bench/corpus.sh: guix pack's
# default (tar | gzip -9n), tar | pigz -9, tar | zstd -3 -T0 and
# tar | xz -T0 -6. Prints a markdown table of wall time and size.
#
# Environment: GPACK (default bin/gpack), BENCH_RUNS (default 1: the slow
# rows take minutes each). Runs as root.
set -euo pipefail

die() { printf 'bench/pack.sh: %s\n' "$*" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpack=${GPACK:-$repo/bin/gpack}
runs=${BENCH_RUNS:-1}
[[ -x $gpack ]] || die "no gpack at $gpack: run make build"
for tool in tar gzip pigz zstd xz hyperfine python3; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done

root=$("$repo/bench/corpus.sh")
tmp=$(mktemp -d /var/tmp/gpack-bench-pack.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
nix-store -qR "$root" | sed 's|^/||' >"$tmp/items"
tar="tar --sort=name --format=gnu --mtime=@1 --owner=0 --group=0 --numeric-owner --hard-dereference -C / -cf - -T $tmp/items"

cmds=(
	-n "gpack -C gzip" "$gpack pack -q -C gzip -o $tmp/gpack.tar.gz $root"
	-n "tar | gzip -9n (guix pack)" "$tar | gzip -9n > $tmp/gzip.tar.gz"
	-n "tar | pigz -9" "$tar | pigz -9 > $tmp/pigz.tar.gz"
	-n "gpack -C zstd" "$gpack pack -q -C zstd -o $tmp/gpack.tar.zst $root"
	-n "tar | zstd -3 -T0" "$tar | zstd -q -3 -T0 > $tmp/zstd.tar.zst"
	-n "gpack -C xz" "$gpack pack -q -C xz -o $tmp/gpack.tar.xz $root"
	-n "tar | xz -T0 -6" "$tar | xz -T0 -6 > $tmp/xz.tar.xz"
)
files=(gpack.tar.gz gzip.tar.gz pigz.tar.gz gpack.tar.zst zstd.tar.zst gpack.tar.xz xz.tar.xz)
hyperfine --style basic --warmup 0 --runs "$runs" --export-json "$tmp/times.json" "${cmds[@]}" >&2
sizes=()
for f in "${files[@]}"; do sizes+=("$(stat -c %s "$tmp/$f")"); done

echo
echo "Corpus: $(wc -l <"$tmp/items") store items, $(du -sbc $(sed 's|^|/|' "$tmp/items") | tail -n1 | cut -f1) bytes; $(nproc) cores"
echo
python3 - "$tmp/times.json" "${sizes[@]}" <<'PY'
import json, sys
res = json.load(open(sys.argv[1]))["results"]
sizes = [int(s) for s in sys.argv[2:]]
# Each gpack row is compared with the pipeline rows of its compressor.
base = {0: 1, 3: 4, 5: 6}
print("| command | seconds | size (bytes) | speed vs pipeline | size vs pipeline |")
print("|---|---:|---:|---:|---:|")
for i, r in enumerate(res):
    line = f"| {r['command']} | {r['mean']:.2f} | {sizes[i]:,} |"
    if i in base:
        j = base[i]
        line += f" {res[j]['mean'] / r['mean']:.1f}x faster | {sizes[i] / sizes[j]:.4f} |"
    else:
        line += " | |"
    print(line)
print(f"\ngpack -C gzip vs tar | pigz -9: {res[2]['mean'] / res[0]['mean']:.1f}x faster, size {sizes[0] / sizes[2]:.4f}")
PY
