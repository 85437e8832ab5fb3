//! The pool engine end to end: sizes, exhaustion strategies, health and
//! draining, with the real binary, the real agent and real Docker.

mod common;

use common::{Sbx, containers_with, stderr, stdout};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// A test environment whose config has `pool` as its `[pool]` section.
fn sbx_with_pool(name: &str, pool: &str) -> Sbx {
    let sbx = Sbx::new(name);
    let mut config = std::fs::read_to_string(&sbx.config).unwrap();
    config.push_str(&format!("\n[pool]\n{pool}\n"));
    std::fs::write(&sbx.config, config).unwrap();
    sbx
}

fn stats(sbx: &Sbx) -> serde_json::Value {
    let out = sbx.run(&["pool", "stats", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pools = v["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "one pool: {v}");
    pools[0].clone()
}

fn pool_up(sbx: &Sbx) {
    let out = sbx.run(&["pool", "up"], "");
    assert!(out.status.success(), "pool up: {}", stderr(&out));
}

/// Start `n` concurrent runs that each sleep `secs`, then print their index.
fn concurrent_runs(sbx: &Sbx, n: usize, secs: f64) -> Vec<Output> {
    let children: Vec<_> = (0..n)
        .map(|i| {
            sbx.spawn(&[
                "exec",
                "--lang",
                "python",
                &format!("import time; time.sleep({secs}); print({i})"),
            ])
        })
        .collect();
    children
        .into_iter()
        .map(|c| c.wait_with_output().unwrap())
        .collect()
}

/// A run that holds its container until the test releases it.
struct Gated {
    child: std::process::Child,
    stdin: Option<std::process::ChildStdin>,
}

/// Start `n` concurrent runs that each print `holding`, wait for a line on
/// their stdin (the test's gate), then print their index.
fn gated_runs(sbx: &Sbx, n: usize) -> Vec<Gated> {
    (0..n)
        .map(|i| {
            let mut child = sbx
                .cmd()
                .args([
                    "exec",
                    "--lang",
                    "python",
                    "--timeout",
                    "5m",
                    &format!(
                        "import sys\nprint('holding', flush=True)\nsys.stdin.readline()\nprint({i})"
                    ),
                ])
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("sbx binary runs");
            let stdin = child.stdin.take();
            Gated { child, stdin }
        })
        .collect()
}

/// Wait until exactly `refused` of the runs have ended (the others hold
/// their containers until released), check each was refused for
/// `option`, then release the holders and check that they succeed.
fn refused_while_the_rest_hold(mut runs: Vec<Gated>, refused: usize, option: &str) {
    assert!(
        poll_until(Duration::from_secs(120), || {
            runs.iter_mut()
                .map(|r| r.child.try_wait().unwrap().is_some())
                .filter(|ended| *ended)
                .count()
                >= refused
        }),
        "{refused} runs were not refused"
    );
    let mut holders = Vec::new();
    for (i, mut r) in runs.into_iter().enumerate() {
        if r.child.try_wait().unwrap().is_some() {
            assert_exhausted(&r.child.wait_with_output().unwrap(), option);
        } else {
            holders.push((i, r));
        }
    }
    assert_eq!(holders.len(), 2, "two containers, two runs");
    for (i, mut r) in holders {
        r.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let out = r.child.wait_with_output().unwrap();
        assert!(out.status.success(), "run {i}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("holding\n{i}\n"));
    }
}

fn poll_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < limit {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

/// Exhaustion failures: exit 75 and one line naming the pool, its size and
/// what to change.
fn assert_exhausted(out: &Output, option: &str) {
    assert_eq!(out.status.code(), Some(75), "{}", stderr(out));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    for needle in ["pool `python` is exhausted", "all 2 ", "max_size", option] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    assert_eq!(stdout(out), "", "no program output");
}

#[test]
fn six_runs_on_a_pool_of_two_that_waits_all_succeed_two_at_a_time() {
    let sbx = sbx_with_pool(
        "wait",
        "min_size = 2\nmax_size = 2\nexhaustion = \"wait\"\nacquisition_timeout = \"60s\"",
    );
    pool_up(&sbx);
    let started = Instant::now();
    let outs = concurrent_runs(&sbx, 6, 1.0);
    let elapsed = started.elapsed();
    for (i, out) in outs.iter().enumerate() {
        assert!(out.status.success(), "run {i}: {}", stderr(out));
        assert_eq!(stdout(out), format!("{i}\n"));
    }
    assert!(
        elapsed >= Duration::from_secs(3),
        "six 1 s runs on two containers queue in three rounds ({elapsed:?})"
    );
    // A run is counted once its container has cleaned up, just after the
    // client has its answer.
    assert!(
        poll_until(Duration::from_secs(10), || stats(&sbx)["runs"] == 6),
        "{}",
        stats(&sbx)
    );
    let s = stats(&sbx);
    assert_eq!(s["created"], 2, "{s}");
    assert_eq!(s["temporary_created"], 0, "{s}");
}

#[test]
fn runs_that_wait_longer_than_the_acquisition_timeout_fail_with_exit_75() {
    let sbx = sbx_with_pool(
        "wait-timeout",
        "min_size = 2\nmax_size = 2\nexhaustion = \"wait\"\nacquisition_timeout = \"1s\"",
    );
    pool_up(&sbx);
    refused_while_the_rest_hold(gated_runs(&sbx, 6), 4, "acquisition_timeout");
    assert_eq!(stats(&sbx)["created"], 2);
}

#[test]
fn fail_fast_refuses_the_runs_beyond_max_size_at_once_with_exit_75() {
    let sbx = sbx_with_pool(
        "fail-fast",
        "min_size = 2\nmax_size = 2\nexhaustion = \"fail-fast\"",
    );
    pool_up(&sbx);
    refused_while_the_rest_hold(gated_runs(&sbx, 6), 4, "fail-fast");
    assert!(
        poll_until(Duration::from_secs(10), || stats(&sbx)["runs"] == 2),
        "{}",
        stats(&sbx)
    );
    assert_eq!(stats(&sbx)["created"], 2);
}

#[test]
fn temporary_serves_every_run_and_removes_the_overflow_containers() {
    let sbx = sbx_with_pool(
        "temporary",
        "min_size = 2\nmax_size = 2\nexhaustion = \"temporary\"",
    );
    pool_up(&sbx);
    let label = sbx.agent_label();
    // All six hold a container at once before any is released.
    let mut runs = gated_runs(&sbx, 6);
    for r in &mut runs {
        let mut line = String::new();
        BufReader::new(r.child.stdout.as_mut().unwrap())
            .read_line(&mut line)
            .unwrap();
        assert_eq!(line, "holding\n");
    }
    for (i, mut r) in runs.into_iter().enumerate() {
        r.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let out = r.child.wait_with_output().unwrap();
        assert!(out.status.success(), "run {i}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{i}\n"));
    }
    let s = stats(&sbx);
    assert_eq!(s["created"], 2, "the pool itself stayed at max_size: {s}");
    assert_eq!(s["temporary_created"], 4, "{s}");
    assert!(
        poll_until(Duration::from_secs(20), || {
            stats(&sbx)["temporary"] == 0 && containers_with(&label).len() == 2
        }),
        "temporaries removed, the two pool containers remain: {}",
        stats(&sbx)
    );
}

#[test]
fn a_container_killed_from_outside_is_noticed_replaced_and_never_used_again() {
    let sbx = sbx_with_pool(
        "kill",
        "min_size = 1\nmax_size = 2\nhealth_check_interval = \"1s\"",
    );
    pool_up(&sbx);
    let label = sbx.agent_label();
    let before = containers_with(&label);
    assert_eq!(before.len(), 1, "{before:?}");
    let victim = &before[0];
    let kill = Command::new(common::engine())
        .args(["kill", victim])
        .output()
        .unwrap();
    assert!(kill.status.success(), "{kill:?}");

    assert!(
        poll_until(Duration::from_secs(20), || {
            let s = stats(&sbx);
            s["unhealthy_total"] == 1 && s["idle"] == 1
        }),
        "the kill is noticed and a replacement is warm: {}",
        stats(&sbx)
    );
    let after = containers_with(&label);
    assert_eq!(after.len(), 1, "{after:?}");
    assert!(
        !victim.starts_with(after[0].as_str()) && !after[0].starts_with(victim.as_str()),
        "a new container, not the killed one"
    );
    for i in 0..5 {
        let out = sbx.run(&["exec", "--lang", "python", &format!("print({i})")], "");
        assert!(out.status.success(), "run {i}: {}", stderr(&out));
        assert_eq!(stdout(&out), format!("{i}\n"));
    }
    assert!(
        poll_until(Duration::from_secs(10), || stats(&sbx)["runs"] == 5),
        "{}",
        stats(&sbx)
    );
    let s = stats(&sbx);
    assert_eq!(s["created"], 2, "every run used the replacement: {s}");
}

#[test]
fn pool_up_brings_min_size_containers_up_and_takes_its_settings_from_flags() {
    let sbx = Sbx::new("up-flags");
    let out = sbx.run(
        &[
            "pool",
            "up",
            "--min",
            "3",
            "--max",
            "4",
            "--exhaustion",
            "fail-fast",
            "--idle-timeout",
            "none",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("3 warm container(s)"),
        "{}",
        stdout(&out)
    );
    let s = stats(&sbx);
    assert_eq!(
        (
            s["idle"].as_u64(),
            s["min_size"].as_u64(),
            s["max_size"].as_u64()
        ),
        (Some(3), Some(3), Some(4))
    );
    assert_eq!(s["exhaustion"], "fail-fast");
}

#[test]
fn bad_pool_settings_are_refused_before_anything_is_created() {
    let sbx = Sbx::new("bad-settings");
    let out = sbx.run(&["pool", "up", "--min", "5", "--max", "2"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("min_size"), "{}", stderr(&out));
    let out = sbx.run(&["pool", "up", "--idle-timeout=-5s"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("idle_timeout"), "{}", stderr(&out));

    let bad = sbx_with_pool("bad-config", "max_lifetime = \"forever\"");
    let out = bad.run(&["exec", "--lang", "python", "print(1)"], "");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("pool.max_lifetime"),
        "{}",
        stderr(&out)
    );
    assert!(sbx.agent_pids().is_empty() && bad.agent_pids().is_empty());
}

#[test]
fn pool_down_lets_a_busy_run_finish_before_removing_everything() {
    let sbx = sbx_with_pool("drain", "min_size = 1\nmax_size = 2");
    pool_up(&sbx);
    let label = sbx.agent_label();
    let run = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "import time; time.sleep(2); print('finished')",
    ]);
    assert!(
        poll_until(Duration::from_secs(10), || stats(&sbx)["busy"] == 1),
        "the run started"
    );
    let down = sbx.run(&["pool", "down"], "");
    assert!(down.status.success(), "{}", stderr(&down));
    let out = run.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "finished\n");
    assert!(containers_with(&label).is_empty());
}

#[test]
fn pool_down_force_cancels_a_busy_run() {
    let sbx = sbx_with_pool("drain-force", "min_size = 1\nmax_size = 2");
    pool_up(&sbx);
    let label = sbx.agent_label();
    let run = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "import time; time.sleep(60); print('finished')",
    ]);
    assert!(
        poll_until(Duration::from_secs(10), || stats(&sbx)["busy"] == 1),
        "the run started"
    );
    let down = sbx.run(&["pool", "down", "--force"], "");
    assert!(down.status.success(), "{}", stderr(&down));
    let out = run.wait_with_output().unwrap();
    // Cancelled, not waited for: a finished run would exit 0.
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("cancelled"), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(containers_with(&label).is_empty());
}

#[test]
fn the_lease_comes_back_after_a_timeout_a_program_error_and_a_vanished_client() {
    // One container: a lease kept by any of these would block the next run.
    let sbx = sbx_with_pool("lease", "max_size = 1\nacquisition_timeout = \"20s\"");
    let out = sbx.run(
        &[
            "exec",
            "--timeout",
            "1s",
            "--lang",
            "python",
            "import time; time.sleep(30)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let out = sbx.run(&["exec", "--lang", "python", "raise SystemExit(7)"], "");
    assert_eq!(out.status.code(), Some(7), "{}", stderr(&out));

    let mut client = sbx.spawn(&["exec", "--lang", "python", "import time; time.sleep(30)"]);
    assert!(
        poll_until(Duration::from_secs(10), || stats(&sbx)["busy"] == 1),
        "the run started"
    );
    client.kill().unwrap();
    client.wait().unwrap();

    assert!(
        poll_until(Duration::from_secs(15), || stats(&sbx)["busy"] == 0),
        "{}",
        stats(&sbx)
    );
    assert_eq!(sbx.exec_ok("python", "print('next')"), "next\n");
    let s = stats(&sbx);
    assert_eq!(s["total_size"], 1, "{s}");
}

#[test]
fn the_pooled_containers_of_a_killed_agent_remove_themselves() {
    let sbx = sbx_with_pool("agent-killed", "min_size = 2\nmax_size = 2");
    pool_up(&sbx);
    let label = sbx.agent_label();
    assert_eq!(containers_with(&label).len(), 2);
    for pid in sbx.agent_pids() {
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
    }
    // The guest sees its stdin close with the agent's attach stream, exits,
    // and auto-remove deletes the container.
    assert!(
        poll_until(Duration::from_secs(20), || containers_with(&label)
            .is_empty()),
        "left behind: {:?}",
        containers_with(&label)
    );
}
