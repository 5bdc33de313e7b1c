#!/usr/bin/env bash
# Installs the Debian packages that gpack's tests and benchmarks use, and
# the Go modules. Idempotent: it installs only what is missing.
set -euo pipefail

# nix-bin: a real Nix store to test against (builds offline, no daemon).
# patchelf, gcc, binutils: the test stores' programs need store interpreters.
# libarchive-tools (bsdtar), zstd, xz-utils: the real readers of tarballs.
# util-linux (unshare, setpriv): "the target machine" in tests.
# hyperfine, pigz, bubblewrap, proot: make bench's timings and yardsticks.
# squashfs-tools, squashfs-tools-ng, squashfuse, fuse3: the real readers of
# squashfs images (and mksquashfs, make bench's yardstick).
# skopeo, umoci, podman, docker-registry, charliecloud-runtime (ch-run): the
# real consumers of container images, and a registry on loopback.
# qemu-user-static: runs the arm64 launcher that gpack embeds.
packages=(nix-bin patchelf gcc libc6-dev binutils hyperfine libarchive-tools zstd xz-utils pigz bubblewrap proot util-linux
	squashfs-tools squashfs-tools-ng squashfuse fuse3 skopeo umoci podman docker-registry charliecloud-runtime
	qemu-user-static)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "deps: installing ${missing[*]}"
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Unprivileged FUSE mounts (squashfuse as a test user, an AppImage run over
# FUSE in a user namespace) need /dev/fuse
# open to all, as fuse3's udev rule makes it; a machine without udev (a
# container, some VMs) keeps the kernel's 0600.
if [ -c /dev/fuse ] && [ "$(stat -c %a /dev/fuse)" != 666 ]; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	$sudo chmod 0666 /dev/fuse
fi

go mod download
