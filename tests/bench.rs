//! `sbx bench` and `sbx run --no-pool`, end to end against the real engine.
//! Speed is not asserted here (that is what `sbx bench` reports); these
//! tests check that every mode is measured, reported consistently, and
//! leaves nothing behind.

mod common;

use common::{Sbx, containers_with, engine, examples_dir, stderr, stdout, wait_until};
use serde_json::Value;
use std::time::Duration;

/// Whether the engine still knows a container (by any unique id prefix).
fn container_exists(id: &str) -> bool {
    std::process::Command::new(engine())
        .args(["inspect", "--format", "{{.Id}}", id])
        .output()
        .expect("the engine's CLI is available")
        .status
        .success()
}

/// This test's containers (its agent's label) of one pool label: tests
/// run in parallel, each with an agent of its own.
fn ours_in(agent_label: &str, pool: &str) -> Vec<String> {
    let out = std::process::Command::new(engine())
        .args(["ps", "-a", "-q", "--filter"])
        .arg(format!("label={agent_label}"))
        .arg("--filter")
        .arg(format!("label=io.sbx.pool={pool}"))
        .output()
        .expect("the engine's CLI is available");
    assert!(out.status.success(), "ps failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(String::from)
        .collect()
}

fn json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        stderr(out)
    );
    serde_json::from_str(&stdout(out)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn python_pool_stats(sbx: &Sbx) -> Value {
    let stats = json(&sbx.run(&["pool", "stats", "--json"], ""));
    stats["pools"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "python")
        .cloned()
        .unwrap_or_else(|| panic!("no python pool: {stats}"))
}

#[test]
fn bench_prints_a_table_with_median_p95_min_throughput_and_speed_up_for_every_mode() {
    let sbx = Sbx::new("bench-table");
    let out = sbx.run(&["bench", "--runs", "3", "--warmup", "1"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        text.starts_with("sbx bench: python hello, image "),
        "{text}"
    );
    assert!(
        text.contains("3 run(s) per mode at concurrency 1"),
        "{text}"
    );
    let header = text
        .lines()
        .find(|l| l.contains("median ms"))
        .unwrap_or_else(|| panic!("no header: {text}"));
    for col in [
        "mode",
        "runs",
        "median ms",
        "p95 ms",
        "min ms",
        "runs/s",
        "pool speed-up",
    ] {
        assert!(header.contains(col), "{col} missing: {header}");
    }
    let row = |name: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.contains(name))
            .unwrap_or_else(|| panic!("no row for {name}: {text}"));
        line.split(['│', '┆'])
            .map(|c| c.trim().to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    let pool = row("warm pool (sbx run)");
    let fresh = row("fresh container per run (sbx run --no-pool)");
    let exec = row("engine exec into a running container");
    for cells in [&pool, &fresh, &exec] {
        assert_eq!(cells.len(), 7, "{cells:?}");
        assert_eq!(cells[1], "3", "runs: {cells:?}");
        let num = |i: usize| -> f64 { cells[i].parse().unwrap_or_else(|_| panic!("{cells:?}")) };
        assert!(
            num(4) <= num(2) && num(2) <= num(3),
            "min <= median <= p95: {cells:?}"
        );
        assert!(num(5) > 0.0, "runs/s: {cells:?}");
    }
    assert_eq!(pool[6], "-", "the pool is not compared with itself");
    for cells in [&fresh, &exec] {
        let speedup: f64 = cells[6].trim_end_matches('x').parse().unwrap();
        let want = cells[2].parse::<f64>().unwrap() / pool[2].parse::<f64>().unwrap();
        assert!(
            (speedup - want).abs() <= 0.05 * want + 0.1,
            "speed-up {speedup} is median over the pool's median ({want}): {cells:?}"
        );
    }
    assert!(
        text.contains("The warm pool (median "),
        "a one-line summary follows the table: {text}"
    );
    assert!(
        stderr(&out).is_empty(),
        "no progress bar when stderr is not a terminal: {}",
        stderr(&out)
    );
}

#[test]
fn bench_json_reports_every_mode_consistently_and_leaves_only_the_pool_behind() {
    let sbx = Sbx::new("bench-json");
    let label = sbx.agent_label();
    let out = sbx.run(
        &[
            "bench",
            "--lang",
            "javascript",
            "--runs",
            "3",
            "--concurrency",
            "2",
            "--json",
        ],
        "",
    );
    let doc = json(&out);
    assert_eq!(doc["lang"], "javascript");
    assert_eq!(doc["image"], common::test_image());
    assert_eq!(doc["backend"], engine());
    assert_eq!(doc["runs"], 3);
    assert_eq!(doc["concurrency"], 2);
    assert_eq!(doc["warmup_rounds"], 2);
    assert_eq!(
        doc["cpus"],
        std::thread::available_parallelism().unwrap().get(),
        "the CPUs this machine offers"
    );
    let modes = doc["modes"].as_array().unwrap();
    let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(names, ["pool", "spawn", "fresh", "exec"]);
    let f = |m: &Value, k: &str| m[k].as_f64().unwrap_or_else(|| panic!("{k} in {m}"));
    let pool_median = f(&modes[0], "median_ms");
    for m in modes {
        assert_eq!(m["runs"], 3, "{m}");
        let samples: Vec<f64> = m["samples_ms"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect();
        assert_eq!(samples.len(), 3, "{m}");
        let mut sorted = samples.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((f(m, "median_ms") - sorted[1]).abs() < 0.01, "{m}");
        assert!((f(m, "min_ms") - sorted[0]).abs() < 0.01, "{m}");
        assert!((f(m, "max_ms") - sorted[2]).abs() < 0.01, "{m}");
        assert!(
            (f(m, "p95_ms") - sorted[2]).abs() < 0.01,
            "p95 of 3 is the max: {m}"
        );
        assert!(f(m, "runs_per_sec") > 0.0, "{m}");
        assert!(!m["description"].as_str().unwrap().is_empty());
    }
    assert!(modes[0]["pool_speedup"].is_null());
    for m in &modes[1..] {
        let want = f(m, "median_ms") / pool_median;
        assert!(
            (f(m, "pool_speedup") - want).abs() < 0.01 + want * 0.001,
            "{m}"
        );
    }

    // The fresh containers and the exec mode's container are gone; the
    // pool's warm ones stay for the next run, as after any `sbx run`.
    assert!(ours_in(&label, "javascript-no-pool").is_empty());
    assert!(ours_in(&label, "javascript-bench-exec").is_empty());
    let ours = containers_with(&label);
    let pooled = ours_in(&label, "javascript");
    assert!(
        !ours.is_empty() && ours.iter().all(|c| pooled.contains(c)),
        "{ours:?}"
    );
}

#[test]
fn bench_measures_only_the_modes_asked_for() {
    let sbx = Sbx::new("bench-modes");
    let doc = json(&sbx.run(
        &[
            "bench", "--runs", "2", "--warmup", "0", "--modes", "pool", "--json",
        ],
        "",
    ));
    let modes = doc["modes"].as_array().unwrap();
    assert_eq!(modes.len(), 1, "{doc}");
    assert_eq!(modes[0]["mode"], "pool");
    assert_eq!(modes[0]["runs"], 2);
}

#[test]
fn bench_compares_python_with_its_interpreter_started_per_run_and_removes_that_pool() {
    let sbx = Sbx::new("bench-spawn");
    let label = sbx.agent_label();
    let doc = json(&sbx.run(
        &[
            "bench",
            "--runs",
            "2",
            "--warmup",
            "1",
            "--modes",
            "pool,spawn",
            "--json",
        ],
        "",
    ));
    let modes = doc["modes"].as_array().unwrap();
    let names: Vec<&str> = modes.iter().map(|m| m["mode"].as_str().unwrap()).collect();
    assert_eq!(names, ["pool", "spawn"], "{doc}");
    assert!(modes[1]["pool_speedup"].as_f64().unwrap() > 0.0, "{doc}");
    assert!(
        wait_until(Duration::from_secs(20), || ours_in(&label, "python-spawn")
            .is_empty()),
        "the comparison's pool is removed"
    );
    assert!(
        !ours_in(&label, "python").is_empty(),
        "the pool `sbx run` uses stays"
    );
}

#[test]
fn bench_refuses_nonsense_counts_and_modes_with_a_usage_error() {
    let sbx = Sbx::new("bench-usage");
    for (args, says) in [
        (&["bench", "--runs", "0"][..], "at least 1"),
        (&["bench", "--concurrency", "0"], "at least 1"),
        (
            &["bench", "--modes", "pool,teleport"],
            "possible values: pool, spawn, fresh, exec",
        ),
        (&["bench", "--lang", "cobol"], "unknown language `cobol`"),
    ] {
        let out = sbx.run(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(says), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty(), "{args:?}");
    }
    assert!(
        sbx.agent_pids().is_empty(),
        "no agent was started for bad input"
    );
}

#[test]
fn run_no_pool_uses_a_fresh_container_that_is_gone_afterwards_and_leaves_the_pool_untouched() {
    let sbx = Sbx::new("no-pool");
    sbx.limit_pool_to_one_container();
    let label = sbx.agent_label();
    let pooled = json(&sbx.run(&["exec", "--lang", "python", "--json", "print(1)"], ""));
    let pool_container = pooled["container"].as_str().unwrap().to_string();
    let before = python_pool_stats(&sbx);
    assert_eq!(before["runs"], 1);

    let code = "import socket; print(socket.gethostname())";
    let fresh = json(&sbx.run(
        &["exec", "--lang", "python", "--no-pool", "--json", code],
        "",
    ));
    let container = fresh["container"].as_str().unwrap();
    assert_eq!(fresh["exit_code"], 0);
    assert_eq!(
        fresh["stdout"].as_str().unwrap().trim(),
        container,
        "the program ran in the container the result names"
    );
    assert_ne!(container, pool_container, "not the pool's container");
    assert!(fresh["pool"].is_null(), "no pool served it: {fresh}");
    assert!(
        !container_exists(container),
        "the fresh container is removed before sbx returns"
    );

    let after = python_pool_stats(&sbx);
    for key in [
        "runs",
        "total_size",
        "created",
        "removed",
        "temporary_created",
        "idle",
    ] {
        assert_eq!(after[key], before[key], "{key}: {before} vs {after}");
    }
    let again = json(&sbx.run(&["exec", "--lang", "python", "--json", "print(2)"], ""));
    assert_eq!(
        again["container"],
        pool_container.as_str(),
        "the pool still serves"
    );

    // Streaming, stdin and exit codes work as for pooled runs.
    let hello = examples_dir().join("hello.py");
    let out = sbx.run(&["run", "--no-pool", hello.to_str().unwrap()], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hello from sbx\n");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--no-pool",
            "import sys; print(sys.stdin.read().upper()); sys.exit(3)",
        ],
        "shout",
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "SHOUT\n");
    assert!(ours_in(&label, "python-no-pool").is_empty());
}

#[test]
fn pool_down_lets_a_running_no_pool_run_finish_and_removes_its_container() {
    let sbx = Sbx::new("no-pool-down");
    let label = sbx.agent_label();
    let child = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "--no-pool",
        "import time; time.sleep(3); print('finished')",
    ]);
    assert!(
        wait_until(Duration::from_secs(30), || !ours_in(
            &label,
            "python-no-pool"
        )
        .is_empty()),
        "the run's container appears"
    );
    let down = sbx.run(&["pool", "down"], "");
    assert!(down.status.success(), "{}", stderr(&down));
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "finished\n");
    assert!(ours_in(&label, "python-no-pool").is_empty());
    assert!(
        containers_with(&label).is_empty(),
        "pool down removed everything"
    );
}

#[test]
fn pool_down_force_cancels_a_running_no_pool_run_and_removes_its_container() {
    let sbx = Sbx::new("no-pool-force");
    let label = sbx.agent_label();
    let child = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "--no-pool",
        "import time; time.sleep(120); print('finished')",
    ]);
    assert!(
        wait_until(Duration::from_secs(30), || !ours_in(
            &label,
            "python-no-pool"
        )
        .is_empty()),
        "the run's container appears"
    );
    let started = std::time::Instant::now();
    let down = sbx.run(&["pool", "down", "--force"], "");
    assert!(down.status.success(), "{}", stderr(&down));
    let out = child.wait_with_output().unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "cancelled, not waited for"
    );
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("cancelled"), "{}", stderr(&out));
    assert!(stdout(&out).is_empty());
    assert!(containers_with(&label).is_empty(), "nothing is left");
}
