# The fork server of a warm Python container (see warm.rs). Started once
# per container by the guest, as root: the program's user cannot signal,
# trace or read it. It imports the preload modules, then keeps one child
# forked, parked (still root) until a run arrives on fd 3; that child drops
# to the program's user and becomes the program, as `python3 prog.py`
# would run it. The zygote reports each child's end on fd 4 and forks the
# next one after it: a parked child never coexists with a running program.
#
# fd 3: a SOCK_SEQPACKET socket; one message per run: JSON plus the run's
#       stdin, stdout and stderr.
# fd 4: a pipe to the guest: {"ready": [failed preloads]} once,
#       {"pid": N} from a child that took its run, {"pid": N, "status": S}
#       when it ended.
import atexit
import builtins
import ctypes
import gc
import importlib
import importlib.machinery
import json
import os
import resource
import socket
import sys
import time
import types

RESULTS = 4


def report(msg):
    os.write(RESULTS, (json.dumps(msg) + "\n").encode())


def fork():
    # Right after a fork bomb the container's process limit may still be
    # used up while the guest kills it.
    for _ in range(500):
        try:
            return os.fork()
        except BlockingIOError:
            time.sleep(0.01)
    return os.fork()


def serve(sock):
    """The zygote's loop; returns only in a child, with its run."""
    while True:
        taken_r, taken_w = os.pipe()
        pid = fork()
        if pid == 0:
            os.close(taken_r)
            return park(sock, taken_w)
        os.close(taken_w)
        taken = os.read(taken_r, 1)
        os.close(taken_r)
        _, status = os.waitpid(pid, 0)
        if taken:
            report({"pid": pid, "status": status})
        elif os.WIFEXITED(status) and os.WEXITSTATUS(status) == 3:
            os._exit(0)  # the guest is gone


# A program of the shape most runs have, for `rehearse`.
REHEARSAL = "import sys\nprint('sbx', len(sys.argv))\n"


def rehearse():
    """Walk the path of a run, with nothing of a run, while the child
    waits for one. A forked child's first write to each page it shares
    with the zygote copies that page (~5 us each in a VM; a hello run
    writes ~350, which was most of its time), and the pages every run
    writes are mostly the same ones: the interpreter's state, the
    compiler's, the refcounts of builtins, the allocator's free lists.
    Copied here, they are off the run's clock. It writes only this
    child's memory and /dev/null (its stdout until a run's arrives) and
    leaves nothing a program could see: the environment is put back, the
    module is not `__main__`."""
    try:
        msg = json.loads(json.dumps({
            "path": "/sbx/prog.py", "args": ["a"], "env": {"PATH": "/bin"},
            "cwd": "/", "uid": 0, "gid": 0, "cpus": [],
        }))
        (json.dumps({"pid": os.getpid()}) + "\n").encode()
        with open(os.devnull, "w") as f:
            f.write("1000")
        env = dict(os.environ)
        os.environ.clear()
        os.environ.update(env)
        os.path.dirname(os.path.realpath(msg["cwd"]))
        main = types.ModuleType("__rehearsal__")
        main.__builtins__ = builtins
        exec(compile(REHEARSAL, msg["path"], "exec", dont_inherit=True), main.__dict__)
        sys.stdout.flush()
        main.__dict__.clear()
        gc.collect()
    except BaseException:
        pass


def park(sock, taken_w):
    rehearse()
    try:
        data, fds, _, _ = socket.recv_fds(sock, 1 << 20, 3)
    except OSError:
        data, fds = b"", []
    if not data or len(fds) != 3:
        os._exit(3)
    os.write(taken_w, b"x")
    report({"pid": os.getpid()})
    return json.loads(data), fds


def become(run, fds, prctl):
    """Everything of the zygote goes but its memory: descriptors, user,
    session, directory, environment."""
    for i, fd in enumerate(fds):
        os.dup2(fd, i)
    os.closerange(3, 1 << 16)
    os.setsid()
    with open("/proc/self/oom_score_adj", "w") as f:
        f.write("1000")
    if run.get("cpus"):
        os.sched_setaffinity(0, run["cpus"])
    # The program's limits where the sandbox has no cgroup (the zygote
    # itself, root, keeps none: it forks for every run).
    for res, n in run.get("rlimits", []):
        resource.setrlimit(res, (n, n))
    os.setgroups([])
    os.setgid(run["gid"])
    os.setuid(run["uid"])
    # The switch of user made the process undumpable; a program is
    # dumpable (its own /proc entries readable), as after an exec.
    prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE
    os.environ.clear()
    os.environ.update(run["env"])
    os.chdir(run["cwd"])
    # `random` re-seeds itself in every child (os.register_at_fork);
    # numpy's global generator does not.
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()  # seeded once at import, in the zygote


def run_main(path, args):
    """Run the program; returns its exit code, having printed what
    `python3 prog.py` prints for how it ended."""
    sys.argv = [path] + args
    sys.path[0] = os.path.dirname(os.path.realpath(path))
    main = types.ModuleType("__main__")
    main.__file__ = path
    main.__cached__ = None
    main.__builtins__ = builtins
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    sys.modules["__main__"] = main
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        # Named as the interpreter was invoked, as it names itself.
        name = sys.orig_argv[0]
        print(f"{name}: can't open file {path!r}: [Errno {e.errno}] {e.strerror}", file=sys.stderr)
        return 2, main
    try:
        code = compile(source, path, "exec", dont_inherit=True)
        del source
        exec(code, main.__dict__)
        return 0, main
    except SystemExit as e:
        return exit_code(e), main
    except BaseException:
        kind, value, tb = sys.exc_info()
        # Without this frame, as `python3 prog.py` shows it (the hook
        # prints the exception's own traceback).
        value = value.with_traceback(tb.tb_next)
        del tb
        sys.excepthook(kind, value, value.__traceback__)
        return (130 if kind is KeyboardInterrupt else 1), main


def exit_code(e):
    """The exit code of an uncaught SystemExit, its message printed as
    the interpreter prints it."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    try:
        print(e.code, file=sys.stderr)
    except Exception:
        pass
    return 1


def finish(code, main):
    """The interpreter's shutdown as far as the program can tell, without
    tearing down the zygote's heap (a full finalization of a process that
    preloaded pandas takes ~100 ms, touching every page it shares): wait
    for non-daemon threads, run atexit handlers, release the program's
    globals (so files it left open are flushed and closed), flush."""
    threading = sys.modules.get("threading")
    if threading is not None:
        try:
            threading._shutdown()
        except SystemExit as e:
            code = exit_code(e)
        except BaseException:
            pass
    try:
        atexit._run_exitfuncs()
    except BaseException:
        pass
    try:
        main.__dict__.clear()
        gc.collect()
    except BaseException:
        pass
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            if stream is sys.stdout and code == 0:
                code = 120  # as the interpreter: stdout could not be flushed
    os._exit(code & 0xFF)


def zygote():
    libc = ctypes.CDLL(None, use_errno=True)
    prctl = libc.prctl
    failed = []
    for name in json.loads(sys.argv[1]):
        try:
            importlib.import_module(name)
        except BaseException as e:  # a broken module must not end the zygote
            failed.append(f"{name}: {type(e).__name__}: {e}")
    sock = socket.socket(fileno=3)
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    # Objects from before the fork are never collected in a child: its
    # collections then neither scan nor copy the preloaded heap.
    gc.freeze()
    report({"ready": failed})
    run, fds = serve(sock)
    sock.close()
    become(run, fds, prctl)
    del sock, fds, prctl, libc
    finish(*run_main(run["path"], run["args"]))


zygote()
