//! The adapter contract against the embedded (local files) adapters, plus what only they
//! have: signed local upload URLs, reopening, and two store instances on one directory
//! (separate lock-file descriptions, as two processes would have).

mod common;

use common::{contract, event, now_ms, template, unique};
use faceid_core::audit::AuditQuery;
use faceid_core::ports::{
    AuditLog, ChallengeStore, CounterStore, FailureCounter, ImageStore, PresignedPut, Redeemed,
    TemplateStore,
};
use faceid_core::{Challenge, UserId};
use faceid_storage::{
    EmbeddedConfig, EmbeddedStore, EmbeddedStores, FileAuditLog, LocalImageStore, PresignError,
};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

fn stores(dir: &std::path::Path) -> EmbeddedStores {
    EmbeddedStores::open(&EmbeddedConfig {
        data_dir: dir.to_path_buf(),
        public_base_url: "http://127.0.0.1:8080/".into(),
        upload_signing_key: b"test-upload-key".to_vec(),
    })
    .unwrap()
}

#[tokio::test]
async fn embedded_templates_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::templates(stores(dir.path()).store.as_ref()).await;
}

#[tokio::test]
async fn embedded_many_templates() {
    let dir = tempfile::tempdir().unwrap();
    contract::many_templates(stores(dir.path()).store.as_ref(), 60).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_challenges_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::challenges(stores(dir.path()).store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_counters_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::counters(stores(dir.path()).store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_sessions_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::sessions(stores(dir.path()).store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_template_limit_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::template_limit(stores(dir.path()).store, contract::Puts::Concurrent).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_upload_grants_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::upload_grants(stores(dir.path()).store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_seen_frames_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::seen_frames(stores(dir.path()).store, contract::Puts::Concurrent).await;
}

#[tokio::test]
async fn embedded_images_contract() {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    contract::images(s.images.as_ref()).await;
    // Nothing was written outside the images directory.
    let outside: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert!(
        !outside.iter().any(|n| n.contains("escape") || n == "x"),
        "{outside:?}"
    );
}

#[tokio::test]
async fn embedded_audit_contract() {
    let dir = tempfile::tempdir().unwrap();
    contract::audit(stores(dir.path()).audit.as_ref()).await;
}

/// Splits `{base}/v1/local-uploads/{key}?expires=E&sig=S`.
fn parse_upload_url(url: &str) -> (String, i64, String) {
    let rest = url
        .strip_prefix("http://127.0.0.1:8080/v1/local-uploads/")
        .unwrap_or_else(|| panic!("unexpected upload URL {url}"));
    let (key, query) = rest.split_once('?').unwrap();
    let mut expires = None;
    let mut sig = None;
    for pair in query.split('&') {
        match pair.split_once('=').unwrap() {
            ("expires", v) => expires = Some(v.parse().unwrap()),
            ("sig", v) => sig = Some(v.to_owned()),
            other => panic!("unexpected parameter {other:?}"),
        }
    }
    (key.to_owned(), expires.unwrap(), sig.unwrap())
}

#[tokio::test]
async fn embedded_presigned_upload_is_signed_and_expires() {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    let key = format!("enroll/{}/photo.jpg", unique("u"));
    let put = s
        .images
        .presign_put(&key, Duration::from_secs(300))
        .await
        .unwrap();
    assert_eq!(put.headers, PresignedPut::required_headers());
    let (got_key, expires, sig) = parse_upload_url(&put.url);
    assert_eq!(got_key, key);
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!(
        (now + 299..=now + 301).contains(&expires),
        "{expires} vs {now}"
    );

    // What the route handler does: verify, then store once.
    s.images.verify_presigned(&got_key, expires, &sig).unwrap();
    assert!(s
        .images
        .put_new_image(&got_key, b"jpeg bytes".to_vec())
        .await
        .unwrap());
    // A second PUT through the same URL does not replace the photo.
    assert!(!s
        .images
        .put_new_image(&got_key, b"other bytes".to_vec())
        .await
        .unwrap());
    assert_eq!(
        s.images.get_image(&key).await.unwrap(),
        Some(b"jpeg bytes".to_vec())
    );

    // Tampering with any part fails; so does another store's key.
    assert_eq!(
        s.images
            .verify_presigned("enroll/mallory/photo.jpg", expires, &sig),
        Err(PresignError::BadSignature)
    );
    assert_eq!(
        s.images.verify_presigned(&got_key, expires + 3600, &sig),
        Err(PresignError::BadSignature)
    );
    assert!(matches!(
        s.images.verify_presigned("../etc/passwd", expires, &sig),
        Err(PresignError::InvalidKey(_))
    ));
    let other =
        LocalImageStore::open(dir.path().join("images"), "http://x", b"other".to_vec()).unwrap();
    assert_eq!(
        other.verify_presigned(&got_key, expires, &sig),
        Err(PresignError::BadSignature)
    );

    // An expired URL is refused even with a valid signature.
    let short = s
        .images
        .presign_put(&key, Duration::from_secs(1))
        .await
        .unwrap();
    let (k, e, sig) = parse_upload_url(&short.url);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    assert_eq!(
        s.images.verify_presigned(&k, e, &sig),
        Err(PresignError::Expired)
    );
}

#[tokio::test]
async fn embedded_data_survives_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let user = unique("alice");
    let t = template(&user, 7, now_ms());
    let c = Challenge::new(OffsetDateTime::now_utc(), time::Duration::seconds(60));
    let e = event("authenticate", Some(&user), "success", now_ms());
    let version = {
        let s = stores(dir.path());
        assert!(s.store.put_template(&t).await.unwrap());
        s.store.put_challenge(&c).await.unwrap();
        s.audit.append(&e).await.unwrap();
        s.images
            .put_image("enroll/a/1.jpg", vec![9; 10], "image/jpeg")
            .await
            .unwrap();
        s.store.gallery_version().await.unwrap()
    };
    let s = stores(dir.path());
    assert_eq!(s.store.gallery_version().await.unwrap(), version);
    assert_eq!(s.store.all_templates().await.unwrap(), vec![t.clone()]);
    assert!(
        !s.store.put_template(&t).await.unwrap(),
        "still idempotent after reopen"
    );
    assert_eq!(
        s.store.redeem_challenge(&c.id).await.unwrap(),
        Redeemed::Fresh(c)
    );
    s.audit.append(&e).await.unwrap();
    assert_eq!(
        s.audit
            .query(&AuditQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap(),
        vec![e]
    );
    assert_eq!(
        s.images.get_image("enroll/a/1.jpg").await.unwrap(),
        Some(vec![9; 10])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn embedded_two_instances_on_one_directory_stay_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let a = Arc::new(EmbeddedStore::open(dir.path()).unwrap());
    let b = Arc::new(EmbeddedStore::open(dir.path()).unwrap());

    // One challenge, redeemed concurrently through both instances: one winner.
    let c = Challenge::new(OffsetDateTime::now_utc(), time::Duration::seconds(60));
    a.put_challenge(&c).await.unwrap();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let s = if i % 2 == 0 {
                Arc::clone(&a)
            } else {
                Arc::clone(&b)
            };
            let id = c.id;
            tokio::spawn(async move { s.redeem_challenge(&id).await.unwrap() })
        })
        .collect();
    let mut fresh = 0;
    for t in tasks {
        fresh += usize::from(matches!(t.await.unwrap(), Redeemed::Fresh(_)));
    }
    assert_eq!(fresh, 1);

    // A CAS race between the instances: one winner.
    let now = OffsetDateTime::now_utc();
    let fc = FailureCounter {
        count: 1,
        window_start: now.replace_nanosecond(0).unwrap(),
        locked_until: None,
        lockouts: 0,
        last_locked_at: None,
    };
    let exp = now + time::Duration::minutes(1);
    a.store_counter("k", &fc, None, exp).await.unwrap();
    let (_, v) = b.load_counter("k").await.unwrap().unwrap();
    let (ra, rb) = tokio::join!(
        a.store_counter("k", &fc, Some(v), exp),
        b.store_counter("k", &fc, Some(v), exp)
    );
    assert_eq!(u8::from(ra.unwrap()) + u8::from(rb.unwrap()), 1);

    // A template written through one instance is seen by the other's cached gallery.
    let user = unique("bob");
    assert_eq!(b.all_templates().await.unwrap().len(), 0);
    let t = template(&user, 1, now_ms());
    assert!(a.put_template(&t).await.unwrap());
    assert!(!b.put_template(&t).await.unwrap());
    assert_eq!(b.all_templates().await.unwrap(), vec![t]);
    assert_eq!(
        b.delete_user(&UserId::parse(&user).unwrap()).await.unwrap(),
        1
    );
    assert!(a.all_templates().await.unwrap().is_empty());

    // Two audit logs on one file: a redelivered event is stored once.
    let la = FileAuditLog::open(dir.path().join("audit")).unwrap();
    let lb = FileAuditLog::open(dir.path().join("audit")).unwrap();
    let e1 = event("authenticate", Some("x"), "success", now_ms());
    let e2 = event("authenticate", Some("y"), "success", now_ms());
    la.append(&e1).await.unwrap();
    lb.append(&e1).await.unwrap();
    lb.append(&e2).await.unwrap();
    let q = AuditQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(la.query(&q).await.unwrap().len(), 2);
    let lines = std::fs::read_to_string(la.path()).unwrap();
    assert_eq!(lines.lines().count(), 2);
}

#[tokio::test]
async fn embedded_audit_log_recovers_from_a_torn_last_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = FileAuditLog::open(dir.path()).unwrap();
    let e1 = event("authenticate", Some("a"), "success", now_ms());
    log.append(&e1).await.unwrap();
    // A crash mid-append leaves half a line.
    let mut bytes = std::fs::read(log.path()).unwrap();
    bytes.extend_from_slice(br#"{"event_id":"1234","at":"20"#);
    std::fs::write(log.path(), &bytes).unwrap();

    let fresh = FileAuditLog::open(dir.path()).unwrap();
    let q = AuditQuery {
        limit: 10,
        ..Default::default()
    };
    assert_eq!(fresh.query(&q).await.unwrap(), vec![e1.clone()]);
    let e2 = event(
        "authenticate",
        Some("b"),
        "rejected",
        now_ms() + time::Duration::seconds(1),
    );
    fresh.append(&e2).await.unwrap();
    assert_eq!(fresh.query(&q).await.unwrap(), vec![e2.clone(), e1.clone()]);
    let text = std::fs::read_to_string(fresh.path()).unwrap();
    assert_eq!(text.lines().count(), 2, "the torn line was cut off: {text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap();
    }
}

#[tokio::test]
async fn embedded_delete_on_a_fresh_store_finds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = stores(dir.path());
    let nobody = UserId::parse("nobody").unwrap();
    assert_eq!(s.store.delete_user(&nobody).await.unwrap(), 0);
}
