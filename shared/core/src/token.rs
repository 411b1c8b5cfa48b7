//! Session tokens: compact HS256 JWTs with issuer, audience and a short expiry.
//! Signatures are checked with `Mac::verify_slice` (constant time).

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use time::OffsetDateTime;

type HmacSha256 = Hmac<Sha256>;
const HEADER: &str = r#"{"alg":"HS256","typ":"JWT"}"#;

/// Claims carried by a FaceID session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token was issued for another issuer or audience")]
    WrongAudience,
}

/// Signs and verifies session tokens with one secret key.
#[derive(Clone)]
pub struct TokenSigner {
    key: Vec<u8>,
    issuer: String,
    audience: String,
    ttl: time::Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .finish()
    }
}

impl TokenSigner {
    /// `key` must be at least 32 bytes (HS256 wants a key as long as the hash).
    pub fn new(
        key: &[u8],
        issuer: &str,
        audience: &str,
        ttl: time::Duration,
    ) -> Result<Self, String> {
        if key.len() < 32 {
            return Err("token secret must be at least 32 bytes".into());
        }
        Ok(Self {
            key: key.to_vec(),
            issuer: issuer.into(),
            audience: audience.into(),
            ttl,
        })
    }

    pub fn ttl(&self) -> time::Duration {
        self.ttl
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length; `new_from_slice` cannot fail for it.
        HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
    }

    pub fn issue(&self, subject: &str, now: OffsetDateTime) -> (String, Claims) {
        let iat = now.unix_timestamp();
        let claims = Claims {
            sub: subject.into(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat,
            exp: iat + self.ttl.whole_seconds(),
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!("{}.{}", B64.encode(HEADER), B64.encode(payload));
        let mut mac = self.mac();
        mac.update(signing_input.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        (format!("{signing_input}.{sig}"), claims)
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        let mut parts = token.splitn(3, '.');
        let (Some(h), Some(p), Some(s)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(TokenError::Malformed);
        };
        let header = B64.decode(h).map_err(|_| TokenError::Malformed)?;
        // Only our exact header: no `alg: none`, no algorithm confusion.
        if header != HEADER.as_bytes() {
            return Err(TokenError::Malformed);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let mut mac = self.mac();
        mac.update(h.as_bytes());
        mac.update(b".");
        mac.update(p.as_bytes());
        mac.verify_slice(&sig)
            .map_err(|_| TokenError::BadSignature)?;
        let claims: Claims =
            serde_json::from_slice(&B64.decode(p).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        if claims.iss != self.issuer || claims.aud != self.audience {
            return Err(TokenError::WrongAudience);
        }
        if now.unix_timestamp() >= claims.exp {
            return Err(TokenError::Expired);
        }
        Ok(claims)
    }
}

/// Constant-time comparison of two secrets (e.g. the admin bearer token).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    use sha2::Digest;
    use subtle::ConstantTimeEq;
    // Hash first so the comparison does not leak the secret's length either.
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> TokenSigner {
        TokenSigner::new(&[7u8; 32], "faceid", "web", time::Duration::minutes(15)).unwrap()
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let now = OffsetDateTime::now_utc();
        let (tok, claims) = signer().issue("alice", now);
        assert_eq!(signer().verify(&tok, now).unwrap(), claims);
        assert_eq!(
            signer().verify(&tok, now + time::Duration::minutes(16)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn tampering_and_wrong_keys_are_rejected() {
        let now = OffsetDateTime::now_utc();
        let (tok, _) = signer().issue("alice", now);
        let other =
            TokenSigner::new(&[8u8; 32], "faceid", "web", time::Duration::minutes(15)).unwrap();
        assert_eq!(other.verify(&tok, now), Err(TokenError::BadSignature));
        let mut parts: Vec<&str> = tok.split('.').collect();
        let forged = B64.encode(
            br#"{"sub":"mallory","iss":"faceid","aud":"web","iat":0,"exp":9999999999,"jti":"x"}"#,
        );
        parts[1] = &forged;
        assert_eq!(
            signer().verify(&parts.join("."), now),
            Err(TokenError::BadSignature)
        );
        let none_alg = format!("{}.{}.", B64.encode(r#"{"alg":"none"}"#), forged);
        assert_eq!(signer().verify(&none_alg, now), Err(TokenError::Malformed));
        assert_eq!(signer().verify("garbage", now), Err(TokenError::Malformed));
        let aud =
            TokenSigner::new(&[7u8; 32], "faceid", "other", time::Duration::minutes(15)).unwrap();
        assert_eq!(aud.verify(&tok, now), Err(TokenError::WrongAudience));
        assert!(TokenSigner::new(b"short", "i", "a", time::Duration::minutes(1)).is_err());
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }
}
