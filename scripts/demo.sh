#!/usr/bin/env bash
# The newcomer's demo: build a small store offline, then let gpack find a
# profile's closure, its sizes, and why it needs the C library.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=$(mktemp -d "${TMPDIR:-/tmp}/gpack-demo.XXXXXX")
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
