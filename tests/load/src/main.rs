//! `faceid-load`: service-level measurements for issue 7 (driven by `scripts/load.sh`).
//!
//! - `run` — a bounded load test against an already running local `faceid serve`
//!   (loopback URLs only): N logins at concurrency C under a hard time limit, with
//!   throughput, latency percentiles, errors, `/healthz` latency under load, and the
//!   server's peak RSS and CPU time from /proc;
//! - `cold-start -- CMD…` — spawns CMD a few times and times process start → ready;
//! - `model-load` — parse/optimise time of each model, in this process;
//! - `soak` — issue 8: bounded mixed enroll/login/delete traffic, then a consistency
//!   check against the client's ledger (driven by `scripts/soak.sh`).

mod cold;
mod models;
mod procfs;
mod run;
mod soak;
mod stats;
mod target;
mod workload;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::time::Duration;
use target::Target;
use workload::{b64, Workload};

#[derive(Parser)]
#[command(
    name = "faceid-load",
    about = "Load, cold-start and model-load measurements of faceid"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(clap::Args)]
struct Frames {
    /// One frame for every login (server with FACEID_REQUIRE_LIVENESS=false).
    #[arg(long, conflicts_with_all = ["frontal", "left", "right", "up", "down"])]
    image: Option<PathBuf>,
    /// Liveness mode: the frontal frame (sent first and after each step) …
    #[arg(long, requires_all = ["left", "right"])]
    frontal: Option<PathBuf>,
    /// … the frames of a turn to the person's own left, in order …
    #[arg(long, num_args = 1.., requires = "frontal")]
    left: Vec<PathBuf>,
    /// … of a turn to their right …
    #[arg(long, num_args = 1.., requires = "frontal")]
    right: Vec<PathBuf>,
    /// … of looking up (a challenge asks for up or down: without frames for the one it
    /// asks, the login fails as an error) …
    #[arg(long, num_args = 1.., requires = "frontal")]
    up: Vec<PathBuf>,
    /// … and of looking down.
    #[arg(long, num_args = 1.., requires = "frontal")]
    down: Vec<PathBuf>,
}

impl Frames {
    fn workload(&self) -> Result<Workload> {
        let read = |p: &PathBuf| {
            std::fs::read(p)
                .map(|b| b64(&b))
                .with_context(|| p.display().to_string())
        };
        match (&self.image, &self.frontal) {
            (Some(image), _) => Ok(Workload::OneFrame {
                frame: read(image)?,
            }),
            (None, Some(frontal)) => Ok(Workload::Liveness {
                frontal: read(frontal)?,
                left: self.left.iter().map(read).collect::<Result<_>>()?,
                right: self.right.iter().map(read).collect::<Result<_>>()?,
                up: self.up.iter().map(read).collect::<Result<_>>()?,
                down: self.down.iter().map(read).collect::<Result<_>>()?,
            }),
            (None, None) => anyhow::bail!("give --image, or --frontal with --left and --right"),
        }
    }
}

#[derive(Subcommand)]
enum Cmd {
    /// Load a running local server (starts nothing).
    Run {
        /// Base URL of the server; must be loopback (127.0.0.0/8, ::1, localhost).
        #[arg(long)]
        url: String,
        #[command(flatten)]
        frames: Frames,
        #[arg(long, default_value_t = 200)]
        requests: usize,
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
        #[arg(long, default_value_t = 2)]
        warmup: usize,
        /// Hard limit for the whole run, in seconds; unfinished requests count as errors.
        #[arg(long, default_value_t = 600)]
        time_limit: u64,
        /// 1:1 login: the claimed user (else 1:N identification).
        #[arg(long)]
        user_id: Option<String>,
        /// Every login must resolve to this user.
        #[arg(long)]
        expect_user: Option<String>,
        /// Interval between /healthz probes during the load, in milliseconds.
        #[arg(long, default_value_t = 100)]
        health_interval_ms: u64,
        /// The server's pid, for its peak RSS and CPU time (/proc).
        #[arg(long)]
        server_pid: Option<u32>,
        /// Write the full report as JSON here.
        #[arg(long)]
        json: Option<PathBuf>,
        /// Print the markdown table header before the row.
        #[arg(long)]
        header: bool,
    },
    /// Time process start → ready of a server or Lambda binary, N times (starts CMD).
    ColdStart {
        #[arg(long, default_value_t = 5)]
        runs: usize,
        /// `faceid serve`'s base URL (loopback), polled at /healthz. Without it: Lambda mode.
        #[arg(long)]
        url: Option<String>,
        /// After ready, time one login with this frame (no-liveness server).
        #[arg(long, requires = "url")]
        first_image: Option<PathBuf>,
        #[arg(long, default_value_t = 60)]
        timeout: u64,
        #[arg(long)]
        json: Option<PathBuf>,
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
    /// Time each model's parse/optimise step in this process.
    ModelLoad {
        #[arg(long, default_value = "models")]
        dir: PathBuf,
        #[arg(long, default_value_t = 5)]
        runs: usize,
        #[arg(long)]
        json: Option<PathBuf>,
    },
    /// Mixed traffic against a running local server, then a consistency check.
    Soak(soak::SoakArgs),
}

fn write_json(path: Option<&PathBuf>, value: &impl serde::Serialize) -> Result<()> {
    if let Some(p) = path {
        std::fs::write(p, serde_json::to_vec_pretty(value)?)
            .with_context(|| p.display().to_string())?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Run {
            url,
            frames,
            requests,
            concurrency,
            warmup,
            time_limit,
            user_id,
            expect_user,
            health_interval_ms,
            server_pid,
            json,
            header,
        } => {
            let report = run::run(run::LoadConfig {
                target: Target::parse(&url)?,
                workload: frames.workload()?,
                requests,
                concurrency,
                warmup,
                time_limit: Duration::from_secs(time_limit),
                user_id,
                expect_user,
                health_interval: Duration::from_millis(health_interval_ms.max(10)),
                server_pid,
            })
            .await?;
            write_json(json.as_ref(), &report)?;
            if header {
                println!("{}", run::MARKDOWN_HEADER);
            }
            println!("{}", report.markdown_row());
            if !report.passed() {
                eprintln!("load test FAILED: {:?}", report.error_kinds);
                std::process::exit(1);
            }
        }
        Cmd::ColdStart {
            runs,
            url,
            first_image,
            timeout,
            json,
            command,
        } => {
            let mode = match url {
                Some(u) => cold::Mode::Serve {
                    target: Target::parse(&u)?,
                    first_request: first_image
                        .map(|p| {
                            std::fs::read(&p)
                                .map(|b| serde_json::json!({ "frames": [b64(&b)] }))
                                .with_context(|| p.display().to_string())
                        })
                        .transpose()?,
                },
                None => cold::Mode::Lambda,
            };
            let report = cold::measure(command, mode, runs, Duration::from_secs(timeout)).await?;
            write_json(json.as_ref(), &report)?;
            let show = |v: Option<f64>| v.map_or("–".into(), |v| format!("{v:.0} ms"));
            println!(
                "{}: median ready {} (server log {}), first request {}; load avg {} → {}",
                report.mode,
                show(report.median_ready_ms),
                show(report.median_logged_ready_ms),
                show(report.median_first_request_ms),
                report.loadavg_start.as_deref().unwrap_or("?"),
                report.loadavg_end.as_deref().unwrap_or("?"),
            );
        }
        Cmd::ModelLoad { dir, runs, json } => {
            let load_start = procfs::loadavg().map(|l| l.1);
            let times = models::measure(&dir, runs.max(1))?;
            write_json(json.as_ref(), &times)?;
            println!("| model | file MiB | median ms ({runs} runs) |\n|---|---|---|");
            for t in &times {
                println!("| {} | {:.1} | {:.0} |", t.model, t.file_mib, t.median_ms);
            }
            println!(
                "load avg {} → {}",
                load_start.as_deref().unwrap_or("?"),
                procfs::loadavg().map(|l| l.1).unwrap_or_default()
            );
        }
        Cmd::Soak(args) => {
            if !soak::main(args).await? {
                eprintln!("soak FAILED");
                std::process::exit(1);
            }
        }
    }
    Ok(())
}
