#!/usr/bin/env bash
# Installs the Debian packages that gpack's tests and benchmarks use, and
# the Go modules; with --apptainer (make test) Apptainer too. Idempotent:
# it installs only what is missing.
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
# dpkg, rpm, rpm2cpio, cpio, lintian, rpmlint: the real readers, installers
# and linters of -f deb and -f rpm packages.
# make: builds Apptainer (--apptainer, below).
packages=(nix-bin patchelf gcc libc6-dev make binutils hyperfine libarchive-tools zstd xz-utils pigz bubblewrap proot util-linux
	squashfs-tools squashfs-tools-ng squashfuse fuse3 skopeo umoci podman docker-registry charliecloud-runtime
	qemu-user-static dpkg rpm rpm2cpio cpio lintian rpmlint)

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

# apptainer: the real runtime of -f sif images (and of -f squashfs), run by
# the tests as root and as nobody. Debian 12 has no package, so it is built
# from its module source, fetched through the Go module proxy, and installed
# under /usr/local (bin/apptainer, libexec/apptainer, etc/apptainer) once:
# 11 to 20 minutes on 2 shared cores, then never again; make demo, which
# needs no Apptainer, does not ask for it. The checksum
# database has no record of apptainer's module, so the zip is checked
# against the hash pinned here instead. Built without set-user-ID starter
# (unprivileged runs use user namespaces), seccomp, libsubid and network
# plugins, so that it needs no more than gcc, libc6-dev and make (above); at run
# time mksquashfs (apptainer build) and squashfuse_ll (unprivileged mounts
# of a SIF's squashfs) come from squashfs-tools and squashfuse above.
apptainer_version=1.4.3
apptainer_sum=h1:2gBgyoYkEI5pAlP7uYBPW7cCrJkfSl8uaEE0se8kubk=
if [ "${1:-}" = --apptainer ] && ! /usr/local/bin/apptainer --version 2>/dev/null | grep -qx "apptainer version $apptainer_version"; then
	sudo=""
	[ "$(id -u)" = 0 ] || sudo="sudo"
	echo "deps: building apptainer $apptainer_version from source (11 to 20 minutes)"
	start=$(date +%s)
	json=$(GONOSUMDB=github.com/apptainer/apptainer go mod download -json "github.com/apptainer/apptainer@v$apptainer_version")
	sum=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p')
	dir=$(printf '%s\n' "$json" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
	if [ "$sum" != "$apptainer_sum" ] || [ ! -d "$dir" ]; then
		echo "deps: apptainer v$apptainer_version: module hash $sum, want $apptainer_sum" >&2
		exit 1
	fi
	work=$(mktemp -d /var/tmp/gpack-apptainer.XXXXXX)
	trap 'rm -rf "$work"' EXIT
	cp -r "$dir" "$work/src"
	chmod -R u+w "$work/src"
	# Module zips keep no modes: the build runs its scripts directly.
	grep -rlI -m1 '^#!' "$work/src" --exclude-dir=e2e --exclude-dir=docs | while read -r f; do
		if head -c2 "$f" | grep -q '^#!'; then chmod +x "$f"; fi
	done
	echo "$apptainer_version" >"$work/src/VERSION" # no .git to read it from
	(cd "$work/src" && ./mconfig --without-suid --without-seccomp --without-libsubid --without-network -b "$work/build" >/dev/null)
	GONOSUMDB=github.com/apptainer/apptainer make -s -C "$work/build" >/dev/null
	$sudo make -s -C "$work/build" install >/dev/null
	rm -rf "$work"
	trap - EXIT
	echo "deps: apptainer $apptainer_version installed in $(($(date +%s) - start)) s"
fi

go mod download
