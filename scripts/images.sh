#!/usr/bin/env bash
# Build the local runtime images sbx uses on hosts that cannot pull from a
# registry (like the CI machines of this project), once per machine.
#
#   bash scripts/images.sh          prints the base image (python, javascript)
#   bash scripts/images.sh full     prints the image with every toolchain
#
# Each image is keyed by a hash of its recipe: a machine builds each version
# once, later calls only check that it exists.
#
# base: a minimal Debian bookworm root (debootstrap --variant=minbase) with
#   python3 and nodejs, imported as an image (~1 minute).
# full: FROM base, plus the toolchains of the other languages from the same
#   mirror: Go, a headless JDK, gcc/g++ (with ccache), Ruby, R, bash and the
#   TypeScript compiler. It shares the base's layer; one apt-get run,
#   ~3 minutes and ~1 GB more on this project's machines.
set -euo pipefail

# The Debian mirror this machine's apt already uses (a user's own mirror or
# proxy wins; none is written here): SBX_DEBIAN_MIRROR, else the first
# `deb` URI of apt's sources (deb822 .sources files or one-line .list
# files) of a Debian archive (a URI naming debian: an Ubuntu host's own
# archive has no bookworm) that serves the main archive rather than
# security updates.
apt_mirror() {
    local f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i ~ /debian/ && $i !~ /security/) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [ -f "$f" ] || continue
        awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($i ~ /debian/ && $i !~ /security/) print $i; break } }' "$f"
    done
}
MIRROR="${SBX_DEBIAN_MIRROR:-$(apt_mirror | head -n 1)}"
SUITE=bookworm
PACKAGES=python3,nodejs,ca-certificates
# v2: the root directory is mode 0755 (v1 carried mktemp's 0700, which
# rootless Podman honours: no unprivileged program could reach anything).
RECIPE="debootstrap --variant=minbase --include=$PACKAGES $SUITE v2"
HASH=$(printf '%s' "$RECIPE" | sha256sum | cut -c1-12)
IMAGE="sbx-local/bookworm-runtime:$HASH"

build_base() {
    if docker image inspect "$IMAGE" >/dev/null 2>&1; then
        return
    fi
    if ! command -v debootstrap >/dev/null 2>&1; then
        echo "images.sh: installing debootstrap" >&2
        apt-get update -q >&2
        apt-get install -y -q debootstrap >&2
    fi
    if [ -z "$MIRROR" ]; then
        echo "images.sh: no Debian archive in apt's sources (/etc/apt/sources.list*); set SBX_DEBIAN_MIRROR to a Debian mirror's URL" >&2
        exit 1
    fi
    ROOT=$(mktemp -d /var/tmp/sbx-rootfs.XXXXXX)
    trap 'rm -rf "$ROOT"' EXIT
    # The tar's `./` entry becomes the image's `/`: mktemp made it 0700.
    chmod 755 "$ROOT"
    echo "images.sh: building $IMAGE with debootstrap (about a minute, once per machine)" >&2
    debootstrap --variant=minbase --include="$PACKAGES" "$SUITE" "$ROOT" "$MIRROR" >&2
    # apt caches and lists are not needed at run time and triple the image size.
    rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
    tar -C "$ROOT" -c . | docker import \
        --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'LABEL io.sbx.recipe='"$HASH" \
        - "$IMAGE" >&2
}

# The toolchains image. Recommends are skipped (they would pull in X11 and
# documentation); what each compiler needs to link is listed explicitly.
FULL_PACKAGES="golang-go default-jdk-headless gcc g++ libc6-dev ccache ruby r-base-core node-typescript bash"
dockerfile() {
    cat <<DOCKERFILE
FROM $IMAGE
RUN apt-get update -q \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $FULL_PACKAGES \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/archives/*.deb
LABEL io.sbx.recipe.full="v1"
DOCKERFILE
}

build_full() {
    FULL_HASH=$(dockerfile | sha256sum | cut -c1-12)
    FULL="sbx-local/bookworm-full:$FULL_HASH"
    if docker image inspect "$FULL" >/dev/null 2>&1; then
        return
    fi
    echo "images.sh: building $FULL (toolchains; a few minutes, once per machine)" >&2
    dockerfile | docker build -q -t "$FULL" - >&2
}

case "${1:-base}" in
base)
    build_base
    echo "$IMAGE"
    ;;
full)
    build_base
    build_full
    echo "$FULL"
    ;;
*)
    echo "images.sh: unknown image \`$1\`; use base or full" >&2
    exit 2
    ;;
esac
