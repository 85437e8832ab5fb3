//! An in-memory backend for unit tests of the pool engine and the agent:
//! sandboxes that exist only in memory, created after a configurable delay,
//! each with a fake guest runner that answers pings.

use super::{Backend, BackendError, GuestConn, GuestEvent, Sandbox, SandboxSpec};
use crate::guest::wire::{FromGuest, ToGuest};
use crate::protocol::{Kind, read_frame};
use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// What the test controls about one in-memory container.
pub struct Fake {
    pub running: bool,
    /// The guest stops answering pings (a wedged runner).
    pub hung: Arc<AtomicBool>,
    pub kill: Option<oneshot::Sender<()>>,
}

/// Creates sandboxes that exist only in memory, after a configurable delay,
/// each with a fake guest runner that answers pings; records how many exist
/// at once.
#[derive(Default)]
pub struct MemoryBackend {
    pub next: AtomicUsize,
    pub live: Mutex<HashMap<String, Fake>>,
    pub peak: AtomicUsize,
    pub destroyed: AtomicUsize,
    pub create_delay: Duration,
    pub destroy_delay: Duration,
    pub fail_creates: AtomicBool,
    /// Containers whose guest the "kernel" OOM-killed ([`Self::oom_kill`]).
    pub oom_killed: Mutex<std::collections::HashSet<String>>,
}

impl MemoryBackend {
    pub fn with_delays(create: Duration, destroy: Duration) -> Arc<MemoryBackend> {
        Arc::new(MemoryBackend {
            create_delay: create,
            destroy_delay: destroy,
            ..Default::default()
        })
    }

    pub fn live(&self) -> usize {
        self.live.lock().unwrap().len()
    }

    pub fn created(&self) -> usize {
        self.next.load(Ordering::SeqCst)
    }

    pub fn destroyed(&self) -> usize {
        self.destroyed.load(Ordering::SeqCst)
    }

    pub fn is_live(&self, id: &str) -> bool {
        self.live.lock().unwrap().contains_key(id)
    }

    /// As `docker kill`: the engine reports it stopped and its stream ends.
    pub fn kill(&self, id: &str) {
        let mut live = self.live.lock().unwrap();
        let fake = live.get_mut(id).expect("container exists");
        fake.running = false;
        if let Some(k) = fake.kill.take() {
            let _ = k.send(());
        }
    }

    /// As the kernel's OOM killer killing the guest: the container dies
    /// and the engine records why.
    pub fn oom_kill(&self, id: &str) {
        self.oom_killed.lock().unwrap().insert(id.to_string());
        self.kill(id);
    }

    /// The container keeps running but its guest stops answering.
    pub fn hang(&self, id: &str) {
        let live = self.live.lock().unwrap();
        live[id].hung.store(true, Ordering::SeqCst);
    }
}

/// The guest side of a fake container: answers `Ping` with `Pong` unless
/// hung; on kill, the stream ends as it does when a container dies.
async fn fake_guest(
    mut from_agent: tokio::io::DuplexStream,
    to_agent: mpsc::Sender<GuestEvent>,
    hung: Arc<AtomicBool>,
    killed: oneshot::Receiver<()>,
) {
    tokio::pin!(killed);
    loop {
        tokio::select! {
            _ = &mut killed => {
                let _ = to_agent.send(GuestEvent::Closed("container killed".into())).await;
                return;
            }
            frame = read_frame(&mut from_agent) => {
                let Ok(frame) = frame else { return };
                if frame.kind != Kind::Control || hung.load(Ordering::SeqCst) {
                    continue;
                }
                let answer = match frame.parse::<ToGuest>() {
                    Ok(ToGuest::Ping) => FromGuest::Pong,
                    // A session's end: the fake has nothing to wipe.
                    Ok(ToGuest::Reset) => FromGuest::Ready {
                        version: env!("CARGO_PKG_VERSION").into(),
                        clean: true,
                        scratch_bytes: 0,
                        limits: None,
                    },
                    _ => continue,
                };
                let _ = to_agent.send(GuestEvent::Msg(answer)).await;
            }
        }
    }
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn describe(&self) -> String {
        "in-memory".into()
    }
    async fn died_of_oom(&self, id: &str, _since: std::time::SystemTime) -> Option<bool> {
        let dead = !self.live.lock().unwrap().get(id)?.running;
        dead.then(|| self.oom_killed.lock().unwrap().contains(id))
    }
    async fn create(&self, _spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        tokio::time::sleep(self.create_delay).await;
        if self.fail_creates.load(Ordering::SeqCst) {
            return Err(BackendError::Engine {
                action: "create".into(),
                reason: "refused".into(),
            });
        }
        let id = format!("c{}", self.next.fetch_add(1, Ordering::SeqCst));
        let (agent_end, guest_end) = tokio::io::duplex(4096);
        let (tx, rx) = mpsc::channel(8);
        let (kill, killed) = oneshot::channel();
        let hung = Arc::new(AtomicBool::new(false));
        tokio::spawn(fake_guest(guest_end, tx, hung.clone(), killed));
        let n = {
            let mut live = self.live.lock().unwrap();
            live.insert(
                id.clone(),
                Fake {
                    running: true,
                    hung,
                    kill: Some(kill),
                },
            );
            live.len()
        };
        self.peak.fetch_max(n, Ordering::SeqCst);
        Ok(Sandbox {
            id,
            guest: GuestConn::new(Box::pin(agent_end), rx),
        })
    }
    async fn is_running(&self, id: &str) -> Result<bool, BackendError> {
        Ok(self.live.lock().unwrap().get(id).is_some_and(|f| f.running))
    }
    async fn destroy(&self, id: &str) -> Result<(), BackendError> {
        tokio::time::sleep(self.destroy_delay).await;
        if self.live.lock().unwrap().remove(id).is_some() {
            self.destroyed.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
    async fn list_labelled(
        &self,
        _labels: &[(String, String)],
    ) -> Result<Vec<crate::backend::Labelled>, BackendError> {
        Ok(Vec::new())
    }
}
