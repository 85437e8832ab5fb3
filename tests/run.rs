//! `sbx run` / `sbx exec` end to end: real binary, real agent, real Docker.

mod common;

use common::{Sbx, containers_with, examples_dir, stderr, stdout};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

#[test]
fn the_first_call_spawns_the_agent_and_the_next_one_reuses_it() {
    let sbx = Sbx::new("spawn");
    assert!(sbx.agent_pids().is_empty());
    let hello = examples_dir().join("hello.py");

    let out = sbx.run(&["run", hello.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello from sbx\n");
    let agents = sbx.agent_pids();
    assert_eq!(agents.len(), 1, "exactly one agent after the first call");

    let out = sbx.run(&["run", hello.to_str().unwrap()], "");
    assert_eq!(stdout(&out), "hello from sbx\n");
    assert_eq!(
        sbx.agent_pids(),
        agents,
        "the second call used the same agent"
    );
}

#[test]
fn concurrent_first_calls_start_exactly_one_agent() {
    let sbx = Sbx::new("race");
    let children: Vec<_> = (0..6)
        .map(|i| sbx.spawn(&["exec", "--lang", "python", &format!("print({i} * 2)")]))
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "client {i}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{}\n", i * 2));
    }
    assert_eq!(sbx.agent_pids().len(), 1);
}

#[test]
fn stdout_and_stderr_are_kept_apart_and_in_order() {
    let sbx = Sbx::new("streams");
    let code = "import sys\nfor i in range(200):\n    print(f'out {i}')\n    print(f'err {i}', file=sys.stderr)\n";
    let out = sbx.run(&["exec", "--lang", "python", code], "");
    assert!(out.status.success());
    let want_out: String = (0..200).map(|i| format!("out {i}\n")).collect();
    let want_err: String = (0..200).map(|i| format!("err {i}\n")).collect();
    assert_eq!(stdout(&out), want_out);
    assert_eq!(stderr(&out), want_err);
}

#[test]
fn the_programs_exit_code_is_sbxs_exit_code() {
    let sbx = Sbx::new("exit");
    let code = |args: &[&str]| sbx.run(args, "").status.code();
    assert_eq!(
        code(&["exec", "--lang", "python", "import sys; sys.exit(3)"]),
        Some(3)
    );
    assert_eq!(code(&["exec", "--lang", "python", "pass"]), Some(0));
    assert_eq!(
        code(&["exec", "--lang", "javascript", "process.exit(42)"]),
        Some(42)
    );
    assert_eq!(
        code(&[
            "exec",
            "--lang",
            "python",
            "import os; os.kill(os.getpid(), 9)"
        ]),
        Some(128 + 9),
        "killed by a signal: 128 + signal, as in a shell"
    );
    // An uncaught exception is the interpreter's failure code, with the
    // traceback on stderr.
    let out = sbx.run(
        &["exec", "--lang", "python", "raise ValueError('boom')"],
        "",
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("ValueError: boom"));
}

#[test]
fn stdin_is_piped_through_to_the_program() {
    let sbx = Sbx::new("stdin");
    let prog = sbx.write(
        "upper.py",
        "import sys\nfor line in sys.stdin:\n    print(line.strip().upper())\nprint('eof')\n",
    );
    let out = sbx.run(&["run", prog.to_str().unwrap()], "alpha\nbeta\n");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ALPHA\nBETA\neof\n");

    // The program itself may come from stdin, with --lang.
    let out = sbx.run(&["exec", "--lang", "javascript"], "console.log(6*7)\n");
    assert_eq!(stdout(&out), "42\n");
    let out = sbx.run(&["run", "--lang", "python", "-"], "print('from stdin')\n");
    assert_eq!(stdout(&out), "from stdin\n");

    // -n leaves our stdin alone (for shell loops that read their own).
    let out = sbx.run(
        &["run", "-n", prog.to_str().unwrap()],
        "not for the program\n",
    );
    assert_eq!(stdout(&out), "eof\n");
}

#[test]
fn a_client_that_disconnects_mid_run_frees_its_container_for_the_next_run() {
    let sbx = Sbx::new("disconnect");
    // One container only, so the next run must get the abandoned one back.
    let mut cfg = std::fs::read_to_string(&sbx.config).unwrap();
    cfg.push_str("\n[pool]\nmax_size = 1\n");
    std::fs::write(&sbx.config, cfg).unwrap();
    let first = sbx.exec_ok("python", "import socket; print(socket.gethostname())");
    let mut child = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "import time\nprint('up', flush=True)\ntime.sleep(120)",
    ]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "up");
    child.kill().unwrap(); // the client dies; its run must die with it
    child.wait().unwrap();

    // The next run gets the container back, clean, long before the
    // abandoned program would have finished.
    let out = sbx.run(&["exec", "--lang", "python", "--timeout", "20s", "import socket, os\nprint(socket.gethostname())\nprint([p for p in os.listdir('/proc') if p.isdigit() and p not in ('1', str(os.getpid()), str(os.getppid()))])"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        first.lines().next(),
        "the same container was reused"
    );
    assert_eq!(lines.next(), Some("[]"), "the abandoned program is gone");
    let stats = sbx.run(&["pool", "stats", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(v["pools"][0]["total_size"], 1);
}

#[test]
fn program_arguments_and_environment_reach_the_program() {
    let sbx = Sbx::new("args");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "-e",
            "GREETING=hi there",
            "import os, sys; print(sys.argv[1:], os.environ['GREETING'])",
            "--",
            "a b",
            "--flag",
        ],
        "",
    );
    assert_eq!(
        stdout(&out),
        "['a b', '--flag'] hi there\n",
        "{}",
        stderr(&out)
    );
}

#[test]
fn output_streams_to_the_client_before_the_program_ends() {
    let sbx = Sbx::new("stream");
    // The program prints its second line only once the test has read the
    // first and released it: if output were held back until the program
    // ends, the first line would never come and the run would time out.
    let mut child = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "--timeout",
            "2m",
            "import sys\nprint('first')\nprint('second', sys.stdin.readline().strip())\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "first");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"released\n")
        .unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "second released");
    assert!(lines.next().is_none());
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn files_written_by_one_run_are_gone_for_the_next() {
    let sbx = Sbx::new("files");
    sbx.limit_pool_to_one_container();
    let writer = "\
import os, socket
open('leak.txt', 'w').write('secret')
open('/tmp/leak.txt', 'w').write('secret')
os.makedirs('/tmp/deep/er', exist_ok=True)
open(os.path.expanduser('~/.leak'), 'w').write('secret')
print(socket.gethostname())
";
    let reader = "\
import os, socket
print(socket.gethostname())
print(sorted(os.listdir('.')), os.listdir('/tmp'), os.listdir(os.path.expanduser('~')))
";
    let first = sbx.exec_ok("python", writer);
    let second = sbx.exec_ok("python", reader);
    let mut lines = second.lines();
    assert_eq!(
        lines.next(),
        first.lines().next(),
        "both runs must use the same warm container for this test to mean anything"
    );
    assert_eq!(lines.next(), Some("['main.py'] [] []"));
}

#[test]
fn processes_started_by_one_run_are_gone_when_the_next_starts() {
    let sbx = Sbx::new("procs");
    sbx.limit_pool_to_one_container();
    // A double-forked daemon in a session of its own: it escapes any
    // process-group kill, but not the guest.
    let daemon = "\
import os, socket, time
print(socket.gethostname(), flush=True)
if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        time.sleep(300)
    os._exit(0)
os.wait()
";
    let census = "\
import os, socket
print(socket.gethostname())
me = os.getpid()
others = []
for p in os.listdir('/proc'):
    if p.isdigit() and int(p) not in (1, me, os.getppid()):
        others.append(open(f'/proc/{p}/cmdline').read().replace('\\0', ' '))
print(others)
";
    let first = sbx.exec_ok("python", daemon);
    let second = sbx.exec_ok("python", census);
    let mut lines = second.lines();
    assert_eq!(lines.next(), first.lines().next(), "same warm container");
    assert_eq!(
        lines.next(),
        Some("[]"),
        "nothing but the guest and this run"
    );
}

#[test]
fn a_timed_out_run_is_killed_with_exit_124_and_the_pool_stays_usable() {
    let sbx = Sbx::new("timeout");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--timeout",
            "1s",
            "import time\nprint('start', flush=True)\ntime.sleep(60)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(stdout(&out), "start\n");
    assert_eq!(
        stderr(&out),
        "sbx: the run exceeded its timeout (1s) and was killed with every process it started\n"
    );
    assert_eq!(sbx.exec_ok("python", "print('next')"), "next\n");
}

#[test]
fn pool_down_removes_every_container_and_stops_the_agent() {
    let sbx = Sbx::new("down");
    sbx.exec_ok("python", "print(1)");
    sbx.exec_ok("javascript", "console.log(1)");
    let label = sbx.agent_label();
    assert_eq!(
        containers_with(&label).len(),
        2,
        "one warm container per language"
    );

    let out = sbx.run(&["pool", "down"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("removed 2"), "{}", stdout(&out));
    assert!(containers_with(&label).is_empty(), "containers left behind");
    assert!(
        sbx.wait_for_no_agent(Duration::from_secs(10)),
        "agent still running"
    );
}

#[test]
fn pool_up_warms_containers_and_stats_show_them() {
    let sbx = Sbx::new("stats");
    let out = sbx.run(&["pool", "up", "--lang", "python", "--warm", "2"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    sbx.exec_ok("python", "print(1)");

    let out = sbx.run(&["pool", "stats", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pool = &v["pools"][0];
    assert_eq!(pool["lang"], "python");
    assert_eq!(pool["backend"], common::engine());
    assert_eq!(pool["idle"], 2);
    assert_eq!(pool["busy"], 0);
    assert_eq!(pool["total_size"], 2);
    assert_eq!(pool["max_size"], 10);
    assert_eq!(pool["runs"], 1);
    assert_eq!(pool["created"], 2, "the run reused a warm container");

    let table = stdout(&sbx.run(&["pool", "stats"], ""));
    for column in ["pool", "backend", "image", "size/max", "idle", "busy"] {
        assert!(table.contains(column), "{table}");
    }
    assert!(table.contains("2/10"), "{table}");
}

#[test]
fn bad_input_gets_a_one_line_error_and_a_distinct_exit_code() {
    let sbx = Sbx::new("usage");
    let out = sbx.run(&["exec", "--lang", "cobol", "x"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("unknown language `cobol`"),
        "{}",
        stderr(&out)
    );

    let out = sbx.run(&["run", "/nonexistent/prog.py"], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("cannot read /nonexistent/prog.py"));

    let out = sbx.run(&["run", "--no-such-flag", "x.py"], "");
    assert_eq!(out.status.code(), Some(2));

    let bad = sbx.write("bad.toml", "[pool]\nmax_sise = 3\n");
    let out = sbx.run(
        &[
            "--config",
            bad.to_str().unwrap(),
            "exec",
            "--lang",
            "python",
            "1",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("max_sise"), "{}", stderr(&out));
    assert!(
        sbx.agent_pids().is_empty(),
        "no agent for input that never needed one"
    );
}

#[test]
fn an_agent_that_cannot_start_tells_the_client_why() {
    common::engine_only("the error for an unreachable engine socket (DOCKER_HOST)");
    let sbx = Sbx::new("noengine");
    let out = sbx
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("CONTAINER_HOST", "unix:///nonexistent/docker.sock")
        .args(["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the container engine"), "{err}");
    assert!(err.contains("/nonexistent/docker.sock"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(
        !err.contains("did not answer within"),
        "the agent said why at once; the client did not wait out its spawn timeout: {err}"
    );
}

#[test]
fn without_bwrap_the_bubblewrap_backend_names_the_package_to_install_in_one_line() {
    if !common::only_on("bubblewrap", "the error of a machine without bwrap") {
        return;
    }
    let sbx = Sbx::new("nobwrap");
    let out = sbx
        .cmd()
        .env("PATH", "/nonexistent")
        .args(["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("`bwrap` is not on PATH"), "{err}");
    assert!(err.contains("package `bubblewrap`"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
}

#[test]
fn an_image_without_the_interpreter_gives_exit_127_with_a_reason() {
    common::local_engine_only("an image it imports into the local engine");
    // An empty image: no libc, no shell, no python. The static guest runs
    // in it anyway and reports what is missing.
    let sbx = Sbx::new("noexe");
    let (image, label) = sbx.test_made_image("empty");
    let status = std::process::Command::new("sh")
        .args([
            "-c",
            &format!(
                "tar -cf - -T /dev/null | {e} import --change '{label}' - {image} >/dev/null",
                e = common::image_engine()
            ),
        ])
        .status()
        .unwrap();
    assert!(status.success());
    std::fs::write(
        &sbx.config,
        format!("[languages.python]\nimage = \"{image}\"\n"),
    )
    .unwrap();

    let out = sbx.run(&["exec", "--lang", "python", "print(1)"], "");
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot start `python3`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn an_image_whose_interpreter_the_program_user_cannot_reach_gives_126_saying_which_directory() {
    common::local_engine_only("an image it builds in the local engine");
    // What images made from a `mktemp -d` directory carry on `/` (0700),
    // here on /usr/bin, which no engine's storage hides.
    let sbx = Sbx::new("unreachable");
    let (image, label) = sbx.test_made_image("unreachable");
    let dir = sbx.root.join("build");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        format!(
            "FROM {}\nRUN chmod 0750 /usr/bin\n{label}\n",
            common::test_image()
        ),
    )
    .unwrap();
    let built = std::process::Command::new(common::image_engine())
        .args(["build", "-q", "--network", "none", "-t", &image])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(built.status.success(), "{built:?}");
    // Without the warm interpreter: that one is started by the guest
    // (root), and the program then needs no path to it.
    std::fs::write(
        &sbx.config,
        format!("[profiles.plain]\nlang = \"javascript\"\nimage = \"{image}\"\nwarm_interpreter = false\n"),
    )
    .unwrap();
    let out = sbx.run(
        &[
            "--profile",
            "plain",
            "exec",
            "--lang",
            "javascript",
            "console.log(1)",
        ],
        "",
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(126), "{err}");
    let (start, rest) = err.split_once("(uid ").unwrap_or_else(|| panic!("{err}"));
    assert_eq!(
        start,
        "sbx: cannot start `node` in the container: Permission denied (os error 13); the program's user "
    );
    let (_uid, rest) = rest.split_once(')').unwrap();
    assert_eq!(
        rest,
        " cannot enter `/usr/bin` (mode 0750, owner uid 0): make the image's directories searchable and its interpreter executable by any user (chmod 755; see the README, \"Without root\")\n"
    );
}

#[test]
fn an_unanswered_podman_socket_gets_the_hint_for_root_or_for_a_rootless_user() {
    common::local_engine_only("the local engine's socket");
    if !common::only_on("podman", "the hint is about Podman's socket") {
        return;
    }
    let sbx = Sbx::new("nosocket");
    // The default socket, under a runtime directory that has none.
    let dir = sbx.root.join("xdg");
    std::fs::create_dir_all(&dir).unwrap();
    let mut cmd = sbx.cmd();
    cmd.env("XDG_RUNTIME_DIR", &dir)
        .env("SBX_RUNTIME_DIR", sbx.root.join("agent"));
    // Root's default socket is answering here: root is pointed at one
    // that is not.
    let root_socket = format!("unix://{}/podman.sock", dir.display());
    if common::rootless() {
        cmd.env_remove("CONTAINER_HOST");
    } else {
        cmd.env("CONTAINER_HOST", &root_socket);
    }
    let out = cmd
        .args(["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    let expected = if common::rootless() {
        let socket = dir.join("podman/podman.sock");
        format!(
            "start your user's rootless Podman API service (`systemctl --user enable --now podman.socket` where systemd runs, else `podman system service --time=0 unix://{} &`), or set CONTAINER_HOST",
            socket.display()
        )
    } else {
        format!(
            "start its API service (`systemctl start podman.socket`, or `podman system service --time=0 {root_socket} &`), or set CONTAINER_HOST"
        )
    };
    assert!(err.trim_end().ends_with(&expected), "{err}");
}
