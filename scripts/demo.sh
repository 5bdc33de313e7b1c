#!/usr/bin/env bash
# The newcomer's demo: build a small store offline, let gpack find a
# profile's closure, pack it as a relocatable tarball, unpack it elsewhere,
# and run it as an unprivileged user on "a machine without the store" (a
# mount namespace where the store is hidden), saying which engine ran.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d "${TMPDIR:-/tmp}/gpack-demo.XXXXXX")
chmod 755 "$dir"
trap 'chmod -R u+w "$dir"; rm -rf "$dir"' EXIT

echo "== a synthetic store in $dir/store (programs whose interpreter is in the store)"
go run ./internal/teststore/mkstore "$dir" >/dev/null
ls "$dir/store"
profile=$(echo "$dir"/store/*-profile)

echo
echo "== gpack closure --size $profile"
bin/gpack closure --size "$profile"

echo
echo "== gpack why $profile libc"
bin/gpack why "$profile" libc

echo
echo "== gpack pack -R -o $dir/demo.tar.gz $profile"
bin/gpack pack -R -o "$dir/demo.tar.gz" "$profile"
mkdir "$dir/unpacked"
tar -xf "$dir/demo.tar.gz" -C "$dir/unpacked"
ls "$dir/unpacked" "$dir/unpacked/bin"

echo
echo "== as nobody, with $dir/store hidden: ./bin/hello and ./bin/greet-script"
unshare --mount --propagation private sh -c '
	mount -t tmpfs gpack-demo-hides-the-store "$1"
	cd "$2"
	GPACK_DEBUG=1 setpriv --reuid=65534 --regid=65534 --clear-groups ./bin/hello world
	setpriv --reuid=65534 --regid=65534 --clear-groups ./bin/greet-script
	echo "the same through the ptrace engine, for hosts where user namespaces are off:"
	GPACK_ENGINE=ptrace setpriv --reuid=65534 --regid=65534 --clear-groups ./bin/hello ptrace
	echo "the store program alone, without the launcher:"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$3" || true
' sh "$dir/store" "$dir/unpacked" "$dir/unpacked$(readlink -f "$profile/bin/hello")"
