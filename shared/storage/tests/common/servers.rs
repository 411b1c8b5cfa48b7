//! Real emulators for the adapter tests: `moto_server` (S3 + DynamoDB) and `nx-27017`
//! (MongoDB wire protocol).
//!
//! If `FACEID_TEST_MOTO_ENDPOINT` / `FACEID_TEST_MONGO_URI` are set (CI starts the
//! servers), they are used. Otherwise one server per test binary is spawned from PATH on
//! a free port and stops when the test process exits: it runs under a tiny `sh` wrapper
//! that kills it as soon as its stdin (a pipe from this process) closes, which happens
//! however the test process ends. A missing binary fails the test with instructions;
//! nothing is skipped silently.

#![allow(dead_code)]

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Looks a program up on PATH.
pub fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn require(name: &str, install: &str, env: &str) -> PathBuf {
    find_on_path(name).unwrap_or_else(|| {
        panic!(
            "`{name}` is not on PATH. Install it with `{install}`, or set {env} \
             to a running server. (These tests never skip silently.)"
        )
    })
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free local port")
}

/// Waits until something accepts connections on `port`; `alive` says whether the
/// process is still worth waiting for. Returns false on timeout or death.
fn wait_for_port(port: u16, mut alive: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + START_TIMEOUT;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(200))
            .is_ok()
        {
            return true;
        }
        if !alive() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn log_tail(path: &PathBuf) -> String {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let _ = f.read_to_string(&mut s);
    }
    let start = s.len().saturating_sub(2000);
    s.get(start..).unwrap_or_default().to_owned()
}

/// Starts `program args…` under the stdin-watching wrapper; returns once the port answers.
fn spawn_for_process_lifetime(program: &PathBuf, args: &[String], port: u16, log: PathBuf) {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"log="$1"; shift; "$@" >"$log" 2>&1 & pid=$!; read _ignored; kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null"#)
        .arg("faceid-test-server")
        .arg(&log)
        .arg(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = cmd.spawn().expect("cannot run sh");
    // Keep the pipe's write end open for the life of the process by leaking it.
    std::mem::forget(child.stdin.take());
    let ok = wait_for_port(port, || matches!(child.try_wait(), Ok(None)));
    assert!(
        ok,
        "{} did not start listening on port {port} within {START_TIMEOUT:?}; its log:\n{}",
        program.display(),
        log_tail(&log)
    );
    // The wrapper must outlive this function: dropping a `Child` does not kill it.
    std::mem::forget(child);
}

fn log_path(name: &str, port: u16) -> PathBuf {
    std::env::temp_dir().join(format!(
        "faceid-test-{name}-{port}-{}.log",
        std::process::id()
    ))
}

/// Endpoint URL of a moto server (S3 + DynamoDB).
pub fn moto_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        if let Ok(e) = std::env::var("FACEID_TEST_MOTO_ENDPOINT") {
            if !e.is_empty() {
                return e;
            }
        }
        let bin = require(
            "moto_server",
            "pip install \"moto[server]\"",
            "FACEID_TEST_MOTO_ENDPOINT",
        );
        let port = free_port();
        let args = ["-H", "127.0.0.1", "-p", &port.to_string()].map(String::from);
        spawn_for_process_lifetime(&bin, &args, port, log_path("moto", port));
        format!("http://127.0.0.1:{port}")
    })
}

fn nx_args(port: u16) -> Vec<String> {
    let tmp = std::env::temp_dir();
    vec![
        "--db".into(),
        "memory".into(),
        "--host".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "--pid-file".into(),
        tmp.join(format!("faceid-test-nx-{port}.pid"))
            .display()
            .to_string(),
        "--log-file".into(),
        tmp.join(format!("faceid-test-nx-{port}.server.log"))
            .display()
            .to_string(),
    ]
}

fn nx_binary() -> PathBuf {
    require("nx-27017", "pip install nx-27017", "FACEID_TEST_MONGO_URI")
}

/// URI of a MongoDB-wire server shared by the tests of this binary.
pub fn mongo_uri() -> &'static str {
    static URI: OnceLock<String> = OnceLock::new();
    URI.get_or_init(|| {
        if let Ok(u) = std::env::var("FACEID_TEST_MONGO_URI") {
            if !u.is_empty() {
                return u;
            }
        }
        let bin = nx_binary();
        let port = free_port();
        spawn_for_process_lifetime(&bin, &nx_args(port), port, log_path("nx", port));
        format!("mongodb://127.0.0.1:{port}")
    })
}

/// An nx-27017 server owned by one test, which can stop it (kill by PID) and start it
/// again on the same port. Always spawned locally: CI's shared server cannot be stopped.
pub struct OwnedMongo {
    pub port: u16,
    child: Option<Child>,
}

impl OwnedMongo {
    pub fn start() -> Self {
        let mut s = Self {
            port: free_port(),
            child: None,
        };
        s.restart();
        s
    }

    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Kills the server process (SIGKILL, by its PID) and waits for it.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        // Wait until the port really refuses connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline
            && TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.port).into(),
                Duration::from_millis(100),
            )
            .is_ok()
        {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// (Re)starts the server on the same port.
    pub fn restart(&mut self) {
        self.stop();
        let log = log_path("nx-owned", self.port);
        let out = std::fs::File::create(&log).expect("cannot create server log");
        let err = out.try_clone().expect("cannot clone log handle");
        let mut child = Command::new(nx_binary())
            .args(nx_args(self.port))
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .expect("cannot start nx-27017");
        let ok = wait_for_port(self.port, || matches!(child.try_wait(), Ok(None)));
        if !ok {
            let _ = child.kill();
            panic!(
                "nx-27017 did not start on port {} within {START_TIMEOUT:?}; its log:\n{}",
                self.port,
                log_tail(&log)
            );
        }
        self.child = Some(child);
    }
}

impl Drop for OwnedMongo {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
