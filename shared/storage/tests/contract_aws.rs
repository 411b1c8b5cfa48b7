//! The adapter contract against DynamoDB + S3 on a real `moto_server` and the MongoDB
//! audit log on a real `nx-27017`, plus checks of what lands in those servers (item
//! attributes, TTL, BSON dates, presigned uploads). Each test uses its own table, bucket
//! or collection, so tests run in parallel on one server.

mod common;

use aws_sdk_dynamodb::types::AttributeValue;
use common::{contract, event, now_ms, servers, template, unique};
use faceid_core::audit::AuditQuery;
use faceid_core::ports::{
    AuditLog, ChallengeStore, CounterStore, FailureCounter, ImageStore, TemplateStore,
};
use faceid_core::Challenge;
use faceid_storage::aws::{load_sdk_config, AwsSettings, DynamoStore, S3ImageStore};
use faceid_storage::mongo::{MongoAuditConfig, MongoAuditLog};
use mongodb::bson::{doc, Bson};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

async fn sdk_config() -> aws_config::SdkConfig {
    load_sdk_config(&AwsSettings {
        region: Some("us-east-1".into()),
        endpoint_url: Some(servers::moto_endpoint().to_owned()),
        static_credentials: Some(("testing".into(), "testing".into())),
        ..AwsSettings::default()
    })
    .await
}

async fn dynamo() -> DynamoStore {
    let store = DynamoStore::new(&sdk_config().await, unique("faceid-test"));
    store.create_table_if_missing().await.unwrap();
    // A second call is a no-op.
    store.create_table_if_missing().await.unwrap();
    store
}

async fn s3() -> S3ImageStore {
    let store = S3ImageStore::new(&sdk_config().await, unique("faceid-test"));
    store.create_bucket_if_missing().await.unwrap();
    store.create_bucket_if_missing().await.unwrap();
    store
}

async fn mongo() -> MongoAuditLog {
    let mut config = MongoAuditConfig::new(servers::mongo_uri());
    config.collection = format!("AuthLogs_{}", uuid::Uuid::new_v4().simple());
    MongoAuditLog::connect(&config).await.unwrap()
}

async fn get_item(
    store: &DynamoStore,
    pk: &str,
    sk: &str,
) -> std::collections::HashMap<String, AttributeValue> {
    store
        .client()
        .get_item()
        .table_name(store.table())
        .key("pk", AttributeValue::S(pk.into()))
        .key("sk", AttributeValue::S(sk.into()))
        .send()
        .await
        .unwrap()
        .item()
        .cloned()
        .unwrap_or_else(|| panic!("no item {pk}/{sk}"))
}

#[tokio::test]
async fn dynamo_templates_contract() {
    contract::templates(&dynamo().await).await;
}

#[tokio::test]
async fn dynamo_many_templates_paginate() {
    // Pages of 7 items: Query, Scan (with its filter) and the batched deletes must all
    // follow LastEvaluatedKey / chunking to see every one of the 60 faces.
    let store = dynamo().await.with_page_limit(7);
    contract::many_templates(&store, 60).await;
    // Other items (challenges, the gallery version) share the table; listings skip them.
    contract::templates(&store).await;
}

#[tokio::test]
async fn dynamo_challenges_contract() {
    contract::challenges(Arc::new(dynamo().await)).await;
}

#[tokio::test]
async fn dynamo_counters_contract() {
    contract::counters(Arc::new(dynamo().await)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_template_limit_contract() {
    contract::template_limit(Arc::new(dynamo().await), contract::Puts::Sequential).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_upload_grants_contract() {
    contract::upload_grants(Arc::new(dynamo().await)).await;
}

/// Sequential on moto for the reason of the template limit's test (its transaction
/// rollback is unsafe under concurrency); the race itself is checked on the embedded store.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn dynamo_seen_frames_contract() {
    contract::seen_frames(Arc::new(dynamo().await), contract::Puts::Sequential).await;
}

#[tokio::test]
async fn dynamo_sessions_contract() {
    contract::sessions(Arc::new(dynamo().await)).await;
}

#[tokio::test]
async fn s3_images_contract() {
    contract::images(&s3().await).await;
}

#[tokio::test]
async fn mongo_audit_contract() {
    contract::audit(&mongo().await).await;
}

#[tokio::test]
async fn dynamo_items_have_the_documented_layout_and_ttl() {
    let store = dynamo().await;
    let user = unique("alice");
    let t = template(&user, 3, now_ms());
    assert!(store.put_template(&t).await.unwrap());
    let item = get_item(
        &store,
        &format!("USER#{user}"),
        &format!("FACE#{}", t.face_id),
    )
    .await;
    assert_eq!(item["user_id"], AttributeValue::S(user.clone()));
    assert_eq!(item["face_id"], AttributeValue::S(t.face_id.to_string()));
    match &item["descriptor"] {
        AttributeValue::B(b) => assert_eq!(b.as_ref(), t.descriptor.to_le_bytes().as_slice()),
        other => panic!("descriptor is not binary: {other:?}"),
    }
    let source: serde_json::Value = serde_json::from_str(item["source"].as_s().unwrap()).unwrap();
    assert_eq!(source["kind"], "s3");
    let created = item["created_at"].as_s().unwrap();
    assert_eq!(
        OffsetDateTime::parse(created, &time::format_description::well_known::Rfc3339).unwrap(),
        t.created_at
    );

    // Short-lived items carry a numeric `ttl` (epoch seconds) matching their expiry,
    // and the table has TTL enabled on it.
    let c = Challenge::new(OffsetDateTime::now_utc(), time::Duration::seconds(60));
    store.put_challenge(&c).await.unwrap();
    let item = get_item(&store, &format!("CHALLENGE#{}", c.id), "CHALLENGE").await;
    let ttl: i64 = item["ttl"].as_n().unwrap().parse().unwrap();
    assert!(ttl >= c.expires_at.unix_timestamp(), "challenge ttl {ttl}");
    assert!(ttl <= c.expires_at.unix_timestamp() + 24 * 3600);
    // The issue time (the answer window is measured from it) as RFC 3339, and the steps
    // as their words.
    let issued = item["issued_at"].as_s().unwrap();
    assert_eq!(
        OffsetDateTime::parse(issued, &time::format_description::well_known::Rfc3339).unwrap(),
        c.issued_at
    );
    let steps: Vec<&str> = item["steps"]
        .as_l()
        .unwrap()
        .iter()
        .map(|v| v.as_s().unwrap().as_str())
        .collect();
    assert_eq!(steps.len(), c.steps.len());
    assert!(steps
        .iter()
        .all(|s| ["left", "right", "up", "down"].contains(s)));

    let now = OffsetDateTime::now_utc();
    let exp = now + time::Duration::minutes(3);
    let fc = FailureCounter {
        count: 2,
        window_start: now.replace_nanosecond(0).unwrap(),
        locked_until: None,
        lockouts: 0,
        last_locked_at: None,
    };
    assert!(store
        .store_counter("ip:192.0.2.1", &fc, None, exp)
        .await
        .unwrap());
    let item = get_item(&store, "COUNTER#ip:192.0.2.1", "COUNTER").await;
    assert_eq!(
        item["ttl"],
        AttributeValue::N(exp.unix_timestamp().to_string())
    );
    assert_eq!(item["failures"], AttributeValue::N("2".into()));

    let ttl = store
        .client()
        .describe_time_to_live()
        .table_name(store.table())
        .send()
        .await
        .unwrap();
    let d = ttl.time_to_live_description().unwrap();
    assert_eq!(d.attribute_name(), Some("ttl"));
    assert_eq!(d.time_to_live_status().map(|s| s.as_str()), Some("ENABLED"));

    // The gallery version is one numeric item.
    let item = get_item(&store, "GALLERY", "VERSION").await;
    assert_eq!(
        item["version"],
        AttributeValue::N(store.gallery_version().await.unwrap().to_string())
    );
}

#[tokio::test]
async fn s3_objects_are_encrypted_and_presigned_put_works() {
    let store = s3().await;
    let key = format!("enroll/{}/{}.jpg", unique("u"), uuid::Uuid::new_v4());
    store
        .put_image(&key, vec![1, 2, 3], "image/jpeg")
        .await
        .unwrap();
    let head = store
        .client()
        .head_object()
        .bucket(store.bucket())
        .key(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("AES256")
    );
    assert_eq!(head.content_type(), Some("image/jpeg"));

    // A client PUTs to the presigned URL with a plain HTTP client.
    let key2 = format!("enroll/{}/{}.jpg", unique("u"), uuid::Uuid::new_v4());
    let put = store
        .presign_put(&key2, Duration::from_secs(300))
        .await
        .unwrap();
    let url = &put.url;
    assert!(url.contains("X-Amz-Signature="), "{url}");
    assert!(url.contains("X-Amz-Expires=300"), "{url}");
    // Create-only and the photo's type are signed headers the client must send.
    assert!(url.contains("if-none-match"), "{url}");
    let header = |k: &str| {
        put.headers
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(header("if-none-match"), Some("*"), "{:?}", put.headers);
    assert_eq!(
        header("content-type"),
        Some("image/jpeg"),
        "{:?}",
        put.headers
    );
    let send = |body: Vec<u8>| {
        let mut req = reqwest::Client::new().put(url).body(body);
        for (k, v) in &put.headers {
            req = req.header(k, v);
        }
        req.send()
    };
    let photo = b"\xff\xd8\xff\xe0 not really a jpeg".to_vec();
    let resp = send(photo.clone()).await.unwrap();
    assert!(resp.status().is_success(), "PUT {url}: {}", resp.status());
    // The URL is single use: S3 refuses a second PUT onto the object.
    let resp = send(b"another photo".to_vec()).await.unwrap();
    assert_eq!(resp.status().as_u16(), 412, "second PUT {url}");
    assert_eq!(store.get_image(&key2).await.unwrap(), Some(photo));

    // The bucket has default encryption for such uploads.
    let enc = store
        .client()
        .get_bucket_encryption()
        .bucket(store.bucket())
        .send()
        .await
        .unwrap();
    let rule = &enc.server_side_encryption_configuration().unwrap().rules()[0];
    assert_eq!(
        rule.apply_server_side_encryption_by_default()
            .unwrap()
            .sse_algorithm()
            .as_str(),
        "AES256"
    );
}

#[tokio::test]
async fn s3_delete_prefix_follows_pagination() {
    // More keys than one ListObjectsV2 page (1000).
    let store = s3().await;
    let user = unique("u");
    // 32 PUTs in flight at a time: 1005 at once made a loaded moto miss the SDK's 8 s
    // attempt timeout.
    let keys: Vec<String> = (0..1005)
        .map(|i| format!("enroll/{user}/{i}.jpg"))
        .collect();
    for batch in keys.chunks(32) {
        let puts: Vec<_> = batch
            .iter()
            .map(|key| {
                let (store, key) = (store.clone(), key.clone());
                tokio::spawn(async move { store.put_image(&key, vec![0], "image/jpeg").await })
            })
            .collect();
        for p in puts {
            p.await.unwrap().unwrap();
        }
    }
    assert_eq!(
        store
            .delete_prefix(&format!("enroll/{user}/"))
            .await
            .unwrap(),
        1005
    );
    assert_eq!(
        store
            .get_image(&format!("enroll/{user}/7.jpg"))
            .await
            .unwrap(),
        None
    );
}

#[tokio::test]
async fn delete_user_removes_templates_and_photos() {
    // What the DELETE /v1/users/{id} handler does with the two ports.
    let (templates, images) = (dynamo().await, s3().await);
    let user = unique("carol");
    for i in 0..3 {
        let t = template(&user, i, now_ms());
        assert!(templates.put_template(&t).await.unwrap());
        images
            .put_image(
                &format!("enroll/{user}/{}.jpg", t.face_id),
                vec![i as u8],
                "image/jpeg",
            )
            .await
            .unwrap();
    }
    let uid = faceid_core::UserId::parse(&user).unwrap();
    assert_eq!(templates.delete_user(&uid).await.unwrap(), 3);
    assert_eq!(
        images
            .delete_prefix(&format!("enroll/{user}/"))
            .await
            .unwrap(),
        3
    );
    let left = images
        .client()
        .list_objects_v2()
        .bucket(images.bucket())
        .prefix(format!("enroll/{user}/"))
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count(), Some(0));
    assert!(templates.user_templates(&uid).await.unwrap().is_empty());
}

#[tokio::test]
async fn mongo_documents_have_bson_dates_and_plain_fields() {
    let log = mongo().await;
    let e = event("authenticate", Some("alice"), "success", now_ms());
    log.append(&e).await.unwrap();
    // Duplicate delivery: still one document.
    log.append(&e).await.unwrap();
    log.append(&e).await.unwrap();
    assert_eq!(log.collection().count_documents(doc! {}).await.unwrap(), 1);

    let d = log
        .collection()
        .find_one(doc! {"_id": e.event_id.to_string()})
        .await
        .unwrap()
        .expect("stored under _id = event id");
    match d.get("at") {
        Some(Bson::DateTime(dt)) => {
            assert_eq!(
                i128::from(dt.timestamp_millis()),
                e.at.unix_timestamp_nanos() / 1_000_000
            )
        }
        other => panic!("`at` is not a BSON date: {other:?}"),
    }
    assert_eq!(d.get_str("event").unwrap(), "authenticate");
    assert_eq!(d.get_str("user_id").unwrap(), "alice");
    assert_eq!(d.get_str("outcome").unwrap(), "success");
    assert_eq!(d.get_str("client").unwrap(), "127.0.0.1");
    assert_eq!(
        d.get_f64("distance").unwrap(),
        f64::from(e.distance.unwrap())
    );
    assert_eq!(d.get_f64("threshold").unwrap(), f64::from(0.6f32));
    assert_eq!(d.get_f64("latency_ms").unwrap(), 123.456);
    let live = d
        .get_document("liveness")
        .expect("liveness is a sub-document");
    assert!(live.get_bool("passed").unwrap());
    assert_eq!(live.get_array("steps").unwrap().len(), 2);

    // Indexes on (user_id, at) and (at) exist after the first append.
    // Compared by indexed fields: nx-27017 reports neither our index names nor the
    // descending direction, so only the field lists are portable.
    let mut fields: Vec<Vec<String>> = Vec::new();
    let mut cursor = log.collection().list_indexes().await.unwrap();
    while cursor.advance().await.unwrap() {
        fields.push(
            cursor
                .deserialize_current()
                .unwrap()
                .keys
                .keys()
                .cloned()
                .collect(),
        );
    }
    assert!(
        fields.contains(&vec!["user_id".to_owned(), "at".to_owned()]),
        "{fields:?}"
    );
    assert!(fields.contains(&vec!["at".to_owned()]), "{fields:?}");

    // Queries filter on the BSON date. (Margins of a second: nx-27017 compares dates
    // with sub-second errors; MongoDB itself is exact to the millisecond.)
    let q = AuditQuery {
        before: Some(e.at),
        limit: 10,
        ..Default::default()
    };
    assert!(log.query(&q).await.unwrap().is_empty());
    let q = AuditQuery {
        before: Some(e.at + time::Duration::seconds(1)),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(log.query(&q).await.unwrap(), vec![e]);
}
