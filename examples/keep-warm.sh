#!/usr/bin/env bash
# Keep a pool warm across a batch of jobs: bring it up once, then every job
# is a warm run; tear it down at the end (or leave it for the next batch).
#
#   bash examples/keep-warm.sh [JOBS]
set -euo pipefail

jobs=${1:-5}
sbx pool up --lang python --warm 2

for i in $(seq 1 "$jobs"); do
    sbx exec -n --lang python "print('job $i done')"
done

sbx pool stats
if [ "${KEEP_WARM:-0}" != 1 ]; then
    sbx pool down
fi
