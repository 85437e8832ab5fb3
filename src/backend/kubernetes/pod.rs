//! The sandbox pod: its manifest, and what its status says about its start.
//!
//! Pure functions of their inputs, so the hardening and the reading of the
//! cluster's status words are tested without a cluster.

use crate::backend::SandboxSpec;
use crate::guest::wire::{
    GUEST_BIN, GUEST_FSIZE_ENV, GUEST_KEEPER_ENV, GUEST_MARKER_ENV, GUEST_RLIMITS_ENV,
    SCRATCH_MOUNTS,
};
use crate::model::kube::KubeSettings;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

/// The agent's machine: agents on two machines may share a uid and a
/// runtime directory path (the rest of their labels), and must never take
/// each other's pods for a crashed predecessor's.
pub const HOST_LABEL: &str = "io.sbx.host";

/// The shell of PID 1 until the guest binary is there.
pub fn keeper_command() -> String {
    format!("until [ -x {GUEST_BIN} ]; do sleep 0.1; done; exec {GUEST_BIN} keeper")
}

/// On pods of `network = "bridge"` profiles (see the NetworkPolicy).
pub const NETWORK_LABEL: &str = "io.sbx.network";

/// The one container of a sandbox pod.
pub const CONTAINER: &str = "sandbox";
/// Where the guest binary goes: a memory-backed emptyDir (the root filesystem
/// is read-only).
pub use crate::guest::wire::GUEST_DIR;
/// How long past its pool's `max_lifetime` a pod may live before the
/// kubelet ends it, should no agent be left to delete it.
const DEADLINE_MARGIN_SECS: u64 = 600;
/// What a pod reserves on its node unless the template says otherwise
/// (at most its limit): warm pods mostly idle, and reserving their full
/// limits would make small clusters refuse them as Unschedulable.
const DEFAULT_REQUESTS: &[(&str, &str)] = &[("cpu", "100m"), ("memory", "128Mi")];

/// A label value as Kubernetes accepts it: at most 63 characters of
/// `[A-Za-z0-9_.-]`, starting and ending with an alphanumeric. Applied both
/// when labelling and when selecting, so the two always agree.
pub fn label_value(v: &str) -> String {
    let mapped: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let trimmed = mapped.trim_matches(|c: char| !c.is_ascii_alphanumeric());
    let mut out: String = trimmed.chars().take(63).collect();
    while out.ends_with(|c: char| !c.is_ascii_alphanumeric()) {
        out.pop();
    }
    out
}

/// `generateName` of a pool's pods: readable in `kubectl get pods`, a DNS
/// label with room for the five characters the API server appends.
pub fn name_prefix(pool: &str) -> String {
    let mut base: String = pool
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    base.truncate(40);
    let base = base.trim_matches('-');
    if base.is_empty() {
        "sbx-".into()
    } else {
        format!("sbx-{base}-")
    }
}

fn volume_name(path: &str) -> String {
    let n = path.trim_matches('/').replace('/', "-");
    format!("scratch-{n}")
}

/// The pod of one sandbox. The cluster operator's template adds placement
/// and resources; what makes it a sandbox is not negotiable: non-root,
/// read-only root filesystem, every capability dropped, no privilege
/// escalation, the runtime's default seccomp profile, no service account
/// token, size-limited scratch volumes.
pub fn manifest(
    spec: &SandboxSpec,
    settings: &KubeSettings,
    host: &str,
    guest_size: u64,
) -> Result<Pod, String> {
    let iso = &spec.isolation;
    if iso.uid == 0 || iso.gid == 0 {
        return Err("pods run as non-root: set [isolation] user to a non-zero uid:gid".to_string());
    }
    let tpl = &settings.pod;
    let mut labels = serde_json::Map::new();
    for (k, v) in &tpl.labels {
        labels.insert(k.clone(), json!(v));
    }
    for (k, v) in &spec.labels {
        labels.insert(k.clone(), json!(label_value(v)));
    }
    labels.insert(HOST_LABEL.into(), json!(label_value(host)));
    // The NetworkPolicy of deploy/kubernetes denies sandbox pods every
    // packet except where this label says the profile asked for a network.
    if spec.network == "bridge" {
        labels.insert(NETWORK_LABEL.into(), json!("bridge"));
    }
    let size = iso.tmpfs_size.to_string();
    // Memory-backed, as every scratch volume: tmpfs enforces the size on
    // each write, where a disk-backed emptyDir is only checked now and
    // then by the kubelet (the program can write here, see the guest).
    let guest_size = guest_size.to_string();
    let mut volumes = vec![json!({
        "name": "guest",
        "emptyDir": { "medium": "Memory", "sizeLimit": guest_size }
    })];
    let mut mounts = vec![json!({ "name": "guest", "mountPath": GUEST_DIR })];
    for (path, _, _) in SCRATCH_MOUNTS {
        let name = volume_name(path);
        volumes
            .push(json!({ "name": name, "emptyDir": { "medium": "Memory", "sizeLimit": size } }));
        mounts.push(json!({ "name": name, "mountPath": path }));
    }

    // The profile's and [isolation]'s limits, unless the template sets
    // its own; memory-backed scratch volumes count against the memory
    // limit, as tmpfs does in a container.
    let mut limits = serde_json::Map::new();
    let memory = spec.limits.memory.or(iso.memory);
    if let Some(m) = memory {
        limits.insert("memory".into(), json!(m.to_string()));
    }
    let nano = spec.limits.nano_cpus.map(|n| n as i64).or(iso.nano_cpus);
    if let Some(n) = nano {
        limits.insert("cpu".into(), json!(format!("{}m", (n / 1_000_000).max(1))));
    }
    for (k, v) in &tpl.resources.limits {
        limits.insert(k.clone(), json!(v));
    }
    let mut requests: serde_json::Map<String, Value> = tpl
        .resources
        .requests
        .iter()
        .map(|(k, v)| (k.clone(), json!(v)))
        .collect();
    let amount = |v: &Value| -> Option<f64> {
        v.as_str()
            .and_then(|q| crate::model::kube::quantity(q).ok())
    };
    for (name, default) in DEFAULT_REQUESTS {
        if requests.contains_key(*name) {
            continue;
        }
        let request = match limits.get(*name) {
            Some(limit) if amount(limit) < amount(&json!(default)) => limit.clone(),
            _ => json!(default),
        };
        requests.insert(name.to_string(), request);
    }
    for (name, request) in &requests {
        if let (Some(r), Some(l)) = (amount(request), limits.get(name).and_then(amount))
            && r > l
        {
            return Err(format!(
                "the {name} request ({}) of [kubernetes.pod.resources] is above the pod's {name} limit ({}, from the profile or [isolation] unless the template sets one); lower the request or raise the limit",
                request.as_str().unwrap_or_default(),
                limits[name].as_str().unwrap_or_default()
            ));
        }
    }

    let mut pod_spec = json!({
        "restartPolicy": "Never",
        "automountServiceAccountToken": false,
        "enableServiceLinks": false,
        "terminationGracePeriodSeconds": 0,
        "securityContext": {
            "runAsNonRoot": true,
            "runAsUser": iso.uid,
            "runAsGroup": iso.gid,
            "fsGroup": iso.gid,
            "seccompProfile": { "type": "RuntimeDefault" },
        },
        "containers": [{
            "name": CONTAINER,
            "image": spec.image,
            // Images are named by specific tags (the README says why); a
            // node that has one does not ask a registry again.
            "imagePullPolicy": "IfNotPresent",
            // PID 1 waits for the guest binary, then becomes `sbx keeper`
            // (see the guest) before any program runs; the guest comes in
            // through an exec.
            "command": ["sh", "-c", keeper_command()],
            "workingDir": "/",
            "env": [
                { "name": GUEST_MARKER_ENV, "value": "1" },
                { "name": GUEST_KEEPER_ENV, "value": "1" },
                { "name": GUEST_FSIZE_ENV, "value": iso.tmpfs_size.to_string() },
                // The pod's limits are its cgroup's; an image's ENV must
                // not make the guest report rlimits instead.
                { "name": GUEST_RLIMITS_ENV, "value": "" },
            ],
            "securityContext": {
                "readOnlyRootFilesystem": iso.read_only_root,
                "allowPrivilegeEscalation": false,
                "privileged": false,
                "capabilities": { "drop": ["ALL"] },
            },
            "resources": { "limits": limits, "requests": requests },
            "volumeMounts": mounts,
        }],
        "volumes": volumes,
    });
    let obj = pod_spec.as_object_mut().expect("a JSON object");
    if let Some(life) = spec.max_lifetime {
        obj.insert(
            "activeDeadlineSeconds".into(),
            json!(life.as_secs() + DEADLINE_MARGIN_SECS),
        );
    }
    if !tpl.node_selector.is_empty() {
        obj.insert("nodeSelector".into(), json!(tpl.node_selector));
    }
    if !tpl.tolerations.is_empty() {
        let t: Vec<Value> = tpl
            .tolerations
            .iter()
            .map(|t| {
                let mut m = serde_json::Map::new();
                for (k, v) in [
                    ("key", &t.key),
                    ("operator", &t.operator),
                    ("value", &t.value),
                    ("effect", &t.effect),
                ] {
                    if let Some(v) = v {
                        m.insert(k.into(), json!(v));
                    }
                }
                if let Some(s) = t.toleration_seconds {
                    m.insert("tolerationSeconds".into(), json!(s));
                }
                Value::Object(m)
            })
            .collect();
        obj.insert("tolerations".into(), json!(t));
    }
    if let Some(rc) = &tpl.runtime_class_name {
        obj.insert("runtimeClassName".into(), json!(rc));
    }
    if let Some(sa) = &tpl.service_account {
        obj.insert("serviceAccountName".into(), json!(sa));
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "generateName": name_prefix(&spec.pool),
            "labels": labels,
            "annotations": tpl.annotations,
        },
        "spec": pod_spec,
    });
    serde_json::from_value(pod).map_err(|e| format!("cannot build the pod manifest: {e}"))
}

/// Where a starting pod is, as far as its pool is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    /// Still coming up: the phase to show (`Pending`, `ContainerCreating`,
    /// `Pending (Unschedulable: 0/3 nodes are available: …)`).
    Waiting(String),
    Running,
    /// It never will: the cluster's reason.
    Failed(String),
}

/// Container waiting reasons that do not resolve by waiting: the image
/// cannot be had or the container cannot be made as specified.
/// (A first `ErrImagePull` or `CreateContainerError` may be transient, a
/// registry's rate limit say: the kubelet retries, and the pod fails at
/// the back-off that follows or at the start timeout, with the message.)
const HOPELESS: &[&str] = &[
    "ImagePullBackOff",
    "InvalidImageName",
    "ErrImageNeverPull",
    "CreateContainerConfigError",
    "RunContainerError",
    "CrashLoopBackOff",
];

pub fn start_state(pod: &Pod) -> Start {
    let Some(status) = &pod.status else {
        return Start::Waiting("Pending".into());
    };
    let phase = status.phase.as_deref().unwrap_or("Pending");
    let container = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == CONTAINER);
    let state = container.and_then(|c| c.state.as_ref());
    if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
        let reason = w.reason.clone().unwrap_or_default();
        let message = w.message.clone().unwrap_or_default();
        if HOPELESS.contains(&reason.as_str()) {
            return Start::Failed(join(&reason, &message));
        }
        if !reason.is_empty() {
            return Start::Waiting(join(&reason, &message));
        }
    }
    // The pod's own word on its end (DeadlineExceeded, Evicted) says more
    // than its container's exit code.
    if matches!(phase, "Failed" | "Succeeded")
        && let Some(reason) = status.reason.as_deref()
    {
        return Start::Failed(join(reason, status.message.as_deref().unwrap_or("")));
    }
    if let Some(t) = state.and_then(|s| s.terminated.as_ref()) {
        let reason = t.reason.clone().unwrap_or_else(|| "Terminated".into());
        let message = t.message.clone().unwrap_or_default();
        return Start::Failed(join(
            &format!("{reason} (exit code {})", t.exit_code),
            &message,
        ));
    }
    match phase {
        "Running" if state.is_some_and(|s| s.running.is_some()) => Start::Running,
        "Running" => Start::Waiting("ContainerCreating".into()),
        "Failed" | "Succeeded" => Start::Failed(join(
            status.reason.as_deref().unwrap_or(phase),
            status.message.as_deref().unwrap_or(""),
        )),
        _ => {
            let unschedulable = status.conditions.iter().flatten().find(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            });
            match unschedulable {
                Some(c) => Start::Waiting(format!(
                    "Pending ({})",
                    join("Unschedulable", c.message.as_deref().unwrap_or(""))
                )),
                None => Start::Waiting("Pending".into()),
            }
        }
    }
}

fn join(reason: &str, message: &str) -> String {
    let message = message.trim();
    if message.is_empty() {
        reason.to_string()
    } else {
        format!("{reason}: {message}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::kube::{PodTemplate, Toleration};

    fn spec() -> SandboxSpec {
        SandboxSpec {
            image: "python:3.12-slim".into(),
            pool: "data_science/python".into(),
            labels: vec![
                ("io.sbx.managed".into(), "true".into()),
                ("io.sbx.pool".into(), "data_science/python".into()),
            ],
            limits: Default::default(),
            network: "none".into(),
            isolation: Default::default(),
            kubernetes: None,
            warm_interpreter: None,
            group: "g".into(),
            max_lifetime: None,
        }
    }

    fn pod_json(spec: &SandboxSpec, settings: &KubeSettings) -> Value {
        serde_json::to_value(manifest(spec, settings, "host-1", 40 << 20).unwrap()).unwrap()
    }

    #[test]
    fn a_sandbox_pod_is_locked_down_whatever_the_template_says() {
        let settings = KubeSettings {
            pod: PodTemplate {
                runtime_class_name: Some("gvisor".into()),
                service_account: Some("sandboxes".into()),
                ..Default::default()
            },
            ..Default::default()
        };
        let p = pod_json(&spec(), &settings);
        let s = &p["spec"];
        assert_eq!(s["securityContext"]["runAsNonRoot"], true);
        assert_eq!(s["securityContext"]["runAsUser"], 1000);
        assert_eq!(
            s["securityContext"]["seccompProfile"]["type"],
            "RuntimeDefault"
        );
        assert_eq!(s["automountServiceAccountToken"], false);
        assert_eq!(s["restartPolicy"], "Never");
        assert_eq!(s["runtimeClassName"], "gvisor");
        assert_eq!(s["serviceAccountName"], "sandboxes");
        let c = &s["containers"][0];
        assert_eq!(c["securityContext"]["readOnlyRootFilesystem"], true);
        assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
        assert_eq!(c["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
        // Every scratch mount of a container is a size-limited memory
        // volume in the pod, and the guest has its own directory.
        let mounts: Vec<&str> = c["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["mountPath"].as_str().unwrap())
            .collect();
        for (path, _, _) in SCRATCH_MOUNTS {
            assert!(mounts.contains(path), "{path} missing from {mounts:?}");
        }
        assert!(mounts.contains(&GUEST_DIR));
        for v in s["volumes"].as_array().unwrap() {
            assert!(
                v["emptyDir"]["sizeLimit"].is_string(),
                "unbounded volume {v}"
            );
        }
        assert_eq!(c["resources"]["limits"]["memory"], (1u64 << 30).to_string());
        assert_eq!(c["resources"]["limits"]["cpu"], "2000m");
    }

    #[test]
    fn labels_are_made_valid_and_the_template_cannot_override_sbx_labels() {
        let mut settings = KubeSettings::default();
        settings
            .pod
            .labels
            .insert("io.sbx.pool".into(), "spoofed".into());
        settings.pod.labels.insert("team".into(), "ml".into());
        let p = pod_json(&spec(), &settings);
        let labels = &p["metadata"]["labels"];
        assert_eq!(labels["io.sbx.pool"], "data_science-python");
        assert_eq!(labels["team"], "ml");
        assert_eq!(p["metadata"]["generateName"], "sbx-data-science-python-");
        assert_eq!(labels.get(NETWORK_LABEL), None, "no network by default");
        let mut bridged = spec();
        bridged.network = "bridge".into();
        let p = pod_json(&bridged, &settings);
        assert_eq!(p["metadata"]["labels"][NETWORK_LABEL], "bridge");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
        assert_eq!(label_value("-a b-"), "a-b");
    }

    #[test]
    fn the_template_places_the_pod_and_may_replace_the_limits() {
        let mut settings = KubeSettings::default();
        settings
            .pod
            .node_selector
            .insert("pool".into(), "sandbox".into());
        settings.pod.tolerations.push(Toleration {
            key: Some("sandbox".into()),
            operator: Some("Exists".into()),
            effect: Some("NoSchedule".into()),
            ..Default::default()
        });
        settings
            .pod
            .resources
            .limits
            .insert("memory".into(), "256Mi".into());
        settings
            .pod
            .resources
            .requests
            .insert("cpu".into(), "100m".into());
        let p = pod_json(&spec(), &settings);
        assert_eq!(p["spec"]["nodeSelector"]["pool"], "sandbox");
        assert_eq!(p["spec"]["tolerations"][0]["operator"], "Exists");
        let r = &p["spec"]["containers"][0]["resources"];
        assert_eq!(r["limits"]["memory"], "256Mi");
        assert_eq!(r["requests"]["cpu"], "100m");
    }

    #[test]
    fn a_pod_reserves_little_unless_told_and_never_more_than_its_limit() {
        let p = pod_json(&spec(), &KubeSettings::default());
        let r = &p["spec"]["containers"][0]["resources"];
        assert_eq!(r["requests"]["cpu"], "100m");
        assert_eq!(r["requests"]["memory"], "128Mi");

        let mut small = spec();
        small.limits.memory = Some(64 << 20);
        let p = pod_json(&small, &KubeSettings::default());
        let r = &p["spec"]["containers"][0]["resources"];
        assert_eq!(r["requests"]["memory"], (64u64 << 20).to_string());

        let mut settings = KubeSettings::default();
        settings
            .pod
            .resources
            .requests
            .insert("memory".into(), "2Gi".into());
        let e = manifest(&spec(), &settings, "h", 1).unwrap_err();
        assert!(
            e.contains("memory request (2Gi)") && e.contains("lower the request"),
            "{e}"
        );
    }

    #[test]
    fn pid_1_becomes_the_keeper_and_the_pod_lives_as_long_as_its_pool_allows() {
        let p = pod_json(&spec(), &KubeSettings::default());
        let c = &p["spec"]["containers"][0];
        assert_eq!(c["command"][2], keeper_command());
        assert!(keeper_command().ends_with("exec /sbx/bin/sbx-guest keeper"));
        let env: Vec<&str> = c["env"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["name"].as_str().unwrap())
            .collect();
        assert!(env.contains(&GUEST_KEEPER_ENV) && env.contains(&GUEST_FSIZE_ENV));
        assert_eq!(p["metadata"]["labels"][HOST_LABEL], "host-1");
        assert!(
            p["spec"]["activeDeadlineSeconds"].is_null(),
            "no lifetime, no deadline"
        );

        let mut s = spec();
        s.max_lifetime = Some(std::time::Duration::from_secs(3600));
        let p = pod_json(&s, &KubeSettings::default());
        assert_eq!(
            p["spec"]["activeDeadlineSeconds"],
            3600 + DEADLINE_MARGIN_SECS
        );
    }

    #[test]
    fn root_cannot_be_the_sandbox_user_in_a_pod() {
        let mut s = spec();
        s.isolation.uid = 0;
        let e = manifest(&s, &KubeSettings::default(), "h", 1).unwrap_err();
        assert!(e.contains("[isolation] user"), "{e}");
    }

    fn pod(status: Value) -> Pod {
        serde_json::from_value(json!({ "metadata": { "name": "p" }, "status": status })).unwrap()
    }

    #[test]
    fn a_starting_pod_reports_its_phase_then_running() {
        assert_eq!(
            start_state(&pod(json!({ "phase": "Pending" }))),
            Start::Waiting("Pending".into())
        );
        let creating = pod(json!({ "phase": "Pending", "containerStatuses": [{
            "name": CONTAINER, "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "waiting": { "reason": "ContainerCreating" } } }] }));
        assert_eq!(
            start_state(&creating),
            Start::Waiting("ContainerCreating".into())
        );
        let running = pod(json!({ "phase": "Running", "containerStatuses": [{
            "name": CONTAINER, "image": "i", "imageID": "", "ready": true, "restartCount": 0,
            "state": { "running": { "startedAt": "2026-11-28T12:00:00Z" } } }] }));
        assert_eq!(start_state(&running), Start::Running);
    }

    #[test]
    fn an_image_that_cannot_be_pulled_fails_with_the_clusters_message() {
        let p = pod(json!({ "phase": "Pending", "containerStatuses": [{
            "name": CONTAINER, "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "waiting": { "reason": "ImagePullBackOff",
                "message": "Back-off pulling image \"nope:1\"" } } }] }));
        assert_eq!(
            start_state(&p),
            Start::Failed("ImagePullBackOff: Back-off pulling image \"nope:1\"".into())
        );
    }

    #[test]
    fn a_first_pull_error_is_waited_out_as_the_kubelet_retries_it() {
        let p = pod(json!({ "phase": "Pending", "containerStatuses": [{
            "name": CONTAINER, "image": "i", "imageID": "", "ready": false, "restartCount": 0,
            "state": { "waiting": { "reason": "ErrImagePull",
                "message": "429 Too Many Requests" } } }] }));
        assert_eq!(
            start_state(&p),
            Start::Waiting("ErrImagePull: 429 Too Many Requests".into())
        );
    }

    #[test]
    fn an_unschedulable_pod_keeps_waiting_but_says_why() {
        let p = pod(json!({ "phase": "Pending", "conditions": [{
            "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
            "message": "0/3 nodes are available: 3 Insufficient memory." }] }));
        assert_eq!(
            start_state(&p),
            Start::Waiting(
                "Pending (Unschedulable: 0/3 nodes are available: 3 Insufficient memory.)".into()
            )
        );
    }

    #[test]
    fn a_pod_that_ended_is_a_failure_with_its_reason() {
        let p = pod(json!({ "phase": "Failed", "reason": "DeadlineExceeded",
            "message": "Pod was active on the node longer than the specified deadline" }));
        match start_state(&p) {
            Start::Failed(m) => assert!(m.starts_with("DeadlineExceeded: Pod was active"), "{m}"),
            other => panic!("{other:?}"),
        }
    }
}
