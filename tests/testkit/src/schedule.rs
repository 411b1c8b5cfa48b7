//! A head-turn timeline: `"0:1s,+25:1.2s,0:0.6s,-25:1.2s,0:2s"` — segments of
//! `YAW:DURATION`, yaw in degrees (positive: the person turns to *their* left, the nose
//! moves to the image's right), duration in `s` or `ms`. Each segment holds its yaw;
//! the first `ramp` of a segment moves smoothly from the previous segment's yaw.

#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    pub yaw_deg: f64,
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
    #[error("segment {0:?}: expected YAW:DURATION, e.g. +25:1.2s")]
    Syntax(String),
    #[error("segment {0:?}: yaw must be within ±80°")]
    Yaw(String),
    #[error("duration {0:?}: expected a positive number of s or ms, e.g. 1.5s or 300ms")]
    Duration(String),
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
            let yaw_deg: f64 = yaw
                .trim()
                .parse()
                .map_err(|_| ScheduleError::Syntax(part.to_owned()))?;
            if !yaw_deg.is_finite() || yaw_deg.abs() > 80.0 {
                return Err(ScheduleError::Yaw(part.to_owned()));
            }
            let seconds = parse_duration(dur)?;
            if seconds <= 0.0 {
                return Err(ScheduleError::Duration(dur.to_owned()));
            }
            segments.push(Segment { yaw_deg, seconds });
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
        let mut start = 0.0;
        let mut prev = self.segments.first().map_or(0.0, |s| s.yaw_deg);
        for s in &self.segments {
            if t < start + s.seconds {
                let ramp = self.ramp.min(s.seconds);
                let u = if ramp > 0.0 {
                    ((t - start) / ramp).clamp(0.0, 1.0)
                } else {
                    1.0
                };
                let smooth = u * u * (3.0 - 2.0 * u);
                return prev + (s.yaw_deg - prev) * smooth;
            }
            start += s.seconds;
            prev = s.yaw_deg;
        }
        prev
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
