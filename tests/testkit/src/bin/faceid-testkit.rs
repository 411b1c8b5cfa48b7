//! `faceid-testkit make-video | make-frames`: head-turn (or flat-sheet attack) frames from
//! one frontal photo and its 5 landmarks. See the crate docs for what they are good for.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use faceid_testkit::head::{HeadPose, HeadShape};
use faceid_testkit::schedule::{parse_duration, parse_pose};
use faceid_testkit::{Framing, HeadModel, Landmarks5, Schedule, ScreenLight, SheetWarp, Y4mWriter};
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
    /// Write a .y4m video (Chromium's fake camera) following a head-pose timeline.
    MakeVideo {
        #[command(flatten)]
        source: Source,
        /// Timeline, e.g. "0:3.5s,+28:2.4s,0:0.8s,0/+20:2.4s,0:4s": segments of
        /// YAW[/PITCH]:DURATION in degrees (yaw + = the person's own left, the nose moving
        /// to the image's right; pitch + = looking up).
        #[arg(long)]
        schedule: String,
        /// Time to move into each segment's yaw, e.g. 300ms.
        #[arg(long, default_value = "300ms")]
        ramp: String,
        #[arg(long, default_value_t = 15)]
        fps: u32,
        /// Screen-light timeline, e.g. "none:2.7s,red:600ms,blue:400ms": the colour the
        /// page shows (red, green, blue, yellow, cyan, magenta, none), lighting the face.
        #[arg(long)]
        lights: Option<String>,
        /// Screen irradiance at the face relative to the ambient light.
        #[arg(long, default_value_t = ScreenLight::default().strength)]
        light_strength: f64,
        /// The share of it that reaches the background.
        #[arg(long, default_value_t = ScreenLight::default().background)]
        light_background: f64,
        #[arg(long)]
        out: PathBuf,
    },
    /// Write one JPEG per pose, plus frames.json with the projected landmarks.
    MakeFrames {
        #[command(flatten)]
        source: Source,
        /// Comma-separated poses YAW[/PITCH] in degrees, e.g. "0,+25,0,-25,0,0/+20,0/-20"
        /// (pitch + = looking up).
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

    /// The sheet turns about its vertical axis only.
    fn check(&self, pose: HeadPose) -> Result<()> {
        if self.motion == Motion::Sheet && pose.pitch_deg != 0.0 {
            bail!(
                "--motion sheet turns left and right only (pitch {})",
                pose.pitch_deg
            );
        }
        Ok(())
    }

    fn render(&self, pose: HeadPose) -> RgbImage {
        match self.motion {
            Motion::Head => self.head.render_pose(&self.photo, pose),
            Motion::Sheet => self.sheet.render(&self.photo, pose.yaw_deg),
        }
    }

    fn landmarks_at(&self, pose: HeadPose) -> Landmarks5 {
        match self.motion {
            Motion::Head => self.head.project_landmarks_pose(&self.landmarks, pose),
            Motion::Sheet => self.sheet.project_landmarks(&self.landmarks, pose.yaw_deg),
        }
    }

    fn describe(&self, pose: HeadPose) -> serde_json::Value {
        let l = self.landmarks_at(pose);
        let round = |v: f64| (v * 100.0).round() / 100.0;
        let milli = |v: f64| (v * 1000.0).round() / 1000.0;
        json!({
            "yaw_deg": pose.yaw_deg,
            "pitch_deg": pose.pitch_deg,
            // The server's measures on the projected reference landmarks (not detected):
            // the yaw, and the nose's drop relative to the straight-ahead face's
            // (negative: looking up).
            "yaw_ratio": milli(l.yaw_ratio()),
            "nose_drop_change": milli(l.nose_drop() / self.landmarks.nose_drop() - 1.0),
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

/// A screen colour (`None`: no screen light) and how long it shows, in seconds.
type LightSegment = (Option<[u8; 3]>, f64);

/// A frame's head pose and the screen colour on it.
type Pose = ([f64; 2], Option<[u8; 3]>);

/// `COLOUR:DURATION` segments.
fn parse_lights(text: &str) -> Result<Vec<LightSegment>> {
    text.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (name, dur) = part
                .split_once(':')
                .with_context(|| format!("--lights {part:?}: expected COLOUR:DURATION"))?;
            let rgb = match name.trim() {
                "none" => None,
                "red" => Some([255, 0, 0]),
                "green" => Some([0, 255, 0]),
                "blue" => Some([0, 0, 255]),
                "yellow" => Some([255, 255, 0]),
                "cyan" => Some([0, 255, 255]),
                "magenta" => Some([255, 0, 255]),
                other => bail!("--lights: unknown colour {other:?}"),
            };
            Ok((rgb, parse_duration(dur)?))
        })
        .collect()
}

/// The colour shown at `t` seconds (none past the timeline's end).
fn light_at(lights: &[LightSegment], t: f64) -> Option<[u8; 3]> {
    let mut start = 0.0;
    for &(rgb, seconds) in lights {
        if t < start + seconds {
            return rgb;
        }
        start += seconds;
    }
    None
}

struct VideoLight {
    timeline: Vec<LightSegment>,
    light: ScreenLight,
}

fn make_video(
    source: &Source,
    schedule: &str,
    ramp: &str,
    fps: u32,
    lights: Option<VideoLight>,
    out: &PathBuf,
) -> Result<()> {
    if fps == 0 || fps > 60 {
        bail!("--fps must be 1..=60");
    }
    let schedule = Schedule::parse(schedule, parse_duration(ramp)?)?;
    let scene = Scene::load(source)?;
    for s in &schedule.segments {
        scene.check(HeadPose {
            yaw_deg: s.yaw_deg,
            pitch_deg: s.pitch_deg,
        })?;
    }
    let file = std::fs::File::create(out).with_context(|| format!("creating {}", out.display()))?;
    let (w, h) = scene.photo.dimensions();
    let mut writer = Y4mWriter::new(BufWriter::new(file), w, h, (fps, 1))?;
    // Held poses under one light repeat the same frame: render each once.
    let mut last: Option<(Pose, RgbImage)> = None;
    for i in 0..schedule.frame_count(f64::from(fps)) {
        let t = i as f64 / f64::from(fps);
        let pose = schedule.pose_at(t);
        let key = [pose.yaw_deg, pose.pitch_deg];
        let rgb = lights.as_ref().and_then(|l| light_at(&l.timeline, t));
        if last.as_ref().map(|(k, _)| *k) != Some((key, rgb)) {
            let mut frame = scene.render(pose);
            if let (Some(l), Some(rgb)) = (&lights, rgb) {
                frame = l.light.apply(&frame, &scene.landmarks_at(pose), rgb);
            }
            last = Some(((key, rgb), frame));
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
            let mut d = scene.describe(HeadPose { yaw_deg: s.yaw_deg, pitch_deg: s.pitch_deg });
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
    let poses: Vec<HeadPose> = yaws
        .split(',')
        .map(|s| parse_pose(s.trim()))
        .collect::<Result<_, _>>()
        .context("--yaws: expected comma-separated YAW[/PITCH] degrees, e.g. 0,+25,0,-25,0/+20 (yaw within ±80°, pitch within ±60°)")?;
    let quality = quality.clamp(1, 100);
    let scene = Scene::load(source)?;
    for pose in &poses {
        scene.check(*pose)?;
    }
    std::fs::create_dir_all(out_dir)?;
    let mut manifest = vec![];
    for (i, pose) in poses.iter().enumerate() {
        let frame = scene.render(*pose);
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
        let mut d = scene.describe(*pose);
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
            lights,
            light_strength,
            light_background,
            out,
        } => {
            let lights = match lights {
                Some(text) => Some(VideoLight {
                    timeline: parse_lights(&text)?,
                    light: ScreenLight {
                        strength: light_strength,
                        background: light_background,
                    },
                }),
                None => None,
            };
            make_video(&source, &schedule, &ramp, fps, lights, &out)
        }
        Command::MakeFrames {
            source,
            yaws,
            quality,
            format,
            out_dir,
        } => make_frames(&source, &yaws, quality, format, &out_dir),
    }
}
