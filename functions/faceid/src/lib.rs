//! The `faceid` command's building blocks, public so the integration tests can run the
//! local server in-process.

pub mod admin;
pub mod embed;
pub mod serve;
mod unread_body;

/// Which detector `embed` runs.
#[derive(Clone, Copy, Debug, clap::ValueEnum, PartialEq, Eq)]
pub enum DetectorArg {
    /// dlib's HOG detector (face_recognition's default, `model="hog"`).
    #[value(alias = "hog")]
    Fast,
    /// dlib's MMOD CNN detector (`model="cnn"`): slower, finds more faces.
    Cnn,
}
