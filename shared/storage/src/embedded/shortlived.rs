//! Short-lived items: challenges (`challenges/<id>.json`) and failure counters
//! (`counters/<sha256(key)>.json`). Each carries its expiry; expired files are swept at
//! most once a minute, the embedded counterpart of DynamoDB's TTL.

use super::area::Area;
use crate::fsutil::{atomic_write, hex, read_optional, remove_optional};
use faceid_core::ports::{FailureCounter, Redeemed, StoreError, StoreResult};
use faceid_core::{Challenge, ChallengeId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use time::OffsetDateTime;

/// Expired challenges are kept this long so a late redeem still says `AlreadyUsed`
/// (or the caller's expiry check fires) rather than `Unknown`.
const CHALLENGE_GRACE: time::Duration = time::Duration::hours(1);
const SWEEP_EVERY: Duration = Duration::from_secs(60);

#[derive(Serialize, Deserialize)]
struct ChallengeRecord {
    challenge: Challenge,
    used: bool,
}

#[derive(Serialize, Deserialize)]
struct CounterRecord {
    key: String,
    counter: FailureCounter,
    version: u64,
    #[serde(with = "time::serde::timestamp")]
    expires_at: OffsetDateTime,
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{}: {e}", path.display()))
}

fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> StoreResult<Option<T>> {
    read_optional(path)?
        .map(|b| serde_json::from_slice(&b).map_err(|e| corrupt(path, e)))
        .transpose()
}

fn write_json<T: Serialize>(path: &Path, value: &T) -> StoreResult<()> {
    let bytes = serde_json::to_vec(value).map_err(|e| StoreError::Other(e.to_string()))?;
    atomic_write(path, &bytes)
}

/// Deletes the `.json` files in `dir` for which `expired` says so (unreadable files too:
/// they can only be leftovers of a foreign writer).
fn sweep<T: for<'de> Deserialize<'de>>(dir: &Path, expired: impl Fn(&T) -> bool) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let gone = match read_json::<T>(&path) {
            Ok(Some(r)) => expired(&r),
            Ok(None) => false,
            Err(_) => true,
        };
        if gone {
            let _ = remove_optional(&path);
        }
    }
}

/// Runs a sweep when the last one is older than [`SWEEP_EVERY`].
#[derive(Debug, Default)]
pub(crate) struct Sweeper(Mutex<Option<Instant>>);

impl Sweeper {
    pub(crate) fn due(&self) -> bool {
        let mut last = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if last.is_some_and(|t| t.elapsed() < SWEEP_EVERY) {
            return false;
        }
        *last = Some(Instant::now());
        true
    }
}

#[derive(Debug)]
pub(crate) struct Challenges {
    area: Arc<Area>,
    sweeper: Sweeper,
}

fn challenge_path(root: &Path, id: &ChallengeId) -> PathBuf {
    root.join(format!("{}.json", id.0.simple()))
}

impl Challenges {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir)?,
            sweeper: Sweeper(Mutex::new(None)),
        })
    }

    pub(crate) async fn put(&self, c: &Challenge) -> StoreResult<()> {
        let record = ChallengeRecord {
            challenge: c.clone(),
            used: false,
        };
        let sweep_now = self.sweeper.due();
        self.area
            .run(move |root| {
                if sweep_now {
                    let now = OffsetDateTime::now_utc();
                    sweep::<ChallengeRecord>(root, |r| {
                        r.challenge.expires_at + CHALLENGE_GRACE < now
                    });
                }
                write_json(&challenge_path(root, &record.challenge.id), &record)
            })
            .await
    }

    pub(crate) async fn redeem(&self, id: &ChallengeId) -> StoreResult<Redeemed> {
        let id = *id;
        self.area
            .run(move |root| {
                let path = challenge_path(root, &id);
                let Some(mut record) = read_json::<ChallengeRecord>(&path)? else {
                    return Ok(Redeemed::Unknown);
                };
                if record.used {
                    return Ok(Redeemed::AlreadyUsed);
                }
                // Read-check-write is atomic because the area lock is held throughout.
                record.used = true;
                write_json(&path, &record)?;
                Ok(Redeemed::Fresh(record.challenge))
            })
            .await
    }
}

#[derive(Debug)]
pub(crate) struct Counters {
    area: Arc<Area>,
    sweeper: Sweeper,
}

/// Counter keys are arbitrary strings (user ids, client addresses): hashing them gives
/// fixed-length, path-safe file names.
fn counter_path(root: &Path, key: &str) -> PathBuf {
    root.join(format!("{}.json", hex(&Sha256::digest(key.as_bytes()))))
}

/// The live record for `key`, ignoring an expired one.
fn live_counter(root: &Path, key: &str, now: OffsetDateTime) -> StoreResult<Option<CounterRecord>> {
    let path = counter_path(root, key);
    Ok(read_json::<CounterRecord>(&path)?.filter(|r| r.key == key && r.expires_at > now))
}

impl Counters {
    pub(crate) fn open(dir: PathBuf) -> StoreResult<Self> {
        Ok(Self {
            area: Area::open(dir)?,
            sweeper: Sweeper(Mutex::new(None)),
        })
    }

    pub(crate) async fn load(&self, key: &str) -> StoreResult<Option<(FailureCounter, u64)>> {
        let key = key.to_owned();
        self.area
            .run(move |root| {
                let now = OffsetDateTime::now_utc();
                Ok(live_counter(root, &key, now)?.map(|r| (r.counter, r.version)))
            })
            .await
    }

    pub(crate) async fn store(
        &self,
        key: &str,
        counter: &FailureCounter,
        expected: Option<u64>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        let key = key.to_owned();
        let counter = *counter;
        let sweep_now = self.sweeper.due();
        self.area
            .run(move |root| {
                let now = OffsetDateTime::now_utc();
                if sweep_now {
                    sweep::<CounterRecord>(root, |r| r.expires_at <= now);
                }
                let current = live_counter(root, &key, now)?.map(|r| r.version);
                if current != expected {
                    return Ok(false);
                }
                // A fresh random version on every write: a counter that expired and was
                // re-created can never be mistaken for the one a slow writer loaded.
                let version = loop {
                    let v = rand::random::<u64>() >> 11; // fits an f64/DynamoDB number exactly
                    if Some(v) != current {
                        break v;
                    }
                };
                write_json(
                    &counter_path(root, &key),
                    &CounterRecord {
                        key,
                        counter,
                        version,
                        expires_at,
                    },
                )?;
                Ok(true)
            })
            .await
    }

    pub(crate) async fn delete(&self, key: &str) -> StoreResult<()> {
        let key = key.to_owned();
        self.area
            .run(move |root| remove_optional(&counter_path(root, &key)).map(|_| ()))
            .await
    }
}
