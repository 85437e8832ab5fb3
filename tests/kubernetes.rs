//! The Kubernetes backend end to end: the real `sbx` binary and agent
//! against a mock API server on loopback (tests/kube_mock) that answers
//! with the API server's own shapes (watch events, the exec WebSocket
//! upgrade, `Status` errors) and backs each pod with a real Docker
//! container, so runs really execute in the pods the agent asked for.

mod common;
mod kube_mock;

use common::{Sbx, stderr, stdout, wait_until};
use kube_mock::{Builder, KubeMock, Logged};
use std::time::Duration;

/// A test's sbx talking to its own mock cluster. Fields drop in order: the
/// harness's `pool down` still reaches the mock, which then removes any
/// container left.
struct Cluster {
    sbx: Sbx,
    mock: KubeMock,
    ns: String,
}

/// The mock cluster of a test, or `None` (the test is skipped, saying so)
/// under Podman: the Kubernetes backend never uses the local engine, and
/// the mock plays its pods with Docker.
fn cluster_with(name: &str, ns: &str, mock: Builder) -> Option<Cluster> {
    if !common::only_on(
        "docker",
        "the Kubernetes backend never touches the local engine; the API-server mock plays its pods with Docker",
    ) {
        return None;
    }
    let mut sbx = Sbx::new(&format!("kube-{name}"));
    let mock = mock.start(&sbx.root, name);
    sbx.env("SBX_BACKEND", "kubernetes");
    sbx.env("KUBECONFIG", &mock.kubeconfig);
    sbx.env("SBX_KUBE_NAMESPACE", ns);
    // Loopback is never reached through a proxy.
    sbx.env("NO_PROXY", "127.0.0.1");
    Some(Cluster {
        sbx,
        mock,
        ns: ns.into(),
    })
}

fn cluster(name: &str) -> Option<Cluster> {
    cluster_with(name, "sandboxes", KubeMock::builder())
}

impl Cluster {
    /// Requests about pods in this cluster's namespace, as one line each.
    fn log(&self) -> String {
        self.mock
            .requests()
            .iter()
            .map(Logged::line)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// `sbx ARGS` that must fail with a one-line error: its exit code, that
    /// error and its stdout.
    fn refused(&self, args: &[&str], stdin: &str) -> (Option<i32>, String, String) {
        let out = self.sbx.run(args, stdin);
        let err = stderr(&out);
        assert!(!out.status.success(), "{err}\n{}", self.log());
        assert_eq!(
            err.trim_end().lines().count(),
            1,
            "one line: {err}\n{}",
            self.log()
        );
        (out.status.code(), err, stdout(&out))
    }

    fn execs_of(&self, pod: &str) -> Vec<Logged> {
        self.mock
            .requests()
            .into_iter()
            .filter(|r| r.is_exec() && r.pod() == Some(pod))
            .collect()
    }

    fn deleted(&self) -> Vec<String> {
        self.mock
            .requests()
            .iter()
            .filter(|r| r.method == "DELETE")
            .filter_map(|r| r.pod().map(String::from))
            .collect()
    }

    fn pool_down(&self) {
        let out = self.sbx.run(&["pool", "down"], "");
        assert!(out.status.success(), "pool down: {}", stderr(&out));
    }

    /// After `pool down`: every pod deleted through the API, no container
    /// behind any of them.
    fn assert_nothing_left(&self) {
        assert!(
            wait_until(Duration::from_secs(10), || self.mock.pods().is_empty()),
            "pods left: {:?}",
            self.mock.pod_names(&self.ns)
        );
        let deleted = self.deleted();
        for pod in self.mock.created() {
            assert!(deleted.contains(&pod), "{pod} was never deleted");
        }
        assert_eq!(self.mock.containers(), Vec::<String>::new());
    }
}

#[test]
fn a_run_executes_in_a_pod_over_one_exec_kept_open_for_the_pods_life() {
    let Some(c) = cluster("run") else {
        return;
    };
    c.sbx.limit_pool_to_one_container();
    let code = "import sys, socket\nprint(socket.gethostname())\nprint(sys.stdin.read().upper(), end='')\nsys.exit(3)\n";
    let out = c.sbx.run(&["exec", "--lang", "python", code], "piped in\n");
    assert_eq!(out.status.code(), Some(3), "{}\n{}", stderr(&out), c.log());
    let text = stdout(&out);
    let mut lines = text.lines();
    let host = lines.next().unwrap_or_default().to_string();
    assert_eq!(lines.next(), Some("PIPED IN"));

    let pods = c.mock.pod_names(&c.ns);
    assert_eq!(pods, vec![host.clone()], "the run ran in the one pod");
    assert!(host.starts_with("sbx-python-"), "{host}");

    let out = c.sbx.run(&["exec", "--lang", "python", "print(6 * 7)"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(stdout(&out), "42\n");

    let requests = c.mock.requests();
    let create = requests
        .iter()
        .find(|r| r.method == "POST" && r.path == format!("/api/v1/namespaces/{}/pods", c.ns))
        .unwrap_or_else(|| panic!("no pod created:\n{}", c.log()));
    let manifest = create.body.as_ref().expect("a pod in the body");
    assert_eq!(manifest["metadata"]["generateName"], "sbx-python-");
    assert!(
        requests
            .iter()
            .any(|r| r.is_watch()
                && r.param("fieldSelector") == Some(&format!("metadata.name={host}"))),
        "the start is watched:\n{}",
        c.log()
    );
    let execs = c.execs_of(&host);
    assert_eq!(
        execs.len(),
        2,
        "one exec copies the guest in, one runs it; none per run:\n{}",
        c.log()
    );
    assert!(
        execs[0].command().starts_with("sh -c head -c "),
        "{}",
        execs[0].line()
    );
    assert_eq!(execs[1].command(), "/sbx/bin/sbx-guest guest");
    assert_eq!(execs[1].param("container"), Some("sandbox"));

    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn nothing_a_run_leaves_survives_into_the_next_run_in_the_same_pod() {
    let Some(c) = cluster("clean") else {
        return;
    };
    c.sbx.limit_pool_to_one_container();
    // Files, and a daemon in a session of its own that ignores hangups:
    // beside an idle PID 1 the guest must still find and kill it.
    let leaver = "\
import os, socket, subprocess
open('/tmp/x', 'w').write('secret')
open('/sbx/bin/x', 'w').write('secret')
subprocess.Popen(['nohup', 'sleep', '300'], start_new_session=True,
                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
print(socket.gethostname(), os.getuid())
";
    let census = "\
import os, socket
print(socket.gethostname(), os.getuid())
print(os.path.exists('/tmp/x'))
print(os.listdir('/sbx/bin'))
me = os.getpid()
def cmd(p):
    return open(f'/proc/{p}/cmdline').read().replace('\\0', ' ').strip()
print(cmd(1))
try:
    open('/proc/1/mem', 'r+b')
    print('PID 1 writable')
except PermissionError:
    print('PID 1 untouchable')
print(sorted(cmd(p) for p in os.listdir('/proc') if p.isdigit() and int(p) not in (1, me)))
";
    let first = c.sbx.exec_ok("python", leaver);
    let second = c.sbx.exec_ok("python", census);
    let mut lines = second.lines();
    assert_eq!(
        lines.next(),
        first.lines().next(),
        "both runs in the same pod, as the pod's non-root user"
    );
    assert!(first.ends_with(" 1000\n"), "{first}");
    assert_eq!(lines.next(), Some("False"), "/tmp/x is gone");
    assert_eq!(
        lines.next(),
        Some("[]"),
        "the guest's world-writable directory is emptied too (its own binary included)"
    );
    assert_eq!(
        lines.next(),
        Some("/sbx/bin/sbx-guest keeper"),
        "PID 1 is the keeper"
    );
    assert_eq!(
        lines.next(),
        Some("PID 1 untouchable"),
        "the program shares PID 1's uid but cannot take it over"
    );
    assert_eq!(
        lines.next(),
        Some("['/sbx/bin/sbx-guest guest']"),
        "nothing but the guest and this run: {second}"
    );
    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn pool_up_shows_the_pods_starting_and_pool_down_deletes_every_pod() {
    let Some(c) = cluster("pool") else {
        return;
    };
    let out = c.sbx.run(&["-v", "pool", "up", "--warm", "2"], "");
    assert!(out.status.success(), "{}\n{}", stderr(&out), c.log());
    let err = stderr(&out);
    assert!(err.contains("starting: "), "progress shown: {err}");
    let pods = c.mock.pod_names(&c.ns);
    assert_eq!(pods.len(), 2, "{pods:?}");
    assert_eq!(c.mock.containers().len(), 2);
    for p in c.mock.pods() {
        assert_eq!(p["status"]["phase"], "Running", "{p}");
        let labels = &p["metadata"]["labels"];
        for key in [
            "io.sbx.managed",
            "io.sbx.agent",
            "io.sbx.instance",
            "io.sbx.pool",
        ] {
            assert!(labels[key].is_string(), "{key} missing from {labels}");
        }
    }
    let out = c.sbx.run(&["pool", "stats", "--json"], "");
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["pools"][0]["idle"], 2, "{stats}");

    c.pool_down();
    c.assert_nothing_left();
    let mut deleted = c.deleted();
    deleted.sort();
    let mut pods = pods;
    pods.sort();
    assert_eq!(deleted, pods, "one DELETE per pod");
}

#[test]
fn an_image_the_cluster_cannot_pull_fails_the_run_with_the_clusters_reason() {
    let Some(c) = cluster("unpullable") else {
        return;
    };
    let image = "registry.example/sbx/unpullable:1";
    std::fs::write(
        &c.sbx.config,
        format!("[languages.python]\nimage = \"{image}\"\n"),
    )
    .unwrap();
    let (code, err, out) = c.refused(&["exec", "--lang", "python", "print(1)"], "");
    assert_eq!(code, Some(125), "{err}\n{}", c.log());
    assert!(err.contains(image), "names the image: {err}");
    // A first ErrImagePull may be a registry's passing trouble; the
    // back-off that follows is the cluster giving up.
    assert!(
        err.contains("ImagePullBackOff"),
        "the cluster's reason: {err}"
    );
    assert_eq!(out, "");
    let created = c.mock.created();
    assert!(!created.is_empty());
    assert!(
        wait_until(Duration::from_secs(10), || c.mock.pods().is_empty()),
        "the pod that could not start is deleted: {:?}",
        c.mock.pod_names(&c.ns)
    );
    for pod in created {
        assert!(c.deleted().contains(&pod), "{pod} deleted through the API");
    }
    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn a_namespace_the_user_may_not_use_is_an_error_naming_the_role_to_grant() {
    let Some(c) = cluster_with(
        "forbidden",
        "forbidden",
        KubeMock::builder().forbidden_namespace("forbidden"),
    ) else {
        return;
    };
    let (_, err, _) = c.refused(&["exec", "--lang", "python", "print(1)"], "");
    for needle in ["Forbidden", "deploy/kubernetes/rbac.yaml", "forbidden"] {
        assert!(err.contains(needle), "{needle:?} missing from: {err}");
    }
    assert!(c.mock.pods().is_empty());
}

#[test]
fn a_namespace_that_does_not_exist_is_an_error_saying_to_create_it() {
    let Some(c) = cluster_with(
        "missing",
        "missing",
        KubeMock::builder().missing_namespace("missing"),
    ) else {
        return;
    };
    let (_, err, _) = c.refused(&["exec", "--lang", "python", "print(1)"], "");
    for needle in [
        "namespaces \\\"missing\\\" not found",
        "kubectl create namespace missing",
    ] {
        assert!(
            err.contains(needle.replace('\\', "").as_str()),
            "{needle:?} missing from: {err}"
        );
    }
    assert!(c.mock.pods().is_empty());
}

#[test]
fn after_kill_9_the_next_agent_deletes_its_predecessors_pods_by_label() {
    let Some(c) = cluster("kill9") else {
        return;
    };
    let out = c.sbx.run(&["pool", "up", "--warm", "2"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let mut before = c.mock.pod_names(&c.ns);
    assert_eq!(before.len(), 2);
    // Every pod names the machine its agent runs on: a pod with the same
    // uid and runtime-dir labels from another machine's agent (one pod,
    // relabelled here) is that agent's, alive or not, never reaped here.
    let pods = c.mock.pods();
    let host = pods[0]["metadata"]["labels"]["io.sbx.host"]
        .as_str()
        .expect("a host label")
        .to_string();
    assert!(host.len() == 16, "{host}");
    let foreign = before.pop().unwrap();
    c.mock
        .set_label(&c.ns, &foreign, "io.sbx.host", "0123456789abcdef");
    let pids = c.sbx.agent_pids();
    assert_eq!(pids.len(), 1, "{pids:?}");
    assert_eq!(unsafe { libc::kill(pids[0] as i32, libc::SIGKILL) }, 0);
    assert!(c.sbx.wait_for_no_agent(Duration::from_secs(5)));
    // Unlike a container's, a pod does not go away with its stream.
    let left = c.mock.pod_names(&c.ns);
    assert!(
        before.iter().chain([&foreign]).all(|p| left.contains(p)),
        "{left:?}"
    );
    // Its process may be gone from /proc's view a moment before its socket
    // stops accepting; a client connecting then is reset.
    let socket = c.sbx.agent_dir().join("agent.sock");
    assert!(wait_until(Duration::from_secs(5), || {
        std::os::unix::net::UnixStream::connect(&socket).is_err()
    }));

    assert_eq!(c.sbx.exec_ok("python", "print('again')"), "again\n");
    assert!(
        wait_until(Duration::from_secs(30), || before
            .iter()
            .all(|p| c.deleted().contains(p))),
        "the predecessor's pods are deleted: {:?}\n{}",
        c.deleted(),
        c.log()
    );
    let list = c
        .mock
        .requests()
        .into_iter()
        .find(|r| {
            r.method == "GET"
                && !r.is_watch()
                && r.pod().is_none()
                && r.param("labelSelector").is_some()
        })
        .expect("a list by label");
    let selector = list.param("labelSelector").unwrap();
    assert!(selector.contains("io.sbx.managed=true"), "{selector}");
    assert!(selector.contains("io.sbx.agent="), "{selector}");
    assert!(
        selector.contains(&format!("io.sbx.host={host}")),
        "{selector}"
    );
    c.pool_down();
    assert!(
        !c.deleted().contains(&foreign),
        "another machine's pod is left alone: {}",
        c.log()
    );
    assert!(c.mock.pod_names(&c.ns).contains(&foreign));
}

#[test]
fn a_pod_no_node_fits_shows_why_while_pending_and_pool_down_deletes_it() {
    let Some(c) = cluster_with(
        "unschedulable",
        "sandboxes",
        KubeMock::builder().no_node_fits(),
    ) else {
        return;
    };
    let mut child = c
        .sbx
        .cmd()
        .args(["-v", "pool", "up"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let err = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let want = format!(
        "Pending (Unschedulable: {})",
        kube_mock::UNSCHEDULABLE_MESSAGE
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::time::Instant::now() < deadline && !seen.iter().any(|l: &String| l.contains(&want)) {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            seen.push(l);
        }
    }
    assert!(
        seen.iter().any(|l| l.contains(&want)),
        "{want:?} not shown: {seen:?}"
    );
    assert_eq!(child.try_wait().unwrap(), None, "still waiting for the pod");
    let pods = c.mock.pod_names(&c.ns);
    assert_eq!(pods.len(), 1);

    // A plain `pool down` does not sit out the start timeout (minutes):
    // the pods still starting are deleted, which ends their creation.
    let out = c.sbx.run(&["pool", "down"], "");
    assert!(out.status.success(), "pool down: {}", stderr(&out));
    assert!(
        c.deleted().contains(&pods[0]),
        "the starting pod was deleted: {}",
        c.log()
    );
    let _ = child.kill();
    let _ = child.wait();
    c.assert_nothing_left();
}

#[test]
fn a_pod_still_pending_at_the_start_timeout_fails_the_run_with_the_schedulers_reason() {
    let Some(c) = cluster("timeout") else {
        return;
    };
    let mut cfg = std::fs::read_to_string(&c.sbx.config).unwrap_or_default();
    cfg.push_str("\n[kubernetes]\nstart_timeout = \"2s\"\n[kubernetes.pod.node_selector]\nmock = \"unschedulable\"\n");
    std::fs::write(&c.sbx.config, cfg).unwrap();
    let (code, err, _) = c.refused(&["run", "--lang", "python", "-"], "print('never')");
    assert_eq!(code, Some(125), "{err}");
    assert!(
        err.contains("did not start within 2s") && err.contains("Unschedulable"),
        "{err}"
    );
    let created = c.mock.created();
    assert!(!created.is_empty());
    c.pool_down();
    for pod in created {
        assert!(c.deleted().contains(&pod), "{pod} deleted: {}", c.log());
    }
    c.assert_nothing_left();
}

#[test]
fn bench_measures_pool_fresh_and_exec_runs_on_the_cluster() {
    let Some(c) = cluster("bench") else {
        return;
    };
    let out = c.sbx.run(
        &[
            "bench", "--lang", "python", "--runs", "2", "--warmup", "0", "--json",
        ],
        "",
    );
    assert!(out.status.success(), "{}\n{}", stderr(&out), c.log());
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["backend"], "kubernetes");
    let modes: Vec<&str> = doc["modes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["mode"].as_str().unwrap())
        .collect();
    assert_eq!(modes, ["pool", "fresh", "exec"]);
    // The exec mode's reference is a pod of its own, driven by one exec
    // per run (plus one to copy the program in), as an exec-based
    // sandbox on a cluster would be.
    let reference = c
        .mock
        .created()
        .into_iter()
        .find(|p| p.starts_with("sbx-python-bench-exec-"))
        .expect("a reference pod");
    let runs = c
        .execs_of(&reference)
        .iter()
        .filter(|e| e.line().contains("sbx-exec"))
        .count();
    assert_eq!(runs, 2, "{}", c.log());
    assert!(c.deleted().contains(&reference), "{}", c.log());
    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn doctor_checks_the_cluster_and_names_the_rights_the_credentials_lack() {
    let Some(c) = cluster("doctor") else {
        return;
    };
    let out = c.sbx.run(&["doctor"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    let line = |check: &str| {
        text.lines()
            .find(|l| l.split_whitespace().nth(1) == Some(check))
            .unwrap_or_else(|| panic!("no {check} line in {text}"))
            .to_string()
    };
    assert!(line("cluster").starts_with("ok"), "{text}");
    assert!(line("cluster").contains("namespace sandboxes"), "{text}");
    assert!(line("rights").starts_with("ok"), "{text}");
    // Nothing of a local engine is checked against a cluster.
    assert!(!text.contains(" engine "), "{text}");

    let Some(c) = cluster_with(
        "doctor-exec",
        "no-exec",
        KubeMock::builder().exec_forbidden_namespace("no-exec"),
    ) else {
        return;
    };
    let out = c.sbx.run(&["doctor"], "");
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let rights = text
        .lines()
        .find(|l| l.split_whitespace().nth(1) == Some("rights"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(rights.starts_with("FAIL"), "{text}");
    assert!(
        rights.contains("may not create pods/exec, get pods/exec"),
        "{text}"
    );
    assert!(text.contains("rbac.yaml"), "the fix names the Role: {text}");
}

#[test]
fn a_watch_the_server_expires_is_resumed_from_a_fresh_read() {
    let Some(c) = cluster_with(
        "expired",
        "sandboxes",
        KubeMock::builder().expire_first_watch(),
    ) else {
        return;
    };
    assert_eq!(c.sbx.exec_ok("python", "print('up')"), "up\n");
    let pod = c.mock.created()[0].clone();
    let watches = c
        .mock
        .requests()
        .into_iter()
        .filter(|r| {
            r.is_watch() && r.param("fieldSelector") == Some(&format!("metadata.name={pod}"))
        })
        .count();
    assert!(
        watches >= 2,
        "the expired watch was followed by another:\n{}",
        c.log()
    );
    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn a_guest_stream_cut_without_a_word_is_noticed_and_its_pod_replaced() {
    let Some(c) = cluster("cut") else {
        return;
    };
    c.sbx.limit_pool_to_one_container();
    assert_eq!(c.sbx.exec_ok("python", "print('first')"), "first\n");
    let first = c.mock.created()[0].clone();
    c.mock.cut_execs(&first);
    // A run that arrives in the very instant of the cut fails with "retry",
    // as with a container killed then; one that comes a moment later must
    // not be sent into the dead stream to wait for an answer that never
    // comes: the pod is replaced and the run served.
    // No sleep to let the agent notice: a run that meets the cut stream
    // fails at once saying to retry (never by waiting out its timeout, which
    // says "stopped responding"), and the retry is served.
    let mut tries = 0;
    let out = loop {
        tries += 1;
        let out = c
            .sbx
            .run(&["exec", "--lang", "python", "print('second')"], "");
        if out.status.success() || tries == 3 {
            break out;
        }
        assert!(
            stderr(&out).ends_with("; retry the run\n")
                && !stderr(&out).contains("stopped responding"),
            "{}\n{}",
            stderr(&out),
            c.log()
        );
    };
    assert!(out.status.success(), "{}\n{}", stderr(&out), c.log());
    assert_eq!(stdout(&out), "second\n");
    assert!(
        wait_until(Duration::from_secs(10), || c.deleted().contains(&first)),
        "the pod with the broken stream is deleted:\n{}",
        c.log()
    );
    assert!(c.mock.created().len() >= 2);
    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn an_agent_refuses_pools_for_another_namespace_or_context_than_its_own() {
    let Some(mut c) = cluster("mismatch") else {
        return;
    };
    assert_eq!(c.sbx.exec_ok("python", "print(1)"), "1\n");
    for (var, value, says) in [
        ("SBX_KUBE_NAMESPACE", "elsewhere", "namespace sandboxes"),
        ("SBX_KUBE_CONTEXT", "other-cluster", "context (current)"),
    ] {
        let before = c.sbx.env.clone();
        c.sbx.env(var, value);
        let (_, err, _) = c.refused(&["exec", "--lang", "python", "print(2)"], "");
        assert!(
            err.contains(says) && err.contains(value) && err.contains("sbx agent stop"),
            "{err}"
        );
        c.sbx.env = before;
    }
    c.pool_down();
    c.assert_nothing_left();
}

#[test]
fn agent_restart_serves_the_backend_and_namespace_the_config_names() {
    let Some(mut c) = cluster("restart") else {
        return;
    };
    // Nothing in the environment chooses: the config does, as for a run.
    c.sbx.env("SBX_BACKEND", "auto");
    c.sbx.env("SBX_KUBE_NAMESPACE", "");
    let mut cfg = std::fs::read_to_string(&c.sbx.config).unwrap_or_default();
    cfg.push_str("\n[kubernetes]\nnamespace = \"from-config\"\n\n[profiles.default]\nbackend = \"kubernetes\"\n");
    std::fs::write(&c.sbx.config, cfg).unwrap();
    let out = c.sbx.run(&["agent", "restart"], "");
    assert!(out.status.success(), "{}", stderr(&out));
    let status = stdout(&c.sbx.run(&["agent", "status"], ""));
    assert!(
        status.contains("engine: kubernetes") && status.contains("namespace from-config"),
        "{status}"
    );
    assert_eq!(c.sbx.exec_ok("python", "print(3)"), "3\n");
    assert!(
        c.mock
            .created()
            .iter()
            .all(|p| c.mock.pod_names("from-config").contains(p)),
        "{}",
        c.log()
    );
    c.pool_down();
}
