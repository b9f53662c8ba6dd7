#!/usr/bin/env bash
# Builds a local Docker image with Python 3 and pytest (and git, CA certificates
# and OpenSSL, so it can also serve as the base of the action image) without any
# container registry: a minimal Debian root is made with debootstrap from this
# machine's configured package mirror, then turned into an image with
# `docker import`.
#
#   scripts/build-test-image.sh [IMAGE]        (default: self-heal/python-test:local)
#
# Environment: SUITE (default: this machine's Debian codename, else bookworm),
# MIRROR (default: read from the apt sources), EXTRA_PACKAGES (comma-separated).
# Needs root (debootstrap) and a reachable Docker engine.
set -euo pipefail

image="${1:-self-heal/python-test:local}"
packages="python3,python3-pytest,git,ca-certificates,libssl3${EXTRA_PACKAGES:+,$EXTRA_PACKAGES}"

codename() {
  # shellcheck disable=SC1091
  (. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")
}
suite="${SUITE:-$(codename)}"
suite="${suite:-bookworm}"

# The first Debian mirror the apt sources name for this suite (deb822 or one-line format).
mirror_from_apt() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    awk -v suite="$suite" '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; suites=""; types=""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { sub(/^URIs:[ \t]*/, "", $i); uris=$i }
          if ($i ~ /^Suites:/) { sub(/^Suites:[ \t]*/, "", $i); suites=" " $i " " }
          if ($i ~ /^Types:/)  { types=$i }
        }
        if (types ~ /deb( |$)/ && index(suites, " " suite " ") > 0) { split(uris, u, " "); print u[1]; exit }
      }' "$f"
  done
  if [ -f /etc/apt/sources.list ]; then
    awk -v suite="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i == suite) { u = $(i-1); if (u !~ /^\[/) { print u; exit } } }' /etc/apt/sources.list
  fi
}
mirror="${MIRROR:-$(mirror_from_apt | head -n 1)}"
mirror="${mirror:-http://deb.debian.org/debian}"

if ! docker info >/dev/null 2>&1; then
  echo "build-test-image: no Docker engine answers (docker info failed)" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null 2>&1; then
  apt-get update -qq && apt-get install -y -qq debootstrap
fi

rootfs="$(mktemp -d /tmp/self-heal-rootfs.XXXXXX)"
trap 'rm -rf "$rootfs"' EXIT

echo "build-test-image: debootstrap $suite from $mirror with $packages"
started=$SECONDS
debootstrap --variant=minbase --include="$packages" "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || {
  tail -n 40 "$rootfs.log" >&2
  rm -f "$rootfs.log"
  exit 1
}
rm -f "$rootfs.log"
# Smaller image: no package lists or caches (apt-get update restores the lists).
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/*

tar --numeric-owner -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["/bin/bash"]' \
  --message "debootstrap $suite from $mirror: $packages" \
  - "$image" >/dev/null
docker run --rm --network none "$image" python3 -m pytest --version
echo "build-test-image: $image built in $((SECONDS - started)) s"
