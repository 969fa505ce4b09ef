//! Timing for the bench helpers that time library calls themselves.

use std::time::{Duration, Instant};

/// Calls `f` `runs` times (at least once) and returns the median duration and the last result.
pub fn median<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut times = Vec::with_capacity(runs.max(1));
    let mut last = None;
    for _ in 0..runs.max(1) {
        let started = Instant::now();
        last = Some(f());
        times.push(started.elapsed());
    }
    times.sort();
    (times[times.len() / 2], last.expect("ran at least once"))
}
