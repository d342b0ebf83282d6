//! Exponential backoff with full jitter, pure: the caller passes the random draw.
//!
//! Written here rather than taken from a crate because the sync engine needs the delay as a
//! plain value it can store in the outbox (`next_attempt_at`) and test with a fake clock;
//! the retry-loop crates own the sleeping, which we must not hand over.

use std::time::Duration;

/// First retry waits up to this long.
pub const BASE: Duration = Duration::from_secs(1);
/// No wait is ever longer than this (a station should notice a returning link within minutes).
pub const CAP: Duration = Duration::from_secs(300);

/// Delay before attempt number `failures + 1`, given `failures` consecutive failures so far.
/// `unit` is a uniform random number in `[0, 1)`; full jitter spreads the stations of a
/// county so they do not all dial at once when its link comes back.
pub fn delay(failures: u32, unit: f64) -> Duration {
    let ceiling = BASE
        .checked_mul(1u32.checked_shl(failures.min(20)).unwrap_or(u32::MAX))
        .unwrap_or(CAP)
        .min(CAP);
    let unit = if unit.is_finite() {
        unit.clamp(0.0, 1.0)
    } else {
        0.0
    };
    // Never zero: a tight loop against a failing county helps nobody.
    ceiling.mul_f64(unit).max(Duration::from_millis(100))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let top = |n| delay(n, 0.999_999);
        assert!(top(0) <= Duration::from_secs(1));
        assert!(top(1) > Duration::from_millis(1900) && top(1) <= Duration::from_secs(2));
        assert!(top(4) > Duration::from_millis(15_900) && top(4) <= Duration::from_secs(16));
        assert_eq!(delay(30, 1.0), CAP);
        assert_eq!(delay(u32::MAX, 1.0), CAP);
    }

    #[test]
    fn jitter_is_bounded_and_never_zero() {
        assert_eq!(delay(3, 0.0), Duration::from_millis(100));
        assert_eq!(delay(3, f64::NAN), Duration::from_millis(100));
        assert_eq!(delay(3, 0.5), Duration::from_secs(4));
        assert_eq!(delay(3, 7.0), Duration::from_secs(8));
    }
}
