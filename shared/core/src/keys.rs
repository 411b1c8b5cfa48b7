//! Every bucket key format in one place (lockout keys: `lockout::LockoutKey`). Two
//! photo prefixes, on purpose:
//!
//! - `photos/{user}/{face}.jpg`: photos enrolled through the API (already a template);
//!   the bucket notification ignores this prefix, so they are never enrolled twice;
//! - `enroll/{user}/{upload_id}.jpg`: presigned uploads; the bucket notification enrolls
//!   them, once, against the upload grant recorded when the URL was issued.

use crate::domain::{FaceId, UserId};

/// Prefix the S3 `ObjectCreated` trigger acts on (and the only one).
pub const UPLOAD_PREFIX: &str = "enroll/";
/// Prefix of photos enrolled through the API; the trigger ignores it.
pub const PHOTO_PREFIX: &str = "photos/";
const UPLOAD_SUFFIX: &str = ".jpg";
/// Longest upload id (a UUID needs 36).
const MAX_UPLOAD_ID_LEN: usize = 64;

/// Key of a photo enrolled through the API.
pub fn photo_key(user: &UserId, face: &FaceId) -> String {
    format!("{PHOTO_PREFIX}{user}/{face}{UPLOAD_SUFFIX}")
}

/// Key a presigned upload writes to.
pub fn upload_key(user: &UserId, upload_id: &str) -> String {
    format!("{UPLOAD_PREFIX}{user}/{upload_id}{UPLOAD_SUFFIX}")
}

/// Whether the bucket notification should act on `key`.
pub fn is_upload_key(key: &str) -> bool {
    key.starts_with(UPLOAD_PREFIX)
}

/// Every prefix holding the user's photos: all of them go when the user is deleted.
pub fn user_prefixes(user: &UserId) -> [String; 2] {
    [
        format!("{PHOTO_PREFIX}{user}/"),
        format!("{UPLOAD_PREFIX}{user}/"),
    ]
}

/// A parsed `enroll/{user}/{upload_id}.jpg` key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadKey {
    pub user: UserId,
    pub upload_id: String,
}

/// Whether `id` is a valid upload id: 1-64 of `[A-Za-z0-9_-]`, so it is safe as a file
/// name, a URL path segment and part of a DynamoDB key without escaping.
pub fn valid_upload_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_UPLOAD_ID_LEN
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

/// Parses an upload key.
///
/// Anything the image stores would refuse is refused here first: the photo under such
/// a key cannot be read, and the store's error would fail the whole S3 event, which
/// Lambda then retries for nothing (found by the `s3_events` property test).
pub fn parse_upload_key(key: &str) -> Result<UploadKey, String> {
    let mut parts = key.split('/');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some("enroll"), Some(user), Some(file), None) if !file.is_empty() => {
            let user = UserId::parse(user).map_err(|e| format!("bad user in key: {}", e.0))?;
            match file.strip_suffix(UPLOAD_SUFFIX) {
                Some(id) if valid_upload_id(id) => Ok(UploadKey {
                    user,
                    upload_id: id.to_owned(),
                }),
                _ => Err("bad file name in key: use {upload_id}.jpg, the upload id \
                          1-64 of letters, digits, _ and -"
                    .into()),
            }
        }
        _ => Err("key is not of the form enroll/{user_id}/{upload_id}.jpg".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserId {
        UserId::parse("alice").unwrap()
    }

    #[test]
    fn upload_keys_round_trip() {
        let key = upload_key(&alice(), "3f1c-9e_x");
        assert_eq!(key, "enroll/alice/3f1c-9e_x.jpg");
        assert!(is_upload_key(&key));
        let parsed = parse_upload_key(&key).unwrap();
        assert_eq!(
            (parsed.user, parsed.upload_id.as_str()),
            (alice(), "3f1c-9e_x")
        );
        let user = UserId::parse("a@b.com").unwrap();
        assert_eq!(
            parse_upload_key(&upload_key(&user, "x")).unwrap().user,
            user
        );
    }

    #[test]
    fn bad_upload_keys_are_refused() {
        for bad in [
            "enroll/alice",
            "other/alice/x.jpg",
            "photos/alice/x.jpg",
            "enroll/../x.jpg",
            "enroll/a/b/c.jpg",
            "enroll/alice/",
            "enroll/alice/.jpg",
            "enroll/alice/x.png",
            "enroll/alice/x",
            // Keys the image stores refuse (regression: a space failed the whole event).
            "enroll/alice/my photo.jpg",
            "enroll/alice/.hidden.jpg",
            "enroll/alice/caf\u{e9}.jpg",
            "enroll/alice/a.b.jpg",
        ] {
            assert!(parse_upload_key(bad).is_err(), "{bad}");
        }
        assert!(parse_upload_key(&format!("enroll/alice/{}.jpg", "x".repeat(65))).is_err());
        assert!(parse_upload_key(&format!("enroll/alice/{}.jpg", "x".repeat(64))).is_ok());
    }

    #[test]
    fn api_photos_are_outside_the_upload_prefix() {
        let face = FaceId::derived_from("x");
        let key = photo_key(&alice(), &face);
        assert_eq!(key, format!("photos/alice/{face}.jpg"));
        assert!(!is_upload_key(&key));
        assert!(parse_upload_key(&key).is_err());
    }

    #[test]
    fn a_users_prefixes_cover_both_kinds_of_photo() {
        let prefixes = user_prefixes(&alice());
        let face = FaceId::derived_from("x");
        for key in [photo_key(&alice(), &face), upload_key(&alice(), "u1")] {
            assert!(
                prefixes.iter().any(|p| key.starts_with(p.as_str())),
                "{key}"
            );
        }
        // Not another user whose id starts with this one's.
        let other = UserId::parse("alice2").unwrap();
        assert!(!prefixes
            .iter()
            .any(|p| upload_key(&other, "u1").starts_with(p.as_str())));
    }
}
