#!/usr/bin/env bash
# Make sure a Docker engine is installed and answering.
#
# On a fresh Debian machine this installs Debian's docker.io and starts
# dockerd (through systemd when systemd runs, directly otherwise). An engine
# that already answers is left alone, whatever installed it.
set -euo pipefail

log() { echo "engine.sh: $*" >&2; }

if docker info >/dev/null 2>&1; then
    exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
    if ! command -v apt-get >/dev/null 2>&1; then
        log "no Docker engine and no apt-get: install Docker for your system, start it, and rerun"
        exit 1
    fi
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "installing Debian's docker.io"
    $SUDO apt-get update -q >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io >&2
fi

if [ -d /run/systemd/system ] && systemctl start docker >/dev/null 2>&1; then
    log "started docker with systemd"
else
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    log "starting dockerd (log: /var/log/sbx-dockerd.log)"
    # From /: a daemon must not hold whatever directory the caller was in.
    $SUDO sh -c 'cd / && setsid dockerd >/var/log/sbx-dockerd.log 2>&1 < /dev/null &'
fi

for _ in $(seq 1 120); do
    if docker info >/dev/null 2>&1; then
        exit 0
    fi
    sleep 0.5
done
log "dockerd did not answer within 60s; see /var/log/sbx-dockerd.log"
exit 1
