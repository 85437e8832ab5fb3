//! The agent's life: start-up races and errors, stale state, versions,
//! peers, bad input, crashes, lost containers, shutdown, idle exit and the
//! `sbx agent` commands. Real binary, real Docker, a runtime directory per
//! test.

mod common;

use common::{RemoveOnDrop, Sbx, containers_with, stderr, stdout, test_image, wait_until};
use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::process::{Command, Stdio};
use std::time::Duration;

fn engine_cli(args: &[&str]) -> String {
    let out = Command::new(common::engine()).args(args).output().unwrap();
    assert!(out.status.success(), "docker {args:?}: {}", stderr(&out));
    stdout(&out)
}

fn one_agent(sbx: &Sbx) -> u32 {
    let pids = sbx.agent_pids();
    assert_eq!(pids.len(), 1, "exactly one agent: {pids:?}");
    pids[0]
}

fn kill(pid: u32, signal: i32) {
    assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0, "kill {pid}");
}

#[test]
fn twenty_clients_starting_at_once_get_one_agent_and_twenty_runs() {
    let sbx = Sbx::new("race20");
    let children: Vec<_> = (0..20)
        .map(|i| sbx.spawn(&["exec", "--lang", "python", &format!("print({i} * 3)")]))
        .collect();
    for (i, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "client {i}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{}\n", i * 3), "client {i}");
        assert_eq!(stderr(&out), "", "client {i}");
    }
    one_agent(&sbx);
    let starts = sbx.agent_log().matches(" serving ").count();
    assert_eq!(starts, 1, "one agent ever started:\n{}", sbx.agent_log());
}

#[test]
fn an_agent_with_a_bad_setting_tells_the_client_why_within_seconds() {
    let sbx = Sbx::new("badsetting");
    let out = sbx
        .cmd()
        .env("SBX_AGENT_IDLE_EXIT", "soonish")
        .args(["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("could not start"), "{err}");
    assert!(err.contains("invalid SBX_AGENT_IDLE_EXIT"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert!(sbx.agent_pids().is_empty());
}

#[test]
fn an_unreachable_engine_is_reported_as_the_agents_reason() {
    let sbx = Sbx::new("noengine2");
    let out = sbx
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/engine.sock")
        .env("CONTAINER_HOST", "unix:///nonexistent/engine.sock")
        .args(["agent", "start"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the container engine"), "{err}");
    assert!(err.contains("/nonexistent/engine.sock"), "{err}");
}

#[test]
fn a_runtime_directory_that_is_not_safely_ours_is_refused_with_the_fix() {
    let sbx = Sbx::new("baddir");
    let dir = sbx.root.join("shared");
    std::fs::create_dir(&dir).unwrap();
    let run_in = |dir: &std::path::Path| {
        sbx.cmd()
            .env("SBX_RUNTIME_DIR", dir)
            .args(["exec", "--lang", "python", "print(1)"])
            .output()
            .unwrap()
    };

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let out = run_in(&dir);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("open to other users (mode 755)"), "{err}");
    assert!(
        err.contains(&format!("chmod 700 {}", dir.display())),
        "{err}"
    );

    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::chown(&dir, Some(65534), Some(65534)).unwrap();
    let out = run_in(&dir);
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("belongs to uid 65534, not to you"), "{err}");

    let link = sbx.root.join("link");
    let mine = sbx.root.join("mine");
    std::fs::create_dir(&mine).unwrap();
    std::fs::set_permissions(&mine, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink(&mine, &link).unwrap();
    let out = run_in(&link);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("is not a directory"),
        "{}",
        stderr(&out)
    );

    for err in [stderr(&run_in(&dir)), stderr(&run_in(&link))] {
        assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    }
    assert!(
        sbx.agent_pids().is_empty(),
        "no agent in a refused directory"
    );
}

#[test]
fn a_socket_left_by_a_dead_agent_is_replaced() {
    let sbx = Sbx::new("stale");
    let dir = sbx.agent_dir();
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    // A socket file nobody listens on, as a killed agent leaves it. Other
    // tests of this process spawn children all the time, and a child between
    // fork and exec still holds a copy of the listener (close-on-exec closes
    // it only at exec), so "nobody listens" holds a moment after the drop.
    drop(UnixListener::bind(dir.join("agent.sock")).unwrap());
    assert!(
        wait_until(Duration::from_secs(5), || UnixStream::connect(
            dir.join("agent.sock")
        )
        .is_err()),
        "the dropped listener still accepts connections"
    );

    assert_eq!(sbx.exec_ok("python", "print('fresh')"), "fresh\n");
    one_agent(&sbx);
    assert!(UnixStream::connect(dir.join("agent.sock")).is_ok());
}

#[test]
fn an_agent_of_an_older_protocol_drains_and_makes_way_for_a_current_one() {
    let sbx = Sbx::new("upgrade");
    let old_cmd = |args: &[&str]| {
        let mut c = sbx.cmd();
        c.env("SBX_TEST_PROTOCOL_VERSION", "1").args(args);
        c
    };
    let out = old_cmd(&["agent", "start"]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let old_pid = one_agent(&sbx);

    // A run on the old agent that is still going when the upgrade comes.
    let mut old_run = old_cmd(&[
        "exec",
        "--lang",
        "python",
        "import time\nprint('old start', flush=True)\ntime.sleep(3)\nprint('old done')",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let mut old_out = BufReader::new(old_run.stdout.take().unwrap());
    let mut line = String::new();
    old_out.read_line(&mut line).unwrap();
    assert_eq!(line, "old start\n");

    // A current client: no garbled error, its run just works.
    let out = sbx.run(&["exec", "--lang", "python", "print('new')"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "new\n");
    assert_eq!(stderr(&out), "");

    // The old agent let its run finish.
    let mut rest = String::new();
    old_out.read_to_string(&mut rest).unwrap();
    let status = old_run.wait().unwrap();
    assert!(status.success());
    assert_eq!(rest, "old done\n");

    assert!(
        wait_until(Duration::from_secs(20), || !sbx
            .agent_pids()
            .contains(&old_pid)),
        "the old agent exited after draining"
    );
    let new_pid = one_agent(&sbx);
    assert_ne!(new_pid, old_pid);
    let status = stdout(&sbx.run(&["agent", "status"], ""));
    let current = format!("protocol {}", protocol_version());
    assert!(status.contains(&current), "{status}");
    let log = sbx.agent_log();
    assert!(
        log.contains(&format!("of {current} (sbx")) && log.contains("(protocol 1) to stop"),
        "{log}"
    );

    // The other way round, an old client does not retire a newer agent: it
    // gets one clear line.
    let out = old_cmd(&["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("newer than this client"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    assert_eq!(one_agent(&sbx), new_pid);
}

#[test]
fn only_the_owning_uid_may_use_the_agent() {
    let sbx = Sbx::new("peers");
    sbx.exec_ok("python", "print(1)");
    // Open the door on purpose: directory and socket reachable by anyone,
    // so only the agent's own check stands in the way.
    let dir = sbx.agent_dir();
    for (path, mode) in [
        (&sbx.root, 0o755),
        (&sbx.runtime, 0o755),
        (&dir, 0o755),
        (&dir.join("agent.sock"), 0o777),
    ] {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let out = Command::new("setpriv")
        .args(["--reuid", "65534", "--regid", "65534", "--clear-groups"])
        .arg(env!("CARGO_BIN_EXE_sbx"))
        .args(["agent", "status"])
        .env("SBX_RUNTIME_DIR", &dir)
        .env("HOME", "/")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("belongs to uid 0"), "{err}");
    // Both ends check: the client would not talk to someone else's agent,
    // and the agent refused the stranger on its own.
    assert!(err.contains("nothing was sent to it"), "{err}");
    assert!(
        wait_until(Duration::from_secs(10), || sbx
            .agent_log()
            .contains("refused a connection from uid 65534")),
        "{}",
        sbx.agent_log()
    );
    // The owner is still served.
    assert_eq!(sbx.exec_ok("python", "print(2)"), "2\n");
}

#[test]
fn garbage_truncated_oversized_frames_and_vanishing_clients_cost_only_their_own_connection() {
    let sbx = Sbx::new("garbage");
    sbx.exec_ok("python", "print(1)");
    let pid = one_agent(&sbx);
    let sock = sbx.agent_dir().join("agent.sock");

    let hello = {
        let json = format!(
            r#"{{"type":"hello","protocol":{},"version":"test"}}"#,
            protocol_version()
        );
        let json = json.as_bytes();
        let mut f = ((json.len() + 1) as u32).to_be_bytes().to_vec();
        f.push(0);
        f.extend_from_slice(json);
        f
    };
    let mut truncated = 100u32.to_be_bytes().to_vec();
    truncated.extend_from_slice(b"\0{\"type\":");
    let mut bad_json = hello.clone();
    bad_json.extend_from_slice(&[0, 0, 0, 3, 0, b'{', b'x']);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("garbage", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("truncated", truncated),
        ("oversized", [0xff, 0xff, 0xff, 0xff, 0].to_vec()),
        ("unknown kind", [0, 0, 0, 1, 9].to_vec()),
        ("bad request after hello", bad_json),
    ];
    for (what, bytes) in cases {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        s.write_all(&bytes).unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        // The agent answers at most an error and hangs up.
        let mut reply = Vec::new();
        // (A reset is a close too: the agent did not read all we sent.)
        let got = s.read_to_end(&mut reply);
        let closed = match &got {
            Ok(_) => true,
            Err(e) => e.kind() == std::io::ErrorKind::ConnectionReset,
        };
        assert!(closed, "{what}: the agent should hang up: {got:?}");
        // Meanwhile everyone else is served.
        assert_eq!(sbx.exec_ok("python", "print('ok')"), "ok\n", "after {what}");
    }
    // A client that dies mid-run: its run is cancelled, the others go on.
    let mut child = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "import time\nprint('up', flush=True)\ntime.sleep(120)",
    ]);
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "up");
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(sbx.exec_ok("python", "print('ok')"), "ok\n");

    assert_eq!(one_agent(&sbx), pid, "the same agent throughout");
    assert!(
        wait_until(Duration::from_secs(10), || sbx
            .agent_log()
            .contains("went away mid-run")),
        "{}",
        sbx.agent_log()
    );
    // Read after the wait: every complaint is in the log by now.
    let log = sbx.agent_log();
    assert!(log.contains("exceeds the"), "{log}");
    assert!(log.contains("unknown frame kind 9"), "{log}");
    assert!(log.contains("truncated frame"), "{log}");
    assert!(log.contains("malformed control message"), "{log}");
}

#[test]
fn after_kill_9_the_next_agent_leaves_nothing_of_its_predecessor_and_spares_foreign_containers() {
    let sbx = Sbx::new("kill9");
    let tag = format!("io.sbx.test.kill9={}", std::process::id());
    let _cleanup = RemoveOnDrop(tag.clone());
    let out = sbx.run(&["pool", "up", "--warm", "2"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let label = sbx.agent_label();
    let ours = containers_with(&label);
    let instance = engine_cli(&[
        "inspect",
        "--format",
        "{{index .Config.Labels \"io.sbx.instance\"}}",
        &ours[0],
    ]);
    let instance = instance.lines().next().unwrap().to_string();
    let agent_id = label.split('=').nth(1).unwrap();

    // A leftover of this agent that its death alone would not remove (never
    // started, so no stream to close), and a look-alike of another tool.
    let image = test_image();
    let leftover = format!("sbx-python-leftover-{}", std::process::id());
    engine_cli(&[
        "create",
        "--name",
        &leftover,
        "--label",
        "io.sbx.managed=true",
        "--label",
        &format!("io.sbx.owner={}", unsafe { libc::geteuid() }),
        "--label",
        &label,
        "--label",
        &format!("io.sbx.instance={instance}"),
        "--label",
        &tag,
        &image,
        "true",
    ]);
    let foreign = format!("sbx-python-{}-0", std::process::id());
    let foreign_tag = format!("{tag}-foreign");
    let _foreign_cleanup = RemoveOnDrop(foreign_tag.clone());
    engine_cli(&[
        "create",
        "--name",
        &foreign,
        "--label",
        "io.sbx.managed=true",
        "--label",
        &format!("io.sbx.agent={agent_id}0"),
        "--label",
        &foreign_tag,
        &image,
        "true",
    ]);
    let of_instance = format!("io.sbx.instance={instance}");
    assert_eq!(containers_with(&of_instance).len(), 3);

    kill(one_agent(&sbx), libc::SIGKILL);
    assert!(sbx.wait_for_no_agent(Duration::from_secs(5)));
    // Its running containers go on their own: the guests see EOF when the
    // agent's attach streams close, exit, and are auto-removed.
    assert!(
        wait_until(Duration::from_secs(20), || containers_with(&of_instance)
            .len()
            == 1),
        "only the never-started leftover remains: {:?}",
        containers_with(&of_instance)
    );

    assert_eq!(sbx.exec_ok("python", "print('again')"), "again\n");
    assert!(
        wait_until(Duration::from_secs(60), || containers_with(&of_instance)
            .is_empty()),
        "containers of the killed agent left after the next start: {:?}",
        containers_with(&of_instance)
    );
    assert_eq!(
        containers_with(&foreign_tag).len(),
        1,
        "the foreign container is untouched"
    );
}

#[test]
fn containers_lost_behind_the_agents_back_are_replaced_and_runs_resume() {
    let sbx = Sbx::new("lost");
    let mut cfg = std::fs::read_to_string(&sbx.config).unwrap();
    cfg.push_str("\n[pool]\nmin_size = 2\n");
    std::fs::write(&sbx.config, cfg).unwrap();
    let out = sbx.run(&["pool", "up"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let pid = one_agent(&sbx);
    let label = sbx.agent_label();
    assert_eq!(containers_with(&label).len(), 2);

    // What an engine restart does to them, without restarting the shared
    // engine: every container of this agent dies at once.
    for (round, verb) in ["kill", "rm"].iter().enumerate() {
        let ids = containers_with(&label);
        let mut args = vec![*verb];
        if *verb == "rm" {
            args.push("-f");
        }
        args.extend(ids.iter().map(String::as_str));
        engine_cli(&args);
        assert!(
            wait_until(Duration::from_secs(20), || containers_with(&label)
                .iter()
                .all(|c| !ids.contains(c))),
            "round {round}: the old containers are gone"
        );
        assert_eq!(sbx.exec_ok("python", "print('first')"), "first\n");
        assert_eq!(one_agent(&sbx), pid, "the agent itself was not restarted");
        // One run needs one container; a second one means the pool refilled
        // itself to its minimum.
        assert!(
            wait_until(Duration::from_secs(30), || containers_with(&label).len()
                >= 2),
            "round {round}: the pool was refilled to its minimum: {:?}\n{}",
            containers_with(&label),
            sbx.agent_log()
        );
        for i in 0..2 {
            assert_eq!(
                sbx.exec_ok("python", &format!("print({i})")),
                format!("{i}\n"),
                "round {round}"
            );
        }
    }
    assert!(
        sbx.agent_log()
            .contains("is gone (engine restarted or container removed)"),
        "{}",
        sbx.agent_log()
    );
}

#[test]
fn sigterm_lets_a_running_program_finish_then_removes_containers_and_socket() {
    let sbx = Sbx::new("sigterm");
    sbx.exec_ok("python", "print(1)");
    let label = sbx.agent_label();
    let pid = one_agent(&sbx);
    let mut run = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "import time\nprint('start', flush=True)\ntime.sleep(2)\nprint('done')",
    ]);
    let mut out = BufReader::new(run.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "start\n");

    kill(pid, libc::SIGTERM);
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert!(run.wait().unwrap().success(), "the busy run was drained");
    assert_eq!(rest, "done\n");

    assert!(sbx.wait_for_no_agent(Duration::from_secs(20)));
    assert!(containers_with(&label).is_empty(), "containers left behind");
    assert!(!sbx.agent_dir().join("agent.sock").exists(), "socket left");
    let log = sbx.agent_log();
    assert!(log.contains("SIGTERM received"), "{log}");
    assert!(log.contains("waiting up to"), "{log}");
}

#[test]
fn an_unused_agent_exits_on_its_own_but_one_with_pools_brought_up_stays() {
    let sbx = Sbx::new("idle");
    let with_idle = |args: &[&str]| {
        let out = sbx
            .cmd()
            .env("SBX_AGENT_IDLE_EXIT", "2s")
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        out
    };
    with_idle(&["exec", "--lang", "python", "print(1)"]);
    let label = sbx.agent_label();
    assert!(
        sbx.wait_for_no_agent(Duration::from_secs(15)),
        "an unused agent exits"
    );
    assert!(containers_with(&label).is_empty());
    assert!(sbx.agent_log().contains("SBX_AGENT_IDLE_EXIT"));

    with_idle(&["pool", "up"]);
    let pid = one_agent(&sbx);
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(sbx.agent_pids(), vec![pid], "pools brought up keep it");
    let status = stdout(&sbx.run(&["agent", "status"], ""));
    assert!(status.contains("brought up explicitly"), "{status}");
}

#[test]
fn agent_status_logs_stop_and_restart_do_what_they_say() {
    let sbx = Sbx::new("agentcmds");
    let out = sbx.run(&["agent", "status"], "");
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout(&out).contains("not running"));

    sbx.exec_ok("python", "print(1)");
    let pid = one_agent(&sbx);
    let status = stdout(&sbx.run(&["agent", "status"], ""));
    for want in [
        format!("pid {pid}"),
        format!("sbx {}", env!("CARGO_PKG_VERSION")),
        "uptime: ".into(),
        format!("socket: {}", sbx.agent_dir().join("agent.sock").display()),
        format!("engine: {} at ", common::engine()),
        ", reachable".into(),
        "pool: python (".into(),
        "exits after 15m without clients".into(),
    ] {
        assert!(status.contains(&want), "missing `{want}` in:\n{status}");
    }

    let logs = stdout(&sbx.run(&["agent", "logs"], ""));
    assert!(logs.contains(&format!("pid {pid} ")), "{logs}");
    let last = stdout(&sbx.run(&["agent", "logs", "-n", "1"], ""));
    assert_eq!(last.lines().count(), 1, "{last}");

    let mut follow = sbx.spawn(&["agent", "logs", "-f", "-n", "0"]);
    let mut followed = BufReader::new(follow.stdout.take().unwrap()).lines();

    let out = sbx.run(&["agent", "restart"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains(&format!("agent stopped (pid {pid})")));
    let new_pid = one_agent(&sbx);
    assert_ne!(new_pid, pid);

    // `logs -f` shows the old agent leaving and the new one arriving.
    let mut seen = Vec::new();
    while !seen
        .iter()
        .any(|l: &String| l.contains(&format!("pid {new_pid} ")))
    {
        seen.push(followed.next().unwrap().unwrap());
    }
    follow.kill().unwrap();
    follow.wait().unwrap();
    assert!(seen.iter().any(|l| l.contains("exiting")), "{seen:?}");

    let out = sbx.run(&["agent", "stop"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("agent stopped"), "{}", stdout(&out));
    assert!(sbx.wait_for_no_agent(Duration::from_secs(10)));
    let out = sbx.run(&["agent", "stop"], "");
    assert_eq!(stdout(&out), "no agent running\n");
}

#[test]
fn runtime_dir_and_log_can_be_overridden_and_verbose_says_what_happens() {
    let sbx = Sbx::new("overrides");
    let dir = sbx.root.join("elsewhere");
    let log = sbx.root.join("custom.log");
    let cmd = |args: &[&str]| {
        sbx.cmd()
            .env("SBX_RUNTIME_DIR", &dir)
            .env("SBX_LOG", &log)
            .args(args)
            .output()
            .unwrap()
    };
    let out = cmd(&["-v", "exec", "--lang", "python", "print('hi')"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hi\n");
    let err = stderr(&out);
    assert!(err.contains("sbx: spawned agent pid"), "{err}");
    assert!(err.contains("sbx: agent pid"), "{err}");

    let status = stdout(&cmd(&["agent", "status"]));
    assert!(
        status.contains(&format!("socket: {}", dir.join("agent.sock").display())),
        "{status}"
    );
    assert!(
        status.contains(&format!("log: {}", log.display())),
        "{status}"
    );
    assert!(std::fs::read_to_string(&log).unwrap().contains(" serving "));
    assert!(
        !sbx.agent_dir().exists(),
        "the default directory was not used"
    );

    // Without -v, sbx says nothing of its own.
    let out = cmd(&["exec", "--lang", "python", "print('quiet')"]);
    assert_eq!(stderr(&out), "");
    let out = cmd(&["agent", "stop"]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A dockerd of the test's own (own socket, data, exec root, pid file,
/// config file, no networking), so an engine restart can be tested without
/// disturbing the machine's engine. It runs in a network namespace of its
/// own (`unshare --net`), which goes away with it: a dockerd in the host's
/// namespace would change the host's interfaces (with `--bridge none` it
/// deletes the host engine's `docker0` at start-up). Its socket is a path,
/// reachable from any namespace. Stopped and removed on drop.
struct PrivateEngine {
    dir: std::path::PathBuf,
    host: String,
    daemon: Option<std::process::Child>,
}

impl PrivateEngine {
    fn start(name: &str) -> PrivateEngine {
        let dir =
            std::env::temp_dir().join(format!("sbx-it-dockerd-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let host = format!("unix://{}", dir.join("docker.sock").display());
        let mut engine = PrivateEngine {
            dir,
            host,
            daemon: None,
        };
        engine.launch();
        engine
    }

    fn launch(&mut self) {
        let d = &self.dir;
        // Not /etc/docker/daemon.json: the machine's settings are not ours.
        std::fs::write(d.join("daemon.json"), "{}\n").unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(d.join("dockerd.log"))
            .unwrap();
        // unshare(1) execs dockerd in the new namespace: the child is dockerd.
        let child = Command::new("unshare")
            .args(["--net", "dockerd"])
            .arg("--config-file")
            .arg(d.join("daemon.json"))
            .arg("--host")
            .arg(&self.host)
            .arg("--data-root")
            .arg(d.join("data"))
            .arg("--exec-root")
            .arg(d.join("exec"))
            .arg("--pidfile")
            .arg(d.join("docker.pid"))
            .args(["--bridge", "none", "--iptables=false", "--ip-masq=false"])
            .args(["--ip-forward=false", "--containerd-namespace", "sbx-it"])
            .args(["--containerd-plugins-namespace", "sbx-it-plugins"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("unshare and dockerd can be started (the tests run as root)");
        self.daemon = Some(child);
        assert!(
            wait_until(Duration::from_secs(30), || self
                .docker(&["version"])
                .status
                .success()),
            "the private dockerd did not come up; see {}",
            d.join("dockerd.log").display()
        );
        // Checked once it answers: by then unshare(1) has become dockerd.
        let pid = self.daemon.as_ref().unwrap().id();
        let netns = |of: &str| std::fs::read_link(format!("/proc/{of}/ns/net")).unwrap();
        assert_ne!(
            netns(&pid.to_string()),
            netns("self"),
            "the private dockerd runs in a network namespace of its own"
        );
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .arg("-H")
            .arg(&self.host)
            .args(args)
            .output()
            .unwrap()
    }

    /// Stop the daemon the way a restart does (SIGTERM, its containers die).
    fn stop(&mut self) {
        if let Some(mut child) = self.daemon.take() {
            kill(child.id(), libc::SIGTERM);
            child.wait().unwrap();
        }
    }
}

impl Drop for PrivateEngine {
    fn drop(&mut self) {
        if self.daemon.is_some() {
            let ids = stdout(&self.docker(&["ps", "-aq"]));
            for id in ids.split_whitespace() {
                let _ = self.docker(&["rm", "-f", id]);
            }
        }
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_restart_of_the_container_engine_is_survived_and_runs_resume() {
    if !common::only_on(
        "docker",
        "it starts and restarts a private dockerd of its own",
    ) {
        return;
    }
    let mut engine = PrivateEngine::start("restart");
    let image = test_image();
    let load = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "docker save {image} | docker -H {} load -q",
            engine.host
        ))
        .output()
        .unwrap();
    assert!(load.status.success(), "{}", stderr(&load));

    let sbx = Sbx::new("engine-restart");
    let mut cfg = std::fs::read_to_string(&sbx.config).unwrap();
    cfg.push_str("\n[pool]\nmin_size = 1\n");
    std::fs::write(&sbx.config, cfg).unwrap();
    let host = engine.host.clone();
    let run = |args: &[&str]| {
        let out = sbx
            .cmd()
            .env("DOCKER_HOST", &host)
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        stdout(&out)
    };
    run(&["pool", "up", "--warm", "2"]);
    assert_eq!(
        run(&["exec", "--lang", "python", "print('before')"]),
        "before\n"
    );
    let pid = one_agent(&sbx);

    engine.stop();
    // While the engine is away a run fails with a reason and the way out.
    let out = sbx
        .cmd()
        .env("DOCKER_HOST", &host)
        .args(["exec", "--lang", "python", "print('lost')"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(err.contains("cannot reach the container engine"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    engine.launch();

    for i in 0..3 {
        assert_eq!(
            run(&["exec", "--lang", "python", &format!("print({i})")]),
            format!("{i}\n")
        );
    }
    assert_eq!(one_agent(&sbx), pid, "the agent itself was not restarted");
    assert!(
        sbx.agent_log().contains("is gone (engine restarted"),
        "{}",
        sbx.agent_log()
    );
    let status = run(&["agent", "status"]);
    assert!(status.contains(&host), "{status}");
    assert!(status.contains(", reachable"), "{status}");
    run(&["agent", "stop"]);
    let left = engine.docker(&["ps", "-aq"]);
    assert_eq!(stdout(&left), "", "containers left in the engine");
}

/// The protocol this build speaks, read from its source so that a bump of
/// `PROTOCOL_VERSION` does not leave these tests speaking an old one.
fn protocol_version() -> u32 {
    include_str!("../src/protocol.rs")
        .lines()
        .find_map(|l| l.strip_prefix("pub const PROTOCOL_VERSION: u32 = "))
        .and_then(|v| v.trim_end_matches(';').parse().ok())
        .expect("src/protocol.rs defines PROTOCOL_VERSION")
}
