#!/usr/bin/env python3
"""Print the dependencies between sbx's top-level modules and check the
layering: no cycle between top-level modules, and no leaf module importing
a module above it.

    python3 scripts/deps.py          # the graph, then the checks; exit 1 on a violation

A dependency is any `crate::NAME` path (or `$crate::NAME` in a macro, or a
crate-level macro such as `crate::say!`, which lives in `verbose`) in a
module's files, tests included; `super::` stays inside the module.
"""
import pathlib
import re
import sys

SRC = pathlib.Path(__file__).resolve().parent.parent / "src"
# Plain data and small utilities: everything may use them, they use
# nothing above them.
LEAVES = {"model", "exit", "paths", "verbose"}
# What no leaf may ever import.
UPPER = {"cli", "agent", "config", "backend", "client", "pool", "guest", "protocol"}
# Macros exported at the crate root, by the module that defines them.
MACROS = {"say": "verbose", "verbose": "verbose"}


def module_of(path: pathlib.Path) -> str | None:
    rel = path.relative_to(SRC)
    if rel.parts[0] in ("main.rs", "lib.rs"):
        return None
    return rel.parts[0].removesuffix(".rs")


def main() -> int:
    modules = sorted({m for p in SRC.rglob("*.rs") if (m := module_of(p))})
    deps: dict[str, set[str]] = {m: set() for m in modules}
    for path in SRC.rglob("*.rs"):
        m = module_of(path)
        if m is None:
            continue
        # Code only: a comment naming a module is not a dependency.
        text = "\n".join(l.split("//")[0] for l in path.read_text().splitlines())
        for name in re.findall(r"\$?crate::(\w+)(!?)", text):
            target = MACROS.get(name[0]) if name[1] else name[0]
            if target in deps and target != m:
                deps[m].add(target)
        # `use crate::{a, b::c}` groups.
        for group in re.findall(r"use crate::\{([^}]*)\}", text):
            for item in re.findall(r"(?:^|,)\s*(\w+)", group):
                if item in deps and item != m:
                    deps[m].add(item)

    for m in modules:
        print(f"{m:10} -> {', '.join(sorted(deps[m])) or '(nothing)'}")

    failures = []
    for leaf in sorted(LEAVES & set(modules)):
        bad = sorted(deps[leaf] & UPPER)
        if bad:
            failures.append(f"leaf module `{leaf}` imports {', '.join(bad)}")
        above = sorted(deps[leaf] - LEAVES)
        if above and not bad:
            failures.append(f"leaf module `{leaf}` imports non-leaf {', '.join(above)}")

    # Cycles: depth-first search for a back edge, reporting each cycle once.
    state: dict[str, int] = {}
    stack: list[str] = []
    seen_cycles = set()

    def visit(m: str) -> None:
        state[m] = 1
        stack.append(m)
        for d in sorted(deps[m]):
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                key = frozenset(cycle)
                if key not in seen_cycles:
                    seen_cycles.add(key)
                    failures.append("cycle: " + " -> ".join(cycle))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in modules:
        if m not in state:
            visit(m)

    if failures:
        print()
        for f in failures:
            print(f"deps: {f}", file=sys.stderr)
        return 1
    print("\ndeps: no cycle between top-level modules; leaves "
          f"({', '.join(sorted(LEAVES))}) import nothing above them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
