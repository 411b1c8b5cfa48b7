//! Typed configuration, parsed once at start-up from the environment. A bad value stops
//! the process with a message naming the variable.

use faceid_api::Limits;
use faceid_core::face::DetectorKind;
use faceid_core::screen_light::LightPolicy;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{var}: {problem}")]
    Invalid { var: &'static str, problem: String },
    #[error("{0}")]
    Other(String),
}

/// A secret given directly or as the name of an SSM SecureString parameter.
#[derive(Clone, PartialEq)]
pub enum SecretSource {
    Value(String),
    Ssm(String),
}

impl std::fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Value(_) => f.write_str("Value(<redacted>)"),
            Self::Ssm(name) => write!(f, "Ssm({name})"),
        }
    }
}

/// Where templates, challenges and counters live.
#[derive(Debug, Clone, PartialEq)]
pub enum TemplateBackend {
    Embedded,
    DynamoDb { table: String },
}

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub admin_token: Option<SecretSource>,
    /// Base64 Ed25519 seed that signs session tokens (`FACEID_TOKEN_KEY` or `_SSM`).
    pub token_key: Option<SecretSource>,
    /// Base64 Ed25519 public key (`FACEID_TOKEN_PUBLIC_KEY`) for functions that only
    /// verify sessions (the enroll function): they cannot mint one.
    pub token_public_key: Option<String>,
    pub detector: DetectorKind,
    pub require_liveness: bool,
    /// The screen-light check of liveness (`FACEID_SCREEN_LIGHT`, default on).
    pub screen_light: bool,
    /// Refuse a login whose frames an accepted login sent before
    /// (`FACEID_REFUSE_SEEN_FRAMES`, default on; off only for load tests that send one
    /// recording over and over).
    pub refuse_seen_frames: bool,
    /// Hold an answer to the page's capture plan: not sooner than its frames can be taken
    /// after the challenge was issued, not later than the plan and its slack
    /// (`FACEID_CHALLENGE_TIMING`, default on; off only for load tests that answer at once).
    pub challenge_timing: bool,
    /// Ask for nods up and down as well as turns (`FACEID_CHALLENGE_NODS`, default off:
    /// nods down fail the genuine-acceptance goal where measured; README, Security).
    pub challenge_nods: bool,
    pub templates: TemplateBackend,
    pub bucket: Option<String>,
    /// Endpoint override for S3 and DynamoDB (moto_server, LocalStack).
    pub aws_endpoint: Option<String>,
    pub mongodb_uri: Option<SecretSource>,
    pub spool_dir: PathBuf,
    pub cors_origin: Option<String>,
    pub trust_forwarded_for: bool,
    pub trust_request_id: bool,
    /// Base URL of this server, for local presigned uploads.
    pub public_url: String,
    pub limits: Limits,
    pub session_ttl_secs: i64,
    pub challenge_ttl_secs: i64,
}

/// Reads variables through a lookup function so tests need not touch the process env.
pub struct Env<F: Fn(&str) -> Option<String>>(pub F);

impl<F: Fn(&str) -> Option<String>> Env<F> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }
    fn parse<T: FromStr>(&self, var: &'static str, default: T) -> Result<T, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        match self.get(var) {
            None => Ok(default),
            Some(v) => v.parse().map_err(|e: T::Err| ConfigError::Invalid {
                var,
                problem: format!("{v:?}: {e}"),
            }),
        }
    }
    fn bool(&self, var: &'static str, default: bool) -> Result<bool, ConfigError> {
        match self
            .get(var)
            .as_deref()
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None => Ok(default),
            Some("1" | "true" | "yes" | "on") => Ok(true),
            Some("0" | "false" | "no" | "off") => Ok(false),
            Some(v) => Err(ConfigError::Invalid {
                var,
                problem: format!("{v:?} is not true/false"),
            }),
        }
    }
    fn secret(&self, var: &'static str, ssm_var: &'static str) -> Option<SecretSource> {
        self.get(var)
            .map(SecretSource::Value)
            .or_else(|| self.get(ssm_var).map(SecretSource::Ssm))
    }
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(Env(|k| std::env::var(k).ok()))
    }

    pub fn from_lookup<F: Fn(&str) -> Option<String>>(env: Env<F>) -> Result<Self, ConfigError> {
        // Refused rather than ignored: a deployment that set it expects it to act.
        if env.get("FACEID_THRESHOLD").is_some() {
            return Err(ConfigError::Invalid {
                var: "FACEID_THRESHOLD",
                problem: "was removed: the match thresholds are a calibrated policy with a \
                          stated false-accept rate (README, \"Decision policy\"); unset it"
                    .into(),
            });
        }
        let detector = match env.get("FACEID_DETECTOR").as_deref() {
            None | Some("hog") => DetectorKind::Hog,
            Some("cnn") => DetectorKind::Cnn,
            Some(v) => {
                return Err(ConfigError::Invalid {
                    var: "FACEID_DETECTOR",
                    problem: format!("{v:?}: use hog or cnn"),
                })
            }
        };
        let data_dir = PathBuf::from(
            env.get("FACEID_DATA_DIR")
                .unwrap_or_else(|| "./data".into()),
        );
        let templates = match env.get("FACEID_TABLE") {
            Some(table) => TemplateBackend::DynamoDb { table },
            None => TemplateBackend::Embedded,
        };
        let defaults = Limits::default();
        let limits = Limits {
            max_body_bytes: env.parse("FACEID_MAX_BODY_BYTES", defaults.max_body_bytes)?,
            max_image_bytes: env.parse("FACEID_MAX_IMAGE_BYTES", defaults.max_image_bytes)?,
            max_frames: env.parse("FACEID_MAX_FRAMES", defaults.max_frames)?,
            max_enroll_images: env.parse("FACEID_MAX_ENROLL_IMAGES", defaults.max_enroll_images)?,
        };
        let require_liveness = env.bool("FACEID_REQUIRE_LIVENESS", true)?;
        let screen_light = env.bool("FACEID_SCREEN_LIGHT", true)?;
        // The longest challenge (4 steps) takes 13 frames at 2 per step, and a nod is seen
        // on 2 frames in a row: fewer frames would leave nods unseen. The screen light's
        // still phase comes on top.
        let phase = if screen_light {
            LightPolicy::default().phase_frames
        } else {
            0
        };
        let least = 13 + phase;
        if require_liveness && limits.max_frames < least {
            return Err(ConfigError::Invalid {
                var: "FACEID_MAX_FRAMES",
                problem: format!(
                    "{}: a challenge of 4 steps takes {least} frames (the light phase's {phase}, \
                     then 2 per step, a frontal one between)",
                    limits.max_frames
                ),
            });
        }
        let cors_origin = env.get("FACEID_CORS_ORIGIN");
        if cors_origin.as_deref() == Some("*") {
            return Err(ConfigError::Invalid {
                var: "FACEID_CORS_ORIGIN",
                problem: "name the web page's origin, not *".into(),
            });
        }
        Ok(Self {
            spool_dir: env
                .get("FACEID_SPOOL_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| data_dir.join("audit-spool")),
            data_dir,
            admin_token: env.secret("FACEID_ADMIN_TOKEN", "FACEID_ADMIN_TOKEN_SSM"),
            token_key: env.secret("FACEID_TOKEN_KEY", "FACEID_TOKEN_KEY_SSM"),
            token_public_key: env.get("FACEID_TOKEN_PUBLIC_KEY"),
            detector,
            require_liveness,
            screen_light,
            refuse_seen_frames: env.bool("FACEID_REFUSE_SEEN_FRAMES", true)?,
            challenge_timing: env.bool("FACEID_CHALLENGE_TIMING", true)?,
            challenge_nods: env.bool("FACEID_CHALLENGE_NODS", false)?,
            templates,
            bucket: env.get("FACEID_BUCKET"),
            aws_endpoint: env.get("FACEID_AWS_ENDPOINT"),
            mongodb_uri: env.secret("FACEID_MONGODB_URI", "FACEID_MONGODB_URI_SSM"),
            cors_origin,
            trust_forwarded_for: env.bool("FACEID_TRUST_FORWARDED_FOR", false)?,
            trust_request_id: env.bool("FACEID_TRUST_REQUEST_ID", false)?,
            public_url: env
                .get("FACEID_PUBLIC_URL")
                .unwrap_or_else(|| "http://127.0.0.1:8080".into()),
            limits,
            session_ttl_secs: env.parse("FACEID_SESSION_TTL_SECS", 900)?,
            challenge_ttl_secs: env.parse("FACEID_CHALLENGE_TTL_SECS", 60)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(Env(move |k| map.get(k).cloned()))
    }

    #[test]
    fn defaults_are_local_and_safe() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.templates, TemplateBackend::Embedded);
        assert!(s.require_liveness);
        assert!(s.challenge_timing);
        assert!(!s.trust_forwarded_for);
        assert!(!s.trust_request_id);
        assert_eq!(s.data_dir, PathBuf::from("./data"));
    }

    #[test]
    fn bad_values_name_the_variable() {
        for (var, val) in [
            ("FACEID_THRESHOLD", "0.6"),
            ("FACEID_DETECTOR", "sift"),
            ("FACEID_REQUIRE_LIVENESS", "maybe"),
            ("FACEID_MAX_FRAMES", "-1"),
            ("FACEID_MAX_FRAMES", "9"),
            // The light phase's 9 and the steps' 13 do not fit.
            ("FACEID_MAX_FRAMES", "21"),
            ("FACEID_CHALLENGE_TIMING", "soon"),
            ("FACEID_CORS_ORIGIN", "*"),
        ] {
            let err = settings(&[(var, val)]).unwrap_err().to_string();
            assert!(err.contains(var), "{err}");
        }
    }

    #[test]
    fn secrets_come_from_values_or_ssm_and_are_never_printed() {
        let s = settings(&[
            ("FACEID_ADMIN_TOKEN", "hunter2"),
            ("FACEID_TOKEN_KEY_SSM", "/faceid/key"),
        ])
        .unwrap();
        assert_eq!(s.admin_token, Some(SecretSource::Value("hunter2".into())));
        assert_eq!(s.token_key, Some(SecretSource::Ssm("/faceid/key".into())));
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
