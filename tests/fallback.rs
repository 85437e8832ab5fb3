//! The plain-exec fallback: images the guest runner cannot run in still
//! work, one engine exec and one container per run.

mod common;

use common::{Sbx, engine, stderr, stdout};
use std::process::{Command, Output, Stdio};

fn run_with(sbx: &Sbx, env: &[(&str, &str)], args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut cmd = sbx.cmd();
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

const FORCED: &[(&str, &str)] = &[("SBX_EXEC_FALLBACK", "always")];

#[test]
fn the_fallback_streams_output_passes_stdin_and_exit_codes_and_enforces_timeouts() {
    let sbx = Sbx::new("fallback");
    let out = run_with(
        &sbx,
        FORCED,
        &[
            "exec",
            "--lang",
            "python",
            "import sys\nprint(sys.stdin.read().upper(), end='')\nprint('err', file=sys.stderr)\nsys.exit(3)",
        ],
        "piped in\n",
    );
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(stdout(&out), "PIPED IN\n");
    assert_eq!(stderr(&out), "err\n");

    let out = run_with(
        &sbx,
        FORCED,
        &[
            "exec",
            "--lang",
            "python",
            "--timeout",
            "1s",
            "import time; time.sleep(30)",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(124));
    assert_eq!(
        stderr(&out),
        "sbx: the run exceeded its timeout (1s) and was killed with its container\n"
    );
}

#[test]
fn a_fallback_container_serves_one_run_and_is_replaced() {
    let sbx = Sbx::new("fallback-once");
    let host = |sbx: &Sbx| {
        let out = run_with(
            sbx,
            FORCED,
            &[
                "exec",
                "--lang",
                "python",
                "import socket; open('/tmp/mark', 'w'); print(socket.gethostname())",
            ],
            "",
        );
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out)
    };
    let (first, second) = (host(&sbx), host(&sbx));
    assert_ne!(
        first, second,
        "nothing proves an exec'd container clean: never reuse it"
    );
    let label = sbx.agent_label();
    let out = sbx.run(&["pool", "down"], "");
    assert!(out.status.success());
    assert!(common::containers_with(&label).is_empty());
}

#[test]
fn an_image_the_guest_cannot_enter_falls_back_to_exec_automatically() {
    // `/sbx` is a file in this image, so the guest cannot be copied in.
    let sbx = Sbx::new("fallback-auto");
    let (image, label) = sbx.test_made_image("noguest");
    let image = image.as_str();
    let e = engine();
    {
        let name = format!("sbx-test-noguest-{}", sbx.agent_id());
        let made = Command::new(&e)
            .args([
                "run",
                "--name",
                &name,
                "--network",
                "none",
                // Explicit limits: Podman's defaults exceed this host's.
                "--ulimit",
                "nofile=1024:1024",
                "--ulimit",
                "nproc=1024:1024",
                &common::test_image(),
                "sh",
                "-c",
                ": > /sbx",
            ])
            .output()
            .unwrap();
        assert!(made.status.success(), "{}", stderr(&made));
        let commit = Command::new(&e)
            .args(["commit", "--change", &label, &name, image])
            .output()
            .unwrap();
        let _ = Command::new(&e).args(["rm", "-f", &name]).output();
        assert!(commit.status.success(), "{}", stderr(&commit));
    }
    std::fs::write(
        &sbx.config,
        format!("[languages.python]\nimage = \"{image}\"\n"),
    )
    .unwrap();
    for _ in 0..2 {
        let out = sbx.run(&["exec", "--lang", "python", "print('still runs')"], "");
        assert!(out.status.success(), "{}", stderr(&out));
        assert_eq!(stdout(&out), "still runs\n");
    }
    let log = sbx.agent_log();
    assert_eq!(
        log.matches("using the plain-exec fallback").count(),
        1,
        "the agent notes it once and remembers the image: {log}"
    );
}
