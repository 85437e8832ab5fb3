#!/usr/bin/env bash
# Set up sbx on this machine: container engine, images, the sbx binary and
# its configuration. Safe to rerun; each step is skipped when already done.
#
#   bash scripts/setup.sh && sbx run examples/hello.py
#
# Images: where the official images (python:3.12-slim, node:22-slim) can be
# pulled, sbx uses them and needs no configuration. Where no registry is
# reachable, a local image is built from the Debian mirror
# (scripts/images.sh) and the sbx config points each language at it.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "setup.sh: $*" >&2; }

bash scripts/engine.sh

CONFIG_DIR="${XDG_CONFIG_HOME:-$HOME/.config}/sbx"
CONFIG="$CONFIG_DIR/config.toml"
MARKER="# written by sbx scripts/setup.sh"

if timeout 120 docker pull -q python:3.12-slim >/dev/null 2>&1 &&
    timeout 120 docker pull -q node:22-slim >/dev/null 2>&1; then
    log "using the official images"
    IMAGE=""
else
    log "no registry reachable: using a locally built image"
    IMAGE=$(bash scripts/images.sh)
fi

if [ -n "$IMAGE" ]; then
    if [ -f "$CONFIG" ] && ! grep -qF "$MARKER" "$CONFIG"; then
        log "$CONFIG exists and was not written by setup; leaving it alone."
        log "make sure it has: [languages.python] image = \"$IMAGE\" (same for javascript)"
    else
        mkdir -p "$CONFIG_DIR"
        cat >"$CONFIG" <<TOML
$MARKER; edit freely (then remove this line)
# No registry was reachable, so both languages use a local Debian image.
[languages.python]
image = "$IMAGE"

[languages.javascript]
image = "$IMAGE"
TOML
        log "wrote $CONFIG"
    fi
fi

log "building sbx (release)"
cargo build --release --locked >&2
BIN=target/x86_64-unknown-linux-gnu/release/sbx
if [ -w /usr/local/bin ]; then
    DEST=/usr/local/bin
else
    DEST="$HOME/.local/bin"
    mkdir -p "$DEST"
    case ":$PATH:" in *":$DEST:"*) ;; *) log "add $DEST to your PATH" ;; esac
fi
# A running agent of an older build would serve the new client; restart it.
if command -v sbx >/dev/null 2>&1; then sbx agent stop >/dev/null 2>&1 || true; fi
install -m 0755 "$BIN" "$DEST/sbx"
log "installed $DEST/sbx — try: sbx run examples/hello.py"
