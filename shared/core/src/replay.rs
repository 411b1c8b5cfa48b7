//! Frames seen before: an accepted login's frames must not log in again.
//!
//! Whoever captures a login's request (a logging proxy, a compromised browser, a leaked
//! HAR file) holds frames that passed every check once. The challenge is single use and
//! the screen light binds frames to their challenge, but where the light check is off
//! (`FACEID_SCREEN_LIGHT=false`) the same frames pass again once a fresh challenge asks
//! for the same turns. So every accepted login leaves a digest of each frame's decoded
//! pixels, and a login with any frame already recorded for that user is refused.
//!
//! Exact on purpose: a *perceptual* print of the face that survives re-encoding also
//! matches a new capture of the same face at the same pose (measured on real footage,
//! `faceid-bench replay-prints`: the nearest genuine pairs of two sessions are as close as a
//! re-encoded replay). A camera never delivers the same pixels twice, so an exact digest
//! costs no genuine login; it stops a replay sent as captured (or re-wrapped losslessly,
//! e.g. as PNG), not one re-encoded or edited: the screen light is what stops those.

use sha2::{Digest, Sha256};

/// How long an accepted login's frames are remembered.
pub const SEEN_FRAMES_TTL: time::Duration = time::Duration::days(90);

/// The first 16 bytes of SHA-256 over a frame's size and decoded RGB pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameDigest(pub [u8; 16]);

impl FrameDigest {
    pub fn of_pixels(width: u32, height: u32, rgb: &[u8]) -> Self {
        let mut h = Sha256::new();
        h.update(width.to_le_bytes());
        h.update(height.to_le_bytes());
        h.update(rgb);
        let full = h.finalize();
        let mut d = [0u8; 16];
        d.copy_from_slice(&full[..16]);
        Self(d)
    }

    pub fn to_hex(self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 32 || !s.is_ascii() {
            return None;
        }
        let mut d = [0u8; 16];
        for (i, b) in d.iter_mut().enumerate() {
            *b = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
        }
        Some(Self(d))
    }
}

/// The distinct digests of a login's frames, sorted (a camera that stalls can hand the
/// page one picture twice within a login; that is not a replay of an earlier login).
pub fn distinct(digests: impl IntoIterator<Item = FrameDigest>) -> Vec<FrameDigest> {
    let mut v: Vec<_> = digests.into_iter().collect();
    v.sort_unstable();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_digest_depends_on_every_pixel_and_on_the_size() {
        let px = vec![7u8; 4 * 3 * 3];
        let d = FrameDigest::of_pixels(4, 3, &px);
        assert_eq!(d, FrameDigest::of_pixels(4, 3, &px));
        let mut one_off = px.clone();
        one_off[17] ^= 1;
        assert_ne!(d, FrameDigest::of_pixels(4, 3, &one_off));
        assert_ne!(d, FrameDigest::of_pixels(3, 4, &px));
    }

    #[test]
    fn hex_round_trips_and_refuses_garbage() {
        let d = FrameDigest::of_pixels(1, 1, &[1, 2, 3]);
        assert_eq!(FrameDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(FrameDigest::from_hex("zz"), None);
        assert_eq!(FrameDigest::from_hex(&"é".repeat(16)), None);
    }

    #[test]
    fn repeated_frames_within_a_login_count_once() {
        let a = FrameDigest([1; 16]);
        let b = FrameDigest([2; 16]);
        assert_eq!(distinct([b, a, b, a]), vec![a, b]);
    }
}
