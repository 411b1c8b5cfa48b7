//! Shared test code: emulator harness, fixtures, and the contract every adapter meets.

#![allow(dead_code)]

pub mod contract;
pub mod servers;

use faceid_core::audit::AuditEvent;
use faceid_core::{Descriptor, FaceId, Source, Template, UserId, DESCRIPTOR_LEN};
use time::OffsetDateTime;

/// A unique, lower-case name for tables, buckets, collections, users.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    )
}

/// Now, truncated to whole milliseconds (BSON dates hold milliseconds).
pub fn now_ms() -> OffsetDateTime {
    let t = OffsetDateTime::now_utc();
    t.replace_nanosecond(t.nanosecond() / 1_000_000 * 1_000_000)
        .expect("valid nanosecond")
}

/// A template with a descriptor that depends on `seed` (values that are not exactly
/// representable in decimal, to catch lossy encodings).
pub fn template(user: &str, seed: u32, created_at: OffsetDateTime) -> Template {
    let d: [f32; DESCRIPTOR_LEN] =
        std::array::from_fn(|i| ((i as f32 + 1.0) * (seed as f32 + 0.1)).sin() / 3.0);
    Template {
        user_id: UserId::parse(user).expect("valid user"),
        face_id: FaceId::random(),
        descriptor: Descriptor(d),
        model_id: "dlib_face_recognition_resnet_model_v1".into(),
        source: if seed & 1 == 0 {
            Source::Api
        } else {
            Source::S3 {
                bucket: "b".into(),
                key: format!("enroll/{user}/{seed}.jpg"),
                etag: "\"abc\"".into(),
            }
        },
        created_at,
    }
}

/// An audit event with every field set.
pub fn event(kind: &str, user: Option<&str>, outcome: &str, at: OffsetDateTime) -> AuditEvent {
    let mut e = AuditEvent::new(kind, outcome);
    e.at = at;
    e.user_id = user.map(str::to_owned);
    e.reason = (outcome != "success").then(|| "no_match".to_owned());
    e.distance = Some(0.412_345_67);
    e.threshold = Some(0.6);
    e.liveness = Some(serde_json::json!({
        "passed": true,
        "steps": ["left", "right"],
        "yaw": [0.25, -0.375],
        "frames": 6
    }));
    e.request_id = Some(uuid::Uuid::new_v4().to_string());
    e.client = Some("127.0.0.1".into());
    e.latency_ms = Some(123.456);
    e
}
