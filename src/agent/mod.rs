//! The per-user agent: holds the pools and serves clients on a local socket.
//!
//! Start-up, in order: make sure the runtime directory is ours; take the
//! agent lock (an `flock` held for the agent's whole life, so two agents can
//! never serve one directory, and a socket file left by a dead agent can be
//! replaced safely); connect to the engine; remove containers a previous
//! agent of this directory left behind; bind the socket. Any failure is
//! printed to stderr (the agent log), where the spawning client reads it.
//!
//! Shutdown (`sbx pool down`, SIGTERM, SIGINT) removes every container this
//! agent created, then the socket.

mod conn;
mod pools;
mod run;

use crate::backend::docker::DockerBackend;
use crate::backend::{
    Backend, LABEL_AGENT, LABEL_INSTANCE, LABEL_MANAGED, LABEL_OWNER, LABEL_POOL,
};
use crate::paths::{RuntimePaths, lock_file, uid};
use crate::pool::Pool;
use crate::protocol::PoolSpec;
use anyhow::{Context, bail};
use interprocess::local_socket::tokio::prelude::*;
use interprocess::local_socket::{GenericFilePath, ListenerOptions};
use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

pub struct Agent {
    pub backend: Arc<dyn Backend>,
    pub paths: RuntimePaths,
    pub agent_id: String,
    instance: String,
    pools: Mutex<HashMap<PoolSpec, Arc<Pool>>>,
    shutdown: watch::Sender<bool>,
}

impl Agent {
    /// Labels shared by everything this agent creates.
    fn base_labels(&self) -> Vec<(String, String)> {
        vec![
            (LABEL_MANAGED.into(), "true".into()),
            (LABEL_OWNER.into(), uid().to_string()),
            (LABEL_AGENT.into(), self.agent_id.clone()),
        ]
    }

    /// The pool for `spec`, created on first use with its maintenance
    /// running (and, with prewarm, filling to `min_size` in the background).
    pub fn pool(self: &Arc<Self>, spec: &PoolSpec) -> Arc<Pool> {
        let mut pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(p) = pools.get(spec) {
            return p.clone();
        }
        let mut labels = self.base_labels();
        labels.push((LABEL_INSTANCE.into(), self.instance.clone()));
        labels.push((LABEL_POOL.into(), spec.name()));
        let pool = Pool::start(spec.clone(), self.backend.clone(), labels);
        pools.insert(spec.clone(), pool.clone());
        pool
    }

    /// A client that asks for another engine than the one this agent drives
    /// gets told so instead of being served by the wrong engine.
    pub fn check_backend(&self, spec: &PoolSpec) -> Result<(), String> {
        if spec.backend == self.backend.name() {
            return Ok(());
        }
        Err(format!(
            "the running agent uses {}, but this command asks for {}; run `sbx agent stop` and retry (or use --backend {})",
            self.backend.name(),
            spec.backend,
            self.backend.name()
        ))
    }

    pub fn all_pools(&self) -> Vec<Arc<Pool>> {
        let pools = self.pools.lock().unwrap_or_else(|e| e.into_inner());
        pools.values().cloned().collect()
    }

    pub fn request_shutdown(&self) {
        let _ = self.shutdown.send(true);
    }

    /// Remove every container of this agent: the pools' own, then anything
    /// else carrying our labels (e.g. a creation that was in flight).
    pub async fn remove_everything(&self) -> usize {
        let pools = self.all_pools();
        let mut removed = 0;
        for p in &pools {
            removed += p.shut_down().await;
        }
        match self
            .backend
            .remove_labelled(&self.base_labels(), None)
            .await
        {
            Ok(n) => removed += n,
            Err(e) => eprintln!("sbx agent: final sweep failed: {e}"),
        }
        removed
    }
}

/// `sbx agent serve`: run the agent in the foreground until shut down.
pub fn serve(paths: RuntimePaths) -> i32 {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("sbx agent: cannot start the async runtime: {e}");
            return 125;
        }
    };
    match rt.block_on(serve_async(paths)) {
        Ok(()) => 0,
        Err(e) => {
            // One line: the spawning client shows the last line of the log.
            eprintln!("sbx agent: {e:#}");
            125
        }
    }
}

async fn serve_async(paths: RuntimePaths) -> anyhow::Result<()> {
    paths.ensure()?;
    let mut lock = lock_file(&paths.agent_lock(), false)
        .with_context(|| format!("cannot open {}", paths.agent_lock().display()))?
        .ok_or_else(|| {
            anyhow::anyhow!(
                "another sbx agent is already serving {}",
                paths.dir.display()
            )
        })?;
    lock.set_len(0)?;
    writeln!(lock, "{}", std::process::id())?;

    let backend: Arc<dyn Backend> = Arc::new(DockerBackend::connect().await?);
    let instance = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis())
            .unwrap_or(0)
    );
    let (shutdown, mut shutdown_rx) = watch::channel(false);
    let agent = Arc::new(Agent {
        backend,
        agent_id: paths.agent_id(),
        paths: paths.clone(),
        instance,
        pools: Mutex::new(HashMap::new()),
        shutdown,
    });

    // Containers of a previous agent of this directory that crashed.
    let reaped = agent
        .backend
        .remove_labelled(&agent.base_labels(), Some(&agent.instance))
        .await?;
    if reaped > 0 {
        eprintln!("sbx agent: removed {reaped} container(s) left by a previous agent");
    }

    let sock = paths.socket();
    // Safe: we hold the agent lock, so no live agent owns this file.
    match std::fs::remove_file(&sock) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => bail!("cannot remove stale socket {}: {e}", sock.display()),
    }
    let name = sock
        .as_path()
        .to_fs_name::<GenericFilePath>()
        .with_context(|| format!("invalid socket path {}", sock.display()))?;
    let listener = ListenerOptions::new()
        .name(name)
        .create_tokio()
        .with_context(|| format!("cannot listen on {}", sock.display()))?;
    eprintln!(
        "sbx agent: pid {} serving {} with {}",
        std::process::id(),
        sock.display(),
        agent.backend.describe()
    );

    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sigint = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    loop {
        tokio::select! {
            conn = listener.accept() => match conn {
                Ok(stream) => {
                    let agent = agent.clone();
                    tokio::spawn(async move { conn::handle(agent, stream).await });
                }
                Err(e) => {
                    eprintln!("sbx agent: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            _ = shutdown_rx.changed() => break,
            _ = sigterm.recv() => break,
            _ = sigint.recv() => break,
        }
    }
    // Stop taking clients first so nobody starts a run on a closing pool.
    drop(listener);
    let _ = std::fs::remove_file(&sock);
    let removed = agent.remove_everything().await;
    eprintln!("sbx agent: removed {removed} container(s); exiting");
    Ok(())
}
