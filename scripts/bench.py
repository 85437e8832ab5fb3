#!/usr/bin/env python3
"""Warm `sbx run` against `docker run --rm`, measured in one process.

Three modes run examples/hello.py in the same image, interleaved (one of
each per round) so that noise from this shared machine hits both alike.
Reports medians and their ratio; asserts nothing.

Usage: scripts/bench.sh [ROUNDS]   (builds, sets up, then runs this)
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.environ.get("SBX_BIN") or os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
HELLO = os.path.join(ROOT, "examples/hello.py")


def timed(cmd, **kw):
    start = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, **kw)
    elapsed = (time.perf_counter() - start) * 1000
    if out.returncode != 0 or out.stdout != b"hello from sbx\n":
        sys.exit(f"bench: {cmd[0]} failed: {out.returncode} {out.stdout!r} {out.stderr!r}")
    return elapsed


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    image = sys.argv[2] if len(sys.argv) > 2 else os.environ["SBX_BENCH_IMAGE"]
    with tempfile.TemporaryDirectory(prefix="sbx-bench-") as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(tmp, "config.toml")
        with open(config, "w") as f:
            f.write(f'[languages.python]\nimage = "{image}"\n')
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config)
        subprocess.run([SBX, "pool", "up", "--lang", "python"], env=env, check=True,
                       capture_output=True)
        try:
            for _ in range(3):  # first runs warm the page cache and the agent
                timed([SBX, "run", HELLO], env=env)
            timed(["docker", "run", "--rm", "-i", "--network", "none", image, "python3", "-"],
                  input=open(HELLO, "rb").read())
            warm, cold, execs = [], [], []
            source = open(HELLO, "rb").read()
            # Reference: an engine exec per run into an already running container.
            cid = subprocess.run(["docker", "run", "-d", "--rm", "--network", "none",
                                  "--label", "io.sbx.bench=1", image, "sleep", "infinity"],
                                 check=True, capture_output=True, text=True).stdout.strip()
            for _ in range(rounds):
                cold.append(timed(["docker", "run", "--rm", "-i", "--network", "none",
                                   image, "python3", "-"], input=source))
                warm.append(timed([SBX, "run", HELLO], env=env))
                execs.append(timed(["docker", "exec", "-i", cid, "python3", "-"], input=source))
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
        finally:
            subprocess.run([SBX, "pool", "down"], env=env, capture_output=True)

    med = statistics.median
    rows = [
        ("`docker run --rm` (fresh container)", cold),
        ("`sbx run` (warm pool, client start included)", warm),
        ("`docker exec` into a running container", execs),
    ]
    print(f"{rounds} rounds, interleaved, image {image}, {os.cpu_count()} CPUs")
    print()
    print("| mode | median ms | min ms | max ms |")
    print("|---|---:|---:|---:|")
    for name, xs in rows:
        print(f"| {name} | {med(xs):.1f} | {min(xs):.1f} | {max(xs):.1f} |")
    print()
    print(f"warm sbx run is {med(cold) / med(warm):.1f}x faster than docker run --rm "
          f"(median {med(warm):.1f} ms vs {med(cold):.1f} ms), "
          f"{med(execs) / med(warm):.1f}x faster than docker exec")


if __name__ == "__main__":
    main()
