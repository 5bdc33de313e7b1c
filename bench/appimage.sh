#!/usr/bin/env bash
# bench/appimage.sh: start-up cost of an AppImage made by gpack pack -f appimage.
#
# Usage: bench/appimage.sh APPIMAGE NAME [ARG...]
#
# APPIMAGE is an AppImage of gpack's; NAME is one of its programs, run with
# ARG... (through --gpack-run NAME). Rows, timed by hyperfine:
#
#   direct    the store program itself, from the AppImage's tree extracted
#             (--appimage-extract) and bound at the store path: the floor
#   fuse      the AppImage, store hidden, user namespaces on: the image is
#             mounted over FUSE in namespaces that the runs share (the
#             first run starts their server, the warm-up) and served by
#             the runtime; nothing is extracted
#   fuse-alone  the same with GPACK_APPIMAGE_LINGER=0: a mount for each
#             run, which starts with nothing cached (a first run's cost)
#   cache     the AppImage with APPIMAGE_EXTRACT_AND_RUN=1, store hidden,
#             from its extraction cache (extracted by the warm-up), through
#             the userns engine
#   cache-relocate  the same with user namespaces off (max_user_namespaces
#             0 in an enclosing user namespace): the cache, relocated by
#             the warm-up, run natively by the relocate engine
#
# Each row runs in a mount namespace of its own, set up once, as BENCH_USER,
# with hyperfine's -N. Prints a markdown table of the means on stdout;
# hyperfine's log goes to stderr. The goal (issue 13) is fuse within 50 ms
# of direct.
#
# Environment:
#   BENCH_RUNS   timed runs per row (default 200)
#   BENCH_USER   uid the rows run as (default 65534, nobody)
#   BENCH_ENV    NAME=VALUE words set in every row (PYTHONHOME=STORE-PATH
#                for a Python whose compiled-in prefix is not its store
#                path); in the cache-relocate row a value under the store
#                names the relocation's prefix instead, as the pack's own
#                files do
#
# Runs as root. The store directory must exist on the host (an empty
# directory will do): it is where rows hide or bind the store.
set -euo pipefail

die() { printf 'bench/appimage.sh: %s\n' "$*" >&2; exit 1; }

(($# >= 2)) || die "usage: bench/appimage.sh APPIMAGE NAME [ARG...]"
img=$(realpath "$1") || die "$1 not found"
orig=$img
name=$2
shift 2
runs=${BENCH_RUNS:-200}
user=${BENCH_USER:-65534}

[[ $(id -u) == 0 ]] || die "must run as root (mount namespaces, setpriv)"
for tool in hyperfine unshare setpriv jq; do
	command -v "$tool" >/dev/null || die "$tool not found (Debian: apt-get install hyperfine util-linux jq)"
done

tmp=$(mktemp -d /tmp/gpack-bench-appimage.XXXXXX)
trap 'chmod -R u+w "$tmp" 2>/dev/null; for l in "$tmp"/cache/gpack/*/.gpack/relocate/state; do [[ -f $l ]] && rm -f "$(awk -F"\t" "\$1 == \"prefix\" { sub(/\/+$/, \"\", \$2); print \$2 }" "$l")"; done; rm -rf "$tmp"' EXIT
chmod 755 "$tmp"
cp "$img" "$tmp/app.AppImage"
mkdir "$tmp/cache"
chown -R "$user" "$tmp"
img=$tmp/app.AppImage
(cd "$tmp" && "$img" --appimage-extract >/dev/null)
root=$tmp/squashfs-root
manifest=$root/.gpack/manifest
store=$(awk -F'\t' '$1 == "store" { print $2; exit }' "$manifest")
program=$(awk -F'\t' -v n="$name" '$1 == "program" && $2 == n { print $3; exit }' "$manifest")
[[ -n $program ]] || die "the AppImage has no program $name (see $manifest)"
[[ -d $store ]] || die "$store does not exist on this host: create it (an empty directory will do)"

# usernsoff COMMAND...: run COMMAND in a user namespace whose own
# max_user_namespaces is 0 (ids 0-65535 mapped to themselves), as the tests'
# target.CommandUsernsOff does: nothing machine-wide changes.
usernsoff() {
	python3 -c '
import ctypes, os, sys
r, w = os.pipe(); r2, w2 = os.pipe()
pid = os.fork()
if pid == 0:
    if ctypes.CDLL(None, use_errno=True).unshare(0x10000000) != 0:
        sys.exit("unshare: " + os.strerror(ctypes.get_errno()))
    os.write(w, b"x"); os.read(r2, 1)
    open("/proc/sys/user/max_user_namespaces", "w").write("0")
    os.execvp(sys.argv[1], sys.argv[1:])
os.read(r, 1)
open("/proc/%d/setgroups" % pid, "w").write("allow")
for f in ("uid_map", "gid_map"):
    open("/proc/%d/%s" % (pid, f), "w").write("0 0 65536")
os.write(w2, b"x")
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
' "$@"
}

# row LABEL MODE SETUP COMMAND...: time COMMAND in a new mount namespace
# (with user namespaces off when MODE is off) after the shell command
# SETUP, which sees the store path as $0 and the extracted copy as $1.
row() {
	local label=$1 mode=$2 setup=$3
	shift 3
	local cmd
	cmd=$(printf '%q ' "$@")
	local -a pre=()
	[[ $mode == off ]] && pre=(usernsoff)
	"${pre[@]}" unshare --mount --propagation private sh -c "$setup"' && shift && exec "$@"' \
		"$store" "$root$store" \
		setpriv --reuid="$user" --regid="$user" --clear-groups -- \
		env XDG_CACHE_HOME="$tmp/cache" "${rowenv[@]}" \
		hyperfine --style basic -N --warmup 5 --runs "$runs" \
		--command-name "$label" --export-json "$tmp/$label.json" "${cmd% }" >&2
}
hide='mount -t tmpfs none "$0"'
bind='mount --bind "$1" "$0"'
read -r -a benchenv <<<"${BENCH_ENV:-}"
rowenv=("${benchenv[@]}")
row direct on "$bind" "$program" "$@"
row fuse on "$hide" "$img" --gpack-run "$name" "$@"
rowenv=("${benchenv[@]}" GPACK_APPIMAGE_LINGER=0)
row fuse-alone on "$hide" "$img" --gpack-run "$name" "$@"
rowenv=("${benchenv[@]}" APPIMAGE_EXTRACT_AND_RUN=1)
row cache on "$hide" "$img" --gpack-run "$name" "$@"
# A fresh cache, which a first run (untimed) extracts and relocates.
rm -rf "$tmp/cache/gpack"
usernsoff unshare --mount --propagation private sh -c "$hide"' && shift && exec "$@"' "$store" "$root$store" \
	setpriv --reuid="$user" --regid="$user" --clear-groups -- env XDG_CACHE_HOME="$tmp/cache" "${benchenv[@]}" \
	"$img" --gpack-run "$name" "$@" >/dev/null 2>&1 || :
prefix=$(cat "$tmp"/cache/gpack/*/.gpack/relocate/state 2>/dev/null | awk -F'\t' '$1 == "prefix" { print $2; exit }')
[[ -n $prefix ]] || die "the first run from the cache with user namespaces off did not relocate it"
rowenv=()
for kv in "${benchenv[@]}"; do
	rowenv+=("${kv/=$store\//=${prefix%/}/}")
done
row cache-relocate off "$hide" "$img" --gpack-run "$name" "$@"

echo
echo "AppImage $orig ($(stat -c %s "$orig") bytes), program $name = $program, $runs runs per row as uid $user; $(uname -r)"
echo
jq -rs '
	(.[0].results[0].mean) as $base |
	"| row | mean (ms) | ± stddev (ms) | min (ms) | over direct (ms) |",
	"|---|---:|---:|---:|---:|",
	(.[] | .results[0] |
		"| \(.command) | \(.mean * 1000 * 100 | round / 100) | \(.stddev * 1000 * 100 | round / 100) | \(.min * 1000 * 100 | round / 100) | \((.mean - $base) * 1000 * 100 | round / 100) |")
 ' "$tmp/direct.json" "$tmp/fuse.json" "$tmp/fuse-alone.json" "$tmp/cache.json" "$tmp/cache-relocate.json"
