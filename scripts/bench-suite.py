#!/usr/bin/env python3
"""The benchmark suite: `sbx bench` where users would run it, plus a
sustained-throughput run, with the agent's peak memory.

    bash scripts/bench-suite.sh [--runs N] [--sustained-runs N] ...

Cases (each with an agent of its own, started by the case and stopped
after it, so the peak memory is that case's):

* python and javascript hello, at concurrency 1 and 4: `sbx bench` with all
  three modes (warm pool, fresh container per run = `sbx run --no-pool`,
  engine exec), measured in the same invocation, alternating round by round;
* sustained: python, pool only, 500 runs at concurrency 8 against a pool of
  at most 4 containers (runs queue for a container: `exhaustion = "wait"`).

The agent's peak resident memory is VmHWM from /proc/<pid>/status, the pid
coming from `sbx agent status`. Prints a Markdown report; `--json FILE`
keeps every `sbx bench --json` document. Asserts nothing.
"""

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# SBX_BIN: another build (e.g. a debug one while iterating).
SBX = os.environ.get("SBX_BIN") or os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")


def sh(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, **kw)


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    engine = sh(["docker", "version", "--format", "{{.Server.Version}} (API {{.Server.APIVersion}})"])
    mem = ""
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", open("/proc/meminfo").read()).group(1))
        mem = f", {kib / 1024 / 1024:.0f} GiB RAM"
    except (OSError, AttributeError):
        pass
    return (f"{os.cpu_count()} vCPU {cpu}{mem}, Linux {platform.release()}, "
            f"Docker {engine.stdout.strip() or 'unknown'}")


def load():
    try:
        return float(open("/proc/loadavg").read().split()[0])
    except OSError:
        return None


class Agent:
    """A runtime directory and config of its own: its own agent and pools."""

    def __init__(self, tmp, name, image, max_size=None):
        self.dir = os.path.join(tmp, name)
        runtime = os.path.join(self.dir, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(self.dir, "config.toml")
        with open(config, "w") as f:
            f.write(f'[languages.python]\nimage = "{image}"\n\n'
                    f'[languages.javascript]\nimage = "{image}"\n')
            if max_size:
                f.write(f"\n[pool]\nmax_size = {max_size}\n")
        self.env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config)
        self.env.pop("SBX_RUNTIME_DIR", None)

    def sbx(self, *args):
        out = sh([SBX, *args], env=self.env)
        if out.returncode != 0:
            sys.exit(f"bench-suite: sbx {' '.join(args)} failed ({out.returncode}): {out.stderr.strip()}")
        return out.stdout

    def peak_rss_mib(self):
        status = self.sbx("agent", "status")
        pid = re.search(r"pid (\d+)", status).group(1)
        text = open(f"/proc/{pid}/status").read()
        kib = int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1))
        return kib / 1024

    def down(self):
        sh([SBX, "pool", "down"], env=self.env)


def bench(agent, *args):
    doc = json.loads(agent.sbx("bench", "--json", *args))
    doc["agent_peak_rss_mib"] = round(agent.peak_rss_mib(), 1)
    return doc


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--image", required=True, help="image for python and javascript")
    p.add_argument("--runs", type=int, default=30, help="measured runs per mode (default 30)")
    p.add_argument("--sustained-runs", type=int, default=500)
    p.add_argument("--sustained-concurrency", type=int, default=8)
    p.add_argument("--sustained-pool", type=int, default=4, help="max_size of its pool")
    p.add_argument("--json", metavar="FILE", help="also write every result here")
    a = p.parse_args()

    results = []
    load_before = load()
    with tempfile.TemporaryDirectory(prefix="sbx-bench-suite-") as tmp:
        for lang in ["python", "javascript"]:
            for c in [1, 4]:
                agent = Agent(tmp, f"{lang}-{c}", a.image)
                try:
                    print(f"bench-suite: {lang}, concurrency {c} ...", file=sys.stderr)
                    results.append(bench(agent, "--lang", lang, "--runs", str(a.runs),
                                         "--concurrency", str(c)))
                finally:
                    agent.down()
        agent = Agent(tmp, "sustained", a.image, max_size=a.sustained_pool)
        try:
            print(f"bench-suite: sustained, {a.sustained_runs} runs at concurrency "
                  f"{a.sustained_concurrency}, pool of {a.sustained_pool} ...", file=sys.stderr)
            sustained = bench(agent, "--lang", "python", "--modes", "pool",
                              "--runs", str(a.sustained_runs),
                              "--concurrency", str(a.sustained_concurrency))
            sustained["pool_max_size"] = a.sustained_pool
        finally:
            agent.down()
    load_after = load()

    if a.json:
        with open(a.json, "w") as f:
            json.dump({"cases": results, "sustained": sustained}, f, indent=2)

    def mode(doc, name):
        return next(m for m in doc["modes"] if m["mode"] == name)

    print(f"Machine: {machine()}; image {a.image}; release build; load average "
          f"{load_before} before, {load_after} after.")
    print()
    print(f"`sbx bench`, {a.runs} runs per mode after 2 warm-up rounds, modes alternating:")
    print()
    print("| language | concurrency | pool median / p95 ms | pool runs/s "
          "| fresh (`--no-pool`) median ms | fresh runs/s | engine exec median ms "
          "| exec runs/s | pool speed-up vs fresh | vs exec | agent peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for doc in results:
        pool, fresh, ex = mode(doc, "pool"), mode(doc, "fresh"), mode(doc, "exec")
        print(f"| {doc['lang']} | {doc['concurrency']} "
              f"| {pool['median_ms']:.1f} / {pool['p95_ms']:.1f} | {pool['runs_per_sec']:.1f} "
              f"| {fresh['median_ms']:.1f} | {fresh['runs_per_sec']:.1f} "
              f"| {ex['median_ms']:.1f} | {ex['runs_per_sec']:.1f} "
              f"| **{fresh['pool_speedup']:.1f}×** | {ex['pool_speedup']:.1f}× "
              f"| {doc['agent_peak_rss_mib']:.1f} |")
    print()
    s, sp = sustained, mode(sustained, "pool")
    print("Sustained throughput (pool only):")
    print()
    print("| language | runs | concurrency | pool max_size | runs/s | median ms | p95 ms "
          "| max ms | agent peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {s['lang']} | {sp['runs']} | {s['concurrency']} | {s['pool_max_size']} "
          f"| {sp['runs_per_sec']:.1f} | {sp['median_ms']:.1f} | {sp['p95_ms']:.1f} "
          f"| {sp['max_ms']:.1f} | {s['agent_peak_rss_mib']:.1f} |")


if __name__ == "__main__":
    main()
