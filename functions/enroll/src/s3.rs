//! The S3 trigger: `ObjectCreated` notifications for presigned uploads under `enroll/`.

use aws_lambda_events::event::s3::S3Event;
use faceid_api::enroll::{enroll_stored_photo, UploadOutcome};
use faceid_api::{ApiError, AppState};
use faceid_core::keys;

/// Handles an S3 notification (typed `aws_lambda_events` event): every `enroll/` object;
/// others (API photos under `photos/`) are skipped even if the trigger is misconfigured.
pub async fn handle_s3_event(
    state: &AppState,
    event: S3Event,
) -> Result<Vec<UploadOutcome>, ApiError> {
    let mut outcomes = vec![];
    for record in event.records {
        let (Some(bucket), Some(raw_key)) = (
            record.s3.bucket.name.as_deref(),
            record.s3.object.key.as_deref(),
        ) else {
            continue;
        };
        // S3 event keys are URL-encoded with '+' for spaces.
        let key = url_decode(raw_key);
        if !keys::is_upload_key(&key) {
            continue;
        }
        let etag = record.s3.object.e_tag.as_deref().unwrap_or("");
        outcomes.push(enroll_stored_photo(state, bucket, &key, etag).await?);
    }
    Ok(outcomes)
}

fn url_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            // Two hex digits exactly (`from_str_radix` alone would also take "+5").
            b'%' if bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push((hex(bytes[i + 1]) << 4) | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_keys_are_url_decoded() {
        assert_eq!(
            url_decode("enroll/a%40b.com/x+y.jpg"),
            "enroll/a@b.com/x y.jpg"
        );
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("a%41"), "aA");
        assert_eq!(url_decode("%4"), "%4");
        // Not hex: kept as is ('+' still means a space).
        assert_eq!(url_decode("%+5"), "% 5");
        assert_eq!(url_decode("%-5"), "%-5");
    }
}
