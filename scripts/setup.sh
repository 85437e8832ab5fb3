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
    log "using the official images (other languages' images are pulled on first use)"
    BASE=""
else
    log "no registry reachable: building local images from the Debian mirror (once per machine)"
    BASE=$(bash scripts/images.sh)
    FULL=$(bash scripts/images.sh full)
fi

if [ -n "$BASE" ]; then
    if [ -f "$CONFIG" ] && ! grep -qF "$MARKER" "$CONFIG"; then
        log "$CONFIG exists and was not written by setup; leaving it alone."
        log "make sure it has: [languages.python] image = \"$BASE\" (and javascript),"
        log "and [languages.<lang>] image = \"$FULL\" for go, java, cpp, c, ruby, r, bash, typescript"
    else
        mkdir -p "$CONFIG_DIR"
        {
            echo "$MARKER; edit freely (then remove this line)"
            echo "# No registry was reachable, so every language uses a local Debian image:"
            echo "# python and javascript the small base, the others the one with toolchains."
            for lang in python javascript; do
                printf '\n[languages.%s]\nimage = "%s"\n' "$lang" "$BASE"
            done
            for lang in typescript go java cpp c ruby r bash; do
                printf '\n[languages.%s]\nimage = "%s"\n' "$lang" "$FULL"
            done
        } >"$CONFIG"
        log "wrote $CONFIG"
    fi
fi

log "building sbx and sbx-guest (release)"
cargo build --release --locked >&2
BIN=target/x86_64-unknown-linux-gnu/release/sbx
GUEST=target/x86_64-unknown-linux-gnu/release/sbx-guest
if [ -w /usr/local/bin ]; then
    DEST=/usr/local/bin
else
    DEST="$HOME/.local/bin"
    mkdir -p "$DEST"
    case ":$PATH:" in *":$DEST:"*) ;; *) log "add $DEST to your PATH" ;; esac
fi
# A running agent of an older build would serve the new client; restart it.
if command -v sbx >/dev/null 2>&1; then sbx agent stop >/dev/null 2>&1 || true; fi
# The guest runner goes beside sbx, where the agent looks for it; first, so
# that an sbx never finds itself without its guest.
install -m 0755 "$GUEST" "$DEST/sbx-guest"
install -m 0755 "$BIN" "$DEST/sbx"
log "installed $DEST/sbx and $DEST/sbx-guest — try: sbx run examples/hello.py"
