#!/usr/bin/env bash
# Set up an ordinary user with rootless Podman for the tests' rootless
# matrix (scripts/test.sh; README, "Without root"), as a new user would:
#
#   bash scripts/rootless.sh IMAGE...
#
# Creates the user `sbx-rootless` (with subordinate uids and gids), its
# runtime directory, Podman's storage on native overlay, the Podman API
# service on the user's own socket, and loads IMAGE... from root's Docker
# into the user's storage. Each step is skipped when already done, so a
# machine does the slow ones (the image loads) once. Prints the user's
# uid. Needs root.
set -euo pipefail

log() { echo "rootless.sh: $*" >&2; }

USER_NAME=sbx-rootless
if [ "$(id -u)" -ne 0 ]; then
    log "needs root (it creates the user $USER_NAME); run it with sudo"
    exit 1
fi
command -v podman >/dev/null 2>&1 || bash "$(dirname "$0")/podman.sh" "$@"
# newuidmap/newgidmap: how an ordinary user maps its subordinate ids.
if ! command -v newuidmap >/dev/null 2>&1; then
    log "installing uidmap"
    apt-get update -q >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q uidmap >&2
fi

if ! id "$USER_NAME" >/dev/null 2>&1; then
    log "creating the user $USER_NAME"
    useradd --create-home --shell /bin/bash "$USER_NAME"
fi
uid=$(id -u "$USER_NAME")
home=$(getent passwd "$USER_NAME" | cut -d: -f6)
# useradd gives new users a range where login.defs says so; make sure.
for f in /etc/subuid /etc/subgid; do
    if ! grep -q "^$USER_NAME:" "$f"; then
        # The first free 65536 above every range already given out.
        start=$(awk -F: 'BEGIN { m = 100000 } { e = $2 + $3; if (e > m) m = e } END { print m }' "$f")
        echo "$USER_NAME:$start:65536" >>"$f"
        log "gave $USER_NAME subordinate ids $start-$((start + 65535)) in $f"
    fi
done

as_user() {
    runuser -u "$USER_NAME" -- env HOME="$home" XDG_RUNTIME_DIR="/run/user/$uid" "$@"
}

# What logind would make at login: the user's runtime directory.
install -d -o "$USER_NAME" -g "$USER_NAME" -m 0700 "/run/user/$uid"
as_user mkdir -p "/run/user/$uid/podman" "$home/.config/containers"
# Native overlay (kernel 5.13+): Podman 4.3 falls back to vfs otherwise,
# which copies a whole image per container.
if [ ! -f "$home/.config/containers/storage.conf" ]; then
    as_user sh -c 'printf "[storage]\ndriver = \"overlay\"\n" > "$HOME/.config/containers/storage.conf"'
fi

socket="/run/user/$uid/podman/podman.sock"
answering() { curl -sf --unix-socket "$socket" http://d/_ping >/dev/null 2>&1; }
if ! answering; then
    log "starting $USER_NAME's Podman API service on $socket"
    as_user sh -c "cd / && setsid podman system service --time=0 unix://$socket >/tmp/sbx-rootless-podman.log 2>&1 </dev/null &"
    for _ in $(seq 1 100); do
        answering && break
        sleep 0.1
    done
    answering || { log "the service did not answer; see /tmp/sbx-rootless-podman.log"; exit 1; }
fi

for image in "$@"; do
    if ! as_user podman image exists "$image"; then
        log "loading $image into $USER_NAME's storage"
        docker save "$image" | as_user podman load -q >&2
    fi
done
echo "$uid"
