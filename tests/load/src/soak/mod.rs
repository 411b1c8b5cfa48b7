//! `soak`: a bounded run of mixed traffic against a local `faceid serve` (issue 8) —
//! enrollments (new users, more photos, re-enrollment after deletion), 1:1 genuine and
//! impostor logins, 1:N logins, deletions and malformed requests — followed by a
//! consistency check of the server against the client's ledger of what it acknowledged
//! (see [`check`]). `--check-only --ledger FILE` repeats only the check, e.g. after a
//! restart on the same data dir.
//!
//! Lockout (5 failures in 3 min per user and per client address → 429) is kept apart
//! from the genuine traffic: impostor logins only claim permanent "target" users and come
//! from their own loopback addresses (127.1.0.x); for them 401 and 429 are both right.

mod check;
mod drive;
mod fixtures;
mod http;
mod ledger;
mod report;
mod rng;
mod traffic;
mod world;

use crate::procfs;
use crate::target::Target;
use anyhow::{Context, Result};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What every request needs.
pub struct Ctx {
    pub target: Target,
    pub token: String,
    pub fixtures: fixtures::Fixtures,
    /// 127.0.0.1: enrollments, genuine and 1:N logins, admin requests.
    pub http: reqwest::Client,
    /// One client per impostor source address.
    pub impostor: Vec<reqwest::Client>,
    /// 127.0.0.1 without connection reuse, for the malformed requests: the server answers
    /// some of them (no token, bad user id, wrong content type) without reading the
    /// large body and then closes the connection without `Connection: close` (hyper
    /// behaviour, hyperium/hyper#2384), so a pooled client's next request on it would
    /// fail with a broken pipe.
    pub oneshot: reqwest::Client,
    pub timeout: Duration,
}

#[derive(clap::Args)]
pub struct SoakArgs {
    /// Base URL of the server; must be loopback (127.0.0.0/8, ::1, localhost).
    #[arg(long)]
    url: String,
    /// The server's admin token.
    #[arg(long, env = "FACEID_ADMIN_TOKEN", hide_env_values = true)]
    admin_token: String,
    /// How long to send traffic ("600s", "10m", "30").
    #[arg(long, default_value = "600s", value_parser = parse_duration)]
    duration: Duration,
    /// Stop after this many requests even if the duration is not over.
    #[arg(long)]
    requests: Option<usize>,
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Hard limit for the traffic (default: duration + 120 s); unfinished requests are
    /// abandoned and count as errors.
    #[arg(long, value_parser = parse_duration)]
    time_limit: Option<Duration>,
    /// Seed of the request mix (default: from the clock; always printed).
    #[arg(long)]
    seed: Option<u64>,
    /// The committed fixture images (tests/fixtures/images).
    #[arg(long, default_value = "tests/fixtures/images")]
    images: PathBuf,
    /// Most regular users the traffic creates (`soak-0` …).
    #[arg(long, default_value_t = 48)]
    max_users: usize,
    /// Impostor targets per person (`soak-target-<person>-<k>`, enrolled before the
    /// traffic, never deleted).
    #[arg(long, default_value_t = 5)]
    targets: usize,
    /// Write the ledger here (with --check-only: read it, and write it back updated).
    #[arg(long)]
    ledger: Option<PathBuf>,
    /// Send no traffic: only check the server against --ledger.
    #[arg(long, requires = "ledger")]
    check_only: bool,
    /// The server's FACEID_DATA_DIR (embedded storage): also check the files.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The server's pid, for its memory (sampled) and CPU time (/proc).
    #[arg(long)]
    server_pid: Option<u32>,
    /// Per-request timeout, in seconds.
    #[arg(long, default_value_t = 60)]
    request_timeout: u64,
    /// Write the report as JSON here.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// "600s", "10m", "1h" or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num
        .parse()
        .map_err(|_| format!("{s:?}: expected e.g. 600s, 10m or 1h"))?;
    let secs = match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => return Err(format!("{s:?}: unit must be s, m or h")),
    };
    Ok(Duration::from_secs(secs))
}

fn impostor_source(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 1, 0, (i + 1) as u8))
}

/// Runs the soak (or only the check); `Ok(false)` when anything failed.
pub async fn main(args: SoakArgs) -> Result<bool> {
    if args.concurrency == 0 {
        anyhow::bail!("--concurrency must be at least 1");
    }
    let target = Target::parse(&args.url)?;
    let fx = fixtures::Fixtures::load(&args.images)?;
    let people = fx
        .people
        .iter()
        .map(|p| (p.name.to_owned(), p.enroll.len()))
        .collect();
    let ledger = match (&args.ledger, args.check_only) {
        (Some(path), true) => ledger::Ledger::load(path)?,
        _ => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap_or_default();
            let seed = args.seed.unwrap_or(now.as_nanos() as u64);
            ledger::Ledger::new(format!("{}-{seed:x}", now.as_secs()), seed)
        }
    };
    let seed = ledger.seed;
    let time_limit = args
        .time_limit
        .unwrap_or(args.duration + Duration::from_secs(120));
    if args.check_only {
        eprintln!("soak: check only, run {} (seed {seed})", ledger.run_id);
    } else {
        eprintln!(
            "soak: seed {seed} (replay the mix with --seed {seed}), run {}, C={}, {} s{}",
            ledger.run_id,
            args.concurrency,
            args.duration.as_secs(),
            args.requests
                .map_or(String::new(), |n| format!(", at most {n} requests")),
        );
    }
    let timeout = Duration::from_secs(args.request_timeout.max(1));
    let ctx = Arc::new(Ctx {
        target,
        token: args.admin_token.clone(),
        fixtures: fx,
        http: http::client(None, args.concurrency * 2, timeout)?,
        impostor: (0..world::IMPOSTOR_SOURCES)
            .map(|i| http::client(Some(impostor_source(i)), 2, timeout))
            .collect::<Result<_>>()?,
        oneshot: http::client(None, 0, timeout)?,
        timeout,
    });
    let world = Arc::new(Mutex::new(world::World::new(
        ledger,
        args.max_users,
        people,
    )));

    let pid = args.server_pid;
    let meter = pid.map(procfs::Meter::start);
    let loadavg_start = procfs::loadavg().map(|l| l.1);

    let driven = if args.check_only {
        drive::Driven::default()
    } else {
        drive::setup_targets(&ctx, &world, args.targets.max(1)).await;
        let cfg = drive::DriveConfig {
            duration: args.duration,
            max_requests: args.requests,
            concurrency: args.concurrency,
            time_limit,
            seed,
            server_pid: pid,
            sample_every: Duration::from_secs(5),
        };
        drive::drive(ctx.clone(), world.clone(), &cfg).await
    };
    // Every worker and the sampler have finished: the world is ours alone.
    let mut world = Arc::try_unwrap(world)
        .map_err(|_| anyhow::anyhow!("soak state still shared after the traffic"))?
        .into_inner()
        .unwrap_or_else(|p| p.into_inner());
    eprintln!("soak: checking consistency");
    let consistency = check::check(&ctx, &mut world, args.data_dir.as_ref()).await;

    let server = meter.map(|m| report::ServerReport {
        usage: m.finish(),
        samples: vec![],
    });
    if let Some(path) = &args.ledger {
        world.ledger.save(path)?;
    }
    let meta = report::Meta {
        url: ctx.target.url("/").to_string(),
        check_only: args.check_only,
        concurrency: args.concurrency,
        duration_s: args.duration.as_secs_f64(),
        max_requests: args.requests,
        time_limit_s: time_limit.as_secs_f64(),
        server,
        loadavg_start,
        loadavg_end: procfs::loadavg().map(|l| l.1),
    };
    let report = report::build(meta, &world, driven, consistency);
    crate::write_json(args.json.as_ref(), &report).context("writing the report")?;
    println!("{}", report.markdown());
    Ok(report.passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_a_unit() {
        assert_eq!(parse_duration("600s"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("30"), Ok(Duration::from_secs(30)));
        assert!(parse_duration("10 minutes").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn impostor_sources_are_loopback_and_distinct() {
        let a: Vec<IpAddr> = (0..world::IMPOSTOR_SOURCES).map(impostor_source).collect();
        assert!(a.iter().all(IpAddr::is_loopback));
        assert_eq!(a[0].to_string(), "127.1.0.1");
        assert_eq!(
            a.iter().collect::<std::collections::HashSet<_>>().len(),
            a.len()
        );
    }
}
