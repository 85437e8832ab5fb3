#!/usr/bin/env python3
"""Warm-run cost of `isolation = "container"` against `isolation = "run"`.

Two agents (one per mode, same image, same binary) run examples/hello.py
interleaved, one of each per round in alternating order, so noise from this shared machine hits
both alike. With a container per run, the used container is removed and
its replacement created in the background; the rounds are paced (PAUSE
seconds apart) so that the replacement is ready, which is the regime the
mode promises warm latency for. A last series runs the container mode
back to back, as fast as runs come, to show the cost once the pool is
saturated (each run then waits for a creation). Asserts nothing.

Usage: scripts/bench-isolation.sh [ROUNDS]   (builds, then runs this)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
HELLO = os.path.join(ROOT, "examples/hello.py")
PAUSE = 1.5


def timed(env):
    start = time.perf_counter()
    out = subprocess.run([SBX, "run", HELLO], capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0 or out.stdout != b"hello from sbx\n":
        sys.exit(f"bench: sbx run failed: {out.returncode} {out.stdout!r} {out.stderr!r}")
    return elapsed


def agent(tmp, image, mode):
    runtime = os.path.join(tmp, mode, "run")
    os.makedirs(runtime, mode=0o700)
    config = os.path.join(tmp, mode, "config.toml")
    with open(config, "w") as f:
        f.write(f'[languages.python]\nimage = "{image}"\n\n'
                f'[pool]\nmax_size = 2\n\n[isolation]\nmode = "{mode}"\n')
    return dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config)


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    image = sys.argv[2] if len(sys.argv) > 2 else os.environ["SBX_BENCH_IMAGE"]
    with tempfile.TemporaryDirectory(prefix="sbx-bench-iso-") as tmp:
        envs = {mode: agent(tmp, image, mode) for mode in ("run", "container")}
        try:
            for env in envs.values():
                subprocess.run([SBX, "pool", "up", "--lang", "python", "--warm", "1"],
                               env=env, check=True, capture_output=True)
                for _ in range(3):  # warm the page cache and the agent
                    timed(env)
            time.sleep(PAUSE)
            times = {mode: [] for mode in envs}
            order = list(envs)
            for _ in range(rounds):
                for mode in order:
                    times[mode].append(timed(envs[mode]))
                # Whichever goes first after the pause pays for waking up
                # the machine: alternate.
                order.reverse()
                time.sleep(PAUSE)
            saturated = [timed(envs["container"]) for _ in range(rounds)]
        finally:
            for env in envs.values():
                subprocess.run([SBX, "pool", "down"], env=env, capture_output=True)

    med = statistics.median
    rows = [
        ('`isolation = "run"` (one container, wiped between runs)', times["run"]),
        ('`isolation = "container"`, runs paced 1.5 s apart (replacement ready)',
         times["container"]),
        ('`isolation = "container"`, runs back to back (pool saturated)', saturated),
    ]
    print(f"{rounds} rounds, interleaved, image {image}, {os.cpu_count()} CPUs")
    print()
    print("| mode | median ms | min ms | max ms | vs run |")
    print("|---|---:|---:|---:|---:|")
    base = med(times["run"])
    for name, xs in rows:
        print(f"| {name} | {med(xs):.1f} | {min(xs):.1f} | {max(xs):.1f} "
              f"| {med(xs) / base:.2f}x |")


if __name__ == "__main__":
    main()
