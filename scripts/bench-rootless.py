#!/usr/bin/env python3
"""Warm `sbx run` on rootful Podman against rootless Podman, in one process.

Runs examples/hello.py through a warm pool of each, interleaved (one of each
per round) so that noise from this shared machine hits both alike: as root
against root's Podman, and as the ordinary user that scripts/rootless.sh
sets up against that user's own. Reports medians and their ratio; asserts
nothing. On a cgroup v1 host the rootless side runs with
`allow_unlimited = true` (its engine applies no limits; README, "Without
root").

Usage: scripts/bench-rootless.sh [ROUNDS]   (builds, sets up, then runs this)
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.environ.get("SBX_BIN") or os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
USER = "sbx-rootless"


def timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0 or out.stdout != b"hello from sbx\n":
        sys.exit(f"bench: {cmd} failed: {out.returncode} {out.stdout!r} {out.stderr!r}")
    return elapsed


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    image, uid = sys.argv[2], sys.argv[3]
    cgroup_v1 = not os.path.exists("/sys/fs/cgroup/cgroup.controllers")
    with tempfile.TemporaryDirectory(prefix="sbx-bench-rootless-") as tmp:
        os.chmod(tmp, 0o755)
        # A copy both users can run, and the program both run.
        sbx = os.path.join(tmp, "sbx")
        shutil.copy(SBX, sbx)
        # The agent finds the guest it ships into containers beside itself.
        shutil.copy(os.path.join(os.path.dirname(SBX), "sbx-guest"), tmp)
        hello = os.path.join(tmp, "hello.py")
        shutil.copy(os.path.join(ROOT, "examples/hello.py"), hello)
        os.chmod(hello, 0o644)
        sides = {}
        for side in ("rootful", "rootless"):
            d = os.path.join(tmp, side)
            os.makedirs(os.path.join(d, "run"), mode=0o700)
            config = os.path.join(d, "config.toml")
            with open(config, "w") as f:
                f.write(f'[languages.python]\nimage = "{image}"\n')
                if side == "rootless" and cgroup_v1:
                    f.write("[isolation]\nallow_unlimited = true\n")
            os.chmod(config, 0o644)
            # Both sides start through runuser (its PAM session costs a
            # few ms), so that only the engine differs.
            user, engine = "root", []
            if side == "rootless":
                shutil.chown(d, USER)
                shutil.chown(os.path.join(d, "run"), USER)
                user = USER
                engine = [f"CONTAINER_HOST=unix:///run/user/{uid}/podman/podman.sock"]
            env = {"PATH": os.environ["PATH"]}
            cmd = ["runuser", "-u", user, "--", "env",
                   f"HOME={os.path.expanduser('~' + user)}",
                   f"XDG_RUNTIME_DIR={os.path.join(d, 'run')}",
                   f"SBX_CONFIG={config}", "SBX_BACKEND=podman"] + engine + [sbx, "run", hello]
            sides[side] = (cmd, env)
        try:
            for cmd, env in sides.values():
                timed(cmd, env)  # start the agent, warm the pool
            times = {side: [] for side in sides}
            for _ in range(rounds):
                for side, (cmd, env) in sides.items():
                    times[side].append(timed(cmd, env))
        finally:
            for side, (cmd, env) in sides.items():
                stop = cmd[: cmd.index(sbx) + 1] + ["agent", "stop"]
                subprocess.run(stop, env=env, capture_output=True)
    rootful = statistics.median(times["rootful"])
    rootless = statistics.median(times["rootless"])
    print(f"| engine | warm run median (ms) | min (ms) |")
    print(f"|---|---|---|")
    print(f"| Podman, rootful | {rootful:.1f} | {min(times['rootful']):.1f} |")
    print(f"| Podman, rootless{' (cgroup v1: no limits)' if cgroup_v1 else ''} | {rootless:.1f} | {min(times['rootless']):.1f} |")
    print(f"\nrootless / rootful: {rootless / rootful:.2f}x over {rounds} rounds each")


if __name__ == "__main__":
    main()
