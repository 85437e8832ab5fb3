#!/usr/bin/env python3
"""Footprint of two sbx builds, side by side: the time `sbx pool up --warm 8`
takes to report 8 idle containers, the agent's resident memory after it and
100 warm runs, its peak while 10 containers are created at once, the median
warm run, and what the engine stores per container for the guest.

The two builds alternate within each round (which goes first alternates
too), each with a fresh agent of its own, so noise on this shared machine
hits both alike. Reports medians and ratios; asserts nothing.

    SBX_BIN_BASE=/path/to/old/sbx [SBX_BIN=/path/to/new/sbx] \\
        python3 scripts/bench-footprint.py [ROUNDS] [IMAGE]

scripts/bench-footprint.sh builds both (the base from a git ref) and runs
this. Memory is VmRSS / VmHWM from /proc/<agent pid>/status.
"""
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NEW = os.environ.get("SBX_BIN") or os.path.join(
    ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
BASE = os.environ.get("SBX_BIN_BASE")
ENGINE = os.environ.get("SBX_BENCH_ENGINE", "docker")
RUNS = 100


def mib(kib):
    return kib / 1024


class Agent:
    """One build's agent in a runtime directory of its own."""

    def __init__(self, sbx, image, tmp, name):
        self.sbx = sbx
        runtime = os.path.join(tmp, name, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(tmp, name, "config.toml")
        with open(config, "w") as f:
            f.write(f'[languages.python]\nimage = "{image}"\n')
        self.env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config,
                        SBX_BACKEND=ENGINE)

    def run(self, *args, check=True):
        out = subprocess.run([self.sbx, *args], env=self.env, capture_output=True, text=True)
        if check and out.returncode != 0:
            sys.exit(f"bench-footprint: {self.sbx} {' '.join(args)} failed: {out.stderr.strip()}")
        return out

    def pid(self):
        out = self.run("agent", "status").stdout
        return int(re.search(r"pid (\d+)", out).group(1))

    def memory(self):
        """(VmRSS, VmHWM) in KiB."""
        text = open(f"/proc/{self.pid()}/status").read()
        kib = lambda key: int(re.search(key + r":\s+(\d+) kB", text).group(1))
        return kib("VmRSS"), kib("VmHWM")

    def containers(self):
        label = re.search(r"label=(\S+)", self.run("agent", "status").stdout).group(1)
        out = subprocess.run([ENGINE, "ps", "-q", "--no-trunc", "--filter", f"label={label}"],
                             capture_output=True, text=True, check=True).stdout
        return out.split()

    def down(self):
        self.run("pool", "down", check=False)


def volumes_of(containers):
    """The volumes the containers mount, by name, each counted once."""
    names = set()
    for c in containers:
        out = subprocess.run(
            [ENGINE, "inspect", "-f",
             '{{range .Mounts}}{{if eq .Type "volume"}}{{.Name}} {{end}}{{end}}', c],
            capture_output=True, text=True).stdout
        names.update(out.split())
    return sorted(names)


def system_df_volumes(names):
    """`docker system df -v`'s lines of those volumes (name, links, size)."""
    if ENGINE != "docker":
        return []
    out = subprocess.run(["docker", "system", "df", "-v"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.split(" ")[0] in names]


def one(sbx, image, tmp, tag, show_disk):
    """One build's measurements: a fresh agent warming 8, then runs."""
    a = Agent(sbx, image, tmp, f"{tag}-warm8")
    try:
        start = time.perf_counter()
        a.run("pool", "up", "--lang", "python", "--warm", "8")
        warm8 = (time.perf_counter() - start) * 1000
        disk = None
        if show_disk:
            names = volumes_of(a.containers())
            disk = {"volumes": len(names), "df": system_df_volumes(names)}
        runs = []
        for _ in range(RUNS):
            t = time.perf_counter()
            out = a.run("exec", "--lang", "python", "pass")
            runs.append((time.perf_counter() - t) * 1000)
        rss, hwm = a.memory()
    finally:
        a.down()
    b = Agent(sbx, image, tmp, f"{tag}-burst10")
    try:
        b.run("pool", "up", "--lang", "python", "--warm", "10")
        _, peak10 = b.memory()
    finally:
        b.down()
    return {"warm8_ms": warm8, "rss_after_kib": rss, "hwm_after_kib": hwm,
            "peak_burst10_kib": peak10, "run_median_ms": statistics.median(runs),
            "disk": disk}


def main():
    if not BASE:
        sys.exit("bench-footprint: set SBX_BIN_BASE to the sbx to compare with "
                 "(scripts/bench-footprint.sh builds one from a git ref)")
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    image = sys.argv[2] if len(sys.argv) > 2 else os.environ["SBX_BENCH_IMAGE"]
    builds = {"base": BASE, "new": NEW}
    results = {k: [] for k in builds}
    with tempfile.TemporaryDirectory(prefix="sbx-footprint-") as tmp:
        for r in range(rounds):
            order = ["base", "new"] if r % 2 == 0 else ["new", "base"]
            for k in order:
                results[k].append(one(builds[k], image, os.path.join(tmp, str(r)), k, r == 0))
    med = {k: {m: statistics.median(x[m] for x in v)
               for m in ("warm8_ms", "rss_after_kib", "hwm_after_kib", "peak_burst10_kib",
                         "run_median_ms")}
           for k, v in results.items()}
    print(f"# sbx footprint, {rounds} rounds, {ENGINE}, image {image}")
    print(f"base: {BASE}\nnew:  {NEW}\n")
    print("| figure (median of rounds) | base | new | base/new |")
    print("|---|---:|---:|---:|")
    rows = [("`pool up --warm 8` ms", "warm8_ms", 1),
            (f"agent VmRSS after warm 8 + {RUNS} runs, MiB", "rss_after_kib", 1 / 1024),
            (f"agent VmHWM after warm 8 + {RUNS} runs, MiB", "hwm_after_kib", 1 / 1024),
            ("agent VmHWM after creating 10 at once, MiB", "peak_burst10_kib", 1 / 1024),
            ("warm run (`exec --lang python pass`) median ms", "run_median_ms", 1)]
    for title, key, scale in rows:
        b, n = med["base"][key], med["new"][key]
        print(f"| {title} | {b * scale:.1f} | {n * scale:.1f} | {b / n:.2f}x |")
    for k in builds:
        d = results[k][0]["disk"]
        print(f"\n{k}: the 8 warm containers mount {d['volumes']} volume(s)")
        if d["df"]:
            print("  docker system df -v (VOLUME NAME, LINKS, SIZE):")
            for line in d["df"]:
                print("   ", " ".join(line.split()))
    if os.environ.get("SBX_BENCH_JSON"):
        with open(os.environ["SBX_BENCH_JSON"], "w") as f:
            json.dump({"rounds": results, "medians": med}, f, indent=1)


if __name__ == "__main__":
    main()
