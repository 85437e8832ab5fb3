//! What a pool counts about itself for `sbx pool stats`: counters,
//! removals and creations by reason, and latency summaries in bounded
//! memory. Updated under the pool's state lock, so each update is a few
//! additions, never I/O.

use crate::protocol::{CreatedByReason, Latency, RemovedByReason};
use std::time::Duration;

/// Samples kept per latency summary; past this many observations the
/// quantiles come from a uniform random sample (Vitter's algorithm R).
pub const RESERVOIR: usize = 1024;

/// Why a pool container was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Creation {
    Warm,
    Demand,
    Replacement,
}

/// Why a pool container is removed (besides being unhealthy, which has a
/// state of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    Idle,
    Lifetime,
    Uses,
    Error,
    Shutdown,
}

#[derive(Default)]
pub struct Counters {
    pub timeouts: u64,
    pub waited: u64,
    pub exhausted: u64,
    pub wait: Summary,
    pub run: Summary,
    pub created_by: CreatedByReason,
    pub removed_by: RemovedByReason,
}

impl Counters {
    pub fn created(&mut self, why: Creation) {
        let c = &mut self.created_by;
        match why {
            Creation::Warm => c.warm += 1,
            Creation::Demand => c.demand += 1,
            Creation::Replacement => c.replacement += 1,
        }
    }

    pub fn removed(&mut self, why: Removal, n: u64) {
        let r = &mut self.removed_by;
        match why {
            Removal::Idle => r.idle += n,
            Removal::Lifetime => r.lifetime += n,
            Removal::Uses => r.uses += n,
            Removal::Error => r.error += n,
            Removal::Shutdown => r.shutdown += n,
        }
    }
}

/// Count, sum and a bounded sample of observations in seconds.
#[derive(Clone)]
pub struct Summary {
    count: u64,
    sum: f64,
    samples: Vec<f64>,
    /// xorshift64 state: which sample a new observation replaces needs only
    /// to be uniform, not unpredictable.
    rng: u64,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            count: 0,
            sum: 0.0,
            samples: Vec::new(),
            rng: 0x9E37_79B9_7F4A_7C15,
        }
    }
}

impl Summary {
    pub fn observe(&mut self, d: Duration) {
        let v = d.as_secs_f64();
        self.count += 1;
        self.sum += v;
        if self.samples.len() < RESERVOIR {
            self.samples.push(v);
            return;
        }
        let j = self.next_random() % self.count;
        if let Some(slot) = self.samples.get_mut(j as usize) {
            *slot = v;
        }
    }

    fn next_random(&mut self) -> u64 {
        let mut x = self.rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.rng = x;
        x
    }

    /// The figures to report; sorting happens on this copy, after the
    /// caller has let go of the pool lock.
    pub fn snapshot(&self) -> SummarySnapshot {
        SummarySnapshot(self.count, self.sum, self.samples.clone())
    }

    #[cfg(test)]
    pub fn kept(&self) -> usize {
        self.samples.len()
    }
}

pub struct SummarySnapshot(u64, f64, Vec<f64>);

impl SummarySnapshot {
    pub fn latency(self) -> Latency {
        let SummarySnapshot(count, sum, mut samples) = self;
        samples.sort_by(f64::total_cmp);
        Latency {
            count,
            sum,
            median: quantile(&samples, 0.5),
            p95: quantile(&samples, 0.95),
        }
    }
}

/// Nearest-rank quantile of sorted samples: an observed value, never an
/// interpolation.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_observed_values() {
        let v: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(quantile(&v, 0.5), Some(10.0));
        assert_eq!(quantile(&v, 0.95), Some(19.0));
        assert_eq!(quantile(&[3.0], 0.95), Some(3.0));
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn a_summary_keeps_exact_count_and_sum_in_bounded_memory() {
        let mut s = Summary::default();
        for ms in 0..100_000u64 {
            s.observe(Duration::from_millis(ms % 1000));
        }
        assert_eq!(s.kept(), RESERVOIR);
        let l = s.snapshot().latency();
        assert_eq!(l.count, 100_000);
        assert!((l.sum - 100.0 * 499.5).abs() < 1e-6, "{}", l.sum);
        // A uniform sample of a uniform 0..1 s distribution.
        let (m, p) = (l.median.unwrap(), l.p95.unwrap());
        assert!((0.4..0.6).contains(&m), "median {m}");
        assert!((0.9..1.0).contains(&p), "p95 {p}");
    }

    #[test]
    fn an_empty_summary_has_no_quantiles() {
        let l = Summary::default().snapshot().latency();
        assert_eq!((l.count, l.median, l.p95), (0, None, None));
    }
}
