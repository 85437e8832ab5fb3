//! The command line as a user meets it: help, completions, man pages,
//! examples, `sbx doctor`.

mod common;

use common::{Sbx, examples_dir, stderr, stdout};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn sbx_bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_sbx"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Run a shell script with this test's sbx first on PATH and its agent
/// environment.
fn script(sbx: &Sbx, path: &Path, args: &[&str]) -> Output {
    let path_var = format!(
        "{}:{}",
        sbx_bin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    sbx.program("bash")
        .arg(path)
        .args(args)
        .env("PATH", path_var)
        .current_dir(repo())
        .output()
        .unwrap()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn generated_completions_and_man_pages_are_current() {
    let tmp = std::env::temp_dir().join(format!("sbx-gen-{}", std::process::id()));
    let (c, m) = (tmp.join("completions"), tmp.join("man"));
    let out = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args([
            "generate",
            "--completions",
            c.to_str().unwrap(),
            "--man",
            m.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    for (fresh, committed) in [(&c, repo().join("completions")), (&m, repo().join("man"))] {
        assert_eq!(
            files_in(fresh),
            files_in(&committed),
            "run `bash scripts/generate.sh` and commit the result"
        );
        for name in files_in(fresh) {
            assert!(
                std::fs::read(fresh.join(&name)).unwrap()
                    == std::fs::read(committed.join(&name)).unwrap(),
                "{name} is out of date: run `bash scripts/generate.sh` and commit the result"
            );
        }
    }
    let _ = std::fs::remove_dir_all(tmp);
}

#[test]
fn every_man_page_renders_without_groff_warnings() {
    let pages = files_in(&repo().join("man"));
    assert!(
        pages.contains(&"sbx.1".to_string()) && pages.len() > 5,
        "{pages:?}"
    );
    for page in pages {
        let out = Command::new("groff")
            .args(["-ww", "-man", "-Tutf8", "-z"])
            .arg(repo().join("man").join(&page))
            .output()
            .expect("groff is installed (scripts/test.sh installs it)");
        assert!(
            out.status.success() && out.stderr.is_empty(),
            "{page}: {}",
            stderr(&out)
        );
    }
}

#[test]
fn bash_completes_po_to_pool() {
    let out = Command::new("bash")
        .arg("-c")
        .arg(
            "source completions/sbx.bash
             COMP_WORDS=(sbx po); COMP_CWORD=1; COMP_LINE='sbx po'; COMP_POINT=6
             _sbx sbx po sbx
             printf '%s\\n' \"${COMPREPLY[@]}\"",
        )
        .current_dir(repo())
        .output()
        .unwrap();
    assert_eq!(stdout(&out).trim(), "pool", "{}", stderr(&out));
}

#[test]
fn fish_completes_po_to_pool() {
    let out = Command::new("fish")
        .arg("-c")
        .arg("source completions/sbx.fish; complete -C 'sbx po'")
        .current_dir(repo())
        .output()
        .expect("fish is installed (scripts/test.sh installs it)");
    let first = stdout(&out);
    assert!(
        first.lines().any(|l| l.split('\t').next() == Some("pool")),
        "{first}"
    );
}

#[test]
fn zsh_completes_po_to_pool_in_a_real_terminal() {
    // zsh completion only runs in an interactive shell: drive one in tmux,
    // type `sbx po<Tab>`, and read the screen.
    let session = format!("sbx-zsh-{}", std::process::id());
    let zdotdir = std::env::temp_dir().join(&session);
    std::fs::create_dir_all(&zdotdir).unwrap();
    std::fs::write(
        zdotdir.join(".zshrc"),
        format!(
            "fpath=({} $fpath)\nautoload -U compinit && compinit -u\nPS1='zsh-ready%% '\n",
            repo().join("completions").display()
        ),
    )
    .unwrap();
    // A tmux server of the test's own (its own socket), never the user's.
    let socket = zdotdir.join("tmux.sock");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test.sh installs it)")
    };
    let path_var = format!("PATH={}:/usr/bin:/bin", sbx_bin_dir().display());
    let zd = format!("ZDOTDIR={}", zdotdir.display());
    let started = tmux(&[
        "new-session",
        "-d",
        "-s",
        &session,
        "-x",
        "100",
        "-y",
        "10",
        "env",
        &zd,
        &path_var,
        "zsh",
        "-i",
    ]);
    assert!(started.status.success(), "{}", stderr(&started));
    let screen = || stdout(&tmux(&["capture-pane", "-p", "-t", &session]));
    let wait_for = |want: &str| {
        let started = std::time::Instant::now();
        while started.elapsed() < std::time::Duration::from_secs(60) {
            if screen().contains(want) {
                return true;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        false
    };
    assert!(wait_for("zsh-ready%"), "no prompt: {}", screen());
    tmux(&["send-keys", "-t", &session, "sbx po", "Tab"]);
    let completed = wait_for("sbx pool");
    let shown = screen();
    tmux(&["kill-server"]);
    let _ = std::fs::remove_dir_all(&zdotdir);
    assert!(completed, "zsh did not complete: {shown}");
}

#[test]
fn run_help_shows_three_real_invocations_and_typos_get_a_suggestion() {
    let out = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let help = stdout(&out);
    let examples = help
        .lines()
        .filter(|l| l.trim_start().starts_with("sbx run"))
        .count()
        + help.lines().filter(|l| l.contains("| sbx run")).count();
    assert!(examples >= 3, "{help}");

    let out = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .args(["run", "--timout", "5s", "x.py"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--timeout"), "{}", stderr(&out));

    let out = Command::new(env!("CARGO_BIN_EXE_sbx"))
        .arg("--help")
        .output()
        .unwrap();
    let help = stdout(&out);
    let codes = help
        .split_once("Exit status:\n")
        .unwrap_or_else(|| panic!("no exit codes in --help:\n{help}"))
        .1;
    assert_eq!(
        codes,
        "  N      the program's own exit code (128+N when it was killed by signal N)
  2      usage error: unknown flag, missing argument, unknown language
  69     the session given with --session never existed or has ended
         (stopped, expired, or lost when its agent stopped); start another
  75     the pool was exhausted: no container came free (see max_size,
         acquisition_timeout, exhaustion in the [pool] config); retry later
  123    the program exceeded the output limit (--max-output) on stdout or
         stderr and was stopped with every process it started
  124    the run exceeded its timeout and was killed
  125    sbx itself failed: agent, container engine, image, configuration
  126    the language's interpreter exists in the image but cannot be executed
  127    the language's interpreter is missing from the image
  141    sbx's stdout was closed by its reader (`sbx run ... | head -1`): the
         program was stopped, as a program killed by SIGPIPE
"
    );
}

#[test]
fn every_language_has_a_hello_example_that_prints_hello() {
    let sbx = Sbx::full("ex-hello");
    let mut ran = Vec::new();
    for name in files_in(&examples_dir()) {
        if !name.starts_with("hello.") {
            continue;
        }
        let path = examples_dir().join(&name);
        let out = sbx.run(&["run", "-n", path.to_str().unwrap()], "");
        assert!(out.status.success(), "{name}: {}", stderr(&out));
        assert_eq!(stdout(&out), "hello from sbx\n", "{name}");
        ran.push(name);
    }
    // One per language in `sbx languages`.
    let out = sbx.run(&["languages", "--json"], "");
    let langs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(ran.len(), langs.as_array().unwrap().len(), "{ran:?}");
}

#[test]
fn the_llm_pipe_example_runs_generated_code() {
    let sbx = Sbx::new("ex-llm");
    let out = script(&sbx, &examples_dir().join("llm-pipe.sh"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "pi to 5 places: 3.14159\n");
}

#[test]
fn the_ci_example_passes_good_snippets_and_stops_at_the_first_failure() {
    let sbx = Sbx::new("ex-ci");
    let out = script(&sbx, &examples_dir().join("ci-snippets.sh"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("all snippets passed"));
    assert!(stdout(&out).contains("45\n"), "{}", stdout(&out));

    let dir = sbx.root.join("snippets");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("1-ok.py"), "print('fine')\n").unwrap();
    std::fs::write(dir.join("2-bad.py"), "raise SystemExit(4)\n").unwrap();
    std::fs::write(dir.join("3-never.py"), "print('not reached')\n").unwrap();
    let out = script(
        &sbx,
        &examples_dir().join("ci-snippets.sh"),
        &[dir.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("FAILED:") && stderr(&out).contains("2-bad.py"));
    assert!(!stdout(&out).contains("not reached"));
}

#[test]
fn the_keep_warm_example_serves_every_job_from_the_warm_pool() {
    let sbx = Sbx::new("ex-warm");
    let out = script(&sbx, &examples_dir().join("keep-warm.sh"), &["3"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    for i in 1..=3 {
        assert!(text.contains(&format!("job {i} done")), "{text}");
    }
    assert!(text.contains("removed 2 container(s)"), "{text}");
}

#[test]
fn the_jq_example_reads_stats_json() {
    let sbx = Sbx::new("ex-jq");
    let out = script(&sbx, &examples_dir().join("stats-jq.sh"), &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "python: 1 idle of 1 (max 10), 1 runs\n");
}

#[test]
fn doctor_passes_on_a_healthy_setup() {
    let sbx = Sbx::new("doctor-ok");
    let out = sbx.run(&["doctor"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}");
    let engine = format!("ok    engine      {} ", common::engine());
    assert!(text.contains(&engine), "{text}");
    assert!(text.contains("API 1."), "{text}");
    assert!(text.contains("ok    image       python:"), "{text}");
    assert!(
        text.contains(&format!(
            "ok    guest       {} (",
            std::path::Path::new(env!("CARGO_BIN_EXE_sbx"))
                .with_file_name("sbx-guest")
                .display()
        )),
        "{text}"
    );
    assert!(
        !text.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
}

#[test]
fn doctor_checks_that_the_engine_runs_the_oci_runtime_asked_for() {
    common::local_engine_only("the local engine's OCI runtimes");
    let sbx = Sbx::new("doctor-runtime");
    let config = std::fs::read_to_string(&sbx.config).unwrap();
    let with = |runtime: &str| {
        std::fs::write(
            &sbx.config,
            format!("{config}\n[isolation]\nruntime = \"{runtime}\"\n"),
        )
        .unwrap();
        let out = sbx.run(&["doctor"], "");
        let text = stdout(&out);
        let line = text
            .lines()
            .find(|l| l.get(6..).is_some_and(|l| l.starts_with("runtime     ")))
            .unwrap_or_else(|| panic!("no runtime line:\n{text}"))
            .to_string();
        (line, out.status.code())
    };
    if common::engine() == "podman" {
        let (line, code) = with("runc");
        assert_eq!(
            line,
            "FAIL  runtime     `runc` cannot be asked for per container through Podman's Docker-compatible API"
        );
        assert_eq!(code, Some(1));
        return;
    }
    let (line, code) = with("runc");
    assert_eq!(
        line,
        "ok    runtime     `runc` is registered with the engine"
    );
    assert_eq!(code, Some(0));
    let (line, code) = with("nosuchrt");
    assert!(
        line.starts_with(
            "FAIL  runtime     the engine does not know the OCI runtime `nosuchrt` (it has: "
        ),
        "{line}"
    );
    assert!(line.contains("runc"), "{line}");
    assert_eq!(code, Some(1));
}

#[test]
fn doctor_fails_with_a_fix_when_the_engine_is_unreachable() {
    let sbx = Sbx::new("doctor-down");
    let out = sbx
        .cmd()
        .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        .env("CONTAINER_HOST", "unix:///nonexistent/docker.sock")
        .arg("doctor")
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let fail = text
        .lines()
        .position(|l| l.starts_with("FAIL  engine"))
        .expect(&text);
    assert!(
        text.lines()
            .nth(fail + 1)
            .unwrap()
            .contains("fix: start the engine"),
        "{text}"
    );
}

#[test]
fn quiet_silences_sbx_but_never_the_program_and_verbose_explains() {
    let sbx = Sbx::new("quiet");
    let out = sbx.run(&["-q", "pool", "up", "--lang", "python"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "", "no confirmation under -q");
    let out = sbx.run(
        &["exec", "-q", "--lang", "python", "print('still here')"],
        "",
    );
    assert_eq!(stdout(&out), "still here\n");
    assert_eq!(stderr(&out), "");

    let out = sbx.run(&["-v", "exec", "--lang", "python", "print(1)"], "");
    assert_eq!(stdout(&out), "1\n");
    // -v says what sbx does: here, which agent served the run.
    let pid = sbx.agent_pids()[0];
    let err = stderr(&out);
    let socket = sbx.agent_dir().join("agent.sock");
    assert!(
        err.starts_with(&format!("sbx: agent pid {pid} (sbx "))
            && err.ends_with(&format!(") on {}\n", socket.display()))
            && err.lines().count() == 1,
        "{err}"
    );

    let out = sbx.run(&["-q", "-v", "pool", "stats"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "-q and -v contradict each other"
    );

    let out = sbx.run(&["pool", "down", "--quiet"], "");
    assert!(out.status.success());
    assert_eq!(stdout(&out), "");
}
