#!/usr/bin/env bash
# Record the state of the machine that the tests must leave as they found
# it, and later compare with that record (.ci/run does both around the
# suite).
#
#   bash scripts/host-state.sh save FILE    write the current state to FILE
#   bash scripts/host-state.sh check FILE   compare with FILE; list every
#                                            difference and exit 1 if any
#
# What is recorded, one item a line:
#   interface NAME                 network interfaces (`ip -o link`)
#   docker-network NAME DRIVER ID  the engines' networks
#   podman-network NAME DRIVER ID
#   docker-image REF ID            images and volumes
#   docker-volume NAME
#   podman-image REF ID
#   podman-volume NAME
#   python EXE NAME==VERSION       the packages of the machine's Python(s)
#
# Interfaces, networks and Python packages must be exactly as before:
# nothing gone, nothing new. Images and volumes must all still be there
# (an image under the same name with another ID counts as gone); new ones
# may stay, since the suite builds its test images once per machine and
# keeps them. veth interfaces are not recorded: they are the host ends of
# running containers' networks and come and go with any container on the
# machine (the suite's own containers are checked by label in .ci/run).
# An engine installed during the run (e.g. Podman by scripts/podman.sh)
# has nothing to compare with and is not checked. Untagged images
# (`<none>:<none>`) are not recorded either: they are the build cache, which
# a build of the same recipe reuses and the removal of its result takes
# with it (a library image built by the suite consumes the cached steps an
# earlier build left); nobody can name or use them otherwise.
set -euo pipefail

snapshot() {
    ip -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }' |
        grep -v '^veth' | sed 's/^/interface /'
    for engine in docker podman; do
        command -v "$engine" >/dev/null 2>&1 || continue
        echo "$engine-installed"
        "$engine" network ls --no-trunc --format '{{.Name}} {{.Driver}} {{.ID}}' |
            sed "s/^/$engine-network /"
        "$engine" images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' |
            { grep -v '^<none>:<none> ' || true; } | sed "s/^/$engine-image /"
        "$engine" volume ls --format '{{.Name}}' | sed "s/^/$engine-volume /"
    done
    for py in python3 /usr/bin/python3; do
        command -v "$py" >/dev/null 2>&1 || continue
        "$py" - <<'PY'
import importlib.metadata as md
import sys

for d in md.distributions():
    print(f"python {sys.executable} {d.metadata['Name']}=={d.version}")
PY
    done
}

sorted() { LC_ALL=C sort -u; }

if [ $# -ne 2 ]; then
    echo "usage: bash scripts/host-state.sh save|check FILE" >&2
    exit 2
fi
case "$1" in
save)
    snapshot | sorted >"$2"
    ;;
check)
    before=$(cat "$2")
    after=$(snapshot | sorted)
    # An engine that was not installed before has no state to compare.
    for engine in docker podman; do
        if ! grep -qx "$engine-installed" <<<"$before"; then
            after=$(grep -v "^$engine-" <<<"$after" || true)
        fi
    done
    gone=$(LC_ALL=C comm -23 <(echo "$before") <(echo "$after"))
    new=$(LC_ALL=C comm -13 <(echo "$before") <(echo "$after") |
        grep -Ev '^(docker|podman)-(image|volume) ' || true)
    if [ -n "$gone" ] || [ -n "$new" ]; then
        echo "host-state: the machine is not as it was before (saved in $2):" >&2
        [ -z "$gone" ] || sed 's/^/  gone or changed: /' <<<"$gone" >&2
        [ -z "$new" ] || sed 's/^/  new: /' <<<"$new" >&2
        exit 1
    fi
    ;;
*)
    echo "usage: bash scripts/host-state.sh save|check FILE" >&2
    exit 2
    ;;
esac
