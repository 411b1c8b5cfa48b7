//! The audit log in MongoDB (Atlas in production): database `FaceAuthDB`, collection
//! `AuthLogs`, one document per event with `_id` = the event id (a UUID string), so a
//! redelivered event hits a duplicate-key error (11000), which counts as success.
//!
//! Only the driver's public API and plain documents are used, so nothing depends on a
//! particular server.

use crate::embedded::newest_first;
use faceid_core::audit::{AuditEvent, AuditQuery};
use faceid_core::ports::{AuditLog, StoreError, StoreResult};
use mongodb::bson::{self, doc, Bson, Document};
use mongodb::error::{ErrorKind, WriteFailure};
use mongodb::options::{ClientOptions, IndexOptions};
use mongodb::{Client, Collection, IndexModel};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use time::OffsetDateTime;

pub const DEFAULT_DATABASE: &str = "FaceAuthDB";
pub const DEFAULT_COLLECTION: &str = "AuthLogs";

/// Where the audit log lives.
#[derive(Debug, Clone)]
pub struct MongoAuditConfig {
    /// e.g. `mongodb+srv://…` (Atlas) or `mongodb://127.0.0.1:27017`.
    pub uri: String,
    pub database: String,
    pub collection: String,
    /// How long an operation waits for a usable server. The driver's default (30 s)
    /// is far too long for a request path.
    pub server_selection_timeout: Duration,
    pub connect_timeout: Duration,
}

impl MongoAuditConfig {
    pub fn new(uri: impl Into<String>) -> Self {
        Self {
            uri: uri.into(),
            database: DEFAULT_DATABASE.into(),
            collection: DEFAULT_COLLECTION.into(),
            server_selection_timeout: Duration::from_secs(3),
            connect_timeout: Duration::from_secs(3),
        }
    }
}

/// [`AuditLog`] on a MongoDB collection.
#[derive(Debug)]
pub struct MongoAuditLog {
    collection: Collection<Document>,
    indexes_ready: AtomicBool,
}

/// Maps a driver error: network, server selection and pool problems are `Unavailable`.
fn mongo_err(op: &str, e: mongodb::error::Error) -> StoreError {
    let msg = format!("MongoDB {op}: {e}");
    match *e.kind {
        ErrorKind::ServerSelection { .. }
        | ErrorKind::Io(_)
        | ErrorKind::ConnectionPoolCleared { .. }
        | ErrorKind::DnsResolve { .. } => StoreError::Unavailable(msg),
        _ if e.contains_label(mongodb::error::RETRYABLE_WRITE_ERROR) => {
            StoreError::Unavailable(msg)
        }
        _ => StoreError::Other(msg),
    }
}

fn is_duplicate_key(e: &mongodb::error::Error) -> bool {
    match &*e.kind {
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == 11000,
        ErrorKind::Command(c) => c.code == 11000,
        _ => false,
    }
}

fn bson_date(t: OffsetDateTime) -> bson::DateTime {
    let ms = t.unix_timestamp_nanos().div_euclid(1_000_000);
    bson::DateTime::from_millis(i64::try_from(ms).unwrap_or(i64::MAX))
}

fn from_bson_date(d: bson::DateTime) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(d.timestamp_millis()) * 1_000_000).ok()
}

/// The stored document. BSON dates have millisecond precision, so `at` is truncated.
pub fn event_document(e: &AuditEvent) -> StoreResult<Document> {
    let mut d = doc! {
        "_id": e.event_id.to_string(),
        "at": bson_date(e.at),
        "event": &e.event,
        "outcome": &e.outcome,
    };
    let mut opt_str = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            d.insert(k, v.as_str());
        }
    };
    opt_str("user_id", &e.user_id);
    opt_str("reason", &e.reason);
    opt_str("request_id", &e.request_id);
    opt_str("client", &e.client);
    if let Some(v) = e.distance {
        d.insert("distance", f64::from(v));
    }
    if let Some(v) = e.threshold {
        d.insert("threshold", f64::from(v));
    }
    if let Some(v) = e.latency_ms {
        d.insert("latency_ms", v);
    }
    if let Some(v) = &e.liveness {
        let b = bson::to_bson(v).map_err(|e| StoreError::Other(format!("liveness: {e}")))?;
        d.insert("liveness", b);
    }
    Ok(d)
}

/// Reads a stored document back; `None` for documents that are not ours.
pub fn parse_event_document(d: &Document) -> Option<AuditEvent> {
    let s = |k: &str| d.get_str(k).ok().map(str::to_owned);
    let num = |k: &str| match d.get(k) {
        Some(Bson::Double(v)) => Some(*v),
        Some(Bson::Int32(v)) => Some(f64::from(*v)),
        Some(Bson::Int64(v)) => Some(*v as f64),
        _ => None,
    };
    let event_id = match d.get("_id") {
        Some(Bson::String(s)) => uuid::Uuid::parse_str(s).ok()?,
        Some(Bson::Binary(b)) => uuid::Uuid::from_slice(&b.bytes).ok()?,
        _ => return None,
    };
    Some(AuditEvent {
        event_id,
        at: from_bson_date(*d.get_datetime("at").ok()?)?,
        event: s("event")?,
        user_id: s("user_id"),
        outcome: s("outcome")?,
        reason: s("reason"),
        distance: num("distance").map(|v| v as f32),
        threshold: num("threshold").map(|v| v as f32),
        liveness: d.get("liveness").cloned().map(Bson::into_relaxed_extjson),
        request_id: s("request_id"),
        client: s("client"),
        latency_ms: num("latency_ms"),
    })
}

impl MongoAuditLog {
    /// Builds the client. Does not contact the server (so a cold start succeeds while
    /// MongoDB is down); indexes are created with the first successful append.
    pub async fn connect(config: &MongoAuditConfig) -> StoreResult<Self> {
        let mut options = ClientOptions::parse(&config.uri)
            .await
            .map_err(|e| StoreError::Other(format!("MongoDB URI: {e}")))?;
        options.server_selection_timeout = Some(config.server_selection_timeout);
        options.connect_timeout = Some(config.connect_timeout);
        options.app_name.get_or_insert_with(|| "faceid".to_owned());
        let client = Client::with_options(options).map_err(|e| mongo_err("client", e))?;
        Ok(Self::from_client(
            &client,
            &config.database,
            &config.collection,
        ))
    }

    pub fn from_client(client: &Client, database: &str, collection: &str) -> Self {
        Self {
            collection: client.database(database).collection(collection),
            indexes_ready: AtomicBool::new(false),
        }
    }

    pub fn collection(&self) -> &Collection<Document> {
        &self.collection
    }

    /// Creates the indexes `(user_id, at)` and `(at)` (idempotent).
    pub async fn ensure_indexes(&self) -> StoreResult<()> {
        let named = |keys: Document, name: &str| {
            IndexModel::builder()
                .keys(keys)
                .options(IndexOptions::builder().name(name.to_owned()).build())
                .build()
        };
        self.collection
            .create_indexes([
                named(doc! {"user_id": 1, "at": -1}, "user_id_at"),
                named(doc! {"at": -1}, "at"),
            ])
            .await
            .map_err(|e| mongo_err("createIndexes", e))?;
        self.indexes_ready.store(true, Ordering::Relaxed);
        Ok(())
    }
}

#[async_trait::async_trait]
impl AuditLog for MongoAuditLog {
    async fn append(&self, event: &AuditEvent) -> StoreResult<()> {
        let d = event_document(event)?;
        match self.collection.insert_one(d).await {
            Ok(_) => {}
            // Already stored by an earlier delivery: idempotent success.
            Err(e) if is_duplicate_key(&e) => {}
            Err(e) => return Err(mongo_err("insert", e)),
        }
        if !self.indexes_ready.load(Ordering::Relaxed) {
            if let Err(e) = self.ensure_indexes().await {
                tracing::warn!(error = %e, "could not create audit log indexes");
            }
        }
        Ok(())
    }

    async fn query(&self, query: &AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let mut filter = Document::new();
        if let Some(u) = &query.user_id {
            filter.insert("user_id", u.as_str());
        }
        if let Some(o) = &query.outcome {
            filter.insert("outcome", o.as_str());
        }
        if let Some(e) = &query.event {
            filter.insert("event", e.as_str());
        }
        if let Some(b) = query.before {
            filter.insert("at", doc! {"$lt": bson_date(b)});
        }
        let limit = query.capped_limit();
        let mut cursor = self
            .collection
            .find(filter)
            .sort(doc! {"at": -1})
            .limit(i64::try_from(limit).unwrap_or(500))
            .await
            .map_err(|e| mongo_err("find", e))?;
        let mut out = Vec::with_capacity(limit);
        while cursor.advance().await.map_err(|e| mongo_err("find", e))? {
            let raw = cursor.current();
            match Document::try_from(raw)
                .ok()
                .as_ref()
                .and_then(parse_event_document)
            {
                Some(e) => out.push(e),
                None => tracing::warn!("skipping an audit document that does not parse"),
            }
        }
        // Same order and filter semantics as the other logs (the server already did the
        // work; this only settles ties and guards against lax servers).
        Ok(newest_first(out.iter().rev(), query))
    }
}
