#!/usr/bin/env bash
# bench/run.sh: make bench. Every table, side by side on one corpus:
# gpack closure (bench/closure.sh), gpack pack against the tar pipelines
# (bench/pack.sh), squashfs images against mksquashfs (bench/squashfs.sh, and
# the writer alone on the Go toolchain: BenchmarkVsMksquashfs),
# container images, their cache and pushes (bench/image.sh),
# the launcher's start-up (bench/launcher.sh), an AppImage's start-up over
# FUSE and from its cache and Python's imports from it (bench/appimage.sh),
# the compressors against gzip, pigz, zstd and xz on the Go toolchain and
# on the corpus (bench/compress.sh), workloads
# through the launcher's engines and proot (bench/ptrace.sh), the relocate
# engine's first run against cat (bench/relocate.sh) and the
# scanner's speed per core (go test -bench). Runs as root.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$repo"

echo "## gpack closure"
bench/closure.sh

echo
echo "## gpack pack"
bench/pack.sh

echo
echo "## gpack pack -f squashfs against mksquashfs"
bench/squashfs.sh

echo
echo "## the squashfs writer against mksquashfs on the Go toolchain (best of 3, 2 cores each)"
go test -run '^$' -bench BenchmarkVsMksquashfs -benchtime 3x -timeout 60m ./formats/squashfs/ | grep -E '^Benchmark'

echo
echo "## the squashfs reader against unsquashfs -d on the Go toolchain's image"
go test -run '^$' -bench BenchmarkVsUnsquashfs -benchtime 3x -timeout 60m ./formats/squashfs/ | grep -E '^Benchmark'

echo
echo "## gpack pack -f docker, the layer cache and --push"
bench/image.sh

echo
echo "## launcher start-up (echo from the corpus's coreutils, through a -R pack)"
root=$(bench/corpus.sh)
profile=$(nix-store -qR "$root" | grep -- '-profile$')
tmp=$(mktemp -d /var/tmp/gpack-bench-launcher.XXXXXX)
trap 'chmod -R u+w "$tmp"; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
bin/gpack pack -q -R -C none -o "$tmp/p.tar" "$profile" >/dev/null
mkdir "$tmp/root"
tar -xf "$tmp/p.tar" -C "$tmp/root"
bench/launcher.sh "$tmp/root" echo hi

echo
echo "## AppImage start-up (echo from the corpus's coreutils): direct, over FUSE, from the cache"
bin/gpack pack -q -f appimage --entry-point bin/echo -o "$tmp/echo.AppImage" "$profile" >/dev/null
bench/appimage.sh "$tmp/echo.AppImage" echo hi

echo
echo "## workloads through the engines: native, gpack ptrace, proot, gpack userns"
bench/ptrace.sh

echo
echo "## Python importing 200 modules from an AppImage (the python3 item of bench/ptrace.sh): direct, over FUSE, from the cache"
py=$(for l in "${BENCH_CACHE:-/var/cache/gpack-bench}"/ptrace-items*; do readlink -f "$l"; done | grep -- '-python3$' | head -n 1)
[[ -n $py ]] || { echo "bench/run.sh: bench/ptrace.sh left no python3 item" >&2; exit 1; }
bin/gpack pack -q -f appimage --entry-point bin/python3 -o "$tmp/py.AppImage" "$py" >/dev/null
imports=$(sed -n '/^modules=(/,/^)/p' bench/ptrace.sh | sed '1d;$d' | tr -s ' \t\n' ',' | sed 's/^,//; s/,$//')
BENCH_RUNS=20 BENCH_ENV="PYTHONHOME=$py" bench/appimage.sh "$tmp/py.AppImage" python3 -c "import $imports"

echo
echo "## compressors against their reference tools: the Go toolchain tarball (3 runs)"
bench/compress.sh

echo
echo "## compressors against their reference tools: the corpus's closure as one tarball (1 run)"
tar --sort=name --format=gnu --mtime=@1 --owner=0 --group=0 --numeric-owner -cf "$tmp/corpus.tar" \
	$(nix-store -qR "$root")
BENCH_RUNS=1 bench/compress.sh "$tmp/corpus.tar"
rm -f "$tmp/corpus.tar"

echo
echo "## the relocate engine's first run on the corpus, against cat"
bench/relocate.sh

echo
echo "## reference scanner, one core"
go test -run '^$' -bench BenchmarkScan -benchtime 20x ./closure/ | grep -E '^Benchmark'
