//! Where photos live in the bucket. One place for every key format, because the prefix
//! decides what the S3 `ObjectCreated` trigger enrolls:
//!
//! ```text
//! photos/{user}/{face_id}.jpg     photos enrolled through the API (already templates;
//!                                 the trigger ignores this prefix)
//! enroll/{user}/{upload_id}.jpg   presigned uploads (the trigger enrolls them, once,
//!                                 against a single-use upload grant)
//! ```

use crate::domain::{FaceId, UserId};

/// Prefix the bucket notification fires on (infra/template.yaml filters on it).
pub const UPLOAD_PREFIX: &str = "enroll/";
/// Prefix of photos stored by `POST /v1/users/{id}/faces`.
pub const PHOTO_PREFIX: &str = "photos/";

/// Key of a photo enrolled through the API. Not under [`UPLOAD_PREFIX`]: the template
/// exists already, and the trigger must not enroll the photo a second time.
pub fn photo_key(user: &UserId, face: &FaceId) -> String {
    format!("{PHOTO_PREFIX}{user}/{face}.jpg")
}

/// Key a presigned upload is written to.
pub fn upload_key(user: &UserId, upload_id: &str) -> String {
    format!("{UPLOAD_PREFIX}{user}/{upload_id}.jpg")
}

/// Whether the bucket notification handles `key` at all.
pub fn is_upload_key(key: &str) -> bool {
    key.starts_with(UPLOAD_PREFIX)
}

/// Every prefix holding the user's photos: what deleting the user removes.
pub fn user_prefixes(user: &UserId) -> [String; 2] {
    [
        format!("{PHOTO_PREFIX}{user}/"),
        format!("{UPLOAD_PREFIX}{user}/"),
    ]
}

/// An `enroll/{user}/{file}` key, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadKey {
    pub user: UserId,
    /// The file name without its `.jpg` suffix: the id the upload grant was issued for.
    pub upload_id: String,
}

/// Parses an upload key into its user and upload id.
///
/// `file` must also be a name the image stores accept (1-255 of `[A-Za-z0-9._@-]`, not
/// starting with `.`): the photo under any other key cannot be read, and the store's
/// error would fail the whole S3 event, which Lambda then retries for nothing (found by
/// the `s3_events` property test).
pub fn parse_upload_key(key: &str) -> Result<UploadKey, String> {
    let rest = key
        .strip_prefix(UPLOAD_PREFIX)
        .ok_or_else(|| "key is not of the form enroll/{user_id}/{file}".to_owned())?;
    let mut parts = rest.split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some(user), Some(file), None) if !file.is_empty() => {
            let user = UserId::parse(user).map_err(|e| format!("bad user in key: {}", e.0))?;
            let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
            if file.len() > 255 || file.starts_with('.') || !file.chars().all(ok) {
                return Err(
                    "bad file name in key: use 1-255 of letters, digits and . _ - @, \
                     not starting with '.'"
                        .into(),
                );
            }
            let upload_id = file.strip_suffix(".jpg").unwrap_or(file).to_owned();
            Ok(UploadKey { user, upload_id })
        }
        _ => Err("key is not of the form enroll/{user_id}/{file}".into()),
    }
}

/// The user an `enroll/{user}/{file}` key belongs to.
pub fn user_of_key(key: &str) -> Result<UserId, String> {
    parse_upload_key(key).map(|k| k.user)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserId {
        UserId::parse("alice").unwrap()
    }

    #[test]
    fn keys_name_their_user() {
        assert_eq!(user_of_key("enroll/alice/x.jpg").unwrap().as_str(), "alice");
        for bad in [
            "enroll/alice",
            "other/alice/x.jpg",
            "photos/alice/x.jpg",
            "enroll/../x.jpg",
            "enroll/a/b/c.jpg",
            "enroll/alice/",
            // Keys the image stores refuse (regression: a space failed the whole event).
            "enroll/alice/my photo.jpg",
            "enroll/alice/.hidden.jpg",
            "enroll/alice/caf\u{e9}.jpg",
        ] {
            assert!(user_of_key(bad).is_err(), "{bad}");
        }
        assert!(user_of_key(&format!("enroll/alice/{}", "x".repeat(256))).is_err());
        assert!(user_of_key("enroll/a@b.com/3f1c-9e_x.jpg").is_ok());
    }

    #[test]
    fn upload_keys_round_trip() {
        let id = "3f1c9e2a-0000-4000-8000-000000000000";
        let key = upload_key(&alice(), id);
        assert_eq!(key, format!("enroll/alice/{id}.jpg"));
        assert!(is_upload_key(&key));
        let parsed = parse_upload_key(&key).unwrap();
        assert_eq!(parsed.user, alice());
        assert_eq!(parsed.upload_id, id);
        // Another suffix stays part of the id (no grant is ever issued for it).
        assert_eq!(
            parse_upload_key("enroll/alice/x.jpeg").unwrap().upload_id,
            "x.jpeg"
        );
    }

    #[test]
    fn api_photos_are_outside_the_trigger_prefix() {
        let face = FaceId::derived_from("x");
        let key = photo_key(&alice(), &face);
        assert_eq!(key, format!("photos/alice/{face}.jpg"));
        assert!(!is_upload_key(&key));
        assert!(parse_upload_key(&key).is_err());
    }

    #[test]
    fn user_prefixes_cover_both_kinds_and_only_that_user() {
        let [photos, uploads] = user_prefixes(&alice());
        assert_eq!(photos, "photos/alice/");
        assert_eq!(uploads, "enroll/alice/");
        assert!(photo_key(&alice(), &FaceId::derived_from("x")).starts_with(&photos));
        assert!(upload_key(&alice(), "u").starts_with(&uploads));
        // Trailing slash: alice's prefixes never reach "alicex".
        let other = UserId::parse("alicex").unwrap();
        assert!(!upload_key(&other, "u").starts_with(&uploads));
    }
}
