//! Test tooling for FaceID's liveness check and web page.
//!
//! No public-domain video of a real head turn exists offline, so this crate makes one from
//! a single frontal photo: [`head::HeadModel`] gives the face a simple 3-D shape (nose in
//! front of the eyes, cheeks behind, ellipsoid head), turns it about the vertical axis
//! (left/right) or the horizontal one (up/down) and re-projects it, so the nose moves
//! relative to the eyes as in a real turn or nod.
//! [`sheet::SheetWarp`] is the attack the check must reject: the same photo as a flat
//! sheet turned in perspective, where the nose keeps its place between the eyes.
//! [`y4m`] writes the frames as a `.y4m` file for Chromium's fake camera.
//!
//! Honest limit: a video made this way fools the liveness check as well as a real head
//! does — the check proves a 3-D-looking turn, not a living person.

pub mod bent;
pub mod framing;
pub mod head;
pub mod landmarks;
pub mod light;
pub mod sampling;
pub mod schedule;
pub mod sheet;
pub mod warp;
pub mod y4m;

pub use bent::{Bend, BentPrint};
pub use framing::Framing;
pub use head::{HeadModel, HeadPose};
pub use landmarks::Landmarks5;
pub use light::{glass_reflection, Camera, ScreenLight};
pub use schedule::Schedule;
pub use sheet::SheetWarp;
pub use warp::{Homography, PrintPose, ThinPlate};
pub use y4m::Y4mWriter;
