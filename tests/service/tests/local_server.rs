//! The service through `faceid serve`'s app over real HTTP, on embedded storage, with the
//! real face pipeline: enroll, authenticate 1:1 and 1:N, reject a stranger, delete, audit.

use faceid_service_tests::{b64, biden_variant, crop_png, fixture, LocalServer};
use serde_json::{json, Value};

/// The right half of `two_people.jpg`: Biden alone (the file holds Obama and Biden).
fn biden_crop() -> Vec<u8> {
    crop_png("face_recognition/two_people.jpg", 563, 0, 563, 661)
}

async fn login(s: &LocalServer, user: Option<&str>, frame: &[u8]) -> (u16, Value) {
    let mut body = json!({"frames": [b64(frame)]});
    if let Some(u) = user {
        body["user_id"] = json!(u);
    }
    let r = s
        .post("/v1/authenticate")
        .json(&body)
        .send()
        .await
        .expect("request");
    (r.status().as_u16(), r.json().await.expect("json body"))
}

#[tokio::test]
async fn enroll_authenticate_delete_and_audit_over_http() {
    // The single-frame mode of the original app; liveness has its own tests.
    let s = LocalServer::start(&[("FACEID_REQUIRE_LIVENESS", "false")]).await;

    let (st, body) = s
        .enroll(
            "obama",
            &[
                fixture("face_recognition/obama.jpg"),
                fixture("face_recognition/obama2.jpg"),
            ],
        )
        .await;
    assert_eq!(st, 201, "{body}");
    assert_eq!(body["faces"].as_array().map(Vec::len), Some(2), "{body}");
    let (st, body) = s
        .enroll("biden", &[fixture("face_recognition/biden.jpg")])
        .await;
    assert_eq!(st, 201, "{body}");

    // 1:N identification.
    let (st, body) = login(&s, None, &fixture("face_recognition/obama3.jpg")).await;
    assert_eq!(st, 200, "{body}");
    assert_eq!(body["authenticated"], true);
    assert_eq!(body["user_id"], "obama");
    assert!(
        body.get("distance").is_none(),
        "no figures to the client: {body}"
    );
    let (st, body) = login(&s, None, &biden_crop()).await;
    assert_eq!(
        (st, body["user_id"].clone()),
        (200, json!("biden")),
        "{body}"
    );

    // 1:1 verification: right claim accepted, wrong claim rejected.
    let (st, body) = login(
        &s,
        Some("obama"),
        &fixture("face_recognition/obama_small.jpg"),
    )
    .await;
    assert_eq!(st, 200, "{body}");
    let token = body["token"].as_str().expect("token").to_owned();
    let (st, body) = login(&s, Some("biden"), &fixture("face_recognition/obama3.jpg")).await;
    assert_eq!(
        (st, body["reason"].clone()),
        (401, json!("no_match")),
        "{body}"
    );

    // A third person is rejected.
    let (st, body) = login(&s, None, &fixture("dlib/Tom_Cruise_avp_2014_4.jpg")).await;
    assert_eq!(
        (st, body["authenticated"].clone(), body["reason"].clone()),
        (401, json!(false), json!("no_match")),
        "{body}"
    );
    assert!(body.get("token").is_none());

    // Every response carries its request id (also in the audit event): ours, a fresh
    // UUID, never one the caller chose.
    for chosen in [Some("trace-me-42"), None] {
        let mut req = s.post("/v1/challenge");
        if let Some(id) = chosen {
            req = req.header("x-request-id", id);
        }
        let r = req.send().await.unwrap();
        let id = r.headers()["x-request-id"].to_str().unwrap();
        assert!(uuid::Uuid::parse_str(id).is_ok(), "{chosen:?} -> {id}");
    }

    // The session token verifies; a tampered one does not.
    let r = s
        .get("/v1/session")
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["user_id"], "obama");
    let r = s
        .get("/v1/session")
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);

    // Users listed; deleting obama removes templates and photos; no stale accept after.
    let r = s.admin(s.get("/v1/users")).send().await.unwrap();
    let users: Value = r.json().await.unwrap();
    assert_eq!(users["users"].as_array().map(Vec::len), Some(2), "{users}");
    let photos = s.data.path().join("images/photos/obama");
    assert_eq!(
        std::fs::read_dir(&photos).map(|d| d.count()).unwrap_or(0),
        2
    );
    assert_eq!(s.delete_user("obama").await, 200);
    assert_eq!(
        std::fs::read_dir(&photos).map(|d| d.count()).unwrap_or(0),
        0
    );
    let (st, body) = login(&s, None, &fixture("face_recognition/obama3.jpg")).await;
    assert_eq!(st, 401, "deleted user must not match: {body}");
    assert_eq!(s.delete_user("obama").await, 404);

    // The audit log has every event, with the documented fields and no biometrics.
    let r = s.admin(s.get("/v1/audit?limit=100")).send().await.unwrap();
    let audit: Value = r.json().await.unwrap();
    let events = audit["events"].as_array().expect("events");
    let count = |ev: &str, outcome: &str| {
        events
            .iter()
            .filter(|e| e["event"] == ev && e["outcome"] == outcome)
            .count()
    };
    assert_eq!(count("enroll", "success"), 2);
    assert_eq!(count("authenticate", "success"), 3);
    assert_eq!(count("authenticate", "rejected"), 3);
    assert_eq!(count("delete_user", "success"), 1);
    let ok = events
        .iter()
        .find(|e| e["event"] == "authenticate" && e["outcome"] == "success")
        .unwrap();
    for field in [
        "event_id",
        "at",
        "user_id",
        "distance",
        "threshold",
        "latency_ms",
    ] {
        assert!(!ok[field].is_null(), "audit field {field} missing: {ok}");
    }
    let text = audit.to_string();
    assert!(
        !text.contains("descriptor") && !text.contains("/9j/"),
        "audit must hold no biometrics"
    );
    let r = s
        .admin(s.get("/v1/audit?user_id=biden&outcome=success"))
        .send()
        .await
        .unwrap();
    let only: Value = r.json().await.unwrap();
    assert!(only["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["user_id"] == "biden" && e["outcome"] == "success"));
}

#[tokio::test]
async fn enrollment_rejects_bad_photos_with_reasons() {
    let s = LocalServer::start(&[]).await;
    let (st, body) = s
        .enroll(
            "carol",
            &[
                fixture("face_recognition/two_people.jpg"),
                fixture("pypi/coffee.png"),
                fixture("pypi/rocket.jpg"),
            ],
        )
        .await;
    assert_eq!(st, 422, "{body}");
    let reasons: Vec<&str> = body["error"]["details"]["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, vec!["several_faces", "no_face", "no_face"]);
    // A tiny face is refused as too small (obama-240p: a ~50 px face).
    let (st, body) = s
        .enroll("carol", &[fixture("face_recognition/obama-240p.jpg")])
        .await;
    assert_eq!(st, 422, "{body}");
    // Heavy blur is refused as blurred.
    let img = image::load_from_memory(&fixture("face_recognition/obama.jpg"))
        .unwrap()
        .blur(6.0);
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageFormat::Png).unwrap();
    let (st, body) = s.enroll("carol", &[png.into_inner()]).await;
    assert_eq!(st, 422, "{body}");
    let reason = &body["error"]["details"]["rejected"][0]["reason"];
    assert!(
        reason == "face_too_blurred" || reason == "no_face",
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_enrollments_for_one_user_lose_nothing() {
    let s = LocalServer::start(&[("FACEID_REQUIRE_LIVENESS", "false")]).await;

    // Four different photos (the per-user limit) at once, one request each: every one
    // kept.
    let photos: Vec<Vec<u8>> = (0..4).map(biden_variant).collect();
    let results = futures::future::join_all(
        photos
            .iter()
            .map(|p| s.enroll("biden", std::slice::from_ref(p))),
    )
    .await;
    let mut ids = vec![];
    for (st, body) in &results {
        assert_eq!(*st, 201, "{body}");
        assert_eq!(body["faces"][0]["duplicate"], json!(false), "{body}");
        ids.push(
            body["faces"][0]["face_id"]
                .as_str()
                .unwrap_or("")
                .to_owned(),
        );
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 4);
    let users = s.users().await;
    assert_eq!(users["users"][0]["faces"], 4, "{users}");

    // One photo posted four times at once (a client retrying impatiently): one template,
    // exactly one response says it is new.
    let photo = fixture("face_recognition/obama.jpg");
    let results =
        futures::future::join_all((0..4).map(|_| s.enroll("obama", std::slice::from_ref(&photo))))
            .await;
    assert!(results.iter().all(|(st, _)| *st == 201), "{results:?}");
    let new = results
        .iter()
        .filter(|(_, b)| b["faces"][0]["duplicate"] == json!(false))
        .count();
    assert_eq!(new, 1, "{results:?}");
    let users = s.users().await;
    let obama = users["users"]
        .as_array()
        .and_then(|u| u.iter().find(|u| u["user_id"] == "obama"))
        .cloned()
        .unwrap_or(Value::Null);
    assert_eq!(obama["faces"], 1, "{users}");
    // Both users' photos are logins that work.
    let (st, body) = login(&s, Some("biden"), &biden_variant(9)).await;
    assert_eq!(
        (st, body["authenticated"].clone()),
        (200, json!(true)),
        "{body}"
    );
}

#[tokio::test]
async fn a_response_sent_before_the_body_was_read_closes_the_connection() {
    let s = LocalServer::start(&[("FACEID_REQUIRE_LIVENESS", "false")]).await;
    let photo = fixture("face_recognition/obama.jpg");
    let body = json!({"images": [b64(&photo)]});
    // No token: refused before the (large) body is read.
    let r = s
        .post("/v1/users/someone/faces")
        .json(&body)
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 401);
    assert_eq!(
        r.headers().get("connection").map(|v| v.as_bytes()),
        Some(&b"close"[..]),
        "{:?}",
        r.headers()
    );
    // A request whose body was read keeps the connection.
    let (st, _) = s.enroll("someone", &[photo]).await;
    assert_eq!(st, 201);
    let r = s.get("/healthz").send().await.expect("request");
    assert!(r.headers().get("connection").is_none(), "{:?}", r.headers());
}

#[tokio::test]
async fn a_local_upload_url_enrolls_once_and_refuses_a_second_put() {
    let s = LocalServer::start(&[("FACEID_REQUIRE_LIVENESS", "false")]).await;
    let r = s
        .admin(s.post("/v1/uploads"))
        .json(&json!({"user_id": "biden"}))
        .send()
        .await
        .expect("request");
    assert_eq!(r.status().as_u16(), 201);
    let up: Value = r.json().await.expect("json body");
    assert_eq!(up["headers"]["if-none-match"], "*", "{up}");
    let url = up["upload_url"].as_str().expect("upload_url").to_string();
    let put = |photo: Vec<u8>| s.http.put(&url).body(photo).send();

    let first = put(fixture("face_recognition/biden.jpg"))
        .await
        .expect("PUT");
    assert_eq!(first.status().as_u16(), 200);
    let first: Value = first.json().await.expect("json body");
    assert_eq!(first["outcome"], "success", "{first}");

    // An attacker holding the URL (a leaked link, a proxy log) tries to swap the photo.
    let again = put(fixture("face_recognition/obama.jpg"))
        .await
        .expect("PUT");
    assert_eq!(again.status().as_u16(), 409);
    let again: Value = again.json().await.expect("json body");
    assert_eq!(again["error"]["code"], "upload_url_reused", "{again}");
    let users = s.users().await;
    assert_eq!(users["users"][0]["faces"], 1, "{users}");
    let (st, body) = login(&s, Some("biden"), &fixture("face_recognition/obama.jpg")).await;
    assert_eq!(st, 401, "the second photo was not enrolled: {body}");
    let (st, body) = login(&s, Some("biden"), &biden_crop()).await;
    assert_eq!(st, 200, "the first photo was: {body}");
}
