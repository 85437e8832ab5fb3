#!/usr/bin/env bash
# The footprint benchmark (scripts/bench-footprint.py): this checkout's
# release build against a base build, side by side.
#
#   bash scripts/bench-footprint.sh [ROUNDS]
#
# SBX_BIN_BASE: the sbx to compare with; without it, the base is built from
# the git ref SBX_BASE_REF (default: main) into a temporary copy of that
# tree, with the same target directory (dependencies are built once).
# SBX_BIN: the sbx under test (default: this checkout's release build).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
target=${CARGO_TARGET_DIR:-$PWD/target}
# Cargo keys a path package's build by its name and version, not by where
# its source lies: sbx's own artifacts are forgotten before and after the
# base is built, or one build would be taken for the other (dependencies
# stay).
forget_sbx() {
    local d="$target/x86_64-unknown-linux-gnu/release"
    rm -rf "$d"/.fingerprint/sbx-* "$d"/.fingerprint/sbx_guest-* "$d"/deps/libsbx-* \
        "$d"/deps/sbx-* "$d"/deps/sbx_guest-* "$d"/sbx "$d"/sbx-guest
}
if [ -z "${SBX_BIN_BASE:-}" ]; then
    ref=${SBX_BASE_REF:-main}
    src=$(mktemp -d)
    trap 'rm -rf "$src"' EXIT
    git archive "$ref" | tar -x -C "$src"
    forget_sbx
    (cd "$src" && CARGO_TARGET_DIR=$target cargo build --release --locked >&2)
    mkdir -p "$target/footprint-base"
    # Its own directory: a base that finds its guest beside itself must
    # not find this checkout's.
    cp "$target/x86_64-unknown-linux-gnu/release/sbx" "$target/footprint-base/"
    if [ -e "$target/x86_64-unknown-linux-gnu/release/sbx-guest" ] && git cat-file -e "$ref:src/bin/sbx-guest.rs" 2>/dev/null; then
        cp "$target/x86_64-unknown-linux-gnu/release/sbx-guest" "$target/footprint-base/"
    fi
    SBX_BIN_BASE="$target/footprint-base/sbx"
    forget_sbx
fi
cargo build --release --locked >&2
export SBX_BIN_BASE
export SBX_BIN=${SBX_BIN:-$target/x86_64-unknown-linux-gnu/release/sbx}
exec python3 scripts/bench-footprint.py "${1:-3}" "$IMAGE"
