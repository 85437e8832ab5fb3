//! Pool engine specifications, checked against an in-memory backend.

use super::*;
use crate::backend::GuestConn;
use async_trait::async_trait;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Creates sandboxes that exist only in memory, after a configurable delay,
/// and records how many exist at once.
#[derive(Default)]
struct MemoryBackend {
    next: AtomicUsize,
    live: Mutex<HashSet<String>>,
    peak: AtomicUsize,
    destroyed: AtomicUsize,
    create_delay: Duration,
    fail_creates: bool,
}

#[async_trait]
impl Backend for MemoryBackend {
    fn name(&self) -> &'static str {
        "memory"
    }
    fn describe(&self) -> String {
        "in-memory".into()
    }
    async fn create(&self, _spec: &SandboxSpec) -> Result<Sandbox, BackendError> {
        tokio::time::sleep(self.create_delay).await;
        if self.fail_creates {
            return Err(BackendError::Engine {
                action: "create".into(),
                reason: "refused".into(),
            });
        }
        let id = format!("c{}", self.next.fetch_add(1, Ordering::SeqCst));
        let n = {
            let mut live = self.live.lock().unwrap();
            live.insert(id.clone());
            live.len()
        };
        self.peak.fetch_max(n, Ordering::SeqCst);
        let (_tx, rx) = tokio::sync::mpsc::channel(1);
        Ok(Sandbox {
            id,
            guest: GuestConn::new(Box::pin(tokio::io::sink()), rx),
        })
    }
    async fn destroy(&self, id: &str) -> Result<(), BackendError> {
        if self.live.lock().unwrap().remove(id) {
            self.destroyed.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
    async fn remove_labelled(
        &self,
        _labels: &[(String, String)],
        _keep: Option<&str>,
    ) -> Result<usize, BackendError> {
        Ok(0)
    }
}

fn pool_with(backend: Arc<MemoryBackend>, min: usize, max: usize, wait: Duration) -> Arc<Pool> {
    let spec = PoolSpec {
        backend: "memory".into(),
        lang: "python".into(),
        image: "img".into(),
        min_size: min,
        max_size: max,
    };
    Pool::new(spec, backend, vec![], wait)
}

#[tokio::test]
async fn a_released_clean_sandbox_is_reused_for_the_next_run() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 2, Duration::from_secs(1));
    let mut lease = pool.acquire().await.unwrap();
    let first = lease.sandbox().id.clone();
    lease.release(true);
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(lease.sandbox().id, first);
    assert_eq!(backend.next.load(Ordering::SeqCst), 1, "only one creation");
    lease.release(true);
    let s = pool.stats();
    assert_eq!((s.idle, s.busy, s.runs), (1, 0, 2));
}

#[tokio::test]
async fn a_dirty_or_abandoned_sandbox_is_destroyed_not_reused() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 2, Duration::from_secs(1));
    pool.acquire().await.unwrap().release(false);
    // A lease dropped without release (e.g. the run failed half-way).
    drop(pool.acquire().await.unwrap());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(backend.destroyed.load(Ordering::SeqCst), 2);
    let s = pool.stats();
    assert_eq!((s.total_size, s.busy, s.removed), (0, 0, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_demand_never_exceeds_max_size() {
    let backend = Arc::new(MemoryBackend {
        create_delay: Duration::from_millis(20),
        ..Default::default()
    });
    let pool = pool_with(backend.clone(), 0, 3, Duration::from_secs(10));
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let lease = pool.acquire().await.unwrap();
            tokio::time::sleep(Duration::from_millis(10)).await;
            lease.release(true);
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert!(backend.peak.load(Ordering::SeqCst) <= 3);
    assert_eq!(pool.stats().runs, 12);
}

#[tokio::test(start_paused = true)]
async fn a_full_pool_makes_callers_wait_then_fail_with_a_clear_error() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 1, Duration::from_secs(2));
    let held = pool.acquire().await.unwrap();
    let err = pool.acquire().await.err().unwrap();
    assert!(matches!(err, PoolError::Exhausted { max: 1, .. }), "{err}");
    assert!(err.to_string().contains("max_size"));
    drop(held);
}

#[tokio::test(start_paused = true)]
async fn a_waiter_is_served_when_a_busy_sandbox_is_destroyed() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 1, Duration::from_secs(30));
    let held = pool.acquire().await.unwrap();
    let waiter = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.acquire().await.map(|_| ()) })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    held.release(false); // destroyed, not returned: the slot must still free up
    waiter.await.unwrap().unwrap();
}

#[tokio::test]
async fn fill_to_min_creates_the_missing_sandboxes_in_parallel() {
    let backend = Arc::new(MemoryBackend {
        create_delay: Duration::from_millis(50),
        ..Default::default()
    });
    let pool = pool_with(backend.clone(), 3, 5, Duration::from_secs(1));
    let started = std::time::Instant::now();
    pool.fill_to_min().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_millis(140),
        "created one by one"
    );
    assert_eq!(pool.stats().idle, 3);
    pool.fill_to_min().await.unwrap();
    assert_eq!(
        backend.next.load(Ordering::SeqCst),
        3,
        "already at min_size"
    );
}

#[tokio::test]
async fn a_failed_creation_gives_its_capacity_back() {
    let backend = Arc::new(MemoryBackend {
        fail_creates: true,
        ..Default::default()
    });
    let pool = pool_with(backend, 0, 1, Duration::from_millis(100));
    for _ in 0..3 {
        let err = pool.acquire().await.err().unwrap();
        assert!(matches!(err, PoolError::Backend(_)), "{err}");
    }
    let s = pool.stats();
    assert_eq!((s.total_size, s.initializing), (0, 0));
}

#[tokio::test]
async fn shut_down_removes_idle_and_busy_sandboxes_and_refuses_new_runs() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 2, 3, Duration::from_secs(1));
    pool.fill_to_min().await.unwrap();
    let busy = pool.acquire().await.unwrap();
    assert_eq!(pool.shut_down().await, 2);
    assert!(backend.live.lock().unwrap().is_empty());
    assert!(matches!(pool.acquire().await, Err(PoolError::Closed(_))));
    drop(busy);
    assert!(pool.stats().closed);
}
