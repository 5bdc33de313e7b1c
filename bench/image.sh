#!/usr/bin/env bash
# bench/image.sh: gpack pack -f docker on the corpus of bench/corpus.sh,
# against the tarball pipeline of the same bytes (tar | pigz -9: gpack's
# layers are gzip level 9 too); a rebuild after one item changed, which the
# layer cache must make cheap; and pushes to a registry on loopback
# (Debian's docker-registry), the first and the second time. Prints a
# markdown table.
#
# Environment: GPACK (default bin/gpack). Runs as root.
set -euo pipefail

die() { printf 'bench/image.sh: %s\n' "$*" >&2; exit 1; }
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
gpack=${GPACK:-$repo/bin/gpack}
[[ -x $gpack ]] || die "no gpack at $gpack: run make build"
for tool in tar pigz docker-registry python3 nix-store nix-build curl; do
	command -v "$tool" >/dev/null || die "$tool not found: run make deps"
done

root=$("$repo/bench/corpus.sh")
tmp=$(mktemp -d /var/tmp/gpack-bench-image.XXXXXX)
reg=
cleanup() {
	if [[ -n $reg ]]; then kill "$reg" 2>/dev/null; wait "$reg" 2>/dev/null || :; fi
	rm -rf "$tmp"
}
trap cleanup EXIT
export XDG_CACHE_HOME=$tmp/cache

# The "changed item": a small derivation built for this run, so that the
# second image shares every item of the first but one.
changed=$(nix-build --no-out-link --option build-users-group "" --option substituters "" --option sandbox false -E \
	"derivation { name = \"bench-changed\"; system = builtins.currentSystem; builder = \"/bin/sh\"; args = [\"-c\" \"echo \$RANDOM > \$out\"]; stamp = \"$(date +%s%N)\"; }")

nix-store -qR "$root" | sed 's|^/||' >"$tmp/items"
secs() { python3 -c 'import sys, time; t = time.monotonic(); import subprocess; subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); print(f"{time.monotonic() - t:.2f}")' "$@"; }

t_first=$(secs "$gpack" pack -q -f docker -o "$tmp/a.tar" "$root")
t_pipe=$(secs sh -c "tar --sort=name --format=gnu --mtime=@1 --owner=0 --group=0 --numeric-owner --hard-dereference -C / -cf - -T $tmp/items | pigz -9 > $tmp/pipe.tar.gz")
t_again=$(secs "$gpack" pack -q -f docker -o "$tmp/b.tar" "$root")
t_changed=$(secs "$gpack" pack -q -f docker -o "$tmp/c.tar" "$root" "$changed")

mkdir -p "$tmp/registry"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$tmp/registry.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $tmp/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$tmp/registry.yml" >"$tmp/registry.log" 2>&1 &
reg=$!
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null && break; sleep 0.1; done
t_push1=$(secs "$gpack" pack -q -f docker --push "127.0.0.1:$port/bench/corpus:1" "$root")
t_push2=$(secs "$gpack" pack -q -f docker --push "127.0.0.1:$port/bench/corpus:1" "$root")

echo
echo "Corpus: $(wc -l <"$tmp/items") store items, $(du -sbc $(sed 's|^|/|' "$tmp/items") | tail -n1 | cut -f1) bytes; $(nproc) cores"
echo
echo "| what | seconds | bytes |"
echo "|---|---:|---:|"
echo "| gpack -f docker, empty layer cache | $t_first | $(stat -c %s "$tmp/a.tar") |"
echo "| tar \| pigz -9, the same bytes as one stream | $t_pipe | $(stat -c %s "$tmp/pipe.tar.gz") |"
echo "| gpack -f docker again (every layer cached) | $t_again | $(stat -c %s "$tmp/b.tar") |"
echo "| gpack -f docker with one item more (one layer to compress) | $t_changed | $(stat -c %s "$tmp/c.tar") |"
echo "| --push to a loopback registry, first time | $t_push1 | |"
echo "| --push again (no blob uploaded) | $t_push2 | |"
echo
python3 -c "import sys; a, b = map(float, sys.argv[1:]); print(f'One item changed: {b / a:.3f} of the first build\'s time.')" "$t_first" "$t_changed"
