#!/usr/bin/env bash
# Run the whole test suite: engine and test image first (installed or built
# when missing, once per machine), then unit and integration tests.
#
#   bash scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine.sh
SBX_TEST_IMAGE=$(bash scripts/images.sh)
export SBX_TEST_IMAGE
echo "test.sh: testing against $SBX_TEST_IMAGE" >&2

# Each integration test runs its own agent and containers; two at a time
# suits these two-core machines.
cargo test --locked "$@" -- --test-threads=2
