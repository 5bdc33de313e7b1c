#!/usr/bin/env bash
# bench/squashfs.sh: gpack pack -f squashfs against mksquashfs on the corpus
# of bench/corpus.sh, for gzip, xz and zstd at 128 KiB and 1 MiB blocks, and
# the time unsquashfs -d takes to read each image back. Prints a markdown
# table of wall time and size.
#
# mksquashfs gets the items themselves, with the options that make its image
# comparable to gpack's: -processors 2 -all-root -no-xattrs -all-time 1
# -mkfs-time 1. (gpack's image also holds the store's parent directories; a
# few hundred bytes.)
#
# Environment: GPACK (default bin/gpack), BENCH_RUNS (default 1),
# BENCH_COMPS (default "gzip xz zstd"), BENCH_BLOCKS (default "128K 1M").
# Runs as root.
set -euo pipefail

die() { printf 'bench/squashfs.sh: %s\n' "$*" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpack=${GPACK:-$repo/bin/gpack}
runs=${BENCH_RUNS:-1}
[[ -x $gpack ]] || die "no gpack at $gpack: run make build"
for tool in mksquashfs unsquashfs hyperfine python3 nix-store; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done

root=$("$repo/bench/corpus.sh")
tmp=$(mktemp -d /var/tmp/gpack-bench-squashfs.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mapfile -t items < <(nix-store -qR "$root")

rows=()
for c in ${BENCH_COMPS:-gzip xz zstd}; do
	for b in ${BENCH_BLOCKS:-128K 1M}; do
		g="$tmp/gpack-$c-$b.sqfs" m="$tmp/mksquashfs-$c-$b.sqfs"
		hyperfine --style basic --warmup 0 --runs "$runs" --export-json "$tmp/t.json" \
			-n "gpack $c $b" "rm -f $g; $gpack pack -q -f squashfs -C $c --block-size $b -o $g $root" \
			-n "mksquashfs $c $b" "rm -f $m; mksquashfs ${items[*]} $m -quiet -no-progress -comp $c -b $b -processors 2 -all-root -no-xattrs -all-time 1 -mkfs-time 1 -noappend >/dev/null" >&2
		read -r tg tm < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r[0]["mean"], r[1]["mean"])' "$tmp/t.json")
		hyperfine --style basic --warmup 0 --runs "$runs" --export-json "$tmp/u.json" \
			-n "unsquashfs gpack" "rm -rf $tmp/x; unsquashfs -q -n -d $tmp/x $g" \
			-n "unsquashfs mksquashfs" "rm -rf $tmp/x; unsquashfs -q -n -d $tmp/x $m" >&2
		read -r ug um < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))["results"]; print(r[0]["mean"], r[1]["mean"])' "$tmp/u.json")
		rows+=("$c $b $tg $tm $(stat -c %s "$g") $(stat -c %s "$m") $ug $um")
		rm -rf "$tmp/x" "$g" "$m"
	done
done

echo
echo "Corpus: ${#items[@]} store items, $(du -sbc "${items[@]}" | tail -n1 | cut -f1) bytes; $(nproc) cores"
echo
printf '%s\n' "${rows[@]}" | python3 -c '
import sys
print("| compressor | block | gpack s | mksquashfs s | time ratio | gpack bytes | mksquashfs bytes | size ratio | unsquashfs gpack s | unsquashfs mksquashfs s |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for l in sys.stdin:
    c, b, tg, tm, sg, sm, ug, um = l.split()
    tg, tm, sg, sm, ug, um = float(tg), float(tm), int(sg), int(sm), float(ug), float(um)
    print(f"| {c} | {b} | {tg:.2f} | {tm:.2f} | {tg/tm:.2f} | {sg:,} | {sm:,} | {sg/sm:.4f} | {ug:.2f} | {um:.2f} |")
'
