//! `sbx pool stats` end to end: exact counts after a known sequence of
//! runs, Prometheus output read back by a real parser, and `--watch` in a
//! real terminal (tmux) and in a pipe.

mod common;

use common::{Sbx, stderr, stdout, wait_until};
use serde_json::Value;
use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

fn sbx_with_pool(name: &str, pool: &str) -> Sbx {
    let sbx = Sbx::new(name);
    let mut config = std::fs::read_to_string(&sbx.config).unwrap();
    config.push_str(&format!("\n[pool]\n{pool}\n"));
    std::fs::write(&sbx.config, config).unwrap();
    sbx
}

fn all_stats(sbx: &Sbx) -> Value {
    let out = sbx.run(&["pool", "stats", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn stats(sbx: &Sbx) -> Value {
    let v = all_stats(sbx);
    let pools = v["pools"].as_array().unwrap();
    assert_eq!(pools.len(), 1, "one pool: {v}");
    pools[0].clone()
}

/// Waits until the only pool has a busy container (the pool may not
/// exist yet when this starts).
fn wait_for_busy(sbx: &Sbx) {
    assert!(
        wait_until(
            Duration::from_secs(20),
            || all_stats(sbx)["pools"][0]["busy"] == 1
        ),
        "{}",
        all_stats(sbx)
    );
}

fn exec(sbx: &Sbx, args: &[&str]) -> Output {
    let mut all = vec!["exec", "--lang", "python"];
    all.extend_from_slice(args);
    sbx.run(&all, "")
}

/// Every sample of a Prometheus text exposition, as read by the Python
/// `prometheus_client` parser: the reference parser of the Prometheus
/// project's own Python client, and stricter than a hand-rolled one. It
/// runs in `SBX_TEST_PYTHON`, the virtual environment scripts/test.sh
/// installs it into (target/test-venv), not the machine's Python.
fn parse_prometheus(text: &str) -> Vec<Value> {
    const SCRIPT: &str = r#"
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(sys.stdin.read()):
    for s in fam.samples:
        v = None if math.isnan(s.value) else s.value
        out.append({"type": fam.type, "name": s.name, "labels": s.labels, "value": v})
print(json.dumps(out))
"#;
    let python = std::env::var("SBX_TEST_PYTHON").expect(
        "SBX_TEST_PYTHON is not set: run the tests with `bash scripts/test.sh`, which makes a Python with prometheus_client in target/test-venv",
    );
    let mut child = Command::new(&python)
        .args(["-c", SCRIPT])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("SBX_TEST_PYTHON={python} does not run: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "the Prometheus parser rejected the output: {}\n{text}",
        stderr(&out)
    );
    serde_json::from_slice::<Value>(&out.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The one sample called `name` whose labels include `labels`.
fn sample<'a>(samples: &'a [Value], name: &str, labels: &[(&str, &str)]) -> &'a Value {
    let found: Vec<&Value> = samples
        .iter()
        .filter(|s| s["name"] == name && labels.iter().all(|(k, v)| s["labels"][*k] == *v))
        .collect();
    assert_eq!(found.len(), 1, "{name} {labels:?}: {found:?}");
    found[0]
}

#[test]
fn after_runs_a_timeout_a_fail_fast_refusal_and_an_idle_recycle_json_and_prometheus_show_exactly_those_counts()
 {
    let sbx = sbx_with_pool(
        "stats-seq",
        "min_size = 0\nmax_size = 1\nexhaustion = \"fail-fast\"\nidle_timeout = \"15s\"",
    );
    // Three runs, the first creating the pool's only container.
    for i in 0..3 {
        let out = exec(&sbx, &[&format!("print({i})")]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    // One that times out.
    let out = exec(&sbx, &["--timeout", "1s", "import time; time.sleep(30)"]);
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    // One that keeps the container busy, held by the test until another
    // has been refused, and then runs for 2.5 s.
    let mut long = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "import sys, time\nsys.stdin.readline()\ntime.sleep(2.5)\nprint('long')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_busy(&sbx);
    let busy = stats(&sbx);
    assert_eq!(busy["utilization"], 1.0, "{busy}");
    let refused = exec(&sbx, &["print('never')"]);
    assert_eq!(refused.status.code(), Some(75), "{}", stderr(&refused));
    long.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let long = long.wait_with_output().unwrap();
    assert_eq!(stdout(&long), "long\n", "{}", stderr(&long));
    // Then nothing: idle_timeout recycles the container (min_size is 0).
    // (15 s: no gap between the runs above comes near it, however busy
    // the machine.)
    assert!(
        wait_until(Duration::from_secs(60), || {
            let s = stats(&sbx);
            s["removed"] == 1 && s["total_size"] == 0 && s["removing"] == 0
        }),
        "{}",
        stats(&sbx)
    );

    let s = stats(&sbx);
    let expect = [
        ("runs", 5),
        ("timeouts", 1),
        ("exhausted", 1),
        ("waited", 0),
        ("created", 1),
        ("removed", 1),
        ("temporary_created", 0),
        ("temporary_removed", 0),
        ("unhealthy_total", 0),
        ("total_size", 0),
        ("max_size", 1),
        ("min_size", 0),
        ("busy", 0),
    ];
    for (field, n) in expect {
        assert_eq!(s[field], n, "{field}: {s}");
    }
    assert_eq!(s["closed"], false);
    assert_eq!(s["profile"], "default");
    assert_eq!(
        s["created_by_reason"],
        serde_json::json!({"warm": 0, "demand": 1, "replacement": 0})
    );
    assert_eq!(
        s["removed_by_reason"],
        serde_json::json!({"idle": 1, "lifetime": 0, "uses": 0, "unhealthy": 0, "error": 0, "shutdown": 0})
    );
    assert_eq!(
        s["state_counts"],
        serde_json::json!({"initializing": 0, "idle": 0, "busy": 0, "unhealthy": 0, "removing": 0})
    );
    // Five containers handed out (the refusal got none), five runs timed.
    assert_eq!(s["wait_seconds"]["count"], 5, "{s}");
    assert_eq!(s["run_seconds"]["count"], 5, "{s}");
    // The 2.5 s run is the slowest of five: the nearest-rank p95.
    let run = &s["run_seconds"];
    let (median, p95) = (
        run["median"].as_f64().unwrap(),
        run["p95"].as_f64().unwrap(),
    );
    assert!(p95 >= 2.5, "{run}");
    assert!(median <= p95 && median > 0.0, "{run}");
    assert!(
        run["sum"].as_f64().unwrap() >= 3.5,
        "2.5 s + 1 s at least: {run}"
    );

    // The same figures in Prometheus form, read by a real parser.
    let out = sbx.run(&["pool", "stats", "--format", "prometheus"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(!text.contains('\x1b'));
    let samples = parse_prometheus(&text);
    let pool = [("pool", "python"), ("profile", "default")];
    let id = s["id"].as_str().unwrap();
    assert_eq!(sample(&samples, "sbx_pool_info", &pool)["labels"]["id"], id);
    let counters = [
        ("sbx_pool_runs_total", "runs"),
        ("sbx_pool_run_timeouts_total", "timeouts"),
        ("sbx_pool_exhausted_total", "exhausted"),
        ("sbx_pool_acquisitions_waited_total", "waited"),
        (
            "sbx_pool_temporary_containers_created_total",
            "temporary_created",
        ),
    ];
    for (metric, field) in counters {
        let got = sample(&samples, metric, &pool);
        assert_eq!(got["type"], "counter", "{metric}");
        assert_eq!(got["value"].as_f64(), s[field].as_f64(), "{metric}");
    }
    let gauges = [
        ("sbx_pool_size", "total_size"),
        ("sbx_pool_max_size", "max_size"),
        ("sbx_pool_min_size", "min_size"),
        ("sbx_pool_utilization_ratio", "utilization"),
        ("sbx_pool_start_time_seconds", "start_time_seconds"),
        ("sbx_pool_temporary_containers", "temporary"),
    ];
    for (metric, field) in gauges {
        let got = sample(&samples, metric, &pool);
        assert_eq!(got["type"], "gauge", "{metric}");
        assert_eq!(got["value"].as_f64(), s[field].as_f64(), "{metric}");
    }
    for state in ["initializing", "idle", "busy", "unhealthy", "removing"] {
        let got = sample(&samples, "sbx_pool_containers", &[("state", state)]);
        assert_eq!(got["value"].as_f64(), s["state_counts"][state].as_f64());
    }
    for (reason, n) in s["created_by_reason"].as_object().unwrap() {
        let got = sample(
            &samples,
            "sbx_pool_containers_created_total",
            &[("reason", reason)],
        );
        assert_eq!(got["value"].as_f64(), n.as_f64(), "created {reason}");
    }
    for (reason, n) in s["removed_by_reason"].as_object().unwrap() {
        let got = sample(
            &samples,
            "sbx_pool_containers_removed_total",
            &[("reason", reason)],
        );
        assert_eq!(got["type"], "counter");
        assert_eq!(got["value"].as_f64(), n.as_f64(), "removed {reason}");
    }
    for (metric, field) in [
        ("sbx_pool_wait_seconds", "wait_seconds"),
        ("sbx_pool_run_duration_seconds", "run_seconds"),
    ] {
        let l = &s[field];
        let q50 = sample(&samples, metric, &[("quantile", "0.5")]);
        assert_eq!(q50["type"], "summary", "{metric}");
        assert_eq!(q50["value"].as_f64(), l["median"].as_f64(), "{metric}");
        let q95 = sample(&samples, metric, &[("quantile", "0.95")]);
        assert_eq!(q95["value"].as_f64(), l["p95"].as_f64(), "{metric}");
        let sum = sample(&samples, &format!("{metric}_sum"), &pool);
        assert_eq!(sum["value"].as_f64(), l["sum"].as_f64(), "{metric}");
        let count = sample(&samples, &format!("{metric}_count"), &pool);
        assert_eq!(count["value"].as_f64(), l["count"].as_f64(), "{metric}");
    }

    // And in the table, in a pipe: plain text, the same figures.
    let table = stdout(&sbx.run(&["pool", "stats"], ""));
    assert!(
        !table.contains('\x1b'),
        "no escape codes in a pipe: {table}"
    );
    for needle in [
        "profile default",
        "timeouts        ┆ 1",
        "exhausted       ┆ 1",
        "created         ┆ 1 (demand 1)",
        "removed         ┆ 1 (idle 1)",
        "runs            ┆ 5",
    ] {
        assert!(table.contains(needle), "{needle:?} missing from:\n{table}");
    }
}

#[test]
fn a_run_that_queues_behind_a_busy_container_counts_as_waited_with_its_wait_measured() {
    let sbx = sbx_with_pool(
        "stats-wait",
        "max_size = 1\nexhaustion = \"wait\"\nacquisition_timeout = \"60s\"",
    );
    // The long run holds the container until the test releases it, which
    // it does only once the queued run has been waiting for a while.
    let mut long = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "import sys\nsys.stdin.readline()\nprint('long')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_for_busy(&sbx);
    // -v says when the client has reached the agent; its request follows
    // at once, and then waits for the container.
    let mut queued = sbx
        .cmd()
        .args(["-v", "exec", "--lang", "python", "print('queued')"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = std::io::BufReader::new(queued.stderr.take().unwrap());
    let mut line = String::new();
    while !line.starts_with("sbx: agent pid ") {
        line.clear();
        assert!(
            std::io::BufRead::read_line(&mut said, &mut line).unwrap() > 0,
            "the queued client ended before reaching the agent"
        );
    }
    let reached = std::time::Instant::now();
    while reached.elapsed() < Duration::from_millis(1500) {
        std::thread::sleep(Duration::from_millis(100));
    }
    long.stdin.take().unwrap().write_all(b"go\n").unwrap();
    let out = queued.wait_with_output().unwrap();
    assert_eq!(stdout(&out), "queued\n");
    assert!(long.wait_with_output().unwrap().status.success());
    let s = stats(&sbx);
    assert_eq!(s["waited"], 1, "{s}");
    assert_eq!(s["exhausted"], 0, "{s}");
    assert_eq!(s["wait_seconds"]["count"], 2, "{s}");
    // It queued while the test held the container (1.5 s from its
    // arrival, less however long the agent took to reach the queue).
    let p95 = s["wait_seconds"]["p95"].as_f64().unwrap();
    assert!(p95 > 0.5, "{s}");
}

#[test]
fn watch_in_a_pipe_prints_the_asked_number_of_plain_snapshots() {
    let sbx = Sbx::new("stats-pipe");
    sbx.exec_ok("python", "print(1)");
    let out = sbx.run(
        &[
            "pool",
            "stats",
            "--watch",
            "--interval",
            "200ms",
            "--count",
            "3",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(
        !text.contains('\x1b'),
        "no escape codes in a pipe: {text:?}"
    );
    assert_eq!(text.matches("\n--- ").count() + 1, 3, "{text}");
    assert!(text.starts_with("--- "), "{text}");
    assert_eq!(text.matches("size/max").count(), 3, "{text}");

    let out = sbx.run(
        &[
            "pool",
            "stats",
            "--watch",
            "--json",
            "--interval",
            "100ms",
            "--count",
            "2",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 2, "one JSON document per line: {lines:?}");
    for line in lines {
        let v: Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["pools"][0]["runs"], 1);
    }
}

#[test]
fn watch_flags_out_of_place_are_usage_errors() {
    let sbx = Sbx::new("stats-usage");
    for (args, why) in [
        (
            &["pool", "stats", "--interval", "2s"][..],
            "error: the following required arguments were not provided:",
        ),
        (
            &["pool", "stats", "--watch", "--format", "prometheus"],
            "sbx: --watch does not combine with --format prometheus: a textfile collector reads a file; write it from cron or a loop instead (see `sbx pool stats --help`)",
        ),
        (
            &["pool", "stats", "--json", "--format", "table"],
            "error: the argument '--json' cannot be used with '--format <FORMAT>'",
        ),
        (
            &["pool", "stats", "--watch", "--interval", "0s"],
            "error: invalid value '0s' for '--interval <DURATION>': duration `0s` must be at least 1ms",
        ),
    ] {
        let out = sbx.run(args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert_eq!(stderr(&out).lines().next(), Some(why), "{args:?}: says why");
        assert_eq!(stdout(&out), "", "{args:?}");
    }
}

/// A private tmux server (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn new(name: &str) -> Tmux {
        Tmux {
            socket: format!("sbx-{name}-{}", std::process::id()),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .arg("-L")
            .arg(&self.socket)
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test.sh installs it)")
    }

    /// Start `command` (a shell line) in a 120x40 terminal.
    fn start(&self, sbx: &Sbx, env: &[(&str, &str)], command: &str) {
        let mut argv = vec![
            "new-session".to_string(),
            "-d".into(),
            "-s".into(),
            "t".into(),
            "-x".into(),
            "120".into(),
            "-y".into(),
            "40".into(),
            "env".into(),
        ];
        argv.extend(sbx.env_args());
        argv.extend([
            format!("SBX={}", env!("CARGO_BIN_EXE_sbx")),
            "TERM=xterm-256color".into(),
        ]);
        argv.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        // bash, not sh: a dash waiting for a command dies of the Ctrl-C the
        // command handles, taking the terminal with it.
        argv.extend(["bash".into(), "-c".into(), command.into()]);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        let out = self.run(&argv);
        assert!(out.status.success(), "{}", stderr(&out));
    }

    fn screen(&self, escapes: bool) -> String {
        let args: &[&str] = if escapes {
            &["capture-pane", "-p", "-e", "-t", "t"]
        } else {
            &["capture-pane", "-p", "-t", "t"]
        };
        stdout(&self.run(args))
    }

    fn flag(&self, format: &str) -> String {
        stdout(&self.run(&["display-message", "-p", "-t", "t", format]))
            .trim()
            .to_string()
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.run(&["kill-server"]);
    }
}

/// The clock in the `--watch` header line.
fn header_clock(screen: &str) -> Option<String> {
    let line = screen.lines().find(|l| l.starts_with("Every "))?;
    line.split_whitespace()
        .find(|w| w.len() == 8 && w.as_bytes()[2] == b':')
        .map(String::from)
}

#[test]
fn watch_redraws_in_place_on_a_terminal_and_ctrl_c_restores_the_screen_and_cursor() {
    let sbx = Sbx::new("stats-tty");
    sbx.exec_ok("python", "print(1)");
    let tmux = Tmux::new("watch");
    tmux.start(
        &sbx,
        &[],
        "\"$SBX\" pool stats --watch --interval 300ms; echo WATCH-EXIT=$?; sleep 60",
    );
    assert!(
        wait_until(Duration::from_secs(10), || header_clock(
            &tmux.screen(false)
        )
        .is_some()),
        "no watch header: {}",
        tmux.screen(false)
    );
    let first = header_clock(&tmux.screen(false)).unwrap();
    // Several redraws later (the clock moved on)...
    assert!(
        wait_until(Duration::from_secs(10), || header_clock(
            &tmux.screen(false)
        )
        .is_some_and(|c| c != first)),
        "the screen was not redrawn: {}",
        tmux.screen(false)
    );
    std::thread::sleep(Duration::from_millis(700));
    // ...the screen still shows one header and one table, not a stack.
    let screen = tmux.screen(false);
    assert_eq!(screen.matches("Every 300ms").count(), 1, "{screen}");
    assert_eq!(screen.matches("size/max").count(), 1, "{screen}");
    assert_eq!(screen.matches('┌').count(), 1, "{screen}");
    assert!(
        screen.contains("utilization  ┆ 0% ▁"),
        "the trend: {screen}"
    );
    // The pool's title is cut to the window's width rather than wrapped.
    let lines: Vec<&str> = screen.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("pool python · open · profile default"))
        .unwrap_or_else(|| panic!("no title: {screen}"));
    assert!(lines[at + 1].starts_with('┌'), "{screen}");
    assert_eq!(tmux.flag("#{alternate_on}"), "1", "on the alternate screen");
    assert_eq!(tmux.flag("#{cursor_flag}"), "0", "cursor hidden meanwhile");

    tmux.run(&["send-keys", "-t", "t", "C-c"]);
    assert!(
        wait_until(Duration::from_secs(10), || tmux
            .screen(false)
            .contains("WATCH-EXIT=0")),
        "Ctrl-C did not end the watch: {}",
        tmux.screen(false)
    );
    assert_eq!(tmux.flag("#{alternate_on}"), "0", "back on the main screen");
    assert_eq!(tmux.flag("#{cursor_flag}"), "1", "cursor shown again");
    let after = tmux.screen(false);
    assert!(
        !after.contains("size/max"),
        "no table left behind on the main screen: {after}"
    );
}

#[test]
fn a_pool_over_80_percent_busy_is_highlighted_on_a_terminal_unless_no_color_is_set() {
    let sbx = sbx_with_pool("stats-color", "max_size = 1");
    let long = sbx.spawn(&["exec", "--lang", "python", "import time; time.sleep(8)"]);
    wait_for_busy(&sbx);
    for (no_color, want_color) in [("", true), ("1", false)] {
        let tmux = Tmux::new(if want_color { "color" } else { "nocolor" });
        tmux.start(
            &sbx,
            &[("NO_COLOR", no_color)],
            "\"$SBX\" pool stats; echo STATS-DONE; sleep 60",
        );
        assert!(
            wait_until(Duration::from_secs(10), || tmux
                .screen(false)
                .contains("STATS-DONE")),
            "{}",
            tmux.screen(false)
        );
        let screen = tmux.screen(true);
        let line = screen
            .lines()
            .find(|l| l.contains("100% (over 80% busy)"))
            .unwrap_or_else(|| panic!("no highlighted utilization: {screen}"));
        if want_color {
            assert!(line.contains("\x1b["), "colour expected: {line:?}");
        } else {
            let table_part: String = screen
                .lines()
                .take_while(|l| !l.contains("STATS-DONE"))
                .collect();
            assert!(!table_part.contains("\x1b["), "NO_COLOR: {table_part:?}");
        }
    }
    let mut long = long;
    let _ = long.kill();
    let _ = long.wait();
}

#[test]
fn watching_the_stats_does_not_keep_an_unused_agent_alive() {
    let sbx = Sbx::new("stats-idle");
    let out = sbx
        .cmd()
        .env("SBX_AGENT_IDLE_EXIT", "2s")
        .args(["exec", "--lang", "python", "print(1)"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    // Asks every 200 ms, far more often than the idle exit, until the
    // test has seen what it waits for.
    let mut watch = sbx
        .cmd()
        .args([
            "pool",
            "stats",
            "--watch",
            "--json",
            "--interval",
            "200ms",
            "--count",
            "100000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut docs = std::io::BufRead::lines(std::io::BufReader::new(watch.stdout.take().unwrap()))
        .map(|l| serde_json::from_str::<Value>(&l.unwrap()).unwrap());
    let first = docs.next().expect("a first snapshot");
    assert_eq!(first["pools"][0]["runs"], 1, "{first}");
    assert!(
        sbx.wait_for_no_agent(Duration::from_secs(60)),
        "the agent exits while merely watched"
    );
    // The watch goes on, showing no pools.
    let empty = docs.find(|d| d["pools"] == serde_json::json!([]));
    let _ = watch.kill();
    let _ = watch.wait();
    assert!(
        empty.is_some(),
        "the watch ended instead of showing no pools"
    );
}

/// VmRSS and VmHWM of process `pid`, in bytes.
fn proc_memory(pid: u32) -> (u64, u64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib = |key: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(key)).unwrap();
        line.split_whitespace()
            .nth(1)
            .unwrap()
            .parse::<u64>()
            .unwrap()
            * 1024
    };
    (kib("VmRSS:"), kib("VmHWM:"))
}

#[test]
fn json_stats_and_agent_status_report_the_agents_resident_memory_and_its_peak() {
    let sbx = Sbx::new("memory");
    assert_eq!(sbx.exec_ok("python", "print(1)"), "1\n");
    let pid = *sbx.agent_pids().first().expect("an agent runs");
    let agent = all_stats(&sbx)["agent"].clone();
    let (rss, peak) = (
        agent["rss_bytes"].as_u64().unwrap(),
        agent["peak_rss_bytes"].as_u64().unwrap(),
    );
    let (now_rss, now_peak) = proc_memory(pid);
    // Read a moment apart: the same figures within what a request moves.
    assert!(rss > 0 && peak >= rss, "{agent}");
    assert!(
        rss.abs_diff(now_rss) < 8 << 20,
        "stats say {rss}, /proc says {now_rss}"
    );
    assert!(
        peak <= now_peak,
        "the peak only grows: {peak} then {now_peak}"
    );

    let status = stdout(&sbx.run(&["agent", "status"], ""));
    let line = status
        .lines()
        .find(|l| l.starts_with("memory: "))
        .unwrap_or_else(|| panic!("{status}"));
    let mib: Vec<f64> = line
        .split_whitespace()
        .filter_map(|w| w.parse().ok())
        .collect();
    assert_eq!(mib.len(), 2, "{line}");
    assert!(mib[0] > 0.0 && mib[1] >= mib[0], "{line}");
    assert!(
        line.contains(" MiB resident, ") && line.ends_with(" MiB at most so far"),
        "{line}"
    );
}
