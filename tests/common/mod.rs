//! Harness for integration tests: the real `sbx` binary against a real
//! engine (Docker by default; see [`engine`]).
//!
//! Every test gets its own runtime directory (so its own agent, socket and
//! pools) and its own config file naming the test image. Dropping the
//! harness stops that agent and checks nothing it made is left behind.

#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Sbx {
    pub root: PathBuf,
    pub runtime: PathBuf,
    pub config: PathBuf,
    /// Set on every command after the harness's own (see [`Sbx::env`]).
    pub env: Vec<(String, String)>,
}

/// The engine under test: `SBX_TEST_BACKEND` (docker, podman or
/// kubernetes; the same suites run against each), Docker by default. The
/// local engines' CLIs have the same name; Kubernetes is driven with
/// `kubectl` (see [`kubectl`]).
pub fn engine() -> String {
    std::env::var("SBX_TEST_BACKEND")
        .ok()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| "docker".into())
}

pub fn on_kubernetes() -> bool {
    engine() == "kubernetes"
}

/// The engine whose CLI makes the images a test needs: the engine under
/// test, or under bubblewrap the local engine it takes images from
/// (Docker; as an ordinary user, that user's Podman).
pub fn image_engine() -> String {
    match (on_bubblewrap(), rootless()) {
        (false, _) => engine(),
        (true, false) => "docker".into(),
        (true, true) => "podman".into(),
    }
}

/// The daemonless backend: sandboxes are `bwrap` processes of the agent,
/// with no engine to ask about containers, volumes or images.
pub fn on_bubblewrap() -> bool {
    engine() == "bubblewrap"
}

/// For a test whose assertions are about a container engine's own state
/// (volumes, images, its socket, containers removed behind sbx's back):
/// under bubblewrap it fails saying so. scripts/test.sh leaves these out
/// of the bubblewrap matrix by name (BWRAP_ENGINE_ONLY).
pub fn engine_only(what: &str) {
    local_engine_only(what);
    assert!(
        !on_bubblewrap(),
        "this test checks {what}, which only a container engine has; \
         it is not part of the bubblewrap matrix (see BWRAP_ENGINE_ONLY in scripts/test.sh)"
    );
}

/// The live sandboxes of the bubblewrap backend: pid of each `bwrap`
/// process and the labels it carries (`backend::bubblewrap::LABELS_ENV`).
fn bwrap_sandboxes() -> Vec<(u32, Vec<String>)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let comm = std::fs::read_to_string(entry.path().join("comm")).unwrap_or_default();
        if comm.trim() != "bwrap" {
            continue;
        }
        let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
        let prefix = format!("{}=", sbx::backend::bubblewrap::LABELS_ENV);
        let labels = environ
            .split(|&b| b == 0)
            .map(String::from_utf8_lossy)
            .find_map(|v| v.strip_prefix(&prefix).map(str::to_string));
        if let Some(labels) = labels {
            found.push((pid, labels.lines().map(String::from).collect()));
        }
    }
    found
}

/// For a test whose assertions are about a local engine's own state
/// (volumes, images it imports, its socket): under Kubernetes it fails
/// saying so, instead of passing without meaning anything. scripts/test.sh
/// leaves these out of the Kubernetes matrix by name.
pub fn local_engine_only(what: &str) {
    assert!(
        !on_kubernetes(),
        "this test checks {what}, which only a local engine (docker, podman) has; \
         it is not part of the Kubernetes matrix (see KUBE_LOCAL_ONLY in scripts/test.sh)"
    );
}

/// For a test of the bubblewrap backend itself, with no engine at all
/// (a registry pull): run elsewhere it fails saying so. scripts/test.sh
/// runs these in the bubblewrap matrix only (BWRAP_ONLY).
pub fn bubblewrap_only(what: &str) {
    assert!(
        on_bubblewrap(),
        "this test checks {what}, which only the bubblewrap backend does; \
         it runs in the bubblewrap matrix only (see BWRAP_ONLY in scripts/test.sh)"
    );
}

/// The namespace the Kubernetes matrix runs in: `SBX_TEST_KUBE_NAMESPACE`,
/// else `sbx-test`.
pub fn kube_namespace() -> String {
    std::env::var("SBX_TEST_KUBE_NAMESPACE")
        .ok()
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| "sbx-test".into())
}

/// kubeconfig context of the Kubernetes matrix (`SBX_TEST_KUBE_CONTEXT`),
/// else the kubeconfig's current one.
pub fn kube_context() -> Option<String> {
    std::env::var("SBX_TEST_KUBE_CONTEXT")
        .ok()
        .filter(|c| !c.is_empty())
}

/// The kubeconfig of the Kubernetes matrix: `SBX_TEST_KUBECONFIG`, which
/// the matrix requires so that it never runs against whatever cluster the
/// developer's shell happens to point at.
pub fn kubeconfig() -> String {
    std::env::var("SBX_TEST_KUBECONFIG")
        .ok()
        .filter(|k| !k.is_empty())
        .expect(
            "SBX_TEST_BACKEND=kubernetes needs SBX_TEST_KUBECONFIG naming the test cluster's kubeconfig (see the README's Development section)",
        )
}

/// The `[kubernetes]` table every test's config gets on Kubernetes.
fn kube_table() -> String {
    let mut t = format!("\n[kubernetes]\nnamespace = \"{}\"\n", kube_namespace());
    if let Some(c) = kube_context() {
        t.push_str(&format!("context = \"{c}\"\n"));
    }
    t
}

/// `kubectl` aimed at the test cluster and namespace. Fails loudly when
/// kubectl is not installed: the Kubernetes matrix cannot check what it
/// left behind without it.
pub fn kubectl() -> Command {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join("kubectl").is_file()));
    assert!(
        found,
        "kubectl is not on PATH: the Kubernetes matrix lists and removes pods with it; install kubectl"
    );
    let mut c = Command::new("kubectl");
    c.env("KUBECONFIG", kubeconfig())
        .args(["--namespace", &kube_namespace()]);
    if let Some(ctx) = kube_context() {
        c.args(["--context", &ctx]);
    }
    c
}

/// The image tests run in. scripts/test.sh builds it and sets the variable;
/// without it the tests cannot mean anything, so they fail loudly.
pub fn test_image() -> String {
    std::env::var("SBX_TEST_IMAGE").expect(
        "SBX_TEST_IMAGE is not set: run the tests with `bash scripts/test.sh`, which builds the image",
    )
}

/// The image with every language's toolchain (scripts/images.sh full).
pub fn full_image() -> String {
    std::env::var("SBX_TEST_IMAGE_FULL").expect(
        "SBX_TEST_IMAGE_FULL is not set: run the tests with `bash scripts/test.sh`, which builds the image",
    )
}

impl Sbx {
    /// A harness whose config points every language at the full image.
    pub fn full(name: &str) -> Sbx {
        let sbx = Sbx::new(name);
        let image = full_image();
        let config: String = [
            "python",
            "javascript",
            "typescript",
            "go",
            "java",
            "cpp",
            "c",
            "ruby",
            "r",
            "bash",
        ]
        .iter()
        .map(|l| format!("[languages.{l}]\nimage = \"{image}\"\n"))
        .collect();
        std::fs::write(&sbx.config, config).unwrap();
        sbx
    }

    pub fn new(name: &str) -> Sbx {
        let root = std::env::temp_dir().join(format!("sbx-it-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let runtime = root.join("run");
        std::fs::create_dir_all(&runtime).unwrap();
        let config = root.join("config.toml");
        let image = test_image();
        std::fs::write(
            &config,
            format!(
                "[languages.python]\nimage = \"{image}\"\n\n[languages.javascript]\nimage = \"{image}\"\n"
            ),
        )
        .unwrap();
        Sbx {
            root,
            runtime,
            config,
            env: Vec::new(),
        }
    }

    /// A harness whose config file also has `extra` (TOML) at its end.
    pub fn with_config(name: &str, extra: &str) -> Sbx {
        let sbx = Sbx::new(name);
        sbx.append_config(extra);
        sbx
    }

    /// Append `extra` (TOML) to this test's config file.
    pub fn append_config(&self, extra: &str) {
        let mut config = std::fs::read_to_string(&self.config).unwrap();
        config.push_str(&format!("\n{extra}\n"));
        std::fs::write(&self.config, config).unwrap();
    }

    /// Consecutive runs then share one container: the agent gives a
    /// container back only after its clean-up, which happens after the
    /// client has its answer, so with room to grow a quick next run may get
    /// a new container instead.
    pub fn limit_pool_to_one_container(&self) {
        let mut cfg = std::fs::read_to_string(&self.config).unwrap();
        cfg.push_str("\n[pool]\nmax_size = 1\n");
        std::fs::write(&self.config, cfg).unwrap();
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(sbx_bin());
        if rootless_without_limits() {
            self.allow_unlimited();
        }
        // Guest volumes of other builds (an installed sbx's) are not the
        // tests' to prune; tests/guest_volume.rs turns it back on.
        c.env("SBX_PRUNE_GUEST_VOLUMES", "0")
            .env("XDG_RUNTIME_DIR", &self.runtime)
            .env("SBX_CONFIG", &self.config)
            .env("SBX_BACKEND", engine())
            .env_remove("NO_COLOR");
        if on_kubernetes() {
            self.ensure_kube_table();
            // The namespace and context come from the config file, as a
            // user's would, not from a developer's environment.
            c.env("KUBECONFIG", kubeconfig())
                .env_remove("SBX_KUBE_NAMESPACE")
                .env_remove("SBX_KUBE_CONTEXT");
        }
        if self.own_data_dir().is_dir() {
            c.env("SBX_DATA_DIR", self.own_data_dir());
        }
        c.envs(self.env.iter().map(|(k, v)| (k, v)));
        c
    }

    /// Another program that runs this test's sbx itself (a shell script,
    /// an MCP client), with the environment `cmd` gives sbx: an agent it
    /// starts must be this test's, configured as the harness configures
    /// every agent (the backend under test, no pruning of other builds'
    /// guest volumes).
    pub fn program(&self, program: impl AsRef<std::ffi::OsStr>) -> Command {
        let mut c = Command::new(program);
        for (k, v) in self.cmd().get_envs() {
            match v {
                Some(v) => c.env(k, v),
                None => c.env_remove(k),
            };
        }
        c
    }

    /// Arguments for `env` (after it, before the command) that give a
    /// command started elsewhere (in a terminal multiplexer's session)
    /// the environment [`Sbx::cmd`] gives sbx.
    pub fn env_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        for (k, v) in self.cmd().get_envs() {
            let k = k.to_string_lossy();
            match v {
                Some(v) => args.push(format!("{k}={}", v.to_string_lossy())),
                None => args.extend(["-u".to_string(), k.into_owned()]),
            }
        }
        args
    }

    /// Every later command (and the agent it starts) gets `key=value`,
    /// e.g. another backend than the engine under test.
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) {
        let value = value.as_ref().to_string_lossy().into_owned();
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.into(), value));
    }

    /// `[isolation] allow_unlimited = true` in this test's config, in the
    /// `[isolation]` table it has or a new one.
    fn allow_unlimited(&self) {
        let cfg = std::fs::read_to_string(&self.config).unwrap_or_default();
        if cfg.contains("allow_unlimited") || cfg.contains(LIMITS_REQUIRED) {
            return;
        }
        let cfg = if cfg.lines().any(|l| l.trim() == "[isolation]") {
            cfg.replacen("[isolation]", "[isolation]\nallow_unlimited = true", 1)
        } else {
            cfg + "\n[isolation]\nallow_unlimited = true\n"
        };
        std::fs::write(&self.config, cfg).unwrap();
    }

    /// A test whose point is a limit, under an engine that applies none
    /// ([`rootless_without_limits`]): instead of its own check it asserts
    /// that sbx refuses the container and says why, and the caller
    /// returns. scripts/test.sh lists these tests (ROOTLESS_NO_LIMITS).
    pub fn limits_required(&self) -> bool {
        if !rootless_without_limits() {
            return false;
        }
        let mut cfg = std::fs::read_to_string(&self.config).unwrap();
        cfg = cfg.replace("allow_unlimited = true", "");
        cfg.push_str(&format!("\n{LIMITS_REQUIRED}\n"));
        std::fs::write(&self.config, cfg).unwrap();
        let out = self.run(&["exec", "--lang", "python", "print('never printed')"], "");
        assert_eq!(
            (
                String::from_utf8_lossy(&out.stdout).as_ref(),
                String::from_utf8_lossy(&out.stderr).as_ref(),
                out.status.code()
            ),
            ("", LIMITS_REFUSED, Some(125))
        );
        true
    }

    /// Tests write configs of their own; on Kubernetes each one gets the
    /// matrix's `[kubernetes]` table before sbx reads it.
    fn ensure_kube_table(&self) {
        let cfg = std::fs::read_to_string(&self.config).unwrap_or_default();
        let has_table = cfg.lines().any(|l| l.trim() == "[kubernetes]");
        if !has_table {
            std::fs::write(&self.config, cfg + &kube_table()).unwrap();
        }
    }

    /// Run `sbx ARGS` with `stdin` as its standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = self
            .cmd()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sbx binary runs");
        let mut input = child.stdin.take().unwrap();
        let data = stdin.as_bytes().to_vec();
        let writer = std::thread::spawn(move || {
            let _ = input.write_all(&data);
        });
        let out = child.wait_with_output().unwrap();
        writer.join().unwrap();
        out
    }

    pub fn spawn(&self, args: &[&str]) -> Child {
        self.cmd()
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("sbx binary runs")
    }

    /// `sbx exec --lang LANG CODE`, asserting it succeeded; returns stdout.
    pub fn exec_ok(&self, lang: &str, code: &str) -> String {
        let out = self.run(&["exec", "--lang", lang, code], "");
        assert!(
            out.status.success(),
            "exec failed ({:?}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.root.join(name);
        std::fs::write(&p, contents).unwrap();
        p
    }

    /// Pids of live `sbx agent serve` processes serving this test's directory.
    pub fn agent_pids(&self) -> Vec<u32> {
        let needle = format!("XDG_RUNTIME_DIR={}", self.runtime.display());
        let mut pids = Vec::new();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let is_agent = cmdline
                .split(|b| *b == 0)
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .ends_with(&["agent".to_string(), "serve".to_string(), String::new()]);
            if !is_agent {
                continue;
            }
            let environ = std::fs::read(entry.path().join("environ")).unwrap_or_default();
            let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            let zombie = state.split(") ").nth(1).is_some_and(|s| s.starts_with('Z'));
            if !zombie && environ.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
                pids.push(pid);
            }
        }
        pids
    }

    /// The `io.sbx.agent=…` label of this test's agent (starts it if needed).
    pub fn agent_label(&self) -> String {
        let out = self.run(&["agent", "status"], "");
        if !out.status.success() {
            self.run(&["agent", "start"], "");
        }
        let out = self.run(&["agent", "status"], "");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.lines()
            .find_map(|l| l.split("label=").nth(1))
            .unwrap_or_else(|| panic!("no label in agent status: {text}"))
            .trim()
            .to_string()
    }

    pub fn wait_for_no_agent(&self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if self.agent_pids().is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Containers (any state) carrying `label` (`key=value`); on Kubernetes,
/// the names of the pods carrying it, in any phase.
pub fn containers_with(label: &str) -> Vec<String> {
    if on_bubblewrap() {
        // The pid of each sandbox's bwrap process.
        return bwrap_sandboxes()
            .into_iter()
            .filter(|(_, labels)| labels.iter().any(|l| l == label))
            .filter_map(|(_, labels)| {
                labels
                    .iter()
                    .find_map(|l| l.strip_prefix("io.sbx.sandbox=").map(String::from))
            })
            .collect();
    }
    if !on_kubernetes() {
        return engine_list(&["ps", "-a", "-q", "--filter", &format!("label={label}")]);
    }
    let out = kubectl()
        .args(["get", "pods", "-l", label, "-o", "name"])
        .output()
        .expect("kubectl runs");
    assert!(out.status.success(), "listing failed: {out:?}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(|name| name.strip_prefix("pod/").unwrap_or(name).to_string())
        .collect()
}

/// Remove a container or pod by id, whatever its state.
pub fn remove_container(id: &str) {
    if on_bubblewrap() {
        let mark = format!("io.sbx.sandbox={id}");
        for (pid, labels) in bwrap_sandboxes() {
            if labels.contains(&mark) {
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
        }
        return;
    }
    let mut c = if on_kubernetes() {
        let mut c = kubectl();
        c.args(["delete", "pod", id, "--wait=false", "--ignore-not-found"]);
        c
    } else {
        let mut c = Command::new(engine());
        c.args(["rm", "-f", id]);
        c
    };
    let _ = c.stdout(Stdio::null()).stderr(Stdio::null()).status();
}

/// The sbx binary under test: this build's, or `SBX_TEST_BIN` (the
/// rootless matrix runs a copy its user can execute).
pub fn sbx_bin() -> PathBuf {
    std::env::var_os("SBX_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| env!("CARGO_BIN_EXE_sbx").into())
}

/// The matrix runs as an ordinary user against that user's rootless
/// engine (`SBX_TEST_ROOTLESS=1`, scripts/test.sh).
pub fn rootless() -> bool {
    std::env::var_os("SBX_TEST_ROOTLESS").is_some_and(|v| v == "1")
}

/// A rootless engine on a cgroup v1 host: it applies no memory, process
/// or CPU limits, so sbx refuses containers unless `[isolation]
/// allow_unlimited = true`, which the harness then writes into every
/// test's config (but those of [`Sbx::limits_required`]). bubblewrap as
/// an ordinary user has limits of another kind instead
/// ([`per_process_limits`]).
pub fn rootless_without_limits() -> bool {
    rootless() && !on_bubblewrap() && !Path::new("/sys/fs/cgroup/cgroup.controllers").exists()
}

/// bubblewrap as an ordinary user (or as root on a cgroup v2 host): no
/// cgroup v1 hierarchy the agent can write, so the guest sets each
/// program's limits as rlimits (memory per process, processes per
/// program uid, no CPU limit).
pub fn per_process_limits() -> bool {
    on_bubblewrap()
        && (unsafe { libc::geteuid() } != 0
            || Path::new("/sys/fs/cgroup/cgroup.controllers").exists())
}

/// For a test of what only a cgroup's limits do (a memory total that
/// tmpfs pages and the guest count against, the OOM killer): under
/// [`per_process_limits`] it fails saying so. scripts/test.sh leaves
/// these out of the rootless bubblewrap matrix by name
/// (BWRAP_CGROUP_ONLY).
pub fn cgroup_limits_only(what: &str) {
    assert!(
        !per_process_limits(),
        "this test checks {what}, which needs a cgroup's limits; bubblewrap as an ordinary user has per-process rlimits \
         and this test is not part of that matrix (see BWRAP_CGROUP_ONLY in scripts/test.sh)"
    );
}

/// The uids programs get: the default `[isolation] uid_range`, or under a
/// rootless engine the upper part of the user's subordinate uids as the
/// container sees them (scripts/rootless.sh gives the user 65536).
pub fn program_uid_range() -> std::ops::RangeInclusive<u32> {
    if rootless() {
        10_000..=65_533
    } else {
        2_000_000_000..=2_099_999_999
    }
}

/// What sbx says when it refuses a container whose limits the engine
/// does not apply.
pub const LIMITS_REFUSED: &str = "sbx: the container engine does not apply the memory and process limits sbx asks for (rootless Podman on cgroup v1 cannot set limits and ignores them), so a program could take all of the host's memory and processes; use a rootful engine or cgroup v2 with delegation, or accept running without them with `allow_unlimited = true` in [isolation]\n";

/// Marks a config the harness leaves without `allow_unlimited`.
const LIMITS_REQUIRED: &str = "# sbx-test: limits required";

/// Say that a test does not apply to the engine under test, on the test
/// output itself (written past libtest's capture, so it shows for a test
/// that passes): `SKIPPED <test>: <reason>`. scripts/test.sh collects
/// these lines into its summary.
pub fn skip(reason: &str) {
    let name = std::thread::current()
        .name()
        .unwrap_or("a test")
        .to_string();
    let _ = writeln!(std::io::stderr(), "SKIPPED {name}: {reason}");
}

/// Skip (see [`skip`]) unless the engine under test is `engine`; true when
/// the test should go on.
pub fn only_on(engine_name: &str, reason: &str) -> bool {
    if engine() == engine_name {
        return true;
    }
    skip(&format!("needs {engine_name}: {reason}"));
    false
}

/// Volumes (local engines) carrying `label`.
pub fn volumes_with(label: &str) -> Vec<String> {
    if on_kubernetes() || on_bubblewrap() {
        return Vec::new();
    }
    engine_list(&["volume", "ls", "-q", "--filter", &format!("label={label}")])
}

/// The ids an engine listing prints. Podman's listings fail now and then
/// while an object is being removed ("no such image"): asked again.
fn engine_list(args: &[&str]) -> Vec<String> {
    engine_list_of(&engine(), args)
}

fn engine_list_of(cli: &str, args: &[&str]) -> Vec<String> {
    let mut last = None;
    for _ in 0..10 {
        let out = Command::new(cli)
            .args(args)
            .output()
            .expect("the engine's CLI is available");
        if out.status.success() {
            let mut ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect();
            ids.dedup();
            return ids;
        }
        last = Some(out);
        std::thread::sleep(Duration::from_millis(200));
    }
    panic!("{cli} {args:?} failed: {last:?}");
}

/// Images (local engines) carrying `label`.
pub fn images_with(label: &str) -> Vec<String> {
    if on_kubernetes() {
        return Vec::new();
    }
    engine_list_of(
        &image_engine(),
        &["images", "-q", "--filter", &format!("label={label}")],
    )
}

/// The label test-made images carry (see [`Sbx::test_made_image`]).
pub const TEST_IMAGE_LABEL: &str = "io.sbx.test";

impl Sbx {
    /// The id the agent of this test labels everything with
    /// (`io.sbx.agent=…`): `RuntimePaths::agent_id` of its runtime directory.
    pub fn agent_id(&self) -> String {
        let dir = self
            .env
            .iter()
            .find(|(k, _)| k == "SBX_RUNTIME_DIR")
            .map(|(_, v)| PathBuf::from(v))
            .unwrap_or_else(|| self.agent_dir());
        sbx::paths::RuntimePaths::at(dir).agent_id()
    }

    /// A name for an image this test makes in the engine, and the label
    /// (`--change "LABEL …"`) to make it with: the harness removes it when
    /// the test ends.
    /// Under bubblewrap the test's agent then unpacks images into a data
    /// directory of the test's own, removed with it, so that the images
    /// tests make do not pile up in the user's.
    pub fn test_made_image(&self, kind: &str) -> (String, String) {
        if on_bubblewrap() {
            std::fs::create_dir_all(self.own_data_dir()).unwrap();
        }
        let id = self.agent_id();
        (
            format!("sbx-test/{kind}-{id}:1"),
            format!("LABEL {TEST_IMAGE_LABEL}={id}"),
        )
    }

    fn own_data_dir(&self) -> PathBuf {
        self.root.join("data")
    }

    /// What this test's agent left in the engine: containers (or pods),
    /// volumes and images labelled with its id.
    fn leftovers(&self) -> Vec<String> {
        let label = format!("io.sbx.agent={}", self.agent_id());
        let mut left: Vec<String> = containers_with(&label)
            .into_iter()
            .map(|c| format!("container {c}"))
            .collect();
        left.extend(
            volumes_with(&label)
                .into_iter()
                .map(|v| format!("volume {v}")),
        );
        left.extend(
            images_with(&label)
                .into_iter()
                .map(|i| format!("image {i}")),
        );
        left
    }
}

impl Drop for Sbx {
    fn drop(&mut self) {
        let _ = self
            .cmd()
            .args(["pool", "down"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        for pid in self.agent_pids() {
            unsafe {
                libc::kill(pid as i32, libc::SIGKILL);
            }
        }
        // Containers of a killed agent remove themselves (their guest sees
        // the stream close); give the engine the time that takes, then
        // whatever is still labelled with this agent's id is a leak of the
        // test that owns it.
        let mut left = Vec::new();
        let gone = wait_until(Duration::from_secs(30), || {
            left = self.leftovers();
            left.is_empty()
        });
        let label = format!("io.sbx.agent={}", self.agent_id());
        if !gone && !on_kubernetes() {
            for c in containers_with(&label) {
                remove_container(&c);
            }
            for (what, ids) in [
                ("volume", volumes_with(&label)),
                ("image", images_with(&label)),
            ] {
                for id in ids {
                    let _ = Command::new(engine())
                        .args([what, "rm", "-f", &id])
                        .output();
                }
            }
        } else if !gone {
            for c in containers_with(&label) {
                remove_container(&c);
            }
        }
        for image in images_with(&format!("{TEST_IMAGE_LABEL}={}", self.agent_id())) {
            let _ = Command::new(image_engine())
                .args(["rmi", "-f", &image])
                .output();
        }
        if std::env::var_os("SBX_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
        if !gone && !std::thread::panicking() {
            let name = std::thread::current()
                .name()
                .unwrap_or("this test")
                .to_string();
            panic!("{name} left behind, labelled {label}: {left:?}");
        }
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn examples_dir() -> PathBuf {
    // The rootless matrix runs copies where its user can read them.
    std::env::var_os("SBX_TEST_EXAMPLES")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")).into())
}

impl Sbx {
    /// The default runtime directory of this test's agent.
    pub fn agent_dir(&self) -> PathBuf {
        self.runtime.join("sbx")
    }

    /// The agent's log so far (empty if none).
    pub fn agent_log(&self) -> String {
        std::fs::read_to_string(self.agent_dir().join("agent.log")).unwrap_or_default()
    }
}

/// Poll `cond` every 100 ms until it holds or `limit` passes.
pub fn wait_until(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if cond() {
            return true;
        }
        if start.elapsed() >= limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Removes the containers carrying `label` when dropped, so a test that
/// creates containers of its own cleans them up even when it fails.
pub struct RemoveOnDrop(pub String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for id in containers_with(&self.0) {
            remove_container(&id);
        }
    }
}

/// The guest program the agent under test finds beside `sbx`.
pub fn guest_program() -> &'static str {
    env!("CARGO_BIN_EXE_sbx-guest")
}

/// FNV-1a (64 bits) as 16 hex digits: how sbx names a guest build.
pub fn fnv1a_hex(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in bytes {
        h ^= *b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}

/// The engine's guest volume of the guest binary at `path`: named after
/// its content, so every agent of one build shares it.
pub fn guest_volume_of(path: &Path) -> String {
    format!("sbx-guest-{}", fnv1a_hex(&std::fs::read(path).unwrap()))
}

/// The guest volume of the build under test.
pub fn guest_volume() -> String {
    guest_volume_of(Path::new(guest_program()))
}
