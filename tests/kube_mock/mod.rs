//! A Kubernetes API server on loopback, for testing the Kubernetes backend
//! with the real `sbx` binary: no cluster can run here, and kube's own
//! mock service cannot complete the HTTP upgrade that pods/exec needs.
//!
//! It answers the calls sbx makes with the API server's own shapes (`Pod`,
//! `PodList`, watch events, `Status` objects for errors, the
//! `v5.channel.k8s.io` / `v4.channel.k8s.io` WebSocket exec protocol), and
//! a small "kubelet" backs each pod with a real Docker container made from
//! the pod's spec (user, read-only root, dropped capabilities, emptyDir
//! volumes as tmpfs, env, command), so runs really execute end to end.
//!
//! Failures a cluster produces are injected by namespace, image and node
//! selector (see [`Builder`]). Every request is recorded for the tests to
//! check the sequence. Dropping the mock removes every container it made
//! (found by its own label only).

#![allow(dead_code)]

/// The engine whose containers stand in for the mock's pods: Docker, in
/// one place. (tests/kubernetes.rs says SKIPPED under Podman: the backend
/// under test never touches the local engine.)
fn runtime() -> &'static str {
    "docker"
}

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;

type Body = BoxBody<Bytes, Infallible>;

/// The bearer token of the kubeconfig's user; anything else gets a 401.
pub const TOKEN: &str = "sbx-kube-mock-token";
/// Who the mock says is calling, in its 403 messages.
pub const USER: &str = "system:serviceaccount:sbx:agent";
/// Label on every Docker container the mock makes; its value is the mock's
/// id, so concurrent tests never touch each other's containers.
pub const LABEL: &str = "sbx-kube-mock";
/// A node selector with this key and value cannot be satisfied.
pub const UNSCHEDULABLE_SELECTOR: (&str, &str) = ("mock", "unschedulable");
/// An image whose name contains this cannot be pulled.
pub const UNPULLABLE: &str = "unpullable";
pub const UNSCHEDULABLE_MESSAGE: &str =
    "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.";

/// One request as the mock received it.
#[derive(Debug, Clone)]
pub struct Logged {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// The JSON body of a POST or DELETE, if any.
    pub body: Option<Value>,
}

impl Logged {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn params(&self, key: &str) -> Vec<&str> {
        self.query
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The pod a request under `.../pods/NAME` is about.
    pub fn pod(&self) -> Option<&str> {
        let rest = self.path.split("/pods/").nth(1)?;
        rest.split('/').next()
    }

    pub fn is_exec(&self) -> bool {
        self.path.ends_with("/exec")
    }

    pub fn is_watch(&self) -> bool {
        matches!(self.param("watch"), Some("true" | "1"))
    }

    /// The exec's command, joined with spaces.
    pub fn command(&self) -> String {
        self.params("command").join(" ")
    }

    /// `METHOD path?query` in one line, for assertion messages.
    pub fn line(&self) -> String {
        let q: Vec<String> = self.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{} {}?{}", self.method, self.path, q.join("&"))
    }
}

/// Failures of the cluster a test wants to see.
#[derive(Debug, Clone, Default)]
pub struct Builder {
    forbidden: BTreeSet<String>,
    exec_forbidden: BTreeSet<String>,
    missing: BTreeSet<String>,
    no_node_fits: bool,
    expire_first_watch: bool,
}

impl Builder {
    /// Every request in `ns` is refused with 403, as for a user whose Role
    /// does not cover it.
    pub fn forbidden_namespace(mut self, ns: &str) -> Builder {
        self.forbidden.insert(ns.into());
        self
    }

    /// Pods in `ns` may be managed but not exec'd into: a Role that lacks
    /// its `pods/exec` rule.
    pub fn exec_forbidden_namespace(mut self, ns: &str) -> Builder {
        self.exec_forbidden.insert(ns.into());
        self
    }

    /// The first watch of each pod ends at once with a 410 `Expired` ERROR
    /// event, as when the version it asked for was compacted away.
    pub fn expire_first_watch(mut self) -> Builder {
        self.expire_first_watch = true;
        self
    }

    /// Creating a pod in `ns` answers 404: the namespace does not exist.
    pub fn missing_namespace(mut self, ns: &str) -> Builder {
        self.missing.insert(ns.into());
        self
    }

    /// No node fits any pod: every pod stays Pending, Unschedulable (as a
    /// pod whose node selector is [`UNSCHEDULABLE_SELECTOR`] always does).
    pub fn no_node_fits(mut self) -> Builder {
        self.no_node_fits = true;
        self
    }

    /// Serve on 127.0.0.1 and write a kubeconfig for it into `dir`.
    pub fn start(self, dir: &Path, name: &str) -> KubeMock {
        let id = format!("{}-{name}", std::process::id());
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("a runtime for the mock");
        let listener = rt
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .expect("a loopback port for the mock");
        let addr = listener.local_addr().unwrap();
        let seed = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            ^ ((std::process::id() as u64) << 32);
        let state = Arc::new(State {
            id: id.clone(),
            scenarios: self,
            inner: Mutex::new(Inner {
                rv: 1000,
                seed: seed | 1,
                ..Default::default()
            }),
            changed: watch::channel(0).0,
            cut: tokio::sync::broadcast::channel(16).0,
        });
        rt.spawn(serve(listener, state.clone()));
        let kubeconfig = dir.join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            format!(
                "apiVersion: v1
kind: Config
clusters:
- name: mock
  cluster:
    server: http://{addr}
users:
- name: agent
  user:
    token: {TOKEN}
contexts:
- name: mock
  context:
    cluster: mock
    user: agent
    namespace: default
current-context: mock
"
            ),
        )
        .unwrap();
        KubeMock {
            id,
            addr,
            kubeconfig,
            state,
            rt: Some(rt),
        }
    }
}

pub struct KubeMock {
    pub id: String,
    pub addr: SocketAddr,
    /// Points at this mock with a bearer token; set KUBECONFIG to it.
    pub kubeconfig: PathBuf,
    state: Arc<State>,
    rt: Option<tokio::runtime::Runtime>,
}

impl KubeMock {
    pub fn builder() -> Builder {
        Builder::default()
    }

    /// A cluster where everything works.
    pub fn start(dir: &Path, name: &str) -> KubeMock {
        Builder::default().start(dir, name)
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<Logged> {
        self.state.lock().requests.clone()
    }

    /// The pods that exist now (any namespace).
    pub fn pods(&self) -> Vec<Value> {
        self.state.lock().pods.values().cloned().collect()
    }

    /// Names of the pods that exist now in `ns`.
    pub fn pod_names(&self, ns: &str) -> Vec<String> {
        self.state
            .lock()
            .pods
            .keys()
            .filter(|(n, _)| n == ns)
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// Cut every exec stream open to `pod` the way a failing node or proxy
    /// does: the connection drops, no close frame, no status.
    pub fn cut_execs(&self, pod: &str) {
        let _ = self.state.cut.send(pod.to_string());
    }

    /// Change a label of a pod, as another client of the API server could
    /// (here: to make a pod look like another machine's).
    pub fn set_label(&self, ns: &str, name: &str, key: &str, value: &str) {
        let mut inner = self.state.lock();
        let pod = inner
            .pods
            .get_mut(&(ns.to_string(), name.to_string()))
            .expect("the pod exists");
        pod["metadata"]["labels"][key] = json!(value);
    }

    /// Names of every pod ever created, in order of creation.
    pub fn created(&self) -> Vec<String> {
        self.state.lock().created.clone()
    }

    /// The Docker containers backing this mock's pods (any state).
    pub fn containers(&self) -> Vec<String> {
        let out = std::process::Command::new(runtime())
            .args(["ps", "-a", "-q", "--filter"])
            .arg(format!("label={LABEL}={}", self.id))
            .output()
            .expect("the docker CLI runs");
        assert!(out.status.success(), "docker ps: {out:?}");
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .map(String::from)
            .collect()
    }
}

impl Drop for KubeMock {
    fn drop(&mut self) {
        // Stop serving first (its docker children are killed with their
        // tasks), so no pod starts after the sweep.
        if let Some(rt) = self.rt.take() {
            rt.shutdown_timeout(Duration::from_secs(2));
        }
        for _ in 0..5 {
            let ids = self.containers();
            if ids.is_empty() {
                break;
            }
            let _ = std::process::Command::new(runtime())
                .args(["rm", "-f"])
                .args(&ids)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

struct State {
    id: String,
    scenarios: Builder,
    inner: Mutex<Inner>,
    /// The latest resourceVersion, for watches to wait on.
    changed: watch::Sender<u64>,
    /// Pods whose exec streams are to be cut (see [`KubeMock::cut_execs`]).
    cut: tokio::sync::broadcast::Sender<String>,
}

#[derive(Default)]
struct Inner {
    rv: u64,
    seed: u64,
    pods: BTreeMap<(String, String), Value>,
    events: Vec<Event>,
    requests: Vec<Logged>,
    created: Vec<String>,
    /// Pods whose first watch was answered with 410 Expired.
    expired: BTreeSet<String>,
}

struct Event {
    rv: u64,
    ns: String,
    name: String,
    kind: &'static str,
    object: Value,
}

impl State {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Store `pod` under a new resourceVersion and record the event.
    fn publish(&self, inner: &mut Inner, ns: &str, name: &str, kind: &'static str, mut pod: Value) {
        inner.rv += 1;
        let rv = inner.rv;
        pod["metadata"]["resourceVersion"] = json!(rv.to_string());
        inner.events.push(Event {
            rv,
            ns: ns.into(),
            name: name.into(),
            kind,
            object: pod.clone(),
        });
        if kind == "DELETED" {
            inner.pods.remove(&(ns.into(), name.into()));
        } else {
            inner.pods.insert((ns.into(), name.into()), pod);
        }
        self.changed.send_replace(rv);
    }

    /// Change a pod as the kubelet would; false if it no longer exists.
    fn modify(&self, ns: &str, name: &str, f: impl FnOnce(&mut Value)) -> bool {
        let mut inner = self.lock();
        let Some(mut pod) = inner.pods.get(&(ns.into(), name.into())).cloned() else {
            return false;
        };
        f(&mut pod);
        self.publish(&mut inner, ns, name, "MODIFIED", pod);
        true
    }

    fn get(&self, ns: &str, name: &str) -> Option<Value> {
        self.lock().pods.get(&(ns.into(), name.into())).cloned()
    }

    fn random(&self) -> u64 {
        let mut inner = self.lock();
        let mut x = inner.seed;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        inner.seed = x;
        x
    }

    /// The five characters the API server appends to a generateName.
    fn suffix(&self) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        let mut r = self.random();
        (0..5)
            .map(|_| {
                let c = ALPHABET[(r % ALPHABET.len() as u64) as usize] as char;
                r /= ALPHABET.len() as u64;
                c
            })
            .collect()
    }

    fn uid(&self) -> String {
        let (a, b) = (self.random(), self.random());
        format!(
            "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            b >> 52,
            b & 0xffff_ffff_ffff
        )
    }
}

async fn serve(listener: tokio::net::TcpListener, state: Arc<State>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(handle(state, req).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .with_upgrades()
                .await;
        });
    }
}

fn full(code: StatusCode, body: &Value) -> Response<Body> {
    Response::builder()
        .status(code)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(body.to_string())).boxed())
        .unwrap()
}

/// An error as the API server words it: a `Status` object.
fn status(code: u16, reason: &str, message: &str, details: Value) -> Response<Body> {
    full(
        StatusCode::from_u16(code).unwrap(),
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": code,
        }),
    )
}

fn not_found(name: &str) -> Response<Body> {
    status(
        404,
        "NotFound",
        &format!("pods \"{name}\" not found"),
        json!({ "name": name, "kind": "pods" }),
    )
}

fn bad_request(message: &str) -> Response<Body> {
    status(400, "BadRequest", message, json!({}))
}

fn parse_query(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            (percent_decode(k), percent_decode(v))
        })
        .collect()
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = parse_query(req.uri().query().unwrap_or(""));
    let authorized = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&format!("Bearer {TOKEN}"));
    let mut logged = Logged {
        method,
        path,
        query,
        body: None,
    };
    // A body is read here so the log has it; an exec keeps its request,
    // whose upgrade it answers.
    let upgrade = req.headers().contains_key(header::UPGRADE);
    if upgrade || logged.method == "GET" {
        return route(state, logged, authorized, Some(req)).await;
    }
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    logged.body = serde_json::from_slice(&bytes).ok();
    route(state, logged, authorized, None).await
}

async fn route(
    state: Arc<State>,
    logged: Logged,
    authorized: bool,
    req: Option<Request<Incoming>>,
) -> Response<Body> {
    state.lock().requests.push(logged.clone());
    if !authorized {
        return status(401, "Unauthorized", "Unauthorized", json!({}));
    }
    let segments: Vec<&str> = logged.path.trim_matches('/').split('/').collect();
    let m = logged.method.as_str();
    match segments.as_slice() {
        ["version"] if m == "GET" => full(
            StatusCode::OK,
            &json!({
                "major": "1",
                "minor": "31",
                "emulationMajor": "1",
                "emulationMinor": "31",
                "minCompatibilityMajor": "1",
                "minCompatibilityMinor": "30",
                "gitVersion": "v1.31.0",
                "gitCommit": "9edcffcde5595e8a5b1a35f88c421764e575afce",
                "gitTreeState": "clean",
                "buildDate": "2024-08-13T07:28:49Z",
                "goVersion": "go1.22.5",
                "compiler": "gc",
                "platform": "linux/amd64",
            }),
        ),
        ["api", "v1", "namespaces", ns, "pods", rest @ ..] => {
            let ns = ns.to_string();
            let verb = match (m, rest) {
                ("POST", []) => "create",
                ("GET", []) if logged.is_watch() => "watch",
                ("GET", []) => "list",
                ("GET", [_]) => "get",
                ("DELETE", [_]) => "delete",
                (_, [_, "exec"]) => "create",
                _ => "get",
            };
            let is_exec = matches!(rest, [_, "exec"]);
            if state.scenarios.forbidden.contains(&ns)
                || (is_exec && state.scenarios.exec_forbidden.contains(&ns))
            {
                return forbidden(&ns, verb, rest);
            }
            match (m, rest) {
                ("POST", []) => create(&state, &ns, logged.body).await,
                ("GET", []) if logged.is_watch() => watch_pods(&state, &ns, &logged),
                ("GET", []) => list(&state, &ns, &logged),
                ("GET", [name]) => match state.get(&ns, name) {
                    Some(p) => full(StatusCode::OK, &p),
                    None => not_found(name),
                },
                ("DELETE", [name]) => delete(&state, &ns, name).await,
                ("GET" | "POST", [name, "exec"]) => match req {
                    Some(req) => exec(&state, &ns, name, &logged, req),
                    None => bad_request("Upgrade request required"),
                },
                _ => status(
                    405,
                    "MethodNotAllowed",
                    "the server does not allow this method on the requested resource",
                    json!({}),
                ),
            }
        }
        [
            "apis",
            "authorization.k8s.io",
            "v1",
            "selfsubjectaccessreviews",
        ] if m == "POST" => access_review(&state, logged.body),
        _ => status(
            404,
            "NotFound",
            "the server could not find the requested resource",
            json!({}),
        ),
    }
}

/// `kubectl auth can-i` as the API server answers it: the review echoed
/// back with its status filled in, by the same rules the requests meet.
fn access_review(state: &Arc<State>, body: Option<Value>) -> Response<Body> {
    let Some(mut review) = body else {
        return bad_request("a SelfSubjectAccessReview body is required");
    };
    let attrs = &review["spec"]["resourceAttributes"];
    let ns = attrs["namespace"].as_str().unwrap_or("").to_string();
    let exec = attrs["subresource"].as_str() == Some("exec");
    let denied = state.scenarios.forbidden.contains(&ns)
        || (exec && state.scenarios.exec_forbidden.contains(&ns));
    let allowed = !denied;
    review["status"] = if allowed {
        json!({ "allowed": true, "reason": "RBAC: allowed by RoleBinding \"sbx-agent/sbx\" of Role \"sbx-agent\" to ServiceAccount \"sbx-agent/sbx\"" })
    } else {
        json!({ "allowed": false })
    };
    full(StatusCode::CREATED, &review)
}

fn forbidden(ns: &str, verb: &str, rest: &[&str]) -> Response<Body> {
    let (subject, resource) = match rest {
        [] => ("pods".to_string(), "pods"),
        [name] => (format!("pods \"{name}\""), "pods"),
        [name, ..] => (format!("pods \"{name}\""), "pods/exec"),
    };
    status(
        403,
        "Forbidden",
        &format!(
            "{subject} is forbidden: User \"{USER}\" cannot {verb} resource \"{resource}\" in API group \"\" in the namespace \"{ns}\""
        ),
        json!({ "kind": "pods" }),
    )
}

async fn create(state: &Arc<State>, ns: &str, body: Option<Value>) -> Response<Body> {
    if state.scenarios.missing.contains(ns) {
        return status(
            404,
            "NotFound",
            &format!("namespaces \"{ns}\" not found"),
            json!({ "name": ns, "kind": "namespaces" }),
        );
    }
    let Some(mut pod) = body.filter(Value::is_object) else {
        return bad_request("the body of the request was in an unknown format");
    };
    let name = match (
        pod["metadata"]["name"].as_str(),
        pod["metadata"]["generateName"].as_str(),
    ) {
        (Some(n), _) => n.to_string(),
        (None, Some(prefix)) => format!("{prefix}{}", state.suffix()),
        (None, None) => {
            return status(
                422,
                "Invalid",
                "Pod \"\" is invalid: metadata.name: Required value: name or generateName is required",
                json!({ "kind": "Pod" }),
            );
        }
    };
    if state.get(ns, &name).is_some() {
        return status(
            409,
            "AlreadyExists",
            &format!("pods \"{name}\" already exists"),
            json!({ "name": name, "kind": "pods" }),
        );
    }
    pod["kind"] = json!("Pod");
    pod["apiVersion"] = json!("v1");
    let meta = &mut pod["metadata"];
    meta["name"] = json!(name);
    meta["namespace"] = json!(ns);
    meta["uid"] = json!(state.uid());
    meta["creationTimestamp"] = json!(now());
    pod["status"] = json!({ "phase": "Pending", "qosClass": "Burstable" });
    let created = {
        let mut inner = state.lock();
        inner.created.push(name.clone());
        state.publish(&mut inner, ns, &name, "ADDED", pod);
        inner.pods[&(ns.to_string(), name.clone())].clone()
    };
    tokio::spawn(kubelet(state.clone(), ns.to_string(), name));
    full(StatusCode::CREATED, &created)
}

fn container_status(pod: &Value, state: Value, ready: bool) -> Value {
    let c = &pod["spec"]["containers"][0];
    json!([{
        "name": c["name"],
        "image": c["image"],
        "imageID": "",
        "ready": ready,
        "started": ready,
        "restartCount": 0,
        "lastState": {},
        "state": state,
    }])
}

fn condition(kind: &str, ok: bool) -> Value {
    json!({
        "type": kind,
        "status": if ok { "True" } else { "False" },
        "lastProbeTime": null,
        "lastTransitionTime": now(),
    })
}

/// Schedule the pod and start its container, moving it through the
/// phases a kubelet reports.
async fn kubelet(state: Arc<State>, ns: String, name: String) {
    tokio::time::sleep(Duration::from_millis(50)).await;
    let Some(pod) = state.get(&ns, &name) else {
        return;
    };
    let selector = &pod["spec"]["nodeSelector"][UNSCHEDULABLE_SELECTOR.0];
    if state.scenarios.no_node_fits || selector == UNSCHEDULABLE_SELECTOR.1 {
        state.modify(&ns, &name, |p| {
            let mut c = condition("PodScheduled", false);
            c["reason"] = json!("Unschedulable");
            c["message"] = json!(UNSCHEDULABLE_MESSAGE);
            p["status"]["conditions"] = json!([c]);
        });
        return;
    }
    let image = pod["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    state.modify(&ns, &name, |p| {
        let waiting = json!({ "waiting": { "reason": "ContainerCreating" } });
        p["spec"]["nodeName"] = json!("mock-node");
        p["status"] = json!({
            "phase": "Pending",
            "qosClass": "Burstable",
            "hostIP": "10.0.0.10",
            "startTime": now(),
            "conditions": [
                condition("PodScheduled", true),
                condition("Initialized", true),
                condition("Ready", false),
                condition("ContainersReady", false),
            ],
            "containerStatuses": container_status(p, waiting, false),
        });
    });
    if image.contains(UNPULLABLE) {
        let steps = [
            (
                "ErrImagePull",
                format!(
                    "failed to pull and unpack image \"{image}\": failed to resolve reference \"{image}\": pull access denied, repository does not exist or may require authorization"
                ),
            ),
            (
                "ImagePullBackOff",
                format!("Back-off pulling image \"{image}\""),
            ),
        ];
        for (reason, message) in steps {
            tokio::time::sleep(Duration::from_millis(150)).await;
            state.modify(&ns, &name, |p| {
                p["status"]["containerStatuses"][0]["state"] =
                    json!({ "waiting": { "reason": reason, "message": message } });
            });
        }
        return;
    }
    match docker_run(&state.id, &pod).await {
        Ok(id) => {
            let running = state.modify(&ns, &name, |p| {
                let running = json!({ "running": { "startedAt": now() } });
                let statuses = container_status(p, running, true);
                let st = &mut p["status"];
                st["phase"] = json!("Running");
                st["podIP"] = json!("10.244.0.17");
                st["conditions"] = json!([
                    condition("PodScheduled", true),
                    condition("Initialized", true),
                    condition("Ready", true),
                    condition("ContainersReady", true),
                ]);
                st["containerStatuses"] = statuses;
                p["status"]["containerStatuses"][0]["containerID"] =
                    json!(format!("docker://{id}"));
            });
            if !running {
                // Deleted while its container was being made.
                docker_rm(&name).await;
            }
        }
        Err(message) => {
            state.modify(&ns, &name, |p| {
                p["status"]["containerStatuses"][0]["state"] = json!({
                    "waiting": { "reason": "CreateContainerError", "message": message }
                });
            });
        }
    }
}

/// `256Mi`, `1G`, `1073741824` in bytes.
fn quantity(q: &str) -> Option<u64> {
    let digits = q.trim_end_matches(|c: char| c.is_ascii_alphabetic());
    let n: u64 = digits.parse().ok()?;
    let mult: u64 = match &q[digits.len()..] {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        _ => return None,
    };
    Some(n * mult)
}

/// The pod's one container as a Docker container, its security context,
/// volumes and command translated the way a kubelet would have them.
async fn docker_run(id: &str, pod: &Value) -> Result<String, String> {
    let spec = &pod["spec"];
    let c = &spec["containers"][0];
    let psc = &spec["securityContext"];
    let csc = &c["securityContext"];
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    let mut args: Vec<String> = vec![
        "run".into(),
        "-d".into(),
        "--name".into(),
        name.into(),
        "--hostname".into(),
        name.into(),
        "--label".into(),
        format!("{LABEL}={id}"),
        "--network".into(),
        "none".into(),
    ];
    let uid = csc["runAsUser"].as_u64().or(psc["runAsUser"].as_u64());
    let gid = csc["runAsGroup"].as_u64().or(psc["runAsGroup"].as_u64());
    match (uid, gid) {
        (Some(u), Some(g)) => args.extend(["--user".into(), format!("{u}:{g}")]),
        (Some(u), None) => args.extend(["--user".into(), u.to_string()]),
        _ => {}
    }
    if csc["readOnlyRootFilesystem"] == true {
        args.push("--read-only".into());
    }
    for cap in csc["capabilities"]["drop"].as_array().into_iter().flatten() {
        args.extend(["--cap-drop".into(), cap.as_str().unwrap_or("ALL").into()]);
    }
    if csc["allowPrivilegeEscalation"] == false {
        args.extend(["--security-opt".into(), "no-new-privileges".into()]);
    }
    // emptyDir volumes: root-owned, group fsGroup, setgid and world
    // writable, as the kubelet leaves them.
    let fs_group = psc["fsGroup"].as_u64();
    let volumes: BTreeMap<&str, &Value> = spec["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| Some((v["name"].as_str()?, v)))
        .collect();
    for m in c["volumeMounts"].as_array().into_iter().flatten() {
        let (Some(vol), Some(path)) = (m["name"].as_str(), m["mountPath"].as_str()) else {
            continue;
        };
        let Some(empty) = volumes
            .get(vol)
            .map(|v| &v["emptyDir"])
            .filter(|e| e.is_object())
        else {
            return Err(format!("volume {vol:?}: only emptyDir volumes are mocked"));
        };
        let size = empty["sizeLimit"]
            .as_str()
            .and_then(quantity)
            .unwrap_or(64 << 20);
        let owner = match fs_group {
            Some(g) => format!("mode=3777,gid={g}"),
            None => "mode=1777".into(),
        };
        args.extend(["--tmpfs".into(), format!("{path}:size={size},{owner},exec")]);
    }
    for e in c["env"].as_array().into_iter().flatten() {
        if let (Some(k), Some(v)) = (e["name"].as_str(), e["value"].as_str()) {
            args.extend(["-e".into(), format!("{k}={v}")]);
        }
    }
    if let Some(m) = c["resources"]["limits"]["memory"]
        .as_str()
        .and_then(quantity)
    {
        args.extend(["--memory".into(), m.to_string()]);
    }
    if let Some(w) = c["workingDir"].as_str() {
        args.extend(["-w".into(), w.into()]);
    }
    let command: Vec<String> = c["command"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    if let Some(entry) = command.first() {
        args.extend(["--entrypoint".into(), entry.clone()]);
    }
    args.push(c["image"].as_str().unwrap_or_default().into());
    args.extend(command.iter().skip(1).cloned());
    for a in c["args"].as_array().into_iter().flatten() {
        args.extend(a.as_str().map(String::from));
    }
    let out = tokio::process::Command::new(runtime())
        .args(&args)
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|e| format!("docker run: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_string())
    }
}

async fn docker_rm(name: &str) {
    let _ = tokio::process::Command::new(runtime())
        .args(["rm", "-f", name])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .await;
}

async fn delete(state: &Arc<State>, ns: &str, name: &str) -> Response<Body> {
    let pod = {
        let mut inner = state.lock();
        match inner.pods.get(&(ns.to_string(), name.to_string())).cloned() {
            None => None,
            Some(mut p) => {
                p["metadata"]["deletionTimestamp"] = json!(now());
                p["metadata"]["deletionGracePeriodSeconds"] = json!(0);
                state.publish(&mut inner, ns, name, "DELETED", p.clone());
                Some(p)
            }
        }
    };
    match pod {
        None => not_found(name),
        Some(p) => {
            docker_rm(name).await;
            full(StatusCode::OK, &p)
        }
    }
}

/// `a=b,c==d,e!=f,g` against a pod's labels.
fn selects(selector: Option<&str>, labels: &Value) -> bool {
    selector
        .unwrap_or("")
        .split(',')
        .filter(|t| !t.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                labels[k.trim()].as_str() != Some(v.trim())
            } else if let Some((k, v)) = term.split_once('=') {
                let v = v.trim_start_matches('=');
                labels[k.trim()].as_str() == Some(v.trim())
            } else {
                labels.get(term.trim()).is_some()
            }
        })
}

/// `metadata.name=X` (the only field selector sbx uses).
fn named(selector: Option<&str>) -> Option<String> {
    let s = selector?;
    let (k, v) = s.split_once('=')?;
    (k == "metadata.name").then(|| v.trim_start_matches('=').to_string())
}

fn matches(q: &Logged, name: &str, pod: &Value) -> bool {
    named(q.param("fieldSelector")).is_none_or(|n| n == name)
        && selects(q.param("labelSelector"), &pod["metadata"]["labels"])
}

fn list(state: &Arc<State>, ns: &str, q: &Logged) -> Response<Body> {
    let inner = state.lock();
    let mut items: Vec<Value> = inner
        .pods
        .iter()
        .filter(|((n, name), p)| n == ns && matches(q, name, p))
        .map(|(_, p)| {
            let mut p = p.clone();
            // List items carry no kind of their own.
            if let Some(o) = p.as_object_mut() {
                o.remove("kind");
                o.remove("apiVersion");
            }
            p
        })
        .collect();
    let mut meta = json!({ "resourceVersion": inner.rv.to_string() });
    if let Some(limit) = q.param("limit").and_then(|l| l.parse::<usize>().ok())
        && limit > 0
        && items.len() > limit
    {
        meta["remainingItemCount"] = json!(items.len() - limit);
        items.truncate(limit);
        meta["continue"] = json!("mock-continue-token");
    }
    full(
        StatusCode::OK,
        &json!({ "kind": "PodList", "apiVersion": "v1", "metadata": meta, "items": items }),
    )
}

/// Whether a watch of one pod has nothing more to say.
fn settled(kind: &str, pod: &Value) -> bool {
    let phase = pod["status"]["phase"].as_str();
    kind == "DELETED"
        || phase == Some("Failed")
        || phase == Some("Succeeded")
        || (phase == Some("Running")
            && pod["status"]["containerStatuses"][0]["state"]["running"].is_object())
}

fn watch_pods(state: &Arc<State>, ns: &str, q: &Logged) -> Response<Body> {
    let since: u64 = q
        .param("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = q
        .param("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1800u64);
    let one_pod = named(q.param("fieldSelector"));
    let expire = match &one_pod {
        Some(pod) if state.scenarios.expire_first_watch => {
            state.lock().expired.insert(pod.to_string())
        }
        _ => false,
    };
    let one_pod = one_pod.is_some();
    let (tx, rx) = mpsc::channel::<Bytes>(16);
    let state = state.clone();
    let ns = ns.to_string();
    let q = q.clone();
    tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
        let mut changed = state.changed.subscribe();
        let mut last = since;
        let line = |kind: &str, object: &Value| {
            let mut l = json!({ "type": kind, "object": object }).to_string();
            l.push('\n');
            Bytes::from(l)
        };
        if expire {
            let status = json!({
                "kind": "Status",
                "apiVersion": "v1",
                "metadata": {},
                "status": "Failure",
                "message": format!("too old resource version: {since} ({})", since + 1),
                "reason": "Expired",
                "code": 410
            });
            let _ = tx.send(line("ERROR", &status)).await;
            return;
        }
        if since == 0 {
            // No version: the current state first, as ADDED.
            let current: Vec<Value> = {
                let inner = state.lock();
                last = inner.rv;
                inner
                    .pods
                    .iter()
                    .filter(|((n, name), p)| *n == ns && matches(&q, name, p))
                    .map(|(_, p)| p.clone())
                    .collect()
            };
            for p in current {
                if tx.send(line("ADDED", &p)).await.is_err() {
                    return;
                }
            }
        }
        loop {
            changed.borrow_and_update();
            let events: Vec<(u64, &'static str, Value)> = {
                let inner = state.lock();
                inner
                    .events
                    .iter()
                    .filter(|e| e.rv > last && e.ns == ns && matches(&q, &e.name, &e.object))
                    .map(|e| (e.rv, e.kind, e.object.clone()))
                    .collect()
            };
            for (rv, kind, object) in events {
                last = rv;
                if tx.send(line(kind, &object)).await.is_err() {
                    return;
                }
                if one_pod && settled(kind, &object) {
                    return;
                }
            }
            tokio::select! {
                r = changed.changed() => if r.is_err() { return },
                _ = tokio::time::sleep_until(deadline) => return,
                _ = tx.closed() => return,
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<_, Infallible>(Frame::data(b)), rx))
    });
    Response::builder()
        .status(StatusCode::OK)
        .header(header::CONTENT_TYPE, "application/json")
        .body(BodyExt::boxed(StreamBody::new(stream)))
        .unwrap()
}

/// pods/exec: the WebSocket upgrade, then a `docker exec` bridged onto
/// the channel protocol.
fn exec(
    state: &Arc<State>,
    ns: &str,
    name: &str,
    q: &Logged,
    mut req: Request<Incoming>,
) -> Response<Body> {
    let Some(pod) = state.get(ns, name) else {
        return not_found(name);
    };
    if pod["status"]["phase"] != "Running" {
        return bad_request(&format!(
            "unable to upgrade connection: container not found (\"{}\")",
            q.param("container").unwrap_or_default()
        ));
    }
    let container = pod["spec"]["containers"][0]["name"]
        .as_str()
        .unwrap_or_default();
    if let Some(c) = q.param("container")
        && c != container
    {
        return bad_request(&format!("container {c} is not valid for pod {name}"));
    }
    let command: Vec<String> = q.params("command").into_iter().map(String::from).collect();
    if command.is_empty() {
        return bad_request("you must specify at least 1 command");
    }
    let headers = req.headers();
    let upgrade = headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    let Some(key) = headers.get(header::SEC_WEBSOCKET_KEY).cloned() else {
        return bad_request("Upgrade request required");
    };
    if !upgrade {
        return bad_request("Upgrade request required");
    }
    let offered: Vec<String> = headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|p| p.trim().to_string())
        .collect();
    let Some(protocol) = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
        .into_iter()
        .find(|p| offered.iter().any(|o| o == p))
    else {
        return bad_request(&format!(
            "unable to upgrade: no supported stream protocol in {offered:?}"
        ));
    };
    let flag = |k: &str| matches!(q.param(k), Some("true" | "1"));
    let io = Streams {
        stdin: flag("stdin"),
        stdout: flag("stdout"),
        stderr: flag("stderr"),
    };
    let on_upgrade = hyper::upgrade::on(&mut req);
    let docker_name = name.to_string();
    let cut = state.cut.subscribe();
    tokio::spawn(async move {
        let Ok(upgraded) = on_upgrade.await else {
            return;
        };
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, None).await;
        bridge(ws, &docker_name, command, io, cut).await;
    });
    Response::builder()
        .status(StatusCode::SWITCHING_PROTOCOLS)
        .header(header::UPGRADE, "websocket")
        .header(header::CONNECTION, "Upgrade")
        .header(
            header::SEC_WEBSOCKET_ACCEPT,
            derive_accept_key(key.as_bytes()),
        )
        .header(header::SEC_WEBSOCKET_PROTOCOL, protocol)
        .body(http_body_util::Empty::new().boxed())
        .unwrap()
}

#[derive(Clone, Copy)]
struct Streams {
    stdin: bool,
    stdout: bool,
    stderr: bool,
}

const STDIN: u8 = 0;
const STDOUT: u8 = 1;
const STDERR: u8 = 2;
const STATUS: u8 = 3;
const CLOSE: u8 = 255;

fn pump(mut from: impl AsyncRead + Unpin + Send + 'static, channel: u8, to: mpsc::Sender<Vec<u8>>) {
    tokio::spawn(async move {
        let mut buf = vec![0u8; 32 * 1024];
        while let Ok(n) = from.read(&mut buf).await {
            if n == 0 {
                break;
            }
            let mut m = Vec::with_capacity(n + 1);
            m.push(channel);
            m.extend_from_slice(&buf[..n]);
            if to.send(m).await.is_err() {
                break;
            }
        }
    });
}

async fn bridge<S>(
    ws: WebSocketStream<S>,
    container: &str,
    command: Vec<String>,
    io: Streams,
    mut cut: tokio::sync::broadcast::Receiver<String>,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let (mut sink, mut stream) = ws.split();
    // Runs as the container's user, with its environment, as in a pod.
    let mut cmd = tokio::process::Command::new(runtime());
    cmd.arg("exec");
    if io.stdin {
        cmd.arg("-i");
    }
    cmd.arg(container)
        .args(&command)
        .stdin(if io.stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => {
            let s = json!({ "metadata": {}, "status": "Failure", "message": format!("docker exec: {e}"), "reason": "InternalError" });
            let mut m = vec![STATUS];
            m.extend_from_slice(s.to_string().as_bytes());
            let _ = sink.send(Message::binary(m)).await;
            let _ = sink.close().await;
            return;
        }
    };
    // The API server opens each channel with a message of its number alone.
    for (on, ch) in [(io.stdout, STDOUT), (io.stderr, STDERR), (true, STATUS)] {
        if on && sink.send(Message::binary(vec![ch])).await.is_err() {
            let _ = child.start_kill();
            return;
        }
    }
    let (out_tx, mut out_rx) = mpsc::channel::<Vec<u8>>(32);
    if let Some(o) = child.stdout.take() {
        pump(o, STDOUT, out_tx.clone());
    }
    if let Some(e) = child.stderr.take() {
        pump(e, STDERR, out_tx.clone());
    }
    drop(out_tx);
    // Stdin is written by its own task so a child that writes while we
    // feed it cannot deadlock the bridge.
    let mut in_tx = child.stdin.take().map(|mut stdin| {
        let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
        tokio::spawn(async move {
            while let Some(data) = rx.recv().await {
                if stdin.write_all(&data).await.is_err() {
                    break;
                }
            }
            // Dropping stdin closes it: the child sees EOF.
        });
        tx
    });
    let client_gone = loop {
        tokio::select! {
            Ok(pod) = cut.recv() => if pod == container {
                // Dropped mid-stream: neither close frame nor status.
                let _ = child.start_kill();
                let _ = child.wait().await;
                return;
            },
            out = out_rx.recv() => match out {
                Some(m) => {
                    if sink.send(Message::binary(m)).await.is_err() {
                        break true;
                    }
                }
                None => break false,
            },
            msg = stream.next() => match msg {
                Some(Ok(Message::Binary(b))) => match b.first() {
                    Some(&STDIN) => {
                        if let Some(tx) = &in_tx {
                            let _ = tx.send(b[1..].to_vec());
                        }
                    }
                    Some(&CLOSE) if b.get(1) == Some(&STDIN) => in_tx = None,
                    _ => {}
                },
                Some(Ok(Message::Close(_))) | Some(Err(_)) | None => break true,
                Some(Ok(_)) => {}
            },
        }
    };
    if client_gone {
        // As when a kubelet's exec stream is cut: the process goes too.
        drop(in_tx);
        let _ = child.start_kill();
        let _ = child.wait().await;
        return;
    }
    let code = child
        .wait()
        .await
        .ok()
        .and_then(|s| s.code())
        .unwrap_or(137);
    let status = if code == 0 {
        json!({ "metadata": {}, "status": "Success" })
    } else {
        json!({
            "metadata": {},
            "status": "Failure",
            "message": format!(
                "command terminated with non-zero exit code: error executing command [{}], exit code {code}",
                command.join(" ")
            ),
            "reason": "NonZeroExitCode",
            "details": { "causes": [{ "reason": "ExitCode", "message": code.to_string() }] },
        })
    };
    let mut m = vec![STATUS];
    m.extend_from_slice(status.to_string().as_bytes());
    let _ = sink.send(Message::binary(m)).await;
    let _ = sink.close().await;
}

/// A time as the API server writes them (RFC 3339, UTC). Nothing reads
/// the mock's times, only their shape: one fixed instant serves.
fn now() -> String {
    "2026-11-28T12:00:00Z".into()
}
