//! `faceid`: the local server and command-line tools.
//!
//! - `faceid serve` — the same HTTP handlers as the Lambda functions, the web page at `/`,
//!   embedded storage by default (AWS/MongoDB when their variables are set);
//! - `faceid embed --jsonl IMG…` — boxes, landmarks and descriptors as JSON lines;
//! - `faceid compare A B` — distance and decision;
//! - `faceid enroll USER IMG…`, `faceid users`, `faceid authenticate IMG`, `faceid delete USER`
//!   — what the original helper scripts did, on the configured storage;
//! - `faceid token-public-key` — the public half of the session signing key.

use faceid::{admin, embed, serve, DetectorArg};

use anyhow::Result;
use clap::{Parser, Subcommand};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "faceid",
    version,
    about = "Passwordless face login: local server and tools"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP API and the web page on one local server.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080", env = "FACEID_ADDR")]
        addr: SocketAddr,
        /// Folder with the web page (default: ./web, else the copy in this repository).
        #[arg(long, env = "FACEID_WEB_DIR")]
        web_dir: Option<PathBuf>,
    },
    /// Print one JSON object per image: boxes, scores, 5 landmarks and 128-D descriptors.
    Embed {
        /// JSON lines output (the only format; accepted for clarity in scripts).
        #[arg(long)]
        jsonl: bool,
        #[arg(long, value_enum, default_value = "fast")]
        detector: DetectorArg,
        /// Times to upsample before detecting (default: 1 for fast/HOG, 0 for cnn — as face_recognition).
        #[arg(long)]
        upsample: Option<u32>,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Distance between the largest faces of two images, and the decision at the threshold.
    Compare {
        a: PathBuf,
        b: PathBuf,
        #[arg(long, default_value_t = 0.6)]
        threshold: f32,
    },
    /// Enroll photo files for a user (quality-checked like the API).
    Enroll {
        user: String,
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// List enrolled users.
    Users,
    /// Identify (or verify with --user) the face in an image file. No liveness check:
    /// this is the original helper script's check, not a login.
    Authenticate {
        image: PathBuf,
        #[arg(long)]
        user: Option<String>,
    },
    /// Delete a user's templates and photos.
    Delete { user: String },
    /// Print the base64 public key of the signing seed in FACEID_TOKEN_KEY (or on
    /// stdin), for the enroll function's FACEID_TOKEN_PUBLIC_KEY.
    TokenPublicKey,
}

#[tokio::main]
async fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve { addr, web_dir } => serve::run(addr, web_dir).await,
        Command::Embed {
            jsonl: _,
            detector,
            upsample,
            images,
        } => embed::embed(detector, upsample, &images),
        Command::Compare { a, b, threshold } => embed::compare(&a, &b, threshold),
        Command::Enroll { user, images } => admin::enroll(&user, &images).await,
        Command::Users => admin::users().await,
        Command::Authenticate { image, user } => admin::authenticate(&image, user.as_deref()).await,
        Command::Delete { user } => admin::delete(&user).await,
        Command::TokenPublicKey => {
            let seed = match std::env::var("FACEID_TOKEN_KEY") {
                Ok(seed) => seed,
                Err(_) => std::io::read_to_string(std::io::stdin())?,
            };
            println!("{}", faceid_wiring::public_key_of(&seed)?);
            Ok(())
        }
    }
}
