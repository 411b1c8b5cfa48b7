//! The traffic: C workers planning and sending requests until the duration (or the
//! request count) is reached, under a hard time limit after which unfinished requests
//! are abandoned; the server's memory is sampled meanwhile.

use super::http;
use super::rng::Rng;
use super::traffic::{self, Action, Op};
use super::world::World;
use super::Ctx;
use crate::procfs;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

pub struct DriveConfig {
    pub duration: Duration,
    pub max_requests: Option<usize>,
    pub concurrency: usize,
    pub time_limit: Duration,
    pub seed: u64,
    pub server_pid: Option<u32>,
    pub sample_every: Duration,
}

/// One memory sample of the server.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub t_s: f64,
    pub rss_mib: f64,
    /// Requests answered so far.
    pub requests: usize,
}

#[derive(Debug, Default)]
pub struct Driven {
    pub wall: Duration,
    pub timed_out: bool,
    pub abandoned: usize,
    pub samples: Vec<Sample>,
}

pub fn lock(world: &Mutex<World>) -> MutexGuard<'_, World> {
    // A worker that panicked mid-update leaves the tallies as they were: keep going.
    world.lock().unwrap_or_else(|p| p.into_inner())
}

async fn send(ctx: &Ctx, op: &Op, request_id: String) -> http::Answer {
    let req = traffic::request(op, &ctx.fixtures, &ctx.token, request_id);
    // Requests meant to fail a login (bad ones, 1:N of strangers) each come from an
    // address of their own: a failure is charged to its address and kept after a later
    // success, so from the genuine clients' address they would lock those out.
    let own;
    let client = match op.action {
        Action::Impostor => ctx.impostor.get(op.source).unwrap_or(&ctx.http),
        Action::Bad(_) | Action::Identify => {
            match http::client(Some(one_off_source(op.seq)), 0, ctx.timeout) {
                Ok(c) => {
                    own = c;
                    &own
                }
                Err(_) => &ctx.oneshot,
            }
        }
        _ => &ctx.http,
    };
    http::send(client, &ctx.target, req).await
}

/// Enrolls `per_person` permanent impostor targets per person (sequentially, before the
/// traffic). More targets spread the impostor attempts, so fewer of them meet a locked
/// account (429) and more are refused by matching (401).
pub async fn setup_targets(ctx: &Ctx, world: &Mutex<World>, per_person: usize) {
    for (person, k) in
        (0..ctx.fixtures.people.len()).flat_map(|p| (0..per_person).map(move |k| (p, k)))
    {
        let (op, id) = {
            let mut w = lock(world);
            let op = w.plan_target(person, k);
            let id = w.ledger.request_id(op.seq);
            (op, id)
        };
        let ans = send(ctx, &op, id).await;
        lock(world).apply(&op, &ans);
    }
}

pub async fn drive(ctx: Arc<Ctx>, world: Arc<Mutex<World>>, cfg: &DriveConfig) -> Driven {
    let start = Instant::now();
    let stop_at = start + cfg.duration;
    let issued = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));

    let sampler = cfg.server_pid.map(|pid| {
        let (world, done, every) = (world.clone(), done.clone(), cfg.sample_every);
        tokio::spawn(async move {
            let mut samples = vec![];
            loop {
                if let Some(m) = procfs::memory(pid) {
                    samples.push(Sample {
                        t_s: start.elapsed().as_secs_f64(),
                        rss_mib: m.rss_mib,
                        requests: lock(&world).tally.requests,
                    });
                }
                if done.load(Ordering::Relaxed) {
                    return samples;
                }
                tokio::time::sleep(every).await;
            }
        })
    });

    let mut workers = tokio::task::JoinSet::new();
    for w in 0..cfg.concurrency {
        let (ctx, world, issued) = (ctx.clone(), world.clone(), issued.clone());
        let max = cfg.max_requests.unwrap_or(usize::MAX);
        let mut rng = Rng::for_worker(cfg.seed, w);
        workers.spawn(async move {
            while Instant::now() < stop_at && issued.fetch_add(1, Ordering::Relaxed) < max {
                let (op, id) = {
                    let mut w = lock(&world);
                    let op = w.plan(&mut rng);
                    let id = w.ledger.request_id(op.seq);
                    (op, id)
                };
                let ans = send(&ctx, &op, id).await;
                lock(&world).apply(&op, &ans);
            }
        });
    }
    let hard = (start + cfg.time_limit).saturating_duration_since(Instant::now());
    let timed_out =
        tokio::time::timeout(hard, async { while workers.join_next().await.is_some() {} })
            .await
            .is_err();
    if timed_out {
        workers.abort_all();
        while workers.join_next().await.is_some() {}
    }
    let wall = start.elapsed();
    let abandoned = lock(&world).abandon_in_flight();
    done.store(true, Ordering::Relaxed);
    let samples = match sampler {
        Some(h) => h.await.unwrap_or_default(),
        None => vec![],
    };
    Driven {
        wall,
        timed_out,
        abandoned,
        samples,
    }
}

/// 127.3.x.y (then 127.4…): one loopback address per request, by sequence number.
fn one_off_source(seq: u64) -> std::net::IpAddr {
    let n = seq % (1 << 20) + 1;
    std::net::IpAddr::V4(std::net::Ipv4Addr::new(
        127,
        3 + (n >> 16) as u8,
        (n >> 8) as u8,
        n as u8,
    ))
}
