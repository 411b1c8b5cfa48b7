//! Session tokens: compact EdDSA (Ed25519) JWTs with issuer, audience and a short expiry.
//!
//! Signing needs the private seed ([`TokenSigner`]); checking needs only the public key
//! ([`TokenVerifier`]), which is published as a JWKS. A relying party can therefore
//! verify sessions without being able to mint them. Besides the usual claims a token
//! carries `auth_time` (when the face login happened, for step-up checks) and `sv`, the
//! user's session version when it was issued: bumping the stored version revokes every
//! older token.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

/// Length of the private seed (and of the public key).
pub const SEED_LEN: usize = 32;

/// Claims carried by a FaceID session token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// Unix seconds of the face login this session came from.
    pub auth_time: i64,
    /// The user's session version at issue time (see [`crate::ports::SessionStore`]).
    pub sv: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    #[error("token is malformed")]
    Malformed,
    #[error("token is not signed with EdDSA")]
    WrongAlgorithm,
    #[error("token was signed with an unknown key")]
    UnknownKey,
    #[error("token signature is invalid")]
    BadSignature,
    #[error("token has expired")]
    Expired,
    #[error("token was issued for another issuer or audience")]
    WrongAudience,
}

#[derive(Serialize, Deserialize)]
struct Header {
    alg: String,
    typ: Option<String>,
    kid: Option<String>,
}

/// Key id: the first 16 hex digits of SHA-256 of the raw public key.
fn key_id(public: &VerifyingKey) -> String {
    let digest = Sha256::digest(public.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// Verifies session tokens with the public key only (what a relying party holds).
#[derive(Debug, Clone)]
pub struct TokenVerifier {
    public: VerifyingKey,
    kid: String,
    issuer: String,
    audience: String,
}

impl TokenVerifier {
    pub fn new(public: VerifyingKey, issuer: &str, audience: &str) -> Self {
        Self {
            kid: key_id(&public),
            public,
            issuer: issuer.into(),
            audience: audience.into(),
        }
    }

    /// From the 32 raw bytes of an Ed25519 public key.
    pub fn from_public_bytes(bytes: &[u8], issuer: &str, audience: &str) -> Result<Self, String> {
        let raw: [u8; SEED_LEN] = bytes
            .try_into()
            .map_err(|_| format!("an Ed25519 public key is {SEED_LEN} bytes"))?;
        let public =
            VerifyingKey::from_bytes(&raw).map_err(|e| format!("not an Ed25519 key: {e}"))?;
        Ok(Self::new(public, issuer, audience))
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn public_key_bytes(&self) -> [u8; SEED_LEN] {
        self.public.to_bytes()
    }

    /// The public key as an RFC 8037 JSON Web Key Set.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{
            "kty": "OKP",
            "crv": "Ed25519",
            "x": B64.encode(self.public.as_bytes()),
            "kid": self.kid,
            "alg": "EdDSA",
            "use": "sig",
        }]})
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        let mut parts = token.split('.');
        let (Some(h), Some(p), Some(s), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(TokenError::Malformed);
        };
        let header: Header =
            serde_json::from_slice(&B64.decode(h).map_err(|_| TokenError::Malformed)?)
                .map_err(|_| TokenError::Malformed)?;
        // The algorithm is fixed, never taken from the token: no `alg: none`, no HS256
        // with the public key as the HMAC secret.
        if header.alg != "EdDSA" {
            return Err(TokenError::WrongAlgorithm);
        }
        if header.kid.as_deref() != Some(self.kid.as_str()) {
            return Err(TokenError::UnknownKey);
        }
        let sig = B64.decode(s).map_err(|_| TokenError::Malformed)?;
        let sig = Signature::from_slice(&sig).map_err(|_| TokenError::BadSignature)?;
        let signing_input = &token[..h.len() + 1 + p.len()];
        // verify_strict rejects small-order keys and non-canonical signatures
        // (signature malleability).
        self.public
            .verify_strict(signing_input.as_bytes(), &sig)
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

/// Issues (and verifies) session tokens with the private Ed25519 key.
#[derive(Clone)]
pub struct TokenSigner {
    key: SigningKey,
    header: String,
    verifier: TokenVerifier,
    ttl: time::Duration,
}

impl std::fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.verifier.kid)
            .field("issuer", &self.verifier.issuer)
            .field("audience", &self.verifier.audience)
            .finish()
    }
}

impl TokenSigner {
    /// `seed` is the 32-byte Ed25519 private seed.
    pub fn new(
        seed: &[u8],
        issuer: &str,
        audience: &str,
        ttl: time::Duration,
    ) -> Result<Self, String> {
        let seed: [u8; SEED_LEN] = seed
            .try_into()
            .map_err(|_| format!("token key must be a {SEED_LEN}-byte Ed25519 seed"))?;
        let key = SigningKey::from_bytes(&seed);
        let verifier = TokenVerifier::new(key.verifying_key(), issuer, audience);
        let header = serde_json::json!({"alg": "EdDSA", "typ": "JWT", "kid": verifier.kid});
        Ok(Self {
            header: B64.encode(header.to_string()),
            key,
            verifier,
            ttl,
        })
    }

    pub fn ttl(&self) -> time::Duration {
        self.ttl
    }

    /// The public half, for the JWKS route and for functions that only verify.
    pub fn verifier(&self) -> &TokenVerifier {
        &self.verifier
    }

    /// A token for `subject`, who logged in with their face at `now`, at session
    /// version `session_version`.
    pub fn issue(
        &self,
        subject: &str,
        session_version: u64,
        now: OffsetDateTime,
    ) -> (String, Claims) {
        let iat = now.unix_timestamp();
        let claims = Claims {
            sub: subject.into(),
            iss: self.verifier.issuer.clone(),
            aud: self.verifier.audience.clone(),
            iat,
            exp: iat + self.ttl.whole_seconds(),
            jti: uuid::Uuid::new_v4().to_string(),
            auth_time: iat,
            sv: session_version,
        };
        // Serialising a struct of strings and integers cannot fail.
        let payload = serde_json::to_vec(&claims).unwrap_or_default();
        let signing_input = format!("{}.{}", self.header, B64.encode(payload));
        let sig = B64.encode(self.key.sign(signing_input.as_bytes()).to_bytes());
        (format!("{signing_input}.{sig}"), claims)
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        self.verifier.verify(token, now)
    }
}

/// What a function holds of the session key. Only the function that logs people in
/// signs; the others (enrollment, administration) get the public key and can check a
/// session but never mint one, so a compromise of them cannot forge logins.
// One per process, built at start-up: the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum SessionKey {
    Signing(TokenSigner),
    VerifyOnly(TokenVerifier),
}

impl SessionKey {
    pub fn verifier(&self) -> &TokenVerifier {
        match self {
            SessionKey::Signing(signer) => signer.verifier(),
            SessionKey::VerifyOnly(verifier) => verifier,
        }
    }

    /// `None` in a verify-only function.
    pub fn signer(&self) -> Option<&TokenSigner> {
        match self {
            SessionKey::Signing(signer) => Some(signer),
            SessionKey::VerifyOnly(_) => None,
        }
    }

    pub fn verify(&self, token: &str, now: OffsetDateTime) -> Result<Claims, TokenError> {
        self.verifier().verify(token, now)
    }
}

/// Constant-time comparison of two secrets (e.g. the admin bearer token).
pub fn secrets_equal(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    // Hash first so the comparison does not leak the secret's length either.
    Sha256::digest(a).ct_eq(&Sha256::digest(b)).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer_with(seed: u8) -> TokenSigner {
        TokenSigner::new(&[seed; 32], "faceid", "web", time::Duration::minutes(15)).unwrap()
    }
    fn signer() -> TokenSigner {
        signer_with(7)
    }

    #[test]
    fn issued_tokens_verify_until_they_expire() {
        let now = OffsetDateTime::now_utc();
        let (tok, claims) = signer().issue("alice", 3, now);
        assert_eq!(claims.sv, 3);
        assert_eq!(claims.auth_time, now.unix_timestamp());
        assert_eq!(signer().verify(&tok, now).unwrap(), claims);
        assert_eq!(
            signer().verify(&tok, now + time::Duration::minutes(16)),
            Err(TokenError::Expired)
        );
    }

    #[test]
    fn header_names_the_algorithm_and_key() {
        let (tok, _) = signer().issue("alice", 0, OffsetDateTime::now_utc());
        let h = B64.decode(tok.split('.').next().unwrap()).unwrap();
        let h: serde_json::Value = serde_json::from_slice(&h).unwrap();
        assert_eq!(h["alg"], "EdDSA");
        assert_eq!(h["typ"], "JWT");
        assert_eq!(h["kid"], signer().verifier().kid());
        assert_eq!(signer().verifier().kid().len(), 16);
    }

    #[test]
    fn public_key_alone_verifies() {
        let now = OffsetDateTime::now_utc();
        let (tok, claims) = signer().issue("alice", 1, now);
        let public = signer().verifier().public_key_bytes();
        let v = TokenVerifier::from_public_bytes(&public, "faceid", "web").unwrap();
        assert_eq!(v.verify(&tok, now).unwrap(), claims);
        assert!(TokenVerifier::from_public_bytes(&[1, 2, 3], "faceid", "web").is_err());
    }

    #[test]
    fn a_verify_only_key_checks_sessions_but_cannot_sign() {
        let (signer, now) = (signer(), OffsetDateTime::now_utc());
        let (token, _) = signer.issue("alice", 0, now);
        let public = signer.verifier().public_key_bytes();
        let key = SessionKey::VerifyOnly(
            TokenVerifier::from_public_bytes(&public, "faceid", "web").unwrap(),
        );
        assert!(key.signer().is_none());
        assert_eq!(key.verify(&token, now).unwrap().sub, "alice");
        assert!(SessionKey::Signing(signer).signer().is_some());
    }

    #[test]
    fn another_keys_token_is_rejected() {
        let now = OffsetDateTime::now_utc();
        let (tok, _) = signer_with(8).issue("alice", 0, now);
        assert_eq!(signer().verify(&tok, now), Err(TokenError::UnknownKey));
        // Same kid in the header but signed by another key: the signature fails.
        let mut parts: Vec<String> = tok.split('.').map(str::to_owned).collect();
        parts[0] = signer().header.clone();
        assert_eq!(
            signer().verify(&parts.join("."), now),
            Err(TokenError::BadSignature)
        );
    }

    #[test]
    fn tampered_payload_is_rejected() {
        let now = OffsetDateTime::now_utc();
        let (tok, _) = signer().issue("alice", 0, now);
        let mut parts: Vec<&str> = tok.split('.').collect();
        let forged = B64.encode(
            br#"{"sub":"mallory","iss":"faceid","aud":"web","iat":0,"exp":9999999999,"jti":"x","auth_time":0,"sv":0}"#,
        );
        parts[1] = &forged;
        assert_eq!(
            signer().verify(&parts.join("."), now),
            Err(TokenError::BadSignature)
        );
        assert_eq!(signer().verify("garbage", now), Err(TokenError::Malformed));
        assert_eq!(
            signer().verify(&format!("{tok}.extra"), now),
            Err(TokenError::Malformed)
        );
    }

    #[test]
    fn other_algorithms_are_rejected() {
        let now = OffsetDateTime::now_utc();
        let (tok, _) = signer().issue("alice", 0, now);
        let payload = tok.split('.').nth(1).unwrap();
        let kid = signer().verifier().kid().to_owned();
        for alg in ["none", "HS256", "ES256"] {
            let h = B64.encode(format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"{kid}"}}"#));
            for sig in ["", "AAAA"] {
                assert_eq!(
                    signer().verify(&format!("{h}.{payload}.{sig}"), now),
                    Err(TokenError::WrongAlgorithm),
                    "{alg}"
                );
            }
        }
    }

    #[test]
    fn wrong_audience_and_bad_seeds() {
        let now = OffsetDateTime::now_utc();
        let (tok, _) = signer().issue("alice", 0, now);
        let aud =
            TokenSigner::new(&[7u8; 32], "faceid", "other", time::Duration::minutes(15)).unwrap();
        assert_eq!(aud.verify(&tok, now), Err(TokenError::WrongAudience));
        assert!(TokenSigner::new(b"short", "i", "a", time::Duration::minutes(1)).is_err());
        assert!(TokenSigner::new(&[0; 33], "i", "a", time::Duration::minutes(1)).is_err());
    }

    #[test]
    fn jwks_is_rfc8037() {
        let s = signer();
        let jwks = s.verifier().jwks();
        let key = &jwks["keys"][0];
        assert_eq!(key["kty"], "OKP");
        assert_eq!(key["crv"], "Ed25519");
        assert_eq!(key["alg"], "EdDSA");
        assert_eq!(key["use"], "sig");
        assert_eq!(key["kid"], s.verifier().kid());
        let x = B64.decode(key["x"].as_str().unwrap()).unwrap();
        assert_eq!(x, s.verifier().public_key_bytes());
    }

    #[test]
    fn secret_comparison() {
        assert!(secrets_equal(b"abc", b"abc"));
        assert!(!secrets_equal(b"abc", b"abd"));
        assert!(!secrets_equal(b"abc", b"abcd"));
    }
}
