//! Image keys and signed local upload URLs.
//!
//! Keys look like S3 keys (`enroll/alice/3f1c….jpg`) but are restricted so that they are
//! safe as relative file paths and as URL paths without escaping: `/`-separated segments
//! of `[A-Za-z0-9._@-]`, no empty segment, no segment starting with `.` (which rules out
//! `.` and `..` and keeps our own temp files apart).

use crate::fsutil::{hex, unhex};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use time::OffsetDateTime;

/// Largest image `get_image` reads into memory. Presigned PUTs cannot cap the size, so
/// the reader does: a huge upload is refused instead of exhausting a Lambda's memory.
pub const MAX_IMAGE_BYTES: u64 = 32 << 20;

/// Longest accepted key (S3's own limit is 1024 bytes).
pub const MAX_KEY_LEN: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image key: {0}")]
pub struct InvalidKey(pub &'static str);

/// Checks a key (see the module docs).
pub fn validate_key(key: &str) -> Result<(), InvalidKey> {
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(InvalidKey("must be 1 to 512 characters"));
    }
    for seg in key.split('/') {
        if seg.is_empty() {
            return Err(InvalidKey("empty path segment"));
        }
        if seg.starts_with('.') {
            return Err(InvalidKey("a path segment starts with '.'"));
        }
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if !seg.chars().all(ok) {
            return Err(InvalidKey("only letters, digits and . _ - @ / are allowed"));
        }
    }
    Ok(())
}

/// Checks a prefix for `delete_prefix`: like a key, but it may end with `/`
/// (and its last segment may be partial, as S3 prefixes are plain string prefixes).
pub fn validate_prefix(prefix: &str) -> Result<(), InvalidKey> {
    validate_key(prefix.strip_suffix('/').unwrap_or(prefix))
}

/// Why a presigned upload was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PresignError {
    #[error(transparent)]
    InvalidKey(#[from] InvalidKey),
    #[error("the upload URL has expired")]
    Expired,
    #[error("the upload URL signature is invalid")]
    BadSignature,
}

/// Signs and verifies local upload URLs with HMAC-SHA256 over method, key and expiry.
#[derive(Clone)]
pub struct UploadSigner {
    secret: Vec<u8>,
}

impl std::fmt::Debug for UploadSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("UploadSigner(..)")
    }
}

type HmacSha256 = Hmac<Sha256>;

impl UploadSigner {
    pub fn new(secret: impl Into<Vec<u8>>) -> Self {
        Self {
            secret: secret.into(),
        }
    }

    fn mac(&self, key: &str, expires: i64) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = HmacSha256::new_from_slice(&self.secret)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(format!("PUT\n{key}\n{expires}").as_bytes());
        mac
    }

    /// Hex signature for a PUT of `key` until `expires` (Unix seconds).
    pub fn sign(&self, key: &str, expires: i64) -> String {
        hex(&self.mac(key, expires).finalize().into_bytes())
    }

    /// Checks key, expiry (against `now`) and signature (in constant time).
    pub fn verify(
        &self,
        key: &str,
        expires: i64,
        sig: &str,
        now: OffsetDateTime,
    ) -> Result<(), PresignError> {
        validate_key(key)?;
        let sig = unhex(sig).ok_or(PresignError::BadSignature)?;
        self.mac(key, expires)
            .verify_slice(&sig)
            .map_err(|_| PresignError::BadSignature)?;
        // Checked after the signature so an attacker learns nothing from the answer.
        if now.unix_timestamp() >= expires {
            return Err(PresignError::Expired);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_could_escape_the_directory_are_rejected() {
        for ok in ["a", "enroll/alice/1.jpg", "enroll/bob@x.com/a-b_c.jpeg"] {
            assert!(validate_key(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(MAX_KEY_LEN + 1);
        for bad in [
            "",
            "/abs",
            "a//b",
            "a/",
            "..",
            "a/../b",
            "./a",
            "a/.hidden",
            "a\\b",
            "a b",
            "a/%2e%2e",
            "é",
            "a\0b",
            long.as_str(),
        ] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
        assert!(validate_prefix("enroll/alice/").is_ok());
        assert!(validate_prefix("enroll/../").is_err());
    }

    #[test]
    fn signatures_bind_key_and_expiry() {
        let s = UploadSigner::new(b"secret".to_vec());
        let now = OffsetDateTime::now_utc();
        let exp = now.unix_timestamp() + 60;
        let sig = s.sign("enroll/a/1.jpg", exp);
        assert_eq!(s.verify("enroll/a/1.jpg", exp, &sig, now), Ok(()));
        assert_eq!(
            s.verify("enroll/a/2.jpg", exp, &sig, now),
            Err(PresignError::BadSignature)
        );
        assert_eq!(
            s.verify("enroll/a/1.jpg", exp + 1, &sig, now),
            Err(PresignError::BadSignature)
        );
        assert_eq!(
            s.verify("enroll/a/1.jpg", exp, "zz", now),
            Err(PresignError::BadSignature)
        );
        let later = now + time::Duration::seconds(61);
        assert_eq!(
            s.verify("enroll/a/1.jpg", exp, &sig, later),
            Err(PresignError::Expired)
        );
        let other = UploadSigner::new(b"other".to_vec());
        assert_eq!(
            other.verify("enroll/a/1.jpg", exp, &sig, now),
            Err(PresignError::BadSignature)
        );
    }
}
