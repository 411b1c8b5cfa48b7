//! Lockout after repeated failures: N failed attempts inside a window lock the key
//! (a user id or a client address) for a cool-down. Counters live in a [`CounterStore`]
//! so they hold across Lambda instances; updates are compare-and-set.

use crate::ports::{CounterStore, FailureCounter, StoreError, StoreResult};
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    pub cooldown: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(3),
            cooldown: Duration::minutes(3),
        }
    }
}

impl LockoutPolicy {
    /// The counter after one more failure at `now`.
    pub fn after_failure(
        &self,
        prev: Option<FailureCounter>,
        now: OffsetDateTime,
    ) -> FailureCounter {
        let mut c = match prev {
            Some(c) if now - c.window_start < self.window => c,
            _ => FailureCounter {
                count: 0,
                window_start: now,
                locked_until: None,
            },
        };
        c.count += 1;
        if c.count >= self.max_failures {
            c.locked_until = Some(now + self.cooldown);
        }
        c
    }

    /// How long the key is still locked, if it is.
    pub fn retry_after(&self, c: &FailureCounter, now: OffsetDateTime) -> Option<Duration> {
        c.locked_until.filter(|&t| t > now).map(|t| t - now)
    }

    /// Records one failure; returns the new counter.
    pub async fn record_failure(
        &self,
        store: &dyn CounterStore,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<FailureCounter> {
        for _ in 0..8 {
            let current = store.load_counter(key).await?;
            let (prev, version) = match current {
                Some((c, v)) => (Some(c), Some(v)),
                None => (None, None),
            };
            let next = self.after_failure(prev, now);
            let expires = next
                .locked_until
                .unwrap_or(now)
                .max(next.window_start + self.window);
            if store.store_counter(key, &next, version, expires).await? {
                return Ok(next);
            }
        }
        Err(StoreError::Unavailable(
            "failure counter is contended".into(),
        ))
    }

    /// `Some(wait)` when the key is locked out now.
    pub async fn check(
        &self,
        store: &dyn CounterStore,
        key: &str,
        now: OffsetDateTime,
    ) -> StoreResult<Option<Duration>> {
        Ok(store
            .load_counter(key)
            .await?
            .and_then(|(c, _)| self.retry_after(&c, now)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifth_failure_in_window_locks_and_cooldown_ends() {
        let p = LockoutPolicy::default();
        let t0 = OffsetDateTime::now_utc();
        let mut c = None;
        for i in 0..4 {
            let n = p.after_failure(c, t0 + Duration::seconds(i));
            assert!(p.retry_after(&n, t0 + Duration::seconds(i)).is_none());
            c = Some(n);
        }
        let locked = p.after_failure(c, t0 + Duration::seconds(10));
        assert!(p.retry_after(&locked, t0 + Duration::seconds(11)).is_some());
        assert!(p
            .retry_after(&locked, t0 + Duration::seconds(10) + p.cooldown)
            .is_none());
        // Failures spread beyond the window start a new count.
        let fresh = p.after_failure(Some(locked), t0 + Duration::minutes(10));
        assert_eq!(fresh.count, 1);
    }
}
