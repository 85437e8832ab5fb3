#!/usr/bin/env bash
# Register crun, a second OCI runtime that Debian packages, with dockerd, so
# the isolation suite can run through `[isolation] runtime = "crun"` as well
# as through the default runc (scripts/test.sh).
#
# Installs the `crun` package when missing, adds it to the "runtimes" of
# /etc/docker/daemon.json (other settings there are kept) and makes dockerd
# reload its configuration (SIGHUP: running containers are untouched). Does
# nothing when dockerd already knows the runtime.
set -euo pipefail

log() { echo "crun.sh: $*" >&2; }
known() { docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"crun"'; }

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

# crun refuses a hybrid cgroup layout (v1 controllers, plus a v2 hierarchy
# at /sys/fs/cgroup/unified) while the v2 side holds a controller: "cgroups
# in hybrid mode not supported, drop all controllers from cgroupv2". On
# these machines that is hugetlb, the one controller no v1 hierarchy
# mounts. Mounting it as v1, as most hybrid systems do, moves it there;
# runc works either way.
unified=/sys/fs/cgroup/unified
if [ "$(stat -f -c %T "$unified" 2>/dev/null)" = cgroup2fs ]; then
    for c in $(cat "$unified/cgroup.controllers"); do
        mountpoint -q "/sys/fs/cgroup/$c" && continue
        log "mounting the cgroup controller $c as v1 (crun needs the v2 hierarchy of a hybrid layout empty)"
        if ! { $SUDO mkdir -p "/sys/fs/cgroup/$c" && $SUDO mount -t cgroup -o "$c" cgroup "/sys/fs/cgroup/$c"; }; then
            log "cannot move $c to v1 (a read-only /sys/fs/cgroup, or a v2 cgroup using it): crun cannot run containers here; run the tests with SBX_TEST_CRUN=0"
            exit 1
        fi
    done
fi

known && exit 0

[ "$(id -u)" -eq 0 ] || SUDO="sudo"
if ! command -v crun >/dev/null 2>&1; then
    log "installing Debian's crun"
    $SUDO apt-get update -q >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q crun >&2
fi

log "registering $(command -v crun) with dockerd in /etc/docker/daemon.json"
$SUDO mkdir -p /etc/docker
$SUDO python3 - "$(command -v crun)" <<'PY'
import json, os, sys

path = "/etc/docker/daemon.json"
conf = {}
if os.path.exists(path) and os.path.getsize(path) > 0:
    with open(path) as f:
        conf = json.load(f)
conf.setdefault("runtimes", {})["crun"] = {"path": sys.argv[1]}
tmp = path + ".sbx-tmp"
with open(tmp, "w") as f:
    json.dump(conf, f, indent=2)
    f.write("\n")
os.replace(tmp, path)
PY

# dockerd re-reads "runtimes" on SIGHUP; through systemd where it runs it.
if [ -d /run/systemd/system ] && systemctl is-active --quiet docker 2>/dev/null; then
    $SUDO systemctl reload docker
elif ! $SUDO pkill -HUP -x dockerd; then
    log "no dockerd process to reload; restart the Docker daemon so it reads /etc/docker/daemon.json"
    exit 1
fi
for _ in $(seq 1 100); do
    known && exit 0
    sleep 0.1
done
log "dockerd does not list crun among its runtimes after a reload; see its log"
exit 1
