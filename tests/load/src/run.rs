//! The bounded load run: exactly `requests` logins by `concurrency` workers, under a hard
//! time limit, with `/healthz` probed on its own connection meanwhile (a handler that
//! blocked the async runtime would show up there as a slow health check).

use crate::procfs;
use crate::stats::Summary;
use crate::target::Target;
use crate::workload::Workload;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

pub struct LoadConfig {
    pub target: Target,
    pub workload: Workload,
    pub requests: usize,
    pub concurrency: usize,
    /// Sequential logins before the measurement (not counted; they must succeed).
    pub warmup: usize,
    pub time_limit: Duration,
    pub user_id: Option<String>,
    /// The user every login must resolve to (the response's `user_id`).
    pub expect_user: Option<String>,
    pub health_interval: Duration,
    pub server_pid: Option<u32>,
}

/// How one login went.
struct Outcome {
    /// The `POST /v1/authenticate` round trip.
    latency: Duration,
    /// The `POST /v1/challenge` round trip, in liveness mode.
    challenge: Option<Duration>,
    /// `None` for a success; else a short description used to group errors.
    error: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct ServerUsage {
    /// Over the measured requests.
    #[serde(flatten)]
    pub usage: procfs::Usage,
    pub cpu_ms_per_request: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct LoadReport {
    pub url: String,
    pub workload: &'static str,
    pub requests: usize,
    pub concurrency: usize,
    pub completed: usize,
    pub ok: usize,
    pub errors: usize,
    pub error_kinds: BTreeMap<String, usize>,
    pub timed_out: bool,
    pub wall_s: f64,
    pub throughput_rps: f64,
    pub latency: Option<Summary>,
    pub challenge_latency: Option<Summary>,
    pub healthz_idle: Option<Summary>,
    pub healthz_under_load: Option<Summary>,
    pub healthz_errors: usize,
    pub server: Option<ServerUsage>,
    pub loadavg_start: Option<String>,
    pub loadavg_end: Option<String>,
}

impl LoadReport {
    pub fn passed(&self) -> bool {
        !self.timed_out && self.errors == 0 && self.completed == self.requests
    }
}

fn client(pool: usize, timeout: Duration) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        // Loopback only: an HTTP(S)_PROXY in the environment must not reroute requests.
        .no_proxy()
        .pool_max_idle_per_host(pool)
        .timeout(timeout)
        .build()
        .context("building the HTTP client")
}

async fn login(http: &reqwest::Client, cfg: &LoadConfig) -> Outcome {
    let mut challenge_time = None;
    let challenge = if cfg.workload.needs_challenge() {
        let t = Instant::now();
        let resp = http.post(cfg.target.url("/v1/challenge")).send().await;
        challenge_time = Some(t.elapsed());
        match resp {
            Ok(r) if r.status().as_u16() == 201 => match r.json::<Value>().await {
                Ok(v) => Some(v),
                Err(e) => {
                    return failed(t.elapsed(), challenge_time, format!("challenge body: {e}"))
                }
            },
            Ok(r) => {
                let status = r.status().as_u16();
                return failed(
                    t.elapsed(),
                    challenge_time,
                    format!("challenge HTTP {status}"),
                );
            }
            Err(e) => return failed(t.elapsed(), challenge_time, transport(&e)),
        }
    } else {
        None
    };
    let body = match cfg
        .workload
        .body(challenge.as_ref(), cfg.user_id.as_deref())
    {
        Ok(b) => b,
        Err(e) => return failed(Duration::ZERO, challenge_time, e.to_string()),
    };
    let t = Instant::now();
    let resp = http
        .post(cfg.target.url("/v1/authenticate"))
        .json(&body)
        .send()
        .await;
    let (status, text) = match resp {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.text().await {
                Ok(text) => (status, text),
                Err(e) => return failed(t.elapsed(), challenge_time, transport(&e)),
            }
        }
        Err(e) => return failed(t.elapsed(), challenge_time, transport(&e)),
    };
    let latency = t.elapsed();
    let error = judge(status, &text, cfg.expect_user.as_deref());
    Outcome {
        latency,
        challenge: challenge_time,
        error,
    }
}

fn failed(latency: Duration, challenge: Option<Duration>, error: String) -> Outcome {
    Outcome {
        latency,
        challenge,
        error: Some(error),
    }
}

fn transport(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timeout".into()
    } else if e.is_connect() {
        "connect error".into()
    } else {
        format!("transport: {e}")
    }
}

/// `None` if the response is a successful login (of `expect_user`, if given); else the
/// error's group: any non-200 counts, by status and the API's `reason`/`error.code`.
fn judge(status: u16, text: &str, expect_user: Option<&str>) -> Option<String> {
    let body: Value = serde_json::from_str(text).unwrap_or(Value::Null);
    if status != 200 {
        let why = body["reason"]
            .as_str()
            .or_else(|| body["error"]["code"].as_str())
            .unwrap_or("-");
        return Some(format!("HTTP {status} {why}"));
    }
    if body["authenticated"] != Value::Bool(true) {
        return Some("HTTP 200 without authenticated=true".into());
    }
    match (expect_user, body["user_id"].as_str()) {
        (Some(want), Some(got)) if want != got => Some(format!("wrong user {got:?}")),
        (Some(_), None) => Some("HTTP 200 without user_id".into()),
        _ => None,
    }
}

/// A few `/healthz` probes, one at a time.
async fn probe_health(http: &reqwest::Client, target: &Target, n: usize) -> (Vec<Duration>, usize) {
    let mut times = Vec::with_capacity(n);
    let mut errors = 0;
    for _ in 0..n {
        let t = Instant::now();
        match http.get(target.url("/healthz")).send().await {
            Ok(r) if r.status().is_success() => {
                // Read the body: the probe is only done when the response is.
                if r.bytes().await.is_ok() {
                    times.push(t.elapsed());
                } else {
                    errors += 1;
                }
            }
            _ => errors += 1,
        }
    }
    (times, errors)
}

pub async fn run(cfg: LoadConfig) -> Result<LoadReport> {
    if cfg.requests == 0 || cfg.concurrency == 0 {
        bail!("--requests and --concurrency must be at least 1");
    }
    let cfg = Arc::new(cfg);
    let http = client(cfg.concurrency, cfg.time_limit)?;
    // The health checker has its own pool: its probes never queue behind a login.
    let health_http = client(1, cfg.time_limit)?;
    let deadline = Instant::now() + cfg.time_limit;

    let (idle, mut healthz_errors) = probe_health(&health_http, &cfg.target, 5).await;
    for i in 0..cfg.warmup {
        let o = login(&http, &cfg).await;
        if let Some(e) = o.error {
            bail!("warm-up login {} failed: {e}", i + 1);
        }
    }

    let meter = cfg.server_pid.map(procfs::Meter::start);
    let loadavg_start = procfs::loadavg().map(|l| l.1);

    let outcomes = Arc::new(Mutex::new(Vec::with_capacity(cfg.requests)));
    let next = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();

    let health = {
        let (http, target, done) = (health_http.clone(), cfg.target.clone(), done.clone());
        let interval = cfg.health_interval;
        tokio::spawn(async move {
            let mut times = Vec::new();
            let mut errors = 0;
            while !done.load(Ordering::Relaxed) {
                tokio::time::sleep(interval).await;
                if done.load(Ordering::Relaxed) {
                    break;
                }
                let (t, e) = probe_health(&http, &target, 1).await;
                times.extend(t);
                errors += e;
            }
            (times, errors)
        })
    };

    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..cfg.concurrency {
        let (cfg, http, next, outcomes) =
            (cfg.clone(), http.clone(), next.clone(), outcomes.clone());
        workers.spawn(async move {
            while next.fetch_add(1, Ordering::Relaxed) < cfg.requests {
                let o = login(&http, &cfg).await;
                if let Ok(mut v) = outcomes.lock() {
                    v.push(o);
                }
            }
        });
    }
    let remaining = deadline.saturating_duration_since(Instant::now());
    let timed_out = tokio::time::timeout(remaining, async {
        while workers.join_next().await.is_some() {}
    })
    .await
    .is_err();
    if timed_out {
        workers.abort_all();
    }
    let wall = start.elapsed();
    done.store(true, Ordering::Relaxed);

    let usage = meter.as_ref().map(procfs::Meter::finish);
    let loadavg_end = procfs::loadavg().map(|l| l.1);
    let (under_load, e) = health.await.unwrap_or_default();
    healthz_errors += e;

    let outcomes = std::mem::take(&mut *outcomes.lock().map_err(|_| anyhow::anyhow!("poisoned"))?);
    let completed = outcomes.len();
    let mut error_kinds = BTreeMap::new();
    let mut latencies = Vec::with_capacity(completed);
    let mut challenge_latencies = Vec::new();
    for o in &outcomes {
        latencies.push(o.latency);
        challenge_latencies.extend(o.challenge);
        if let Some(e) = &o.error {
            *error_kinds.entry(e.clone()).or_insert(0) += 1;
        }
    }
    let failed: usize = error_kinds.values().sum();
    let missing = cfg.requests.saturating_sub(completed);
    if missing > 0 {
        error_kinds.insert("not completed (time limit)".into(), missing);
    }
    let (ok, errors) = (completed - failed, failed + missing);
    let server = usage.map(|usage| ServerUsage {
        cpu_ms_per_request: usage
            .cpu_s
            .filter(|_| completed > 0)
            .map(|c| c * 1e3 / completed as f64),
        usage,
    });
    Ok(LoadReport {
        url: cfg.target.url("/").to_string(),
        workload: cfg.workload.label(),
        requests: cfg.requests,
        concurrency: cfg.concurrency,
        completed,
        ok,
        errors,
        error_kinds,
        timed_out,
        wall_s: wall.as_secs_f64(),
        throughput_rps: completed as f64 / wall.as_secs_f64().max(1e-9),
        latency: Summary::of(&latencies),
        challenge_latency: Summary::of(&challenge_latencies),
        healthz_idle: Summary::of(&idle),
        healthz_under_load: Summary::of(&under_load),
        healthz_errors,
        server,
        loadavg_start,
        loadavg_end,
    })
}

/// The markdown table header matching [`LoadReport::markdown_row`].
pub const MARKDOWN_HEADER: &str = "| workload | C | requests | errors | req/s | p50 ms | p90 ms | p99 ms | max ms | /healthz under load p50 / max ms (n) | peak RSS MiB | server CPU ms/req | load avg start → end |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|";

fn ms(v: Option<f64>) -> String {
    v.map_or("–".into(), |v| format!("{v:.0}"))
}

impl LoadReport {
    pub fn markdown_row(&self) -> String {
        let lat = self.latency.as_ref();
        let h = self.healthz_under_load.as_ref();
        let load1 = |s: &Option<String>| {
            s.as_deref()
                .and_then(|l| l.split_whitespace().next())
                .unwrap_or("?")
                .to_owned()
        };
        format!(
            "| {} | {} | {} | {} | {:.2} | {} | {} | {} | {} | {} / {} ({}) | {} | {} | {} → {} |",
            self.workload,
            self.concurrency,
            self.requests,
            self.errors,
            self.throughput_rps,
            ms(lat.map(|l| l.p50_ms)),
            ms(lat.map(|l| l.p90_ms)),
            ms(lat.map(|l| l.p99_ms)),
            ms(lat.map(|l| l.max_ms)),
            h.map_or("–".into(), |h| format!("{:.1}", h.p50_ms)),
            h.map_or("–".into(), |h| format!("{:.1}", h.max_ms)),
            h.map_or(0, |h| h.count),
            ms(self.server.as_ref().and_then(|s| s.usage.peak_rss_mib)),
            ms(self.server.as_ref().and_then(|s| s.cpu_ms_per_request)),
            load1(&self.loadavg_start),
            load1(&self.loadavg_end),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_200_login_of_the_expected_user_is_a_success() {
        let ok = r#"{"authenticated": true, "user_id": "obama"}"#;
        assert_eq!(judge(200, ok, Some("obama")), None);
        assert_eq!(judge(200, ok, None), None);
        assert_eq!(
            judge(200, ok, Some("tom")).as_deref(),
            Some("wrong user \"obama\"")
        );
        assert_eq!(
            judge(
                401,
                r#"{"authenticated": false, "reason": "no_match"}"#,
                None
            )
            .as_deref(),
            Some("HTTP 401 no_match")
        );
        assert_eq!(
            judge(429, r#"{"error": {"code": "too_many_requests"}}"#, None).as_deref(),
            Some("HTTP 429 too_many_requests")
        );
        assert_eq!(judge(502, "<html>", None).as_deref(), Some("HTTP 502 -"));
        assert!(judge(200, r#"{"authenticated": false}"#, None).is_some());
    }
}
