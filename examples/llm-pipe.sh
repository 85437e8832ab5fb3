#!/usr/bin/env bash
# Run whatever code a model produced, without looking at it first.
#
# Replace `fake_llm` with your real generator (`llm -m gpt-4o '...'`,
# `ollama run ...`, a curl to your API): anything that prints code.
set -euo pipefail

fake_llm() {
    cat <<'PY'
import math
print(f"pi to 5 places: {math.pi:.5f}")
PY
}

fake_llm | sbx exec --lang python --timeout 10s
