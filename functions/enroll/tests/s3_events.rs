//! Seeded, bounded property tests of the enroll function's invocation payloads (CI side of
//! the `s3_event` cargo-fuzz target in tests/fuzz): JSON bytes → `EnrollEvent` → `handle`,
//! from mutated copies of the S3 and API Gateway fixtures and from well-formed S3 events
//! with arbitrary object keys.
//!
//! Property: no panic; an S3 event gives one typed outcome per `enroll/` record (here
//! always `rejected` or `duplicate`, with a reason: no photo in the store has a face, and
//! most keys have no upload grant); an HTTP event gives an API Gateway response below 500.
//!
//! The analyzer is a stub (PNG signature → no face, else a bad image): the subject is the
//! event and key handling, not the face pipeline.

#[path = "../../../shared/api/tests/common/embedded_state.rs"]
mod embedded_state;

use embedded_state::{
    open_stores, state_on, test_config, test_tokens, StubAnalyzer, PNG_SIGNATURE as PNG,
    TEST_ADMIN_TOKEN,
};
use enroll::{EnrollEvent, EnrollOutput};
use faceid_api::enroll::{NO_UPLOAD_GRANT, UPLOAD_URL_REUSED};
use faceid_api::AppState;
use faceid_core::keys::{parse_upload_key, upload_key};
use faceid_lambda::ApiEvent;
use faceid_mutate::Mutations;
use lambda_runtime::{Context, LambdaEvent};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::RngSeed;
use serde_json::{json, Value};
use std::sync::{Arc, OnceLock};

struct Fixture {
    state: AppState,
    router: faceid_lambda::ApiRouter,
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
}

/// Photos in the store: `enroll/alice/a.jpg` (a "PNG" without a face) and
/// `enroll/bob/b.jpg` (not an image), uploaded without a grant; the same photos at
/// `enroll/alice/granted-a.jpg` and `enroll/bob/granted-b.jpg`, with a grant each.
fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        let state = state_on(
            &open_stores(dir.path()),
            Arc::new(StubAnalyzer),
            test_config(TEST_ADMIN_TOKEN, test_tokens()),
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let mut png = PNG.to_vec();
            png.extend([0; 16]);
            for (user, id, bytes) in [
                ("alice", "a", png.clone()),
                ("bob", "b", vec![1; 16]),
                ("alice", "granted-a", png),
                ("bob", "granted-b", vec![1; 16]),
            ] {
                let user = faceid_core::UserId::parse(user).expect("user");
                state
                    .stores
                    .images
                    .put_image(&upload_key(&user, id), bytes, "image/jpeg")
                    .await
                    .expect("photo");
                if id.starts_with("granted") {
                    let expires = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
                    state
                        .stores
                        .upload_grants
                        .put_grant(&user, id, expires)
                        .await
                        .expect("grant");
                }
            }
        });
        Fixture {
            router: faceid_lambda::ApiRouter::new(
                faceid_api::enroll_routes(&state).with_state(state.clone()),
            ),
            state,
            rt,
            _dir: dir,
        }
    })
}

fn fixture_json(name: &str) -> String {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/service/fixtures")
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The S3 fixture with its placeholders filled in.
fn s3_event(key: &str) -> String {
    s3_event_of_version(key, "0123abcd")
}

/// The S3 fixture for one version (ETag) of the object at `key`.
fn s3_event_of_version(key: &str, etag: &str) -> String {
    fixture_json("s3_object_created.json")
        .replace("BUCKET", "photos")
        .replace("ETAG", etag)
        .replace("\"KEY\"", &Value::String(key.into()).to_string())
}

/// Parses and handles one payload as the Lambda runtime would, checking the property.
/// Returns the outcomes of an S3 event.
fn invoke(bytes: &[u8]) -> Option<Vec<faceid_api::enroll::UploadOutcome>> {
    let event: EnrollEvent = serde_json::from_slice(bytes).ok()?;
    let records = match &event {
        EnrollEvent::S3(s3) => Some(s3.records.len()),
        EnrollEvent::Http(_) => None,
    };
    let f = fixture();
    let out = f.rt.block_on(enroll::handle(
        &f.state,
        &f.router,
        LambdaEvent::new(event, Context::default()),
    ));
    match (out, records) {
        (Ok(EnrollOutput::S3 { outcomes }), Some(n)) => {
            assert!(outcomes.len() <= n);
            for o in &outcomes {
                assert!(o.key.starts_with("enroll/"), "{o:?}");
                assert!(matches!(o.outcome, "rejected" | "duplicate"), "{o:?}");
                assert!(o.reason.is_some() && o.face_id.is_none(), "{o:?}");
            }
            Some(outcomes)
        }
        (Ok(EnrollOutput::Http(resp)), None) => {
            let status = resp["statusCode"].as_u64().unwrap_or(0);
            assert!((200..500).contains(&status), "{resp}");
            None
        }
        // The store is healthy: an error here would make Lambda retry a bad event.
        (Err(e), Some(_)) => panic!("S3 event failed: {e}"),
        // An HTTP event the adapter cannot turn into a request: a typed error.
        (Err(_), None) => None,
        (Ok(_), _) => panic!("output kind differs from the event kind"),
    }
}

/// Edits of an event, writing the bytes that matter to JSON and URL-encoded keys more
/// often than chance would pick them.
fn mutations() -> Mutations {
    Mutations::new().favouring(b"{}[]\":,\\0-9%+/ ")
}

fn seeds() -> Vec<Vec<u8>> {
    let mut http: Value = serde_json::from_str(&fixture_json("apigw_v2_request.json")).unwrap();
    http["body"] = json!(r#"{"images": ["iVBORw0KGgoAAAAAAAAAAAAAAAAAAAAA"]}"#);
    http["headers"]["authorization"] = json!(format!("Bearer {TEST_ADMIN_TOKEN}"));
    vec![
        s3_event("enroll/alice/a.jpg").into_bytes(),
        s3_event("enroll/bob/b.jpg").into_bytes(),
        s3_event("enroll/bob/b+c.jpg").into_bytes(),
        s3_event("enroll/carol%40example.com/x.jpg").into_bytes(),
        fixture_json("apigw_v2_request.json").into_bytes(),
        http.to_string().into_bytes(),
    ]
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        rng_seed: RngSeed::Fixed(0x5eed_0053),
        ..ProptestConfig::default()
    }
}

#[test]
fn the_fixtures_give_the_expected_outcomes() {
    let reason = |key: &str| {
        invoke(s3_event(key).as_bytes()).expect("S3 event")[0]
            .reason
            .clone()
            .unwrap_or_default()
    };
    // Granted: analysed (and refused, as no stub photo has a face).
    let r = reason("enroll/alice/granted-a.jpg");
    assert!(r.starts_with("no_face"), "{r}");
    let r = reason("enroll/bob/granted-b.jpg");
    assert!(r.starts_with("bad_image"), "{r}");
    // The same object again (a re-delivered event, or Lambda's retry after a failure):
    // analysed again, same outcome. Another object through the same URL: refused.
    assert_eq!(r, reason("enroll/bob/granted-b.jpg"));
    let other = &invoke(s3_event_of_version("enroll/bob/granted-b.jpg", "ffff0000").as_bytes())
        .expect("S3 event")[0];
    assert_eq!(
        other.reason.as_deref(),
        Some(UPLOAD_URL_REUSED),
        "{other:?}"
    );
    // Not granted: refused before it is read, and deleted.
    assert_eq!(reason("enroll/alice/a.jpg"), NO_UPLOAD_GRANT);
    let f = fixture();
    let left =
        f.rt.block_on(f.state.stores.images.get_image("enroll/alice/a.jpg"))
            .expect("store");
    assert!(left.is_none(), "an ungranted upload must be deleted");
    // Regression: a key the image store refuses (a space, `+` in the event) failed the
    // whole event with an internal error, so Lambda retried it for nothing.
    assert!(reason("enroll/bob/b+c.jpg").starts_with("bad file name in key"));
    assert_eq!(reason("enroll/carol%40example.com/x.jpg"), NO_UPLOAD_GRANT);
    assert!(reason("enroll/.x/y.jpg").starts_with("bad user in key"));
    assert!(reason("enroll/a%2Fb/y.jpg").starts_with("key is not of the form"));
    assert!(invoke(s3_event("other/alice/a.jpg").as_bytes())
        .unwrap()
        .is_empty());
    assert!(invoke(fixture_json("apigw_v2_request.json").as_bytes()).is_none());
}

proptest! {
    #![proptest_config(config(500))]

    #[test]
    fn mutated_events_never_panic(
        which in any::<Index>(),
        edits in mutations().edits(1..8),
    ) {
        let seeds = seeds();
        invoke(&mutations().apply(&seeds[which.index(seeds.len())], &edits));
    }

    #[test]
    fn arbitrary_keys_give_one_typed_outcome_each(
        keys in proptest::collection::vec(
            prop_oneof![
                "enroll/[a-z%+.@/-]{0,12}/[a-z%+. ]{0,8}",
                "enroll/.{0,20}",
                // No '%' or '+': URL-decoding must not move a key in or out of enroll/.
                "[^%+]{0,24}",
            ],
            1..4,
        ),
    ) {
        let records: Vec<Value> = keys
            .iter()
            .map(|k| {
                let mut r: Value = serde_json::from_str(&s3_event(k)).unwrap();
                r["Records"][0].take()
            })
            .collect();
        let event = json!({ "Records": records }).to_string();
        let outcomes = invoke(event.as_bytes()).expect("a well-formed S3 event is handled");
        // Keys outside enroll/ (after URL-decoding) are skipped; the rest get an outcome.
        let enroll_like = keys.iter().filter(|k| k.starts_with("enroll/")).count();
        prop_assert_eq!(outcomes.len(), enroll_like);
        for o in &outcomes {
            if let Err(e) = parse_upload_key(&o.key) {
                prop_assert_eq!(o.reason.as_deref(), Some(e.as_str()));
            }
        }
    }

    #[test]
    fn parse_upload_key_accepts_only_upload_keys(key in "(enroll/)?[a-zA-Z0-9._@/-]{0,20}(.jpg)?|.{0,30}") {
        if let Ok(u) = parse_upload_key(&key) {
            prop_assert_eq!(upload_key(&u.user, &u.upload_id), key);
        }
    }
}

/// Regressions (cargo-fuzz `s3_event`): `lambda_http` / `aws_lambda_events` panicked on
/// a `host` header or `domainName` that is not a URI authority and on a body flagged
/// base64 that is not base64; all are now a 400.
#[test]
fn api_events_lambda_http_would_panic_on_are_a_400() {
    for (name, named_up_front) in [
        ("s3_event_apigw_bad_host_panics_lambda_http.json", true),
        (
            "s3_event_apigw_bad_base64_body_panics_lambda_events.json",
            true,
        ),
        // No host header, a `domainName` that is not a URI authority: caught while
        // lambda_http converts it.
        (
            "s3_event_apigw_bad_domain_name_panics_lambda_http.json",
            false,
        ),
    ] {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fuzz/regressions")
            .join(name);
        let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let event: EnrollEvent = serde_json::from_slice(&bytes).expect("parses");
        assert_eq!(
            matches!(event, EnrollEvent::Http(ApiEvent::Malformed(_))),
            named_up_front,
            "{name}: {event:?}"
        );
        let f = fixture();
        let out =
            f.rt.block_on(enroll::handle(
                &f.state,
                &f.router,
                LambdaEvent::new(event, Context::default()),
            ))
            .expect("handled");
        let EnrollOutput::Http(resp) = out else {
            panic!("{name}: an HTTP response");
        };
        assert_eq!(resp["statusCode"], 400, "{name}: {resp}");
    }
}
