#!/usr/bin/env python3
"""Pool fill: 0 -> 8 idle containers in parallel vs 8 sequential creations.

Both go through the same agent code path (`sbx pool up`), timed from the
client: the parallel side is one `pool up --min 8 --max 8`, the sequential
side is eight `pool up --min 1 --max 1` of eight distinct pools, one after
the other. Each round uses fresh pools (a distinct max_lifetime makes a
distinct pool), the two sides alternate which goes first, and every
container is removed between rounds so both start from the same machine
state. Reports medians and their ratio; asserts nothing.

Usage: scripts/bench-fill.sh [ROUNDS]   (builds, sets up, then runs this)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
N = 8


def sbx(env, *args):
    out = subprocess.run([SBX, *args], env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench: sbx {' '.join(args)} failed ({out.returncode}): {out.stderr}")
    return out.stdout


def pool_up(env, size, tag):
    start = time.perf_counter()
    out = sbx(env, "pool", "up", "--min", str(size), "--max", str(size),
              "--max-lifetime", f"{3600 + tag}s", "--idle-timeout", "none",
              "--health-check-interval", "none")
    elapsed = time.perf_counter() - start
    if f"{size} warm container(s)" not in out:
        sys.exit(f"bench: pool up did not report {size} warm containers: {out}")
    return elapsed


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    image = sys.argv[2] if len(sys.argv) > 2 else os.environ["SBX_BENCH_IMAGE"]
    parallel, sequential = [], []
    with tempfile.TemporaryDirectory(prefix="sbx-bench-fill-") as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(f'[languages.python]\nimage = "{image}"\n')
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config)
        tag = 0
        try:
            # Untimed warm-up: agent start, page cache, the guest tarball.
            sbx(env, "agent", "start")
            pool_up(env, 1, tag)
            for r in range(rounds):
                sbx(env, "pool", "down")
                # Let the old agent finish exiting before starting a new one.
                while subprocess.run([SBX, "agent", "status"], env=env,
                                     capture_output=True).returncode == 0:
                    time.sleep(0.05)
                sbx(env, "agent", "start")
                sides = ["parallel", "sequential"]
                if r % 2:
                    sides.reverse()
                for side in sides:
                    if side == "parallel":
                        tag += 1
                        parallel.append(pool_up(env, N, tag))
                    else:
                        total = 0.0
                        for _ in range(N):
                            tag += 1
                            total += pool_up(env, 1, tag)
                        sequential.append(total)
        finally:
            subprocess.run([SBX, "pool", "down", "--force"], env=env, capture_output=True)

    med = statistics.median
    print(f"{rounds} rounds, alternating, image {image}, {os.cpu_count()} CPUs")
    print()
    print("| mode | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    for name, xs in [(f"pool 0 → {N} idle (`min_size = {N}`, parallel)", parallel),
                     (f"{N} sequential single creations", sequential)]:
        print(f"| {name} | {med(xs):.2f} | {min(xs):.2f} | {max(xs):.2f} |")
    print()
    print(f"parallel fill is {med(sequential) / med(parallel):.1f}x faster than "
          f"{N} sequential creations (median {med(parallel):.2f} s vs {med(sequential):.2f} s)")


if __name__ == "__main__":
    main()
