//! Images from registries: the agent makes sure a pool's image is there
//! before it makes the pool, and `Pull` (`sbx pull`) fetches images ahead
//! of time. A pull runs in a task of its own, shared by every client that
//! needs the same image meanwhile (each sees its progress), and goes on
//! when a client goes away, since others may be waiting for it.

use super::Agent;
use super::conn::{ConnWriter, reply, reply_error};
use crate::model::pull::{PullPolicy, PullProgress};
use crate::protocol::{ErrorKind, Response};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// How a pull ended, and when.
type Outcome = Option<(Result<PullProgress, String>, Instant)>;

/// Clients are told about a pull's progress at most this often.
const SHOW_EVERY: Duration = Duration::from_millis(100);

/// The agent's pulls, one entry per image (kept after the pull ends: it
/// is what tells a client that found the image missing a moment before
/// that the pull it would start has just been done).
#[derive(Default)]
pub struct Pulls {
    map: Mutex<HashMap<String, Shared>>,
}

#[derive(Clone)]
struct Shared {
    progress: watch::Receiver<PullProgress>,
    outcome: watch::Receiver<Outcome>,
}

impl Agent {
    /// Make sure the engine holds `image` before a pool (or a container of
    /// its own) is made of it, as `policy` says, showing a pull's progress
    /// to the client on `w`.
    pub async fn ensure_image(
        self: &Arc<Self>,
        image: &str,
        policy: PullPolicy,
        stall: Option<Duration>,
        w: &mut ConnWriter,
    ) -> Result<(), String> {
        let asked = Instant::now();
        if policy != PullPolicy::Always {
            match self.backend.image_present(image).await {
                // `None`: not the agent's to pull (a cluster's nodes do).
                Ok(Some(true)) | Ok(None) => return Ok(()),
                Ok(Some(false)) => {}
                Err(e) => return Err(e.to_string()),
            }
            if policy == PullPolicy::Never {
                return Err(format!(
                    "image `{image}` is not on this {} and the profile says pull = \"never\"; bring it in first (`sbx pull {image}` where its registry is reachable, or `{} load`), or set pull = \"missing\"",
                    self.backend.name(),
                    self.backend.name()
                ));
            }
        }
        self.pull_shared(image, stall, asked, w).await.map(|_| ())
    }

    /// Pull `image`, joining a pull of it already under way (or one that
    /// ended successfully since `asked`), and relay its progress to `w`.
    async fn pull_shared(
        self: &Arc<Self>,
        image: &str,
        stall: Option<Duration>,
        asked: Instant,
        w: &mut ConnWriter,
    ) -> Result<PullProgress, String> {
        let Shared {
            mut progress,
            mut outcome,
        } = self.join_or_start(image, stall, asked);
        let mut shown: Option<Instant> = None;
        loop {
            let ended = outcome.borrow_and_update().clone();
            if let Some((result, _)) = ended {
                if let Ok(p) = &result {
                    reply(w, &Response::Pull(p.clone())).await;
                }
                return result;
            }
            tokio::select! {
                changed = outcome.changed() => {
                    if changed.is_err() {
                        return Err(format!("the pull of `{image}` ended without a result; retry"));
                    }
                }
                changed = progress.changed() => {
                    if changed.is_err() {
                        // The pull's task is ending: its outcome is next.
                        if outcome.changed().await.is_err() && outcome.borrow().is_none() {
                            return Err(format!("the pull of `{image}` ended without a result; retry"));
                        }
                        continue;
                    }
                    if let Some(t) = shown {
                        tokio::time::sleep(SHOW_EVERY.saturating_sub(t.elapsed())).await;
                    }
                    let p = progress.borrow_and_update().clone();
                    // The last word comes with the outcome, once.
                    if !p.done {
                        shown = Some(Instant::now());
                        reply(w, &Response::Pull(p)).await;
                    }
                }
            }
        }
    }

    fn join_or_start(
        self: &Arc<Self>,
        image: &str,
        stall: Option<Duration>,
        asked: Instant,
    ) -> Shared {
        let mut map = self.pulls.map.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(s) = map.get(image) {
            let reusable = match &*s.outcome.borrow() {
                None => true,
                Some((Ok(_), at)) => *at >= asked,
                Some((Err(_), _)) => false,
            };
            if reusable {
                return s.clone();
            }
        }
        let (ptx, progress) = watch::channel(PullProgress {
            image: image.to_string(),
            ..Default::default()
        });
        let (otx, outcome) = watch::channel(None);
        let shared = Shared { progress, outcome };
        map.insert(image.to_string(), shared.clone());
        let backend = self.backend.clone();
        let image = image.to_string();
        tokio::spawn(async move {
            eprintln!("sbx agent: pulling {image}");
            let result = backend
                .pull(&image, stall, &ptx)
                .await
                .map_err(|e| e.to_string());
            match &result {
                Ok(p) => eprintln!(
                    "sbx agent: pulled {image} in {:.1}s ({} layer(s))",
                    p.elapsed_ms as f64 / 1000.0,
                    p.layers
                ),
                Err(e) => eprintln!("sbx agent: {e}"),
            }
            otx.send_replace(Some((result, Instant::now())));
        });
        shared
    }
}

/// `Pull`: fetch each image from its registry as `policy` says, one
/// after the other.
pub async fn handle(
    agent: Arc<Agent>,
    backend: String,
    images: Vec<String>,
    stall: Option<Duration>,
    policy: PullPolicy,
    w: &mut ConnWriter,
) {
    if backend != agent.backend.name() {
        let mine = agent.backend.name();
        reply_error(
            w,
            ErrorKind::BadRequest,
            format!(
                "the running agent uses {mine}, but this command asks for {backend}; run `sbx agent stop` and retry (or use --backend {mine})"
            ),
        )
        .await;
        return;
    }
    for image in &images {
        let pulled = match policy {
            PullPolicy::Always => agent
                .pull_shared(image, stall, Instant::now(), w)
                .await
                .map(|_| ()),
            _ => agent.ensure_image(image, policy, stall, w).await,
        };
        if let Err(e) = pulled {
            reply_error(w, ErrorKind::Engine, e).await;
            return;
        }
    }
    reply(
        w,
        &Response::Done {
            message: format!("pulled {}", images.join(", ")),
        },
    )
    .await;
}
