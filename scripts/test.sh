#!/usr/bin/env bash
# Run the whole test suite: engine and test image first (installed or built
# when missing, once per machine), then unit and integration tests.
#
#   bash scripts/test.sh [extra cargo test arguments]
#
# With SBX_TEST_KUBECONFIG set, the integration suites also run against a
# Kubernetes cluster (README, Development): SBX_TEST_KUBE_NAMESPACE
# (default sbx-test), SBX_TEST_KUBE_CONTEXT (default: the kubeconfig's
# current one), SBX_TEST_KIND_CLUSTER (a kind cluster to load the test
# images into first).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engine.sh

# Tools the CLI tests drive: shells for completions, groff for man pages,
# tmux for a real terminal, jq for the JSON example; for tests/pull.rs a
# registry to pull from (Debian's docker-registry, the CNCF distribution
# server, which each test runs on loopback) and htpasswd (apache2-utils)
# for the bcrypt password file of the one that needs credentials.
missing=()
for tool in groff zsh fish tmux jq curl docker-registry; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v htpasswd >/dev/null 2>&1 || missing+=(apache2-utils)
# python3-venv: Debian's python3 makes the tests' virtual environment (below)
# only with it.
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >&2
fi
# The Prometheus project's Python client parses `pool stats --format
# prometheus` in tests/stats.rs; the official MCP SDK (`mcp`) is the client
# tests/mcp.rs drives `sbx mcp` with. They go into a virtual environment
# under the build directory (pip's own configuration applies), never into
# the machine's Python; the tests run that environment's SBX_TEST_PYTHON.
VENV="${CARGO_TARGET_DIR:-target}/test-venv"
if ! "$VENV/bin/python" -c 'import prometheus_client, mcp' 2>/dev/null; then
    echo "test.sh: installing prometheus_client and mcp into $VENV" >&2
    python3 -m venv --clear "$VENV"
    "$VENV/bin/python" -m pip install --quiet prometheus_client mcp >&2
fi
SBX_TEST_PYTHON="$(cd "$VENV/bin" && pwd)/python"
export SBX_TEST_PYTHON

# SBX_TEST_IMAGE (python, javascript) for most tests; SBX_TEST_IMAGE_FULL
# (every toolchain, derived from it) for the per-language tests.
SBX_TEST_IMAGE=$(bash scripts/images.sh)
SBX_TEST_IMAGE_FULL=$(bash scripts/images.sh full)
export SBX_TEST_IMAGE SBX_TEST_IMAGE_FULL
echo "test.sh: testing against $SBX_TEST_IMAGE and $SBX_TEST_IMAGE_FULL" >&2

# What ran where, for the summary at the end: each cargo test run's
# output is kept, its "test result" lines counted and its SKIPPED lines
# (tests that do not apply to an engine, common::skip) collected.
logs=$(mktemp -d)
# The engines' guest volumes (README, "How it works"): the suite's build
# fills one per engine, and the suite removes it at the end, however the
# run ends; those that were there before (a user's agent's) stay.
guest_volumes() {
    for engine in docker podman; do
        command -v "$engine" >/dev/null 2>&1 || continue
        "$engine" volume ls -q --filter label=io.sbx.guest 2>/dev/null | sed "s/^/$engine /" || true
    done | LC_ALL=C sort
}
guest_volumes_before=$(guest_volumes)
remove_suite_guest_volumes() {
    LC_ALL=C comm -13 <(echo "$guest_volumes_before") <(guest_volumes) | while read -r engine name; do
        "$engine" volume rm "$name" >/dev/null 2>&1 ||
            echo "test.sh: cannot remove the suite's guest volume $name ($engine); a container still uses it" >&2
    done
}
trap 'remove_suite_guest_volumes; rm -rf "$logs"' EXIT
engines=()
# cargo test, its output shown and kept under $logs/NAME.log.
run_tests() {
    local name=$1
    shift
    "$@" 2>&1 | tee "$logs/$name.log"
}
# Tests that passed in one kept output.
passed() {
    sed -n 's/^test result: [a-zA-Z]*\. \([0-9]*\) passed.*/\1/p' "$logs/$1.log" | awk '{n += $1} END {print n + 0}'
}

# Each integration test runs its own agent and containers; two at a time
# suits these two-core machines.
run_tests docker cargo test --locked "$@" -- --test-threads=2
engines+=(docker)

# Every integration suite again against Podman (one matrix, not a copy of
# the tests): the harness takes the engine from SBX_TEST_BACKEND. A test
# that cannot hold on Podman says so with a SKIPPED line (common::only_on).
INTEGRATION=()
for f in tests/*.rs; do
    INTEGRATION+=(--test "$(basename "$f" .rs)")
done
if [ "${SBX_TEST_PODMAN:-1}" = 1 ] && [ $# -eq 0 ]; then
    bash scripts/podman.sh "$SBX_TEST_IMAGE" "$SBX_TEST_IMAGE_FULL"
    echo "test.sh: running the integration suites against Podman" >&2
    run_tests podman env SBX_TEST_BACKEND=podman cargo test --locked "${INTEGRATION[@]}" -- --test-threads=2
    engines+=(podman)
elif [ $# -eq 0 ]; then
    echo "SKIPPED podman matrix: SBX_TEST_PODMAN=${SBX_TEST_PODMAN:-}" | tee "$logs/podman-skipped.log"
fi

# The same suites against a real Kubernetes cluster, opt-in: no cluster is
# assumed, and the matrix never runs against whatever cluster the shell
# points at, only the one SBX_TEST_KUBECONFIG names.
KUBE_SUITES=(--test run --test streams --test languages --test options --test isolation)
# Tests whose assertions are about a local engine's own state (its socket,
# images, volumes, network interfaces). Each fails saying so if run under
# Kubernetes (common::local_engine_only), so this list and the tests cannot
# drift apart silently.
KUBE_LOCAL_ONLY=(
    an_agent_that_cannot_start_tells_the_client_why
    an_image_without_the_interpreter_gives_exit_127_with_a_reason
    json_mode_reports_a_failure_of_sbx_itself_as_a_json_error
    sbx_languages_lists_every_language_with_its_image_and_presence
    sbx_languages_without_an_engine_still_lists_them_and_says_why_presence_is_unknown
    a_program_has_no_network_and_cannot_reach_the_host
    with_a_container_per_run_the_pool_refills_in_the_background_and_every_container_reads_the_one_guest_volume
    a_container_removed_behind_the_agents_back_is_replaced_and_leaves_no_volume
)
if [ $# -eq 0 ] && [ -z "${SBX_TEST_KUBECONFIG:-}" ]; then
    echo "SKIPPED kubernetes matrix: no cluster given; set SBX_TEST_KUBECONFIG=PATH to a test cluster's kubeconfig to run it (README, Development)" | tee "$logs/kubernetes-skipped.log"
elif [ $# -eq 0 ]; then
    if ! command -v kubectl >/dev/null 2>&1; then
        echo "test.sh: the Kubernetes matrix needs kubectl on PATH (it lists and removes the tests' pods); install it or unset SBX_TEST_KUBECONFIG" >&2
        exit 1
    fi
    ns=${SBX_TEST_KUBE_NAMESPACE:-sbx-test}
    kctl=(kubectl --kubeconfig "$SBX_TEST_KUBECONFIG" --namespace "$ns")
    [ -z "${SBX_TEST_KUBE_CONTEXT:-}" ] || kctl+=(--context "$SBX_TEST_KUBE_CONTEXT")
    # What the agent needs (deploy/kubernetes/rbac.yaml), checked up front:
    # a missing namespace or right is one clear line here, not dozens of
    # failed tests.
    for what in "create pods" "delete pods" "watch pods" "create pods/exec"; do
        if ! "${kctl[@]}" auth can-i $what >/dev/null 2>&1; then
            echo "test.sh: $SBX_TEST_KUBECONFIG cannot $what in namespace $ns; create the namespace and apply deploy/kubernetes/ (README, Kubernetes)" >&2
            exit 1
        fi
    done
    if [ -n "${SBX_TEST_KIND_CLUSTER:-}" ]; then
        echo "test.sh: loading the test images into kind cluster $SBX_TEST_KIND_CLUSTER" >&2
        kind load docker-image --name "$SBX_TEST_KIND_CLUSTER" "$SBX_TEST_IMAGE" "$SBX_TEST_IMAGE_FULL" >&2
    else
        echo "test.sh: the cluster's nodes must hold $SBX_TEST_IMAGE and $SBX_TEST_IMAGE_FULL (set SBX_TEST_KIND_CLUSTER to load them into kind)" >&2
    fi
    skips=()
    for t in "${KUBE_LOCAL_ONLY[@]}"; do
        if ! grep -A1 "fn $t()" tests/*.rs | grep -q "local_engine_only"; then
            echo "test.sh: KUBE_LOCAL_ONLY names $t, which is not a test marked common::local_engine_only; fix the list" >&2
            exit 1
        fi
        skips+=(--skip "$t")
    done
    echo "test.sh: running the integration suites against Kubernetes (namespace $ns), without ${#KUBE_LOCAL_ONLY[@]} tests of local-engine state: ${KUBE_LOCAL_ONLY[*]}" >&2
    run_tests kubernetes env SBX_TEST_BACKEND=kubernetes cargo test --locked "${KUBE_SUITES[@]}" -- --test-threads=2 "${skips[@]}"
    engines+=(kubernetes)
    for t in "${KUBE_LOCAL_ONLY[@]}"; do
        echo "SKIPPED $t: checks a local engine's own state (KUBE_LOCAL_ONLY)" >> "$logs/kubernetes.log"
    done
fi

# The summary: how many tests passed on which engine, and what was skipped.
total=0
summary=()
for e in "${engines[@]}"; do
    n=$(passed "$e")
    total=$((total + n))
    summary+=("$n on $e")
done
echo
echo "test.sh: $total tests passed ($(IFS=,; echo "${summary[*]}" | sed 's/,/, /g')); engines run on: ${engines[*]}"
skipped=$(cat "$logs"/*.log | grep -ao 'SKIPPED [^:]*: .*' | sort -u || true)
if [ -n "$skipped" ]; then
    echo "test.sh: skipped ($(printf '%s\n' "$skipped" | wc -l)):"
    printf '%s\n' "$skipped" | sed 's/^/  /'
fi
