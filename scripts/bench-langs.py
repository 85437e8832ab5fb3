#!/usr/bin/env python3
"""Per-language benchmark: what a warm `sbx run` costs next to the toolchain
doing the same work by itself inside the same container.

    python3 scripts/bench-langs.py [ROUNDS]      (default 10)

For every language it prints, as medians over ROUNDS interleaved rounds:

* sbx warm      `sbx run hello.EXT world` from the host, warm container,
                toolchain caches on (the default), client start included;
* sbx no-cache  the same with `cache = false` for the language (its own
                agent and container): every run starts the toolchain cold;
* sbx no-warm   the same with `warm_interpreter = false` (its own agent
                and container): the interpreter is started for every run
                instead of kept warm (python: forked; javascript:
                pre-started);
* toolchain     the same build and run commands executed by a shell
                *inside the very container that served the warm runs*
                (reached with `docker exec` between sbx runs, timed inside,
                so the exec's own cost is not counted), with the same warm
                caches;
* overhead      sbx warm minus toolchain: what sbx adds per run.

Needs the full toolchain image (scripts/images.sh full) and a release
build; both are prepared if missing (SBX_BIN names another binary).
Prints a Markdown table.
"""

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

HELLO = {
    "python": ("py", "import sys\nprint('hello, ' + sys.argv[1])\n"),
    "javascript": ("js", "console.log('hello, ' + process.argv[2]);\n"),
    "typescript": ("ts", "const who: string = process.argv[2];\nconsole.log(`hello, ${who}`);\n"),
    "go": ("go", 'package main\n\nimport (\n\t"fmt"\n\t"os"\n)\n\nfunc main() { fmt.Println("hello, " + os.Args[1]) }\n'),
    "java": ("java", 'public class Hello { public static void main(String[] a) { System.out.println("hello, " + a[0]); } }\n'),
    "cpp": ("cpp", '#include <iostream>\nint main(int c, char** v) { std::cout << "hello, " << v[1] << std::endl; }\n'),
    "c": ("c", '#include <stdio.h>\nint main(int c, char** v) { printf("hello, %s\\n", v[1]); return 0; }\n'),
    "ruby": ("rb", "puts \"hello, #{ARGV[0]}\"\n"),
    "r": ("R", 'cat("hello, ", commandArgs(trailingOnly = TRUE)[1], "\\n", sep = "")\n'),
    "bash": ("sh", 'echo "hello, $1"\n'),
}
SOURCE_NAME = {
    "python": "main.py", "javascript": "main.js", "typescript": "main.ts", "go": "main.go",
    "java": "Main.java", "cpp": "main.cpp", "c": "main.c", "ruby": "main.rb", "r": "main.R",
    "bash": "main.sh",
}
CACHED = ["go", "java", "cpp", "c"]
WARM = ["python", "javascript"]

# The same steps sbx runs (src/lang.rs), as one shell command each, run in
# a scratch directory holding the source; $C is the language's warm cache.
TS_TRANSPILE = (
    "node -e 'const ts=require(\"/usr/share/nodejs/typescript/lib/typescript.js\"),fs=require(\"fs\");"
    "fs.writeFileSync(\"main.js\",ts.transpileModule(fs.readFileSync(\"main.ts\",\"utf8\"),"
    "{compilerOptions:{target:ts.ScriptTarget.ES2020,module:ts.ModuleKind.CommonJS}}).outputText)'"
)
DIRECT = {
    "python": "python3 main.py world",
    "javascript": "node main.js world",
    "typescript": TS_TRANSPILE + " && node main.js world",
    "go": "rm -f go.mod && go mod init sbx >/dev/null 2>&1 && GOCACHE=$C/go-build GOFLAGS=-mod=mod "
          "GOPROXY=off CGO_ENABLED=0 go build -o main . && ./main world",
    "java": "java -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto -XX:SharedArchiveFile=$C/main.jsa "
            "-Xlog:disable Main.java world",
    "cpp": "CCACHE_DIR=$C/ccache ccache g++ -O2 -std=gnu++17 -pipe -c -o main.o main.cpp && g++ -o main main.o && ./main world",
    "c": "CCACHE_DIR=$C/ccache ccache gcc -O2 -std=gnu17 -pipe -c -o main.o main.c && gcc -o main main.o -lm && ./main world",
    "ruby": "ruby main.rb world",
    "r": "Rscript main.R world",
    "bash": "bash main.sh world",
}


def sh(*args, **kw):
    return subprocess.run(args, check=True, text=True, capture_output=True, **kw).stdout.strip()


def setup():
    if "SBX_BIN" not in os.environ:
        subprocess.run(["cargo", "build", "--release", "--locked"], cwd=ROOT, check=True)
    return sh("bash", os.path.join(ROOT, "scripts/images.sh"), "full")


class Agent:
    """One agent with its own runtime dir and config."""

    def __init__(self, tmp, name, image, cache, warm=True):
        self.dir = os.path.join(tmp, name)
        os.makedirs(os.path.join(self.dir, "run"))
        self.config = os.path.join(self.dir, "config.toml")
        with open(self.config, "w") as f:
            for lang in HELLO:
                f.write(f'[languages.{lang}]\nimage = "{image}"\n')
                if not cache and lang in CACHED:
                    f.write("cache = false\n")
            f.write("\n[pool]\nmax_size = 1\n")
            if not warm:
                f.write("\n[profiles.default]\nwarm_interpreter = false\n")
        self.env = dict(os.environ, XDG_RUNTIME_DIR=os.path.join(self.dir, "run"), SBX_CONFIG=self.config)

    def run(self, *args):
        return subprocess.run([SBX, *args], env=self.env, capture_output=True, text=True)

    def timed(self, prog):
        t = time.perf_counter()
        out = self.run("run", prog, "--", "world")
        ms = (time.perf_counter() - t) * 1000
        if out.returncode != 0 or out.stdout != "hello, world\n":
            sys.exit(f"bench-langs: {prog} failed ({out.returncode}): {out.stdout!r} {out.stderr!r}")
        return ms

    def stop(self):
        self.run("pool", "down")


def in_container(container, lang, source, rounds):
    """Time DIRECT[lang] `rounds` times inside `container`; returns ms list."""
    script = f"""
set -e
D=$(mktemp -d /var/tmp/sbx-bench.XXXXXX)
trap 'rm -rf "$D"' EXIT
cd "$D"
C=/sbx/cache/{lang}
for i in $(seq 1 {rounds}); do
  # Like sbx: a freshly written source and no build output from before
  # (its build directory is wiped after every run).
  rm -f main main.o main.js
  cat > {SOURCE_NAME[lang]} <<'SBX_EOF'
{source}SBX_EOF
  s=$(date +%s%N)
  out=$({DIRECT[lang]})
  e=$(date +%s%N)
  [ "$out" = "hello, world" ] || {{ echo "bad output: $out" >&2; exit 1; }}
  echo $(( (e - s) / 1000 ))
done
"""
    # The guest cleans up (killing every process but itself) right after a
    # run's answer; give it time to finish before going in.
    time.sleep(0.3)
    out = sh("docker", "exec", "-i", container, "sh", "-c", script)
    return [int(x) / 1000 for x in out.split()]


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    image = setup()
    tmp = tempfile.mkdtemp(prefix="sbx-bench-langs-")
    warm = Agent(tmp, "warm", image, cache=True)
    cold = Agent(tmp, "nocache", image, cache=False)
    spawn = Agent(tmp, "nowarm", image, cache=True, warm=False)
    rows = []
    try:
        for lang, (ext, src) in HELLO.items():
            prog = os.path.join(tmp, f"hello.{ext}")
            with open(prog, "w") as f:
                f.write(src)
            for _ in range(2):  # warm the container and its caches
                warm.timed(prog)
                if lang in CACHED:
                    cold.timed(prog)
                if lang in WARM:
                    spawn.timed(prog)
            info = json.loads(warm.run("run", prog, "--json", "--", "world").stdout)
            in_container(info["container"], lang, src, 2)  # warm the loop's own paths
            w, c, n, direct = [], [], [], []
            # Interleaved, so load from elsewhere on the machine hits every
            # column alike.
            for _ in range(rounds):
                w.append(warm.timed(prog))
                if lang in CACHED:
                    c.append(cold.timed(prog))
                if lang in WARM:
                    n.append(spawn.timed(prog))
                direct += in_container(info["container"], lang, src, 1)
            rows.append((lang, statistics.median(w), statistics.median(c) if c else None,
                         statistics.median(n) if n else None, statistics.median(direct)))
    finally:
        warm.stop()
        cold.stop()
        spawn.stop()
        shutil.rmtree(tmp, ignore_errors=True)

    print(f"Per-language warm runs, medians of {rounds} ({image}):\n")
    print("| language | sbx warm ms | sbx no-cache ms | sbx no-warm ms | toolchain in container ms | overhead ms | cache speed-up | warm interpreter speed-up |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for lang, w, c, n, d in rows:
        nc = f"{c:.1f}" if c is not None else "-"
        speed = f"{c / w:.1f}x" if c is not None else "-"
        nw = f"{n:.1f}" if n is not None else "-"
        warm = f"{n / w:.1f}x" if n is not None else "-"
        print(f"| {lang} | {w:.1f} | {nc} | {nw} | {d:.1f} | {w - d:+.1f} | {speed} | {warm} |")


if __name__ == "__main__":
    main()
