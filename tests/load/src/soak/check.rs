//! The consistency check after (or without) the traffic, through the API and, given the
//! embedded store's data dir, on disk:
//! 1. the audit log holds exactly one event for every request the server should have
//!    audited, and none for any other request of this run (matched by request id);
//! 2. every user with acknowledged enrollments is listed with exactly that many faces
//!    (on disk: exactly those face ids, template and photo); every deleted or never
//!    enrolled user is absent;
//! 3. each enrolled user's own face still logs in (1:1), and each deleted user's face is
//!    refused for that user id.
//!
//! The audit is read first: the check's own logins are audited too, and they join the
//! ledger for the next check (e.g. after a restart).

use super::http::{self, Request};
use super::ledger::{Role, UserState};
use super::traffic::{self, Action};
use super::world::World;
use super::Ctx;
use reqwest::Method;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// A count with the first few instances.
#[derive(Debug, Default, Serialize)]
pub struct Found {
    pub count: usize,
    pub examples: Vec<String>,
}

impl Found {
    fn push(&mut self, what: impl Into<String>) {
        self.count += 1;
        if self.examples.len() < 20 {
            self.examples.push(what.into());
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct AuditCheck {
    /// Requests of this run that must have exactly one event.
    pub expected: usize,
    /// Requests without a definite answer (their event may or may not exist).
    pub maybe: usize,
    /// Events carrying one of this run's request ids.
    pub found: usize,
    /// All events in the log (`GET /v1/audit`, paged).
    pub total: usize,
    pub pages: usize,
    pub missing: Found,
    pub unexpected: Found,
    pub duplicates: Found,
    /// This run's events by `event/outcome`.
    pub by_event: BTreeMap<String, usize>,
    /// Lines of `audit/events.jsonl` and those with this run's ids (given --data-dir):
    /// a cross-check of the API's paging.
    pub file_events: Option<usize>,
    pub file_found: Option<usize>,
}

#[derive(Debug, Default, Serialize)]
pub struct DiskCheck {
    pub users_checked: usize,
    /// Acknowledged face ids without a template or photo file.
    pub missing_faces: Found,
    /// Template or photo files the ledger knows nothing about.
    pub extra_files: Found,
    /// Files left behind for a deleted or never enrolled user.
    pub leftovers: Found,
}

#[derive(Debug, Default, Serialize)]
pub struct CheckReport {
    pub users_expected_present: usize,
    pub faces_expected: usize,
    pub users_expected_absent: usize,
    /// Users whose last request had no definite answer (not checked).
    pub users_uncertain: usize,
    pub users_listed: usize,
    pub missing_users: Found,
    pub face_count_mismatches: Found,
    /// Deleted or never enrolled, yet listed.
    pub zombie_users: Found,
    /// Listed users this run never created.
    pub unknown_users: Found,
    pub disk: Option<DiskCheck>,
    pub logins_enrolled: usize,
    pub logins_enrolled_failed: Found,
    pub logins_deleted: usize,
    /// A deleted user's face accepted for that user id.
    pub logins_deleted_accepted: Found,
    /// Refused by the lockout (429) instead of by matching: still a refusal.
    pub logins_deleted_locked: usize,
    pub logins_deleted_other: Found,
    pub audit: AuditCheck,
    /// Admin requests of the check (`GET /v1/users`, `GET /v1/audit`).
    pub admin_requests: usize,
    /// The check could not be completed.
    pub failures: Vec<String>,
    pub passed: bool,
}

impl CheckReport {
    fn judge(&mut self) {
        let disk_ok = self.disk.as_ref().is_none_or(|d| {
            d.missing_faces.count == 0 && d.extra_files.count == 0 && d.leftovers.count == 0
        });
        let a = &self.audit;
        let file_ok = a.file_found.is_none_or(|f| f == a.found);
        self.passed = self.failures.is_empty()
            && self.missing_users.count == 0
            && self.face_count_mismatches.count == 0
            && self.zombie_users.count == 0
            && self.unknown_users.count == 0
            && disk_ok
            && self.logins_enrolled_failed.count == 0
            && self.logins_deleted_accepted.count == 0
            && self.logins_deleted_other.count == 0
            && a.missing.count == 0
            && a.unexpected.count == 0
            && a.duplicates.count == 0
            && file_ok;
    }
}

/// GETs an admin route; the check's own requests have ids too (never audited).
async fn admin_get(
    ctx: &Ctx,
    world: &mut World,
    report: &mut CheckReport,
    path: &str,
    query: Vec<(&'static str, String)>,
) -> Result<Value, String> {
    let seq = world.ledger.take_seq();
    report.admin_requests += 1;
    let mut req = Request::new(Method::GET, path, world.ledger.request_id(seq)).token(&ctx.token);
    req.query = query;
    let ans = http::send(&ctx.http, &ctx.target, req).await;
    match ans.status {
        Some(200) => Ok(ans.body),
        _ => Err(format!(
            "GET {path}: {}",
            ans.transport.clone().unwrap_or_else(|| format!(
                "HTTP {:?} {}",
                ans.status,
                ans.code()
            ))
        )),
    }
}

/// Pages through `GET /v1/audit` (newest first, 500 a page, `before` = the last `at`).
async fn audit_events(
    ctx: &Ctx,
    world: &mut World,
    report: &mut CheckReport,
) -> Result<Vec<Value>, String> {
    let mut events = vec![];
    let mut before: Option<String> = None;
    // Bounded: 10 000 pages of 500 is far beyond any soak.
    for _ in 0..10_000 {
        let mut q = vec![("limit", "500".to_owned())];
        if let Some(b) = &before {
            q.push(("before", b.clone()));
        }
        let page = admin_get(ctx, world, report, "/v1/audit", q).await?;
        report.audit.pages += 1;
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next_before"].as_str() {
            Some(b) => before = Some(b.to_owned()),
            None => return Ok(events),
        }
    }
    Err("GET /v1/audit: more than 10 000 pages".into())
}

fn check_audit(world: &World, events: &[Value], a: &mut AuditCheck) {
    let ledger = &world.ledger;
    a.expected = ledger.audited.len();
    a.maybe = ledger.maybe_audited.len();
    a.total = events.len();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for e in events {
        let Some(seq) = e["request_id"].as_str().and_then(|r| ledger.seq_of(r)) else {
            continue;
        };
        a.found += 1;
        *seen.entry(seq).or_default() += 1;
        let label = format!(
            "{}/{}",
            e["event"].as_str().unwrap_or("?"),
            e["outcome"].as_str().unwrap_or("?")
        );
        *a.by_event.entry(label.clone()).or_default() += 1;
        if !ledger.audited.contains(&seq) && !ledger.maybe_audited.contains(&seq) {
            a.unexpected
                .push(format!("{} ({label})", ledger.request_id(seq)));
        }
    }
    for seq in &ledger.audited {
        match seen.get(seq) {
            None => a.missing.push(ledger.request_id(*seq)),
            Some(&n) if n > 1 => a
                .duplicates
                .push(format!("{} ×{n}", ledger.request_id(*seq))),
            _ => {}
        }
    }
}

/// File stems with extension `ext` in `dir` (empty when the dir does not exist).
fn stems(dir: &Path, ext: &str) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    name.strip_suffix(ext).map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The embedded store's layout (shared/storage/src/embedded/mod.rs):
/// `templates/users/<user>/<face_id>.json`, `images/photos/<user>/<face_id>.jpg`
/// (API photos; faceid_core::keys::photo_key),
/// `audit/events.jsonl`.
fn check_disk(world: &World, data: &Path, a: &mut AuditCheck) -> DiskCheck {
    let mut d = DiskCheck::default();
    for (id, user) in &world.ledger.users {
        let templates = stems(&data.join("templates/users").join(id), ".json");
        let photos = stems(&data.join("images/photos").join(id), ".jpg");
        match &user.state {
            UserState::Present { faces } => {
                d.users_checked += 1;
                let want: BTreeSet<String> = faces.iter().cloned().collect();
                for f in &want {
                    if !templates.contains(f) {
                        d.missing_faces.push(format!("{id}/{f}: template"));
                    }
                    if !photos.contains(f) {
                        d.missing_faces.push(format!("{id}/{f}: photo"));
                    }
                }
                for f in templates.union(&photos).filter(|f| !want.contains(*f)) {
                    d.extra_files.push(format!("{id}/{f}"));
                }
            }
            UserState::Absent | UserState::Deleted => {
                d.users_checked += 1;
                for f in templates.union(&photos) {
                    d.leftovers.push(format!("{id}/{f}"));
                }
            }
            UserState::Uncertain => {}
        }
    }
    let log = data.join("audit/events.jsonl");
    if let Ok(text) = std::fs::read_to_string(&log) {
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        a.file_events = Some(lines.len());
        a.file_found = Some(
            lines
                .iter()
                .filter_map(|l| serde_json::from_str::<Value>(l).ok())
                .filter(|e| {
                    e["request_id"]
                        .as_str()
                        .and_then(|r| world.ledger.seq_of(r))
                        .is_some()
                })
                .count(),
        );
    }
    d
}

/// The `i`-th (from 0) address of the check's refused logins: 127.2.x.y, one each, so
/// the per-address lockout (5 failures) never turns a refusal into a 429.
fn check_source(i: usize) -> IpAddr {
    let n = i + 1;
    IpAddr::V4(Ipv4Addr::new(127, 2, (n >> 8) as u8, (n & 0xff) as u8))
}

pub async fn check(ctx: &Ctx, world: &mut World, data_dir: Option<&PathBuf>) -> CheckReport {
    let mut r = CheckReport::default();
    match audit_events(ctx, world, &mut r).await {
        Ok(events) => check_audit(world, &events, &mut r.audit),
        Err(e) => r.failures.push(e),
    }
    let listed: BTreeMap<String, u64> =
        match admin_get(ctx, world, &mut r, "/v1/users", vec![]).await {
            Ok(body) => body["users"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .iter()
                .filter_map(|u| Some((u["user_id"].as_str()?.to_owned(), u["faces"].as_u64()?)))
                .collect(),
            Err(e) => {
                r.failures.push(e);
                r.judge();
                return r;
            }
        };
    r.users_listed = listed.len();
    let mut enrolled = vec![];
    let mut deleted = vec![];
    for (id, user) in &world.ledger.users {
        match &user.state {
            UserState::Present { faces } => {
                r.users_expected_present += 1;
                r.faces_expected += faces.len();
                match listed.get(id) {
                    None => r.missing_users.push(id.clone()),
                    Some(&n) if n != faces.len() as u64 => r
                        .face_count_mismatches
                        .push(format!("{id}: listed {n}, acknowledged {}", faces.len())),
                    _ => {}
                }
                if user.role == Role::Regular {
                    enrolled.push(id.clone());
                }
            }
            UserState::Absent | UserState::Deleted => {
                r.users_expected_absent += 1;
                if listed.contains_key(id) {
                    r.zombie_users.push(id.clone());
                }
                if user.state == UserState::Deleted {
                    deleted.push(id.clone());
                }
            }
            UserState::Uncertain => r.users_uncertain += 1,
        }
    }
    for id in listed.keys() {
        if !world.ledger.users.contains_key(id) {
            r.unknown_users.push(id.clone());
        }
    }
    if let Some(dir) = data_dir {
        r.disk = Some(check_disk(world, dir, &mut r.audit));
    }

    for id in enrolled {
        let op = world.plan_check(Action::CheckEnrolled, id.clone());
        let req = traffic::request(
            &op,
            &ctx.fixtures,
            &ctx.token,
            world.ledger.request_id(op.seq),
        );
        let ans = http::send(&ctx.http, &ctx.target, req).await;
        r.logins_enrolled += 1;
        if let Some(e) = world.apply(&op, &ans).error {
            r.logins_enrolled_failed.push(format!("{id}: {e}"));
        }
    }
    for (i, id) in deleted.into_iter().enumerate() {
        let op = world.plan_check(Action::CheckDeleted, id.clone());
        let req = traffic::request(
            &op,
            &ctx.fixtures,
            &ctx.token,
            world.ledger.request_id(op.seq),
        );
        let ans = match http::client(Some(check_source(i)), 1, ctx.timeout) {
            Ok(c) => http::send(&c, &ctx.target, req).await,
            Err(e) => {
                r.failures.push(e.to_string());
                break;
            }
        };
        r.logins_deleted += 1;
        let v = world.apply(&op, &ans);
        if v.wrong_accept {
            r.logins_deleted_accepted.push(id);
        } else if v.locked {
            r.logins_deleted_locked += 1;
        } else if let Some(e) = v.error {
            r.logins_deleted_other.push(format!("{id}: {e}"));
        }
    }
    r.judge();
    r
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::soak::ledger::{Audit, Ledger};
    use serde_json::json;

    #[test]
    fn audit_events_are_matched_by_request_id() {
        let mut l = Ledger::new("r".into(), 0);
        for audit in [Audit::Yes, Audit::Yes, Audit::No, Audit::Maybe, Audit::Yes] {
            let s = l.take_seq();
            l.note_audit(s, audit);
        }
        let w = World::new(l, 1, vec![("obama".into(), 1)]);
        let ev =
            |rid: &str| json!({"request_id": rid, "event": "authenticate", "outcome": "success"});
        // 0 once, 1 twice, 2 (not audited) present, 3 (maybe) present, 4 missing, plus
        // an event of someone else.
        let events = [
            ev("soak-r-0"),
            ev("soak-r-1"),
            ev("soak-r-1"),
            ev("soak-r-2"),
            ev("soak-r-3"),
            ev("other"),
        ];
        let mut a = AuditCheck::default();
        check_audit(&w, &events, &mut a);
        assert_eq!((a.expected, a.maybe, a.found, a.total), (3, 1, 5, 6));
        assert_eq!(a.missing.examples, ["soak-r-4"]);
        assert_eq!(a.duplicates.examples, ["soak-r-1 ×2"]);
        assert_eq!(a.unexpected.examples, ["soak-r-2 (authenticate/success)"]);
        assert_eq!(a.by_event["authenticate/success"], 5);
    }

    #[test]
    fn check_sources_are_distinct_loopback_addresses() {
        assert_eq!(check_source(0).to_string(), "127.2.0.1");
        assert_eq!(check_source(255).to_string(), "127.2.1.0");
        assert!(check_source(60_000).is_loopback());
    }
}
