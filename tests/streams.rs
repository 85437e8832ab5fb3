//! How a run's streams behave at their edges, as a user meets them in a
//! shell: a reader that goes away (`| head -1`), output past the limit,
//! Ctrl-C, an agent that dies mid-run, binary data both ways, many runs
//! streaming at once, a slow reader. Each test is a specification of one
//! behaviour, on whichever engine the suite runs against.

mod common;

use common::{Sbx, containers_with, stderr, stdout};
use std::io::{BufRead, BufReader, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};

/// Prints the container's hostname, the processes it can see other than
/// the guest (PID 1), its parent (the warm interpreter that forked it, or
/// the guest) and itself, and what is in /tmp.
const PROBE: &str = r#"
import os, socket
me = os.getpid()
print(socket.gethostname())
print(sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in (1, me, os.getppid())))
print(sorted(os.listdir("/tmp")))
"#;

/// The container the next run gets, asserting that nothing of an earlier
/// run is left in it: no process, no file in /tmp.
fn next_run_container(sbx: &Sbx) -> String {
    let out = sbx.exec_ok("python", PROBE);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 3, "{out}");
    assert_eq!(lines[1], "[]", "processes of an earlier run are alive");
    assert_eq!(lines[2], "[]", "files of an earlier run are in /tmp");
    lines[0].to_string()
}

fn pool_stats(sbx: &Sbx) -> serde_json::Value {
    let out = sbx.run(&["pool", "stats", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["pools"][0].clone()
}

/// An endless printer that first leaves a file in /tmp and a child
/// process behind, so that the clean-up after it can be checked.
const ENDLESS: &str = r#"
import itertools, subprocess
open("/tmp/left-behind", "w").write("x")
subprocess.Popen(["sleep", "300"])
for i in itertools.count():
    print(i)
"#;

#[test]
fn a_reader_that_goes_away_ends_the_run_with_141_and_the_container_is_reused_clean() {
    let sbx = Sbx::new("head");
    sbx.limit_pool_to_one_container();
    let before = next_run_container(&sbx);

    // `sbx exec … | head -1`, with a real pipe between the two. The
    // timeout is far away: if the closed pipe did not end the run, sbx
    // would exit 124 only when it fired.
    let mut run = sbx
        .cmd()
        .args(["exec", "--lang", "python", "--timeout", "5m", ENDLESS])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let head = Command::new("head")
        .arg("-1")
        .stdin(Stdio::from(run.stdout.take().unwrap()))
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let head = head.wait_with_output().unwrap();
    assert_eq!(stdout(&head), "0\n");
    let out = run.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(141),
        "exits as a program killed by SIGPIPE: {}",
        stderr(&out)
    );
    assert_eq!(stderr(&out), "", "a closed pipe is not an error to report");

    // The program and its child were killed, /tmp wiped, and the same
    // container serves the next run: it went back through the normal
    // clean-up, not into the bin.
    assert_eq!(next_run_container(&sbx), before);
    let pool = pool_stats(&sbx);
    assert_eq!(pool["timeouts"], 0);
    assert_eq!(pool["created"], 1);
    assert_eq!(pool["total_size"], 1);
}

#[test]
fn a_program_over_the_output_limit_is_stopped_there_with_123() {
    let sbx = Sbx::new("outlimit");
    sbx.limit_pool_to_one_container();
    let before = next_run_container(&sbx);
    let line = "x".repeat(999) + "\n";

    // Far from its timeout, the program is stopped at the limit.
    let flood = format!(
        "import subprocess, sys\nopen('/tmp/left-behind', 'w').write('x')\nsubprocess.Popen(['sleep', '300'])\nwhile True:\n    sys.stdout.write({line:?})\n"
    );
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--timeout",
            "5m",
            "--max-output",
            "64KiB",
            &flood,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    assert_eq!(out.stdout, line.repeat(66).as_bytes()[..65536]);
    assert_eq!(
        stderr(&out),
        "sbx: stdout exceeded the output limit (64KiB) and the run was stopped with every process it started\n"
    );
    assert_eq!(next_run_container(&sbx), before);

    // --json names the stream that hit the limit.
    let flood = format!("import sys\nwhile True:\n    sys.stderr.write({line:?})\n");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--json",
            "--timeout",
            "5m",
            "--max-output",
            "64KiB",
            &flood,
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["exit_code"], 123);
    assert_eq!(v["output_limit"], "stderr");
    assert_eq!(v["stderr_truncated"], true);
    assert_eq!(v["stdout_truncated"], false);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["timed_out"], false);
    assert_eq!(v["stdout"], "");
    let want = format!(
        "{}\nsbx: stderr exceeded the output limit (64KiB) and the run was stopped with every process it started\n",
        &line.repeat(66)[..65536]
    );
    assert_eq!(v["stderr"].as_str().unwrap(), want);

    // Within the limit nothing is said.
    let out = sbx.run(
        &["exec", "--lang", "python", "--json", "print('small')"],
        "",
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["output_limit"], serde_json::Value::Null);
    assert_eq!(v["exit_code"], 0);
    assert_eq!(next_run_container(&sbx), before);
    assert_eq!(pool_stats(&sbx)["timeouts"], 0);
}

/// A run that prints `up` and then waits for a long time, with its stdout
/// piped to the test; returns once `up` arrived.
fn spawn_waiting_run(sbx: &Sbx) -> (std::process::Child, impl BufRead) {
    let mut cmd = sbx.cmd();
    cmd.args([
        "exec",
        "--lang",
        "python",
        "--timeout",
        "5m",
        "import subprocess, time\nsubprocess.Popen(['sleep', '300'])\nprint('up', flush=True)\ntime.sleep(300)",
    ])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    // As a terminal's foreground job has it, whatever the test runner
    // inherited (a script's background job ignores SIGINT).
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    lines.read_line(&mut first).unwrap();
    assert_eq!(first, "up\n", "{:?}", child.stderr.take().map(read_all));
    (child, lines)
}

fn read_all(mut r: impl Read) -> String {
    let mut s = String::new();
    let _ = r.read_to_string(&mut s);
    s
}

#[test]
fn ctrl_c_on_sbx_run_kills_the_program_and_the_container_is_reused() {
    let sbx = Sbx::new("sigint");
    sbx.limit_pool_to_one_container();
    let before = next_run_container(&sbx);
    let (mut child, _lines) = spawn_waiting_run(&sbx);
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let status = child.wait().unwrap();
    // Ended by the signal, as any foreground tool is: a shell shows 130.
    assert_eq!(status.signal(), Some(libc::SIGINT), "{status:?}");
    assert_eq!(next_run_container(&sbx), before);
    assert_eq!(pool_stats(&sbx)["total_size"], 1);
}

#[test]
fn an_agent_killed_mid_run_gives_125_naming_its_log_and_the_next_start_reaps_the_orphan() {
    let sbx = Sbx::new("agentkill");
    let label = sbx.agent_label();
    let agent = sbx.agent_pids();
    assert_eq!(agent.len(), 1);
    let (child, _lines) = spawn_waiting_run(&sbx);
    let orphans = containers_with(&label);
    assert_eq!(orphans.len(), 1);
    unsafe {
        libc::kill(agent[0] as i32, libc::SIGKILL);
    }
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(125));
    let log = sbx.agent_dir().join("agent.log");
    assert_eq!(
        stderr(&out),
        format!(
            "sbx: lost the connection to the sbx agent (the agent closed the connection mid-run); see {} and retry\n",
            log.display()
        )
    );
    // The next call starts an agent, which removes its predecessor's
    // containers before it serves (the engine may still be finishing a
    // removal the container's own exit began).
    assert_eq!(sbx.exec_ok("python", "print('again')"), "again\n");
    let left = || {
        let now = containers_with(&label);
        orphans.iter().filter(|o| now.contains(o)).count()
    };
    assert!(
        common::wait_until(std::time::Duration::from_secs(60), || left() == 0),
        "the orphan {orphans:?} was left behind"
    );
}

/// 100 MiB of pseudo-random bytes, the same on every call.
fn random_bytes(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

#[test]
fn a_hundred_mib_of_binary_stdin_reaches_the_program_exactly() {
    let sbx = Sbx::new("bigstdin");
    let data = random_bytes(100 << 20);
    let input = sbx.root.join("input.bin");
    std::fs::write(&input, &data).unwrap();
    drop(data);
    let sum = Command::new("sha256sum").arg(&input).output().unwrap();
    let sum = stdout(&sum).split_whitespace().next().unwrap().to_string();
    let out = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "--timeout",
            "5m",
            "import hashlib, sys\nh, n = hashlib.sha256(), 0\nwhile b := sys.stdin.buffer.read(1 << 20):\n    h.update(b)\n    n += len(b)\nprint(n, h.hexdigest())",
        ])
        .stdin(std::fs::File::open(&input).unwrap())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), format!("{} {sum}\n", 100 << 20));
}

#[test]
fn raw_binary_stdout_arrives_byte_for_byte() {
    let sbx = Sbx::new("binout");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "import sys\nsys.stdout.buffer.write(bytes(range(256)) * 4096)",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let want: Vec<u8> = (0..4096).flat_map(|_| 0..=255u8).collect();
    assert!(out.stdout == want, "the bytes differ");
    assert_eq!(stderr(&out), "");
}

#[test]
fn concurrent_runs_of_hundreds_of_thousands_of_lines_never_mix() {
    const RUNS: usize = 4;
    const LINES: usize = 200_000;
    let sbx = Sbx::new("mix");
    let code = format!(
        "import sys\nk = sys.argv[1]\nw = sys.stdout.write\nfor i in range({LINES}):\n    w(f'{{k}}:{{i}}\\n')"
    );
    let children: Vec<_> = (0..RUNS)
        .map(|k| {
            let k = k.to_string();
            sbx.spawn(&[
                "exec",
                "--lang",
                "python",
                "--timeout",
                "5m",
                &code,
                "--",
                &k,
            ])
        })
        .collect();
    for (k, child) in children.into_iter().enumerate() {
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "run {k}: {}", stderr(&out));
        let want: String = (0..LINES).map(|i| format!("{k}:{i}\n")).collect();
        let got = stdout(&out);
        assert_eq!(got.len(), want.len(), "run {k}: length");
        assert!(
            got == want,
            "run {k}: its output is not exactly its own lines"
        );
    }
}

#[test]
fn a_slow_reader_gets_every_byte_and_the_run_ends_normally() {
    let sbx = Sbx::new("slow");
    // 8 MiB: more than every buffer between the program and the reader
    // holds, so the program must wait for the reader.
    let mut child = sbx.spawn(&[
        "exec",
        "--lang",
        "python",
        "--timeout",
        "5m",
        "import sys\nfor i in range(8192):\n    sys.stdout.write(f'{i:07d}' + 'y' * 1016 + '\\n')\nprint('done', file=sys.stderr)",
    ]);
    let mut out = child.stdout.take().unwrap();
    let mut got = Vec::new();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = out.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        got.extend_from_slice(&buf[..n]);
        // Pacing, not synchronisation: the reader is slower than the writer.
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let status = child.wait().unwrap();
    let err = read_all(child.stderr.take().unwrap());
    assert_eq!(status.code(), Some(0), "{err}");
    assert_eq!(err, "done\n");
    let want: String = (0..8192)
        .map(|i| format!("{i:07}{}\n", "y".repeat(1016)))
        .collect();
    assert_eq!(got.len(), want.len());
    assert!(got == want.as_bytes(), "the bytes differ");
}
