//! YUV4MPEG2 writer, the format of Chromium's `--use-file-for-fake-video-capture`.
//!
//! Header `YUV4MPEG2 W<w> H<h> F<num>:<den> Ip A1:1 C420jpeg`, then per frame `FRAME\n`
//! followed by the Y plane (w·h bytes) and the Cb and Cr planes (⌈w/2⌉·⌈h/2⌉ bytes each,
//! each sample the mean of a 2×2 block: the JPEG chroma siting that `C420jpeg` names).
//! Colours are BT.601 with video ("limited") range, Y 16–235 and Cb/Cr 16–240: what
//! Chromium assumes for camera frames, so colours survive the round trip into a canvas.

use image::RgbImage;
use std::io::Write;

#[derive(Debug, thiserror::Error)]
pub enum Y4mError {
    #[error("frame is {got:?}, the stream is {want:?}")]
    SizeMismatch { got: (u32, u32), want: (u32, u32) },
    #[error("width, height and frame rate must be positive")]
    BadHeader,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

pub struct Y4mWriter<W: Write> {
    out: W,
    width: u32,
    height: u32,
    frames: u64,
}

/// One frame in planar 4:2:0.
#[derive(Debug, Clone, PartialEq)]
pub struct Yuv420 {
    pub y: Vec<u8>,
    pub u: Vec<u8>,
    pub v: Vec<u8>,
}

fn clamp_u8(x: f64) -> u8 {
    x.round().clamp(0.0, 255.0) as u8
}

/// BT.601 limited-range conversion with 2×2 averaged chroma.
pub fn rgb_to_yuv420(img: &RgbImage) -> Yuv420 {
    let (w, h) = img.dimensions();
    let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
    let mut y = Vec::with_capacity((w * h) as usize);
    for p in img.pixels() {
        let [r, g, b] = p.0.map(f64::from);
        y.push(clamp_u8(
            16.0 + (65.481 * r + 128.553 * g + 24.966 * b) / 255.0,
        ));
    }
    let mut u = Vec::with_capacity((cw * ch) as usize);
    let mut v = Vec::with_capacity((cw * ch) as usize);
    for cy in 0..ch {
        for cx in 0..cw {
            let (mut r, mut g, mut b, mut n) = (0.0, 0.0, 0.0, 0.0);
            for yy in (2 * cy)..(2 * cy + 2).min(h) {
                for xx in (2 * cx)..(2 * cx + 2).min(w) {
                    let [pr, pg, pb] = img.get_pixel(xx, yy).0.map(f64::from);
                    r += pr;
                    g += pg;
                    b += pb;
                    n += 1.0;
                }
            }
            let (r, g, b) = (r / n, g / n, b / n);
            u.push(clamp_u8(
                128.0 + (-37.797 * r - 74.203 * g + 112.0 * b) / 255.0,
            ));
            v.push(clamp_u8(
                128.0 + (112.0 * r - 93.786 * g - 18.214 * b) / 255.0,
            ));
        }
    }
    Yuv420 { y, u, v }
}

impl<W: Write> Y4mWriter<W> {
    /// Writes the stream header. `fps` is `num/den` frames per second.
    pub fn new(mut out: W, width: u32, height: u32, fps: (u32, u32)) -> Result<Self, Y4mError> {
        if width == 0 || height == 0 || fps.0 == 0 || fps.1 == 0 {
            return Err(Y4mError::BadHeader);
        }
        writeln!(
            out,
            "YUV4MPEG2 W{width} H{height} F{}:{} Ip A1:1 C420jpeg",
            fps.0, fps.1
        )?;
        Ok(Self {
            out,
            width,
            height,
            frames: 0,
        })
    }

    pub fn write_frame(&mut self, frame: &RgbImage) -> Result<(), Y4mError> {
        if frame.dimensions() != (self.width, self.height) {
            return Err(Y4mError::SizeMismatch {
                got: frame.dimensions(),
                want: (self.width, self.height),
            });
        }
        let yuv = rgb_to_yuv420(frame);
        self.out.write_all(b"FRAME\n")?;
        self.out.write_all(&yuv.y)?;
        self.out.write_all(&yuv.u)?;
        self.out.write_all(&yuv.v)?;
        self.frames += 1;
        Ok(())
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn finish(mut self) -> Result<W, Y4mError> {
        self.out.flush()?;
        Ok(self.out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_layout_is_header_then_frame_planes() {
        let (w, h) = (6u32, 4u32);
        let white = RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]));
        let black = RgbImage::from_pixel(w, h, image::Rgb([0, 0, 0]));
        let mut wr = Y4mWriter::new(Vec::new(), w, h, (15, 1)).unwrap();
        wr.write_frame(&white).unwrap();
        wr.write_frame(&black).unwrap();
        assert_eq!(wr.frames(), 2);
        let bytes = wr.finish().unwrap();
        let header = b"YUV4MPEG2 W6 H4 F15:1 Ip A1:1 C420jpeg\n";
        assert!(bytes.starts_with(header));
        let frame_len = 6 + 24 + 2 * 6; // "FRAME\n", Y, U, V (3×2 chroma)
        assert_eq!(bytes.len(), header.len() + 2 * frame_len);
        let f0 = &bytes[header.len()..header.len() + frame_len];
        assert_eq!(&f0[..6], b"FRAME\n");
        assert!(f0[6..30].iter().all(|&b| b == 235), "white is Y 235");
        assert!(f0[30..].iter().all(|&b| b == 128), "grey chroma");
        let f1 = &bytes[header.len() + frame_len..];
        assert_eq!(&f1[..6], b"FRAME\n");
        assert!(f1[6..30].iter().all(|&b| b == 16), "black is Y 16");
    }

    #[test]
    fn chroma_is_the_mean_of_each_2x2_block_and_odd_sizes_round_up() {
        // 3×3: chroma 2×2; the left 2×2 block is pure red, the rest blue.
        let img = RgbImage::from_fn(3, 3, |x, y| {
            if x < 2 && y < 2 {
                image::Rgb([255, 0, 0])
            } else {
                image::Rgb([0, 0, 255])
            }
        });
        let yuv = rgb_to_yuv420(&img);
        assert_eq!(yuv.y.len(), 9);
        assert_eq!((yuv.u.len(), yuv.v.len()), (4, 4));
        // BT.601 limited range: red = (81, 90, 240), blue = (41, 240, 110).
        assert_eq!((yuv.y[0], yuv.u[0], yuv.v[0]), (81, 90, 240));
        assert_eq!((yuv.y[8], yuv.u[3], yuv.v[3]), (41, 240, 110));
        let mut wr = Y4mWriter::new(Vec::new(), 3, 3, (10, 1)).unwrap();
        assert!(matches!(
            wr.write_frame(&RgbImage::new(4, 4)),
            Err(Y4mError::SizeMismatch { .. })
        ));
        assert!(Y4mWriter::new(Vec::new(), 0, 3, (10, 1)).is_err());
    }
}
