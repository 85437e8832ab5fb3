#!/usr/bin/env python3
"""The warm interpreter, measured: each workload through a warm pool whose
containers keep an interpreter started (the default: Python's fork server,
Node's pre-started interpreter) and through one whose containers start the
interpreter for every run (`warm_interpreter = false`), side by side in one
invocation, same image, same agent.

    python3 scripts/bench-warm.py [ROUNDS]        (default 20)

Workloads (medians of ROUNDS interleaved rounds, `sbx run` from the host,
client start included):

* hello         print one line; concurrency 1;
* node hello    the same in javascript;
* hello c=8     8 clients at once, 200 runs: sustained runs per second
                (pools of 8 containers);
* imports       a program that imports a heavy module set and uses it, in
                a profile that preloads the set, against the same profile
                without preload and without the warm interpreter. The set
                is pandas and numpy when SBX_BENCH_PANDAS_IMAGE names an
                image that has them (none of scripts/images.sh's has;
                `FROM <runtime image>` plus Debian's python3-pandas makes
                one); else a standard-library set of similar shape
                (many modules, some with C extensions).

SBX_BIN picks the binary (default: the release build). Prints Markdown.
"""

import concurrent.futures
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.environ.get("SBX_BIN", os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx"))

HELLO = "print('hello from sbx')\n"
NODE_HELLO = "console.log('hello from sbx')\n"
PANDAS = (
    "import numpy as np\nimport pandas as pd\n"
    "df = pd.DataFrame({'a': np.arange(3), 'b': ['x', 'y', 'z']})\nprint(df)\n"
)
PANDAS_PRELOAD = ["numpy", "pandas"]
STDLIB = (
    "import asyncio, decimal, email.mime.multipart, http.client, json, logging, sqlite3\n"
    "import unittest, urllib.request, xml.etree.ElementTree as ET, argparse, csv, statistics\n"
    "print(statistics.mean([1, 2, 3]), ET.fromstring('<a/>').tag, decimal.Decimal('1.1') + 1)\n"
)
STDLIB_PRELOAD = [
    "asyncio", "decimal", "email.mime.multipart", "http.client", "json", "logging", "sqlite3",
    "unittest", "urllib.request", "xml.etree.ElementTree", "argparse", "csv", "statistics",
]


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout.strip()


class Agent:
    def __init__(self, tmp, image, heavy_image, preload, max_size):
        self.dir = os.path.join(tmp, "agent")
        os.makedirs(os.path.join(self.dir, "run"))
        self.config = os.path.join(self.dir, "config.toml")
        pre = ", ".join(f'"{m}"' for m in preload)
        with open(self.config, "w") as f:
            f.write(f'[pool]\nmax_size = {max_size}\n\n')
            f.write(f'[profiles.warm]\nlang = "python"\nimage = "{image}"\n\n')
            f.write(f'[profiles.spawn]\nlang = "python"\nimage = "{image}"\nwarm_interpreter = false\n\n')
            f.write(f'[profiles.preload]\nlang = "python"\nimage = "{heavy_image}"\npreload = [{pre}]\n\n')
            f.write(f'[profiles.nopreload]\nlang = "python"\nimage = "{heavy_image}"\nwarm_interpreter = false\n\n')
            f.write(f'[profiles.nwarm]\nlang = "javascript"\nimage = "{image}"\n\n')
            f.write(f'[profiles.nspawn]\nlang = "javascript"\nimage = "{image}"\nwarm_interpreter = false\n')
        self.env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(self.dir, "run"), SBX_CONFIG=self.config)

    def run(self, *args):
        return subprocess.run([SBX, *args], env=self.env, capture_output=True, text=True)

    def timed(self, profile, prog, expect):
        t = time.perf_counter()
        out = self.run("--profile", profile, "run", prog)
        ms = (time.perf_counter() - t) * 1000
        if out.returncode != 0 or expect not in out.stdout:
            sys.exit(f"bench-warm: {profile} {prog} failed ({out.returncode}): {out.stdout!r} {out.stderr!r}")
        return ms

    def throughput(self, profile, prog, runs, c):
        t = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(c) as ex:
            list(ex.map(lambda _: self.timed(profile, prog, "hello"), range(runs)))
        return runs / (time.perf_counter() - t)

    def stop(self):
        self.run("pool", "down")


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    if "SBX_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    image = sh("bash", os.path.join(ROOT, "scripts/images.sh"))
    heavy_image = os.environ.get("SBX_BENCH_PANDAS_IMAGE")
    if heavy_image:
        heavy, preload, expect, what = PANDAS, PANDAS_PRELOAD, "x", "pandas + numpy DataFrame"
    else:
        heavy_image = image
        heavy, preload, expect, what = STDLIB, STDLIB_PRELOAD, "2", "13 stdlib modules"
    tmp = tempfile.mkdtemp(prefix="sbx-bench-warm-")
    agent = Agent(tmp, image, heavy_image, preload, 8)
    hello = os.path.join(tmp, "hello.py")
    with open(hello, "w") as f:
        f.write(HELLO)
    node_hello = os.path.join(tmp, "hello.js")
    with open(node_hello, "w") as f:
        f.write(NODE_HELLO)
    prog = os.path.join(tmp, "heavy.py")
    with open(prog, "w") as f:
        f.write(heavy)
    rows = []
    try:
        for _ in range(3):  # containers made, caches hot
            for p in ("warm", "spawn"):
                agent.timed(p, hello, "hello")
            for p in ("preload", "nopreload"):
                agent.timed(p, prog, expect)
            for p in ("nwarm", "nspawn"):
                agent.timed(p, node_hello, "hello")
        samples = {k: [] for k in ("warm", "spawn", "preload", "nopreload", "nwarm", "nspawn")}
        for _ in range(rounds):
            for p in ("warm", "spawn"):
                samples[p].append(agent.timed(p, hello, "hello"))
            for p in ("preload", "nopreload"):
                samples[p].append(agent.timed(p, prog, expect))
            for p in ("nwarm", "nspawn"):
                samples[p].append(agent.timed(p, node_hello, "hello"))
        med = {k: statistics.median(v) for k, v in samples.items()}
        rows.append(("hello, c=1 (median ms)", med["warm"], med["spawn"]))
        rows.append((f"{what}, c=1 (median ms)", med["preload"], med["nopreload"]))
        rows.append(("node hello, c=1 (median ms)", med["nwarm"], med["nspawn"]))
        agent.throughput("warm", hello, 16, 8)
        agent.throughput("spawn", hello, 16, 8)
        tw, ts = [], []
        for _ in range(2):
            tw.append(agent.throughput("warm", hello, 100, 8))
            ts.append(agent.throughput("spawn", hello, 100, 8))
        rows.append(("hello, c=8 (runs/s, 200 runs)", statistics.mean(tw), statistics.mean(ts)))
    finally:
        agent.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"Warm interpreter on vs off, medians of {rounds} interleaved rounds ({image}"
          + (f", heavy workload in {heavy_image}" if heavy_image != image else "") + "):\n")
    print("| workload | warm interpreter | started per run | ratio |")
    print("|---|---:|---:|---:|")
    for name, w, s in rows:
        ratio = (w / s) if "runs/s" in name else (s / w)
        print(f"| {name} | {w:.1f} | {s:.1f} | {ratio:.1f}x |")


if __name__ == "__main__":
    main()
