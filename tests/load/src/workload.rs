//! What one login sends: a single frame (the server runs without liveness), or a
//! challenge followed by the head-turn sequence the challenge asks for.

use base64::Engine;
use serde_json::{json, Value};

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum WorkloadError {
    #[error("the challenge asks for a turn {0:?} this tool has no frames for")]
    UnknownStep(String),
    #[error("the challenge response has no {0}")]
    MissingField(&'static str),
}

/// Base64 JPEG frames, encoded once before the run so the generator does no per-request
/// work beyond assembling JSON.
#[derive(Debug, Clone)]
pub enum Workload {
    /// `{"frames": [frame]}` against a server with `FACEID_REQUIRE_LIVENESS=false`.
    OneFrame { frame: String },
    /// `POST /v1/challenge`, then frontal, each asked step's frames, frontal again
    /// after each step (the sequence the service tests use: 10 frames for three steps,
    /// 13 for four).
    Liveness {
        frontal: String,
        left: Vec<String>,
        right: Vec<String>,
        up: Vec<String>,
        down: Vec<String>,
    },
}

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl Workload {
    pub fn label(&self) -> &'static str {
        match self {
            Self::OneFrame { .. } => "one frame, no liveness",
            Self::Liveness { .. } => "challenge + head-turn sequence",
        }
    }

    /// The frames answering a challenge's `steps` (`"left"`, `"right"`, `"up"`, `"down"`).
    pub fn sequence<'a>(&'a self, steps: &[Value]) -> Result<Vec<&'a str>, WorkloadError> {
        match self {
            Self::OneFrame { frame } => Ok(vec![frame.as_str()]),
            Self::Liveness {
                frontal,
                left,
                right,
                up,
                down,
            } => {
                let mut out = vec![frontal.as_str()];
                for step in steps {
                    let turn = match step.as_str() {
                        Some("left") => left,
                        Some("right") => right,
                        Some("up") => up,
                        Some("down") => down,
                        _ => return Err(WorkloadError::UnknownStep(step.to_string())),
                    };
                    if turn.is_empty() {
                        return Err(WorkloadError::UnknownStep(step.to_string()));
                    }
                    out.extend(turn.iter().map(String::as_str));
                    out.push(frontal.as_str());
                }
                Ok(out)
            }
        }
    }

    /// The authenticate request body; `challenge` is the `/v1/challenge` response.
    pub fn body(
        &self,
        challenge: Option<&Value>,
        user_id: Option<&str>,
    ) -> Result<Value, WorkloadError> {
        let mut body = match challenge {
            None => json!({ "frames": self.sequence(&[])? }),
            Some(c) => {
                let id = c["challenge_id"]
                    .as_str()
                    .ok_or(WorkloadError::MissingField("challenge_id"))?;
                let steps = c["steps"]
                    .as_array()
                    .ok_or(WorkloadError::MissingField("steps"))?;
                json!({ "challenge_id": id, "frames": self.sequence(steps)? })
            }
        };
        if let Some(u) = user_id {
            body["user_id"] = json!(u);
        }
        Ok(body)
    }

    pub fn needs_challenge(&self) -> bool {
        matches!(self, Self::Liveness { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn turns() -> Workload {
        Workload::Liveness {
            frontal: "F".into(),
            left: vec!["L20".into(), "L36".into()],
            right: vec!["R20".into(), "R30".into()],
            up: vec!["U20".into(), "U25".into()],
            down: vec![],
        }
    }

    #[test]
    fn steps_make_the_sequences_of_the_service_tests() {
        let w = turns();
        assert_eq!(
            w.sequence(&[json!("left"), json!("up"), json!("right")])
                .unwrap(),
            ["F", "L20", "L36", "F", "U20", "U25", "F", "R20", "R30", "F"]
        );
        assert_eq!(
            w.sequence(&[json!("right"), json!("up"), json!("left"), json!("up")])
                .unwrap()
                .len(),
            13
        );
        // No frames for a nod down: the challenge cannot be answered.
        assert_eq!(
            w.sequence(&[json!("left"), json!("down"), json!("right")])
                .unwrap_err(),
            WorkloadError::UnknownStep("\"down\"".into())
        );
        assert_eq!(
            w.sequence(&[json!("sideways")]).unwrap_err(),
            WorkloadError::UnknownStep("\"sideways\"".into())
        );
    }

    #[test]
    fn bodies_carry_the_challenge_and_the_user() {
        let c = json!({"challenge_id": "abc", "steps": ["right", "left"]});
        let body = turns().body(Some(&c), Some("obama")).unwrap();
        assert_eq!(body["challenge_id"], "abc");
        assert_eq!(body["user_id"], "obama");
        assert_eq!(body["frames"][1], "R20");
        assert_eq!(
            turns().body(Some(&json!({})), None).unwrap_err(),
            WorkloadError::MissingField("challenge_id")
        );
        let one = Workload::OneFrame { frame: b64(b"x") };
        assert_eq!(one.body(None, None).unwrap(), json!({"frames": ["eA=="]}));
    }
}
