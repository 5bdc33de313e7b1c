#!/usr/bin/env bash
# bench/compress.sh: time gpack's compressors (formats/compress) against the
# reference tools on one tarball, and print a markdown table of wall time and
# output size.
#
# Usage: bench/compress.sh [TARBALL]
# Without TARBALL it tars the Go toolchain (/usr/local/go) the way guix pack
# does. Every output is checked against the input with the reference
# decompressor before it counts.
#
# Environment:
#   BENCH_RUNS  timed runs per command (default 3)
#   GO          go command used to build gpack-compress (default go)
#
# Needs hyperfine, python3, gzip, pigz, zstd, xz (Debian: hyperfine python3
# gzip pigz zstd xz-utils). The hyperfine logs go to stderr, the table to
# stdout.
set -euo pipefail

die() { printf 'bench/compress.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-3}
go=${GO:-go}

for tool in hyperfine python3 gzip pigz zstd xz tar cmp "$go"; do
	command -v "$tool" >/dev/null || die "$tool not found: run \`make deps\`"
done

tmp=$(mktemp -d /tmp/gpack-bench-compress.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if (($# > 0)); then
	input=$(realpath -- "$1")
	[[ -f $input ]] || die "$1: not a file"
else
	input=$tmp/go.tar
	log "input: tarring /usr/local/go …"
	tar --sort=name --format=gnu --mtime=@1 --owner=0 --group=0 --numeric-owner \
		-cf "$input" -C /usr/local go
fi

# A fixed name, so that no quoting of the user's path reaches hyperfine's shell.
ln -s "$input" "$tmp/input"
gc=$tmp/gpack-compress
(cd "$repo" && CGO_ENABLED=0 "$go" build -trimpath -o "$gc" ./formats/compress/cmd/gpack-compress)

# name | command reading stdin, writing stdout | decompressor | reference row
rows=(
	"gzip -9n|gzip -9n|gzip -dc|gzip -9n"
	"pigz -9|pigz -9|gzip -dc|gzip -9n"
	"gpack gzip|$gc -C gzip|gzip -dc|gzip -9n"
	"pigz -6|pigz -6|gzip -dc|pigz -6"
	"gpack gzip -6|$gc -C gzip -level 6|gzip -dc|pigz -6"
	"zstd -3 -T0|zstd -q -3 -T0|zstd -dc|zstd -3 -T0"
	"gpack zstd|$gc -C zstd|zstd -dc|zstd -3 -T0"
	"xz -6 -T1|xz -6 -T1|xz -dc|xz -6 -T1"
	"xz -T0 -6|xz -T0 -6|xz -dc|xz -6 -T1"
	"gpack xz|$gc -C xz|xz -dc|xz -6 -T1"
	"gpack xz 5|$gc -C xz -level 5|xz -dc|xz -6 -T1"
)

results=$tmp/results.tsv
: >"$results"
i=0
for row in "${rows[@]}"; do
	IFS='|' read -r name cmd unz ref <<<"$row"
	out=$tmp/out.$i
	log "== $name"
	hyperfine --runs "$runs" --style basic --export-json "$tmp/$i.json" \
		--command-name "$name" "$cmd <$tmp/input >$out" >&2
	$unz "$out" | cmp -s - "$tmp/input" || die "$name: output does not decompress to the input"
	printf '%s\t%s\t%s\t%s\n' "$name" "$ref" "$(stat -c %s "$out")" "$tmp/$i.json" >>"$results"
	rm -f "$out"
	i=$((i + 1))
done

python3 - "$input" "$results" <<'EOF'
import json, os, sys

inp, results = sys.argv[1], sys.argv[2]
insize = os.path.getsize(inp)
rows = [line.rstrip("\n").split("\t") for line in open(results)]
size = {r[0]: int(r[2]) for r in rows}
mean = {r[0]: json.load(open(r[3]))["results"][0]["mean"] for r in rows}
cores = os.cpu_count()
print(f"Input: `{os.path.basename(inp)}`, {insize:,} bytes; {cores} CPUs; "
      f"mean of {len(json.load(open(rows[0][3]))['results'][0]['times'])} runs.\n")
print("| command | wall time (s) | MB/s | output (bytes) | % of input | size vs reference | speed vs reference |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, ref, out, js in rows:
    r = json.load(open(js))["results"][0]
    m, sd = r["mean"], r["stddev"] or 0.0
    if name == ref:
        rel = speed = "—"
    else:
        rel = f"{int(out) / size[ref]:.4f} × {ref}"
        speed = f"{mean[ref] / m:.2f} × {ref}"
    print(f"| `{name}` | {m:.2f} ± {sd:.2f} | {insize / m / 1e6:.0f} | "
          f"{int(out):,} | {int(out) / insize * 100:.2f} | {rel} | {speed} |")
EOF
