//! Pool engine specifications, checked against an in-memory backend with
//! paused tokio time (so minutes of pool life pass in microseconds).

use super::*;
use crate::backend::memory::MemoryBackend;
use crate::model::pool::PoolSettings;
use std::sync::atomic::Ordering;

/// Defaults of the tests: no limits, no maintenance-driven recycling,
/// waiting up to 30 s.
fn spec(min: usize, max: usize) -> PoolSpec {
    PoolSpec {
        backend: "memory".into(),
        lang: "python".into(),
        image: "img".into(),
        settings: PoolSettings {
            min_size: min,
            max_size: max,
            idle_timeout: None,
            acquisition_timeout: Some(Duration::from_secs(30)),
            health_check_interval: None,
            max_lifetime: None,
            max_uses: None,
            exhaustion: Exhaustion::Wait,
            prewarm: true,
        },
        profile: Default::default(),
        isolation: Default::default(),
        kubernetes: None,
    }
}

fn pool_with(backend: Arc<MemoryBackend>, min: usize, max: usize, wait: Duration) -> Arc<Pool> {
    let mut s = spec(min, max);
    s.settings.acquisition_timeout = Some(wait);
    Pool::new(s, backend, vec![])
}

/// Acquire, note the container, release it clean.
async fn run_once(pool: &Arc<Pool>) -> String {
    let mut lease = pool.acquire().await.unwrap();
    let id = lease.sandbox().id.clone();
    lease.release(true);
    id
}

/// Let spawned removals and refills finish (time is paused: free).
async fn settle() {
    tokio::time::sleep(Duration::from_millis(50)).await;
}

fn spawn_acquire(pool: &Arc<Pool>) -> tokio::task::JoinHandle<Result<Lease, PoolError>> {
    let pool = pool.clone();
    tokio::spawn(async move { pool.acquire().await })
}

#[tokio::test(start_paused = true)]
async fn a_released_clean_sandbox_is_reused_for_the_next_run() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 2, Duration::from_secs(1));
    let first = run_once(&pool).await;
    assert_eq!(run_once(&pool).await, first);
    assert_eq!(backend.created(), 1, "only one creation");
    let s = pool.stats();
    assert_eq!((s.idle, s.busy, s.runs), (1, 0, 2));
}

#[tokio::test(start_paused = true)]
async fn the_most_recently_used_idle_sandbox_is_handed_out_first() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 3, Duration::from_secs(1));
    let mut a = pool.acquire().await.unwrap();
    let mut b = pool.acquire().await.unwrap();
    let (a_id, b_id) = (a.sandbox().id.clone(), b.sandbox().id.clone());
    a.release(true);
    b.release(true);
    assert_eq!(run_once(&pool).await, b_id, "b was released last");
    assert_ne!(a_id, b_id);
}

#[tokio::test(start_paused = true)]
async fn a_run_arriving_during_the_previous_runs_clean_up_waits_for_that_container() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(400), Duration::ZERO);
    let pool = pool_with(backend.clone(), 0, 3, Duration::from_secs(1));
    let first = run_once(&pool).await;
    let mut lease = pool.acquire().await.unwrap();
    lease.finishing(); // the program exited; the guest is cleaning up
    let next = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_millis(20)).await;
    lease.release(true);
    let mut got = next.await.unwrap().unwrap();
    assert_eq!(got.sandbox().id, first);
    assert_eq!(backend.created(), 1, "no container created for it");
}

#[tokio::test(start_paused = true)]
async fn a_full_fail_fast_pool_lets_the_next_run_wait_for_a_container_finishing_its_clean_up() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 1);
    s.settings.exhaustion = Exhaustion::FailFast;
    let pool = Pool::new(s, backend.clone(), vec![]);
    let mut lease = pool.acquire().await.unwrap();
    let first = lease.sandbox().id.clone();
    lease.finishing(); // the client has its answer; the guest cleans up
    let next = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_millis(20)).await;
    lease.release(true);
    let mut got = next.await.unwrap().unwrap();
    assert_eq!(got.sandbox().id, first, "the same container, not a refusal");
    assert_eq!(pool.stats().exhausted, 0);
    drop(got);
    // Busy with a run (not finishing), the one container means refusal.
    let _running = pool.acquire().await.unwrap();
    assert!(matches!(
        pool.acquire().await,
        Err(PoolError::Exhausted { .. })
    ));
}

#[tokio::test(start_paused = true)]
async fn only_as_many_fail_fast_runs_wait_as_containers_are_finishing() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 1);
    s.settings.exhaustion = Exhaustion::FailFast;
    let pool = Pool::new(s, backend, vec![]);
    let mut lease = pool.acquire().await.unwrap();
    lease.finishing();
    let waiting = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_millis(1)).await;
    let started = Instant::now();
    assert!(matches!(
        pool.acquire().await,
        Err(PoolError::Exhausted { .. })
    ));
    assert_eq!(started.elapsed(), Duration::ZERO, "refused at once");
    lease.release(true);
    assert!(waiting.await.unwrap().is_ok(), "the first one got it");
}

#[tokio::test(start_paused = true)]
async fn a_settled_pool_has_its_finishing_container_back_and_a_stuck_one_does_not_hold_it_up() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 2, Duration::from_secs(1));
    let mut lease = pool.acquire().await.unwrap();
    lease.finishing();
    let releaser = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(20)).await;
        lease.release(true);
    });
    pool.settled(Duration::from_secs(1)).await;
    assert_eq!(pool.stats().idle, 1, "back before the snapshot");
    releaser.await.unwrap();
    let mut stuck = pool.acquire().await.unwrap();
    stuck.finishing();
    let started = Instant::now();
    pool.settled(Duration::from_millis(300)).await;
    assert_eq!(started.elapsed(), Duration::from_millis(300));
    assert_eq!(pool.stats().busy, 1);
}

#[tokio::test(start_paused = true)]
async fn a_clean_up_that_takes_too_long_does_not_hold_up_the_next_run() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 3, Duration::from_secs(1));
    let mut lease = pool.acquire().await.unwrap();
    lease.finishing();
    let started = Instant::now();
    let mut got = pool.acquire().await.unwrap();
    assert_eq!(started.elapsed(), RETURN_WAIT);
    assert_eq!(got.sandbox().id, "c1", "a new container after the grace");
    drop(lease);
}

#[tokio::test(start_paused = true)]
async fn a_dirty_or_abandoned_sandbox_is_destroyed_not_reused() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 2, Duration::from_secs(1));
    pool.acquire().await.unwrap().release(false);
    // A lease dropped without release (e.g. the run failed half-way).
    drop(pool.acquire().await.unwrap());
    settle().await;
    assert_eq!(backend.destroyed(), 2);
    let s = pool.stats();
    assert_eq!((s.total_size, s.busy, s.removed), (0, 0, 2));
}

fn one_run_per_container(backend: Arc<MemoryBackend>, max: usize) -> Arc<Pool> {
    let mut s = spec(0, max);
    s.isolation.mode = crate::model::isolation::IsolationMode::Container;
    Pool::new(s, backend, vec![])
}

#[tokio::test(start_paused = true)]
async fn with_container_isolation_a_container_serves_one_run_and_a_fresh_one_replaces_it() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(300), Duration::ZERO);
    let pool = one_run_per_container(backend.clone(), 3);
    let first = run_once(&pool).await;
    assert_eq!(backend.created(), 1);
    // The replacement is made in the background, without a run asking.
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(!backend.is_live(&first), "the used container is removed");
    let s = pool.stats();
    assert_eq!((s.idle, s.busy, s.total_size, s.runs), (1, 0, 1, 1));
    // The next run takes it warm, without waiting for a creation.
    let started = Instant::now();
    let mut lease = pool.acquire().await.unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO);
    assert_ne!(lease.sandbox().id, first);
    lease.release(true);
    assert_eq!(backend.created(), 2);
}

#[tokio::test(start_paused = true)]
async fn with_container_isolation_replacements_never_exceed_max_size() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(100), Duration::ZERO);
    let pool = one_run_per_container(backend.clone(), 2);
    let mut leases = vec![pool.acquire().await.unwrap(), pool.acquire().await.unwrap()];
    let waiting = spawn_acquire(&pool);
    settle().await;
    leases.pop().unwrap().release(true);
    // The waiter took the freed capacity and creates its own container;
    // the replacement finds no room.
    let mut got = waiting.await.unwrap().unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(pool.stats().total_size <= 2);
    assert!(
        backend.peak.load(Ordering::SeqCst) <= 3,
        "the used one may still be going"
    );
    got.sandbox();
    drop(leases);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_demand_never_exceeds_max_size() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(20), Duration::ZERO);
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
async fn wait_succeeds_when_another_run_releases() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 1, Duration::from_secs(30));
    let mut held = pool.acquire().await.unwrap();
    let held_id = held.sandbox().id.clone();
    let waiter = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(
        !waiter.is_finished(),
        "waits while the only container is busy"
    );
    held.release(true);
    let mut got = waiter.await.unwrap().unwrap();
    assert_eq!(
        got.sandbox().id,
        held_id,
        "served by the released container"
    );
    assert_eq!(backend.created(), 1);
}

#[tokio::test(start_paused = true)]
async fn wait_succeeds_when_a_destroyed_container_frees_capacity() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 1, Duration::from_secs(30));
    let held = pool.acquire().await.unwrap();
    let waiter = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_secs(1)).await;
    held.release(false); // destroyed, not returned: the slot must still free up
    let mut got = waiter.await.unwrap().unwrap();
    assert_eq!(
        got.sandbox().id,
        "c1",
        "served by a newly created container"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_times_out_with_an_error_naming_pool_size_and_option() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 1, Duration::from_secs(2));
    let _held = pool.acquire().await.unwrap();
    let started = Instant::now();
    let err = pool.acquire().await.err().unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(2),
        "waited exactly the timeout"
    );
    assert!(
        matches!(
            err,
            PoolError::Exhausted {
                max: 1,
                waited: Some(_),
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    for needle in [
        "`python`",
        "all 1 ",
        "2s",
        "acquisition_timeout",
        "max_size",
    ] {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
    assert!(!msg.contains('\n'), "one line: {msg}");
}

#[tokio::test(start_paused = true)]
async fn without_an_acquisition_timeout_a_waiter_waits_as_long_as_it_takes() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 1);
    s.settings.acquisition_timeout = None;
    let pool = Pool::new(s, backend, vec![]);
    let held = pool.acquire().await.unwrap();
    let waiter = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_secs(24 * 3600)).await;
    assert!(!waiter.is_finished());
    held.release(true);
    assert!(waiter.await.unwrap().is_ok());
}

#[tokio::test(start_paused = true)]
async fn waiters_are_served_in_arrival_order() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 1, Duration::from_secs(600));
    let held = pool.acquire().await.unwrap();
    let order = Arc::new(Mutex::new(Vec::new()));
    let mut tasks = Vec::new();
    for i in 0..5 {
        let (pool, order) = (pool.clone(), order.clone());
        tasks.push(tokio::spawn(async move {
            let lease = pool.acquire().await.unwrap();
            order.lock().unwrap().push(i);
            tokio::time::sleep(Duration::from_millis(10)).await;
            lease.release(true);
        }));
        // Distinct arrival times.
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    held.release(true);
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
}

#[tokio::test(start_paused = true)]
async fn fail_fast_errors_at_once_when_every_container_is_busy() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 2);
    s.settings.exhaustion = Exhaustion::FailFast;
    let pool = Pool::new(s, backend.clone(), vec![]);
    let _a = pool.acquire().await.unwrap();
    let b = pool.acquire().await.unwrap();
    let started = Instant::now();
    let err = pool.acquire().await.err().unwrap();
    assert_eq!(started.elapsed(), Duration::ZERO, "no waiting at all");
    assert!(
        matches!(
            err,
            PoolError::Exhausted {
                max: 2,
                waited: None,
                ..
            }
        ),
        "{err}"
    );
    let msg = err.to_string();
    for needle in ["`python`", "all 2 ", "fail-fast", "max_size", "exhaustion"] {
        assert!(msg.contains(needle), "{needle:?} missing from: {msg}");
    }
    // Capacity freed: the next caller gets a container.
    b.release(true);
    assert!(pool.acquire().await.is_ok());
    assert_eq!(backend.created(), 2);
}

#[tokio::test(start_paused = true)]
async fn temporary_containers_serve_the_overflow_and_are_destroyed_after_one_run() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 2);
    s.settings.exhaustion = Exhaustion::Temporary;
    let pool = Pool::new(s, backend.clone(), vec![]);
    let members = [pool.acquire().await.unwrap(), pool.acquire().await.unwrap()];
    let mut extra = Vec::new();
    for _ in 0..3 {
        extra.push(pool.acquire().await.unwrap());
        let s = pool.stats();
        assert!(
            backend.live() <= s.max_size + s.temporary,
            "live containers never exceed max_size plus the reported overflow"
        );
        assert_eq!(s.total_size, 2, "temporaries do not join the pool");
    }
    let s = pool.stats();
    assert_eq!((s.temporary, s.temporary_created, s.busy), (3, 3, 2));
    for mut lease in extra {
        let id = lease.sandbox().id.clone();
        lease.release(true); // clean, but still never reused
        settle().await;
        assert!(
            !backend.is_live(&id),
            "temporary {id} destroyed after its run"
        );
    }
    for lease in members {
        lease.release(true);
    }
    settle().await;
    let s = pool.stats();
    assert_eq!((s.temporary, s.idle, s.created), (0, 2, 2));
    assert_eq!(backend.live(), 2, "only the pool's own containers remain");
    assert_eq!(backend.destroyed(), 3);
}

#[tokio::test(start_paused = true)]
async fn max_uses_recycles_a_container_after_that_many_runs() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 1);
    s.settings.max_uses = Some(3);
    let pool = Pool::new(s, backend.clone(), vec![]);
    let ids: Vec<String> = {
        let mut v = Vec::new();
        for _ in 0..7 {
            v.push(run_once(&pool).await);
        }
        v
    };
    assert_eq!(ids, ["c0", "c0", "c0", "c1", "c1", "c1", "c2"]);
    settle().await;
    assert_eq!(backend.destroyed(), 2);
    assert!(!backend.is_live("c0") && !backend.is_live("c1"));
}

#[tokio::test(start_paused = true)]
async fn max_lifetime_recycles_at_release_and_an_expired_one_is_never_handed_out() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 2);
    s.settings.max_lifetime = Some(Duration::from_secs(60));
    let pool = Pool::new(s, backend.clone(), vec![]);

    // Expires while busy: not returned to the idle list.
    let lease = pool.acquire().await.unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    lease.release(true);
    settle().await;
    assert!(!backend.is_live("c0"));
    assert_eq!(pool.stats().idle, 0);

    // Expires while idle (no maintenance here): acquire skips and removes it.
    assert_eq!(run_once(&pool).await, "c1");
    tokio::time::sleep(Duration::from_secs(61)).await;
    assert_eq!(run_once(&pool).await, "c2");
    settle().await;
    assert!(!backend.is_live("c1"));
}

#[tokio::test(start_paused = true)]
async fn maintenance_recycles_expired_idle_containers_and_refills_to_min_size() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(2, 4);
    s.settings.max_lifetime = Some(Duration::from_secs(60));
    let pool = Pool::start(s, backend.clone(), vec![]);
    settle().await;
    assert_eq!(pool.stats().idle, 2, "prewarmed");
    tokio::time::sleep(Duration::from_secs(62)).await;
    let s = pool.stats();
    assert_eq!(s.idle, 2, "refilled to min_size");
    assert!(!backend.is_live("c0") && !backend.is_live("c1"));
    assert_eq!(backend.live(), 2);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_recycles_containers_above_min_size() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(1, 4);
    s.settings.idle_timeout = Some(Duration::from_secs(300));
    let pool = Pool::start(s, backend.clone(), vec![]);
    let leases: Vec<Lease> = {
        let mut v = Vec::new();
        for _ in 0..3 {
            v.push(pool.acquire().await.unwrap());
        }
        v
    };
    for l in leases {
        l.release(true);
    }
    assert_eq!(pool.stats().idle, 3);
    tokio::time::sleep(Duration::from_secs(200)).await;
    assert_eq!(pool.stats().idle, 3, "not idle long enough yet");
    tokio::time::sleep(Duration::from_secs(102)).await;
    let s = pool.stats();
    assert_eq!(
        (s.idle, s.total_size),
        (1, 1),
        "shrunk to min_size, not below"
    );
    assert_eq!(backend.live(), 1);
}

#[tokio::test(start_paused = true)]
async fn idle_timeout_replaces_a_container_at_min_size_without_dipping_below_it() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(500), Duration::ZERO);
    let mut s = spec(2, 4);
    s.settings.idle_timeout = Some(Duration::from_secs(300));
    let pool = Pool::start(s, backend.clone(), vec![]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(pool.stats().idle, 2);
    // Watch the pool through the replacement.
    let mut lowest = usize::MAX;
    for _ in 0..(310 * 10) {
        tokio::time::sleep(Duration::from_millis(100)).await;
        lowest = lowest.min(pool.stats().idle);
    }
    assert_eq!(lowest, 2, "never below min_size while replacing");
    assert!(
        !backend.is_live("c0") && !backend.is_live("c1"),
        "stale ones replaced"
    );
    assert_eq!(backend.live(), 2);
    assert_eq!(pool.stats().idle, 2);
}

#[tokio::test(start_paused = true)]
async fn a_killed_container_is_never_handed_out() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 2, Duration::from_secs(1));
    let first = run_once(&pool).await;
    backend.kill(&first);
    settle().await;
    let got = run_once(&pool).await;
    assert_ne!(got, first, "the dead container was skipped");
    settle().await;
    let s = pool.stats();
    assert_eq!((s.unhealthy_total, s.unhealthy, s.idle), (1, 0, 1));
    assert!(!backend.is_live(&first));
}

#[tokio::test(start_paused = true)]
async fn a_health_check_finds_a_wedged_guest_and_replaces_it() {
    let backend = MemoryBackend::with_delays(Duration::ZERO, Duration::from_secs(1));
    let mut s = spec(1, 2);
    s.settings.health_check_interval = Some(Duration::from_secs(10));
    let pool = Pool::start(s, backend.clone(), vec![]);
    settle().await;
    backend.hang("c0");
    // Due at 10 s, ping times out 5 s later; removal takes 1 s, during
    // which the container shows as unhealthy.
    tokio::time::sleep(Duration::from_millis(15_500)).await;
    let s = pool.stats();
    assert_eq!(
        (s.unhealthy, s.unhealthy_total),
        (1, 1),
        "visible as unhealthy"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = pool.stats();
    assert_eq!((s.unhealthy, s.idle), (0, 1), "removed and replaced");
    assert!(!backend.is_live("c0"));
    assert_eq!(run_once(&pool).await, "c1");
}

#[tokio::test(start_paused = true)]
async fn a_container_under_health_check_is_not_handed_out_meanwhile() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(1, 2);
    s.settings.health_check_interval = Some(Duration::from_secs(10));
    let pool = Pool::start(s, backend.clone(), vec![]);
    settle().await;
    backend.hang("c0");
    // The check starts at 10 s and waits up to 5 s for the ping.
    tokio::time::sleep(Duration::from_secs(11)).await;
    assert_eq!(pool.stats().idle, 1, "shown idle while being checked");
    assert_eq!(run_once(&pool).await, "c1", "the checked one is off limits");
    tokio::time::sleep(Duration::from_secs(10)).await;
    assert!(!backend.is_live("c0"));
    assert_eq!(pool.stats().unhealthy_total, 1);
}

#[tokio::test(start_paused = true)]
async fn maintenance_notices_a_killed_idle_container_and_replaces_it() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = Pool::start(spec(2, 2), backend.clone(), vec![]);
    settle().await;
    backend.kill("c1");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = pool.stats();
    assert_eq!((s.idle, s.unhealthy_total), (2, 1));
    assert!(!backend.is_live("c1") && backend.is_live("c2"));
}

#[tokio::test(start_paused = true)]
async fn prewarm_fills_to_min_size_as_soon_as_the_pool_exists() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(400), Duration::ZERO);
    let pool = Pool::start(spec(3, 5), backend.clone(), vec![]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pool.stats().initializing, 3, "created in parallel, visible");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let s = pool.stats();
    assert_eq!((s.idle, s.initializing), (3, 0));
}

#[tokio::test(start_paused = true)]
async fn warm_up_returns_only_once_creations_already_in_flight_are_done() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(400), Duration::ZERO);
    let pool = Pool::start(spec(3, 5), backend.clone(), vec![]);
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(pool.stats().initializing, 3, "the prewarm is under way");
    pool.warm_up(3).await.unwrap();
    assert_eq!(pool.stats().idle, 3);
    assert_eq!(backend.created(), 3, "the prewarm's containers, no more");
}

#[tokio::test(start_paused = true)]
async fn without_prewarm_min_size_is_kept_only_from_the_first_run_on() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(3, 5);
    s.settings.prewarm = false;
    let pool = Pool::start(s, backend.clone(), vec![]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(backend.created(), 0, "nothing before the first run");
    run_once(&pool).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(pool.stats().idle, 3);
}

#[tokio::test(start_paused = true)]
async fn a_removed_container_is_replaced_in_the_background_to_keep_min_size() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = Pool::start(spec(2, 3), backend.clone(), vec![]);
    settle().await;
    pool.acquire().await.unwrap().release(false);
    // Woken by the removal, not by the next tick.
    tokio::time::sleep(Duration::from_millis(10)).await;
    assert_eq!(pool.stats().idle, 2);
    assert_eq!(backend.created(), 3);
}

#[tokio::test(start_paused = true)]
async fn refill_backs_off_while_creations_fail() {
    let backend = Arc::new(MemoryBackend::default());
    backend.fail_creates.store(true, Ordering::SeqCst);
    let pool = Pool::start(spec(1, 2), backend.clone(), vec![]);
    tokio::time::sleep(Duration::from_secs(60)).await;
    let attempts = pool.lock().refill_failures;
    assert!(
        (3..=8).contains(&attempts),
        "{attempts} attempts in a minute: neither hammering nor giving up"
    );
    backend.fail_creates.store(false, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_secs(31)).await;
    assert_eq!(pool.stats().idle, 1, "recovers once the engine does");
}

#[tokio::test(start_paused = true)]
async fn states_initializing_busy_and_removing_are_visible_in_stats() {
    let backend = MemoryBackend::with_delays(Duration::from_secs(1), Duration::from_secs(1));
    let pool = pool_with(backend, 0, 2, Duration::from_secs(5));
    let acquiring = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(pool.stats().initializing, 1);
    let lease = acquiring.await.unwrap().unwrap();
    let s = pool.stats();
    assert_eq!((s.initializing, s.busy, s.total_size), (0, 1, 1));
    lease.release(false);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let s = pool.stats();
    assert_eq!((s.removing, s.busy, s.total_size), (1, 0, 0));
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!((pool.stats().removing, pool.stats().removed), (0, 1));
}

#[tokio::test(start_paused = true)]
async fn fill_to_min_creates_the_missing_sandboxes_in_parallel() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(50), Duration::ZERO);
    let pool = pool_with(backend.clone(), 3, 5, Duration::from_secs(1));
    let started = Instant::now();
    pool.fill_to_min().await.unwrap();
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(50),
        "three creations in the time of one"
    );
    assert_eq!(pool.stats().idle, 3);
    pool.fill_to_min().await.unwrap();
    assert_eq!(backend.created(), 3, "already at min_size");
}

#[tokio::test(start_paused = true)]
async fn a_failed_creation_gives_its_capacity_back() {
    let backend = Arc::new(MemoryBackend::default());
    backend.fail_creates.store(true, Ordering::SeqCst);
    let pool = pool_with(backend, 0, 1, Duration::from_millis(100));
    for _ in 0..3 {
        let err = pool.acquire().await.err().unwrap();
        assert!(matches!(err, PoolError::Backend(_)), "{err}");
    }
    let s = pool.stats();
    assert_eq!((s.total_size, s.initializing), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn shut_down_removes_idle_and_busy_sandboxes_and_refuses_new_runs() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 2, 3, Duration::from_secs(1));
    pool.fill_to_min().await.unwrap();
    let busy = pool.acquire().await.unwrap();
    assert_eq!(pool.shut_down().await, 2);
    assert!(backend.live.lock().unwrap().is_empty());
    assert!(matches!(pool.acquire().await, Err(PoolError::Closed(_))));
    drop(busy);
    settle().await;
    let s = pool.stats();
    assert!(s.closed);
    assert_eq!(s.removed, 2, "the busy one is not counted twice");
}

#[tokio::test(start_paused = true)]
async fn drain_lets_busy_runs_finish_then_removes_everything() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 3, Duration::from_secs(1));
    let idle = pool.acquire().await.unwrap();
    let busy = pool.acquire().await.unwrap();
    idle.release(true);
    let mut cancel = busy.cancel_signal();
    let drain = {
        let pool = pool.clone();
        tokio::spawn(async move { pool.drain(false).await })
    };
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(!drain.is_finished(), "waits for the busy run");
    assert_eq!(backend.live(), 1, "the idle one went at once");
    assert!(matches!(pool.acquire().await, Err(PoolError::Closed(_))));
    let not_cancelled = tokio::time::timeout(Duration::from_millis(1), cancel.cancelled()).await;
    assert!(not_cancelled.is_err(), "a plain drain cancels nothing");
    busy.release(true);
    assert_eq!(drain.await.unwrap(), 2);
    assert_eq!(backend.live(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_forced_drain_cancels_busy_runs() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 2, Duration::from_secs(1));
    let busy = pool.acquire().await.unwrap();
    let mut cancel = busy.cancel_signal();
    // The run: ends as soon as it is told to.
    let run = tokio::spawn(async move {
        cancel.cancelled().await;
        drop(busy);
    });
    let started = Instant::now();
    assert_eq!(pool.drain(true).await, 1);
    assert!(
        started.elapsed() < FORCE_GRACE,
        "the run stopped when told to, not when the grace ran out"
    );
    run.await.unwrap();
    assert_eq!(backend.live(), 0);
}

#[tokio::test(start_paused = true)]
async fn two_hundred_concurrent_cycles_end_with_consistent_counts_and_no_leaked_lease() {
    let backend = MemoryBackend::with_delays(Duration::from_millis(30), Duration::from_millis(10));
    let mut s = spec(2, 5);
    s.settings.acquisition_timeout = None;
    s.settings.max_uses = Some(7);
    s.settings.health_check_interval = Some(Duration::from_millis(50));
    let pool = Pool::start(s, backend.clone(), vec![]);
    let mut tasks = Vec::new();
    for i in 0..200u64 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            let lease = pool.acquire().await.unwrap();
            tokio::time::sleep(Duration::from_millis(i % 7)).await;
            match i % 10 {
                0 => drop(lease),          // the run failed half-way
                1 => lease.release(false), // dirty
                _ => lease.release(true),
            }
            i % 10 != 0
        }));
    }
    let mut released = 0;
    for t in tasks {
        released += t.await.unwrap() as u64;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let s = pool.stats();
    assert_eq!(s.runs, released);
    assert_eq!(
        (s.busy, s.initializing, s.removing, s.unhealthy),
        (0, 0, 0, 0)
    );
    assert_eq!(s.total_size, s.idle);
    assert!(s.idle >= 2 && s.idle <= 5, "{s:?}");
    assert_eq!(
        backend.live(),
        s.idle,
        "every live container is accounted for"
    );
    assert_eq!(s.created - s.removed, s.idle as u64);
    assert_eq!(
        pool.permits.available_permits(),
        5,
        "every permit came back: no leaked lease"
    );
}

#[tokio::test(start_paused = true)]
async fn each_removal_is_counted_under_its_reason() {
    use crate::protocol::{CreatedByReason, RemovedByReason};
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(0, 4);
    s.settings.max_uses = Some(2);
    s.settings.max_lifetime = Some(Duration::from_secs(60));
    let pool = Pool::new(s, backend.clone(), vec![]);
    // Used up: c0 after two runs.
    run_once(&pool).await;
    run_once(&pool).await;
    // Dirty after its run: c1; a run that failed half-way: c2.
    pool.acquire().await.unwrap().release(false);
    drop(pool.acquire().await.unwrap());
    // Found dead when next handed out: c3 (c4 serves instead).
    let dead = run_once(&pool).await;
    backend.kill(&dead);
    settle().await;
    run_once(&pool).await;
    // Expires while busy: c4.
    let lease = pool.acquire().await.unwrap();
    tokio::time::sleep(Duration::from_secs(61)).await;
    lease.release(true);
    // Still idle when the pool drains: c5.
    run_once(&pool).await;
    settle().await;
    assert_eq!(pool.drain(false).await, 1);
    let s = pool.stats();
    assert_eq!(
        s.removed_by_reason,
        RemovedByReason {
            idle: 0,
            lifetime: 1,
            uses: 1,
            unhealthy: 1,
            error: 2,
            shutdown: 1,
        }
    );
    assert_eq!((s.removed, s.created, backend.live()), (6, 6, 0));
    assert_eq!(
        s.created_by_reason,
        CreatedByReason {
            warm: 0,
            demand: 6,
            replacement: 0
        }
    );
    assert!(s.closed);
}

#[tokio::test(start_paused = true)]
async fn idle_recycling_counts_warm_creations_replacements_and_idle_removals() {
    let backend = Arc::new(MemoryBackend::default());
    let mut s = spec(1, 4);
    s.settings.idle_timeout = Some(Duration::from_secs(10));
    let pool = Pool::start(s, backend.clone(), vec![]);
    settle().await;
    assert_eq!(pool.stats().created_by_reason.warm, 1, "prewarmed");
    // Idle too long at min_size: replaced once (new one first), not dipped.
    tokio::time::sleep(Duration::from_secs(15)).await;
    let s = pool.stats();
    assert_eq!(s.created_by_reason.replacement, 1, "{s:?}");
    assert_eq!(s.removed_by_reason.idle, 1, "{s:?}");
    assert_eq!((s.created, s.removed, s.idle), (2, 1, 1));
}

#[tokio::test(start_paused = true)]
async fn queued_and_refused_acquisitions_are_counted_and_the_wait_is_measured() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend.clone(), 0, 1, Duration::from_secs(5));
    let first = pool.acquire().await.unwrap();
    let waiter = spawn_acquire(&pool);
    tokio::time::sleep(Duration::from_secs(2)).await;
    first.release(true);
    let second = waiter.await.unwrap().unwrap();
    // This one queues until acquisition_timeout and is refused.
    assert!(pool.acquire().await.is_err());
    second.release(true);
    let s = pool.stats();
    assert_eq!((s.waited, s.exhausted), (2, 1), "{s:?}");
    let w = s.wait_seconds;
    assert_eq!(w.count, 2, "refusals are not waits served");
    assert_eq!(w.median, Some(0.0), "the first found capacity at once");
    assert_eq!(w.p95, Some(2.0), "the second waited for the release");

    let mut s = spec(0, 1);
    s.settings.exhaustion = Exhaustion::FailFast;
    let pool = Pool::new(s, backend, vec![]);
    let _busy = pool.acquire().await.unwrap();
    assert!(pool.acquire().await.is_err());
    let s = pool.stats();
    assert_eq!((s.waited, s.exhausted), (0, 1), "fail-fast never queues");
}

#[tokio::test(start_paused = true)]
async fn a_runs_duration_and_timeout_count_when_its_lease_is_released() {
    let backend = Arc::new(MemoryBackend::default());
    let pool = pool_with(backend, 0, 1, Duration::from_secs(1));
    let mut lease = pool.acquire().await.unwrap();
    lease.record_run(Duration::from_millis(1500), true);
    assert_eq!(pool.stats().run_seconds.count, 0, "not before release");
    lease.release(true);
    let mut lease = pool.acquire().await.unwrap();
    lease.record_run(Duration::from_millis(500), false);
    lease.release(true);
    // A run whose container failed half-way is no run.
    let mut lease = pool.acquire().await.unwrap();
    lease.record_run(Duration::from_millis(700), false);
    drop(lease);
    let s = pool.stats();
    assert_eq!((s.runs, s.timeouts), (2, 1));
    let r = s.run_seconds;
    assert_eq!(
        (r.count, r.sum, r.median, r.p95),
        (2, 2.0, Some(0.5), Some(1.5))
    );
}
