#!/usr/bin/env bash
# Build the local runtime images sbx uses on hosts that cannot pull from a
# registry (like the CI machines of this project), once per machine.
#
# The image is keyed by a hash of this recipe: a machine builds each version
# once, later calls only check that it exists. Prints the image name on stdout.
#
# Recipe: a minimal Debian bookworm root (debootstrap --variant=minbase) with
# python3 and nodejs, imported as an image. Both languages share it; the
# config that scripts/setup.sh writes points each language at it explicitly.
set -euo pipefail

MIRROR="${SBX_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES=python3,nodejs,ca-certificates
RECIPE="debootstrap --variant=minbase --include=$PACKAGES $SUITE v1"
HASH=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
IMAGE="sbx-local/bookworm-runtime:$HASH"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
    echo "$IMAGE"
    exit 0
fi

if ! command -v debootstrap >/dev/null 2>&1; then
    echo "images.sh: installing debootstrap" >&2
    apt-get install -y -q debootstrap >&2
fi

ROOT=$(mktemp -d /var/tmp/sbx-rootfs.XXXXXX)
trap 'rm -rf "$ROOT"' EXIT
echo "images.sh: building $IMAGE with debootstrap (about a minute, once per machine)" >&2
debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >&2
# apt caches and lists are not needed at run time and triple the image size.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
tar -C "$ROOT" -c . | docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL io.sbx.recipe='"$HASH" \
    - "$IMAGE" >&2
echo "$IMAGE"
