//! Templates, challenges, failure counters, session versions and upload grants on one
//! DynamoDB table (key `pk`/`sk`, both strings). Item layout:
//!
//! | item | pk | sk | attributes |
//! |---|---|---|---|
//! | face | `USER#{user}` | `FACE#{face_id}` | user_id, face_id, descriptor (B, 128×f32 LE), model_id, source (JSON string), created_at (RFC 3339) |
//! | gallery version | `GALLERY` | `VERSION` | version (N, bumped with ADD) |
//! | challenge | `CHALLENGE#{id}` | `CHALLENGE` | steps (L of S: left, right, up, down), lights (S, comma-separated), issued_at, expires_at (S, RFC 3339), used (BOOL), ttl (N) |
//! | counter | `COUNTER#{key}` | `COUNTER` | failures, window_start, locked_until?, lockouts?, last_locked_at?, version (N), ttl (N) |
//! | session version | `USER#{user}` | `SESSION` | sv (N, bumped with ADD; no ttl) |
//! | upload grant | `USER#{user}` | `UPLOAD#{upload_id}` | expires_at (N, epoch s), taken_by? (S, the object's ETag), ttl (N, expiry + grace) |
//! | seen frame | `USER#{user}` | `FRAME#{digest hex}` | ttl (N) |
//!
//! The session item shares the user's partition but not the `FACE#` sort-key prefix, so
//! face queries and scans (`begins_with(sk, "FACE#")`) never see it and `delete_user`
//! leaves it in place: it must outlive the faces, or old tokens would come back.
//! Grants and seen frames share the user's partition so removing them is one Query; every template read
//! selects `FACE#` sort keys (Query `begins_with`, Scan filter), so grants never show up
//! as faces.
//!
//! `ttl` is epoch seconds for DynamoDB TTL. TTL deletion is lazy (up to days), so reads
//! treat an item whose `ttl` has passed as absent.

use super::sdk_err;
use aws_config::SdkConfig;
use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, DeleteRequest, KeySchemaElement, KeyType,
    Put, ReturnValue, ScalarAttributeType, TableStatus, TimeToLiveSpecification, TransactWriteItem,
    Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use faceid_core::ports::{
    ChallengeStore, CounterStore, FailureCounter, GrantTaken, PutTemplate, Redeemed, SeenFrames,
    SessionStore, StoreError, StoreResult, TemplateStore, UploadGrants, UserSummary,
    UPLOAD_GRANT_GRACE,
};
use faceid_core::replay::FrameDigest;
use faceid_core::screen_light::Light;
use faceid_core::{Challenge, ChallengeId, Descriptor, FaceId, Source, Template, Turn, UserId};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::time::Duration;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

type Item = HashMap<String, AttributeValue>;

const GALLERY_PK: &str = "GALLERY";
const GALLERY_SK: &str = "VERSION";
const FACE_SK_PREFIX: &str = "FACE#";
const SESSION_SK: &str = "SESSION";
/// The user's template count (`faces`), kept in the same transaction as each put so the
/// per-user limit is checked atomically.
const FACE_COUNT_SK: &str = "COUNT#FACES";
const UPLOAD_SK_PREFIX: &str = "UPLOAD#";
const FRAME_SK_PREFIX: &str = "FRAME#";
/// DynamoDB's limit on the items of one transaction (a claim is all or nothing).
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Redeemed/expired challenges stay this long so a late redeem says `AlreadyUsed`.
const CHALLENGE_GRACE_SECS: i64 = 3600;

/// [`TemplateStore`] + [`ChallengeStore`] + [`CounterStore`] + [`UploadGrants`] on DynamoDB.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    /// `Limit` for Query/Scan pages; `None` = DynamoDB's 1 MB pages.
    page_limit: Option<i32>,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}
fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn user_pk(user: &UserId) -> String {
    format!("USER#{}", user.as_str())
}

/// Counter keys are arbitrary strings; long ones are hashed to stay far below
/// DynamoDB's 2048-byte key limit.
fn counter_pk(key: &str) -> String {
    if key.len() <= 256 {
        format!("COUNTER#{key}")
    } else {
        format!(
            "COUNTER#sha256:{}",
            crate::fsutil::hex(&Sha256::digest(key))
        )
    }
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("DynamoDB item: {what}"))
}

fn get_s<'a>(item: &'a Item, name: &str) -> StoreResult<&'a str> {
    match item.get(name) {
        Some(AttributeValue::S(v)) => Ok(v),
        _ => Err(corrupt(format!("missing string attribute {name}"))),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, name: &str) -> StoreResult<Option<T>> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::N(v)) => v
            .parse()
            .map(Some)
            .map_err(|_| corrupt(format!("attribute {name} is not a valid number"))),
        Some(_) => Err(corrupt(format!("attribute {name} is not a number"))),
    }
}

fn epoch(t: OffsetDateTime) -> i64 {
    t.unix_timestamp()
}

fn from_epoch(secs: i64) -> StoreResult<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(secs).map_err(corrupt)
}

fn rfc3339(t: OffsetDateTime) -> StoreResult<String> {
    t.format(&Rfc3339)
        .map_err(|e| StoreError::Other(e.to_string()))
}

fn template_item(t: &Template) -> StoreResult<Item> {
    let source = serde_json::to_string(&t.source).map_err(|e| StoreError::Other(e.to_string()))?;
    Ok(HashMap::from([
        ("pk".into(), s(user_pk(&t.user_id))),
        ("sk".into(), s(format!("{FACE_SK_PREFIX}{}", t.face_id))),
        ("user_id".into(), s(t.user_id.as_str())),
        ("face_id".into(), s(t.face_id.to_string())),
        (
            "descriptor".into(),
            AttributeValue::B(Blob::new(t.descriptor.to_le_bytes())),
        ),
        ("model_id".into(), s(&t.model_id)),
        ("source".into(), s(source)),
        ("created_at".into(), s(rfc3339(t.created_at)?)),
    ]))
}

fn parse_template(item: &Item) -> StoreResult<Template> {
    let user_id = UserId::parse(get_s(item, "user_id")?).map_err(corrupt)?;
    let face_id = FaceId::parse(get_s(item, "face_id")?).map_err(corrupt)?;
    let descriptor = match item.get("descriptor") {
        Some(AttributeValue::B(b)) => Descriptor::from_le_bytes(b.as_ref()).map_err(corrupt)?,
        _ => return Err(corrupt("missing binary attribute descriptor")),
    };
    // `source` is a JSON string as written here; a map is accepted for items written
    // by other tools.
    let source: Source = match item.get("source") {
        Some(AttributeValue::S(json)) => serde_json::from_str(json).map_err(corrupt)?,
        Some(AttributeValue::M(m)) => {
            let kind = m.get("kind").and_then(|v| v.as_s().ok());
            match kind.map(String::as_str) {
                Some("s3") => {
                    let field = |k: &str| {
                        m.get(k)
                            .and_then(|v| v.as_s().ok())
                            .cloned()
                            .ok_or_else(|| corrupt(format!("source.{k} missing")))
                    };
                    Source::S3 {
                        bucket: field("bucket")?,
                        key: field("key")?,
                        etag: field("etag")?,
                    }
                }
                _ => Source::Api,
            }
        }
        _ => Source::Api,
    };
    let created_at =
        OffsetDateTime::parse(get_s(item, "created_at")?, &Rfc3339).map_err(corrupt)?;
    Ok(Template {
        user_id,
        face_id,
        descriptor,
        model_id: get_s(item, "model_id")?.to_owned(),
        source,
        created_at,
    })
}

fn turn_to_str(t: Turn) -> StoreResult<String> {
    match serde_json::to_value(t) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        _ => Err(StoreError::Other(
            "turn does not serialise to a string".into(),
        )),
    }
}

/// Attempts of a template transaction that other transactions keep cancelling.
const TRANSACTION_ATTEMPTS: u32 = 6;

/// Why DynamoDB cancelled a transaction, when that is something we can act on.
#[derive(Debug, PartialEq)]
enum Cancelled {
    /// The first item's `attribute_not_exists` condition failed: the template exists.
    AlreadyExists,
    /// The third item's (the user's face count) condition failed: the user is full.
    UserFull,
    /// Another transaction or throttling got in the way: worth another attempt.
    Retryable(String),
}

fn cancellation(e: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<Cancelled> {
    let codes = cancellation_codes(e)?;
    cancellation_from_codes(&codes.iter().map(String::as_str).collect::<Vec<_>>())
}

/// One reason per item of a cancelled transaction, in order ("None" for items that
/// passed); `None` when the transaction was not cancelled.
fn cancellation_codes(e: &SdkError<TransactWriteItemsError, HttpResponse>) -> Option<Vec<String>> {
    let Some(TransactWriteItemsError::TransactionCanceledException(c)) = e.as_service_error()
    else {
        return None;
    };
    Some(
        c.cancellation_reasons()
            .iter()
            .map(|r| r.code().unwrap_or("None").to_owned())
            .collect(),
    )
}

fn cancellation_from_codes(codes: &[&str]) -> Option<Cancelled> {
    const RETRYABLE: &[&str] = &[
        "TransactionConflict",
        "ThrottlingError",
        "ProvisionedThroughputExceeded",
    ];
    if codes.first() == Some(&"ConditionalCheckFailed") {
        return Some(Cancelled::AlreadyExists);
    }
    if codes.get(2) == Some(&"ConditionalCheckFailed") {
        return Some(Cancelled::UserFull);
    }
    codes
        .iter()
        .find(|c| RETRYABLE.contains(c))
        .map(|c| Cancelled::Retryable((*c).to_owned()))
}

/// Exponential backoff with full jitter: 0..25 ms, 0..50 ms, … capped at 800 ms.
fn backoff(attempt: u32) -> std::time::Duration {
    use rand::Rng;
    let cap_ms = (25u64 << attempt.min(5)).min(800);
    std::time::Duration::from_millis(rand::thread_rng().gen_range(0..=cap_ms))
}

fn parse_challenge(item: &Item) -> StoreResult<Challenge> {
    let id = ChallengeId::parse(get_s(item, "challenge_id")?).map_err(corrupt)?;
    let steps = match item.get("steps") {
        Some(AttributeValue::L(l)) => l
            .iter()
            .map(|v| match v {
                AttributeValue::S(s) => {
                    serde_json::from_value::<Turn>(serde_json::Value::String(s.clone()))
                        .map_err(corrupt)
                }
                _ => Err(corrupt("challenge step is not a string")),
            })
            .collect::<StoreResult<Vec<_>>>()?,
        _ => return Err(corrupt("missing list attribute steps")),
    };
    let expires_at =
        OffsetDateTime::parse(get_s(item, "expires_at")?, &Rfc3339).map_err(corrupt)?;
    // Absent in challenges from before the answer window: issued at the epoch, so too
    // slow to answer (they live 60 s; this only matters across a deployment).
    let issued_at = match item.get("issued_at") {
        Some(AttributeValue::S(t)) => OffsetDateTime::parse(t, &Rfc3339).map_err(corrupt)?,
        _ => OffsetDateTime::UNIX_EPOCH,
    };
    // Comma-separated colour names; absent in challenges from before screen light.
    let lights = match item.get("lights") {
        Some(AttributeValue::S(s)) if !s.is_empty() => s
            .split(',')
            .map(|l| Light::parse(l).ok_or_else(|| corrupt("unknown challenge light")))
            .collect::<StoreResult<Vec<_>>>()?,
        _ => vec![],
    };
    Ok(Challenge {
        id,
        steps,
        lights,
        issued_at,
        expires_at,
    })
}

impl DynamoStore {
    /// A store on `table` with a client built from `config`.
    pub fn new(config: &SdkConfig, table: impl Into<String>) -> Self {
        Self::from_client(Client::new(config), table)
    }

    pub fn from_client(client: Client, table: impl Into<String>) -> Self {
        Self {
            client,
            table: table.into(),
            page_limit: None,
        }
    }

    /// Caps the items per Query/Scan page (tests use a tiny value to exercise
    /// pagination without megabytes of data).
    pub fn with_page_limit(mut self, limit: i32) -> Self {
        self.page_limit = Some(limit.max(1));
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Creates the table (PAY_PER_REQUEST, key pk/sk, TTL on `ttl`) unless it exists,
    /// and waits until it is active. For emulators and tests; production tables come
    /// from the SAM template.
    pub async fn create_table_if_missing(&self) -> StoreResult<()> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))
        };
        let key = |name: &str, kt: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kt)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))
        };
        let created = self
            .client
            .create_table()
            .table_name(&self.table)
            .attribute_definitions(attr("pk")?)
            .attribute_definitions(attr("sk")?)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .billing_mode(BillingMode::PayPerRequest)
            .send()
            .await;
        match created {
            Ok(_) => {}
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_resource_in_use_exception()) => {}
            Err(e) => return Err(sdk_err("CreateTable", e)),
        }
        for _ in 0..120 {
            let d = self
                .client
                .describe_table()
                .table_name(&self.table)
                .send()
                .await
                .map_err(|e| sdk_err("DescribeTable", e))?;
            if d.table().and_then(|t| t.table_status()) == Some(&TableStatus::Active) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let ttl = self
            .client
            .describe_time_to_live()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| sdk_err("DescribeTimeToLive", e))?;
        let enabled = ttl
            .time_to_live_description()
            .and_then(|d| d.attribute_name())
            == Some("ttl");
        if !enabled {
            let spec = TimeToLiveSpecification::builder()
                .attribute_name("ttl")
                .enabled(true)
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            self.client
                .update_time_to_live()
                .table_name(&self.table)
                .time_to_live_specification(spec)
                .send()
                .await
                .map_err(|e| sdk_err("UpdateTimeToLive", e))?;
        }
        Ok(())
    }

    /// The gallery version's increment (`ADD version 1`), for a transaction.
    fn version_bump(&self) -> StoreResult<Update> {
        Update::builder()
            .table_name(&self.table)
            .key("pk", s(GALLERY_PK))
            .key("sk", s(GALLERY_SK))
            .update_expression("ADD #v :one")
            .expression_attribute_names("#v", "version")
            .expression_attribute_values(":one", n(1))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))
    }

    /// [`version_bump`](Self::version_bump) on its own, outside a transaction.
    async fn bump_version(&self) -> StoreResult<()> {
        let bump = self.version_bump()?;
        self.client
            .update_item()
            .table_name(bump.table_name)
            .set_key(Some(bump.key))
            .update_expression(bump.update_expression)
            .set_expression_attribute_names(bump.expression_attribute_names)
            .set_expression_attribute_values(bump.expression_attribute_values)
            .send()
            .await
            .map_err(|e| sdk_err("UpdateItem", e))?;
        Ok(())
    }

    /// Every item matching a Query on `pk` (all pages).
    async fn query_pk(
        &self,
        pk: &str,
        sk_prefix: &str,
        projection: Option<&str>,
    ) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk AND begins_with(sk, :p)")
                .expression_attribute_values(":pk", s(pk))
                .expression_attribute_values(":p", s(sk_prefix))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_err("Query", e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Every face item (all pages of a Scan), optionally projected.
    async fn scan_faces(&self, projection: Option<&str>) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let page = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("begins_with(sk, :p)")
                .expression_attribute_values(":p", s(FACE_SK_PREFIX))
                .set_projection_expression(projection.map(str::to_owned))
                .consistent_read(true)
                .set_limit(self.page_limit)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| sdk_err("Scan", e))?;
            out.extend(page.items().iter().cloned());
            match page.last_evaluated_key() {
                Some(k) if !k.is_empty() => start = Some(k.clone()),
                _ => return Ok(out),
            }
        }
    }

    /// Deletes the user's items whose sort key starts with `sk_prefix`; returns how many.
    async fn delete_user_items(&self, user: &UserId, sk_prefix: &str) -> StoreResult<usize> {
        let keys = self
            .query_pk(&user_pk(user), sk_prefix, Some("pk, sk"))
            .await?;
        let count = keys.len();
        self.batch_delete(keys).await?;
        Ok(count)
    }

    /// Deletes keys with BatchWriteItem (25 per call), resubmitting unprocessed ones.
    async fn batch_delete(&self, keys: Vec<Item>) -> StoreResult<()> {
        for chunk in keys.chunks(25) {
            let mut pending: Vec<WriteRequest> = chunk
                .iter()
                .map(|k| {
                    DeleteRequest::builder()
                        .set_key(Some(k.clone()))
                        .build()
                        .map(|d| WriteRequest::builder().delete_request(d).build())
                        .map_err(|e| StoreError::Other(e.to_string()))
                })
                .collect::<StoreResult<_>>()?;
            let mut backoff = Duration::from_millis(50);
            for attempt in 0.. {
                if pending.is_empty() {
                    break;
                }
                if attempt == 8 {
                    return Err(StoreError::Unavailable(
                        "BatchWriteItem: items left unprocessed".into(),
                    ));
                }
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .send()
                    .await
                    .map_err(|e| sdk_err("BatchWriteItem", e))?;
                pending = out
                    .unprocessed_items()
                    .and_then(|m| m.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if !pending.is_empty() {
                    tokio::time::sleep(backoff).await;
                    backoff *= 2;
                }
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl TemplateStore for DynamoStore {
    async fn put_template_within(
        &self,
        template: &Template,
        max_per_user: usize,
    ) -> StoreResult<PutTemplate> {
        // Put-if-absent, the gallery version bump and the user's count (below the limit)
        // in one transaction: a crash can never leave a new face behind an unchanged
        // version, and two enrollments cannot both take the user's last place. Every
        // enrollment updates the version item, so concurrent enrollments can cancel each
        // other's transactions (`TransactionConflict`); the SDK does not retry those, we do.
        let count = Update::builder()
            .table_name(&self.table)
            .key("pk", s(user_pk(&template.user_id)))
            .key("sk", s(FACE_COUNT_SK))
            .update_expression("ADD faces :one")
            .condition_expression("attribute_not_exists(faces) OR faces < :max")
            .expression_attribute_values(":one", n(1))
            .expression_attribute_values(":max", n(max_per_user))
            .build()
            .map_err(|e| StoreError::Other(e.to_string()))?;
        let mut attempt = 0;
        loop {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(template_item(template)?))
                .condition_expression("attribute_not_exists(pk)")
                .build()
                .map_err(|e| StoreError::Other(e.to_string()))?;
            let result = self
                .client
                .transact_write_items()
                .transact_items(TransactWriteItem::builder().put(put).build())
                .transact_items(
                    TransactWriteItem::builder()
                        .update(self.version_bump()?)
                        .build(),
                )
                .transact_items(TransactWriteItem::builder().update(count.clone()).build())
                .send()
                .await;
            let Err(e) = result else {
                return Ok(PutTemplate::Stored);
            };
            match cancellation(&e) {
                Some(Cancelled::AlreadyExists) => return Ok(PutTemplate::Exists),
                Some(Cancelled::UserFull) => return Ok(PutTemplate::UserFull),
                Some(Cancelled::Retryable(code)) if attempt + 1 < TRANSACTION_ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(code, attempt, "template transaction cancelled, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                Some(Cancelled::Retryable(code)) => {
                    return Err(StoreError::Unavailable(format!(
                        "TransactWriteItems cancelled ({code}) {TRANSACTION_ATTEMPTS} times"
                    )))
                }
                None => return Err(sdk_err("TransactWriteItems", e)),
            }
        }
    }

    async fn user_templates(&self, user: &UserId) -> StoreResult<Vec<Template>> {
        let items = self.query_pk(&user_pk(user), FACE_SK_PREFIX, None).await?;
        let mut out = items
            .iter()
            .map(parse_template)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by_key(|t| (t.created_at, t.face_id));
        Ok(out)
    }

    async fn all_templates(&self) -> StoreResult<Vec<Template>> {
        let items = self.scan_faces(None).await?;
        let mut out = items
            .iter()
            .map(parse_template)
            .collect::<StoreResult<Vec<_>>>()?;
        out.sort_by(|a, b| {
            (&a.user_id, a.created_at, a.face_id).cmp(&(&b.user_id, b.created_at, b.face_id))
        });
        Ok(out)
    }

    async fn list_users(&self) -> StoreResult<Vec<UserSummary>> {
        let items = self.scan_faces(Some("user_id")).await?;
        let mut counts: BTreeMap<String, usize> = BTreeMap::new();
        for item in &items {
            *counts
                .entry(get_s(item, "user_id")?.to_owned())
                .or_default() += 1;
        }
        counts
            .into_iter()
            .map(|(u, faces)| {
                Ok(UserSummary {
                    user_id: UserId::parse(&u).map_err(corrupt)?,
                    faces,
                })
            })
            .collect()
    }

    async fn delete_user(&self, user: &UserId) -> StoreResult<usize> {
        let mut keys = self
            .query_pk(&user_pk(user), FACE_SK_PREFIX, Some("pk, sk"))
            .await?;
        let count = keys.len();
        keys.push(HashMap::from([
            ("pk".to_owned(), s(user_pk(user))),
            ("sk".to_owned(), s(FACE_COUNT_SK)),
        ]));
        self.batch_delete(keys).await?;
        // Bumped even when nothing was found: a retry after a crash between the deletes
        // and the bump must still invalidate cached galleries.
        self.bump_version().await?;
        Ok(count)
    }

    async fn gallery_version(&self) -> StoreResult<u64> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(GALLERY_PK))
            .key("sk", s(GALLERY_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_err("GetItem", e))?;
        Ok(match out.item() {
            Some(item) => get_n(item, "version")?.unwrap_or(0),
            None => 0,
        })
    }
}

#[async_trait::async_trait]
impl ChallengeStore for DynamoStore {
    async fn put_challenge(&self, c: &Challenge) -> StoreResult<()> {
        let steps = c
            .steps
            .iter()
            .map(|&t| turn_to_str(t).map(s))
            .collect::<StoreResult<Vec<_>>>()?;
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(format!("CHALLENGE#{}", c.id)))
            .item("sk", s("CHALLENGE"))
            .item("challenge_id", s(c.id.to_string()))
            .item("steps", AttributeValue::L(steps))
            .item(
                "lights",
                s(c.lights
                    .iter()
                    .map(|l| l.code())
                    .collect::<Vec<_>>()
                    .join(",")),
            )
            .item("issued_at", s(rfc3339(c.issued_at)?))
            .item("expires_at", s(rfc3339(c.expires_at)?))
            .item("used", AttributeValue::Bool(false))
            .item("ttl", n(epoch(c.expires_at) + CHALLENGE_GRACE_SECS))
            .send()
            .await
            .map_err(|e| sdk_err("PutItem", e))?;
        Ok(())
    }

    async fn redeem_challenge(&self, id: &ChallengeId) -> StoreResult<Redeemed> {
        let pk = s(format!("CHALLENGE#{id}"));
        // Single use: the conditional update succeeds for exactly one caller.
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk.clone())
            .key("sk", s("CHALLENGE"))
            .update_expression("SET #u = :t")
            .condition_expression("attribute_exists(pk) AND #u = :f")
            .expression_attribute_names("#u", "used")
            .expression_attribute_values(":t", AttributeValue::Bool(true))
            .expression_attribute_values(":f", AttributeValue::Bool(false))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match updated {
            Ok(out) => {
                let item = out
                    .attributes()
                    .ok_or_else(|| corrupt("no attributes returned"))?;
                Ok(Redeemed::Fresh(parse_challenge(item)?))
            }
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let got = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", pk)
                    .key("sk", s("CHALLENGE"))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| sdk_err("GetItem", e))?;
                Ok(if got.item().is_some() {
                    Redeemed::AlreadyUsed
                } else {
                    Redeemed::Unknown
                })
            }
            Err(e) => Err(sdk_err("UpdateItem", e)),
        }
    }
}

#[async_trait::async_trait]
impl CounterStore for DynamoStore {
    async fn load_counter(&self, key: &str) -> StoreResult<Option<(FailureCounter, u64)>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(counter_pk(key)))
            .key("sk", s("COUNTER"))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_err("GetItem", e))?;
        let Some(item) = out.item() else {
            return Ok(None);
        };
        let ttl: i64 = get_n(item, "ttl")?.unwrap_or(0);
        if ttl <= epoch(OffsetDateTime::now_utc()) {
            return Ok(None); // expired, awaiting TTL deletion
        }
        let counter = FailureCounter {
            count: get_n(item, "failures")?.unwrap_or(0),
            window_start: from_epoch(get_n(item, "window_start")?.unwrap_or(0))?,
            locked_until: get_n::<i64>(item, "locked_until")?
                .map(from_epoch)
                .transpose()?,
            lockouts: get_n(item, "lockouts")?.unwrap_or(0),
            last_locked_at: get_n::<i64>(item, "last_locked_at")?
                .map(from_epoch)
                .transpose()?,
        };
        let version = get_n(item, "version")?.ok_or_else(|| corrupt("counter without version"))?;
        Ok(Some((counter, version)))
    }

    async fn store_counter(
        &self,
        key: &str,
        counter: &FailureCounter,
        expected: Option<u64>,
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        // A fresh random version on every write (see the embedded store for why).
        let version = loop {
            let v = rand::random::<u64>() >> 11;
            if Some(v) != expected {
                break v;
            }
        };
        let now = epoch(OffsetDateTime::now_utc());
        let mut req = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(counter_pk(key)))
            .item("sk", s("COUNTER"))
            .item("failures", n(counter.count))
            .item("window_start", n(epoch(counter.window_start)))
            .item("version", n(version))
            .item("ttl", n(epoch(expires_at)))
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":now", n(now));
        if let Some(t) = counter.locked_until {
            req = req.item("locked_until", n(epoch(t)));
        }
        if let Some(t) = counter.last_locked_at {
            req = req
                .item("last_locked_at", n(epoch(t)))
                .item("lockouts", n(counter.lockouts));
        }
        req = match expected {
            // Absent, or present but expired (TTL deletion lags).
            None => req.condition_expression("attribute_not_exists(pk) OR #ttl <= :now"),
            Some(v) => req
                .condition_expression("#ver = :v AND #ttl > :now")
                .expression_attribute_names("#ver", "version")
                .expression_attribute_values(":v", n(v)),
        };
        match req.send().await {
            Ok(_) => Ok(true),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                Ok(false)
            }
            Err(e) => Err(sdk_err("PutItem", e)),
        }
    }

    async fn delete_counter(&self, key: &str) -> StoreResult<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(counter_pk(key)))
            .key("sk", s("COUNTER"))
            .send()
            .await
            .map_err(|e| sdk_err("DeleteItem", e))?;
        Ok(())
    }
}

#[async_trait::async_trait]
impl SessionStore for DynamoStore {
    async fn session_version(&self, user: &UserId) -> StoreResult<u64> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(SESSION_SK))
            // A revocation must be seen by the very next request.
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| sdk_err("GetItem", e))?;
        match out.item() {
            None => Ok(0),
            Some(item) => Ok(get_n(item, "sv")?.unwrap_or(0)),
        }
    }

    async fn bump_session_version(&self, user: &UserId) -> StoreResult<u64> {
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", s(user_pk(user)))
            .key("sk", s(SESSION_SK))
            .update_expression("ADD sv :one")
            .expression_attribute_values(":one", n(1))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(|e| sdk_err("UpdateItem", e))?;
        out.attributes()
            .and_then(|a| get_n(a, "sv").transpose())
            .transpose()?
            .ok_or_else(|| corrupt("UpdateItem returned no sv"))
    }
}

fn grant_sk(upload_id: &str) -> StoreResult<String> {
    if !faceid_core::keys::valid_upload_id(upload_id) {
        return Err(StoreError::Other(format!(
            "invalid upload id {upload_id:?}"
        )));
    }
    Ok(format!("{UPLOAD_SK_PREFIX}{upload_id}"))
}

#[async_trait::async_trait]
impl UploadGrants for DynamoStore {
    async fn put_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        expires_at: OffsetDateTime,
    ) -> StoreResult<()> {
        self.client
            .put_item()
            .table_name(&self.table)
            .item("pk", s(user_pk(user)))
            .item("sk", s(grant_sk(upload_id)?))
            .item("expires_at", n(epoch(expires_at)))
            .item("ttl", n(epoch(expires_at + UPLOAD_GRANT_GRACE)))
            .send()
            .await
            .map_err(|e| sdk_err("PutItem", e))?;
        Ok(())
    }

    async fn take_grant(
        &self,
        user: &UserId,
        upload_id: &str,
        version: &str,
    ) -> StoreResult<GrantTaken> {
        let pk = s(user_pk(user));
        let sk = s(grant_sk(upload_id)?);
        let now = epoch(OffsetDateTime::now_utc());
        // Single use: the conditional update binds the grant to one object version, for
        // exactly one caller. The grant is kept (until its ttl), so a re-delivered event
        // is recognised as the same upload instead of an ungranted one.
        let updated = self
            .client
            .update_item()
            .table_name(&self.table)
            .key("pk", pk.clone())
            .key("sk", sk.clone())
            .update_expression("SET #by = :v")
            .condition_expression(
                "attribute_exists(pk) AND attribute_not_exists(#by) AND #ttl > :now",
            )
            .expression_attribute_names("#by", "taken_by")
            .expression_attribute_names("#ttl", "ttl")
            .expression_attribute_values(":v", s(version))
            .expression_attribute_values(":now", n(now))
            .send()
            .await;
        match updated {
            Ok(_) => Ok(GrantTaken::Fresh),
            Err(e)
                if e.as_service_error()
                    .is_some_and(|e| e.is_conditional_check_failed_exception()) =>
            {
                let got = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .key("pk", pk)
                    .key("sk", sk)
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| sdk_err("GetItem", e))?;
                let live = got
                    .item()
                    .filter(|item| get_n::<i64>(item, "ttl").ok().flatten().unwrap_or(0) > now);
                Ok(match live.and_then(|item| item.get("taken_by")) {
                    Some(AttributeValue::S(by)) if by == version => GrantTaken::SameUpload,
                    Some(_) => GrantTaken::OtherUpload,
                    None => GrantTaken::Missing,
                })
            }
            Err(e) => Err(sdk_err("UpdateItem", e)),
        }
    }

    async fn revoke_user_grants(&self, user: &UserId) -> StoreResult<usize> {
        self.delete_user_items(user, UPLOAD_SK_PREFIX).await
    }
}

#[async_trait::async_trait]
impl SeenFrames for DynamoStore {
    async fn claim_frames(
        &self,
        user: &UserId,
        digests: &[FrameDigest],
        expires_at: OffsetDateTime,
    ) -> StoreResult<bool> {
        if digests.is_empty() {
            return Ok(true);
        }
        if digests.len() > MAX_TRANSACTION_ITEMS {
            return Err(StoreError::Other(format!(
                "{} frames in one claim (at most {MAX_TRANSACTION_ITEMS})",
                digests.len()
            )));
        }
        // One put-if-absent per frame in one transaction: all are recorded or none, and a
        // digest already there (TTL deletion lags, so an expired one counts as absent)
        // cancels it with ConditionalCheckFailed.
        let now = epoch(OffsetDateTime::now_utc());
        let puts = digests
            .iter()
            .map(|d| {
                Put::builder()
                    .table_name(&self.table)
                    .item("pk", s(user_pk(user)))
                    .item("sk", s(format!("{FRAME_SK_PREFIX}{}", d.to_hex())))
                    .item("ttl", n(epoch(expires_at)))
                    .condition_expression("attribute_not_exists(pk) OR #ttl <= :now")
                    .expression_attribute_names("#ttl", "ttl")
                    .expression_attribute_values(":now", n(now))
                    .build()
                    .map(|p| TransactWriteItem::builder().put(p).build())
                    .map_err(|e| StoreError::Other(e.to_string()))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let mut attempt = 0;
        loop {
            let result = self
                .client
                .transact_write_items()
                .set_transact_items(Some(puts.clone()))
                .send()
                .await;
            let Err(e) = result else { return Ok(true) };
            let Some(codes) = cancellation_codes(&e) else {
                return Err(sdk_err("TransactWriteItems", e));
            };
            if codes.iter().any(|c| c == "ConditionalCheckFailed") {
                return Ok(false);
            }
            match cancellation_from_codes(&codes.iter().map(String::as_str).collect::<Vec<_>>()) {
                Some(Cancelled::Retryable(code)) if attempt + 1 < TRANSACTION_ATTEMPTS => {
                    attempt += 1;
                    tracing::debug!(code, attempt, "frame claim cancelled, retrying");
                    tokio::time::sleep(backoff(attempt)).await;
                }
                _ => {
                    return Err(StoreError::Unavailable(format!(
                        "TransactWriteItems cancelled ({})",
                        codes.join(", ")
                    )))
                }
            }
        }
    }

    async fn forget_frames(&self, user: &UserId) -> StoreResult<usize> {
        self.delete_user_items(user, FRAME_SK_PREFIX).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_transactions_are_classified() {
        assert_eq!(
            cancellation_from_codes(&["ConditionalCheckFailed", "None"]),
            Some(Cancelled::AlreadyExists)
        );
        assert_eq!(
            cancellation_from_codes(&["None", "TransactionConflict"]),
            Some(Cancelled::Retryable("TransactionConflict".into()))
        );
        assert_eq!(
            cancellation_from_codes(&["ThrottlingError", "None"]),
            Some(Cancelled::Retryable("ThrottlingError".into()))
        );
        assert_eq!(
            cancellation_from_codes(&["None", "None", "ConditionalCheckFailed"]),
            Some(Cancelled::UserFull)
        );
        assert_eq!(cancellation_from_codes(&["ValidationError", "None"]), None);
    }

    #[test]
    fn backoff_is_bounded() {
        for attempt in 0..20 {
            assert!(backoff(attempt) <= std::time::Duration::from_millis(800));
        }
    }
}
