#!/usr/bin/env bash
# bench/closure.sh: time `gpack closure` on a ≥1 GB Nix store closure against
# cat(1) of every file of that closure (the physical limit) and
# `nix-store -qR` (the daemon database's answer), with a warm and a cold page
# cache. See bench/README.md.
#
# Environment:
#   GPACK        gpack binary (default: bin/gpack of this checkout)
#   BENCH_RUNS   timed runs per command and cache state (default 5)
#   BENCH_CACHE  cache directory (default /var/cache/gpack-bench)
#
# Runs as root (it adds to /nix/store and drops the page cache). Idempotent:
# corpus items already added are reused.
set -euo pipefail

die() { printf 'bench/closure.sh: %s\n' "$*" >&2; exit 1; }
log() { printf '%s\n' "$*" >&2; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpack=${GPACK:-$repo/bin/gpack}
case $gpack in /*) ;; *) gpack=$PWD/$gpack ;; esac
runs=${BENCH_RUNS:-5}
cache=${BENCH_CACHE:-/var/cache/gpack-bench}

[[ -x $gpack && -f $gpack ]] ||
	die "gpack binary $gpack not found or not executable: build it first (go build -o bin/gpack ./cmd/gpack) or set GPACK=/path/to/gpack"
[[ $(id -u) == 0 ]] || die "must run as root (adds to /nix/store, drops the page cache)"
for tool in nix-store nix-build nix-instantiate nix hyperfine python3 sha256sum; do
	command -v "$tool" >/dev/null || die "$tool not found: run \`make deps\`"
done

# Nix options: offline, no sandbox, no build users (single-user mode as root).
nixopts=(--option build-users-group "" --option substituters "" --option sandbox false)
nixcmd=(nix --extra-experimental-features nix-command "${nixopts[@]}")

tmp=$(mktemp -d /tmp/gpack-bench.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$cache"

# 1. The corpus (built once, then reused).
root=$("$repo/bench/corpus.sh")

nix-store "${nixopts[@]}" -qR "$root" >"$tmp/closure"
mapfile -t closure <"$tmp/closure"
find "${closure[@]}" -type f -print0 >"$tmp/files"
bytes=$(du -sbc "${closure[@]}" | tail -n1 | cut -f1)
nfiles=$(tr -cd '\0' <"$tmp/files" | wc -c)

# 2. Timings. Cold runs drop the page cache before every run.
drop='sync; echo 3 > /proc/sys/vm/drop_caches'
cold=yes
sh -c "$drop" 2>/dev/null || { cold=; log "cannot drop the page cache here: cold rows left out"; }

q() { printf '%q' "$1"; }
cmds=(
	-n gpack "$(q "$gpack") closure $(q "$root") > /dev/null"
	-n cat "xargs -0 cat < $(q "$tmp/files") > /dev/null"
	-n nix-store "nix-store -qR $(q "$root") > /dev/null"
)
log "timing, warm page cache ($runs runs each) …"
hyperfine --style basic --warmup 1 --runs "$runs" --export-json "$tmp/warm.json" "${cmds[@]}" >&2
if [[ -n $cold ]]; then
	log "timing, cold page cache ($runs runs each) …"
	hyperfine --style basic --runs "$runs" --prepare "$drop" --export-json "$tmp/cold.json" "${cmds[@]}" >&2
else
	echo '{"results": []}' >"$tmp/cold.json"
fi

# 3. The report (stdout).
echo
echo "Corpus: ${#closure[@]} store items, $bytes bytes ($(python3 -c "print(f'{$bytes / 1e9:.2f}')") GB), $nfiles files; root $root"
echo
python3 - "$tmp/warm.json" "$tmp/cold.json" <<'EOF'
import json, sys

print("| tool | cache | mean (s) | ± stddev (s) | ratio to cat |")
print("|---|---|---:|---:|---:|")
for state, path in zip(("warm", "cold"), sys.argv[1:]):
    results = json.load(open(path))["results"]
    if not results:
        continue
    cat = next(r["mean"] for r in results if r["command"] == "cat")
    for r in results:
        sd = r["stddev"] if r.get("stddev") is not None else 0.0
        print(f"| {r['command']} | {state} | {r['mean']:.3f} | {sd:.3f} | {r['mean'] / cat:.2f} |")
EOF
