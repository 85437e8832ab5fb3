#!/usr/bin/env python3
"""Pool start to 4 warm containers with libraries: build once vs reuse vs
installing in every container.

Each round serves a fresh package index on 127.0.0.1 (tests/fixtures/
package_index.py: a pure-Python wheel whose version is unique to the round,
so the first `pool up` really builds) and times, from the client:

* first  - `sbx --profile libs pool up` with 4 warm containers: builds the
           derived image (pip install), then starts 4 containers from it;
* second - the same after `pool down` (a new agent): the image is reused;
* per-container (reference design) - `sbx pool up` of 4 containers without
           libraries, plus the same pip install run in 4 containers in
           parallel (`docker run --network host` of an image that has pip,
           since pooled containers have no network), i.e. what a pool that
           installs into each container pays for 4 containers.

The Debian pip bootstrap is the engine's cached layer in every mode after
the first build, so the numbers compare installing, not apt. Asserts
nothing; removes the images it builds.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SBX = os.path.join(ROOT, "target/x86_64-unknown-linux-gnu/release/sbx")
ENGINE = os.environ.get("SBX_BENCH_BACKEND", "docker")
N = 4


def run(cmd, env=None):
    out = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd)} failed ({out.returncode}): {out.stderr}")
    return out


def timed(f):
    start = time.perf_counter()
    out = f()
    return time.perf_counter() - start, out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    image = sys.argv[2] if len(sys.argv) > 2 else os.environ["SBX_BENCH_IMAGE"]
    first, second, per_container = [], [], []
    built = []
    with tempfile.TemporaryDirectory(prefix="sbx-bench-libs-") as tmp:
        runtime = os.path.join(tmp, "run")
        os.makedirs(runtime, mode=0o700)
        config = os.path.join(tmp, "config.toml")
        env = dict(os.environ, XDG_RUNTIME_DIR=runtime, SBX_CONFIG=config,
                   SBX_BACKEND=ENGINE)
        try:
            for r in range(rounds):
                port = free_port()
                url = f"http://127.0.0.1:{port}"
                version = f"1.0.{os.getpid()}{r}"
                index = os.path.join(tmp, f"index{r}")
                os.makedirs(index)
                run(["python3", os.path.join(ROOT, "tests/fixtures/package_index.py"),
                     index, url, version])
                server = subprocess.Popen(
                    ["python3", "-m", "http.server", str(port), "--bind", "127.0.0.1"],
                    cwd=index, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
                        time.sleep(0.05)
                    lib = f"sbx-hello=={version}"
                    with open(config, "w") as f:
                        f.write(
                            f'[languages.python]\nimage = "{image}"\n\n'
                            f'[profiles.libs]\nlang = "python"\nlibraries = ["{lib}"]\n'
                            f'[profiles.libs.pool]\nmin_size = {N}\nmax_size = {N}\n'
                            f'[profiles.libs.build]\nnetwork = "host"\n'
                            f'env = {{ PIP_INDEX_URL = "{url}/simple/" }}\n')
                    t, out = timed(lambda: run([SBX, "--profile", "libs", "pool", "up"], env))
                    tag = next(w for w in out.stderr.split() if w.startswith("sbx-lib/")).rstrip(":")
                    built.append(tag)
                    if "building" not in out.stderr:
                        sys.exit(f"bench: the first pool up did not build: {out.stderr}")
                    first.append(t)
                    run([SBX, "pool", "down"], env)
                    t, out = timed(lambda: run([SBX, "--profile", "libs", "pool", "up"], env))
                    if "using" not in out.stderr:
                        sys.exit(f"bench: the second pool up rebuilt: {out.stderr}")
                    second.append(t)
                    run([SBX, "pool", "down"], env)

                    # Reference: 4 plain containers, then an install in each.
                    def reference():
                        run([SBX, "pool", "up", "--min", str(N), "--max", str(N)], env)
                        install = [ENGINE, "run", "--rm", "--network", "host",
                                   "-e", f"PIP_INDEX_URL={url}/simple/",
                                   "-e", "PIP_BREAK_SYSTEM_PACKAGES=1",
                                   "-e", "PIP_DISABLE_PIP_VERSION_CHECK=1",
                                   "-e", "PIP_NO_CACHE_DIR=1",
                                   tag, "python3", "-m", "pip", "install",
                                   "--force-reinstall", "--", lib]
                        with ThreadPoolExecutor(N) as pool:
                            list(pool.map(lambda _: run(install), range(N)))
                    t, _ = timed(reference)
                    per_container.append(t)
                    run([SBX, "pool", "down"], env)
                finally:
                    server.kill()
                    server.wait()
        finally:
            subprocess.run([SBX, "pool", "down", "--force"], env=env, capture_output=True)
            for tag in built:
                subprocess.run([ENGINE, "rmi", "-f", tag], capture_output=True)

    med = statistics.median
    print(f"{rounds} round(s), image {image}, engine {ENGINE}, {os.cpu_count()} CPUs, "
          f"pool of {N}, 1 library from a local index")
    print()
    print("| pool start to 4 warm containers | median s | min s | max s |")
    print("|---|---:|---:|---:|")
    for name, xs in [("first `pool up` (builds the image)", first),
                     ("second `pool up`, new agent (image reused)", second),
                     ("reference: install in each container", per_container)]:
        print(f"| {name} | {med(xs):.2f} | {min(xs):.2f} | {max(xs):.2f} |")
    print()
    print(f"reusing the image is {med(per_container) / med(second):.1f}x faster than "
          f"installing in each container, and {med(first) / med(second):.1f}x faster "
          f"than the first (building) start")


if __name__ == "__main__":
    main()
