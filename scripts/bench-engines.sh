#!/usr/bin/env bash
# Docker vs Podman: pool fill and warm-run figures side by side.
#
#   bash scripts/bench-engines.sh [ROUNDS] [WARM]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/engine.sh
IMAGE=${SBX_BENCH_IMAGE:-$(bash scripts/images.sh)}
bash scripts/podman.sh "$IMAGE"
cargo build --release --locked >&2
exec python3 scripts/bench-engines.py "${1:-20}" "${2:-4}" "$IMAGE"
