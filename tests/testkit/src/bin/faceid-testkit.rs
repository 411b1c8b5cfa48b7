//! `faceid-testkit make-video | make-frames`: head-turn (or flat-sheet attack) frames from
//! one frontal photo and its 5 landmarks. See the crate docs for what they are good for.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use faceid_testkit::head::HeadShape;
use faceid_testkit::schedule::parse_duration;
use faceid_testkit::{Framing, HeadModel, Landmarks5, Schedule, SheetWarp, Y4mWriter};
use image::RgbImage;
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "faceid-testkit", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a .y4m video (Chromium's fake camera) following a yaw timeline.
    MakeVideo {
        #[command(flatten)]
        source: Source,
        /// Timeline, e.g. "0:3.5s,+28:2.4s,0:0.8s,-28:2.4s,0:4s" (degrees; + = the person's
        /// own left, the nose moving to the image's right).
        #[arg(long)]
        schedule: String,
        /// Time to move into each segment's yaw, e.g. 300ms.
        #[arg(long, default_value = "300ms")]
        ramp: String,
        #[arg(long, default_value_t = 15)]
        fps: u32,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write one JPEG per yaw, plus frames.json with the projected landmarks.
    MakeFrames {
        #[command(flatten)]
        source: Source,
        /// Comma-separated yaws in degrees, e.g. "0,+25,0,-25,0".
        #[arg(long, allow_hyphen_values = true)]
        yaws: String,
        /// JPEG quality (1–100).
        #[arg(long, default_value_t = 90)]
        quality: u8,
        /// `jpg` (what a browser sends) or `png` (lossless).
        #[arg(long, value_enum, default_value_t = Format::Jpg)]
        format: Format,
        #[arg(long)]
        out_dir: PathBuf,
    },
}

#[derive(Args)]
struct Source {
    /// Frontal photo (e.g. tests/fixtures/images/face_recognition/obama.jpg).
    #[arg(long)]
    image: PathBuf,
    /// Reference JSON with `faces[i].landmarks_5`, or a bare [[x,y]×5] array.
    #[arg(long)]
    landmarks_from: PathBuf,
    /// Which face of the JSON.
    #[arg(long, default_value_t = 0)]
    face: usize,
    /// Output frame size WxH.
    #[arg(long, default_value = "640x480")]
    size: String,
    /// Eye distance in the output frame, pixels.
    #[arg(long, default_value_t = 80.0)]
    eye_distance: f64,
    /// `head`: a 3-D-looking head turn (passes the liveness check). `sheet`: the photo
    /// turned as a flat sheet (the attack the check must refuse).
    #[arg(long, value_enum, default_value_t = Motion::Head)]
    motion: Motion,
    /// Head mode: how far the nose landmark stands in front of the eyes, in eye distances.
    #[arg(long, default_value_t = HeadShape::default().nose_depth)]
    nose_depth: f64,
    /// Sheet mode: camera distance in pixels of focal length (smaller = stronger perspective).
    #[arg(long, default_value_t = 640.0)]
    sheet_distance: f64,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Format {
    Jpg,
    Png,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Motion {
    Head,
    Sheet,
}

/// The framed photo and a way to render it at any yaw.
struct Scene {
    photo: RgbImage,
    landmarks: Landmarks5,
    head: HeadModel,
    sheet: SheetWarp,
    motion: Motion,
}

impl Scene {
    fn load(s: &Source) -> Result<Self> {
        let (w, h) = parse_size(&s.size)?;
        let photo = image::open(&s.image)
            .with_context(|| format!("reading {}", s.image.display()))?
            .to_rgb8();
        let text = std::fs::read_to_string(&s.landmarks_from)
            .with_context(|| format!("reading {}", s.landmarks_from.display()))?;
        let landmarks = Landmarks5::from_json(&text, s.face)?;
        if s.eye_distance.is_nan() || s.eye_distance <= 4.0 {
            bail!("--eye-distance must be more than 4 pixels");
        }
        let framing = Framing {
            width: w,
            height: h,
            eye_distance_px: s.eye_distance,
            ..Framing::default()
        };
        let (photo, landmarks) = framing.apply(&photo, &landmarks);
        if !(0.05..=1.0).contains(&s.nose_depth) {
            bail!("--nose-depth must be within 0.05..=1.0 eye distances");
        }
        let shape = HeadShape {
            nose_depth: s.nose_depth,
            ..HeadShape::default()
        };
        let head = HeadModel::new(&landmarks, shape)?;
        let sheet = SheetWarp::around_face(&landmarks, s.sheet_distance);
        Ok(Self {
            photo,
            landmarks,
            head,
            sheet,
            motion: s.motion,
        })
    }

    fn render(&self, yaw: f64) -> RgbImage {
        match self.motion {
            Motion::Head => self.head.render(&self.photo, yaw),
            Motion::Sheet => self.sheet.render(&self.photo, yaw),
        }
    }

    fn landmarks_at(&self, yaw: f64) -> Landmarks5 {
        match self.motion {
            Motion::Head => self.head.project_landmarks(&self.landmarks, yaw),
            Motion::Sheet => self.sheet.project_landmarks(&self.landmarks, yaw),
        }
    }

    fn describe(&self, yaw: f64) -> serde_json::Value {
        let l = self.landmarks_at(yaw);
        let round = |v: f64| (v * 100.0).round() / 100.0;
        json!({
            "yaw_deg": yaw,
            // The server's yaw measure on the projected reference landmarks (not detected).
            "yaw_ratio": (l.yaw_ratio() * 1000.0).round() / 1000.0,
            "landmarks_5": l.0.iter().map(|p| [round(p[0]), round(p[1])]).collect::<Vec<_>>(),
        })
    }
}

fn parse_size(s: &str) -> Result<(u32, u32)> {
    let (w, h) = s
        .split_once(['x', 'X'])
        .with_context(|| format!("--size {s:?}: expected WxH"))?;
    let (w, h): (u32, u32) = (w.trim().parse()?, h.trim().parse()?);
    if !(16..=4096).contains(&w) || !(16..=4096).contains(&h) {
        bail!("--size {s:?}: each side must be 16..=4096");
    }
    Ok((w, h))
}

fn make_video(source: &Source, schedule: &str, ramp: &str, fps: u32, out: &PathBuf) -> Result<()> {
    if fps == 0 || fps > 60 {
        bail!("--fps must be 1..=60");
    }
    let schedule = Schedule::parse(schedule, parse_duration(ramp)?)?;
    let scene = Scene::load(source)?;
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let (w, h) = scene.photo.dimensions();
    let mut writer = Y4mWriter::new(BufWriter::new(file), w, h, (fps, 1))?;
    // Held poses repeat the same frame: render each distinct yaw once.
    let mut last: Option<(f64, RgbImage)> = None;
    for i in 0..schedule.frame_count(f64::from(fps)) {
        let yaw = schedule.yaw_at(i as f64 / f64::from(fps));
        if last.as_ref().map(|(y, _)| *y) != Some(yaw) {
            last = Some((yaw, scene.render(yaw)));
        }
        if let Some((_, frame)) = &last {
            writer.write_frame(frame)?;
        }
    }
    let frames = writer.frames();
    writer.finish()?;
    let summary = json!({
        "out": out,
        "width": w,
        "height": h,
        "fps": fps,
        "frames": frames,
        "seconds": schedule.duration(),
        "segments": schedule.segments.iter().map(|s| {
            let mut d = scene.describe(s.yaw_deg);
            d["seconds"] = json!(s.seconds);
            d
        }).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&summary)?);
    Ok(())
}

fn make_frames(
    source: &Source,
    yaws: &str,
    quality: u8,
    format: Format,
    out_dir: &PathBuf,
) -> Result<()> {
    let yaws: Vec<f64> = yaws
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .context("--yaws: expected comma-separated degrees, e.g. 0,+25,0,-25,0")?;
    if yaws.iter().any(|y| !y.is_finite() || y.abs() > 80.0) {
        bail!("--yaws: each yaw must be within ±80°");
    }
    let quality = quality.clamp(1, 100);
    let scene = Scene::load(source)?;
    std::fs::create_dir_all(out_dir)?;
    let mut manifest = vec![];
    for (i, yaw) in yaws.iter().enumerate() {
        let frame = scene.render(*yaw);
        let name = match format {
            Format::Jpg => format!("frame_{i:02}.jpg"),
            Format::Png => format!("frame_{i:02}.png"),
        };
        let path = out_dir.join(&name);
        let mut file = BufWriter::new(std::fs::File::create(&path)?);
        match format {
            Format::Jpg => image::codecs::jpeg::JpegEncoder::new_with_quality(&mut file, quality)
                .encode_image(&frame)?,
            Format::Png => frame.write_to(&mut file, image::ImageFormat::Png)?,
        }
        file.flush()?;
        let mut d = scene.describe(*yaw);
        d["file"] = json!(name);
        manifest.push(d);
    }
    let text = serde_json::to_string_pretty(&json!({ "frames": manifest }))?;
    std::fs::write(out_dir.join("frames.json"), &text)?;
    println!("{text}");
    Ok(())
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Command::MakeVideo {
            source,
            schedule,
            ramp,
            fps,
            out,
        } => make_video(&source, &schedule, &ramp, fps, &out),
        Command::MakeFrames {
            source,
            yaws,
            quality,
            format,
            out_dir,
        } => make_frames(&source, &yaws, quality, format, &out_dir),
    }
}
