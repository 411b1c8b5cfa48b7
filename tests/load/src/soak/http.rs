//! One HTTP exchange of the soak: a request with its id in `x-request-id` (the server
//! keeps a caller's id and writes it into the audit event, which is how the check finds
//! each request's event), answered by a status and a JSON body.

use crate::target::Target;
use anyhow::{Context, Result};
use reqwest::{Client, Method};
use serde_json::Value;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What came back.
#[derive(Debug, Clone)]
pub struct Answer {
    /// `None`: no HTTP answer (connect error, timeout, broken body).
    pub status: Option<u16>,
    /// The body as JSON (`Null` when it is not JSON).
    pub body: Value,
    pub latency: Duration,
    /// Why there was no answer.
    pub transport: Option<String>,
}

impl Answer {
    /// The API's error code (`{"error": {"code": …}}`), or the login's `reason`.
    pub fn code(&self) -> &str {
        self.body["error"]["code"]
            .as_str()
            .or_else(|| self.body["reason"].as_str())
            .unwrap_or("-")
    }
}

/// A client for loopback traffic; `source` binds the local end to another 127.x.y.z
/// address, which the server sees as a different client (its own lockout counter).
pub fn client(source: Option<IpAddr>, pool: usize, timeout: Duration) -> Result<Client> {
    Client::builder()
        // Loopback only: an HTTP(S)_PROXY in the environment must not reroute requests.
        .no_proxy()
        .local_address(source)
        .pool_max_idle_per_host(pool)
        .timeout(timeout)
        .build()
        .context("building the HTTP client")
}

/// An error and its causes ("error sending request: connection closed before …").
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text.push_str(": ");
        text.push_str(&c.to_string());
        cause = c.source();
    }
    text
}

pub struct Request<'a> {
    pub method: Method,
    pub path: String,
    pub query: Vec<(&'static str, String)>,
    pub token: Option<&'a str>,
    /// Sent as `application/json` unless `content_type` says otherwise.
    pub body: Option<Value>,
    pub content_type: Option<&'static str>,
    pub request_id: String,
}

impl<'a> Request<'a> {
    pub fn new(method: Method, path: impl Into<String>, request_id: String) -> Self {
        Self {
            method,
            path: path.into(),
            query: vec![],
            token: None,
            body: None,
            content_type: None,
            request_id,
        }
    }
    pub fn json(mut self, body: Value) -> Self {
        self.body = Some(body);
        self
    }
    pub fn token(mut self, token: &'a str) -> Self {
        self.token = Some(token);
        self
    }
}

pub async fn send(http: &Client, target: &Target, req: Request<'_>) -> Answer {
    let mut url = target.url(&req.path);
    if !req.query.is_empty() {
        url.query_pairs_mut().extend_pairs(req.query.iter());
    }
    let mut b = http
        .request(req.method, url)
        .header("x-request-id", &req.request_id);
    if let Some(t) = req.token {
        b = b.bearer_auth(t);
    }
    if let Some(body) = &req.body {
        let bytes = serde_json::to_vec(body).unwrap_or_default();
        b = b
            .header(
                "content-type",
                req.content_type.unwrap_or("application/json"),
            )
            .body(bytes);
    }
    let t = Instant::now();
    let failed = |e: reqwest::Error, t: Instant| Answer {
        status: None,
        body: Value::Null,
        latency: t.elapsed(),
        transport: Some(if e.is_timeout() {
            "timeout".into()
        } else if e.is_connect() {
            "connect error".into()
        } else {
            format!("transport: {}", chain(&e))
        }),
    };
    match b.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(bytes) => Answer {
                    status: Some(status),
                    body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
                    latency: t.elapsed(),
                    transport: None,
                },
                Err(e) => failed(e, t),
            }
        }
        Err(e) => failed(e, t),
    }
}
