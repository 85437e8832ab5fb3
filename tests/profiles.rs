//! Config profiles end to end: errors before anything starts, profile
//! commands, a profile's settings reaching its containers, and a profile
//! changed under a running agent. The real binary, agent and engine.

mod common;

use common::{Sbx, containers_with, engine, stderr, stdout, wait_until};
use std::time::Duration;

/// A test environment whose config file gets `extra` appended.
fn sbx_with(name: &str, extra: &str) -> Sbx {
    Sbx::with_config(name, extra)
}

fn append(sbx: &Sbx, extra: &str) {
    sbx.append_config(extra);
}

fn pools(sbx: &Sbx) -> Vec<serde_json::Value> {
    let out = sbx.run(&["pool", "stats", "--json"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["pools"].as_array().unwrap().clone()
}

/// `sbx ARGS` must fail with a one-line error naming `file:line` and
/// `needle`, without starting an agent.
fn assert_config_error(sbx: &Sbx, args: &[&str], file_line: &str, needle: &str) {
    let out = sbx.run(args, "");
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} succeeded: {err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one line: {err}");
    assert!(
        err.contains(file_line),
        "{args:?}: wants {file_line}: {err}"
    );
    assert!(err.contains(needle), "{args:?}: wants {needle}: {err}");
    assert!(sbx.agent_pids().is_empty(), "{args:?} started an agent");
    assert!(
        !sbx.agent_dir().join("agent.sock").exists(),
        "{args:?} left an agent socket"
    );
}

#[test]
fn config_errors_are_one_line_with_file_and_line_and_start_no_agent() {
    let sbx = Sbx::new("prof-errors");
    let base = std::fs::read_to_string(&sbx.config).unwrap();
    let base_lines = base.lines().count();
    let cases = [
        (
            "[profiles.ds]\nlang = \"python\"\n[profiles.ds.pool]\nmax_pool_sise = 8\n",
            4,
            "did you mean `max_size`",
        ),
        (
            "[profiles.ds]\nlang = \"python\"\n[profiles.ds.pool]\nmin_size = \"two\"\n",
            4,
            "invalid type",
        ),
        (
            "[profiles.ds]\nlang = \"python\"\n[profiles.ds.pool]\nmin_size = 5\nmax_size = 2\n",
            4,
            "min_size (5) is larger than max_size (2)",
        ),
        (
            "[profiles.ds]\nlang = \"cobol\"\n",
            2,
            "unknown language `cobol`",
        ),
    ];
    for (extra, line, needle) in cases {
        std::fs::write(&sbx.config, format!("{base}\n{extra}")).unwrap();
        // `append` adds one blank line after the harness's lines.
        let file_line = format!("{}:{}", sbx.config.display(), base_lines + 1 + line);
        for args in [
            &["exec", "--lang", "python", "print(1)"][..],
            &["--profile", "ds", "exec", "print(1)"],
            &["pool", "up"],
            &["profile", "check"],
        ] {
            assert_config_error(&sbx, args, &file_line, needle);
        }
    }
}

#[test]
fn an_unreadable_config_file_is_a_one_line_error_and_starts_no_agent() {
    let sbx = Sbx::new("prof-unreadable");
    // A directory cannot be read as a file, even by root.
    std::fs::remove_file(&sbx.config).unwrap();
    std::fs::create_dir(&sbx.config).unwrap();
    for args in [
        &["exec", "--lang", "python", "print(1)"][..],
        &["pool", "up"],
        &["profile", "list"],
        &["profile", "check"],
    ] {
        assert_config_error(
            &sbx,
            args,
            &sbx.config.display().to_string(),
            "cannot read config file",
        );
    }
}

#[test]
fn an_unknown_profile_is_a_usage_error_that_suggests_the_nearest_one() {
    let sbx = sbx_with("prof-unknown", "[profiles.datasci]\nlang = \"python\"\n");
    let out = sbx.run(&["--profile", "datasic", "exec", "print(1)"], "");
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("did you mean `datasci`"),
        "{}",
        stderr(&out)
    );
    assert!(sbx.agent_pids().is_empty());
}

#[test]
fn profile_list_show_and_check_describe_the_file_without_starting_anything() {
    let sbx = sbx_with(
        "prof-cmds",
        "[pool]\nmax_size = 6\n\n[profiles.datasci]\nlang = \"python\"\nlibraries = [\"numpy\"]\n\
         [profiles.datasci.pool]\nmin_size = 2\n[profiles.datasci.limits]\nmemory = \"512m\"\ncpus = 1.0\n\n\
         [profiles.web]\nlang = \"javascript\"\nnetwork = \"bridge\"\n",
    );
    let out = sbx.run(&["profile", "list"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let list = stdout(&out);
    assert!(
        list.contains("datasci") && list.contains("web") && list.contains("numpy"),
        "{list}"
    );

    let out = sbx.run(&["profile", "show", "datasci"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let shown = stdout(&out);
    // Effective settings: its own, inherited from [pool], and defaults.
    for line in [
        "lang = \"python\"",
        "min_size = 2",
        "max_size = 6",
        "idle_timeout = \"5m\"",
        "memory = \"512MiB\"",
        "cpus = 1.0",
        "network = \"none\"",
    ] {
        assert!(shown.lines().any(|l| l == line), "no `{line}` in:\n{shown}");
    }
    // What `show` prints is itself a valid config file.
    let round = sbx.write("shown.toml", &shown);
    let out = sbx.run(&["profile", "check", round.to_str().unwrap()], "");
    assert!(out.status.success(), "{}: {}", shown, stderr(&out));
    // ... and loads back unchanged: shown again from that file, it is the same.
    let out = sbx.run(
        &[
            "--config",
            round.to_str().unwrap(),
            "profile",
            "show",
            "datasci",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), shown);

    let out = sbx.run(&["profile", "check"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        format!("{}: valid; profiles: datasci, web\n", sbx.config.display())
    );
    assert!(
        sbx.agent_pids().is_empty(),
        "profile commands start no agent"
    );
}

#[test]
fn a_profile_gives_its_runs_language_env_timeout_and_a_pool_of_its_own() {
    let sbx = sbx_with(
        "prof-run",
        "[profiles.quick]\nlang = \"python\"\ntimeout = \"1s\"\nenv = { GREETING = \"hi from quick\" }\n",
    );
    // No --lang: the profile's language.
    let out = sbx.run(
        &[
            "--profile",
            "quick",
            "exec",
            "import os; print(os.environ['GREETING'])",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "hi from quick\n");
    // The profile's timeout applies unless --timeout says otherwise.
    let out = sbx.run(
        &["--profile", "quick", "exec", "import time; time.sleep(5)"],
        "",
    );
    assert_eq!(out.status.code(), Some(124), "{}", stderr(&out));
    let out = sbx.run(
        &[
            "--profile",
            "quick",
            "exec",
            "--timeout",
            "10s",
            "import time; time.sleep(1.5); print('done')",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // Without --profile: the built-in defaults, in a pool named by language.
    let out = sbx.run(
        &[
            "exec",
            "--lang",
            "python",
            "import os; print(os.environ.get('GREETING'))",
        ],
        "",
    );
    assert_eq!(stdout(&out), "None\n", "{}", stderr(&out));
    let mut names: Vec<String> = pools(&sbx)
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    assert_eq!(names, ["python", "quick"]);
    // --profile narrows stats and down to that profile's pools.
    let out = sbx.run(&["--profile", "quick", "pool", "stats", "--json"], "");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["pools"].as_array().unwrap().len(), 1, "{v}");
    let out = sbx.run(&["--profile", "quick", "pool", "down"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let names: Vec<String> = pools(&sbx)
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["python"], "the agent and its other pool stay");
}

#[test]
fn a_profile_fixed_to_another_language_is_refused_when_named() {
    let sbx = sbx_with("prof-lang", "[profiles.py]\nlang = \"python\"\n");
    let out = sbx.run(
        &["--profile", "py", "exec", "--lang", "javascript", "1"],
        "",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("profile `py` is for python"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_default_profile_applies_when_none_is_named() {
    let sbx = sbx_with(
        "prof-default",
        "[profiles.default]\nlang = \"python\"\nenv = { WHO = \"default\" }\n",
    );
    let out = sbx.run(&["exec", "import os; print(os.environ['WHO'])"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "default\n");
}

/// `docker inspect` of the one container carrying `label`.
fn inspect_one(label: &str) -> serde_json::Value {
    let ids = containers_with(label);
    assert_eq!(ids.len(), 1, "one container with {label}: {ids:?}");
    let out = std::process::Command::new(engine())
        .args(["inspect", &ids[0]])
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v[0].clone()
}

#[test]
fn a_profile_s_limits_and_network_reach_its_containers() {
    let sbx = sbx_with(
        "prof-limits",
        "[profiles.small]\nlang = \"python\"\n[profiles.small.limits]\nmemory = \"256m\"\ncpus = 0.5\npids = 64\n",
    );
    let label = sbx.agent_label();
    let ifaces = "import os; print(sorted(os.listdir('/sys/class/net')))";
    let out = sbx.run(&["--profile", "small", "exec", ifaces], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "['lo']\n", "network none by default");
    let host = inspect_one(&label)["HostConfig"].clone();
    assert_eq!(host["Memory"], 256 << 20, "{host}");
    assert_eq!(host["MemorySwap"], 256 << 20, "no swap beyond memory");
    assert_eq!(host["NanoCpus"], 500_000_000i64);
    assert_eq!(host["PidsLimit"], 64);
    // The limit is real: the program sees it in its cgroup.
    let out = sbx.run(
        &[
            "--profile",
            "small",
            "exec",
            // cgroup v1 or v2, whichever the host has.
            "import os; p = '/sys/fs/cgroup/pids/pids.max'; p = p if os.path.exists(p) else '/sys/fs/cgroup/pids.max'; print(open(p).read().strip())",
        ],
        "",
    );
    assert_eq!(stdout(&out), "64\n", "{}", stderr(&out));
    assert_eq!(host["NetworkMode"], "none");
}

#[test]
fn a_profile_changed_under_a_running_agent_gets_a_new_pool_while_the_old_run_finishes() {
    let sbx = sbx_with(
        "prof-change",
        "[profiles.ds]\nlang = \"python\"\n[profiles.ds.pool]\nmin_size = 1\n",
    );
    let out = sbx.run(&["--profile", "ds", "pool", "up"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let label = sbx.agent_label();
    let old: Vec<String> = containers_with(&label);
    assert_eq!(old.len(), 1, "{old:?}");

    // A run in flight on the old pool's container.
    let busy = sbx.spawn(&[
        "--profile",
        "ds",
        "exec",
        "import time, socket; print(socket.gethostname()); time.sleep(3); print('old run finished')",
    ]);
    assert!(wait_until(Duration::from_secs(10), || {
        pools(&sbx).iter().any(|p| p["busy"] == 1)
    }));

    // Change the profile: a new pool, with new containers.
    let text = std::fs::read_to_string(&sbx.config).unwrap();
    std::fs::write(
        &sbx.config,
        text.replace("min_size = 1", "min_size = 1\nmax_uses = 50"),
    )
    .unwrap();
    let out = sbx.run(
        &[
            "--profile",
            "ds",
            "exec",
            "import socket; print(socket.gethostname())",
        ],
        "",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let new_host = stdout(&out);

    let busy = busy.wait_with_output().unwrap();
    assert!(busy.status.success(), "{}", stderr(&busy));
    let busy_out = stdout(&busy);
    assert!(busy_out.ends_with("old run finished\n"), "{busy_out}");
    let old_host = busy_out.lines().next().unwrap().to_string() + "\n";
    assert_ne!(old_host, new_host, "the new run used a new container");
    assert!(
        old[0].starts_with(old_host.trim()),
        "the old run stayed on the old container"
    );

    // The old pool drains and disappears; its container is removed.
    assert!(
        wait_until(Duration::from_secs(20), || {
            !containers_with(&label).contains(&old[0]) && pools(&sbx).len() == 1
        }),
        "old pool still there: {:?}",
        pools(&sbx)
    );
    assert_eq!(pools(&sbx)[0]["name"], "ds");
    assert!(sbx.agent_log().contains("config of pool `ds` changed"));
}

/// A package index served from the host for the library tests (see
/// tests/fixtures/package_index.py): pip's "simple" index and an npm
/// registry, on 127.0.0.1 only. Stopped when dropped.
struct PackageIndex {
    server: std::process::Child,
    url: String,
    /// Unique to this test process, so every run of the suite builds a
    /// new image instead of finding one a previous run left.
    version: String,
}

impl PackageIndex {
    fn start(dir: &std::path::Path) -> PackageIndex {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}");
        let version = format!("1.0.{}", std::process::id());
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/package_index.py"
        );
        let out = std::process::Command::new("python3")
            .args([script, dir.to_str().unwrap(), &url, &version])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let server = std::process::Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
            ])
            .current_dir(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        assert!(
            wait_until(Duration::from_secs(10), || {
                std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
            }),
            "the package index did not start"
        );
        PackageIndex {
            server,
            url,
            version,
        }
    }
}

impl Drop for PackageIndex {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

/// Removes the derived images a test built, even when it fails.
struct RemoveImages(Vec<String>);

impl Drop for RemoveImages {
    fn drop(&mut self) {
        for tag in &self.0 {
            let _ = std::process::Command::new(engine())
                .args(["rmi", "-f", tag])
                .output();
        }
    }
}

/// The derived image named in `pool up`'s build messages.
fn built_tag(err: &str) -> Option<String> {
    err.split_whitespace()
        .find(|w| w.starts_with("sbx-lib/"))
        .map(|w| w.trim_end_matches(':').to_string())
}

fn library_profile(name: &str, lang: &str, lib: &str, index_env: &str) -> String {
    format!(
        "[profiles.{name}]\nlang = \"{lang}\"\nlibraries = [\"{lib}\"]\n\
         [profiles.{name}.pool]\nmin_size = 2\n\
         [profiles.{name}.build]\nnetwork = \"host\"\nenv = {{ {index_env} }}\n"
    )
}

#[test]
fn libraries_are_installed_once_into_an_image_that_later_pools_and_agents_reuse() {
    // Declared first so it is dropped last, after the agent and its
    // containers are gone (an image in use cannot be removed).
    let mut cleanup = RemoveImages(Vec::new());
    let sbx = Sbx::new("prof-libs");
    let index = PackageIndex::start(&sbx.root.join("index"));
    let v = &index.version;
    append(
        &sbx,
        &library_profile(
            "pylib",
            "python",
            &format!("sbx-hello=={v}"),
            &format!("PIP_INDEX_URL = \"{}/simple/\"", index.url),
        ),
    );
    append(
        &sbx,
        &library_profile(
            "jslib",
            "javascript",
            &format!("sbx-hello-npm@{v}"),
            &format!("npm_config_registry = \"{}/npm/\"", index.url),
        ),
    );

    for (profile, installed, program, expected) in [
        (
            "pylib",
            "Successfully installed sbx-hello",
            "import sbx_hello; print(sbx_hello.GREETING)",
            "hello from a wheel\n",
        ),
        (
            "jslib",
            "sbx-hello-npm",
            "console.log(require('sbx-hello-npm'))",
            "hello from npm\n",
        ),
    ] {
        // First: a real install, its output shown with -v.
        let out = sbx.run(&["-v", "--profile", profile, "pool", "up"], "");
        let err = stderr(&out);
        assert!(out.status.success(), "{profile}: {err}");
        let tag = built_tag(&err).unwrap_or_else(|| panic!("no image in: {err}"));
        cleanup.0.push(tag.clone());
        assert!(err.contains(&format!("building {tag}")), "{err}");
        assert!(err.contains(installed), "installer output with -v: {err}");
        assert!(
            stdout(&out).contains("2 warm container(s)"),
            "{}",
            stdout(&out)
        );

        let out = sbx.run(&["--profile", profile, "exec", program], "");
        assert!(out.status.success(), "{profile}: {}", stderr(&out));
        assert_eq!(stdout(&out), expected);

        // Second, from a new agent: the image is reused, nothing installed.
        let out = sbx.run(&["pool", "down"], "");
        assert!(out.status.success(), "{}", stderr(&out));
        let out = sbx.run(&["--profile", profile, "pool", "up"], "");
        let err = stderr(&out);
        assert!(out.status.success(), "{err}");
        assert!(err.contains(&format!("using {tag}")), "reused: {err}");
        assert!(!err.contains("building"), "rebuilt: {err}");
        let out = sbx.run(&["--profile", profile, "exec", program], "");
        assert_eq!(stdout(&out), expected, "{}", stderr(&out));
    }
}

#[test]
fn a_failed_install_fails_the_pool_with_the_installer_s_error() {
    let sbx = Sbx::new("prof-libfail");
    let index = PackageIndex::start(&sbx.root.join("index"));
    append(
        &sbx,
        &library_profile(
            "broken",
            "python",
            "sbx-no-such-package==1.0",
            &format!("PIP_INDEX_URL = \"{}/simple/\"", index.url),
        ),
    );
    let out = sbx.run(&["--profile", "broken", "pool", "up"], "");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(125), "{err}");
    let last = err.trim_end().lines().last().unwrap();
    assert!(
        last.contains("install the libraries of pool `broken`")
            && last.contains("No matching distribution found for sbx-no-such-package==1.0"),
        "{err}"
    );
    // No pool, no container: never a "ready" pool without its libraries.
    assert!(pools(&sbx).is_empty(), "{:?}", pools(&sbx));
    assert!(containers_with(&sbx.agent_label()).is_empty());
    let out = sbx.run(&["--profile", "broken", "exec", "print(1)"], "");
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("No matching distribution"),
        "{}",
        stderr(&out)
    );
}
