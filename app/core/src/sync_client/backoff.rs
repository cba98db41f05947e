//! When the background sync loop tries again: the regular interval after a success,
//! exponential backoff after failures (2 s, 4 s, 8 s ... up to 5 min), and the longest
//! wait straight away when the server refused (people must act; hammering will not help).

use std::time::Duration;

pub(crate) const FIRST_RETRY: Duration = Duration::from_secs(2);
pub(crate) const MAX_RETRY: Duration = Duration::from_secs(5 * 60);

/// How the last attempt ended, as far as the schedule cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Synced, or nothing to do (not enrolled).
    Done,
    /// Could not reach or use the server; `failures` in a row so far (at least 1).
    Failed { failures: u32 },
    /// The server refused (revoked device, expired login, incompatible version).
    Refused,
}

/// The wait before the next attempt (a nudge cuts it short).
pub(crate) fn next_delay(outcome: Outcome, interval: Duration) -> Duration {
    match outcome {
        Outcome::Done => interval,
        Outcome::Refused => MAX_RETRY.max(interval),
        Outcome::Failed { failures } => {
            let exponent = failures.saturating_sub(1).min(16);
            FIRST_RETRY.saturating_mul(1u32 << exponent).min(MAX_RETRY)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_back_off_exponentially_up_to_five_minutes() {
        let interval = Duration::from_secs(60);
        let delays: Vec<u64> = (1..=10)
            .map(|n| next_delay(Outcome::Failed { failures: n }, interval).as_secs())
            .collect();
        assert_eq!(delays, [2, 4, 8, 16, 32, 64, 128, 256, 300, 300]);
        assert_eq!(
            next_delay(Outcome::Failed { failures: u32::MAX }, interval),
            MAX_RETRY
        );
    }

    #[test]
    fn success_waits_the_interval_and_a_refusal_the_longest() {
        let interval = Duration::from_secs(60);
        assert_eq!(next_delay(Outcome::Done, interval), interval);
        assert_eq!(next_delay(Outcome::Refused, interval), MAX_RETRY);
        let long = Duration::from_secs(3600);
        assert_eq!(next_delay(Outcome::Refused, long), long);
    }
}
