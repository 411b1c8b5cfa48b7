//! Builds the application state from [`Settings`]: secrets, stores, policy.

/// The ports one table backs (DynamoDB or the embedded store).
type TableStores = (
    Arc<dyn TemplateStore>,
    Arc<dyn ChallengeStore>,
    Arc<dyn CounterStore>,
    Arc<dyn SessionStore>,
    Arc<dyn UploadGrants>,
    Arc<dyn SeenFrames>,
);

use crate::settings::{ConfigError, SecretSource, Settings, TemplateBackend};
use faceid_api::{ApiConfig, AppState, Stores};
use faceid_core::face::FaceAnalyzer;
use faceid_core::liveness::LivenessPolicy;
use faceid_core::ports::{
    AuditLog, ChallengeStore, CounterStore, ImageStore, SeenFrames, SessionStore, TemplateStore,
    UploadGrants,
};
use faceid_core::token::{SessionKey, TokenSigner, TokenVerifier, SEED_LEN};
use faceid_core::ChallengeSteps;
use faceid_storage::{
    AwsSettings, DynamoStore, EmbeddedConfig, EmbeddedStores, FlusherHandle, LocalImageStore,
    MongoAuditConfig, MongoAuditLog, S3ImageStore, SpoolConfig, SpooledAuditLog,
};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The built service: its state plus what the binary must keep alive or shut down.
pub struct Service {
    pub state: AppState,
    /// Set when photos are stored locally: verifies `/v1/local-uploads` signatures.
    pub local_images: Option<Arc<LocalImageStore>>,
    /// Delivers spooled audit events; shut it down (it flushes) before exiting.
    pub audit_flusher: Option<FlusherHandle>,
}

async fn resolve(
    secret: &SecretSource,
    aws: &Option<aws_config::SdkConfig>,
) -> Result<String, ConfigError> {
    match secret {
        SecretSource::Value(v) => Ok(v.clone()),
        SecretSource::Ssm(name) => {
            let config = match aws {
                Some(c) => c.clone(),
                None => aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await,
            };
            let out = aws_sdk_ssm::Client::new(&config)
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| {
                    ConfigError::Other(format!("cannot read SSM parameter {name}: {e}"))
                })?;
            out.parameter
                .and_then(|p| p.value)
                .ok_or_else(|| ConfigError::Other(format!("SSM parameter {name} has no value")))
        }
    }
}

/// Decodes a base64 Ed25519 seed or public key (both 32 bytes); `what` names where it
/// came from in the error.
fn decode_key(text: &str, what: &str) -> Result<[u8; SEED_LEN], String> {
    use base64::Engine;
    let hint = "a seed: `openssl rand -base64 32`; its public key: `faceid token-public-key`";
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| format!("{what} is not base64 ({e}); {hint}"))?;
    bytes.as_slice().try_into().map_err(|_| {
        format!(
            "{what} decodes to {} bytes; an Ed25519 key is {SEED_LEN} ({hint})",
            bytes.len()
        )
    })
}

/// The token signing seed kept in the data directory, created on first start (local
/// mode only). Mode 0600: whoever reads it can mint sessions.
fn local_token_key(data_dir: &Path) -> Result<[u8; SEED_LEN], ConfigError> {
    use base64::Engine;
    let path = data_dir.join("token-key");
    let io = |e: std::io::Error| ConfigError::Other(format!("{}: {e}", path.display()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return decode_key(&text, &path.display().to_string()).map_err(ConfigError::Other);
    }
    std::fs::create_dir_all(data_dir).map_err(io)?;
    let key: [u8; SEED_LEN] = rand::random();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(&path).map_err(io)?;
    std::io::Write::write_all(
        &mut f,
        base64::engine::general_purpose::STANDARD
            .encode(key)
            .as_bytes(),
    )
    .map_err(io)?;
    Ok(key)
}

fn store_err(e: impl std::fmt::Display) -> ConfigError {
    ConfigError::Other(e.to_string())
}

/// The base64 Ed25519 public key of a base64 signing seed (what the enroll function is
/// given as `FACEID_TOKEN_PUBLIC_KEY`).
pub fn public_key_of(seed: &str) -> Result<String, ConfigError> {
    use base64::Engine;
    let seed = decode_key(seed, "the key").map_err(|problem| ConfigError::Invalid {
        var: "FACEID_TOKEN_KEY",
        problem,
    })?;
    let signer = TokenSigner::new(&seed, TOKEN_ISSUER, TOKEN_AUDIENCE, time::Duration::ZERO)
        .map_err(ConfigError::Other)?;
    Ok(base64::engine::general_purpose::STANDARD.encode(signer.verifier().public_key_bytes()))
}

const TOKEN_ISSUER: &str = "faceid";
const TOKEN_AUDIENCE: &str = "faceid-web";

/// The session key: the private seed (`FACEID_TOKEN_KEY`, or the local data directory's)
/// to sign, or only the public key (`FACEID_TOKEN_PUBLIC_KEY`) to verify. Returns the seed
/// too when there is one.
async fn session_key(
    settings: &Settings,
    aws: &Option<aws_config::SdkConfig>,
    uses_aws: bool,
) -> Result<(SessionKey, Option<[u8; SEED_LEN]>), ConfigError> {
    let invalid = |var, problem| ConfigError::Invalid { var, problem };
    let seed = match (&settings.token_key, &settings.token_public_key) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "FACEID_TOKEN_PUBLIC_KEY",
                "set either the signing key or the public key, not both".into(),
            ))
        }
        (Some(source), None) => decode_key(&resolve(source, aws).await?, "the key")
            .map_err(|p| invalid("FACEID_TOKEN_KEY", p))?,
        (None, Some(public)) => {
            let bytes = decode_key(public, "the public key")
                .map_err(|p| invalid("FACEID_TOKEN_PUBLIC_KEY", p))?;
            let verifier = TokenVerifier::from_public_bytes(&bytes, TOKEN_ISSUER, TOKEN_AUDIENCE)
                .map_err(|p| invalid("FACEID_TOKEN_PUBLIC_KEY", p))?;
            return Ok((SessionKey::VerifyOnly(verifier), None));
        }
        (None, None) if uses_aws => {
            return Err(invalid(
                "FACEID_TOKEN_KEY",
                "required with AWS storage (or FACEID_TOKEN_KEY_SSM, or FACEID_TOKEN_PUBLIC_KEY to verify only)".into(),
            ))
        }
        (None, None) => local_token_key(&settings.data_dir)?,
    };
    let signer = TokenSigner::new(
        &seed,
        TOKEN_ISSUER,
        TOKEN_AUDIENCE,
        time::Duration::seconds(settings.session_ttl_secs),
    )
    .map_err(|p| invalid("FACEID_TOKEN_KEY", p))?;
    Ok((SessionKey::Signing(signer), Some(seed)))
}

/// Builds stores and policy. `analyzer` is the loaded face pipeline.
pub async fn build_service(
    settings: &Settings,
    analyzer: Arc<dyn FaceAnalyzer>,
) -> Result<Service, ConfigError> {
    let uses_aws =
        matches!(settings.templates, TemplateBackend::DynamoDb { .. }) || settings.bucket.is_some();
    let aws = if uses_aws {
        let aws_settings = AwsSettings {
            endpoint_url: settings.aws_endpoint.clone(),
            ..AwsSettings::default()
        };
        Some(faceid_storage::load_sdk_config(&aws_settings).await)
    } else {
        None
    };

    let (tokens, token_seed) = session_key(settings, &aws, uses_aws).await?;
    let admin_token = match &settings.admin_token {
        Some(s) => Some(resolve(s, &aws).await?),
        None => None,
    };
    if admin_token.as_ref().is_some_and(|t| t.len() < 16) {
        return Err(ConfigError::Invalid {
            var: "FACEID_ADMIN_TOKEN",
            problem: "must be at least 16 characters".into(),
        });
    }

    let needs_embedded = !uses_aws
        || matches!(settings.templates, TemplateBackend::Embedded)
        || settings.bucket.is_none()
        || settings.mongodb_uri.is_none();
    let embedded = if needs_embedded {
        // Local presigned uploads are signed with a key derived from the private seed. A
        // verify-only function has none, so its photos must live in S3 (the embedded
        // image store it then opens for nothing gets a throwaway key).
        let upload_key = match (token_seed, &settings.bucket) {
            (Some(seed), _) => faceid_storage_upload_key(&seed),
            (None, Some(_)) => rand::random::<[u8; 32]>().to_vec(),
            (None, None) => {
                return Err(ConfigError::Invalid {
                    var: "FACEID_TOKEN_PUBLIC_KEY",
                    problem: "a verify-only function needs FACEID_BUCKET (local uploads are signed with the private key)".into(),
                })
            }
        };
        Some(
            EmbeddedStores::open(&EmbeddedConfig {
                data_dir: settings.data_dir.clone(),
                public_base_url: settings.public_url.clone(),
                upload_signing_key: upload_key,
            })
            .map_err(store_err)?,
        )
    } else {
        None
    };

    // Upload grants and seen frames live with the templates: removing them and the
    // user's templates then happen in the same store.
    let (templates, challenges, counters, sessions, upload_grants, seen_frames): TableStores =
        match (&settings.templates, &aws, &embedded) {
            (TemplateBackend::DynamoDb { table }, Some(cfg), _) => {
                let d = Arc::new(DynamoStore::new(cfg, table.clone()));
                (d.clone(), d.clone(), d.clone(), d.clone(), d.clone(), d)
            }
            (_, _, Some(e)) => (
                e.store.clone(),
                e.store.clone(),
                e.store.clone(),
                e.store.clone(),
                e.store.clone(),
                e.store.clone(),
            ),
            _ => return Err(ConfigError::Other("no template store configured".into())),
        };
    let mut local_images = None;
    let images: Arc<dyn ImageStore> = match (&settings.bucket, &aws, &embedded) {
        (Some(bucket), Some(cfg), _) => Arc::new(S3ImageStore::new(cfg, bucket.clone())),
        (_, _, Some(e)) => {
            local_images = Some(e.images.clone());
            e.images.clone()
        }
        _ => return Err(ConfigError::Other("no image store configured".into())),
    };
    let mut audit_flusher = None;
    let audit: Arc<dyn AuditLog> = match (&settings.mongodb_uri, &embedded) {
        (Some(uri), _) => {
            let uri = resolve(uri, &aws).await?;
            let mongo = MongoAuditLog::connect(&MongoAuditConfig::new(uri))
                .await
                .map_err(store_err)?;
            if let Err(e) = mongo.ensure_indexes().await {
                // Not fatal: events are spooled until MongoDB answers.
                tracing::warn!(error = %e, "could not create audit indexes");
            }
            let spooled = Arc::new(
                SpooledAuditLog::new(mongo, SpoolConfig::new(&settings.spool_dir))
                    .map_err(store_err)?,
            );
            audit_flusher = Some(spooled.spawn_flusher(Duration::from_secs(5)));
            spooled
        }
        (None, Some(e)) => e.audit.clone(),
        (None, None) => return Err(ConfigError::Other("no audit log configured".into())),
    };

    let config = ApiConfig {
        policy: Default::default(),
        admin_token,
        tokens,
        step_up_max_age: faceid_api::STEP_UP_MAX_AGE,
        limits: settings.limits,
        challenge_ttl: time::Duration::seconds(settings.challenge_ttl_secs),
        require_liveness: settings.require_liveness,
        detector: settings.detector,
        quality: Default::default(),
        liveness: LivenessPolicy {
            screen_light: settings.screen_light.then(Default::default),
            ..Default::default()
        },
        answer_window: settings.challenge_timing.then(Default::default),
        challenge_steps: if settings.challenge_nods {
            ChallengeSteps::TurnsAndNods
        } else {
            ChallengeSteps::Turns
        },
        refuse_seen_frames: settings.refuse_seen_frames,
        lockout: Default::default(),
        trust_forwarded_for: settings.trust_forwarded_for,
        trust_request_id: settings.trust_request_id,
        cors_origin: settings.cors_origin.clone(),
        upload_ttl: Duration::from_secs(600),
    };
    let stores = Stores {
        templates,
        challenges,
        counters,
        sessions,
        upload_grants,
        seen_frames,
        images,
        audit,
    };
    Ok(Service {
        state: AppState::new(analyzer, stores, config),
        local_images,
        audit_flusher,
    })
}

/// Key separation: the local upload-URL (HMAC) key is derived from the token seed under
/// its own label, so it is never the signing key itself and leaks nothing about it.
fn faceid_storage_upload_key(token_key: &[u8]) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(b"faceid local upload urls v2 (ed25519 seed)\0");
    h.update(token_key);
    h.finalize().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_keys_say_what_is_wrong() {
        let err = decode_key("not base64!", "the key").unwrap_err();
        assert!(err.contains("not base64"), "{err}");
        let err = decode_key("c2hvcnQ=", "the key").unwrap_err();
        assert!(err.contains("5 bytes") && err.contains("32"), "{err}");
        let seed = decode_key("MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=\n", "k").unwrap();
        assert_eq!(&seed, b"0123456789abcdef0123456789abcdef");
    }

    fn settings(vars: &[(&'static str, &str)]) -> Settings {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(crate::Env(move |k: &str| {
            vars.iter()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.clone())
        }))
        .expect("settings parse")
    }

    #[tokio::test]
    async fn a_verify_only_function_gets_no_signer() {
        const SEED: &str = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";
        let public = public_key_of(SEED).unwrap();
        let signing = settings(&[("FACEID_TOKEN_KEY", SEED)]);
        let (key, seed) = session_key(&signing, &None, false).await.unwrap();
        assert!(key.signer().is_some() && seed.is_some());
        assert_eq!(
            public,
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                key.verifier().public_key_bytes()
            )
        );
        let verify_only = settings(&[("FACEID_TOKEN_PUBLIC_KEY", &public)]);
        let (key, seed) = session_key(&verify_only, &None, true).await.unwrap();
        assert!(key.signer().is_none() && seed.is_none());
        let both = settings(&[
            ("FACEID_TOKEN_KEY", SEED),
            ("FACEID_TOKEN_PUBLIC_KEY", &public),
        ]);
        assert!(session_key(&both, &None, false).await.is_err());
        let none_in_aws = settings(&[]);
        assert!(session_key(&none_in_aws, &None, true).await.is_err());
    }

    #[test]
    fn local_key_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().unwrap();
        let first = local_token_key(dir.path()).unwrap();
        assert_eq!(local_token_key(dir.path()).unwrap(), first);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("token-key"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join("token-key"), "AAAA").unwrap();
        let err = local_token_key(dir.path()).unwrap_err().to_string();
        assert!(err.contains("token-key"), "{err}");
    }

    #[test]
    fn upload_key_is_not_the_token_key() {
        let seed = [9u8; SEED_LEN];
        assert_ne!(faceid_storage_upload_key(&seed), seed.to_vec());
    }
}
