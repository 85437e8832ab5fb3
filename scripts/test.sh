#!/usr/bin/env bash
# Run the whole test suite: engine and test image first (installed or built
# when missing, once per machine), then unit and integration tests.
#
#   bash scripts/test.sh [extra cargo test arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine.sh
# SBX_TEST_IMAGE (python, javascript) for most tests; SBX_TEST_IMAGE_FULL
# (every toolchain, derived from it) for the per-language tests.
SBX_TEST_IMAGE=$(bash scripts/images.sh)
SBX_TEST_IMAGE_FULL=$(bash scripts/images.sh full)
export SBX_TEST_IMAGE SBX_TEST_IMAGE_FULL
echo "test.sh: testing against $SBX_TEST_IMAGE and $SBX_TEST_IMAGE_FULL" >&2

# Each integration test runs its own agent and containers; two at a time
# suits these two-core machines.
cargo test --locked "$@" -- --test-threads=2
