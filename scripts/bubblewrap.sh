#!/usr/bin/env bash
# Make the bubblewrap backend ready for the test suites (scripts/test.sh):
# Debian's `bubblewrap` installed when `bwrap` is missing, and the given
# images unpacked into sbx's data directory with `sbx pull`, so that no
# test pays for the first unpacking (the full image takes ~15 s).
#
#   bash scripts/bubblewrap.sh SBX IMAGE...
#
# SBX is the sbx binary to unpack with; the images must be in the local
# Docker (or Podman), which is where the backend takes them from.
set -euo pipefail

log() { echo "bubblewrap.sh: $*" >&2; }

sbx=$1
shift

if ! command -v bwrap >/dev/null 2>&1; then
    log "installing Debian's bubblewrap"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q bubblewrap >&2
fi

# An agent of its own, stopped when done: the suites' agents each unpack
# nothing then.
rt=$(mktemp -d /tmp/sbx-bubblewrap.XXXXXX)
trap 'SBX_RUNTIME_DIR="$rt" SBX_BACKEND=bubblewrap "$sbx" agent stop >/dev/null 2>&1 || true; rm -rf "$rt"' EXIT
for image in "$@"; do
    log "unpacking $image"
    SBX_RUNTIME_DIR="$rt" SBX_BACKEND=bubblewrap SBX_CONFIG=/dev/null "$sbx" pull "$image" >&2
done
