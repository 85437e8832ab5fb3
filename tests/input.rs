//! What sbx reads: one grammar for sizes and durations everywhere, what it
//! prints reads back unchanged, `-` means stdin, and no input makes it
//! panic. Each test is a case that once failed (see the README's
//! "Configuration" for the grammar).

mod common;

use common::{Sbx, stderr, stdout};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

#[test]
fn profile_limits_take_the_same_sizes_as_the_isolation_section() {
    let sbx = Sbx::with_config(
        "input-sizes",
        "[isolation]\nmemory = \"1GiB\"\n\n[profiles.p]\nlang = \"python\"\n\
         [profiles.p.limits]\nmemory = \"1GiB\"\n\n[profiles.q.limits]\nmemory = \"1.5g\"\n",
    );
    let out = sbx.run(&["profile", "check"], "");
    assert_eq!(stderr(&out), "");
    assert_eq!(
        stdout(&out),
        format!("{}: valid; profiles: p, q\n", sbx.config.display())
    );
    let out = sbx.run(&["profile", "show", "q"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stdout(&out).lines().any(|l| l == "memory = \"1536MiB\""),
        "{}",
        stdout(&out)
    );
}

#[test]
fn what_profile_show_prints_is_a_config_that_loads_back_unchanged() {
    let sbx = Sbx::with_config(
        "input-roundtrip",
        "[profiles.p]\nlang = \"python\"\ntimeout = \"1.5s\"\noutput_limit = \"64k\"\n\
         [profiles.p.pool]\nidle_timeout = \"90s\"\nmax_uses = 7\n",
    );
    let out = sbx.run(&["profile", "show", "p"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    assert!(
        shown.lines().any(|l| l == "idle_timeout = \"1m30s\""),
        "{shown}"
    );
    let file = sbx.write("f.toml", &shown);
    let mut check = sbx.cmd();
    check.env("SBX_CONFIG", &file).args(["profile", "check"]);
    let out = check.output().unwrap();
    assert_eq!(
        (out.status.code(), stdout(&out), stderr(&out)),
        (
            Some(0),
            format!("{}: valid; profiles: p\n", file.display()),
            String::new()
        )
    );
    let mut again = sbx.cmd();
    again
        .env("SBX_CONFIG", &file)
        .args(["profile", "show", "p"]);
    assert_eq!(stdout(&again.output().unwrap()), shown);
}

#[test]
fn a_duration_too_long_for_any_clock_is_a_usage_error_not_a_panic() {
    let sbx = Sbx::new("input-huge");
    let prog = sbx.write("f.py", "print(1)\n");
    for (flag, value, why) in [
        (
            "--timeout",
            "99999999999999999999s",
            "duration `99999999999999999999s` is too long (at most 8760h)",
        ),
        ("--timeout", "0s", "duration `0s` must be at least 1ms"),
        (
            "--max-output",
            "99999999999999G",
            "size `99999999999999G` is too large",
        ),
    ] {
        let out = sbx.run(&["run", flag, value, prog.to_str().unwrap()], "");
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {value}: {}",
            stderr(&out)
        );
        let err = stderr(&out);
        assert_eq!(
            err.lines().next().unwrap(),
            format!(
                "error: invalid value '{value}' for '{flag} <{}>': {why}",
                if flag == "--timeout" {
                    "DURATION"
                } else {
                    "SIZE"
                }
            )
        );
        assert!(!err.contains("panicked"), "{err}");
    }
    for bad in ["0", "-1", "99999999999", "two"] {
        let flag = format!("--cpus={bad}");
        let out = sbx.run(&["run", &flag, prog.to_str().unwrap()], "");
        assert_eq!(out.status.code(), Some(2), "--cpus {bad}: {}", stderr(&out));
        assert!(
            stderr(&out).starts_with(&format!("error: invalid value '{bad}' for '--cpus <N>'")),
            "{}",
            stderr(&out)
        );
    }
    assert!(sbx.agent_pids().is_empty(), "bad flags start no agent");
}

#[test]
fn exec_dash_reads_the_program_from_stdin_as_run_does() {
    let sbx = Sbx::new("input-dash");
    let out = sbx.run(
        &["exec", "--lang", "python", "-"],
        "import sys\nprint('from stdin', sys.argv[1:])\n",
    );
    assert_eq!(stderr(&out), "");
    assert_eq!(stdout(&out), "from stdin []\n");
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn cpus_keeps_a_run_to_that_many_cpus_and_the_next_run_gets_them_all_back() {
    let sbx = Sbx::new("input-cpus");
    sbx.limit_pool_to_one_container();
    let count = "import os; print(len(os.sched_getaffinity(0)))";
    let all: usize = sbx.exec_ok("python", count).trim().parse().unwrap();
    let out = sbx.run(&["exec", "--lang", "python", "--cpus", "1", count], "");
    assert_eq!(
        (stdout(&out), stderr(&out)),
        ("1\n".to_string(), String::new())
    );
    // A child process inherits the limit.
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--cpus",
            "1",
            "import subprocess; print(subprocess.run(['nproc'], capture_output=True, text=True).stdout, end='')",
        ],
        "",
    );
    assert_eq!(stdout(&out), "1\n", "{}", stderr(&out));
    assert_eq!(sbx.exec_ok("python", count).trim(), all.to_string());
}

#[test]
fn json_and_the_exit_code_agree_when_the_pool_is_exhausted() {
    let sbx = Sbx::with_config(
        "input-exhausted",
        "[pool]\nmax_size = 1\nexhaustion = \"fail-fast\"\n",
    );
    // Hold the only container: a run that says it started, then waits for
    // its stdin to close.
    let mut holder = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "import sys; print('holding', flush=True); sys.stdin.read()",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "holding\n");

    let out = sbx.run(&["exec", "--lang", "python", "--json", "print(1)"], "");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(out.status.code(), Some(75), "{}", stderr(&out));
    assert_eq!(doc["exit_code"], 75);
    assert_eq!(
        doc["error"],
        "pool `python` is exhausted: all 1 of its containers (max_size) are busy and exhaustion is fail-fast; raise max_size, or set exhaustion to \"wait\" or \"temporary\" in the [pool] section of the sbx config"
    );

    holder.stdin.take().unwrap().write_all(b"").unwrap();
    assert!(holder.wait().unwrap().success());
}
