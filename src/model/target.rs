//! Where sandboxes live: the engine, and on Kubernetes the context and
//! namespace. A client resolves its [`Target`] once (`--backend` or
//! `SBX_BACKEND`, else the profile's `backend`, else detection; see
//! `config::Config::target`) and passes it as a value; the one place it
//! crosses a process boundary is the environment of an agent the client
//! spawns ([`Target::agent_env`]), read back by that agent at start-up.

/// Environment variable naming the engine (`--backend` reads it too).
pub const BACKEND_ENV: &str = "SBX_BACKEND";
/// kubeconfig context the agent connects with (default: the current one).
pub const CONTEXT_ENV: &str = "SBX_KUBE_CONTEXT";
/// The namespace sbx creates pods in and the only one it touches.
pub const NAMESPACE_ENV: &str = "SBX_KUBE_NAMESPACE";

/// The container engines sbx drives. Podman is reached through its
/// Docker-compatible API with the same client; the differences are handled
/// in `backend/docker.rs` where they arise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EngineKind {
    Docker,
    Podman,
    /// Pods in a cluster (backend/kubernetes), not a local engine.
    Kubernetes,
    /// No engine: each sandbox is a `bwrap` child process of the agent
    /// (backend/bubblewrap).
    Bubblewrap,
}

impl EngineKind {
    pub const ALL: [EngineKind; 4] = [
        EngineKind::Docker,
        EngineKind::Podman,
        EngineKind::Kubernetes,
        EngineKind::Bubblewrap,
    ];

    pub fn name(self) -> &'static str {
        match self {
            EngineKind::Docker => "docker",
            EngineKind::Podman => "podman",
            EngineKind::Kubernetes => "kubernetes",
            EngineKind::Bubblewrap => "bubblewrap",
        }
    }

    /// `docker`, `podman`, `kubernetes`; `None` for `auto` or nothing
    /// (detect); an error naming the choices for anything else.
    pub fn parse(requested: Option<&str>) -> Result<Option<EngineKind>, String> {
        match requested.map(str::trim) {
            None | Some("") | Some("auto") => Ok(None),
            Some(name) => EngineKind::ALL
                .into_iter()
                .find(|e| e.name() == name)
                .map(Some)
                .ok_or_else(|| {
                    format!("unknown backend `{name}`; use docker, podman, kubernetes, bubblewrap or auto")
                }),
        }
    }
}

/// The engine a client talks to, through its agent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub engine: EngineKind,
    /// Kubernetes only: kubeconfig context (`None`: the current one).
    pub context: Option<String>,
    /// Kubernetes only: namespace (`None`: the context's own).
    pub namespace: Option<String>,
}

impl Target {
    pub fn engine(engine: EngineKind) -> Target {
        Target {
            engine,
            context: None,
            namespace: None,
        }
    }

    /// The environment of an agent started to serve this target: each
    /// variable set to its value, or removed (`None`) so that nothing the
    /// client's own environment holds says otherwise.
    pub fn agent_env(&self) -> [(&'static str, Option<String>); 3] {
        let kube = self.engine == EngineKind::Kubernetes;
        [
            (BACKEND_ENV, Some(self.engine.name().to_string())),
            (CONTEXT_ENV, self.context.clone().filter(|_| kube)),
            (NAMESPACE_ENV, self.namespace.clone().filter(|_| kube)),
        ]
    }

    /// "context X, namespace Y" for messages.
    pub fn describe_cluster(&self) -> String {
        format!(
            "kubernetes context {}, namespace {}",
            self.context.as_deref().unwrap_or("(current)"),
            self.namespace.as_deref().unwrap_or("(the context's)")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_are_named_as_on_the_command_line() {
        assert_eq!(
            EngineKind::parse(Some("podman")),
            Ok(Some(EngineKind::Podman))
        );
        assert_eq!(
            EngineKind::parse(Some(" docker ")),
            Ok(Some(EngineKind::Docker))
        );
        assert_eq!(EngineKind::parse(Some("auto")), Ok(None));
        assert_eq!(EngineKind::parse(None), Ok(None));
        assert_eq!(
            EngineKind::parse(Some("lxc")),
            Err("unknown backend `lxc`; use docker, podman, kubernetes, bubblewrap or auto".into())
        );
    }

    #[test]
    fn an_agent_for_a_local_engine_gets_no_cluster_settings() {
        let t = Target {
            engine: EngineKind::Docker,
            context: Some("kind".into()),
            namespace: Some("sbx".into()),
        };
        assert_eq!(
            t.agent_env(),
            [
                (BACKEND_ENV, Some("docker".into())),
                (CONTEXT_ENV, None),
                (NAMESPACE_ENV, None)
            ]
        );
        let k = Target {
            engine: EngineKind::Kubernetes,
            ..t
        };
        assert_eq!(k.agent_env()[2], (NAMESPACE_ENV, Some("sbx".into())));
    }
}
