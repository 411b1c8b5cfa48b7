//! The Lambda handlers, driven by API Gateway v2 and S3 event fixtures (JSON files),
//! against real moto_server (DynamoDB + S3) and nx-27017 (MongoDB wire protocol) through
//! the real AWS SDK and mongodb driver.

#[path = "../../../shared/storage/tests/common/servers.rs"]
mod servers;

use faceid_core::ports::{ImageStore, TemplateStore};
use faceid_core::UserId;
use faceid_service_tests::lambda::{
    apigw, login, put_upload, put_upload_status, s3_event, wait_until, Functions, MotoBackends,
};
use faceid_service_tests::{b64, biden_variant, crop_png, fixture, pipeline, ADMIN_TOKEN};
use serde_json::json;
use std::time::Duration;

async fn audit_count(coll: &mongodb::Collection<mongodb::bson::Document>) -> u64 {
    coll.count_documents(mongodb::bson::doc! {})
        .await
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lambda_handlers_on_moto_and_mongodb() {
    let endpoint = servers::moto_endpoint().to_owned();
    let mut mongo = servers::OwnedMongo::start();
    let uri = mongo.uri();
    let dir = tempfile::tempdir().unwrap();
    let spool = dir.path().join("spool");
    let data = dir.path().to_string_lossy().to_string();
    let aws = MotoBackends::create(&endpoint).await;
    let s = aws.settings(
        &endpoint,
        &data,
        &[
            ("FACEID_MONGODB_URI", &uri),
            ("FACEID_SPOOL_DIR", &spool.to_string_lossy()),
        ],
    );
    // The enroll function as deployed: it holds only the session public key.
    let enroll_spool = dir.path().join("enroll-spool");
    let enroll_settings = aws.enroll_settings(
        &endpoint,
        &data,
        &[
            ("FACEID_MONGODB_URI", &uri),
            ("FACEID_SPOOL_DIR", &enroll_spool.to_string_lossy()),
        ],
    );
    let MotoBackends {
        dynamo, s3, bucket, ..
    } = aws;
    let service = faceid_wiring::build_service(&s, pipeline())
        .await
        .expect("service builds");
    let enroll_service = faceid_wiring::build_service(&enroll_settings, pipeline())
        .await
        .expect("verify-only enroll service builds");
    assert!(service.local_images.is_none(), "photos must go to S3");
    assert!(
        enroll_service.state.config.tokens.signer().is_none(),
        "the enroll function must not be able to mint sessions"
    );
    let f = Functions::separate(enroll_service.state.clone(), service.state.clone());

    // Person 1 through the API.
    let body = json!({"images": [b64(&fixture("face_recognition/obama.jpg")), b64(&fixture("face_recognition/obama2.jpg"))]});
    let (st, resp) = f
        .enroll(apigw(
            "POST",
            "/v1/users/alice/faces",
            Some(body),
            Some(ADMIN_TOKEN),
        ))
        .await;
    assert_eq!(st, 201, "{resp}");

    // The bucket notifies on every object it holds (as if the trigger had no prefix
    // filter): the API's photos are not enrolled a second time.
    let listed = s3
        .client()
        .list_objects_v2()
        .bucket(&bucket)
        .send()
        .await
        .unwrap();
    let objects: Vec<(String, String)> = listed
        .contents()
        .iter()
        .map(|o| {
            (
                o.key().unwrap().to_owned(),
                o.e_tag().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(objects.len(), 2, "{objects:?}");
    for (key, etag) in &objects {
        let (_, out) = f.enroll(s3_event(&bucket, key, etag)).await;
        assert_eq!(out["outcomes"], json!([]), "{key}: {out}");
    }
    let alice = UserId::parse("alice").unwrap();
    assert_eq!(dynamo.user_templates(&alice).await.unwrap().len(), 2);

    // Person 2 through a presigned upload (the web/admin path), then its ObjectCreated
    // event, delivered twice.
    let (key, etag) = f.upload("bob", fixture("face_recognition/biden.jpg")).await;
    let (_, out) = f.enroll(s3_event(&bucket, &key, &etag)).await;
    assert_eq!(out["outcomes"][0]["outcome"], "success", "{out}");
    let (_, out) = f.enroll(s3_event(&bucket, &key, &etag)).await;
    assert_eq!(out["outcomes"][0]["outcome"], "duplicate", "{out}");
    let bob = UserId::parse("bob").unwrap();
    assert_eq!(
        dynamo.user_templates(&bob).await.unwrap().len(),
        1,
        "a re-delivered event must not add a template"
    );
    let (key, etag) = f
        .upload(
            "bob",
            crop_png("face_recognition/two_people.jpg", 563, 0, 563, 661),
        )
        .await;
    let (_, out) = f.enroll(s3_event(&bucket, &key, &etag)).await;
    assert_eq!(out["outcomes"][0]["outcome"], "success", "{out}");
    assert_eq!(dynamo.user_templates(&bob).await.unwrap().len(), 2);

    // Attacker: an object written under enroll/ without an upload grant (anyone with
    // write access to the bucket, or a guessed key) is refused and deleted.
    let forged = "enroll/bob/forged.jpg";
    s3.put_image(forged, fixture("face_recognition/obama.jpg"), "image/jpeg")
        .await
        .unwrap();
    let (_, out) = f.enroll(s3_event(&bucket, forged, "\"etag-f\"")).await;
    assert_eq!(out["outcomes"][0]["reason"], "no_upload_grant", "{out}");
    assert!(s3.get_image(forged).await.unwrap().is_none());
    // Attacker: a second, different photo PUT through a used upload URL. S3 refuses it
    // (the URL signs If-None-Match: *), so the enrolled photo stays the one enrolled.
    let (st, up) = f.upload_url("bob").await;
    assert_eq!(st, 201, "{up}");
    assert_eq!(up["headers"]["if-none-match"], "*", "{up}");
    let reused = up["key"].as_str().unwrap().to_owned();
    let first = biden_variant(1);
    let etag = put_upload(&up, first.clone()).await;
    let (_, out) = f.enroll(s3_event(&bucket, &reused, &etag)).await;
    assert_eq!(out["outcomes"][0]["outcome"], "success", "{out}");
    let again = put_upload_status(&up, fixture("face_recognition/obama.jpg")).await;
    assert_eq!(again.status().as_u16(), 412, "second PUT through one URL");
    assert_eq!(s3.get_image(&reused).await.unwrap(), Some(first));
    // Someone with write access to the bucket replaces it anyway: not enrolled.
    s3.put_image(&reused, fixture("face_recognition/obama.jpg"), "image/jpeg")
        .await
        .unwrap();
    let (_, out) = f.enroll(s3_event(&bucket, &reused, "\"etag-other\"")).await;
    assert_eq!(out["outcomes"][0]["reason"], "upload_url_reused", "{out}");
    assert_eq!(dynamo.user_templates(&bob).await.unwrap().len(), 3);

    // Authenticate: 1:N, 1:1, and a third person.
    let (st, r) = f
        .authenticate(login(&fixture("face_recognition/obama3.jpg"), None))
        .await;
    assert_eq!((st, r["user_id"].clone()), (200, json!("alice")), "{r}");
    let (st, r) = f
        .authenticate(login(&fixture("face_recognition/biden.jpg"), Some("bob")))
        .await;
    assert_eq!((st, r["user_id"].clone()), (200, json!("bob")), "{r}");
    let (st, r) = f
        .authenticate(login(&fixture("face_recognition/obama3.jpg"), Some("bob")))
        .await;
    assert_eq!((st, r["reason"].clone()), (401, json!("no_match")), "{r}");
    let (st, r) = f
        .authenticate(login(&fixture("dlib/Tom_Cruise_avp_2014_4.jpg"), None))
        .await;
    assert_eq!((st, r["reason"].clone()), (401, json!("no_match")), "{r}");

    // Audit documents in MongoDB, with BSON dates and the documented fields.
    let client = mongodb::Client::with_uri_str(&uri).await.unwrap();
    let coll = client
        .database("FaceAuthDB")
        .collection::<mongodb::bson::Document>("AuthLogs");
    // enroll, 6× enroll_s3 (2 deliveries, 1, forged, 2 through one URL), 4× authenticate
    let expected_so_far = 11;
    wait_until(|| async { audit_count(&coll).await >= expected_so_far }).await;
    assert_eq!(audit_count(&coll).await, expected_so_far);
    let ok = coll
        .find_one(
            mongodb::bson::doc! {"event": "authenticate", "outcome": "success", "user_id": "alice"},
        )
        .await
        .unwrap()
        .expect("authenticate event");
    assert!(
        matches!(ok.get("at"), Some(mongodb::bson::Bson::DateTime(_))),
        "{ok:?}"
    );
    for field in ["distance", "threshold", "latency_ms", "client"] {
        assert!(ok.get(field).is_some(), "{field} missing in {ok:?}");
    }
    assert_eq!(ok.get_str("client").unwrap(), "198.51.100.7");
    assert!(!format!("{ok:?}").contains("descriptor"));

    // MongoDB goes down: requests still answer; events are spooled, then delivered once.
    mongo.stop();
    for _ in 0..3 {
        let (st, r) = f
            .authenticate(login(&fixture("face_recognition/obama3.jpg"), None))
            .await;
        assert_eq!(st, 200, "login must not depend on the audit log: {r}");
    }
    let (st, _) = f
        .authenticate(login(&fixture("dlib/Tom_Cruise_avp_2014_4.jpg"), None))
        .await;
    assert_eq!(st, 401);
    mongo.restart(); // an in-memory server: it comes back empty
    let client = mongodb::Client::with_uri_str(&mongo.uri()).await.unwrap();
    let coll = client
        .database("FaceAuthDB")
        .collection::<mongodb::bson::Document>("AuthLogs");
    wait_until(|| async { audit_count(&coll).await >= 4 }).await;
    tokio::time::sleep(Duration::from_secs(6)).await; // one more flush period: no duplicates
    assert_eq!(
        audit_count(&coll).await,
        4,
        "each spooled event delivered exactly once"
    );

    // A fresh session from the authenticate function is accepted by the verify-only
    // enroll function (step-up), so account changes work without its signing key.
    let (st, r) = f
        .authenticate(login(
            &fixture("face_recognition/obama3.jpg"),
            Some("alice"),
        ))
        .await;
    assert_eq!(st, 200, "{r}");
    let session = r["token"].as_str().expect("token").to_owned();
    let body = json!({"images": [b64(&biden_variant(2))]});
    let (st, r) = f
        .enroll(apigw(
            "POST",
            "/v1/users/bob/faces",
            Some(body.clone()),
            Some(&session),
        ))
        .await;
    assert_eq!(
        (st, r["error"]["code"].clone()),
        (403, json!("forbidden")),
        "alice's session must not enroll for bob: {r}"
    );
    let body = json!({"images": [b64(&fixture("face_recognition/obama3.jpg"))]});
    let (st, r) = f
        .enroll(apigw(
            "POST",
            "/v1/users/alice/faces",
            Some(body),
            Some(&session),
        ))
        .await;
    assert_eq!(st, 201, "{r}");

    // Delete: gone from DynamoDB and S3. An upload URL issued before the deletion
    // (attacker: a stolen page session, or a slow client) stores nothing afterwards.
    let (st, pending) = f.upload_url("bob").await;
    assert_eq!(st, 201, "{pending}");
    let (st, r) = f
        .enroll(apigw("DELETE", "/v1/users/bob", None, Some(ADMIN_TOKEN)))
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(r["deleted_faces"], 3);
    let late = pending["key"].as_str().unwrap();
    let etag = put_upload(&pending, fixture("face_recognition/biden.jpg")).await;
    let (_, out) = f.enroll(s3_event(&bucket, late, &etag)).await;
    assert_eq!(out["outcomes"][0]["reason"], "no_upload_grant", "{out}");
    assert!(dynamo.user_templates(&bob).await.unwrap().is_empty());
    let left = s3
        .client()
        .list_objects_v2()
        .bucket(&bucket)
        .prefix("enroll/bob/")
        .send()
        .await
        .unwrap();
    assert_eq!(left.key_count().unwrap_or(0), 0);
    let (st, r) = f
        .authenticate(login(&fixture("face_recognition/biden.jpg"), None))
        .await;
    assert_eq!(st, 401, "deleted user must not match: {r}");
    for flusher in [service.audit_flusher, enroll_service.audit_flusher]
        .into_iter()
        .flatten()
    {
        flusher.shutdown().await;
    }
}
