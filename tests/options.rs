//! Run options against real Docker: stdin, -w, --file, --out, --timeout,
//! output limits, --json, and the toolchain caches.

mod common;

use base64::Engine;
use common::{Sbx, containers_with, stderr, stdout};
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(out)))
}

fn b64(text: &serde_json::Value) -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(text.as_str().unwrap())
        .unwrap()
}

#[test]
fn a_program_reading_stdin_sees_each_line_as_it_is_written_and_eof_when_it_closes() {
    let sbx = Sbx::new("stdin-lines");
    let mut child = sbx
        .cmd()
        .args([
            "exec",
            "--lang",
            "python",
            "import sys\nfor line in sys.stdin:\n    print('got', line.strip(), flush=True)\nprint('eof')\n",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for word in ["one", "two"] {
        // The answer to each line arrives while stdin is still open, so the
        // line travelled on its own, not with the EOF.
        writeln!(input, "{word}").unwrap();
        input.flush().unwrap();
        assert_eq!(lines.next().unwrap().unwrap(), format!("got {word}"));
    }
    drop(input);
    assert_eq!(lines.next().unwrap().unwrap(), "eof");
    assert!(child.wait().unwrap().success());
}

#[test]
fn w_sets_the_working_directory_relative_to_the_program_or_absolute() {
    let sbx = Sbx::new("workdir");
    let prog = "import os; print(os.getcwd(), sorted(os.listdir('/sbx/work')))";
    let out = sbx.run(&["exec", "--lang", "python", "-w", "sub/dir", prog], "");
    assert_eq!(
        stdout(&out),
        "/sbx/work/sub/dir ['main.py', 'sub']\n",
        "{}",
        stderr(&out)
    );
    let out = sbx.run(
        &["exec", "--lang", "python", "-w", "/tmp/scratch", prog],
        "",
    );
    assert_eq!(
        stdout(&out),
        "/tmp/scratch ['main.py']\n",
        "{}",
        stderr(&out)
    );
    let out = sbx.run(&["exec", "--lang", "python", "-w", "/usr", prog], "");
    assert_eq!(stdout(&out), "/usr ['main.py']\n", "{}", stderr(&out));

    let out = sbx.run(
        &["exec", "--lang", "python", "-w", "/no/such/dir", prog],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/no/such/dir does not exist"),
        "{}",
        stderr(&out)
    );
    let out = sbx.run(&["exec", "--lang", "python", "-w", "../up", prog], "");
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no `..`"), "{}", stderr(&out));
}

#[test]
fn input_files_arrive_byte_for_byte_next_to_the_program() {
    let sbx = Sbx::new("files-in");
    let bytes: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    let data = sbx.root.join("blob.bin");
    std::fs::write(&data, &bytes).unwrap();
    let tool = sbx.write("tool.sh", "#!/bin/sh\necho tool ran\n");
    std::fs::set_permissions(&tool, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let spec_tool = format!("{}:bin/tool", tool.display());
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--file",
            data.to_str().unwrap(),
            "--file",
            &spec_tool,
            "import hashlib, subprocess\n\
             print(hashlib.sha256(open('blob.bin','rb').read()).hexdigest())\n\
             print(subprocess.run(['./bin/tool'], capture_output=True, text=True).stdout, end='')",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let expected = {
        use std::process::Command;
        let o = Command::new("sha256sum").arg(&data).output().unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split_whitespace()
            .next()
            .unwrap()
            .to_string()
    };
    assert_eq!(stdout(&out), format!("{expected}\ntool ran\n"));

    for bad in [
        format!("{}:../escape", data.display()),
        format!("{}:/etc/x", data.display()),
        format!("{}:main.py", data.display()),
        "/no/such/file".to_string(),
    ] {
        let out = sbx.run(&["exec", "--lang", "python", "--file", &bad, "1"], "");
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", stderr(&out));
        assert_eq!(stderr(&out).trim().lines().count(), 1, "{}", stderr(&out));
        assert!(stderr(&out).contains("--file"), "{}", stderr(&out));
    }
}

#[test]
fn out_copies_back_the_output_directory_and_refuses_links() {
    let sbx = Sbx::full("files-out");
    sbx.limit_pool_to_one_container();
    let dest = sbx.root.join("results");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "bash",
            "--out",
            dest.to_str().unwrap(),
            "cd \"$SBX_OUT\" && mkdir -p a/b && printf 'deep' > a/b/c.txt && printf '\\377bin' > top.bin \
             && ln -s /etc/passwd passwd && ln -s /etc linked-dir && echo done",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "done\n");
    assert_eq!(std::fs::read(dest.join("a/b/c.txt")).unwrap(), b"deep");
    assert_eq!(std::fs::read(dest.join("top.bin")).unwrap(), b"\xffbin");
    let mut names: Vec<_> = std::fs::read_dir(&dest)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "top.bin"], "links are not copied");
    let err = stderr(&out);
    assert!(
        err.contains("refused /sbx/out/passwd: links are not copied"),
        "{err}"
    );
    assert!(err.contains("refused /sbx/out/linked-dir"), "{err}");

    // A file of many chunks comes back byte for byte.
    let big = sbx.root.join("big");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "bash",
            "--out",
            big.to_str().unwrap(),
            "head -c 3000000 /dev/urandom > $SBX_OUT/big.bin && sha256sum < $SBX_OUT/big.bin",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let local = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!("sha256sum < {}/big.bin", big.display()))
        .output()
        .unwrap();
    assert_eq!(stdout(&out), stdout(&local));

    // With --json the copied files are listed in the result.
    let again = sbx.root.join("again");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "bash",
            "--json",
            "--out",
            again.to_str().unwrap(),
            "mkdir -p $SBX_OUT/x && echo 1 > $SBX_OUT/x/one && echo 2 > $SBX_OUT/two",
        ],
        "",
    );
    assert_eq!(json(&out)["out_files"], serde_json::json!(["two", "x/one"]));

    // The next run starts with an empty output directory.
    let out = sbx.run(
        &["exec", "--lang", "bash", "ls -A \"$SBX_OUT\" | wc -l"],
        "",
    );
    assert_eq!(stdout(&out).trim(), "0");
}

#[test]
fn a_timeout_kills_a_forking_tree_that_ignores_sigterm() {
    let sbx = Sbx::new("timeout-tree");
    sbx.limit_pool_to_one_container();
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--timeout",
            "1s",
            "import os, signal, time\n\
             signal.signal(signal.SIGTERM, signal.SIG_IGN)\n\
             for _ in range(3):\n\
             \x20   if os.fork() == 0:\n\
             \x20       os.setsid()\n\
             \x20       if os.fork() == 0:\n\
             \x20           while True: time.sleep(0.1)\n\
             \x20       while True: time.sleep(0.1)\n\
             print('forked', flush=True)\n\
             while True: time.sleep(0.1)\n",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    assert_eq!(stdout(&out), "forked\n");
    assert!(
        stderr(&out).contains("exceeded its timeout (1s) and was killed"),
        "{}",
        stderr(&out)
    );
    // Same container (max_size 1): nothing of the tree is left.
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "import os; print([p for p in os.listdir('/proc') if p.isdigit() and p not in ('1', str(os.getpid()), str(os.getppid()))])",
        ],
        "",
    );
    assert_eq!(stdout(&out), "[]\n", "{}", stderr(&out));
}

fn agent_memory_kib(sbx: &Sbx, field: &str) -> u64 {
    let pids = sbx.agent_pids();
    assert_eq!(pids.len(), 1, "one agent");
    let status = std::fs::read_to_string(format!("/proc/{}/status", pids[0])).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no {field} in {status}"))
}

const FLOOD: &str = "import sys\nchunk = b'x' * (1 << 20)\nfor _ in range(100):\n    sys.stdout.buffer.write(chunk)\nprint('flood done', file=sys.stderr)\n";

#[test]
fn a_100_mib_flood_is_cut_at_the_limit_and_the_agent_does_not_grow() {
    let sbx = Sbx::new("flood");
    sbx.limit_pool_to_one_container();
    // Warm up: the agent's pool, container and buffers exist before
    // measuring. Then reset the agent's peak-RSS mark (clear_refs 5) so the
    // peak seen afterwards is the peak of the floods alone, not start-up.
    sbx.exec_ok("python", "print('x' * 100000)");
    let pid = sbx.agent_pids()[0];
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").unwrap();
    let before = agent_memory_kib(&sbx, "VmRSS:");

    let out = sbx.run(&["exec", "--lang", "python", FLOOD], "");
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    assert_eq!(
        out.stdout.len(),
        10 * 1024 * 1024,
        "cut at the default 10 MiB"
    );
    assert_eq!(
        stderr(&out),
        "sbx: stdout exceeded the output limit (10MiB) and the run was stopped with every process it started\n",
        "stopped there: the program did not reach its end"
    );

    // All 100 MiB through the agent when the limit allows it.
    let out = sbx.run(
        &["exec", "--lang", "python", "--max-output", "200MiB", FLOOD],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), 100 * 1024 * 1024);

    let peak = agent_memory_kib(&sbx, "VmHWM:");
    let grown = peak.saturating_sub(before);
    assert!(
        grown < 8 * 1024,
        "agent peak memory grew by {grown} KiB (from {before} KiB) while relaying 110 MiB"
    );
    let stats = sbx.run(&["pool", "stats", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    assert_eq!(
        v["pools"][0]["created"], 1,
        "one container served all three runs (a creation would blur the measurement)"
    );
}

#[test]
fn json_results_are_lossless_for_invalid_utf8_and_carry_the_runs_metadata() {
    let sbx = Sbx::new("json");
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--json",
            "import sys, time\ntime.sleep(0.2)\nsys.stdout.buffer.write(b'\\xff\\xfe\\x00ok')\nsys.stderr.write('warn\\n')\nsys.exit(3)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(3), "the program's exit code");
    let v = json(&out);
    assert_eq!(v["stdout_encoding"], "base64");
    assert_eq!(b64(&v["stdout"]), b"\xff\xfe\x00ok");
    assert_eq!(v["stderr_encoding"], "utf-8");
    assert_eq!(v["stderr"], "warn\n");
    assert_eq!(v["exit_code"], 3);
    assert_eq!(v["timed_out"], false);
    assert_eq!(v["truncated"], false);
    assert_eq!(v["language"], "python");
    assert_eq!(v["pool"], "python");
    assert_eq!(v["image"], common::test_image().as_str());
    // The program sleeps 200 ms; its first run waited for a container to
    // be created.
    assert!(v["duration_ms"].as_u64().unwrap() >= 200, "{v}");
    assert!(v["wait_ms"].as_u64().unwrap() >= 1, "{v}");
    let id = v["container"].as_str().unwrap();
    let ours = containers_with(&sbx.agent_label());
    assert!(
        ours.iter()
            .any(|c| c.starts_with(id) || id.starts_with(c.as_str())),
        "{id} is one of this agent's containers {ours:?}"
    );
    assert_eq!(stdout(&out).trim().lines().count(), 1, "one JSON object");

    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--json",
            "--timeout",
            "1s",
            "import time\nprint('0123456789', flush=True)\ntime.sleep(30)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124));
    let v = json(&out);
    assert_eq!(v["exit_code"], 124);
    assert_eq!(v["timed_out"], true);
    assert_eq!(v["truncated"], false);
    assert_eq!(v["output_limit"], serde_json::Value::Null);
    assert_eq!(v["stdout"], "0123456789\n");
    assert_eq!(
        v["stderr"],
        "sbx: the run exceeded its timeout (1s) and was killed with every process it started\n"
    );

    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--json",
            "--max-output",
            "5",
            "import time\nprint('0123456789', flush=True)\ntime.sleep(30)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(123));
    let v = json(&out);
    assert_eq!(v["exit_code"], 123);
    assert_eq!(v["timed_out"], false);
    assert_eq!(v["truncated"], true);
    assert_eq!(v["stdout_truncated"], true);
    assert_eq!(v["stderr_truncated"], false);
    assert_eq!(v["output_limit"], "stdout");
    assert_eq!(v["stdout"], "01234");
    assert_eq!(
        v["stderr"],
        "sbx: stdout exceeded the output limit (5B) and the run was stopped with every process it started\n"
    );
}

#[test]
fn the_config_sets_default_timeout_and_output_limit_and_flags_override_them() {
    let sbx = Sbx::new("run-config");
    let mut cfg = std::fs::read_to_string(&sbx.config).unwrap();
    cfg.push_str("\n[run]\ntimeout = \"1s\"\nmax_output = \"1KiB\"\n");
    std::fs::write(&sbx.config, cfg).unwrap();
    let out = sbx.run(&["exec", "--lang", "python", "print('y' * 5000)"], "");
    assert_eq!(out.status.code(), Some(123), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), 1024);
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--max-output",
            "10KiB",
            "print('y' * 5000)",
        ],
        "",
    );
    assert_eq!(out.stdout.len(), 5001);
    let out = sbx.run(
        &["exec", "--lang", "python", "import time; time.sleep(5)"],
        "",
    );
    assert_eq!(out.status.code(), Some(124));
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "--timeout",
            "20s",
            "import time; time.sleep(1.5)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Prints the ccache statistics the build step left, from inside the
/// compiled program itself.
const CCACHE_PROBE: &str = "#include <stdio.h>\n#include <stdlib.h>\nint main(void) {\n  return system(\"ccache --print-stats | grep -E '^(direct_cache_hit|cache_miss)\\\\s'\");\n}\n";

fn ccache_stats(sbx: &Sbx) -> String {
    let out = sbx.run(&["exec", "--lang", "c", CCACHE_PROBE], "");
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn a_compiled_languages_cache_survives_between_runs_unless_turned_off() {
    let sbx = Sbx::full("cache");
    sbx.limit_pool_to_one_container();
    assert_eq!(ccache_stats(&sbx), "cache_miss 1 direct_cache_hit 0");
    assert_eq!(
        ccache_stats(&sbx),
        "cache_miss 1 direct_cache_hit 1",
        "the second identical build is a cache hit"
    );

    let mut cfg = std::fs::read_to_string(&sbx.config).unwrap();
    cfg = cfg.replacen("[languages.c]\n", "[languages.c]\ncache = false\n", 1);
    std::fs::write(&sbx.config, cfg).unwrap();
    // A new agent and container pick up the changed configuration.
    sbx.run(&["pool", "down"], "");
    assert!(sbx.wait_for_no_agent(Duration::from_secs(10)));
    assert_eq!(ccache_stats(&sbx), "cache_miss 1 direct_cache_hit 0");
    assert_eq!(
        ccache_stats(&sbx),
        "cache_miss 1 direct_cache_hit 0",
        "without the cache every run starts cold"
    );
}

#[test]
fn json_mode_reports_a_failure_of_sbx_itself_as_a_json_error() {
    common::engine_only("the error for an unreachable engine socket (DOCKER_HOST)");
    let sbx = Sbx::new("json-error");
    let out = sbx
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("CONTAINER_HOST", "unix:///nonexistent/docker.sock")
        .args(["exec", "--lang", "python", "--json", "print(1)"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let v = json(&out);
    assert_eq!(v["exit_code"], 125);
    assert!(
        v["error"]
            .as_str()
            .unwrap()
            .contains("cannot reach the container engine"),
        "{v}"
    );
    assert!(stderr(&out).contains("cannot reach the container engine"));
}
