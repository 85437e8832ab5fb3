#!/usr/bin/env bash
# Make sure Podman is installed, its Docker-compatible API service answers
# on its own socket, and IMAGE (already built for Docker) is in its store.
#
#   bash scripts/podman.sh IMAGE...
set -euo pipefail

SOCK=/run/podman/podman.sock
log() { echo "podman.sh: $*" >&2; }
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if ! command -v podman >/dev/null 2>&1; then
    log "installing Debian's podman"
    $SUDO apt-get update -q >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q podman >&2
fi

answers() { curl -sf --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1; }
if ! answers; then
    log "starting the Podman API service on $SOCK (log: /var/log/sbx-podman.log)"
    $SUDO mkdir -p "$(dirname "$SOCK")"
    $SUDO sh -c "setsid podman system service --time=0 unix://$SOCK >/var/log/sbx-podman.log 2>&1 < /dev/null &"
    for _ in $(seq 1 60); do
        answers && break
        sleep 0.5
    done
    answers || { log "the Podman API did not answer; see /var/log/sbx-podman.log"; exit 1; }
fi

# Images are built once with Docker (scripts/images.sh); Podman gets a copy.
for image in "$@"; do
    if ! podman image exists "$image"; then
        log "copying $image from Docker to Podman"
        docker save "$image" | podman load -q >&2
    fi
done
