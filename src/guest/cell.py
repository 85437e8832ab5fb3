# The driver of a Python `--keep-state` session (see cell.rs): executes
# each cell it is sent in one persistent __main__ namespace, as the REPL
# would: tracebacks as `python3 prog.py` prints them, the value of a
# final expression printed, sys.exit(n) ending only the cell.
import ast
import builtins
import json
import os
import sys
import traceback
import types


def run_cell(cell, main):
    path = cell["path"]
    sys.argv = [path] + cell["args"]
    # Each run's environment is its own (-e of an earlier run is gone).
    os.environ.clear()
    os.environ.update(cell["env"])
    os.chdir(cell["cwd"])
    if cell.get("stdin"):
        fd = os.open(cell["stdin"], os.O_RDONLY)
        os.dup2(fd, 0)
        os.close(fd)
    sys.stdin = open(0, "r", closefd=False)
    main.__file__ = path
    try:
        with open(path, "rb") as f:
            tree = ast.parse(f.read(), path)
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Interactive(body=[tree.body.pop()])
        exec(compile(tree, path, "exec"), main.__dict__)
        if last is not None:
            exec(compile(last, path, "single"), main.__dict__)
        return 0
    except SystemExit as e:
        if e.code is None:
            return 0
        if isinstance(e.code, int):
            return e.code & 0xFF
        print(e.code, file=sys.stderr)
        return 1
    except BaseException:
        kind, value, tb = sys.exc_info()
        # Without this driver's own frame, as `python3 prog.py` shows it.
        traceback.print_exception(kind, value, tb.tb_next)
        return 1
    finally:
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        os.close(null)


def main():
    commands = os.fdopen(3, "r", encoding="utf-8")
    results = os.fdopen(4, "w", encoding="utf-8")
    main = types.ModuleType("__main__")
    main.__builtins__ = builtins
    sys.modules["__main__"] = main
    for line in commands:
        code = run_cell(json.loads(line), main)
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:
                pass
        results.write(json.dumps({"id": json.loads(line)["id"], "code": code}) + "\n")
        results.flush()


main()
