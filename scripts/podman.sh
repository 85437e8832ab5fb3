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

# tests/pull.rs pulls from registries it runs on 127.0.0.1 over plain
# http. Docker allows that for loopback by itself; Podman only for
# registries its registries.conf marks insecure. This drop-in does so for
# 127.0.0.1 (any port: Podman 4 matches a location without a port against
# every port of that host) and nothing else. The service reads its
# registries configuration once, on its first pull, so the file must be in
# place before the service starts (a service already running without it
# needs a restart: `kill` it and run this script again).
DROPIN=/etc/containers/registries.conf.d/50-sbx-test-loopback.conf
if [ ! -f "$DROPIN" ]; then
    log "marking registries on 127.0.0.1 insecure for Podman ($DROPIN)"
    $SUDO mkdir -p "$(dirname "$DROPIN")"
    printf '# Written by sbx scripts/podman.sh for its tests: registries the tests run on loopback speak plain http.\n[[registry]]\nlocation = "127.0.0.1"\ninsecure = true\n' |
        $SUDO tee "$DROPIN" >/dev/null
fi

answers() { curl -sf --unix-socket "$SOCK" http://podman/_ping >/dev/null 2>&1; }
if ! answers; then
    log "starting the Podman API service on $SOCK (log: /var/log/sbx-podman.log)"
    $SUDO mkdir -p "$(dirname "$SOCK")"
    # From /: the service breaks (getwd) when the directory it was started
    # in is removed, e.g. the clone a test run started it from.
    $SUDO sh -c "cd / && setsid podman system service --time=0 unix://$SOCK >/var/log/sbx-podman.log 2>&1 < /dev/null &"
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
