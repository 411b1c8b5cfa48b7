//! Domain types that validate on parse: once you hold one, it is valid.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

/// Length of a dlib face descriptor.
pub const DESCRIPTOR_LEN: usize = 128;

/// Why a value failed to parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// A user name: 1–64 characters from `[A-Za-z0-9._@-]`, not starting with `.` or `-`.
/// Safe as a DynamoDB key part and as an S3 key segment.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct UserId(String);

impl UserId {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let ok_char = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@');
        if s.is_empty() || s.len() > 64 {
            return Err(ParseError("user_id must be 1 to 64 characters".into()));
        }
        if !s.chars().all(ok_char) {
            return Err(ParseError(
                "user_id may contain only letters, digits and . _ - @".into(),
            ));
        }
        if s.starts_with('.') || s.starts_with('-') {
            return Err(ParseError("user_id must not start with '.' or '-'".into()));
        }
        Ok(Self(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for UserId {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}
impl From<UserId> for String {
    fn from(u: UserId) -> String {
        u.0
    }
}
impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        impl $name {
            pub fn random() -> Self {
                Self(uuid::Uuid::new_v4())
            }
            pub fn parse(s: &str) -> Result<Self, ParseError> {
                uuid::Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| ParseError(format!("{} is not a valid id", stringify!($name))))
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

uuid_id!(
    /// One enrolled face (template) of a user.
    FaceId
);
uuid_id!(
    /// A single-use liveness challenge.
    ChallengeId
);

/// Colours per challenge: one for each frame a login may send (the most frames allowed:
/// the light phase's, at most `capture::MAX_PHASE_FRAMES`, and the steps' budget).
pub const CHALLENGE_LIGHTS: usize = 32;

impl FaceId {
    /// A face id derived from an idempotency key (e.g. S3 bucket + key + etag): the same
    /// upload delivered twice maps to the same face id, so the second write is a no-op.
    pub fn derived_from(key: &str) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(key.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Self(uuid::Builder::from_custom_bytes(bytes).into_uuid())
    }

    /// The face id of a photo enrolled through the API: one per (user, photo bytes), so
    /// a retried or concurrently repeated upload of the same photo stores one template.
    pub fn of_api_photo(user: &UserId, photo: &[u8]) -> Self {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(photo);
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        Self::derived_from(&format!("api/{user}/{hex}"))
    }
}

/// A 128-D face descriptor (dlib ResNet output, not normalised).
#[derive(Clone, PartialEq)]
pub struct Descriptor(pub [f32; DESCRIPTOR_LEN]);

impl fmt::Debug for Descriptor {
    // Biometric data: never printed, not even in debug logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Descriptor(..)")
    }
}

impl Descriptor {
    /// Euclidean distance, as `face_recognition.face_distance`.
    pub fn distance(&self, other: &Descriptor) -> f32 {
        squared_distance(&self.0, &other.0).sqrt()
    }
    /// 128 little-endian f32 values (the DynamoDB binary attribute).
    pub fn to_le_bytes(&self) -> Vec<u8> {
        self.0.iter().flat_map(|v| v.to_le_bytes()).collect()
    }
    pub fn from_le_bytes(bytes: &[u8]) -> Result<Self, ParseError> {
        if bytes.len() != DESCRIPTOR_LEN * 4 {
            return Err(ParseError(format!(
                "descriptor must be {} bytes",
                DESCRIPTOR_LEN * 4
            )));
        }
        let mut out = [0f32; DESCRIPTOR_LEN];
        for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
            *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(ParseError("descriptor has non-finite values".into()));
        }
        Ok(Self(out))
    }
}

/// Squared L2 distance; written as a plain indexed loop over fixed-size arrays so the
/// compiler vectorises it.
#[inline]
pub fn squared_distance(a: &[f32; DESCRIPTOR_LEN], b: &[f32; DESCRIPTOR_LEN]) -> f32 {
    let mut acc = [0f32; 8];
    for i in (0..DESCRIPTOR_LEN).step_by(8) {
        for j in 0..8 {
            let d = a[i + j] - b[i + j];
            acc[j] += d * d;
        }
    }
    acc.iter().sum()
}

/// Where an enrolled face came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Source {
    /// `POST /v1/users/{id}/faces` (or the CLI).
    Api,
    /// An S3 `ObjectCreated` event for `enroll/{user}/…`.
    S3 {
        bucket: String,
        key: String,
        etag: String,
    },
}

/// One enrolled face of a user.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub user_id: UserId,
    pub face_id: FaceId,
    pub descriptor: Descriptor,
    pub model_id: String,
    pub source: Source,
    pub created_at: OffsetDateTime,
}

/// A head movement the user is asked to make: a turn (left, right) or a nod (up, down).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Turn {
    /// The user turns their head to *their* left.
    Left,
    Right,
    /// The user looks up (tilts the head back).
    Up,
    /// The user looks down (tilts the head forward).
    Down,
}

impl Turn {
    pub const ALL: [Turn; 4] = [Turn::Left, Turn::Right, Turn::Up, Turn::Down];

    /// Up or down: a nod rather than a turn.
    pub fn is_vertical(self) -> bool {
        matches!(self, Turn::Up | Turn::Down)
    }
}

/// Fewest and most steps a challenge asks for.
pub const CHALLENGE_STEPS: std::ops::RangeInclusive<usize> = 3..=4;

/// Which steps a challenge asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ChallengeSteps {
    /// Turns left and right only, three of them: left–right–left or right–left–right (2
    /// sequences). The default: nods down fail the genuine-acceptance goal where measured,
    /// and so do four alternating turns, each of which must pass the threshold on two
    /// frames (README, Security).
    #[default]
    Turns,
    /// Turns and nods: at least one left, one right and one up or down (72 sequences).
    TurnsAndNods,
}

impl ChallengeSteps {
    /// Whether `steps` is a sequence a challenge of this kind can ask: 3 or 4 steps, at
    /// least one left and one right (the eye-foreshortening and parallax checks measure
    /// on turned frames), no step twice in a row; with nods at least one up or down,
    /// without none and 3 steps.
    pub fn allows(self, steps: &[Turn]) -> bool {
        let nods = steps.iter().any(|t| t.is_vertical());
        let kind = match self {
            Self::Turns => !nods && steps.len() == 3,
            Self::TurnsAndNods => nods,
        };
        CHALLENGE_STEPS.contains(&steps.len())
            && kind
            && steps.contains(&Turn::Left)
            && steps.contains(&Turn::Right)
            && steps.windows(2).all(|w| w[0] != w[1])
    }

    /// Every sequence a challenge of this kind can ask, in a fixed order: turns only 2;
    /// with nods 12 of 3 steps and 60 of 4 (72).
    pub fn sequences(self) -> Vec<Vec<Turn>> {
        let mut out = vec![];
        for len in CHALLENGE_STEPS {
            // Every sequence of `len` steps over the 4 kinds, counted in base 4.
            for code in 0..4usize.pow(len as u32) {
                let steps: Vec<Turn> = (0..len)
                    .map(|i| Turn::ALL[(code / 4usize.pow(i as u32)) % 4])
                    .collect();
                if self.allows(&steps) {
                    out.push(steps);
                }
            }
        }
        out
    }
}

/// A single-use liveness challenge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Challenge {
    pub id: ChallengeId,
    pub steps: Vec<Turn>,
    /// The screen colour the page shows for each frame, in order (`screen_light`).
    #[serde(default)]
    pub lights: Vec<crate::screen_light::Light>,
    /// When the server issued it (the server's own clock): the answer must come within
    /// the capture plan's time of it (`capture::AnswerWindow`). Challenges stored before
    /// this was recorded read as issued at the epoch, so they are refused as too slow.
    #[serde(with = "time::serde::rfc3339", default = "epoch")]
    pub issued_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

fn epoch() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH
}

impl Challenge {
    /// A fresh challenge with nods issued at `now` (see [`Self::of_kind`]).
    pub fn new(now: OffsetDateTime, ttl: time::Duration) -> Self {
        Self::of_kind(ChallengeSteps::TurnsAndNods, now, ttl)
    }

    /// A fresh challenge issued at `now`: one of the `kind`'s sequences, each equally
    /// likely (a guess is right 1 time in 72 with nods, 1 in 2 without), and a random
    /// colour per frame.
    pub fn of_kind(kind: ChallengeSteps, now: OffsetDateTime, ttl: time::Duration) -> Self {
        use rand::seq::SliceRandom;
        let steps = kind
            .sequences()
            .choose(&mut rand::thread_rng())
            .cloned()
            .unwrap_or_else(|| vec![Turn::Left, Turn::Right, Turn::Left]);
        Self {
            id: ChallengeId::random(),
            steps,
            lights: crate::screen_light::Light::random_sequence(CHALLENGE_LIGHTS),
            issued_at: now,
            expires_at: now + ttl,
        }
    }
    pub fn is_expired(&self, now: OffsetDateTime) -> bool {
        now >= self.expires_at
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_validate_on_parse() {
        for ok in ["alice", "a", "bob.smith@example.com", "x_1-2"] {
            assert!(UserId::parse(ok).is_ok(), "{ok}");
        }
        let long = "a".repeat(65);
        for bad in [
            "",
            ".hidden",
            "-x",
            "a/b",
            "a b",
            "ü",
            "../etc",
            long.as_str(),
        ] {
            assert!(UserId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn descriptor_bytes_round_trip_and_reject_garbage() {
        let mut d = [0f32; DESCRIPTOR_LEN];
        d[3] = 0.25;
        d[127] = -1.5;
        let d = Descriptor(d);
        assert_eq!(Descriptor::from_le_bytes(&d.to_le_bytes()).unwrap(), d);
        assert!(Descriptor::from_le_bytes(&[0u8; 10]).is_err());
        let mut nan = d.to_le_bytes();
        nan[0..4].copy_from_slice(&f32::NAN.to_le_bytes());
        assert!(Descriptor::from_le_bytes(&nan).is_err());
    }

    #[test]
    fn distance_matches_naive_sum() {
        let a: [f32; DESCRIPTOR_LEN] = std::array::from_fn(|i| (i as f32 * 0.37).sin());
        let b: [f32; DESCRIPTOR_LEN] = std::array::from_fn(|i| (i as f32 * 0.11).cos());
        let naive: f32 = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y) * (x - y))
            .sum::<f32>()
            .sqrt();
        assert!((Descriptor(a).distance(&Descriptor(b)) - naive).abs() < 1e-5);
    }

    #[test]
    fn derived_face_ids_are_stable() {
        assert_eq!(FaceId::derived_from("b/k/e"), FaceId::derived_from("b/k/e"));
        assert_ne!(FaceId::derived_from("b/k/e"), FaceId::derived_from("b/k/f"));
        let (a, b) = (UserId::parse("a").unwrap(), UserId::parse("b").unwrap());
        assert_eq!(
            FaceId::of_api_photo(&a, b"x"),
            FaceId::of_api_photo(&a, b"x")
        );
        assert_ne!(
            FaceId::of_api_photo(&a, b"x"),
            FaceId::of_api_photo(&a, b"y")
        );
        assert_ne!(
            FaceId::of_api_photo(&a, b"x"),
            FaceId::of_api_photo(&b, b"x")
        );
    }

    #[test]
    fn challenges_ask_both_directions_and_a_nod() {
        let now = OffsetDateTime::now_utc();
        for _ in 0..200 {
            let c = Challenge::new(now, time::Duration::seconds(60));
            assert!(c.steps.contains(&Turn::Left) && c.steps.contains(&Turn::Right));
            assert!(c.steps.iter().any(|t| t.is_vertical()), "{:?}", c.steps);
            assert!(
                ChallengeSteps::TurnsAndNods.allows(&c.steps),
                "{:?}",
                c.steps
            );
            assert_eq!(c.issued_at, now);
            assert!(!c.is_expired(now) && c.is_expired(now + time::Duration::seconds(61)));
        }
    }

    #[test]
    fn there_are_72_challenge_sequences_each_drawn() {
        let all = ChallengeSteps::TurnsAndNods.sequences();
        // 3 steps: left, right and one of up/down, in any order (3! × 2 = 12); 4 steps
        // with no kind twice in a row: 4·3³ = 108, minus those without a left (3·2³ = 24),
        // without a right (24) or without a nod (2: LRLR, RLRL), plus those without either
        // turn (2: UDUD, DUDU) counted twice: 108 − 48 = 60.
        assert_eq!(all.iter().filter(|s| s.len() == 3).count(), 12);
        assert_eq!(all.iter().filter(|s| s.len() == 4).count(), 60);
        assert_eq!(all.len(), 72);
        let distinct: std::collections::HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), 72);
        // Not a challenge: a repeated step, no nod, a missing direction, too short/long.
        use Turn::*;
        for bad in [
            vec![Left, Left, Up, Right],
            vec![Left, Right, Left],
            vec![Left, Up, Down],
            vec![Left, Right],
            vec![Left, Up, Right, Down, Left],
        ] {
            assert!(!ChallengeSteps::TurnsAndNods.allows(&bad), "{bad:?}");
        }
        // Every sequence comes up (uniform draw: 72 kinds in 5,000 draws).
        let now = OffsetDateTime::now_utc();
        let drawn: std::collections::HashSet<Vec<Turn>> = (0..5_000)
            .map(|_| Challenge::new(now, time::Duration::seconds(60)).steps)
            .collect();
        assert_eq!(drawn.len(), 72);
    }

    #[test]
    fn turn_only_challenges_are_the_two_alternations() {
        use Turn::*;
        let all = ChallengeSteps::Turns.sequences();
        assert_eq!(all, vec![vec![Left, Right, Left], vec![Right, Left, Right]]);
        let now = OffsetDateTime::now_utc();
        for _ in 0..200 {
            let c = Challenge::of_kind(ChallengeSteps::Turns, now, time::Duration::seconds(60));
            assert!(all.contains(&c.steps), "{:?}", c.steps);
        }
        assert!(!ChallengeSteps::Turns.allows(&[Left, Up, Right]));
        assert!(!ChallengeSteps::Turns.allows(&[Left, Right, Left, Right]));
    }

    #[test]
    fn steps_serialise_as_lowercase_words() {
        assert_eq!(
            serde_json::to_string(&Turn::ALL).unwrap(),
            r#"["left","right","up","down"]"#
        );
        let c = Challenge::new(OffsetDateTime::now_utc(), time::Duration::seconds(60));
        let back: Challenge = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
        // A record from before the issue time was kept reads as issued at the epoch.
        let mut old = serde_json::to_value(&c).unwrap();
        old.as_object_mut().unwrap().remove("issued_at");
        let old: Challenge = serde_json::from_value(old).unwrap();
        assert_eq!(old.issued_at, OffsetDateTime::UNIX_EPOCH);
    }
}
