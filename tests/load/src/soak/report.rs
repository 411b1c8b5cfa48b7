//! The soak's report: JSON for the record, a short table for people.

use super::check::CheckReport;
use super::drive::{Driven, Sample};
use super::ledger::{Role, UserState};
use super::world::World;
use crate::stats::Summary;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

#[derive(Debug, Serialize)]
pub struct KindReport {
    pub sent: usize,
    /// HTTP status (or "no answer") → count.
    pub statuses: BTreeMap<String, usize>,
    pub latency: Option<Summary>,
}

#[derive(Debug, Default, Serialize)]
pub struct UsersReport {
    /// Regular users created by the traffic (`soak-<n>`).
    pub regular_created: usize,
    pub present: usize,
    pub deleted: usize,
    pub uncertain: usize,
    pub faces_present: usize,
    pub targets: usize,
    /// Ids only named by refused requests.
    pub probes: usize,
}

#[derive(Debug, Default, Serialize)]
pub struct ServerReport {
    /// Over the traffic and the check.
    #[serde(flatten)]
    pub usage: crate::procfs::Usage,
    pub samples: Vec<Sample>,
}

#[derive(Debug, Default, Serialize)]
pub struct ErrorsReport {
    pub total: usize,
    /// Requests without an HTTP answer (connect errors, timeouts, abandoned).
    pub transport: usize,
    pub server_5xx: usize,
    /// Wrong status or body for the request's kind.
    pub unexpected: usize,
    pub kinds: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
pub struct SoakReport {
    pub url: String,
    pub mode: &'static str,
    pub seed: u64,
    pub run_id: String,
    pub concurrency: usize,
    pub duration_s: f64,
    pub max_requests: Option<usize>,
    pub time_limit_s: f64,
    pub wall_s: f64,
    pub timed_out: bool,
    pub abandoned: usize,
    /// Requests answered in this invocation (traffic + the check's logins).
    pub requests: usize,
    pub throughput_rps: f64,
    pub by_kind: BTreeMap<String, KindReport>,
    pub errors: ErrorsReport,
    pub wrong_accepts: usize,
    pub genuine_refused: usize,
    pub impostor_locked_out: usize,
    pub users: UsersReport,
    /// Every request of the run so far, from the ledger (check's admin GETs included).
    pub ledger_requests: u64,
    pub consistency: CheckReport,
    pub server: Option<ServerReport>,
    pub loadavg_start: Option<String>,
    pub loadavg_end: Option<String>,
    pub passed: bool,
}

pub struct Meta {
    pub url: String,
    pub check_only: bool,
    pub concurrency: usize,
    pub duration_s: f64,
    pub max_requests: Option<usize>,
    pub time_limit_s: f64,
    pub server: Option<ServerReport>,
    pub loadavg_start: Option<String>,
    pub loadavg_end: Option<String>,
}

pub fn build(meta: Meta, world: &World, driven: Driven, check: CheckReport) -> SoakReport {
    let t = &world.tally;
    let by_kind: BTreeMap<String, KindReport> = t
        .by_kind
        .iter()
        .map(|(k, statuses)| {
            (
                k.to_string(),
                KindReport {
                    sent: statuses.values().sum(),
                    statuses: statuses.clone(),
                    latency: t.latencies.get(k).and_then(|l| Summary::of(l)),
                },
            )
        })
        .collect();
    let count = |f: &dyn Fn(&str) -> bool| -> usize {
        t.by_kind
            .values()
            .flat_map(|s| s.iter())
            .filter(|(status, _)| f(status))
            .map(|(_, n)| n)
            .sum()
    };
    let transport = count(&|s| s == "no answer");
    let server_5xx = count(&|s| s.starts_with('5'));
    let total = t.error_count();
    let errors = ErrorsReport {
        total,
        transport,
        server_5xx,
        unexpected: total.saturating_sub(transport + server_5xx),
        kinds: t.errors.clone(),
    };
    let mut users = UsersReport::default();
    for u in world.ledger.users.values() {
        match u.role {
            Role::Target => users.targets += 1,
            Role::Probe => users.probes += 1,
            Role::Regular => users.regular_created += 1,
        }
        if u.role == Role::Probe {
            continue;
        }
        match &u.state {
            UserState::Present { faces } => {
                users.present += 1;
                users.faces_present += faces.len();
            }
            UserState::Deleted => users.deleted += 1,
            UserState::Uncertain => users.uncertain += 1,
            UserState::Absent => {}
        }
    }
    let wall_s = driven.wall.as_secs_f64();
    let mut server = meta.server;
    if let Some(s) = &mut server {
        s.samples = driven.samples;
    }
    let passed = !driven.timed_out && errors.total == 0 && t.wrong_accepts == 0 && check.passed;
    SoakReport {
        url: meta.url,
        mode: if meta.check_only {
            "check-only"
        } else {
            "soak"
        },
        seed: world.ledger.seed,
        run_id: world.ledger.run_id.clone(),
        concurrency: meta.concurrency,
        duration_s: meta.duration_s,
        max_requests: meta.max_requests,
        time_limit_s: meta.time_limit_s,
        wall_s,
        timed_out: driven.timed_out,
        abandoned: driven.abandoned,
        requests: t.requests,
        throughput_rps: if wall_s > 0.0 {
            t.requests as f64 / wall_s
        } else {
            0.0
        },
        by_kind,
        errors,
        wrong_accepts: t.wrong_accepts,
        genuine_refused: t.false_rejects,
        impostor_locked_out: t.impostor_locked,
        users,
        ledger_requests: world.ledger.requests,
        consistency: check,
        server,
        loadavg_start: meta.loadavg_start,
        loadavg_end: meta.loadavg_end,
        passed,
    }
}

fn ms(s: Option<&Summary>, f: impl Fn(&Summary) -> f64) -> String {
    s.map_or("–".into(), |s| format!("{:.0}", f(s)))
}

fn mib(v: Option<f64>) -> String {
    v.map_or("?".into(), |v| format!("{v:.0}"))
}

impl SoakReport {
    /// The human summary: a table by kind, then errors, consistency and the server.
    pub fn markdown(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(
            o,
            "{} of {}: seed {}, run {}, C={}, wall {:.1} s, {} requests answered ({:.2}/s), load avg {} → {}\n",
            self.mode,
            self.url,
            self.seed,
            self.run_id,
            self.concurrency,
            self.wall_s,
            self.requests,
            self.throughput_rps,
            self.loadavg_start.as_deref().unwrap_or("?"),
            self.loadavg_end.as_deref().unwrap_or("?"),
        );
        o.push_str(
            "| kind | sent | statuses | p50 ms | p99 ms | max ms |\n|---|---|---|---|---|---|\n",
        );
        for (k, r) in &self.by_kind {
            let statuses: Vec<String> =
                r.statuses.iter().map(|(s, n)| format!("{s}×{n}")).collect();
            let l = r.latency.as_ref();
            let _ = writeln!(
                o,
                "| {k} | {} | {} | {} | {} | {} |",
                r.sent,
                statuses.join(" "),
                ms(l, |s| s.p50_ms),
                ms(l, |s| s.p99_ms),
                ms(l, |s| s.max_ms),
            );
        }
        let e = &self.errors;
        let _ = writeln!(
            o,
            "\nerrors: {} (no answer {}, 5xx {}, unexpected {}); wrong accepts {}; genuine logins refused {}; impostor logins locked out (429) {}{}",
            e.total,
            e.transport,
            e.server_5xx,
            e.unexpected,
            self.wrong_accepts,
            self.genuine_refused,
            self.impostor_locked_out,
            if self.timed_out { "; HARD TIME LIMIT HIT" } else { "" },
        );
        for (k, n) in &e.kinds {
            let _ = writeln!(o, "  {n} × {k}");
        }
        let c = &self.consistency;
        let u = &self.users;
        let _ = writeln!(
            o,
            "users: {} regular created, {} present with {} faces, {} deleted, {} uncertain, {} targets, {} probes",
            u.regular_created, u.present, u.faces_present, u.deleted, u.uncertain, u.targets, u.probes
        );
        let _ = writeln!(
            o,
            "consistency: {} users expected ({} faces), {} listed; missing {}, face-count mismatches {}, zombies {}, unknown {}",
            c.users_expected_present,
            c.faces_expected,
            c.users_listed,
            c.missing_users.count,
            c.face_count_mismatches.count,
            c.zombie_users.count,
            c.unknown_users.count,
        );
        if let Some(d) = &c.disk {
            let _ = writeln!(
                o,
                "  on disk: {} users checked; missing face files {}, extra files {}, leftovers of deleted users {}",
                d.users_checked, d.missing_faces.count, d.extra_files.count, d.leftovers.count
            );
        }
        let _ = writeln!(
            o,
            "  logins: {} enrolled users, {} refused; {} deleted users, {} accepted, {} locked out, {} other",
            c.logins_enrolled,
            c.logins_enrolled_failed.count,
            c.logins_deleted,
            c.logins_deleted_accepted.count,
            c.logins_deleted_locked,
            c.logins_deleted_other.count,
        );
        let a = &c.audit;
        let _ = writeln!(
            o,
            "  audit: expected {} (+{} undecided), found {} of this run ({} in the log, {} pages{}); missing {}, unexpected {}, duplicates {}",
            a.expected,
            a.maybe,
            a.found,
            a.total,
            a.pages,
            a.file_found
                .map_or(String::new(), |f| format!(", {f} in events.jsonl")),
            a.missing.count,
            a.unexpected.count,
            a.duplicates.count,
        );
        for f in &c.failures {
            let _ = writeln!(o, "  check failed: {f}");
        }
        if let Some(s) = &self.server {
            let _ = writeln!(
                o,
                "server: RSS {} → {} MiB, peak {} MiB{} (lifetime {} MiB), CPU {} s",
                mib(s.usage.rss_start_mib),
                mib(s.usage.rss_end_mib),
                mib(s.usage.peak_rss_mib),
                if s.usage.peak_was_reset {
                    ""
                } else {
                    " (not reset)"
                },
                mib(s.usage.lifetime_peak_rss_mib),
                s.usage.cpu_s.map_or("?".into(), |c| format!("{c:.0}")),
            );
        }
        let _ = writeln!(o, "{}", if self.passed { "PASSED" } else { "FAILED" });
        o
    }
}
