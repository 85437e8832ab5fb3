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
# No agent the suite starts removes another build's guest volume (an
# installed sbx's): the harness says so to every sbx it runs, and this
# covers whatever else a test starts (tests/guest_volume.rs scopes its own).
export SBX_PRUNE_GUEST_VOLUMES=0
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
rl_dir=""
trap 'remove_suite_guest_volumes; rm -rf "$logs" ${rl_dir:+"$rl_dir"}' EXIT
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

# Tests of the bubblewrap backend with no engine at all (images pulled
# from a registry by sbx itself): each fails saying so elsewhere
# (common::bubblewrap_only), so the engines' matrices leave them out by
# name and the bubblewrap matrix runs them.
BWRAP_ONLY=(
    without_an_engine_bubblewrap_pulls_images_from_their_registry_and_applies_whiteouts
    images_whose_parts_are_not_what_their_digests_say_are_refused_and_leave_nothing_behind
    a_registry_that_needs_a_login_gets_the_credentials_of_config_json_and_never_shows_them
    a_registry_relocated_by_registries_conf_gets_the_credentials_of_its_own_host_only
)
engine_skips=()
for t in "${BWRAP_ONLY[@]}"; do
    if ! grep -A2 "fn $t()" tests/*.rs | grep -q "common::bubblewrap_only"; then
        echo "test.sh: BWRAP_ONLY names $t, which is not a test marked common::bubblewrap_only; fix the list" >&2
        exit 1
    fi
    engine_skips+=(--skip "$t")
done
# And the other way: a marked test missing from the list would fail in
# the engines' matrices.
for t in $(grep -B3 "common::bubblewrap_only" tests/*.rs | sed -n 's/.*fn \([a-z0-9_]*\)().*/\1/p'); do
    if ! printf '%s\n' "${BWRAP_ONLY[@]}" | grep -qx "$t"; then
        echo "test.sh: $t is marked common::bubblewrap_only but BWRAP_ONLY does not name it; add it to the list" >&2
        exit 1
    fi
done

# Each integration test runs its own agent and containers; two at a time
# suits these two-core machines.
run_tests docker cargo test --locked "$@" -- --test-threads=2 "${engine_skips[@]}"
engines+=(docker)
for t in "${BWRAP_ONLY[@]}"; do
    echo "SKIPPED $t: the bubblewrap backend's own, with no engine (BWRAP_ONLY)" >> "$logs/docker.log"
done

# The hostile-program suite again through a second OCI runtime that Debian
# packages (README, Isolation: `runtime`): registered with dockerd first.
if [ "${SBX_TEST_CRUN:-1}" = 1 ] && [ $# -eq 0 ]; then
    bash scripts/crun.sh
    echo "test.sh: running the isolation suite on Docker through crun" >&2
    run_tests docker-crun env SBX_TEST_RUNTIME=crun cargo test --locked --test isolation -- --test-threads=2
    engines+=(docker-crun)
fi

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
    run_tests podman env SBX_TEST_BACKEND=podman cargo test --locked "${INTEGRATION[@]}" -- --test-threads=2 "${engine_skips[@]}"
    engines+=(podman)
    for t in "${BWRAP_ONLY[@]}"; do
        echo "SKIPPED $t: the bubblewrap backend's own, with no engine (BWRAP_ONLY)" >> "$logs/podman.log"
    done
elif [ $# -eq 0 ]; then
    echo "SKIPPED podman matrix: SBX_TEST_PODMAN=${SBX_TEST_PODMAN:-}" | tee "$logs/podman-skipped.log"
fi

# The run, options, languages and isolation suites again as an ordinary
# user against that user's rootless Podman (README, "Without root"), set up
# by scripts/rootless.sh as a new user would set it up. The test binaries
# and sbx are copied where that user can run them.
ROOTLESS_SUITES=(run options languages isolation)
# Tests about a limit, which rootless Podman on a cgroup v1 host does not
# apply: there each asserts sbx's refusal instead (Sbx::limits_required),
# and every other test runs with `allow_unlimited = true`.
ROOTLESS_NO_LIMITS=(
    a_fork_bomb_is_held_by_the_process_limit_and_killed_at_its_timeout
    a_memory_hog_is_killed_and_reported_as_over_its_memory_limit
    a_guest_killed_at_the_memory_limit_is_reported_as_the_memory_limit_not_as_a_failure
    a_program_filling_its_tmpfs_is_killed_at_the_memory_limit_and_the_next_run_is_clean
    a_program_holds_fewer_processes_than_its_process_limit_and_the_next_run_holds_as_many_again
)
if [ "${SBX_TEST_ROOTLESS:-1}" = 1 ] && [ $# -eq 0 ] && [ "$(id -u)" -eq 0 ]; then
    for t in "${ROOTLESS_NO_LIMITS[@]}"; do
        if ! grep -A12 "fn $t()" tests/*.rs | grep -q "limits_required()"; then
            echo "test.sh: ROOTLESS_NO_LIMITS names $t, which does not check sbx's refusal with limits_required(); fix the list" >&2
            exit 1
        fi
    done
    rl_uid=$(bash scripts/rootless.sh "$SBX_TEST_IMAGE" "$SBX_TEST_IMAGE_FULL")
    rl_dir=$(mktemp -d /tmp/sbx-rootless-tests.XXXXXX)
    chmod 755 "$rl_dir"
    suite_args=()
    for t in "${ROOTLESS_SUITES[@]}"; do suite_args+=(--test "$t"); done
    # Built already by the runs above; the JSON names the executables.
    # (registry: for the bubblewrap matrix below.)
    cargo test --locked --no-run --message-format=json "${suite_args[@]}" --test registry >"$rl_dir/build.json"
    jq -r 'select(.reason == "compiler-artifact" and .executable != null) | .executable' "$rl_dir/build.json" |
        while read -r exe; do cp "$exe" "$rl_dir/"; done
    cp -r examples "$rl_dir/examples"
    cp -r tests/fixtures "$rl_dir/fixtures"
    chmod -R a+rX "$rl_dir"
    rootless_suites() {
        local failed=0 t exe
        for t in "${ROOTLESS_SUITES[@]}"; do
            exe=$(ls "$rl_dir"/"$t"-* | head -n 1)
            runuser -u sbx-rootless -- env -C /tmp \
                HOME="$(getent passwd sbx-rootless | cut -d: -f6)" \
                XDG_RUNTIME_DIR="/run/user/$rl_uid" \
                CONTAINER_HOST="unix:///run/user/$rl_uid/podman/podman.sock" \
                SBX_TEST_BACKEND=podman SBX_TEST_ROOTLESS=1 \
                SBX_TEST_BIN="$rl_dir/sbx" SBX_TEST_EXAMPLES="$rl_dir/examples" \
                SBX_TEST_IMAGE="$SBX_TEST_IMAGE" SBX_TEST_IMAGE_FULL="$SBX_TEST_IMAGE_FULL" \
                "$exe" --test-threads=2 || failed=1
        done
        return "$failed"
    }
    echo "test.sh: running the ${ROOTLESS_SUITES[*]} suites as the ordinary user sbx-rootless against its rootless Podman" >&2
    status=0
    run_tests rootless rootless_suites || status=$?
    [ "$status" -eq 0 ] || exit "$status"
    engines+=(rootless)
elif [ $# -eq 0 ]; then
    echo "SKIPPED rootless matrix: SBX_TEST_ROOTLESS=${SBX_TEST_ROOTLESS:-1}, uid $(id -u) (it needs root to create its user)" | tee "$logs/rootless-skipped.log"
fi

# The run, options, languages and isolation suites against the daemonless
# backend (README, "Without a container engine"): each sandbox a bwrap
# process of the agent, as root. Debian's bubblewrap is installed when
# missing and the test images are unpacked once, before the suites.
BWRAP_SUITES=(--test run --test options --test languages --test isolation --test registry)
# Tests about a container engine's own state (its socket, volumes, OCI
# runtimes, passwd files it mounts, tmpfs options bwrap cannot set). Each
# fails saying so under bubblewrap (common::engine_only), so this list and
# the tests cannot drift apart silently.
BWRAP_ENGINE_ONLY=(
    an_agent_that_cannot_start_tells_the_client_why
    json_mode_reports_a_failure_of_sbx_itself_as_a_json_error
    sbx_languages_without_an_engine_still_lists_them_and_says_why_presence_is_unknown
    with_a_container_per_run_the_pool_refills_in_the_background_and_every_container_reads_the_one_guest_volume
    a_container_removed_behind_the_agents_back_is_replaced_and_leaves_no_volume
    an_oci_runtime_the_engine_does_not_know_fails_the_run_saying_what_to_do
    the_runtime_asked_for_is_the_one_the_container_runs_with
    the_suites_containers_run_with_the_runtime_under_test
    empty_files_in_tmp_are_refused_at_the_inode_limit_and_the_next_run_is_clean
    the_passwd_files_given_to_containers_are_gone_from_the_agents_directory_once_they_run
)
if [ "${SBX_TEST_BWRAP:-1}" = 1 ] && [ $# -eq 0 ]; then
    skips=()
    for t in "${BWRAP_ENGINE_ONLY[@]}"; do
        if ! grep -A2 "fn $t()" tests/*.rs | grep -q "common::engine_only"; then
            echo "test.sh: BWRAP_ENGINE_ONLY names $t, which is not a test marked common::engine_only; fix the list" >&2
            exit 1
        fi
        skips+=(--skip "$t")
    done
    # Tests of what only a cgroup's limits do (a memory total, the OOM
    # killer): left out where sandboxes get per-process rlimits instead,
    # as an ordinary user (below) and as root on a cgroup v2 host (whose
    # cgroups sbx does not use yet). Each fails saying so if run there
    # (common::cgroup_limits_only).
    BWRAP_CGROUP_ONLY=(
        a_memory_hog_is_killed_and_reported_as_over_its_memory_limit
        a_guest_killed_at_the_memory_limit_is_reported_as_the_memory_limit_not_as_a_failure
        a_program_filling_its_tmpfs_is_killed_at_the_memory_limit_and_the_next_run_is_clean
    )
    cgroup_skips=()
    for t in "${BWRAP_CGROUP_ONLY[@]}"; do
        if ! grep -A3 "fn $t()" tests/*.rs | grep -q "common::cgroup_limits_only"; then
            echo "test.sh: BWRAP_CGROUP_ONLY names $t, which is not a test marked common::cgroup_limits_only; fix the list" >&2
            exit 1
        fi
        cgroup_skips+=(--skip "$t")
    done
    if [ -e /sys/fs/cgroup/cgroup.controllers ]; then
        skips+=("${cgroup_skips[@]}")
    fi
    cargo build --locked >&2
    bash scripts/bubblewrap.sh "${CARGO_TARGET_DIR:-target}/x86_64-unknown-linux-gnu/debug/sbx" "$SBX_TEST_IMAGE" "$SBX_TEST_IMAGE_FULL"
    echo "test.sh: running the integration suites against bubblewrap, without ${#BWRAP_ENGINE_ONLY[@]} tests of a container engine's state: ${BWRAP_ENGINE_ONLY[*]}" >&2
    bwrap_started=$(date +%s)
    run_tests bubblewrap env SBX_TEST_BACKEND=bubblewrap cargo test --locked "${BWRAP_SUITES[@]}" -- --test-threads=2 "${skips[@]}"
    echo "test.sh: the bubblewrap matrix took $(( $(date +%s) - bwrap_started )) s" >&2
    engines+=(bubblewrap)
    for t in "${BWRAP_ENGINE_ONLY[@]}"; do
        echo "SKIPPED $t: checks a container engine's own state (BWRAP_ENGINE_ONLY)" >> "$logs/bubblewrap.log"
    done
    # The same suites as the ordinary user of the rootless matrix, with
    # the test binaries and sbx copied there: its sandboxes are made in a
    # user namespace of its subordinate uids, its images unpacked from its
    # rootless Podman into its own data directory (first, here), and with
    # no cgroup it can write, its limits are each program's rlimits: the
    # tests of what only a cgroup does (a memory total, the OOM killer)
    # are left out by name, each failing saying so if run there
    # (common::cgroup_limits_only).
    if [ -n "${rl_uid:-}" ]; then
        rl_skips=("${skips[@]}" "${cgroup_skips[@]}")
        cp scripts/bubblewrap.sh "$rl_dir/"
        as_rootless() {
            runuser -u sbx-rootless -- env -C /tmp \
                HOME="$(getent passwd sbx-rootless | cut -d: -f6)" \
                XDG_RUNTIME_DIR="/run/user/$rl_uid" \
                CONTAINER_HOST="unix:///run/user/$rl_uid/podman/podman.sock" "$@"
        }
        as_rootless bash "$rl_dir/bubblewrap.sh" "$rl_dir/sbx" "$SBX_TEST_IMAGE" "$SBX_TEST_IMAGE_FULL"
        rootless_bwrap_suites() {
            local failed=0 t exe
            for t in "${ROOTLESS_SUITES[@]}" registry; do
                exe=$(ls "$rl_dir"/"$t"-* | head -n 1)
                as_rootless SBX_TEST_BACKEND=bubblewrap SBX_TEST_ROOTLESS=1 \
                    SBX_TEST_BIN="$rl_dir/sbx" SBX_TEST_EXAMPLES="$rl_dir/examples" \
                    SBX_TEST_FIXTURES="$rl_dir/fixtures" \
                    SBX_TEST_IMAGE="$SBX_TEST_IMAGE" SBX_TEST_IMAGE_FULL="$SBX_TEST_IMAGE_FULL" \
                    "$exe" --test-threads=2 "${rl_skips[@]}" || failed=1
            done
            return "$failed"
        }
        echo "test.sh: running the ${ROOTLESS_SUITES[*]} registry suites against bubblewrap as the ordinary user sbx-rootless" >&2
        bwrap_started=$(date +%s)
        status=0
        run_tests bubblewrap-rootless rootless_bwrap_suites || status=$?
        echo "test.sh: the rootless bubblewrap matrix took $(( $(date +%s) - bwrap_started )) s" >&2
        [ "$status" -eq 0 ] || exit "$status"
        engines+=(bubblewrap-rootless)
        for t in "${BWRAP_CGROUP_ONLY[@]}"; do
            echo "SKIPPED $t: checks what only a cgroup's limits do; bubblewrap as an ordinary user has per-process rlimits (BWRAP_CGROUP_ONLY)" >> "$logs/bubblewrap-rootless.log"
        done
    fi
elif [ $# -eq 0 ]; then
    echo "SKIPPED bubblewrap matrix: SBX_TEST_BWRAP=${SBX_TEST_BWRAP:-}" | tee "$logs/bubblewrap-skipped.log"
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
    an_image_whose_interpreter_the_program_user_cannot_reach_gives_126_saying_which_directory
    an_unanswered_podman_socket_gets_the_hint_for_root_or_for_a_rootless_user
    json_mode_reports_a_failure_of_sbx_itself_as_a_json_error
    sbx_languages_lists_every_language_with_its_image_and_presence
    sbx_languages_without_an_engine_still_lists_them_and_says_why_presence_is_unknown
    a_program_has_no_network_and_cannot_reach_the_host
    with_a_container_per_run_the_pool_refills_in_the_background_and_every_container_reads_the_one_guest_volume
    a_container_removed_behind_the_agents_back_is_replaced_and_leaves_no_volume
    two_concurrent_sandboxes_run_as_uids_of_their_own_that_no_host_user_has
    a_sandbox_holding_many_processes_leaves_fork_to_a_concurrent_sandbox_and_to_host_users
    with_one_fixed_user_for_every_sandbox_their_processes_count_against_each_other
    an_image_cannot_speak_for_the_agent_through_its_environment
    a_program_user_the_image_does_not_know_still_has_a_name_a_home_and_a_passwd_entry
    the_passwd_files_given_to_containers_are_gone_from_the_agents_directory_once_they_run
    the_suites_containers_run_with_the_runtime_under_test
    a_million_empty_files_stop_at_the_default_inode_limit_and_the_next_run_is_clean
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
        # (common::engine_only includes local_engine_only.)
        if ! grep -A2 "fn $t()" tests/*.rs | grep -qE "local_engine_only|common::engine_only"; then
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
