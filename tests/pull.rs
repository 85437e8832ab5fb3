//! Images from a real registry: Debian's `docker-registry` (the CNCF
//! distribution server, installed by scripts/test.sh) started by each test
//! on loopback, with a test image pushed into it and absent from the
//! engine, so that sbx has to pull it.
//!
//! Docker treats 127.0.0.0/8 registries as plain-http ones by itself;
//! Podman is told so by a registries.conf drop-in scripts/podman.sh puts
//! in place before it starts the Podman API service.

mod common;

use common::{Sbx, engine, stderr, stdout, test_image, wait_until};
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const USER: &str = "sbx-tester";
const PASSWORD: &str = "pw-Zq8rT3vX-never-shown";

/// A registry process of the test's own, stopped (and its storage
/// removed) when dropped.
struct Registry {
    child: Child,
    port: u16,
    dir: PathBuf,
    auth: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn tool(program: &str) -> Command {
    Command::new(program)
}

fn ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} cannot run: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}{}",
        stdout(&out),
        stderr(&out)
    );
    stdout(&out)
}

impl Registry {
    fn start(sbx: &Sbx, auth: bool) -> Registry {
        let dir = sbx
            .root
            .join(format!("registry-{}", if auth { "auth" } else { "open" }));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let port = free_port();
        let mut config = format!(
            "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n",
            dir.join("data").display()
        );
        if auth {
            let line = ok(tool("htpasswd").args(["-Bbn", USER, PASSWORD]));
            std::fs::write(dir.join("htpasswd"), line.trim()).unwrap();
            config.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: sbx-test\n    path: {}\n",
                dir.join("htpasswd").display()
            ));
        }
        std::fs::write(dir.join("config.yml"), config).unwrap();
        let log = std::fs::File::create(dir.join("registry.log")).unwrap();
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("docker-registry is installed (scripts/test.sh installs it)");
        let r = Registry {
            child,
            port,
            dir,
            auth,
        };
        assert!(
            wait_until(Duration::from_secs(15), || TcpStream::connect(r.addr())
                .is_ok()),
            "the registry did not listen: {}",
            r.log()
        );
        r
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    fn log(&self) -> String {
        let mut s = String::new();
        let _ = std::fs::File::open(self.dir.join("registry.log"))
            .and_then(|mut f| f.read_to_string(&mut s));
        s
    }

    /// Requests for the manifest of `repo:tag` by its tag: one per pull
    /// (Docker asks with HEAD, Podman with GET; layers and by-digest
    /// manifests follow from it). Counted in the access log, whose lines
    /// start with the client's address.
    fn tag_requests(&self, repo: &str, tag: &str) -> usize {
        let head = format!("\"HEAD /v2/{repo}/manifests/{tag} ");
        let get = format!("\"GET /v2/{repo}/manifests/{tag} ");
        self.log()
            .lines()
            .filter(|l| l.starts_with("127.0.0.1 - "))
            .filter(|l| l.contains(&head) || l.contains(&get))
            .count()
    }

    /// The test image plus a layer of its own (random bytes, so the pull
    /// has something to download), pushed here as `repo:1` and absent from
    /// both engines afterwards. Returns the reference and its guard.
    fn push(&self, sbx: &Sbx, repo: &str, guard: &mut Images) -> String {
        let reference = format!("{}/{repo}:1", self.addr());
        guard.0.push(reference.clone());
        let ctx = self.dir.join(format!("build-{repo}"));
        std::fs::create_dir_all(&ctx).unwrap();
        let mut blob = vec![0u8; 24 << 20];
        std::fs::File::open("/dev/urandom")
            .unwrap()
            .read_exact(&mut blob)
            .unwrap();
        std::fs::write(ctx.join("blob"), blob).unwrap();
        let (_, label) = sbx.test_made_image("pull");
        std::fs::write(
            ctx.join("Dockerfile"),
            format!("FROM {}\n{label}\nCOPY blob /sbx-test-blob\n", test_image()),
        )
        .unwrap();
        ok(tool("docker")
            .args(["build", "-q", "-t", &reference])
            .arg(&ctx));
        let cli_config = self.dir.join("pusher");
        std::fs::create_dir_all(&cli_config).unwrap();
        if self.auth {
            let mut login = tool("docker")
                .arg("--config")
                .arg(&cli_config)
                .args(["login", "-u", USER, "--password-stdin", &self.addr()])
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            use std::io::Write;
            login
                .stdin
                .take()
                .unwrap()
                .write_all(PASSWORD.as_bytes())
                .unwrap();
            assert!(login.wait().unwrap().success(), "docker login failed");
        }
        ok(tool("docker")
            .arg("--config")
            .arg(&cli_config)
            .args(["push", &reference]));
        guard.remove();
        assert!(!present(&reference), "{reference} is still in {}", engine());
        reference
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Images a test put into the engines: removed from both when dropped.
/// Declared before the harness, so they go after its containers (an image
/// removed under a running container would linger untagged).
#[derive(Default)]
struct Images(Vec<String>);

impl Images {
    fn remove(&self) {
        for image in &self.0 {
            for e in ["docker", "podman"] {
                if Command::new("which")
                    .arg(e)
                    .output()
                    .is_ok_and(|o| o.status.success())
                {
                    let _ = tool(e).args(["rmi", "-f", image]).output();
                }
            }
        }
    }
}

impl Drop for Images {
    fn drop(&mut self) {
        self.remove();
    }
}

fn present(reference: &str) -> bool {
    tool(&engine())
        .args(["image", "inspect", reference])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

/// Python of this test's config runs `image`.
fn use_image(sbx: &Sbx, image: &str) {
    std::fs::write(
        &sbx.config,
        format!("[languages.python]\nimage = \"{image}\"\n"),
    )
    .unwrap();
}

fn repo_name(sbx: &Sbx, what: &str) -> String {
    format!("sbx-test/{what}-{}", sbx.agent_id())
}

#[test]
fn a_first_run_pulls_its_image_from_the_registry_says_so_on_stderr_and_runs() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-first");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "first");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);

    let listed = sbx.run(&["languages", "--json"], "");
    assert!(
        stdout(&listed).contains(&format!("\"image\": \"{image}\",\n    \"present\": false")),
        "{}",
        stdout(&listed)
    );
    let out = sbx.run(
        &["exec", "--lang", "python", "print('ran after the pull')"],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "ran after the pull\n");
    let err = stderr(&out);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 2, "{err}");
    assert_eq!(lines[0], format!("sbx: pulling {image}"));
    assert!(
        lines[1].starts_with(&format!("sbx: pulled {image} in ")),
        "{err}"
    );
    // Docker counts the bytes it downloads; Podman's API reports none for a
    // layer that downloads within its one-second interval, and the line
    // then gives the image's size instead.
    assert!(
        lines[1].ends_with(" MiB downloaded")
            || (engine() == "podman" && lines[1].ends_with(" MiB")),
        "{err}"
    );
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    assert!(present(&image));
    let listed = sbx.run(&["languages", "--json"], "");
    assert!(
        stdout(&listed).contains(&format!("\"image\": \"{image}\",\n    \"present\": true")),
        "{}",
        stdout(&listed)
    );
    // A second run uses the pool: no pull, nothing on stderr.
    let again = sbx.run(&["exec", "--lang", "python", "print(2)"], "");
    assert_eq!(stdout(&again), "2\n");
    assert_eq!(stderr(&again), "");
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    drop(sbx);
    drop(images);
}

#[test]
fn sbx_pull_fetches_ahead_of_time_so_a_later_run_pulls_nothing_and_quiet_shows_nothing() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-ahead");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "ahead");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);

    let out = sbx.run(&["pull", "--lang", "python"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "");
    assert!(
        stderr(&out).contains(&format!("sbx: pulled {image} in ")),
        "{}",
        stderr(&out)
    );
    assert!(present(&image));
    assert_eq!(registry.tag_requests(&repo, "1"), 1);

    let run = sbx.run(&["-q", "exec", "--lang", "python", "print(7)"], "");
    assert_eq!(stdout(&run), "7\n");
    assert_eq!(stderr(&run), "");
    assert_eq!(registry.tag_requests(&repo, "1"), 1, "the run pulled again");

    // `sbx pull IMAGE` asks the registry even for an image that is there
    // (a moving tag); -q silences its progress.
    let quiet = sbx.run(&["-q", "pull", &image], "");
    assert_eq!(quiet.status.code(), Some(0), "{}", stderr(&quiet));
    assert_eq!(stderr(&quiet), "");
    assert_eq!(registry.tag_requests(&repo, "1"), 2);

    let usage = sbx.run(&["pull"], "");
    assert_eq!(usage.status.code(), Some(2), "{}", stderr(&usage));
    assert!(stderr(&usage).contains("--lang"), "{}", stderr(&usage));
    drop(sbx);
    drop(images);
}

#[test]
fn two_concurrent_first_runs_share_one_pull() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-shared");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "shared");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);
    // Started together: both find the image missing and wait for it.
    let a = sbx.spawn(&["exec", "--lang", "python", "print('a')"]);
    let b = sbx.spawn(&["exec", "--lang", "python", "print('b')"]);
    let (a, b) = (a.wait_with_output().unwrap(), b.wait_with_output().unwrap());
    assert_eq!(stdout(&a), "a\n", "{}", stderr(&a));
    assert_eq!(stdout(&b), "b\n", "{}", stderr(&b));
    // Both waited for the pull while it ran (each saw it start and end)...
    for out in [&a, &b] {
        let err = stderr(out);
        assert!(err.contains(&format!("sbx: pulling {image}\n")), "{err}");
        assert!(err.contains(&format!("sbx: pulled {image} in ")), "{err}");
    }
    // ...and the registry was asked for the image once.
    assert_eq!(
        registry.tag_requests(&repo, "1"),
        1,
        "two pulls reached the registry: {}",
        registry.log()
    );
    assert_eq!(
        sbx.agent_log().matches(&format!("pulling {image}")).count(),
        1,
        "{}",
        sbx.agent_log()
    );
    drop(sbx);
    drop(images);
}

#[test]
fn progress_is_a_bar_in_a_real_terminal_and_the_programs_output_stays_intact() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-tty");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "tty");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);

    // A tmux server of the test's own (its own socket), never the user's.
    let socket = sbx.root.join("tmux.sock");
    let raw = sbx.root.join("pane.raw");
    let tmux = |args: &[&str]| {
        Command::new("tmux")
            .arg("-S")
            .arg(&socket)
            .args(args)
            .output()
            .expect("tmux is installed (scripts/test.sh installs it)")
    };
    let session = "sbx-pull";
    let script = format!(
        "sleep 1; {} exec --lang python 'print(\"program-output-line\")'; echo \"exit=$?\"; sleep 600",
        env!("CARGO_BIN_EXE_sbx")
    );
    let env = sbx.env_args();
    let mut argv = vec![
        "new-session",
        "-d",
        "-s",
        session,
        "-x",
        "160",
        "-y",
        "20",
        "env",
    ];
    argv.extend(env.iter().map(String::as_str));
    argv.extend(["sh", "-c", &script]);
    let started = tmux(&argv);
    assert!(started.status.success(), "{}", stderr(&started));
    // Everything written to the terminal, escape sequences and all.
    tmux(&[
        "pipe-pane",
        "-o",
        "-t",
        session,
        &format!("cat >> {}", raw.display()),
    ]);
    let screen = || stdout(&tmux(&["capture-pane", "-p", "-t", session]));
    let finished = wait_until(Duration::from_secs(120), || screen().contains("exit="));
    let shown = screen();
    tmux(&["kill-server"]);
    assert!(finished, "the run did not finish: {shown}");
    let raw = String::from_utf8_lossy(&std::fs::read(&raw).unwrap()).into_owned();
    // The bar was drawn (and redrawn) while the pull ran...
    assert!(
        raw.contains(&format!("pulling {image}")) && raw.contains("layers"),
        "no progress bar was drawn: {raw:?}"
    );
    // ...and cleared: the screen keeps the summary line, the program's
    // output on a line of its own, and its exit code.
    let lines: Vec<&str> = shown.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("sbx: pulled {image} in "))),
        "{shown}"
    );
    assert!(lines.contains(&"program-output-line"), "{shown}");
    assert!(lines.contains(&"exit=0"), "{shown}");
    assert!(
        !lines.iter().any(|l| l.contains("pulling")),
        "the bar was left on the screen: {shown}"
    );
    drop(sbx);
    drop(images);
}

/// A `config.json` holding `PASSWORD` for `registry` the way `docker
/// login` writes it.
fn write_docker_config(dir: &Path, registry: &str, entry: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(
        dir.join("config.json"),
        format!("{{\"auths\": {{\"{registry}\": {entry}}}}}"),
    )
    .unwrap();
}

fn base64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

#[test]
fn a_registry_that_needs_credentials_refuses_without_them_and_serves_with_them_in_config_json() {
    let mut images = Images::default();
    let mut sbx = Sbx::new("pull-auth");
    let registry = Registry::start(&sbx, true);
    let repo = repo_name(&sbx, "auth");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);
    let docker_config = sbx.root.join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    sbx.env("DOCKER_CONFIG", &docker_config);

    let out = sbx.run(&["exec", "--lang", "python", "print(1)"], "");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(last.starts_with("sbx: registry "), "{err}");
    assert!(last.contains(&registry.addr()), "{err}");
    assert!(last.contains("without valid credentials"), "{err}");
    assert!(
        last.contains(&docker_config.join("config.json").display().to_string()),
        "{err}"
    );
    assert!(last.contains(&format!("{} login", engine())), "{err}");

    write_docker_config(
        &docker_config,
        &registry.addr(),
        &format!(
            "{{\"auth\": \"{}\"}}",
            base64(&format!("{USER}:{PASSWORD}"))
        ),
    );
    let out = sbx.run(&["exec", "--lang", "python", "print('authorized')"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "authorized\n");

    let logs = sbx.run(&["agent", "logs"], "");
    let everything = [
        stdout(&out),
        stderr(&out),
        err,
        stdout(&logs),
        stderr(&logs),
        sbx.agent_log(),
    ]
    .concat();
    assert!(sbx.agent_log().contains(&format!("pulled {image}")));
    assert!(!everything.contains(PASSWORD), "the secret was shown");
    assert!(
        !everything.contains(&base64(&format!("{USER}:{PASSWORD}"))),
        "the encoded secret was shown"
    );
    drop(sbx);
    drop(images);
}

#[test]
fn credentials_come_from_a_credential_helper_named_in_config_json() {
    let mut images = Images::default();
    let mut sbx = Sbx::new("pull-helper");
    let registry = Registry::start(&sbx, true);
    let repo = repo_name(&sbx, "helper");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);
    let bin = sbx.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let helper = bin.join("docker-credential-sbxtest");
    let asked = sbx.root.join("helper-asked");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\n[ \"$1\" = get ] || exit 1\nread server\necho \"$server\" > {}\nprintf '{{\"ServerURL\":\"%s\",\"Username\":\"{USER}\",\"Secret\":\"{PASSWORD}\"}}' \"$server\"\n",
            asked.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    let docker_config = sbx.root.join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    std::fs::write(
        docker_config.join("config.json"),
        format!(
            "{{\"credHelpers\": {{\"{}\": \"sbxtest\"}}}}",
            registry.addr()
        ),
    )
    .unwrap();
    sbx.env("DOCKER_CONFIG", &docker_config);
    sbx.env(
        "PATH",
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
    );

    let out = sbx.run(&["exec", "--lang", "python", "print('via helper')"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "via helper\n");
    assert_eq!(
        std::fs::read_to_string(&asked).unwrap().trim(),
        registry.addr()
    );
    assert!(!sbx.agent_log().contains(PASSWORD));
    assert!(!stderr(&out).contains(PASSWORD));
    drop(sbx);
    drop(images);
}

#[test]
fn a_missing_image_and_an_unreachable_registry_fail_with_one_line_saying_what_to_do() {
    let sbx = Sbx::new("pull-errors");
    let registry = Registry::start(&sbx, false);
    let missing = format!(
        "{}/sbx-test/never-pushed-{}:1",
        registry.addr(),
        sbx.agent_id()
    );
    use_image(&sbx, &missing);

    let out = sbx.run(&["exec", "--lang", "python", "print(1)"], "");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with(&format!(
            "sbx: image `{missing}` was not found in registry {}",
            registry.addr()
        )),
        "{err}"
    );
    assert!(last.contains("check the image's name and tag"), "{err}");

    // Nothing listens on a port taken and given back.
    let nowhere = format!("127.0.0.1:{}/sbx-test/x:1", free_port());
    let out = sbx.run(&["pull", &nowhere], "");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("sbx: cannot reach registry 127.0.0.1:"),
        "{err}"
    );
    assert!(last.contains("connection refused"), "{err}");
    assert!(last.contains("check the engine's network"), "{err}");
    drop(sbx);
}

#[test]
fn a_pull_that_makes_no_progress_fails_after_pull_timeout() {
    // A "registry" that accepts connections and never answers.
    let silent = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let held = std::thread::spawn(move || {
        let mut conns = Vec::new();
        for c in silent.incoming().take(8).flatten() {
            conns.push(c);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let image = format!("{addr}/sbx-test/stalled:1");
    let sbx = Sbx::new("pull-stall");
    use_image(&sbx, &image);
    sbx.append_config("[images]\npull_timeout = \"2s\"\n");
    let started = std::time::Instant::now();
    let out = sbx.run(&["exec", "--lang", "python", "print(1)"], "");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains(&format!(
            "pulling `{image}` made no progress for 2s ([images] pull_timeout"
        )),
        "{}",
        stderr(&out)
    );
    assert!(took < Duration::from_secs(20), "took {took:?}");
    drop(sbx);
    drop(held);
}

#[test]
fn with_pull_never_a_missing_image_is_an_error_until_sbx_pull_brings_it_in() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-never");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "never");
    let image = registry.push(&sbx, &repo, &mut images);
    std::fs::write(
        &sbx.config,
        format!("[profiles.offline]\nlang = \"python\"\nimage = \"{image}\"\npull = \"never\"\n"),
    )
    .unwrap();

    let out = sbx.run(&["--profile", "offline", "exec", "print(1)"], "");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("pull = \"never\""), "{err}");
    assert!(err.contains(&format!("sbx pull {image}")), "{err}");
    assert_eq!(registry.tag_requests(&repo, "1"), 0);

    let pulled = sbx.run(&["--profile", "offline", "pull"], "");
    assert_eq!(pulled.status.code(), Some(0), "{}", stderr(&pulled));
    let out = sbx.run(&["--profile", "offline", "exec", "print('offline')"], "");
    assert_eq!(stdout(&out), "offline\n", "{}", stderr(&out));
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    drop(sbx);
    drop(images);
}

#[test]
fn sbx_bench_pulls_the_image_once_with_progress_before_it_measures() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-bench");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "bench");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);

    let out = sbx.run(
        &[
            "bench",
            "--lang",
            "python",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--modes",
            "pool,fresh,exec",
            "--json",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("sbx: pulling {image}\n")), "{err}");
    assert!(err.contains(&format!("sbx: pulled {image} in ")), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("one JSON document");
    assert!(doc.is_object(), "{doc}");
    // Every mode ran on the image the one pull brought.
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    drop(sbx);
    drop(images);
}

#[test]
fn podman_takes_credentials_from_its_auth_json_and_docker_only_from_config_json() {
    let mut images = Images::default();
    let mut sbx = Sbx::new("pull-authjson");
    let registry = Registry::start(&sbx, true);
    let repo = repo_name(&sbx, "authjson");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);
    let docker_config = sbx.root.join("docker-config");
    std::fs::create_dir_all(&docker_config).unwrap();
    sbx.env("DOCKER_CONFIG", &docker_config);
    // What `podman login --authfile` writes.
    let auth_json = sbx.root.join("auth.json");
    std::fs::write(
        &auth_json,
        format!(
            "{{\"auths\": {{\"{}\": {{\"auth\": \"{}\"}}}}}}",
            registry.addr(),
            base64(&format!("{USER}:{PASSWORD}"))
        ),
    )
    .unwrap();
    sbx.env("REGISTRY_AUTH_FILE", &auth_json);

    let out = sbx.run(&["exec", "--lang", "python", "print('auth.json')"], "");
    if engine() == "podman" {
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        assert_eq!(stdout(&out), "auth.json\n");
    } else {
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        let err = stderr(&out);
        assert!(err.contains("without valid credentials"), "{err}");
        assert!(
            err.contains(&docker_config.join("config.json").display().to_string()),
            "{err}"
        );
        assert!(!err.contains("auth.json"), "{err}");
    }
    assert!(!stderr(&out).contains(PASSWORD));
    assert!(!sbx.agent_log().contains(PASSWORD));
    drop(sbx);
    drop(images);
}

/// `curl ARGS` against the registry; its output.
fn curl(args: &[&str]) -> String {
    ok(tool("curl").arg("-sf").args(args))
}

#[test]
fn an_image_with_no_variant_for_this_machine_fails_saying_so() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-platform");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "platform");
    registry.push(&sbx, &repo, &mut images);
    // A manifest list whose only entry claims another architecture.
    let base = format!("http://{}/v2/{repo}/manifests", registry.addr());
    let headers = curl(&[
        "-I",
        "-H",
        "Accept: application/vnd.docker.distribution.manifest.v2+json",
        &format!("{base}/1"),
    ]);
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|l| {
                l.to_ascii_lowercase()
                    .starts_with(&name.to_ascii_lowercase())
                    .then(|| l[name.len()..].trim().to_string())
            })
            .unwrap_or_else(|| panic!("no {name} in {headers}"))
    };
    let (digest, size) = (header("Docker-Content-Digest:"), header("Content-Length:"));
    let list = format!(
        "{{\"schemaVersion\": 2, \"mediaType\": \"application/vnd.docker.distribution.manifest.list.v2+json\", \"manifests\": [{{\"mediaType\": \"application/vnd.docker.distribution.manifest.v2+json\", \"size\": {size}, \"digest\": \"{digest}\", \"platform\": {{\"architecture\": \"s390x\", \"os\": \"linux\"}}}}]}}"
    );
    curl(&[
        "-X",
        "PUT",
        "-H",
        "Content-Type: application/vnd.docker.distribution.manifest.list.v2+json",
        "--data-binary",
        &list,
        &format!("{base}/foreign"),
    ]);
    let image = format!("{}/{repo}:foreign", registry.addr());
    images.0.push(image.clone());
    use_image(&sbx, &image);

    let out = sbx.run(&["exec", "--lang", "python", "print(1)"], "");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    let err = stderr(&out);
    let last = err.lines().last().unwrap_or_default();
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        other => other,
    };
    assert!(
        last.starts_with(&format!(
            "sbx: image `{image}` has no variant for this machine (linux/{arch})"
        )),
        "{err}"
    );
    assert!(last.ends_with("use an image built for it"), "{err}");
    drop(sbx);
    drop(images);
}

#[test]
fn session_start_pulls_the_image_with_progress_before_it_answers_with_the_id() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-session");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "session");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);

    let out = sbx.run(&["session", "start", "--lang", "python"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let id = stdout(&out).trim().to_string();
    assert!(id.starts_with("s-") && !id.contains('\n'), "{id:?}");
    let err = stderr(&out);
    assert!(err.starts_with(&format!("sbx: pulling {image}\n")), "{err}");
    assert!(err.contains(&format!("sbx: pulled {image} in ")), "{err}");
    let run = sbx.run(&["exec", "--session", &id, "print('in the session')"], "");
    assert_eq!(stdout(&run), "in the session\n", "{}", stderr(&run));
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    let stop = sbx.run(&["session", "stop", &id], "");
    assert_eq!(stop.status.code(), Some(0), "{}", stderr(&stop));
    drop(sbx);
    drop(images);
}

#[test]
fn with_pull_always_each_new_pool_asks_the_registry_and_with_missing_only_the_first() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-always");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "always");
    let image = registry.push(&sbx, &repo, &mut images);
    std::fs::write(
        &sbx.config,
        format!(
            "[profiles.fresh]\nlang = \"python\"\nimage = \"{image}\"\npull = \"always\"\n\
             [profiles.lazy]\nlang = \"python\"\nimage = \"{image}\"\n"
        ),
    )
    .unwrap();
    let run = |profile: &str| {
        let out = sbx.run(&["--profile", profile, "exec", "print('x')"], "");
        assert_eq!(stdout(&out), "x\n", "{}", stderr(&out));
    };
    run("fresh");
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    // A warm pool never asks again, whatever its policy.
    run("fresh");
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    // The image is present: `missing` makes its pool without the registry.
    run("lazy");
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    // A new agent makes new pools: `always` asks again, `missing` does not.
    let down = sbx.run(&["pool", "down"], "");
    assert_eq!(down.status.code(), Some(0), "{}", stderr(&down));
    run("lazy");
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    run("fresh");
    assert_eq!(registry.tag_requests(&repo, "1"), 2);
    drop(sbx);
    drop(images);
}

/// A loopback proxy in front of `upstream` that passes what the registry
/// sends at about 2 MiB/s, so a pull takes seconds but keeps moving.
fn slow_proxy(upstream: String) -> String {
    use std::io::Write;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(&upstream) else {
                continue;
            };
            let (mut c_read, mut s_write) =
                (client.try_clone().unwrap(), server.try_clone().unwrap());
            std::thread::spawn(move || {
                let _ = std::io::copy(&mut c_read, &mut s_write);
                let _ = s_write.shutdown(std::net::Shutdown::Write);
            });
            let (mut s_read, mut c_write) = (server, client);
            std::thread::spawn(move || {
                let mut buf = vec![0u8; 32 * 1024];
                loop {
                    match s_read.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => {
                            if c_write.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            std::thread::sleep(Duration::from_millis(15));
                        }
                    }
                }
                let _ = c_write.shutdown(std::net::Shutdown::Write);
            });
        }
    });
    addr
}

#[test]
fn a_slow_pull_that_keeps_moving_outlasts_pull_timeout() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-slow");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "slow");
    registry.push(&sbx, &repo, &mut images);
    let proxy = slow_proxy(registry.addr());
    let image = format!("{proxy}/{repo}:1");
    images.0.push(image.clone());
    use_image(&sbx, &image);
    sbx.append_config("[images]\npull_timeout = \"3s\"\n");

    let started = std::time::Instant::now();
    let out = sbx.run(&["exec", "--lang", "python", "print('slow but sure')"], "");
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stdout(&out), "slow but sure\n");
    // 24 MiB at about 2 MiB/s: the pull as a whole took far longer than
    // the limit on standing still.
    assert!(took > Duration::from_secs(6), "took only {took:?}");
    drop(sbx);
    drop(images);
}

#[test]
fn pool_up_pulls_the_image_with_progress_before_it_warms_containers() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-poolup");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "poolup");
    let image = registry.push(&sbx, &repo, &mut images);
    use_image(&sbx, &image);

    let out = sbx.run(&["pool", "up", "--lang", "python", "--warm", "1"], "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.starts_with(&format!("sbx: pulling {image}\n")), "{err}");
    assert!(err.contains(&format!("sbx: pulled {image} in ")), "{err}");
    assert!(
        stdout(&out).contains("pool `python` is up"),
        "{}",
        stdout(&out)
    );
    let run = sbx.run(&["exec", "--lang", "python", "print(3)"], "");
    assert_eq!(stdout(&run), "3\n");
    assert_eq!(stderr(&run), "");
    assert_eq!(registry.tag_requests(&repo, "1"), 1);
    drop(sbx);
    drop(images);
}

#[test]
fn a_plain_http_registry_the_engine_was_not_told_about_is_said_so_with_the_fix() {
    let mut images = Images::default();
    let sbx = Sbx::new("pull-plainhttp");
    let registry = Registry::start(&sbx, false);
    let repo = repo_name(&sbx, "plainhttp");
    registry.push(&sbx, &repo, &mut images);
    // The same registry by another name: Docker takes any loopback
    // registry as plain http; Podman's drop-in (scripts/podman.sh) names
    // 127.0.0.1 only, so for it `localhost` is an https registry.
    let image = format!("localhost:{}/{repo}:1", registry.port);
    images.0.push(image.clone());
    use_image(&sbx, &image);

    let out = sbx.run(&["exec", "--lang", "python", "print('plain')"], "");
    if engine() == "podman" {
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        let err = stderr(&out);
        let last = err.lines().last().unwrap_or_default();
        assert!(
            last.starts_with(&format!(
                "sbx: registry localhost:{} answers in plain http",
                registry.port
            )),
            "{err}"
        );
        assert!(last.contains("insecure = true in registries.conf"), "{err}");
    } else {
        assert_eq!(stdout(&out), "plain\n", "{}", stderr(&out));
    }
    drop(sbx);
    drop(images);
}
