//! Cold start measured from outside: spawn the server, and time process start → ready.
//!
//! - `faceid serve`: ready = the first `GET /healthz` answered 200 (polled every 2 ms),
//!   also the `ready_ms` the server logs itself, and optionally the first login after it;
//! - a Lambda binary (`authenticate`, `enroll`): ready = its first
//!   `GET /2018-06-01/runtime/invocation/next` to a stand-in Runtime API served here,
//!   which is when `lambda_runtime` has finished the function's init (models loaded).
//!
//! This is the only part of the tool that starts processes; each is stopped (SIGINT, then
//! SIGKILL after 5 s) before the next run starts.

use crate::stats::median;
use crate::target::Target;
use anyhow::{bail, Context, Result};
use serde::Serialize;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

#[derive(Debug, Serialize)]
pub struct ColdRun {
    /// Spawn → ready, measured here.
    pub ready_ms: f64,
    /// What the server logged (`ready_ms=`), for `faceid serve`.
    pub logged_ready_ms: Option<f64>,
    /// The first login after ready (one frame), if asked for.
    pub first_request_ms: Option<f64>,
    pub first_request_status: Option<u16>,
}

#[derive(Debug, Serialize)]
pub struct ColdReport {
    pub command: Vec<String>,
    pub mode: &'static str,
    pub runs: Vec<ColdRun>,
    pub median_ready_ms: Option<f64>,
    pub median_logged_ready_ms: Option<f64>,
    pub median_first_request_ms: Option<f64>,
    pub loadavg_start: Option<String>,
    pub loadavg_end: Option<String>,
}

pub enum Mode {
    /// Poll this server's `/healthz`; optionally send one login (`frames` body) after it.
    Serve {
        target: Target,
        first_request: Option<serde_json::Value>,
    },
    /// Serve a stand-in Lambda Runtime API and wait for the first `next` poll.
    Lambda,
}

/// Stops a child this tool started: SIGINT (graceful, lets storage close), then SIGKILL.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Removes ANSI colour sequences (the local log format colours field names).
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ … final byte in '@'..='~'
            for c in chars.by_ref() {
                if ('@'..='~').contains(&c) && c != '[' {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// The `ready_ms=123` (text log) or `"ready_ms":123` (JSON log) field of a log line.
fn logged_ready_ms(line: &str) -> Option<f64> {
    let line = strip_ansi(line);
    let at = line.find("ready_ms")? + "ready_ms".len();
    let rest = line[at..].trim_start_matches(['"', '=', ':', ' ']);
    let digits: String = rest
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    digits.parse().ok()
}

/// Forwards the child's stdout and stderr lines (local logs go to stderr, Lambda JSON logs to stdout)
/// to a channel, and drops them once nobody listens.
fn capture_output(child: &mut Child) -> mpsc::Receiver<String> {
    fn forward(stream: impl std::io::Read + Send + 'static, tx: mpsc::Sender<String>) {
        std::thread::spawn(move || {
            for line in BufReader::new(stream).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    let (tx, rx) = mpsc::channel();
    if let Some(out) = child.stdout.take() {
        forward(out, tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        forward(err, tx);
    }
    rx
}

async fn serve_once(
    command: &[String],
    target: &Target,
    first: Option<&serde_json::Value>,
    timeout: Duration,
) -> Result<ColdRun> {
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_millis(500))
        .build()?;
    let t0 = Instant::now();
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {:?}", command[0]))?;
    let lines = capture_output(&mut child);
    let result = async {
        loop {
            if let Ok(r) = http.get(target.url("/healthz")).send().await {
                if r.status().is_success() {
                    break Ok(t0.elapsed());
                }
            }
            if let Ok(Some(status)) = child.try_wait() {
                break Err(anyhow::anyhow!(
                    "the server exited ({status}) before it was ready"
                ));
            }
            if t0.elapsed() > timeout {
                break Err(anyhow::anyhow!("not ready after {timeout:?}"));
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    .await;
    let ready = match result {
        Ok(r) => r,
        Err(e) => {
            stop(&mut child);
            let log: Vec<String> = lines.try_iter().collect();
            bail!("{e}\n{}", log.join("\n"));
        }
    };
    let (mut first_ms, mut first_status) = (None, None);
    if let Some(body) = first {
        let t = Instant::now();
        let r = http
            .post(target.url("/v1/authenticate"))
            .timeout(timeout)
            .json(body)
            .send()
            .await;
        if let Ok(r) = r {
            first_status = Some(r.status().as_u16());
            let _ = r.bytes().await;
            first_ms = Some(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    stop(&mut child);
    let logged = lines.try_iter().find_map(|l| logged_ready_ms(&l));
    Ok(ColdRun {
        ready_ms: ready.as_secs_f64() * 1e3,
        logged_ready_ms: logged,
        first_request_ms: first_ms,
        first_request_status: first_status,
    })
}

/// The environment `lambda_runtime` reads at start, pointing at `api` (host:port).
fn lambda_env(cmd: &mut Command, api: &str) {
    cmd.env("AWS_LAMBDA_RUNTIME_API", api)
        .env("AWS_LAMBDA_FUNCTION_NAME", "faceid-cold-start")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_STREAM_NAME", "local")
        .env("AWS_LAMBDA_LOG_GROUP_NAME", "local")
        .env("AWS_REGION", "us-east-1");
}

async fn lambda_once(command: &[String], timeout: Duration) -> Result<ColdRun> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let api = listener.local_addr()?.to_string();
    let mut cmd = Command::new(&command[0]);
    cmd.args(&command[1..])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    lambda_env(&mut cmd, &api);
    let t0 = Instant::now();
    let mut child = cmd
        .spawn()
        .with_context(|| format!("starting {:?}", command[0]))?;
    let lines = capture_output(&mut child);
    let wait = async {
        loop {
            let (mut sock, _) = listener.accept().await?;
            // The request line and headers of a GET fit in one small read.
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await?;
            let head = String::from_utf8_lossy(&buf[..n]).into_owned();
            if head.starts_with("GET /2018-06-01/runtime/invocation/next") {
                return Ok::<_, anyhow::Error>(t0.elapsed());
            }
            if head.contains("/init/error") {
                bail!("the function reported an init error:\n{head}");
            }
        }
    };
    let result = tokio::time::timeout(timeout, wait).await;
    stop(&mut child);
    let log: Vec<String> = lines.try_iter().collect();
    let ready = match result {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => bail!("{e}\n{}", log.join("\n")),
        Err(_) => bail!("no Runtime API poll after {timeout:?}\n{}", log.join("\n")),
    };
    Ok(ColdRun {
        ready_ms: ready.as_secs_f64() * 1e3,
        logged_ready_ms: None,
        first_request_ms: None,
        first_request_status: None,
    })
}

pub async fn measure(
    command: Vec<String>,
    mode: Mode,
    runs: usize,
    timeout: Duration,
) -> Result<ColdReport> {
    if command.is_empty() {
        bail!("give the command to start after --");
    }
    let loadavg_start = crate::procfs::loadavg().map(|l| l.1);
    let mut out = Vec::with_capacity(runs);
    for i in 0..runs {
        let run = match &mode {
            Mode::Serve {
                target,
                first_request,
            } => serve_once(&command, target, first_request.as_ref(), timeout).await,
            Mode::Lambda => lambda_once(&command, timeout).await,
        }
        .with_context(|| format!("cold start run {}", i + 1))?;
        eprintln!(
            "run {}: ready {:.0} ms (logged {}), first request {}",
            i + 1,
            run.ready_ms,
            run.logged_ready_ms
                .map_or("–".into(), |v| format!("{v:.0} ms")),
            run.first_request_ms.map_or("–".into(), |v| format!(
                "{v:.0} ms (HTTP {})",
                run.first_request_status.unwrap_or(0)
            )),
        );
        out.push(run);
    }
    let med = |f: &dyn Fn(&ColdRun) -> Option<f64>| {
        let v: Vec<f64> = out.iter().filter_map(f).collect();
        median(&v)
    };
    Ok(ColdReport {
        median_ready_ms: med(&|r| Some(r.ready_ms)),
        median_logged_ready_ms: med(&|r| r.logged_ready_ms),
        median_first_request_ms: med(&|r| r.first_request_ms),
        command,
        mode: match mode {
            Mode::Serve { .. } => "faceid serve (/healthz)",
            Mode::Lambda => "Lambda (Runtime API poll)",
        },
        runs: out,
        loadavg_start,
        loadavg_end: crate::procfs::loadavg().map(|l| l.1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_ms_is_found_in_text_and_json_logs() {
        let text = "2025-01-01T00:00:00Z  INFO \u{1b}[3maddr\u{1b}[0m\u{1b}[2m=\u{1b}[0m127.0.0.1:8080 \u{1b}[3mready_ms\u{1b}[0m\u{1b}[2m=\u{1b}[0m187 faceid serving";
        assert_eq!(logged_ready_ms(text), Some(187.0));
        assert_eq!(
            logged_ready_ms("INFO addr=x ready_ms=42 data_dir=/d"),
            Some(42.0)
        );
        assert_eq!(
            logged_ready_ms(r#"{"level":"INFO","fields":{"ready_ms":250,"addr":"x"}}"#),
            Some(250.0)
        );
        assert_eq!(logged_ready_ms("INFO nothing here"), None);
    }
}
