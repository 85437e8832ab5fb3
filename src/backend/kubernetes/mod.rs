//! Pools of pods in a Kubernetes cluster, for when one machine is not enough.
//!
//! A sandbox is one pod (see pod.rs for its manifest) whose only container
//! waits for the guest binary and then idles as `sbx keeper`. Once the pod
//! runs, the agent copies the guest binary in through one exec and then
//! starts `sbx guest` with a second, attached exec that stays open for the
//! pod's life: runs travel over that stream exactly as over a container's
//! attach stream, one round trip each, no exec per run.
//!
//! API calls, all in the one configured namespace (the Role in
//! deploy/kubernetes/rbac.yaml grants exactly these): pods create, get,
//! list, watch, delete; pods/exec create (and get: the WebSocket upgrade).
//!
//! Starting a pod takes seconds to minutes. Its phase is published while
//! it starts ([`Backend::starting`], shown by `sbx pool up`), and a pod the
//! cluster cannot start (image not pullable, unschedulable past the start
//! timeout, container cannot be created) fails with the cluster's own
//! reason instead of leaving the pool waiting.

mod pod;

pub use crate::model::kube::{
    DEFAULT_START_TIMEOUT_SECS, KubeSettings, PodTemplate, Resources, Toleration,
};

use super::guest_conn::decode_events;
use super::{
    Backend, BackendError, EVENT_BUFFER, GuestConn, GuestEvent, LABEL_INSTANCE, Sandbox,
    SandboxSpec, Target,
};
use crate::guest::wire::GUEST_BIN;
use crate::protocol::{FrameDecoder, InputFile};
use async_trait::async_trait;
use futures_util::TryStreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, DeleteParams, ListParams, PostParams, WatchEvent, WatchParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use pod::{CONTAINER, GUEST_DIR, Start};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

/// Everything the agent does, as (verb, resource, subresource): the rules
/// of the Role in deploy/kubernetes/rbac.yaml.
const RIGHTS: &[(&str, &str, Option<&str>)] = &[
    ("create", "pods", None),
    ("get", "pods", None),
    ("list", "pods", None),
    ("watch", "pods", None),
    ("delete", "pods", None),
    ("create", "pods", Some("exec")),
    ("get", "pods", Some("exec")),
];

/// Longest a copy into a pod may take (the guest binary is tens of MB).
const COPY_LIMIT: Duration = Duration::from_secs(300);
/// Longest one `Backend::exec` may take (`sbx bench`'s reference runs).
const EXEC_LIMIT: Duration = Duration::from_secs(600);

const UNREACHABLE_HINT: &str =
    "check the cluster with `kubectl cluster-info` (KUBECONFIG, [kubernetes] context)";

pub struct KubeBackend {
    client: Client,
    pods: Api<Pod>,
    namespace: String,
    /// What `describe` says: server URL, context, namespace, version.
    described: String,
    /// Pods being started, by name, for `starting` and `abandon_starting`.
    phases: Mutex<HashMap<String, Starting>>,
    /// When each group's creations were last abandoned: a pod whose create
    /// request was still in flight then is deleted as soon as it exists.
    abandoned: Mutex<HashMap<String, Instant>>,
    /// This machine ([`pod::HOST_LABEL`]): on every pod, in every selector.
    host: String,
    /// The kubeconfig context named when the agent started (`None`: the
    /// current one), to refuse pools asked for with another.
    context: Option<String>,
}

/// This machine, as a label value: the hostname (a pod's name, for an
/// agent in the cluster) and the machine id, hashed.
fn host_identity() -> String {
    let mut name = [0u8; 256];
    let hostname = if unsafe { libc::gethostname(name.as_mut_ptr().cast(), name.len()) } == 0 {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        String::from_utf8_lossy(&name[..end]).into_owned()
    } else {
        String::new()
    };
    let machine = std::fs::read_to_string("/etc/machine-id").unwrap_or_default();
    let id = crate::model::hash::fnv1a(format!("{hostname}\n{}", machine.trim()).as_bytes());
    format!("{:016x}", id)
}

impl KubeBackend {
    /// Connect with the kubeconfig found the standard way (KUBECONFIG,
    /// ~/.kube/config, else the in-cluster service account), using the
    /// target's context and namespace when it names them, and check that
    /// the API server answers.
    pub async fn connect(target: &Target) -> Result<KubeBackend, BackendError> {
        let context = target.context.clone();
        let unreachable = |reason: String| BackendError::Unreachable {
            endpoint: target.describe_cluster(),
            reason,
            hint: UNREACHABLE_HINT.into(),
        };
        let config = match &context {
            Some(c) => {
                let options = KubeConfigOptions {
                    context: Some(c.clone()),
                    ..Default::default()
                };
                Config::from_kubeconfig(&options)
                    .await
                    .map_err(|e| unreachable(format!("cannot use kubeconfig context `{c}`: {e}")))?
            }
            None => Config::infer().await.map_err(|e| {
                unreachable(format!(
                    "no kubeconfig found (KUBECONFIG, ~/.kube/config) and not in a cluster: {e}"
                ))
            })?,
        };
        let namespace = target
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let url = config.cluster_url.to_string();
        let context_name = context.clone().unwrap_or_else(|| {
            Kubeconfig::read()
                .ok()
                .and_then(|k| k.current_context)
                .unwrap_or_else(|| "in-cluster".into())
        });
        let client = Client::try_from(config)
            .map_err(|e| unreachable(format!("cannot build a client for {url}: {e}")))?;
        let version = tokio::time::timeout(Duration::from_secs(10), client.apiserver_version())
            .await
            .map_err(|_| unreachable(format!("{url} did not answer within 10s")))?
            .map_err(|e| unreachable(format!("{url}: {e}")))?;
        let pods = Api::namespaced(client.clone(), &namespace);
        Ok(KubeBackend {
            client,
            described: format!(
                "kubernetes {url} (context {context_name}, namespace {namespace}, server {}.{})",
                version.major, version.minor
            ),
            pods,
            namespace,
            phases: Mutex::new(HashMap::new()),
            abandoned: Mutex::new(HashMap::new()),
            host: host_identity(),
            context,
        })
    }

    /// The rights of deploy/kubernetes/rbac.yaml that the credentials lack
    /// in the namespace (`create pods/exec`), asked of the API server the
    /// way `kubectl auth can-i` does.
    pub async fn missing_rights(&self) -> Result<Vec<String>, BackendError> {
        use k8s_openapi::api::authorization::v1::{
            ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
        };
        let reviews: Api<SelfSubjectAccessReview> = Api::all(self.client.clone());
        let mut missing = Vec::new();
        for (verb, resource, subresource) in RIGHTS {
            let review = SelfSubjectAccessReview {
                spec: SelfSubjectAccessReviewSpec {
                    resource_attributes: Some(ResourceAttributes {
                        namespace: Some(self.namespace.clone()),
                        verb: Some(verb.to_string()),
                        resource: Some(resource.to_string()),
                        subresource: subresource.map(str::to_string),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                ..Default::default()
            };
            let answer = reviews
                .create(&PostParams::default(), &review)
                .await
                .map_err(|e| self.api_err("review the agent's rights", e))?;
            if !answer.status.is_some_and(|s| s.allowed) {
                let what = match subresource {
                    Some(sub) => format!("{verb} {resource}/{sub}"),
                    None => format!("{verb} {resource}"),
                };
                missing.push(what);
            }
        }
        Ok(missing)
    }

    fn api_err(&self, action: &str, e: kube::Error) -> BackendError {
        api_error(&self.namespace, action, e)
    }

    fn set_phase(&self, pod: &str, spec: &SandboxSpec, phase: Option<&str>) {
        let mut phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        match phase {
            Some(p) => {
                phases.insert(
                    pod.into(),
                    Starting {
                        group: spec.group.clone(),
                        phase: p.into(),
                    },
                );
            }
            None => {
                phases.remove(pod);
            }
        }
    }

    /// Follow the pod until it runs, fails, or `limit` passes.
    async fn wait_running(
        &self,
        name: &str,
        spec: &SandboxSpec,
        limit: Duration,
    ) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut last;
        loop {
            // A fresh read, then a watch from its version: a watch that
            // ends or expires (410 Gone) resumes from a new read.
            let current = self
                .pods
                .get(name)
                .await
                .map_err(|e| self.api_err("read the pod", e).to_string())?;
            match pod::start_state(&current) {
                Start::Running => return Ok(()),
                Start::Failed(why) => return Err(why),
                Start::Waiting(phase) => {
                    self.set_phase(name, spec, Some(&phase));
                    last = phase;
                }
            }
            let version = current
                .metadata
                .resource_version
                .clone()
                .unwrap_or_default();
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(timed_out(limit, &last));
            }
            let params = WatchParams::default()
                .fields(&format!("metadata.name={name}"))
                .timeout(left.as_secs().clamp(1, 290) as u32);
            let stream = self
                .pods
                .watch(&params, &version)
                .await
                .map_err(|e| self.api_err("watch the pod", e).to_string())?;
            let mut stream = std::pin::pin!(stream);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                let next = match tokio::time::timeout(left, stream.try_next()).await {
                    Err(_) => return Err(timed_out(limit, &last)),
                    Ok(Err(_)) | Ok(Ok(None)) => break,
                    Ok(Ok(Some(ev))) => ev,
                };
                let p = match next {
                    WatchEvent::Added(p) | WatchEvent::Modified(p) => p,
                    WatchEvent::Deleted(_) => {
                        return Err("the pod was deleted while it started".into());
                    }
                    WatchEvent::Bookmark(_) => continue,
                    WatchEvent::Error(_) => break,
                };
                match pod::start_state(&p) {
                    Start::Running => return Ok(()),
                    Start::Failed(why) => return Err(why),
                    Start::Waiting(phase) => {
                        self.set_phase(name, spec, Some(&phase));
                        last = phase;
                    }
                }
            }
            if Instant::now() >= deadline {
                return Err(timed_out(limit, &last));
            }
        }
    }

    /// Copy the guest binary into the pod: one exec that reads exactly its
    /// size from stdin (no reliance on stdin being closed, which the older
    /// exec protocol cannot signal), then renames it into place. Streamed
    /// from the file: the agent never holds the binary.
    async fn copy_guest(&self, name: &str) -> Result<(), String> {
        let bin = super::guest_binary()?;
        let mut file = tokio::fs::File::open(&bin.path)
            .await
            .map_err(|e| format!("cannot read {}: {e}", bin.path.display()))?;
        let part = format!("{GUEST_DIR}/.sbx.part");
        let script = format!(
            "head -c {} > {part} && chmod 755 {part} && mv -f {part} {GUEST_BIN}",
            bin.size
        );
        let out = self
            .run_exec(
                name,
                &["sh".into(), "-c".into(), script],
                &mut file,
                COPY_LIMIT,
            )
            .await?;
        if out.code == 0 {
            return Ok(());
        }
        let err = String::from_utf8_lossy(&out.stderr).trim().to_string();
        Err(format!(
            "copying the guest runner into the pod failed (exit code {}){}",
            out.code,
            if err.is_empty() {
                String::new()
            } else {
                format!(": {err}")
            }
        ))
    }

    /// One command through the exec API, fed `input` to its end (exactly:
    /// the command must read no more than that; empty: no stdin), its
    /// output collected. The exit code comes from the exec's closing
    /// status. Gives up after `limit`.
    async fn run_exec(
        &self,
        name: &str,
        argv: &[String],
        input: &mut (dyn tokio::io::AsyncRead + Unpin + Send),
        limit: Duration,
    ) -> Result<super::ExecOutput, String> {
        // Whether there is any input at all: an exec without stdin is a
        // different request (and the only kind some commands accept).
        let mut first = [0u8; 1];
        let has_input = input
            .read(&mut first)
            .await
            .map_err(|e| format!("cannot read the exec's input: {e}"))?
            == 1;
        let params = AttachParams::default()
            .container(CONTAINER)
            .stdin(has_input)
            .stdout(true)
            .stderr(true)
            .max_stdin_buf_size(256 * 1024)
            .max_stdout_buf_size(256 * 1024);
        let exec = async {
            let mut proc = self
                .pods
                .exec(name, argv.iter().map(String::as_str), &params)
                .await
                .map_err(|e| self.api_err("exec into the pod", e).to_string())?;
            let mut stdin = proc.stdin();
            let mut stdout = proc.stdout().ok_or("the exec has no stdout")?;
            let mut stderr = proc.stderr().ok_or("the exec has no stderr")?;
            let status = proc.take_status().ok_or("the exec has no status")?;
            // Stdin stays open until the status is in: closing it ends the
            // whole stream under the older exec protocol, status included.
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let ended = tokio::sync::Notify::new();
            let status = async {
                let s = status.await;
                ended.notify_one();
                s
            };
            let io = async {
                let io = async {
                    if let Some(w) = stdin.as_mut() {
                        w.write_all(&first).await?;
                        tokio::io::copy(input, w).await?;
                    }
                    let (o, e) =
                        tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
                    o.and(e).map(|_| ())
                };
                // The status comes last on a healthy stream. A stream that
                // broke ends the exec's task without closing our readers:
                // its end (status or none) bounds them.
                tokio::select! {
                    r = io => r,
                    _ = async {
                        ended.notified().await;
                        tokio::time::sleep(Duration::from_secs(2)).await;
                    } => Ok(()),
                }
            };
            let (status, fed) = tokio::join!(status, io);
            drop(stdin);
            let code = match &status {
                Some(s) if s.status.as_deref() == Some("Success") => 0,
                Some(s) => exit_code(s).ok_or_else(|| {
                    format!("the exec failed: {}", s.message.clone().unwrap_or_default())
                })?,
                None => {
                    return Err(format!(
                        "the exec's stream broke before its status came{}",
                        fed.err().map(|e| format!(": {e}")).unwrap_or_default()
                    ));
                }
            };
            Ok(super::ExecOutput {
                code,
                stdout: out,
                stderr: err,
            })
        };
        tokio::time::timeout(limit, exec)
            .await
            .unwrap_or_else(|_| Err(format!("the exec did not end within {}s", limit.as_secs())))
    }

    /// Start `sbx guest` on an attached exec kept open for the pod's life.
    async fn start_guest(&self, name: &str) -> Result<GuestConn, String> {
        let params = AttachParams::default()
            .container(CONTAINER)
            .stdin(true)
            .stdout(true)
            .stderr(true)
            .max_stdin_buf_size(256 * 1024)
            .max_stdout_buf_size(256 * 1024);
        let mut proc = self
            .pods
            .exec(name, [GUEST_BIN, "guest"], &params)
            .await
            .map_err(|e| self.api_err("exec into the pod", e).to_string())?;
        let stdin = proc.stdin().ok_or("the exec has no stdin")?;
        let mut stdout = proc.stdout().ok_or("the exec has no stdout")?;
        let mut stderr = proc.stderr().ok_or("the exec has no stderr")?;
        let (tx, rx) = mpsc::channel(EVENT_BUFFER);
        let short = name.to_string();
        tokio::spawn(async move {
            let mut line = Vec::new();
            let mut buf = vec![0u8; 8192];
            while let Ok(n) = stderr.read(&mut buf).await {
                if n == 0 {
                    break;
                }
                line.extend_from_slice(&buf[..n]);
                while let Some(i) = line.iter().position(|&b| b == b'\n') {
                    let l: Vec<u8> = line.drain(..=i).collect();
                    eprint!("[{short}] {}", String::from_utf8_lossy(&l));
                }
            }
        });
        tokio::spawn(async move {
            // Owns the exec: dropping it would abort its stream.
            let mut proc = proc;
            let status = proc.take_status();
            let mut decoder = FrameDecoder::default();
            let mut buf = vec![0u8; 64 * 1024];
            // A stream that broke ends the exec's task without closing
            // stdout: the exec's end (its status, or none) is the sign,
            // with a moment for output still buffered.
            let ended = async {
                match status {
                    Some(s) => s.await,
                    None => std::future::pending().await,
                }
            };
            tokio::pin!(ended);
            let mut status: Option<Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Status>> =
                None;
            let grace = tokio::time::sleep(Duration::from_secs(365 * 86400));
            tokio::pin!(grace);
            let why = loop {
                let n = tokio::select! {
                    r = stdout.read(&mut buf) => r,
                    // The sandbox was dropped: end the exec with it.
                    _ = tx.closed() => return,
                    s = &mut ended, if status.is_none() => {
                        status = Some(s);
                        // Whatever the stream carried is buffered by now.
                        grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_millis(100));
                        continue;
                    }
                    _ = &mut grace => break "the guest's exec stream broke".to_string(),
                };
                match n {
                    Ok(0) => break "the guest's exec stream ended".to_string(),
                    Ok(n) => {
                        for ev in decode_events(&mut decoder, &buf[..n]) {
                            let fatal = matches!(ev, GuestEvent::Closed(_));
                            if tx.send(ev).await.is_err() || fatal {
                                return;
                            }
                        }
                    }
                    Err(e) => break format!("the guest's exec stream failed: {e}"),
                }
            };
            let status = match status {
                Some(s) => s,
                None => tokio::time::timeout(Duration::from_secs(1), ended)
                    .await
                    .ok()
                    .flatten(),
            };
            let why = match status.and_then(|s| s.message).filter(|m| !m.is_empty()) {
                Some(m) => format!("{why}: {m}"),
                None => why,
            };
            let _ = tx.send(GuestEvent::Closed(why)).await;
        });
        let mut guest = GuestConn::new(Box::pin(stdin), rx);
        guest
            .wait_ready(Duration::from_secs(30))
            .await
            .map_err(|reason| format!("the guest runner did not start: {reason}"))?;
        Ok(guest)
    }

    async fn create_pod(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        let settings = spec.kubernetes.clone().unwrap_or_default();
        let guest_size = super::guest_binary()
            .map_err(|reason| BackendError::Engine {
                action: "prepare the guest runner".into(),
                reason,
            })?
            .size;
        // Room for the binary while it is copied in (it is deleted once
        // running), rounded up to MiB.
        let guest_size = (guest_size + (16 << 20)).div_ceil(1 << 20) << 20;
        let manifest =
            pod::manifest(spec, &settings, &self.host, guest_size).map_err(|reason| {
                BackendError::Engine {
                    action: format!("make a pod for pool `{}`", spec.pool),
                    reason,
                }
            })?;
        let began = Instant::now();
        let created = self
            .pods
            .create(&PostParams::default(), &manifest)
            .await
            .map_err(|e| self.api_err("create a pod", e))?;
        let name = created.metadata.name.clone().unwrap_or_default();
        self.set_phase(&name, spec, Some("Pending"));
        if self.abandoned_since(&spec.group, began) {
            self.set_phase(&name, spec, None);
            let _ = self.destroy(&name).await;
            return Err(BackendError::Engine {
                action: format!("start pod {}/{name}", self.namespace),
                reason: "its pool is shutting down; retry".into(),
            });
        }
        let limit = Duration::from_secs(settings.start_timeout_secs.max(1));
        let id = format!("pod {}/{name}", self.namespace);
        let started = async {
            // A pod that never runs is the cluster's verdict on the pod
            // (image, scheduling), not a failure of the guest runner.
            self.wait_running(&name, spec, limit)
                .await
                .map_err(|reason| BackendError::Engine {
                    action: format!("start {id}"),
                    reason,
                })?;
            self.set_phase(&name, spec, Some("Running: copying the guest"));
            let guest = async {
                self.copy_guest(&name).await?;
                self.start_guest(&name).await
            };
            guest.await.map_err(|reason| BackendError::GuestFailed {
                id: id.clone(),
                reason,
            })
        }
        .await;
        self.set_phase(&name, spec, None);
        match started {
            Ok(guest) => Ok(Sandbox { id: name, guest }),
            Err(e) => {
                let _ = self.destroy(&name).await;
                if self.abandoned_since(&spec.group, began) {
                    // Deleted by the pool's drain, not refused by the cluster.
                    return Err(BackendError::Engine {
                        action: format!("start pod {}/{name}", self.namespace),
                        reason: "its pool is shutting down; retry".into(),
                    });
                }
                Err(e)
            }
        }
    }

    fn abandoned_since(&self, group: &str, began: Instant) -> bool {
        let abandoned = self.abandoned.lock().unwrap_or_else(|e| e.into_inner());
        abandoned.get(group).is_some_and(|at| *at >= began)
    }

    async fn pods_labelled(&self, labels: &[(String, String)]) -> Result<Vec<Pod>, BackendError> {
        // Only this machine's: another machine's agent may carry the same
        // labels otherwise, and its pods are not ours to reap.
        let selector = labels
            .iter()
            .map(|(k, v)| format!("{k}={}", pod::label_value(v)))
            .chain([format!("{}={}", pod::HOST_LABEL, self.host)])
            .collect::<Vec<_>>()
            .join(",");
        let list = self
            .pods
            .list(&ListParams::default().labels(&selector))
            .await
            .map_err(|e| self.api_err("list pods", e))?;
        Ok(list.items)
    }
}

/// A pod on its way to serving runs.
struct Starting {
    group: String,
    phase: String,
}

fn timed_out(limit: Duration, last: &str) -> String {
    format!(
        "the pod did not start within {}s (last state: {last}); raise [kubernetes] start_timeout or see `kubectl describe pod`",
        limit.as_secs()
    )
}

/// The exit code a failed exec's status reports (`NonZeroExitCode`, with
/// the code as the `ExitCode` cause).
fn exit_code(s: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Status) -> Option<i64> {
    if s.reason.as_deref() != Some("NonZeroExitCode") {
        return None;
    }
    s.details
        .as_ref()?
        .causes
        .iter()
        .flatten()
        .find(|c| c.reason.as_deref() == Some("ExitCode"))?
        .message
        .as_deref()?
        .parse()
        .ok()
}

/// A word for `sh -c`, whatever it contains.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// One line saying what the cluster refused and what to do about it.
fn api_error(namespace: &str, action: &str, e: kube::Error) -> BackendError {
    let engine = |reason: String| BackendError::Engine {
        action: format!("{action} in namespace {namespace}"),
        reason,
    };
    match e {
        kube::Error::Api(s) => match s.code {
            401 => engine(format!(
                "401 Unauthorized: {}; the kubeconfig's credentials were rejected (log in again, or check the context's user)",
                s.message
            )),
            403 => engine(format!(
                "403 Forbidden: {}; grant the Role in deploy/kubernetes/rbac.yaml to this user in namespace {namespace}",
                s.message
            )),
            404 if s.message.contains("namespaces") => engine(format!(
                "404 NotFound: {}; create it (`kubectl create namespace {namespace}`) or set [kubernetes] namespace",
                s.message
            )),
            code => engine(format!("{code} {}: {}", s.reason, s.message)),
        },
        kube::Error::HyperError(_) | kube::Error::Service(_) => BackendError::Unreachable {
            endpoint: format!("the cluster's API server (namespace {namespace})"),
            reason: e.to_string(),
            hint: UNREACHABLE_HINT.into(),
        },
        other => engine(other.to_string()),
    }
}

fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

#[async_trait]
impl Backend for KubeBackend {
    fn name(&self) -> &'static str {
        "kubernetes"
    }

    fn describe(&self) -> String {
        self.described.clone()
    }

    async fn create(&self, spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        // Refused rather than ignored: a user asking for gVisor must not
        // silently get the cluster's default runtime.
        if let Some(name) = &spec.isolation.runtime {
            return Err(BackendError::Runtime {
                name: name.clone(),
                reason: "a pod's runtime comes from its RuntimeClass, which sbx does not set"
                    .into(),
                fix: "make the runtime the default of the nodes the pods run on, and remove the setting",
            });
        }
        self.create_pod(spec).await
    }

    async fn is_running(&self, id: &str) -> Result<bool, BackendError> {
        match self.pods.get(id).await {
            Ok(p) => Ok(p.metadata.deletion_timestamp.is_none()
                && p.status.and_then(|s| s.phase).as_deref() == Some("Running")),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(self.api_err("read a pod", e)),
        }
    }

    async fn destroy(&self, id: &str) -> Result<(), BackendError> {
        // No grace period: nothing in a sandbox deserves one, and the
        // idle keeper would only sit it out.
        let params = DeleteParams {
            grace_period_seconds: Some(0),
            ..DeleteParams::background()
        };
        match self.pods.delete(id, &params).await {
            Ok(_) => Ok(()),
            Err(e) if is_not_found(&e) => Ok(()),
            Err(e) => Err(self.api_err("delete a pod", e)),
        }
    }

    async fn list_labelled(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<super::Labelled>, BackendError> {
        Ok(self
            .pods_labelled(labels)
            .await?
            .into_iter()
            .filter_map(|p| {
                Some(super::Labelled {
                    id: p.metadata.name?,
                    instance: p.metadata.labels.and_then(|mut l| l.remove(LABEL_INSTANCE)),
                })
            })
            .collect())
    }

    async fn ping(&self) -> Result<(), BackendError> {
        // A list the Role allows: reachability and permission in one.
        tokio::time::timeout(
            Duration::from_secs(10),
            self.pods.list(&ListParams::default().limit(1)),
        )
        .await
        .map_err(|_| BackendError::Unreachable {
            endpoint: self.described.clone(),
            reason: "no answer within 10s".into(),
            hint: UNREACHABLE_HINT.into(),
        })?
        .map(|_| ())
        .map_err(|e| self.api_err("list pods", e))
    }

    async fn upload(&self, id: &str, dir: &str, files: &[InputFile]) -> Result<(), BackendError> {
        // One exec for all of them: the contents one after another on
        // stdin, each file reading exactly its own length.
        let mut script = format!("mkdir -p {}", shell_quote(dir));
        let mut input = Vec::new();
        for f in files {
            let path = format!("{}/{}", dir.trim_end_matches('/'), f.path);
            if let Some(parent) = std::path::Path::new(&path).parent() {
                script += &format!(" && mkdir -p {}", shell_quote(&parent.to_string_lossy()));
            }
            script += &format!(
                " && head -c {} > {q} && chmod {:o} {q}",
                f.contents.len(),
                f.mode,
                q = shell_quote(&path)
            );
            input.extend_from_slice(&f.contents);
        }
        let out = self
            .run_exec(
                id,
                &["sh".into(), "-c".into(), script],
                &mut &input[..],
                COPY_LIMIT,
            )
            .await
            .map_err(|reason| BackendError::Engine {
                action: "copy files into a pod".into(),
                reason,
            })?;
        if out.code != 0 {
            return Err(BackendError::Engine {
                action: "copy files into a pod".into(),
                reason: format!(
                    "exit code {}: {}",
                    out.code,
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        Ok(())
    }

    async fn exec(
        &self,
        id: &str,
        argv: &[String],
        env: &[(String, String)],
        workdir: &str,
    ) -> Result<super::ExecOutput, BackendError> {
        // The exec API has neither environment nor working directory.
        let mut full: Vec<String> = [
            "sh",
            "-c",
            "cd \"$1\" && shift && exec env \"$@\"",
            "sbx-exec",
            workdir,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        full.extend(env.iter().map(|(k, v)| format!("{k}={v}")));
        full.extend(argv.iter().cloned());
        self.run_exec(id, &full, &mut &[][..], EXEC_LIMIT)
            .await
            .map_err(|reason| BackendError::Engine {
                action: "exec a command in a pod".into(),
                reason,
            })
    }

    fn mismatch(&self, settings: Option<&KubeSettings>) -> Option<String> {
        let settings = settings?;
        if let Some(asked) = settings.namespace.as_deref()
            && asked != self.namespace
        {
            return Some(format!(
                "the running agent creates pods in namespace {}, but this command asks for {asked}; run `sbx agent stop` and retry",
                self.namespace
            ));
        }
        if settings.context != self.context {
            let name = |c: &Option<String>| c.clone().unwrap_or_else(|| "(current)".into());
            return Some(format!(
                "the running agent uses kubeconfig context {}, but this command asks for {}; run `sbx agent stop` and retry",
                name(&self.context),
                name(&settings.context)
            ));
        }
        None
    }

    fn starting(&self, group: &str) -> Vec<String> {
        let phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
        let mut v: Vec<String> = phases
            .values()
            .filter(|s| s.group == group)
            .map(|s| s.phase.clone())
            .collect();
        v.sort();
        v
    }

    async fn abandon_starting(&self, group: &str) {
        {
            let mut abandoned = self.abandoned.lock().unwrap_or_else(|e| e.into_inner());
            abandoned.insert(group.to_string(), Instant::now());
        }
        let pods: Vec<String> = {
            let phases = self.phases.lock().unwrap_or_else(|e| e.into_inner());
            phases
                .iter()
                .filter(|(_, s)| s.group == group)
                .map(|(name, _)| name.clone())
                .collect()
        };
        // Deleted, the pod's watch ends its creation with an error, and the
        // creation's own clean-up finds it gone.
        for name in pods {
            if let Err(e) = self.destroy(&name).await {
                eprintln!("sbx agent: cannot delete starting pod {name}: {e}");
            }
        }
    }
}

/// Against responses in the shape a v1.31 API server gives them: the
/// fixtures under tests/fixtures/kubernetes follow `kubectl get -o json`
/// output and the server's `Status` bodies field for field (written by
/// hand: no cluster can run on the machines this was built on). The whole
/// request sequence runs against the mock API server of tests/kubernetes.rs.
#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/kubernetes/",
                $name
            ))
        };
    }

    fn pod(text: &str) -> Pod {
        serde_json::from_str(text).expect("a pod")
    }

    #[test]
    fn the_phases_of_a_starting_pod_are_read_from_its_status() {
        assert_eq!(
            pod::start_state(&pod(fixture!("pod-containercreating.json"))),
            Start::Waiting("ContainerCreating".into())
        );
        assert_eq!(
            pod::start_state(&pod(fixture!("pod-running.json"))),
            Start::Running
        );
        match pod::start_state(&pod(fixture!("pod-unschedulable.json"))) {
            Start::Waiting(w) => assert!(
                w.starts_with("Pending (Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."),
                "{w}"
            ),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_pod_that_cannot_start_fails_with_the_clusters_own_words() {
        match pod::start_state(&pod(fixture!("pod-imagepullbackoff.json"))) {
            Start::Failed(why) => assert!(
                why.starts_with("ImagePullBackOff: Back-off pulling image \"python:3.12-slim\""),
                "{why}"
            ),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            pod::start_state(&pod(fixture!("pod-deadline-exceeded.json"))),
            Start::Failed(
                "DeadlineExceeded: Pod was active on the node longer than the specified deadline"
                    .into()
            )
        );
    }

    fn api(text: &str) -> kube::Error {
        kube::Error::Api(Box::new(serde_json::from_str(text).expect("a Status")))
    }

    #[test]
    fn refusals_say_what_to_grant_or_create() {
        let e = api_error(
            "sbx",
            "create a pod",
            api(fixture!("status-forbidden.json")),
        )
        .to_string();
        assert!(e.contains("create a pod in namespace sbx"), "{e}");
        assert!(e.contains("403 Forbidden: pods is forbidden"), "{e}");
        assert!(e.contains("deploy/kubernetes/rbac.yaml"), "{e}");
        assert_eq!(e.lines().count(), 1);

        let e = api_error(
            "sbx",
            "create a pod",
            api(fixture!("status-namespace-not-found.json")),
        )
        .to_string();
        assert!(e.contains("namespaces \"sbx\" not found"), "{e}");
        assert!(e.contains("kubectl create namespace sbx"), "{e}");
    }

    #[test]
    fn a_failed_exec_reports_the_commands_exit_code() {
        let status: k8s_openapi::apimachinery::pkg::apis::meta::v1::Status =
            serde_json::from_str(fixture!("exec-status-nonzero.json")).unwrap();
        assert_eq!(exit_code(&status), Some(1));
        let other = k8s_openapi::apimachinery::pkg::apis::meta::v1::Status {
            reason: Some("InternalError".into()),
            ..Default::default()
        };
        assert_eq!(exit_code(&other), None, "not an exit code: an exec failure");
    }

    #[test]
    fn shell_words_survive_any_content() {
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
    }
}
