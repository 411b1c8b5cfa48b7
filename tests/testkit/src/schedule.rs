//! A head-turn timeline: `"0:1s,+25:1.2s,0:0.6s,-25:1.2s,0/+20:1.2s,0:2s"` — segments
//! of `YAW[/PITCH]:DURATION`, in degrees (yaw positive: the person turns to *their* left,
//! the nose moves to the image's right; pitch positive: the person looks up), duration in
//! `s` or `ms`. Each segment holds its pose; the first `ramp` of a segment moves smoothly
//! from the previous segment's pose.

use crate::head::HeadPose;

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub yaw_deg: f64,
    /// Positive: looking up.
    pub pitch_deg: f64,
    pub seconds: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub segments: Vec<Segment>,
    /// Seconds taken to move into each segment's yaw (within the segment).
    pub ramp: f64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ScheduleError {
    #[error("schedule is empty")]
    Empty,
    #[error("segment {0:?}: expected YAW[/PITCH]:DURATION, e.g. +25:1.2s or 0/-20:1.2s")]
    Syntax(String),
    #[error("segment {0:?}: yaw must be within ±80° and pitch within ±60°")]
    Yaw(String),
    #[error("duration {0:?}: expected a positive number of s or ms, e.g. 1.5s or 300ms")]
    Duration(String),
}

/// Parses a pose `YAW` or `YAW/PITCH` in degrees (yaw within ±80°, pitch within ±60°).
pub fn parse_pose(s: &str) -> Result<HeadPose, ScheduleError> {
    let (yaw, pitch) = s.split_once('/').unwrap_or((s, "0"));
    let (Ok(yaw_deg), Ok(pitch_deg)) = (yaw.trim().parse::<f64>(), pitch.trim().parse::<f64>())
    else {
        return Err(ScheduleError::Syntax(s.to_owned()));
    };
    let ok = yaw_deg.is_finite()
        && pitch_deg.is_finite()
        && yaw_deg.abs() <= 80.0
        && pitch_deg.abs() <= 60.0;
    if !ok {
        return Err(ScheduleError::Yaw(s.to_owned()));
    }
    Ok(HeadPose { yaw_deg, pitch_deg })
}

/// Parses `1.5s`, `300ms` (a bare number is seconds).
pub fn parse_duration(s: &str) -> Result<f64, ScheduleError> {
    let t = s.trim();
    let (num, scale) = if let Some(n) = t.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = t.strip_suffix('s') {
        (n, 1.0)
    } else {
        (t, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v >= 0.0 => Ok(v * scale),
        _ => Err(ScheduleError::Duration(s.to_owned())),
    }
}

impl Schedule {
    pub fn parse(text: &str, ramp: f64) -> Result<Self, ScheduleError> {
        let mut segments = vec![];
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (yaw, dur) = part
                .split_once(':')
                .ok_or_else(|| ScheduleError::Syntax(part.to_owned()))?;
            let pose = parse_pose(yaw).map_err(|e| match e {
                ScheduleError::Yaw(_) => ScheduleError::Yaw(part.to_owned()),
                _ => ScheduleError::Syntax(part.to_owned()),
            })?;
            let seconds = parse_duration(dur)?;
            if seconds <= 0.0 {
                return Err(ScheduleError::Duration(dur.to_owned()));
            }
            segments.push(Segment {
                yaw_deg: pose.yaw_deg,
                pitch_deg: pose.pitch_deg,
                seconds,
            });
        }
        if segments.is_empty() {
            return Err(ScheduleError::Empty);
        }
        Ok(Self {
            segments,
            ramp: ramp.max(0.0),
        })
    }

    pub fn duration(&self) -> f64 {
        self.segments.iter().map(|s| s.seconds).sum()
    }

    /// The yaw at time `t` seconds (clamped to the timeline).
    pub fn yaw_at(&self, t: f64) -> f64 {
        self.pose_at(t).yaw_deg
    }

    /// The pose at time `t` seconds (clamped to the timeline).
    pub fn pose_at(&self, t: f64) -> HeadPose {
        let pose = |s: &Segment| [s.yaw_deg, s.pitch_deg];
        let mut start = 0.0;
        let mut prev = self.segments.first().map_or([0.0, 0.0], pose);
        for s in &self.segments {
            if t < start + s.seconds {
                let ramp = self.ramp.min(s.seconds);
                let u = if ramp > 0.0 {
                    ((t - start) / ramp).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let smooth = u * u * (3.0 - 2.0 * u);
                let [y, p] = pose(s);
                return HeadPose {
                    yaw_deg: prev[0] + (y - prev[0]) * smooth,
                    pitch_deg: prev[1] + (p - prev[1]) * smooth,
                };
            }
            start += s.seconds;
            prev = pose(s);
        }
        HeadPose {
            yaw_deg: prev[0],
            pitch_deg: prev[1],
        }
    }

    /// Number of frames at `fps` frames per second.
    pub fn frame_count(&self, fps: f64) -> usize {
        (self.duration() * fps).round().max(1.0) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_interpolates() {
        let s = Schedule::parse("0:1s, +25:1200ms ,0:0.6s,-25:1.2,0:2s", 0.2).unwrap();
        assert_eq!(s.segments.len(), 5);
        assert!((s.duration() - 6.0).abs() < 1e-9);
        assert_eq!(s.yaw_at(0.5), 0.0);
        assert!(
            (s.yaw_at(1.1) - 12.5).abs() < 1e-9,
            "halfway through the ramp"
        );
        assert_eq!(s.yaw_at(1.5), 25.0);
        assert_eq!(s.yaw_at(3.5), -25.0);
        assert_eq!(s.yaw_at(99.0), 0.0);
        assert_eq!(s.frame_count(15.0), 90);
        assert_eq!(s.pose_at(3.5).pitch_deg, 0.0);
    }

    #[test]
    fn pitch_segments_look_up_and_down() {
        let s = Schedule::parse("0:1s,0/+20:1s,0:1s,0/-15:1s,+30/5:1s", 0.2).unwrap();
        assert_eq!(s.pose_at(0.5), HeadPose::default());
        assert!((s.pose_at(1.1).pitch_deg - 10.0).abs() < 1e-9, "halfway up");
        assert_eq!(s.pose_at(1.5), HeadPose::pitch(20.0));
        assert_eq!(s.pose_at(3.5), HeadPose::pitch(-15.0));
        assert_eq!(
            s.pose_at(4.5),
            HeadPose {
                yaw_deg: 30.0,
                pitch_deg: 5.0
            }
        );
        assert!(matches!(
            Schedule::parse("0/70:1s", 0.2),
            Err(ScheduleError::Yaw(_))
        ));
        assert!(matches!(
            Schedule::parse("0/x:1s", 0.2),
            Err(ScheduleError::Syntax(_))
        ));
    }

    #[test]
    fn rejects_bad_text() {
        assert_eq!(Schedule::parse("", 0.2), Err(ScheduleError::Empty));
        assert!(matches!(
            Schedule::parse("25", 0.2),
            Err(ScheduleError::Syntax(_))
        ));
        assert!(matches!(
            Schedule::parse("x:1s", 0.2),
            Err(ScheduleError::Syntax(_))
        ));
        assert!(matches!(
            Schedule::parse("95:1s", 0.2),
            Err(ScheduleError::Yaw(_))
        ));
        assert!(matches!(
            Schedule::parse("5:-1s", 0.2),
            Err(ScheduleError::Duration(_))
        ));
        assert!(matches!(
            Schedule::parse("5:0s", 0.2),
            Err(ScheduleError::Duration(_))
        ));
        assert!(matches!(
            Schedule::parse("5:1h", 0.2),
            Err(ScheduleError::Duration(_))
        ));
    }
}
