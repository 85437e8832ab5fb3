#!/usr/bin/env python3
"""The bubblewrap backend against Docker, interleaved, with ratios.

One agent per backend (each its own runtime directory), the same image and
binary. Each round measures, alternating which backend goes first:
* a warm `sbx run examples/hello.py` (pool already filled);
* `sbx pool up --warm 8` on an empty pool (after `pool down`);
* `sbx run --no-pool examples/hello.py`: a sandbox made for the run and
  removed after it.
Medians per backend and bubblewrap/docker ratios of the medians.

Usage: bash scripts/bench-bubblewrap.sh [ROUNDS]
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HELLO = os.path.join(ROOT, "examples/hello.py")
BACKENDS = ("docker", "bubblewrap")


def timed(cmd, env):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, env=env)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed: {out.stderr.decode()}")
    return elapsed


def main():
    rounds = int(sys.argv[1])
    image, sbx = sys.argv[2], sys.argv[3]
    envs = {}
    with tempfile.TemporaryDirectory(prefix="sbx-bench-bwrap-") as tmp:
        for backend in BACKENDS:
            runtime = os.path.join(tmp, backend)
            os.makedirs(runtime, mode=0o700)
            config = os.path.join(tmp, f"{backend}.toml")
            with open(config, "w") as f:
                f.write(f'[languages.python]\nimage = "{image}"\n')
            envs[backend] = dict(os.environ, XDG_RUNTIME_DIR=runtime,
                                 SBX_CONFIG=config, SBX_BACKEND=backend)
        warm = {b: [] for b in BACKENDS}
        fill = {b: [] for b in BACKENDS}
        fresh = {b: [] for b in BACKENDS}
        try:
            for b in BACKENDS:
                timed([sbx, "agent", "start"], envs[b])
                timed([sbx, "pool", "up", "--lang", "python", "--warm", "1"], envs[b])
                for _ in range(3):
                    timed([sbx, "run", HELLO], envs[b])
            for r in range(rounds):
                order = BACKENDS if r % 2 == 0 else BACKENDS[::-1]
                for b in order:
                    warm[b].append(timed([sbx, "run", HELLO], envs[b]))
                for b in order:
                    fresh[b].append(timed([sbx, "run", "--no-pool", HELLO], envs[b]))
            # Fewer: each fills eight sandboxes from nothing.
            for r in range(max(3, rounds // 4)):
                order = BACKENDS if r % 2 == 0 else BACKENDS[::-1]
                for b in order:
                    timed([sbx, "pool", "down"], envs[b])
                    fill[b].append(timed(
                        [sbx, "pool", "up", "--lang", "python", "--warm", "8"], envs[b]))
        finally:
            for b in BACKENDS:
                subprocess.run([sbx, "agent", "stop"], env=envs[b], capture_output=True)
    med = lambda xs: statistics.median(xs)
    print(f"image {image}, {rounds} rounds (pool fill {len(fill['docker'])}), "
          f"interleaved, {os.cpu_count()} CPUs")
    print()
    print("| backend | warm run median (ms) | warm run min (ms) | `pool up --warm 8` median (ms) | `--no-pool` run median (ms) |")
    print("|---|---:|---:|---:|---:|")
    for b in BACKENDS:
        print(f"| {b} | {med(warm[b]):.1f} | {min(warm[b]):.1f} | {med(fill[b]):.0f} | {med(fresh[b]):.0f} |")
    print()
    d, w = "docker", "bubblewrap"
    print(f"bubblewrap/docker: warm run {med(warm[w]) / med(warm[d]):.2f}x, "
          f"pool fill {med(fill[w]) / med(fill[d]):.2f}x, "
          f"--no-pool run {med(fresh[w]) / med(fresh[d]):.2f}x")


if __name__ == "__main__":
    main()
