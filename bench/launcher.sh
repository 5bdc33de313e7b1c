#!/usr/bin/env bash
# bench/launcher.sh: start-up cost of a relocatable pack's launcher.
#
# Usage: bench/launcher.sh ROOT NAME [ARG...]
#
# ROOT is an unpacked relocatable pack (ROOT/.gpack/manifest, ROOT/bin/NAME);
# NAME is one of its programs, run with ARG... Rows, timed by hyperfine:
#
#   direct    the store program itself, with the pack's store bound at the
#             store path: the floor, what a pack extracted at / costs
#   launcher-direct  ROOT/bin/NAME with the store bound as for direct: the
#             launcher finds the program at its store path and execs it (a
#             pack extracted at /, or a nested call)
#   launcher  ROOT/bin/NAME with GPACK_ENGINE=userns where the store path is
#             hidden (an empty tmpfs), as on a machine without the store:
#             the engine binds / whole and the store over it
#   launcher-nodir  the same where the store's parent is hidden, so the
#             store directory does not exist (a host without /nix): the
#             engine mirrors / entry by entry around the store path
#   bwrap     bwrap --dev-bind / / --bind ROOT<store> <store> -- program, on
#             the same hidden store: the usual tool for the same job
#
# Each row runs in a mount namespace of its own, set up once, as BENCH_USER,
# with hyperfine's -N (no shell between hyperfine and the command). Prints a
# markdown table of the means on stdout; hyperfine's log goes to stderr.
#
# Environment:
#   BENCH_RUNS   timed runs per row (default 200)
#   BENCH_USER   uid the rows run as (default 65534, nobody)
#
# Runs as root (it creates mount namespaces and switches user). The store
# directory (e.g. /nix/store) must exist on the host, empty or not: it is
# where the rows hide or bind the store, and the script creates nothing
# outside a temporary directory.
set -euo pipefail

die() { printf 'bench/launcher.sh: %s\n' "$*" >&2; exit 1; }

(($# >= 2)) || die "usage: bench/launcher.sh ROOT NAME [ARG...]"
root=$(cd "$1" && pwd) || die "pack root $1 not found"
name=$2
shift 2
runs=${BENCH_RUNS:-200}
user=${BENCH_USER:-65534}

[[ $(id -u) == 0 ]] || die "must run as root (mount namespaces, setpriv)"
for tool in hyperfine unshare setpriv bwrap jq; do
	command -v "$tool" >/dev/null ||
		die "$tool not found (Debian: apt-get install hyperfine util-linux bubblewrap jq)"
done

manifest=$root/.gpack/manifest
[[ -r $manifest ]] || die "$manifest not found: is $root a relocatable pack?"
[[ $(head -n1 "$manifest") == $'gpack-manifest\t1' ]] || die "$manifest is not a version 1 gpack manifest"
store=$(awk -F'\t' '$1 == "store" { print $2; exit }' "$manifest")
program=$(awk -F'\t' -v n="$name" '$1 == "program" && $2 == n { print $3; exit }' "$manifest")
[[ -n $store ]] || die "$manifest has no store line"
[[ -n $program ]] || die "the pack has no program $name (see $manifest)"
[[ -x $root/bin/$name ]] || die "$root/bin/$name is missing"
[[ -d $root$store ]] || die "the pack lacks its store $root$store"
[[ -d $store ]] || die "$store does not exist on this host: create it (an empty directory will do) so that it can be hidden or bound"

tmp=$(mktemp -d /tmp/gpack-bench-launcher.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chown "$user" "$tmp"

# row LABEL SETUP COMMAND...: time COMMAND in a new mount namespace after
# the shell command SETUP, which sees the store path as $0 and the pack's
# copy as $1.
row() {
	local label=$1 setup=$2
	shift 2
	local cmd
	cmd=$(printf '%q ' "$@")
	unshare --mount --propagation private sh -c "$setup"' && shift && exec "$@"' \
		"$store" "$root$store" \
		setpriv --reuid="$user" --regid="$user" --clear-groups -- \
		hyperfine --style basic -N --warmup 20 --runs "$runs" \
		--command-name "$label" --export-json "$tmp/$label.json" "${cmd% }" >&2
}

# Read by the launcher row only.
export GPACK_ENGINE=userns
hide='mount -t tmpfs none "$0"'
hideparent='mount -t tmpfs none "$(dirname "$0")"'
bind='mount --bind "$1" "$0"'
row direct "$bind" "$program" "$@"
row launcher-direct "$bind" "$root/bin/$name" "$@"
row launcher "$hide" "$root/bin/$name" "$@"
row launcher-nodir "$hideparent" "$root/bin/$name" "$@"
row bwrap "$hide" bwrap --dev-bind / / --bind "$root$store" "$store" -- "$program" "$@"

echo
echo "Pack $root, program $name = $program, $runs runs per row as uid $user; $(uname -r)"
echo
jq -rs '
	(.[0].results[0].mean) as $base |
	"| row | mean (ms) | ± stddev (ms) | min (ms) | ratio to direct |",
	"|---|---:|---:|---:|---:|",
	(.[] | .results[0] |
		"| \(.command) | \(.mean * 1000 * 100 | round / 100) | \(.stddev * 1000 * 100 | round / 100) | \(.min * 1000 * 100 | round / 100) | \(.mean / $base * 100 | round / 100) |")
 ' "$tmp/direct.json" "$tmp/launcher-direct.json" "$tmp/launcher.json" "$tmp/launcher-nodir.json" "$tmp/bwrap.json"
