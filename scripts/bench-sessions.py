#!/usr/bin/env python3
"""A warm run inside a session beside a plain warm run, measured side by side.

Three modes run examples/hello.py in the same image, interleaved (one of
each per round) so that noise from this shared machine hits them alike:
a plain warm `sbx run`, `sbx run --session S` (files kept), and the same
in a `--keep-state` session (the program is a cell of a live interpreter).
Reports medians and their ratios to the plain run; asserts nothing.

Usage: scripts/bench-sessions.sh [ROUNDS]   (builds, sets up, then runs this)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.environ.get("SBX_BIN") or os.path.join(
    ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
HELLO = os.path.join(ROOT, "examples/hello.py")


def timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, env=env, stdin=subprocess.DEVNULL)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0 or out.stdout != b"hello from sbx\n":
        sys.exit(f"bench: {' '.join(cmd)} failed: {out.returncode} {out.stdout!r} {out.stderr!r}")
    return elapsed


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 30
    image = sys.argv[2] if len(sys.argv) > 2 else os.environ["SBX_BENCH_IMAGE"]
    with tempfile.TemporaryDirectory(prefix="sbx-bench-") as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(f'[languages.python]\nimage = "{image}"\n')
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config)
        env.pop("SBX_SESSION", None)
        sbx = lambda *a: subprocess.run([SBX, *a], env=env, check=True,
                                        capture_output=True, text=True).stdout.strip()
        # Three containers: one for plain runs, one per session.
        sbx("pool", "up", "--lang", "python", "--warm", "3")
        try:
            files = sbx("session", "start", "--lang", "python")
            state = sbx("session", "start", "--lang", "python", "--keep-state")
            modes = {
                "plain warm run": [SBX, "run", HELLO],
                "run in a session": [SBX, "run", "--session", files, HELLO],
                "run in a --keep-state session": [SBX, "run", "--session", state, HELLO],
            }
            times = {name: [] for name in modes}
            for _ in range(3):  # first runs warm the page cache and the agent
                for cmd in modes.values():
                    timed(cmd, env)
            for _ in range(rounds):
                for name, cmd in modes.items():
                    times[name].append(timed(cmd, env))
        finally:
            subprocess.run([SBX, "pool", "down"], env=env, capture_output=True)
    base = statistics.median(times["plain warm run"])
    print(f"| {rounds} rounds, interleaved | median (ms) | ratio to the plain run |")
    print("|---|---:|---:|")
    for name, t in times.items():
        m = statistics.median(t)
        print(f"| {name} | {m:.1f} | {m / base:.2f} |")


if __name__ == "__main__":
    main()
