//! The client-side ledger: what the server acknowledged (enrollments with their face
//! ids, deletions) and which requests it should have audited. It is saved as JSON after
//! the run, so `soak --check-only --ledger FILE` can check a restarted server against it.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Enrolled once before the traffic, never deleted: the target of impostor logins
    /// (kept apart so lockouts they cause never meet a genuine login).
    Target,
    /// Enrolled, topped up, logged into, deleted and re-enrolled by the traffic.
    Regular,
    /// An id only a refused request named (no-face enrollment, delete of a stranger):
    /// it must never appear.
    Probe,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UserState {
    /// Never acknowledged as enrolled.
    Absent,
    /// Enrolled: every face id the server acknowledged since the last deletion.
    Present { faces: Vec<String> },
    /// Acknowledged as deleted (and not re-enrolled since).
    Deleted,
    /// A request for this user had no definite answer (transport error, 5xx, abort):
    /// its state is unknown, so the check skips it (the error itself fails the run).
    Uncertain,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct User {
    pub person: String,
    pub role: Role,
    pub state: UserState,
}

#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Ledger {
    /// Prefix of every request id of this run (`soak-<run_id>-<seq>`).
    pub run_id: String,
    pub seed: u64,
    /// Sequence number of the next request (soak traffic and check requests alike).
    pub next_seq: u64,
    /// Number of the next new regular user (`soak-<n>`).
    pub next_user: usize,
    pub users: BTreeMap<String, User>,
    /// Requests that must have exactly one audit event (by sequence number).
    pub audited: BTreeSet<u64>,
    /// Requests whose audit event may or may not exist (no definite answer).
    pub maybe_audited: BTreeSet<u64>,
    /// Every request sent, check requests included.
    pub requests: u64,
}

impl Ledger {
    pub fn new(run_id: String, seed: u64) -> Self {
        Self {
            run_id,
            seed,
            ..Self::default()
        }
    }

    pub fn request_id(&self, seq: u64) -> String {
        format!("soak-{}-{seq}", self.run_id)
    }

    /// The prefix shared by every request id of this run.
    pub fn request_prefix(&self) -> String {
        format!("soak-{}-", self.run_id)
    }

    /// The sequence number of one of this run's request ids.
    pub fn seq_of(&self, request_id: &str) -> Option<u64> {
        request_id
            .strip_prefix(&self.request_prefix())?
            .parse()
            .ok()
    }

    pub fn take_seq(&mut self) -> u64 {
        let s = self.next_seq;
        self.next_seq += 1;
        self.requests += 1;
        s
    }

    pub fn note_audit(&mut self, seq: u64, audit: Audit) {
        match audit {
            Audit::Yes => {
                self.audited.insert(seq);
            }
            Audit::Maybe => {
                self.maybe_audited.insert(seq);
            }
            Audit::No => {}
        }
    }

    pub fn person_of(&self, user: &str) -> Option<&str> {
        self.users.get(user).map(|u| u.person.as_str())
    }

    pub fn save(&self, path: &Path) -> Result<()> {
        std::fs::write(path, serde_json::to_vec(self)?).with_context(|| path.display().to_string())
    }

    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).with_context(|| path.display().to_string())?;
        serde_json::from_slice(&bytes).with_context(|| format!("{}: not a ledger", path.display()))
    }
}

/// Whether the server writes an audit event for a request (see shared/api: enroll,
/// authenticate and delete write one once the request got past validation; list, audit
/// and anything refused by an extractor or a validation check write none).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audit {
    Yes,
    No,
    Maybe,
}

/// The API's routes the soak uses, for [`audited`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Enroll,
    Authenticate,
    Delete,
}

/// Which answers come with an audit event, from the handlers in shared/api/src:
/// - enroll (`add_faces`): 201, or 422 when every photo was refused — both after the
///   analysis; 400/401/403/413 come from extractors or validation before it;
/// - authenticate: 200 success, 401 rejected (no match, no face, liveness…), 429 locked
///   out; 400 (JSON, base64, frame count, undecodable frame) is not audited;
/// - delete: 200 only (404 "no enrolled faces" is not audited).
///
/// A 5xx or no answer at all may have happened before or after the event: `Maybe`.
pub fn audited(endpoint: Endpoint, status: Option<u16>) -> Audit {
    match (endpoint, status) {
        (_, None) => Audit::Maybe,
        (_, Some(s)) if s >= 500 => Audit::Maybe,
        (Endpoint::Enroll, Some(201 | 422)) => Audit::Yes,
        (Endpoint::Authenticate, Some(200 | 401 | 429)) => Audit::Yes,
        (Endpoint::Delete, Some(200)) => Audit::Yes,
        _ => Audit::No,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn audit_rules_follow_the_handlers() {
        use Endpoint::*;
        assert_eq!(audited(Enroll, Some(201)), Audit::Yes);
        assert_eq!(audited(Enroll, Some(422)), Audit::Yes);
        assert_eq!(audited(Enroll, Some(400)), Audit::No);
        assert_eq!(audited(Enroll, Some(401)), Audit::No);
        assert_eq!(audited(Authenticate, Some(429)), Audit::Yes);
        assert_eq!(audited(Authenticate, Some(401)), Audit::Yes);
        assert_eq!(audited(Authenticate, Some(400)), Audit::No);
        assert_eq!(audited(Delete, Some(200)), Audit::Yes);
        assert_eq!(audited(Delete, Some(404)), Audit::No);
        assert_eq!(audited(Delete, Some(503)), Audit::Maybe);
        assert_eq!(audited(Authenticate, None), Audit::Maybe);
    }

    #[test]
    fn request_ids_round_trip_and_the_ledger_survives_json() {
        let mut l = Ledger::new("abc".into(), 9);
        let s = l.take_seq();
        assert_eq!(l.seq_of(&l.request_id(s)), Some(s));
        assert_eq!(l.seq_of("soak-abd-0"), None);
        assert_eq!(l.seq_of("other"), None);
        l.note_audit(s, Audit::Yes);
        l.users.insert(
            "soak-0".into(),
            User {
                person: "tom".into(),
                role: Role::Regular,
                state: UserState::Present {
                    faces: vec!["f1".into()],
                },
            },
        );
        let back: Ledger = serde_json::from_slice(&serde_json::to_vec(&l).unwrap()).unwrap();
        assert_eq!(back.audited, l.audited);
        assert_eq!(back.users["soak-0"].state, l.users["soak-0"].state);
        assert_eq!((back.next_seq, back.requests), (1, 1));
    }
}
