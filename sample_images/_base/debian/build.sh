#!/usr/bin/env bash
# Build ecs5probe/debian:bookworm, a minimal Debian userland, with debootstrap + docker import.
# Needs root and Debian's debootstrap; about 40 s. Usage: build.sh [TAG]
set -euo pipefail
tag=${1:-ecs5probe/debian:bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
root=$(mktemp -d /tmp/ecs5probe-rootfs.XXXXXX)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase bookworm "$root" "$mirror" >/dev/null
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin
: > "$root/etc/resolv.conf"
tar --numeric-owner --xattrs -C "$root" -c . | docker import --change 'CMD ["bash"]' - "$tag" >/dev/null
echo "$tag"
