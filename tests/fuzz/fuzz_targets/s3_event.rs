//! The enroll Lambda's invocation payload, as the Lambda runtime hands it over: JSON
//! bytes → `enroll::EnrollEvent` (an S3 notification or an API Gateway request), then
//! `enroll::handle` with the enroll router, on embedded stores that hold two photos
//! (`enroll/alice/small.jpg`, decodes without a face; `enroll/bob/corrupt.jpg`, does not
//! decode).
//!
//! Property: no panic. An S3 event never fails (the stores are healthy, so a failure
//! would be a poison event Lambda retries) and yields one typed outcome per `enroll/`
//! record, each `rejected` with a reason (no photo here has a face); an HTTP event
//! yields an API Gateway response below 500.
#![no_main]

use enroll::{EnrollEvent, EnrollOutput};
use faceid_fuzz::{runtime, with_state};
use lambda_runtime::{Context, LambdaEvent};
use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        // libfuzzer-sys aborts from its panic hook, before any `catch_unwind` can run;
        // the enroll function catches lambda_http's panics on malformed events (and
        // answers 400) on purpose. Back to the default hook: a panic nobody catches still
        // reaches libfuzzer-sys's own `catch_unwind`, which aborts, so it is still found.
        let _ = std::panic::take_hook();
    },
    |data: &[u8]| {
    let Ok(event) = serde_json::from_slice::<EnrollEvent>(data) else {
        return;
    };
    let records = match &event {
        EnrollEvent::S3(s3) => Some(s3.records.len()),
        EnrollEvent::Http(_) => None,
    };
    let out = with_state(true, |s| {
        runtime().block_on(enroll::handle(
            &s.state,
            &s.enroll_routes,
            LambdaEvent::new(event, Context::default()),
        ))
    });
    match (out, records) {
        (Ok(EnrollOutput::S3 { outcomes }), Some(n)) => {
            assert!(outcomes.len() <= n);
            for o in outcomes {
                assert!(o.key.starts_with("enroll/"), "{o:?}");
                assert_eq!(o.outcome, "rejected", "{o:?}");
                assert!(o.reason.is_some() && o.face_id.is_none(), "{o:?}");
            }
        }
        (Ok(EnrollOutput::Http(resp)), None) => {
            let status = resp["statusCode"].as_u64().unwrap_or(0);
            assert!((200..500).contains(&status), "{resp}");
        }
        // The stores are healthy: an error would make Lambda retry a bad event for nothing.
        (Err(e), Some(_)) => panic!("S3 event failed: {e}"),
        // An API Gateway payload the adapter cannot turn into a request: a typed error.
        (Err(_), None) => {}
        (Ok(_), _) => panic!("output kind differs from the event kind"),
    }
});
