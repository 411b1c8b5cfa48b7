//! A fault-injecting HTTP proxy between the AWS SDK and moto_server.
//!
//! moto answers every request; real DynamoDB and S3 also throttle, cancel transactions
//! that collide, and fail. The proxy forwards each request to moto unless a fault is
//! planned for its service, in which case it answers with the error AWS would send
//! (same status, error code and body format), so the real SDK's retries and our error
//! mapping are what gets tested. DynamoDB requests are told apart by their
//! `x-amz-target` header (`DynamoDB_20120810.<Operation>`); everything else is S3.

use axum::body::{to_bytes, Body};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, Request, Response, StatusCode};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Dynamo,
    S3,
}

/// What an injected failure looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// DynamoDB `ThrottlingException` (400), S3 `SlowDown` (503).
    Throttle,
    /// DynamoDB `TransactionCanceledException` with a `TransactionConflict` reason, as
    /// when two transactions touch the same item at once.
    TransactionConflict,
}

/// Which requests of a service fail.
#[derive(Debug, Clone, Copy)]
pub struct Plan {
    pub fault: Fault,
    /// Only this DynamoDB operation (e.g. `TransactWriteItems`); `None`: every request.
    pub operation: Option<&'static str>,
    /// Fail 1 matching request in `every` (1: all of them; 2: every other one).
    pub every: u32,
    /// Stop after this many injected faults; `None`: until the plan is cleared.
    pub limit: Option<u32>,
}

impl Plan {
    pub fn all(fault: Fault) -> Self {
        Self {
            fault,
            operation: None,
            every: 1,
            limit: None,
        }
    }
    pub fn every_other(fault: Fault) -> Self {
        Self {
            every: 2,
            ..Self::all(fault)
        }
    }
    pub fn only(mut self, operation: &'static str) -> Self {
        self.operation = Some(operation);
        self
    }
    pub fn times(mut self, n: u32) -> Self {
        self.limit = Some(n);
        self
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub forwarded: u32,
    pub injected: u32,
}

/// A plan in force, with how many requests it has seen and failed.
struct Active {
    plan: Plan,
    seen: u32,
    injected: u32,
}

#[derive(Default)]
struct Inner {
    plans: HashMap<Service, Active>,
    counts: HashMap<Service, Counts>,
}

/// A running proxy; `url()` goes where the SDK's endpoint would.
#[derive(Clone)]
pub struct FaultProxy {
    url: String,
    inner: Arc<Mutex<Inner>>,
}

#[derive(Clone)]
struct Upstream {
    base: String,
    http: reqwest::Client,
    inner: Arc<Mutex<Inner>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (moto's endpoint).
    pub async fn start(upstream: &str) -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fault proxy");
        let url = format!("http://{}", listener.local_addr().expect("proxy addr"));
        let app = axum::Router::new().fallback(forward).with_state(Upstream {
            base: upstream.trim_end_matches('/').to_owned(),
            http: reqwest::Client::new(),
            inner: inner.clone(),
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { url, inner }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn plan(&self, service: Service, plan: Plan) {
        self.lock().plans.insert(
            service,
            Active {
                plan,
                seen: 0,
                injected: 0,
            },
        );
    }

    pub fn clear(&self) {
        self.lock().plans.clear();
    }

    pub fn counts(&self, service: Service) -> Counts {
        self.lock()
            .counts
            .get(&service)
            .copied()
            .unwrap_or_default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn dynamo_operation(headers: &HeaderMap) -> Option<String> {
    let target = headers.get("x-amz-target")?.to_str().ok()?;
    target.strip_prefix("DynamoDB_20120810.").map(str::to_owned)
}

/// Decides whether this request fails, and counts it.
fn decide(inner: &Mutex<Inner>, service: Service, operation: Option<&str>) -> Option<Fault> {
    let mut g = inner.lock().unwrap_or_else(|p| p.into_inner());
    let mut fault = None;
    if let Some(a) = g.plans.get_mut(&service) {
        if a.plan.operation.is_none_or(|op| Some(op) == operation) {
            a.seen += 1;
            let under_limit = a.plan.limit.is_none_or(|l| a.injected < l);
            if under_limit && (a.seen - 1) % a.plan.every.max(1) == 0 {
                a.injected += 1;
                fault = Some(a.plan.fault);
            }
        }
    }
    let c = g.counts.entry(service).or_default();
    match fault {
        Some(_) => c.injected += 1,
        None => c.forwarded += 1,
    }
    fault
}

async fn forward(State(up): State<Upstream>, req: Request<Body>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let operation = dynamo_operation(&parts.headers);
    let service = if operation.is_some() {
        Service::Dynamo
    } else {
        Service::S3
    };
    let Ok(body) = to_bytes(body, 64 << 20).await else {
        return plain(StatusCode::BAD_REQUEST, "body");
    };
    if let Some(fault) = decide(&up.inner, service, operation.as_deref()) {
        return aws_error(service, fault);
    }
    let path = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    let mut rb = up
        .http
        .request(parts.method.clone(), format!("{}{path}", up.base))
        .body(body);
    for (name, value) in &parts.headers {
        if !hop_by_hop(name) {
            rb = rb.header(name, value);
        }
    }
    let resp = match rb.send().await {
        Ok(r) => r,
        Err(e) => return plain(StatusCode::BAD_GATEWAY, &e.to_string()),
    };
    let mut out = Response::builder().status(resp.status());
    for (name, value) in resp.headers() {
        if !hop_by_hop(name) {
            out = out.header(name, value);
        }
    }
    let bytes = resp.bytes().await.unwrap_or_default();
    out.body(Body::from(bytes))
        .unwrap_or_else(|_| plain(StatusCode::BAD_GATEWAY, "response"))
}

fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "host" | "content-length" | "transfer-encoding" | "connection"
    )
}

fn plain(status: StatusCode, msg: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(msg.to_owned()));
    *r.status_mut() = status;
    r
}

/// The error response AWS sends for this fault.
fn aws_error(service: Service, fault: Fault) -> Response<Body> {
    let (status, content_type, body) = match (service, fault) {
        (Service::Dynamo, Fault::Throttle) => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException","message":"Rate of requests exceeds the allowed throughput."}"#.to_owned(),
        ),
        (Service::Dynamo, Fault::TransactionConflict) => (
            StatusCode::BAD_REQUEST,
            "application/x-amz-json-1.0",
            r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"Transaction cancelled, please refer cancellation reasons for specific reasons [None, TransactionConflict]","CancellationReasons":[{"Code":"None"},{"Code":"TransactionConflict","Message":"Transaction is ongoing for the item"}]}"#.to_owned(),
        ),
        (Service::S3, _) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>FAULT</RequestId></Error>".to_owned(),
        ),
    };
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .header("x-amzn-requestid", "fault-injected")
        .body(Body::from(body))
        .unwrap_or_else(|_| plain(StatusCode::INTERNAL_SERVER_ERROR, "fault"))
}
