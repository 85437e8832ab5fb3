#!/usr/bin/env python3
"""Docker and Podman side by side: pool fill time and warm-run latency.

For each engine: start an agent, time `sbx pool up --warm N` (N containers
created in parallel), then time ROUNDS warm `sbx run examples/hello.py`.
Both engines run the same image and the same binary in this one process.

Usage: bash scripts/bench-engines.sh [ROUNDS] [WARM]
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


def timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {out.stderr.decode()}")
    return elapsed


def measure(engine, image, rounds, warm):
    with tempfile.TemporaryDirectory(prefix=f"sbx-bench-{engine}-") as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(f'[languages.python]\nimage = "{image}"\n')
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config, SBX_BACKEND=engine)
        try:
            timed([SBX, "agent", "start"], env)
            fill = timed([SBX, "pool", "up", "--lang", "python", "--warm", str(warm)], env)
            for _ in range(3):
                timed([SBX, "run", HELLO], env)
            runs = [timed([SBX, "run", HELLO], env) for _ in range(rounds)]
        finally:
            subprocess.run([SBX, "pool", "down"], env=env, capture_output=True)
    return fill, runs


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    warm = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    image = sys.argv[3]
    results = {e: measure(e, image, rounds, warm) for e in ("docker", "podman")}
    print(f"image {image}, {rounds} warm runs, pool filled with {warm} containers, "
          f"{os.cpu_count()} CPUs")
    print()
    print("| engine | pool fill (ms) | warm run median (ms) | warm run min (ms) |")
    print("|---|---:|---:|---:|")
    for engine, (fill, runs) in results.items():
        print(f"| {engine} | {fill:.0f} | {statistics.median(runs):.1f} | {min(runs):.1f} |")
    d, p = results["docker"], results["podman"]
    print()
    print(f"podman/docker: fill {p[0] / d[0]:.2f}x, warm run "
          f"{statistics.median(p[1]) / statistics.median(d[1]):.2f}x")


if __name__ == "__main__":
    main()
