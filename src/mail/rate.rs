//! Rate limits shared by every connection: one token bucket per configured window (second,
//! minute, hour, day), and a pause when the server asks us to slow down (a throttling reply). The
//! per-second limit is smooth (a bucket of one token, as GCRA with no burst: at R/s, one message
//! every 1/R s, so N messages take at least (N-1)/R s); the longer windows are quotas, whose
//! buckets hold the whole window. The day and hour buckets start with what earlier sends already
//! used, so a restart does not reset them.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use crate::config::RateLimits;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    capacity: f64,
    tokens: f64,
    per_second: f64,
}

#[derive(Debug)]
struct State {
    buckets: Vec<Bucket>,
    last: Instant,
    paused_until: Option<Instant>,
}

/// Messages already sent in the last hour and day, across all issues.
#[derive(Debug, Clone, Copy, Default)]
pub struct Recent {
    /// Sent in the last hour.
    pub hour: u64,
    /// Sent in the last 24 hours.
    pub day: u64,
}

/// The shared limiter.
#[derive(Debug)]
pub struct Limiter {
    state: Mutex<State>,
}

fn buckets(limits: &RateLimits, recent: Recent) -> Vec<Bucket> {
    [
        (limits.per_second, 1.0, 0),
        (limits.per_minute, 60.0, 0),
        (limits.per_hour, 3600.0, recent.hour),
        (limits.per_day, 86400.0, recent.day),
    ]
    .into_iter()
    .filter_map(|(limit, window, used)| {
        let limit = f64::from(limit?);
        // A second is the smallest window: its bucket holds one token, so nothing bursts.
        let capacity = if window <= 1.0 { 1.0 } else { limit };
        Some(Bucket {
            capacity,
            tokens: capacity - used as f64,
            per_second: limit / window,
        })
    })
    .collect()
}

impl Limiter {
    /// A limiter for `limits`, with `recent` sends already counted.
    pub fn new(limits: &RateLimits, recent: Recent) -> Limiter {
        let state = State {
            buckets: buckets(limits, recent),
            last: Instant::now(),
            paused_until: None,
        };
        Limiter {
            state: Mutex::new(state),
        }
    }

    /// Reserves a slot for one message and returns how long to wait for it.
    fn reserve(&self, now: Instant) -> Duration {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let elapsed = now.saturating_duration_since(s.last).as_secs_f64();
        s.last = now;
        let mut wait: f64 = 0.0;
        for b in &mut s.buckets {
            b.tokens = (b.tokens + elapsed * b.per_second).min(b.capacity);
            if b.tokens < 1.0 {
                wait = wait.max((1.0 - b.tokens) / b.per_second);
            }
            b.tokens -= 1.0;
        }
        let paused = s
            .paused_until
            .map_or(Duration::ZERO, |p| p.saturating_duration_since(now));
        Duration::from_secs_f64(wait).max(paused)
    }

    /// Waits until one more message may go.
    pub async fn acquire(&self) {
        let wait = self.reserve(Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }

    /// Holds every connection back for `pause` (the server asked us to slow down).
    pub fn pause(&self, pause: Duration) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + pause;
        s.paused_until = Some(s.paused_until.map_or(until, |p| p.max(until)));
    }
}

/// How long `n` messages take under `limits` with `recent` sends counted; `None` without limits.
pub fn estimate(limits: &RateLimits, recent: Recent, n: u64) -> Option<Duration> {
    let b = buckets(limits, recent);
    if b.is_empty() {
        return None;
    }
    let seconds = b
        .iter()
        .map(|b| ((n as f64 - b.tokens).max(0.0)) / b.per_second)
        .fold(0.0, f64::max);
    Some(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(per_second: Option<u32>, per_day: Option<u32>) -> RateLimits {
        RateLimits {
            per_second,
            per_day,
            ..RateLimits::default()
        }
    }

    #[test]
    fn a_per_second_limit_spaces_every_message_without_a_burst() {
        let l = Limiter::new(&limits(Some(10), None), Recent::default());
        let t0 = Instant::now();
        let waits: Vec<Duration> = (0..4).map(|_| l.reserve(t0)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 100, 200, 300]);
        // Idle time does not build up a burst either.
        let later = t0 + Duration::from_secs(10);
        assert!(l.reserve(later).is_zero());
        assert_eq!(l.reserve(later), Duration::from_millis(100));
    }

    // Before: the per-second bucket held a whole second of tokens, and at 5/s, 21 messages went
    // out in the first 3.2 s.
    #[tokio::test(start_paused = true)]
    async fn n_messages_at_r_per_second_take_at_least_n_minus_one_over_r_seconds() {
        let l = Limiter::new(&limits(Some(5), None), Recent::default());
        let t0 = Instant::now();
        for _ in 0..21 {
            l.acquire().await;
        }
        assert!(t0.elapsed() >= Duration::from_secs(4), "{:?}", t0.elapsed());
    }

    #[test]
    fn the_day_bucket_counts_earlier_sends() {
        let l = Limiter::new(&limits(None, Some(100)), Recent { hour: 0, day: 100 });
        assert!(
            l.reserve(Instant::now()) >= Duration::from_secs(800),
            "one slot refills in 864 s"
        );
    }

    #[test]
    fn a_pause_holds_everyone_back() {
        let l = Limiter::new(&RateLimits::default(), Recent::default());
        assert!(l.reserve(Instant::now()).is_zero());
        l.pause(Duration::from_secs(5));
        assert!(l.reserve(Instant::now()) > Duration::from_secs(4));
    }

    #[test]
    fn estimates_follow_the_tightest_limit() {
        assert_eq!(
            estimate(&RateLimits::default(), Recent::default(), 1000),
            None
        );
        let e = estimate(&limits(Some(10), Some(1000)), Recent::default(), 1010).unwrap();
        // 1010 messages: 10/s gives 100 s; 1000/day leaves 10 for the next day (864 s).
        assert_eq!(e.as_secs(), 864);
        assert_eq!(
            estimate(&limits(Some(10), None), Recent::default(), 5).unwrap(),
            Duration::from_millis(400)
        );
    }
}
