//! The warm interpreter of Python pools: a run is a fork of an interpreter
//! that has started (and imported the profile's `preload` modules) once
//! per container. What the program sees must be what `python3 prog.py`
//! gives it, each run must start from the same state whatever the run
//! before it did, and the interpreter it is forked from must be out of
//! its reach.

mod common;

use common::*;
use std::process::{Command, Output};

/// Profiles `warm` (the default, with `preload`) and `cold`
/// (`warm_interpreter = false`), each a pool of one container.
fn harness(name: &str, preload: &str) -> Sbx {
    let sbx = Sbx::new(name);
    sbx.limit_pool_to_one_container();
    sbx.append_config(&format!(
        "[profiles.warm]\nlang = \"python\"\nimage = \"{img}\"\npreload = [{preload}]\n\n\
         [profiles.cold]\nlang = \"python\"\nimage = \"{img}\"\nwarm_interpreter = false\n",
        img = test_image()
    ));
    sbx
}

fn run_in(sbx: &Sbx, profile: &str, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["--profile", profile, "exec", "--lang", "python"];
    all.extend_from_slice(args);
    sbx.run(&all, stdin)
}

fn ok_in(sbx: &Sbx, profile: &str, code: &str) -> String {
    let out = run_in(sbx, profile, &[code], "");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

/// Prints the parent's pid, whether it is PID 1 (the guest spawns cold
/// runs), and the uid owning it.
const PARENT: &str = "import os\np = os.getppid()\nprint(p, p == 1, os.stat(f'/proc/{p}').st_uid)";

/// The run was forked by the warm interpreter (its parent is a root
/// process other than the guest); returns that interpreter's pid.
fn forked_by_warm_interpreter(sbx: &Sbx) -> String {
    let out = ok_in(sbx, "warm", PARENT);
    let parts: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        parts[1..],
        ["False", "0"],
        "not forked by a root zygote: {out}"
    );
    parts[0].to_string()
}

#[test]
fn warm_runs_print_exit_and_fail_exactly_as_a_fresh_python3_does() {
    let sbx = harness("same", "");
    forked_by_warm_interpreter(&sbx);
    assert_eq!(
        ok_in(&sbx, "cold", PARENT).split_whitespace().nth(1),
        Some("True")
    );
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "-e",
                "GREETING=hi",
                "import os, sys\nprint(__name__, sys.argv, sys.path[0], os.getcwd(), os.environ['GREETING'], os.getuid() != 0)\nprint(sys.stdin.read())\nprint(__file__, __builtins__.__name__, __spec__)",
                "--",
                "a",
                "b c",
            ],
            "from stdin\n",
        ),
        (&["-w", "/tmp/x", "import os\nprint(os.getcwd())"], ""),
        // Nothing of the walk-through a waiting child makes before its run
        // (zygote.py's `rehearse`) is left in the environment.
        (
            &["import os\nprint(sorted((k, v) for k, v in os.environ.items() if k != 'HOSTNAME'))"],
            "",
        ),
        (&["import sys\nprint('out')\nsys.exit('a message')"], ""),
        (&["import sys\nsys.exit(3)"], ""),
        (&["def f():\n    raise ValueError('boom')\nf()"], ""),
        (&["def (:\n"], ""),
        (
            &["import os, signal\nos.kill(os.getpid(), signal.SIGTERM)"],
            "",
        ),
        (
            &[
                "import threading, time, atexit\natexit.register(lambda: print('atexit'))\nthreading.Thread(target=lambda: (time.sleep(0.2), print('thread'))).start()\nprint('main')",
            ],
            "",
        ),
        (
            &[
                "import sys\nprint(sys.stdout.isatty(), sys.stdin.encoding, sys.flags.dont_write_bytecode, sys.flags.hash_randomization)",
            ],
            "",
        ),
    ];
    let env = ok_in(&sbx, "warm", "import os\nprint(sorted(os.environ))");
    assert!(
        env.contains("'PATH'") && !env.contains("SBX_GUEST_"),
        "the guest's own settings are not the program's: {env}"
    );
    for (args, stdin) in cases {
        let warm = run_in(&sbx, "warm", args, stdin);
        let cold = run_in(&sbx, "cold", args, stdin);
        assert_eq!(
            (stdout(&warm), stderr(&warm), warm.status.code()),
            (stdout(&cold), stderr(&cold), cold.status.code()),
            "{args:?}"
        );
    }
}

#[test]
fn a_python_setting_given_with_e_gets_an_interpreter_of_its_own() {
    let sbx = harness("setting", "");
    forked_by_warm_interpreter(&sbx);
    let out = run_in(
        &sbx,
        "warm",
        &[
            "-e",
            "PYTHONHASHSEED=0",
            &format!("{PARENT}\nimport sys\nprint(sys.flags.hash_randomization)"),
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.lines().nth(1), Some("0"), "{text}");
    assert_eq!(
        text.split_whitespace().nth(1),
        Some("True"),
        "spawned: {text}"
    );
}

#[test]
fn preloaded_modules_are_imported_before_the_run_and_random_differs_between_runs() {
    let sbx = harness("preload", "\"json\", \"xml.dom.minidom\"");
    let code = "import sys, random\nprint('xml.dom.minidom' in sys.modules, random.random())";
    let first = ok_in(&sbx, "warm", code);
    let second = ok_in(&sbx, "warm", code);
    assert!(first.starts_with("True "), "{first}");
    assert!(second.starts_with("True "), "{second}");
    assert_ne!(first, second, "each run re-seeds random");
    let cold = ok_in(&sbx, "cold", code);
    assert!(cold.starts_with("False "), "{cold}");
    let stats = sbx.run(&["pool", "stats"], "");
    let text = stdout(&stats);
    assert!(
        text.contains("warm interpreter on, preloads json xml.dom.minidom"),
        "{text}"
    );
    assert!(text.contains("warm interpreter off"), "{text}");
}

#[test]
fn a_program_cannot_kill_stop_trace_or_write_to_the_warm_interpreter() {
    let sbx = harness("hostile", "\"json\"");
    let zygote = forked_by_warm_interpreter(&sbx);
    let out = ok_in(
        &sbx,
        "warm",
        r#"
import ctypes, os, signal
p = os.getppid()
def attempt(f):
    try:
        f()
        return "done"
    except OSError as e:
        return type(e).__name__
print(attempt(lambda: os.kill(p, signal.SIGKILL)))
print(attempt(lambda: os.kill(p, signal.SIGSTOP)))
print(attempt(lambda: open(f"/proc/{p}/mem", "r+b")))
print(attempt(lambda: os.listdir(f"/proc/{p}/fd")))
libc = ctypes.CDLL(None, use_errno=True)
print(libc.ptrace(16, p, 0, 0), ctypes.get_errno())  # PTRACE_ATTACH: EPERM
"#,
    );
    assert_eq!(
        out,
        "PermissionError\nPermissionError\nPermissionError\nPermissionError\n-1 1\n"
    );
    assert_eq!(
        forked_by_warm_interpreter(&sbx),
        zygote,
        "the same interpreter serves the next run"
    );
}

#[test]
fn a_run_that_poisons_a_preloaded_module_leaves_the_next_run_unaffected() {
    let sbx = harness("poison", "\"json\"");
    forked_by_warm_interpreter(&sbx);
    ok_in(
        &sbx,
        "warm",
        "import json, builtins, sys\njson.dumps = lambda *a, **k: 'poisoned'\nsys.modules['json'].loads = None\nbuiltins.len = None\nsys.path.insert(0, '/tmp')\nopen('/tmp/json.py', 'w').write('dumps = None')",
    );
    let out = ok_in(
        &sbx,
        "warm",
        "import json, sys\nprint(json.dumps({'a': len([1])}), json.loads('2'), '/tmp' in sys.path)",
    );
    assert_eq!(out, "{\"a\": 1} 2 False\n");
}

#[test]
fn the_timeout_and_the_output_limit_end_a_warm_run_and_leave_the_container_clean() {
    let sbx = harness("limits", "");
    let zygote = forked_by_warm_interpreter(&sbx);
    let out = run_in(
        &sbx,
        "warm",
        &[
            "--timeout",
            "1s",
            "import os, time\nif os.fork() == 0:\n    os.setsid()\n    time.sleep(60)\nwhile True: pass",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let out = run_in(
        &sbx,
        "warm",
        &["--max-output", "10KiB", "while True: print('x' * 1000)"],
        "",
    );
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    let left = ok_in(
        &sbx,
        "warm",
        "import os\nprint([p for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())])",
    );
    assert_eq!(left, "[]\n", "nothing of the killed runs is alive");
    assert_eq!(forked_by_warm_interpreter(&sbx), zygote);
}

#[test]
fn a_warm_interpreter_that_died_is_replaced_and_the_run_in_between_starts_python3() {
    local_engine_only("the test kills a process inside the container with the engine's exec");
    let sbx = harness("died", "");
    let out = run_in(&sbx, "warm", &["--json", PARENT], "");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let container = doc["container"].as_str().unwrap().to_string();
    let zygote = doc["stdout"]
        .as_str()
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_string();
    let killed = Command::new(engine())
        .args(["exec", &container, "sh", "-c", &format!("kill -9 {zygote}")])
        .output()
        .unwrap();
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    let fallback = ok_in(&sbx, "warm", PARENT);
    assert_eq!(
        fallback.split_whitespace().nth(1),
        Some("True"),
        "spawned: {fallback}"
    );
    let again = forked_by_warm_interpreter(&sbx);
    assert_ne!(again, zygote, "a new warm interpreter");
    let log = sbx.agent_log();
    assert!(
        log.contains(&format!("the warm interpreter (pid {zygote}) has ended")),
        "{log}"
    );
}

#[test]
fn a_file_a_warm_run_leaves_open_is_flushed_when_it_ends_and_comes_back_with_out() {
    let sbx = harness("open-file", "");
    forked_by_warm_interpreter(&sbx);
    let dest = sbx.root.join("results");
    let out = run_in(
        &sbx,
        "warm",
        &[
            "--out",
            dest.to_str().unwrap(),
            "import os\nf = open(os.environ['SBX_OUT'] + '/left-open.txt', 'w')\nf.write('written, never closed')\nprint('done')",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_to_string(dest.join("left-open.txt")).unwrap(),
        "written, never closed"
    );
}

/// Profiles `nwarm` (javascript, the default: a pre-started interpreter)
/// and `ncold` (`warm_interpreter = false`), each a pool of one container.
fn node_harness(name: &str) -> Sbx {
    let sbx = Sbx::new(name);
    sbx.limit_pool_to_one_container();
    sbx.append_config(&format!(
        "[profiles.nwarm]\nlang = \"javascript\"\nimage = \"{img}\"\n\n\
         [profiles.ncold]\nlang = \"javascript\"\nimage = \"{img}\"\nwarm_interpreter = false\n",
        img = test_image()
    ));
    sbx
}

fn node_in(sbx: &Sbx, profile: &str, args: &[&str], stdin: &str) -> Output {
    let mut all = vec!["--profile", profile, "exec", "--lang", "javascript"];
    all.extend_from_slice(args);
    sbx.run(&all, stdin)
}

/// How long before the program's first line its interpreter started, ms.
const NODE_AGE: &str = "console.log(Math.round(Date.now() - performance.timeOrigin))";

fn node_age(sbx: &Sbx, profile: &str) -> u64 {
    let out = node_in(sbx, profile, &[NODE_AGE], "");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).trim().parse().unwrap()
}

#[test]
fn a_node_run_after_a_pause_starts_in_an_interpreter_that_was_already_running() {
    let sbx = node_harness("node-age");
    for profile in ["nwarm", "ncold"] {
        node_age(&sbx, profile);
    }
    std::thread::sleep(std::time::Duration::from_secs(2));
    let warm = node_age(&sbx, "nwarm");
    assert!(
        warm >= 1500,
        "started {warm} ms before its program: not during the pause"
    );
    std::thread::sleep(std::time::Duration::from_secs(2));
    let cold = node_age(&sbx, "ncold");
    assert!(cold < 1500, "started for its run: {cold} ms");
}

#[test]
fn node_runs_print_exit_and_fail_as_a_fresh_node_does() {
    let sbx = node_harness("node-same");
    let cases: &[(&[&str], &str)] = &[
        (
            &[
                "-e",
                "GREETING=hi",
                "const fs = require('fs');\nconsole.log(process.argv.slice(2), process.env.GREETING, process.cwd(), require.main === module, process.getuid() !== 0, process.execArgv, typeof run);\nconsole.log(fs.readFileSync(0, 'utf8'));",
                "--",
                "a",
                "b c",
            ],
            "from stdin\n",
        ),
        (&["-w", "/tmp/x", "console.log(process.cwd())"], ""),
        (&["console.log('out'); process.exitCode = 4"], ""),
        (&["process.exit(3)"], ""),
        (&["function f() { throw new TypeError('boom') }\nf()"], ""),
        (&["function (\n"], ""),
        (&["Promise.reject(new Error('rejected'))"], ""),
        (
            &["process.kill(process.pid, 'SIGTERM'); setTimeout(() => {}, 1000)"],
            "",
        ),
    ];
    for (args, input) in cases {
        let warm = node_in(&sbx, "nwarm", args, input);
        let cold = node_in(&sbx, "ncold", args, input);
        assert_eq!(warm.status.code(), cold.status.code(), "{args:?}");
        assert_eq!(stdout(&warm), stdout(&cold), "{args:?}");
        // The same message and the same frames of the program; below
        // them a pre-started interpreter's stack has its own frames.
        let program_part = |o: &Output| {
            stderr(o)
                .lines()
                .take_while(|l| !l.trim_start().starts_with("at ") || l.contains("/sbx/"))
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(program_part(&warm), program_part(&cold), "{args:?}");
    }
}

#[test]
fn a_node_program_finds_no_waiting_interpreter_to_attack_and_the_next_run_is_unaffected() {
    let sbx = node_harness("node-hostile");
    // Every process but the guest (1) and the program's own.
    let others = "const fs = require('fs');\n\
        const mine = new Set([process.pid]);\n\
        const others = fs.readdirSync('/proc').filter(p => /^[0-9]+$/.test(p) && p !== '1' && !mine.has(+p));\n\
        console.log(JSON.stringify(others));";
    for _ in 0..2 {
        assert_eq!(stdout(&node_in(&sbx, "nwarm", &[others], "")), "[]\n");
    }
    // Runs the waiting interpreter cannot serve (other node settings, a
    // CPU limit of their own) kill it first: they run alone too.
    for extra in [&["-e", "NODE_OPTIONS=--no-warnings"][..], &["--cpus", "1"]] {
        let mut args = extra.to_vec();
        args.push(others);
        let out = node_in(&sbx, "nwarm", &args, "");
        assert_eq!(stdout(&out), "[]\n", "{extra:?}: {}", stderr(&out));
    }
    // Stop and kill whatever it may signal, poison the globals it shares
    // with nothing: the next run starts as every run does.
    // (kill(-1) reaches every process the caller may signal but itself;
    // with none, it fails with ESRCH.)
    let hostile = "JSON.stringify = () => 'poisoned'; globalThis.left = 1;\n\
        for (const sig of ['SIGSTOP', 'SIGKILL']) { try { process.kill(-1, sig) } catch (e) { console.log(e.code) } }\n\
        console.log('signalled');";
    let out = node_in(&sbx, "nwarm", &[hostile], "");
    assert_eq!(
        stdout(&out),
        "ESRCH\nESRCH\nsignalled\n",
        "{}",
        stderr(&out)
    );
    let next = node_in(
        &sbx,
        "nwarm",
        &["console.log(JSON.stringify({a: 1}), typeof left)"],
        "",
    );
    assert_eq!(stdout(&next), "{\"a\":1} undefined\n", "{}", stderr(&next));
    assert!(node_age(&sbx, "nwarm") > 0);
}

#[test]
fn a_pre_started_node_that_died_is_replaced_and_the_run_in_between_starts_node() {
    local_engine_only("the test kills a process inside the container with the engine's exec");
    let sbx = node_harness("node-died");
    let out = node_in(&sbx, "nwarm", &["--json", "console.log(1)"], "");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let container = doc["container"].as_str().unwrap().to_string();
    // Once the container is back (stats wait for its clean-up, which
    // ends with the next spare booted), the spare waits: the one node
    // process in the container.
    assert!(sbx.run(&["pool", "stats"], "").status.success());
    let find = "for p in /proc/[0-9]*; do [ \"$(cat $p/comm 2>/dev/null)\" = node ] && echo ${p#/proc/}; done";
    let spare = String::from_utf8(
        Command::new(engine())
            .args(["exec", &container, "sh", "-c", find])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    assert!(spare.parse::<u32>().is_ok(), "one spare: {spare:?}");
    let killed = Command::new(engine())
        .args(["exec", &container, "sh", "-c", &format!("kill -9 {spare}")])
        .output()
        .unwrap();
    assert!(
        killed.status.success(),
        "{}",
        String::from_utf8_lossy(&killed.stderr)
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        node_age(&sbx, "nwarm") < 1500,
        "the run in between started its own node"
    );
    std::thread::sleep(std::time::Duration::from_millis(1500));
    assert!(
        node_age(&sbx, "nwarm") >= 1000,
        "and a new spare waited for the next"
    );
    let log = sbx.agent_log();
    assert!(
        log.contains(&format!(
            "the pre-started interpreter (pid {spare}) has ended"
        )),
        "{log}"
    );
}
