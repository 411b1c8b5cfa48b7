//! FaceID's domain: what a user, a face template, a challenge and an audit event are;
//! the ports the storage adapters implement; the matching, quality and liveness policy;
//! session tokens. No I/O lives here.

pub mod audit;
pub mod capture;
pub mod domain;
pub mod face;
pub mod keys;
pub mod liveness;
pub mod lockout;
pub mod matching;
pub mod parallax;
pub mod policy;
pub mod ports;
pub mod replay;
pub mod ruled;
pub mod screen_light;
pub mod token;

pub use domain::{
    Challenge, ChallengeId, ChallengeSteps, Descriptor, FaceId, Source, Template, Turn, UserId,
    DESCRIPTOR_LEN,
};
