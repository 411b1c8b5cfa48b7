//! Lockout after repeated failures, per user and per client network.
//!
//! An attempt is *reserved* before any face work: the counter is charged atomically
//! (compare-and-set in a [`CounterStore`], so it holds across Lambda instances and against
//! parallel requests) and a locked key refuses at once. The outcome then *settles* it:
//! a success clears the user's failures and refunds the network's charge (its history is
//! kept); a request that failed before any face work refunds the user (a bad frame or an
//! unknown challenge must not let anyone lock a victim out cheaply); a failure keeps both.
//! `max_failures` inside `window` lock the key for `cooldown`, doubled for every further
//! lock within `memory` (AWS's guidance: 30–60 min after 5 failures in 3 min).

use crate::domain::UserId;
use crate::ports::{CounterStore, FailureCounter, StoreError, StoreResult};
use std::net::IpAddr;
use time::{Duration, OffsetDateTime};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LockoutPolicy {
    pub max_failures: u32,
    pub window: Duration,
    /// The first lock's length; each further lock within `memory` doubles it.
    pub cooldown: Duration,
    pub max_cooldown: Duration,
    /// How long earlier locks count towards escalation.
    pub memory: Duration,
}

impl Default for LockoutPolicy {
    fn default() -> Self {
        Self {
            max_failures: 5,
            window: Duration::minutes(3),
            cooldown: Duration::minutes(30),
            max_cooldown: Duration::hours(24),
            memory: Duration::hours(24),
        }
    }
}

/// What a lockout counter is kept for.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LockoutKey(String);

impl LockoutKey {
    pub fn user(user: &UserId) -> Self {
        Self(format!("user#{user}"))
    }
    /// A client address, as its network: IPv6 by /64 (one host owns a whole /64, so a
    /// per-address count would be free to dodge), IPv4-mapped IPv6 as IPv4. Anything that
    /// is not an IP address is counted as given.
    pub fn network(addr: &str) -> Self {
        let net = match addr.parse::<IpAddr>() {
            Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.to_string(),
                None => {
                    let s = v6.segments();
                    format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
                }
            },
            Ok(IpAddr::V4(v4)) => v4.to_string(),
            Err(_) => addr.to_owned(),
        };
        Self(format!("addr#{net}"))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One reserved attempt on one key, to be settled.
#[derive(Debug, Clone, PartialEq)]
pub struct Reservation {
    pub key: LockoutKey,
    /// This attempt imposed a lock (it was the last one allowed).
    locked_at: Option<OffsetDateTime>,
}

/// How an attempt ended, for [`LockoutPolicy::settle`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Logged in: the user's failures are forgotten; the network's charge is refunded.
    Success,
    /// Refused after face work: the charge stays.
    Failed,
    /// Failed before any face work (bad frame, unknown challenge): the user is refunded.
    NotAttempted,
}

/// Compare-and-set attempts before a counter update gives up (503).
const CAS_ATTEMPTS: usize = 64;

impl LockoutPolicy {
    /// The counter after charging one attempt at `now`, and whether that imposed a lock.
    pub fn after_attempt(
        &self,
        prev: Option<FailureCounter>,
        now: OffsetDateTime,
    ) -> (FailureCounter, bool) {
        let mut c = match prev {
            Some(c) if now - c.window_start < self.window => c,
            Some(c) => FailureCounter {
                count: 0,
                window_start: now,
                ..c
            },
            None => FailureCounter {
                count: 0,
                window_start: now,
                locked_until: None,
                lockouts: 0,
                last_locked_at: None,
            },
        };
        if c.last_locked_at.is_some_and(|t| now - t >= self.memory) {
            c.lockouts = 0;
        }
        c.count += 1;
        let locks = c.count >= self.max_failures;
        if locks {
            let doublings = c.lockouts.min(16);
            let cooldown = (self.cooldown * 2i32.pow(doublings)).min(self.max_cooldown);
            c.locked_until = Some(now + cooldown);
            c.last_locked_at = Some(now);
            c.lockouts += 1;
            // A fresh window after the lock: the next lock needs five more failures.
            c.count = 0;
            c.window_start = now;
        }
        (c, locks)
    }

    /// How long the key is still locked, if it is.
    pub fn retry_after(&self, c: &FailureCounter, now: OffsetDateTime) -> Option<Duration> {
        c.locked_until.filter(|&t| t > now).map(|t| t - now)
    }

    /// When the store may forget the counter.
    fn expires(&self, c: &FailureCounter) -> OffsetDateTime {
        let window_end = c.window_start + self.window;
        let locked = c.locked_until.unwrap_or(window_end);
        let remembered = c.last_locked_at.map_or(window_end, |t| t + self.memory);
        window_end.max(locked).max(remembered)
    }

    /// Charges one attempt to `key`, atomically; `Err(Ok(wait))` when the key is locked.
    pub async fn reserve(
        &self,
        store: &dyn CounterStore,
        key: LockoutKey,
        now: OffsetDateTime,
    ) -> Result<Reservation, Result<Duration, StoreError>> {
        for _ in 0..CAS_ATTEMPTS {
            let (prev, version) = match store.load_counter(key.as_str()).await.map_err(Err)? {
                Some((c, v)) => (Some(c), Some(v)),
                None => (None, None),
            };
            if let Some(wait) = prev.as_ref().and_then(|c| self.retry_after(c, now)) {
                return Err(Ok(wait));
            }
            let (next, locked) = self.after_attempt(prev, now);
            let stored = store
                .store_counter(key.as_str(), &next, version, self.expires(&next))
                .await
                .map_err(Err)?;
            if stored {
                return Ok(Reservation {
                    key,
                    locked_at: locked.then_some(now),
                });
            }
        }
        Err(Err(StoreError::Unavailable(
            "failure counter is contended".into(),
        )))
    }

    /// Settles a reservation with the attempt's outcome (see the module docs). A refund
    /// takes back the charge, and the lock if this attempt imposed it.
    pub async fn settle(
        &self,
        store: &dyn CounterStore,
        r: &Reservation,
        outcome: Outcome,
        is_user: bool,
    ) -> StoreResult<()> {
        let refund = match (outcome, is_user) {
            (Outcome::Failed, _) => false,
            (Outcome::Success, true) => return store.delete_counter(r.key.as_str()).await,
            (Outcome::Success, false) | (Outcome::NotAttempted, true) => true,
            (Outcome::NotAttempted, false) => false,
        };
        if !refund {
            return Ok(());
        }
        for _ in 0..CAS_ATTEMPTS {
            let Some((mut c, version)) = store.load_counter(r.key.as_str()).await? else {
                return Ok(());
            };
            match r.locked_at {
                Some(t) if c.last_locked_at == Some(t) => {
                    c.locked_until = None;
                    c.lockouts = c.lockouts.saturating_sub(1);
                    c.count = self.max_failures.saturating_sub(1);
                }
                Some(_) => return Ok(()), // locked again since: leave it
                None => c.count = c.count.saturating_sub(1),
            }
            if store
                .store_counter(r.key.as_str(), &c, Some(version), self.expires(&c))
                .await?
            {
                return Ok(());
            }
        }
        Err(StoreError::Unavailable(
            "failure counter is contended".into(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifth_attempt_in_window_locks_and_locks_escalate() {
        let p = LockoutPolicy::default();
        let t0 = OffsetDateTime::now_utc();
        let mut c = None;
        for i in 0..4 {
            let (n, locked) = p.after_attempt(c, t0 + Duration::seconds(i));
            assert!(!locked && p.retry_after(&n, t0 + Duration::seconds(i)).is_none());
            c = Some(n);
        }
        let (first, locked) = p.after_attempt(c, t0 + Duration::seconds(10));
        assert!(locked);
        let wait = p.retry_after(&first, t0 + Duration::seconds(10)).unwrap();
        assert_eq!(wait, Duration::minutes(30));
        // Five more failures after the lock ends: twice as long.
        let mut c = Some(first);
        let t1 = t0 + Duration::minutes(31);
        for i in 0..5 {
            c = Some(p.after_attempt(c, t1 + Duration::seconds(i)).0);
        }
        let second = c.unwrap();
        assert_eq!(
            p.retry_after(&second, t1 + Duration::seconds(4)),
            Some(Duration::minutes(60))
        );
        // A day later the escalation is forgotten.
        let mut c = Some(second);
        let t2 = t0 + Duration::hours(26);
        for i in 0..5 {
            c = Some(p.after_attempt(c, t2 + Duration::seconds(i)).0);
        }
        assert_eq!(
            p.retry_after(&c.unwrap(), t2 + Duration::seconds(4)),
            Some(Duration::minutes(30))
        );
    }

    #[test]
    fn escalation_is_capped() {
        let p = LockoutPolicy::default();
        let mut c = None;
        let mut t = OffsetDateTime::now_utc();
        let mut last = Duration::ZERO;
        for _ in 0..12 {
            for _ in 0..5 {
                c = Some(p.after_attempt(c, t).0);
            }
            last = p.retry_after(c.as_ref().unwrap(), t).unwrap();
            t += Duration::minutes(1);
            // Jump past the lock, staying inside the memory.
            c.as_mut().unwrap().locked_until = None;
        }
        assert_eq!(last, Duration::hours(24));
    }

    #[test]
    fn networks_group_ipv6_by_64_and_unmap_ipv4() {
        let k = |a: &str| LockoutKey::network(a).as_str().to_owned();
        assert_eq!(
            k("2001:db8:1:2:aaaa::1"),
            k("2001:db8:1:2:ffff:ffff:ffff:ffff")
        );
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:192.0.2.7"), k("192.0.2.7"));
        assert_eq!(k("192.0.2.7"), "addr#192.0.2.7");
        assert_eq!(k("unknown"), "addr#unknown");
    }
}
