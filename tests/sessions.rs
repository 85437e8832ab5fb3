//! Sessions: several runs in one sandbox (`sbx session start`, `--session`),
//! files kept between them, and with `--keep-state` the interpreter's state.

mod common;

use common::{Sbx, containers_with, stderr, stdout, wait_until};
use std::process::Output;
use std::time::Duration;

/// The documented exit code of a run naming no open session.
const NO_SESSION: i32 = 69;

impl Sbx {
    /// `sbx session start ARGS`, asserting it worked; returns the id.
    fn session(&self, args: &[&str]) -> String {
        let mut all = vec!["session", "start"];
        all.extend_from_slice(args);
        let out = self.run(&all, "");
        assert!(out.status.success(), "session start: {}", stderr(&out));
        let id = stdout(&out).trim().to_string();
        assert!(id.starts_with("s-"), "an id on stdout, got {id:?}");
        id
    }

    /// `sbx exec --session S CODE`.
    fn in_session(&self, session: &str, code: &str) -> Output {
        self.run(&["exec", "--session", session, code], "")
    }

    /// As [`Sbx::in_session`], asserting success; returns stdout.
    fn in_session_ok(&self, session: &str, code: &str) -> String {
        let out = self.in_session(session, code);
        assert!(
            out.status.success(),
            "run in {session} failed ({:?}): {}",
            out.status,
            stderr(&out)
        );
        stdout(&out)
    }

    fn sessions_json(&self) -> Vec<serde_json::Value> {
        let out = self.run(&["session", "ls", "--json"], "");
        assert!(out.status.success(), "{}", stderr(&out));
        serde_json::from_str(&stdout(&out)).unwrap()
    }
}

#[test]
fn files_stay_between_a_sessions_runs_but_its_processes_do_not() {
    let sbx = Sbx::new("sess-files");
    let s = sbx.session(&["--lang", "python"]);
    sbx.in_session_ok(
        &s,
        "import subprocess\nopen('data.csv','w').write('a,b\\n1,2\\n')\nopen('/tmp/t','w').write('tmp')\nsubprocess.Popen(['sleep','300'])",
    );
    assert_eq!(
        sbx.in_session_ok(&s, "print(open('data.csv').read(), end='')"),
        "a,b\n1,2\n"
    );
    assert_eq!(
        sbx.in_session_ok(&s, "print(open('/tmp/t').read())"),
        "tmp\n"
    );
    let ps = "import os\nprint(sorted(open(f'/proc/{p}/comm').read().strip() for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid())))";
    assert_eq!(
        sbx.in_session_ok(&s, ps),
        "[]\n",
        "the sleep the first run left was killed when that run ended"
    );
    // The file and shell-level stdin, -e, args and --file work in a session.
    let input = sbx.write("in.txt", "from a file\n");
    let out = sbx.run(
        &[
            "exec",
            "--session",
            &s,
            "-e",
            "GREETING=hi",
            "--file",
            input.to_str().unwrap(),
            "import os,sys\nprint(os.environ['GREETING'], sys.argv[1:], sys.stdin.read().strip(), open('in.txt').read().strip())",
            "--",
            "x",
        ],
        "from stdin\n",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hi ['x'] from stdin from a file\n");

    let listed = sbx.sessions_json();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], s.as_str());
    assert_eq!(listed[0]["lang"], "python");
    assert_eq!(listed[0]["runs"], 5);
    assert_eq!(listed[0]["keep_state"], false);
    assert!(
        listed[0]["size_bytes"].as_u64().unwrap() >= 8 + 3 + 12,
        "the session's files are counted: {}",
        listed[0]
    );
}

#[test]
fn with_keep_state_python_runs_are_cells_of_one_interpreter() {
    let sbx = Sbx::new("sess-py-state");
    let s = sbx.session(&["--lang", "python", "--keep-state", "--name", "nb"]);
    assert_eq!(
        sbx.in_session_ok("nb", "x = 41\ndef double(n):\n    return 2 * n"),
        ""
    );
    assert_eq!(sbx.in_session_ok("nb", "print(x + 1)"), "42\n");
    assert_eq!(
        sbx.in_session_ok(&s, "double(x)"),
        "82\n",
        "the value of a final expression is printed, as a REPL would"
    );
    assert_eq!(sbx.in_session_ok("nb", "None"), "", "None is not printed");

    let out = sbx.in_session("nb", "y = 1\n1/0");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("Traceback (most recent call last)"), "{err}");
    assert!(err.contains("ZeroDivisionError"), "{err}");
    assert!(
        !err.contains("cell.py") && !err.contains("run_cell"),
        "no driver frames: {err}"
    );
    assert_eq!(
        sbx.in_session_ok("nb", "print(x, y)"),
        "41 1\n",
        "an uncaught exception keeps the state"
    );

    let out = sbx.in_session("nb", "import sys\nsys.exit(3)");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(
        sbx.in_session_ok("nb", "print(x)"),
        "41\n",
        "sys.exit ends only the cell"
    );

    let out = sbx.run(
        &[
            "exec",
            "--session",
            "nb",
            "import sys\nprint(sys.stdin.read().upper(), end='')",
        ],
        "piped in\n",
    );
    assert_eq!(stdout(&out), "PIPED IN\n", "{}", stderr(&out));
    assert_eq!(sbx.in_session_ok("nb", "print(__name__)"), "__main__\n");
}

#[test]
fn with_keep_state_javascript_runs_are_cells_of_one_interpreter() {
    let sbx = Sbx::new("sess-js-state");
    let s = sbx.session(&["--lang", "javascript", "--keep-state"]);
    assert_eq!(
        sbx.in_session_ok(&s, "let y = 41; function double(n) { return 2 * n }"),
        ""
    );
    assert_eq!(
        sbx.in_session_ok(&s, "console.log(y + 1); double(y)"),
        "42\n82\n"
    );
    let out = sbx.in_session(&s, "throw new Error('boom')");
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("Error: boom"), "{}", stderr(&out));
    let out = sbx.in_session(&s, "process.exit(4)");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    assert_eq!(
        sbx.in_session_ok(&s, "y"),
        "41\n",
        "the state survived both"
    );
    assert_eq!(
        sbx.in_session_ok(&s, "Promise.resolve(6 * 7)"),
        "42\n",
        "a promise is awaited before it is printed"
    );
}

#[test]
fn a_timeout_ends_the_interpreter_says_the_state_is_lost_and_keeps_the_files() {
    let sbx = Sbx::new("sess-timeout");
    let s = sbx.session(&["--lang", "python", "--keep-state"]);
    sbx.in_session_ok(&s, "x = 1\nopen('kept.txt','w').write('still here')");
    let out = sbx.run(
        &[
            "exec",
            "--session",
            &s,
            "--timeout",
            "1s",
            "import time\ntime.sleep(30)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("state is lost (files are kept)"), "{err}");
    assert!(err.contains("timeout (1s)"), "{err}");

    let out = sbx.in_session(&s, "print(x)");
    assert_eq!(out.status.code(), Some(1), "a fresh interpreter has no x");
    assert!(stderr(&out).contains("NameError"), "{}", stderr(&out));
    assert_eq!(
        sbx.in_session_ok(&s, "print(open('kept.txt').read())"),
        "still here\n"
    );
}

#[test]
fn runs_sent_to_one_session_at_once_go_one_after_the_other_in_arrival_order() {
    let sbx = Sbx::new("sess-queue");
    let s = sbx.session(&["--lang", "python"]);
    let code = |tag: &str| {
        format!(
            "import time\nfor i in range(3):\n    print('{tag}', i, flush=True)\n    open('log','a').write('{tag} ' + str(i) + '\\n')\n    time.sleep(0.2)"
        )
    };
    let mut children = Vec::new();
    for tag in ["a", "b", "c", "d"] {
        children.push((tag, sbx.spawn(&["exec", "--session", &s, &code(tag)])));
        // Each arrives while the one before is still running.
        std::thread::sleep(Duration::from_millis(250));
    }
    for (tag, child) in children {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{tag}: {}", stderr(&out));
        assert_eq!(
            stdout(&out),
            format!("{tag} 0\n{tag} 1\n{tag} 2\n"),
            "each run gets exactly its own output"
        );
    }
    let log = sbx.in_session_ok(&s, "print(open('log').read(), end='')");
    let expected: String = ["a", "b", "c", "d"]
        .iter()
        .flat_map(|t| (0..3).map(move |i| format!("{t} {i}\n")))
        .collect();
    assert_eq!(log, expected, "one after the other, in arrival order");
}

#[test]
fn two_sessions_see_neither_each_others_files_nor_processes() {
    let sbx = Sbx::new("sess-apart");
    let a = sbx.session(&["--lang", "python"]);
    let b = sbx.session(&["--lang", "python", "--keep-state"]);
    sbx.in_session_ok(
        &a,
        "open('/tmp/mine','w').write('a')\nopen('here','w').write('a')",
    );
    sbx.in_session_ok(&b, "secret = 'b'");
    // Processes of root are the guest's (its warm interpreter): a run's
    // never are.
    let look = "import os\nprint(os.path.exists('/tmp/mine'), os.path.exists('here'), sorted(open(f'/proc/{p}/cmdline').read().replace(chr(0),' ')[:40] for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, os.getpid(), os.getppid()) and os.stat(f'/proc/{p}').st_uid != 0))";
    assert_eq!(sbx.in_session_ok(&a, look), "True True []\n");
    assert_eq!(
        sbx.in_session_ok(&b, look),
        "False False []\n",
        "b sees nothing of a: no file, no process"
    );
    let ids: Vec<String> = sbx
        .sessions_json()
        .iter()
        .map(|s| s["container"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 2);
    assert_ne!(ids[0], ids[1], "each session has a container of its own");
}

#[test]
fn an_idle_session_expires_and_a_run_is_told_why() {
    let sbx = Sbx::new("sess-idle");
    let s = sbx.session(&["--lang", "python", "--idle-timeout", "2s"]);
    sbx.in_session_ok(&s, "print(1)");
    assert!(
        wait_until(Duration::from_secs(20), || sbx.sessions_json().is_empty()),
        "the session ended after 2s without a run"
    );
    let out = sbx.in_session(&s, "print(1)");
    assert_eq!(out.status.code(), Some(NO_SESSION));
    let err = stderr(&out);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(err.contains("expired after 2s idle"), "{err}");
}

#[test]
fn a_stopped_or_unknown_session_is_refused_with_a_reason() {
    let sbx = Sbx::new("sess-stop");
    let s = sbx.session(&["--lang", "python", "--name", "work"]);
    let out = sbx.run(&["session", "stop", "work"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    for key in [s.as_str(), "work"] {
        let out = sbx.in_session(key, "print(1)");
        assert_eq!(out.status.code(), Some(NO_SESSION));
        assert!(stderr(&out).contains("stopped"), "{}", stderr(&out));
    }
    let out = sbx.in_session("s-000000000000", "print(1)");
    assert_eq!(out.status.code(), Some(NO_SESSION));
    let err = stderr(&out);
    assert!(err.contains("never existed"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let out = sbx.run(&["session", "stop", "s-000000000000"], "");
    assert_eq!(out.status.code(), Some(NO_SESSION));
    // The name is free again.
    sbx.session(&["--lang", "python", "--name", "work"]);
    // A conflict, reported as `docker run --name` reports one.
    let out = sbx.run(
        &["session", "start", "--lang", "python", "--name", "work"],
        "",
    );
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("already open"), "{}", stderr(&out));
}

#[test]
fn a_stopped_sessions_container_is_wiped_before_anyone_else_gets_it() {
    let sbx = Sbx::new("sess-wipe");
    sbx.limit_pool_to_one_container();
    let s = sbx.session(&["--lang", "python", "--keep-state"]);
    sbx.in_session_ok(
        &s,
        "secret = 1\nopen('left.txt','w').write('x')\nopen('/tmp/left','w').write('x')",
    );
    let container = sbx.sessions_json()[0]["container"]
        .as_str()
        .unwrap()
        .to_string();
    // The pool's one container is the session's: a plain run waits (the
    // default exhaustion), so stop the session first.
    let out = sbx.run(&["session", "stop", &s], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let out = sbx.run(
        &["exec", "--lang", "python", "--json", "import os\nprint(os.listdir('.'), os.path.exists('/tmp/left'), len([p for p in os.listdir('/proc') if p.isdigit() and (int(p) in (1, os.getpid()) or int(p) != os.getppid())]))"],
        "",
    );
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(
        doc["container"].as_str().unwrap(),
        container,
        "the same container, back in the pool"
    );
    assert_eq!(doc["stdout"], "['main.py'] False 2\n", "{doc}");
}

#[test]
fn sessions_count_toward_the_pool_and_the_configured_maximum() {
    let sbx = Sbx::with_config(
        "sess-max",
        "[sessions]\nmax = 2\n\n[pool]\nmax_size = 3\nexhaustion = \"fail-fast\"\n",
    );
    sbx.session(&["--lang", "python"]);
    sbx.session(&["--lang", "python"]);
    let out = sbx.run(&["session", "start", "--lang", "python"], "");
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("[sessions] max") && err.contains("(2)"),
        "{err}"
    );

    let out = sbx.run(&["pool", "stats", "--json"], "");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    let pool = &doc["pools"][0];
    assert_eq!(pool["sessions"], 2, "{pool}");
    assert_eq!(pool["busy"], 2, "a session's container is busy: {pool}");
    let prom = stdout(&sbx.run(&["pool", "stats", "--format", "prometheus"], ""));
    assert!(prom.contains("sbx_pool_sessions{"), "{prom}");
    assert!(
        prom.lines()
            .any(|l| l.starts_with("sbx_pool_sessions{") && l.ends_with(" 2")),
        "{prom}"
    );
    // The third container is still there for plain runs.
    sbx.exec_ok("python", "print(1)");
}

#[test]
fn pool_down_ends_every_session_and_removes_their_containers() {
    let sbx = Sbx::new("sess-down");
    let s = sbx.session(&["--lang", "python", "--keep-state"]);
    sbx.session(&["--lang", "javascript"]);
    let label = format!("io.sbx.agent={}", sbx.agent_id());
    assert_eq!(containers_with(&label).len(), 2);
    let out = sbx.run(&["pool", "down"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        wait_until(Duration::from_secs(30), || containers_with(&label)
            .is_empty()),
        "no container is left"
    );
    let out = sbx.in_session(&s, "print(1)");
    assert_eq!(out.status.code(), Some(NO_SESSION), "{}", stderr(&out));
}

#[test]
fn keep_state_is_refused_for_languages_without_a_driver_in_words() {
    let sbx = Sbx::new("sess-refuse");
    let out = sbx.run(&["session", "start", "--lang", "bash", "--keep-state"], "");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("python and javascript"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    let out = sbx.run(&["session", "start"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let out = sbx.run(
        &[
            "session",
            "start",
            "--lang",
            "python",
            "--name",
            "no spaces",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
}

#[test]
fn a_link_left_by_an_earlier_run_cannot_make_the_guest_write_outside_the_sandbox() {
    let sbx = Sbx::new("sess-links");
    sbx.limit_pool_to_one_container();
    let s = sbx.session(&["--lang", "python"]);
    // The next run's program and --file would be written through these,
    // by the guest, as root.
    sbx.in_session_ok(
        &s,
        "import os\nos.symlink('/sbx/loot', 'data.txt')\nos.makedirs('d')\nos.symlink('/sbx', 'd/up')\nos.symlink('/dev', '/tmp/l')",
    );
    let input = sbx.write("data.txt", "payload");
    let out = sbx.run(
        &[
            "exec",
            "--session",
            &s,
            "--file",
            input.to_str().unwrap(),
            "--file",
            &format!("{}:d/up/x", input.display()),
            "-w",
            "/tmp/l/made",
            "import os\nprint(open('/sbx/work/data.txt').read(), os.path.islink('/sbx/work/data.txt'), os.path.exists('/sbx/loot'), os.path.exists('/sbx/x'), os.path.exists('/dev/made'), os.getcwd())",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "payload False False False False /tmp/l/made\n",
        "the links were replaced, nothing was written through them"
    );
    sbx.run(&["session", "stop", &s], "");
    assert_eq!(
        sbx.exec_ok(
            "python",
            "import os\nprint(sorted(os.listdir('/sbx')), os.path.exists('/dev/made'))"
        ),
        // sbx's own mount points only (`cell`: the guest's private tmpfs).
        "['bin', 'build', 'cache', 'cell', 'home', 'out', 'work'] False\n",
        "the next user of the container finds nothing"
    );
}

#[test]
fn nothing_of_a_keep_state_session_runs_between_its_runs_and_each_run_has_its_own_environment() {
    let sbx = Sbx::new("sess-between");
    let s = sbx.session(&["--lang", "python", "--keep-state"]);
    let out = sbx.run(
        &[
            "exec",
            "--session",
            &s,
            "-e",
            "SECRET=x",
            "import threading, time\ndef tick():\n    while True:\n        open('ticks','a').write('t\\n')\n        time.sleep(0.01)\nthreading.Thread(target=tick, daemon=True).start()\ntime.sleep(0.2)",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    std::thread::sleep(Duration::from_millis(1500));
    let counted: usize = sbx
        .in_session_ok(&s, "print(len(open('ticks').readlines()))")
        .trim()
        .parse()
        .unwrap();
    assert!(
        counted < 60,
        "the thread ran only during runs (about 20 ticks), not for the 1.5s between: {counted}"
    );
    assert_eq!(
        sbx.in_session_ok(&s, "import os\nprint(os.environ.get('SECRET'))"),
        "None\n",
        "-e of an earlier run is gone"
    );
}

#[test]
fn out_brings_back_what_each_run_of_a_session_wrote() {
    let sbx = Sbx::new("sess-out");
    let s = sbx.session(&["--lang", "python"]);
    let dir = sbx.write("unused", "");
    let out_dir = |n: &str| dir.parent().unwrap().join(n);
    for (n, name) in [("o1", "first.txt"), ("o2", "second.txt")] {
        let out = sbx.run(
            &[
                "exec",
                "--session",
                &s,
                "--out",
                out_dir(n).to_str().unwrap(),
                &format!("import os\nopen(os.environ['SBX_OUT'] + '/{name}', 'w').write('{n}')"),
            ],
            "",
        );
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let listed = |n: &str| {
        let mut names: Vec<String> = std::fs::read_dir(out_dir(n))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(listed("o1"), ["first.txt"]);
    assert_eq!(
        listed("o2"),
        ["second.txt"],
        "not the first run's file again"
    );
    assert_eq!(
        sbx.in_session_ok(
            &s,
            "import os\nprint(sorted(os.listdir(os.environ['SBX_OUT'])))"
        ),
        "['first.txt', 'second.txt']\n",
        "both are still in the session"
    );
}
