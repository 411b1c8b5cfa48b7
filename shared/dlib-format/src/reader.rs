//! Primitive values of dlib's `serialize.h`: compact integers, floats, bools, strings, tensors.

/// What can go wrong while reading a dlib file.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum Error {
    #[error("unexpected end of data at byte {offset} (needed {needed} more)")]
    Eof { offset: usize, needed: usize },
    #[error("bad compact integer control byte {byte:#04x} at byte {offset}")]
    BadInt { offset: usize, byte: u8 },
    #[error("integer {value} out of range for {what} at byte {offset}")]
    OutOfRange {
        offset: usize,
        what: &'static str,
        value: i128,
    },
    #[error("old ASCII float format at byte {offset} is not supported")]
    AsciiFloat { offset: usize },
    #[error("unexpected value at byte {offset}: {what}")]
    Unexpected { offset: usize, what: String },
}

pub type Result<T> = std::result::Result<T, Error>;

/// dlib's special float exponents (`float_details.h`).
const EXP_INF: i64 = 32000;
const EXP_NINF: i64 = 32001;
const EXP_NAN: i64 = 32002;

/// A cursor over a dlib-serialized byte buffer.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Current byte offset (for error messages).
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    pub fn is_empty(&self) -> bool {
        self.remaining() == 0
    }

    /// Builds an [`Error::Unexpected`] at the current offset.
    pub fn unexpected(&self, what: impl Into<String>) -> Error {
        Error::Unexpected {
            offset: self.pos,
            what: what.into(),
        }
    }

    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8]> {
        if n > self.remaining() {
            return Err(Error::Eof {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.bytes(1)?[0])
    }

    pub fn peek_u8(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    /// A compact integer: control byte (low nibble = byte count, 0x80 = negative), then
    /// the magnitude little-endian.
    pub fn int(&mut self) -> Result<i64> {
        let offset = self.pos;
        let control = self.u8()?;
        let size = (control & 0x0F) as usize;
        if size == 0 || size > 8 {
            return Err(Error::BadInt {
                offset,
                byte: control,
            });
        }
        let bytes = self.bytes(size)?;
        let magnitude = bytes
            .iter()
            .rev()
            .fold(0u64, |acc, &b| (acc << 8) | b as u64);
        let magnitude = i64::try_from(magnitude).map_err(|_| Error::OutOfRange {
            offset,
            what: "i64",
            value: magnitude as i128,
        })?;
        Ok(if control & 0x80 != 0 {
            -magnitude
        } else {
            magnitude
        })
    }

    /// A compact integer that must fit `T` (e.g. `u32`, `usize`, `i32`).
    pub fn int_as<T: TryFrom<i64>>(&mut self, what: &'static str) -> Result<T> {
        let offset = self.pos;
        let v = self.int()?;
        T::try_from(v).map_err(|_| Error::OutOfRange {
            offset,
            what,
            value: v as i128,
        })
    }

    /// A non-negative count, bounded by the bytes left so a corrupt length cannot make
    /// the caller allocate gigabytes (each element takes at least `min_bytes_each`).
    pub fn len(&mut self, min_bytes_each: usize) -> Result<usize> {
        let offset = self.pos;
        let n: usize = self.int_as("length")?;
        if n.saturating_mul(min_bytes_each.max(1)) > self.remaining() {
            return Err(Error::Eof {
                offset,
                needed: n.saturating_mul(min_bytes_each.max(1)),
            });
        }
        Ok(n)
    }

    /// A float/double: compact int64 mantissa, compact int16 exponent.
    pub fn f64(&mut self) -> Result<f64> {
        let offset = self.pos;
        match self.peek_u8() {
            Some(b) if b & 0x70 != 0 => return Err(Error::AsciiFloat { offset }),
            None => return Err(Error::Eof { offset, needed: 1 }),
            _ => {}
        }
        let mantissa = self.int()?;
        let exponent = self.int()?;
        Ok(match exponent {
            EXP_INF => f64::INFINITY,
            EXP_NINF => f64::NEG_INFINITY,
            EXP_NAN => f64::NAN,
            e if (-1100..=1100).contains(&e) => mantissa as f64 * 2f64.powi(e as i32),
            e => {
                return Err(Error::OutOfRange {
                    offset,
                    what: "float exponent",
                    value: e as i128,
                })
            }
        })
    }

    /// A `float`: dlib converts the (exact) double value to float.
    pub fn f32(&mut self) -> Result<f32> {
        Ok(self.f64()? as f32)
    }

    /// A bool: one ASCII byte `'0'` or `'1'`.
    pub fn bool(&mut self) -> Result<bool> {
        match self.u8()? {
            b'0' => Ok(false),
            b'1' => Ok(true),
            b => Err(Error::Unexpected {
                offset: self.pos - 1,
                what: format!("bool byte {b:#04x}"),
            }),
        }
    }

    /// A `std::string`: compact length, then the bytes.
    pub fn string(&mut self) -> Result<String> {
        let n = self.len(1)?;
        let bytes = self.bytes(n)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| self.unexpected("non-UTF-8 string"))
    }

    /// Reads a string and checks that it equals `expected`.
    pub fn expect_string(&mut self, expected: &str) -> Result<()> {
        let offset = self.pos;
        let s = self.string()?;
        if s == expected {
            Ok(())
        } else {
            Err(Error::Unexpected {
                offset,
                what: format!("expected {expected:?}, found {s:?}"),
            })
        }
    }

    /// A `dlib::tensor` (`resizable_tensor`): version 2, then n, k, r, c, then the raw
    /// little-endian `f32` values in NCHW order.
    pub fn tensor(&mut self) -> Result<Tensor> {
        let offset = self.pos;
        let version = self.int()?;
        if version != 2 {
            return Err(Error::Unexpected {
                offset,
                what: format!("tensor version {version}"),
            });
        }
        let mut dims = [0usize; 4];
        for d in &mut dims {
            *d = self.int_as("tensor dimension")?;
        }
        let count = dims
            .iter()
            .try_fold(1usize, |acc, &d| acc.checked_mul(d))
            .ok_or(Error::OutOfRange {
                offset,
                what: "tensor size",
                value: i128::MAX,
            })?;
        let bytes = self.bytes(count.checked_mul(4).ok_or(Error::Eof {
            offset,
            needed: usize::MAX,
        })?)?;
        let data = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        Ok(Tensor {
            n: dims[0],
            k: dims[1],
            nr: dims[2],
            nc: dims[3],
            data,
        })
    }

    /// A dlib `matrix<float/double>` (rows, cols as compact ints — dlib writes them negated
    /// for the "new" format — then the elements as compact floats), row-major.
    pub fn matrix(&mut self) -> Result<(usize, usize, Vec<f64>)> {
        let offset = self.pos;
        let r = self.int()?;
        let c = self.int()?;
        // dlib >= 18.x writes negative sizes to mark the new format.
        let (r, c) = (r.unsigned_abs() as usize, c.unsigned_abs() as usize);
        let count = r.checked_mul(c).ok_or(Error::OutOfRange {
            offset,
            what: "matrix size",
            value: i128::MAX,
        })?;
        // Each element takes at least two bytes. Saturating: rows × cols can be close to
        // `usize::MAX` in a corrupt file (found by cargo-fuzz, `model_parsers`).
        if count.saturating_mul(2) > self.remaining() {
            return Err(Error::Eof {
                offset,
                needed: count.saturating_mul(2),
            });
        }
        let mut v = Vec::with_capacity(count);
        for _ in 0..count {
            v.push(self.f64()?);
        }
        Ok((r, c, v))
    }
}

/// A dense NCHW float tensor as dlib stores it.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    pub n: usize,
    pub k: usize,
    pub nr: usize,
    pub nc: usize,
    pub data: Vec<f32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compact_ints() {
        assert_eq!(Reader::new(&[0x01, 0x00]).int(), Ok(0));
        assert_eq!(Reader::new(&[0x02, 0x34, 0x12]).int(), Ok(0x1234));
        assert_eq!(Reader::new(&[0x81, 0x05]).int(), Ok(-5));
        assert!(matches!(
            Reader::new(&[0x00]).int(),
            Err(Error::BadInt { .. })
        ));
        assert!(matches!(
            Reader::new(&[0x04, 1]).int(),
            Err(Error::Eof { .. })
        ));
    }

    #[test]
    fn floats() {
        // 3 * 2^-1 = 1.5
        assert_eq!(Reader::new(&[0x01, 3, 0x81, 1]).f64(), Ok(1.5));
        assert_eq!(
            Reader::new(&[0x01, 0, 0x02, 0x00, 0x7d]).f64(),
            Ok(f64::INFINITY)
        );
        assert!(matches!(
            Reader::new(b"1.5").f64(),
            Err(Error::AsciiFloat { .. })
        ));
    }

    #[test]
    fn huge_lengths_are_rejected_before_allocating() {
        let mut r = Reader::new(&[0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f]);
        assert!(r.len(1).is_err());
        let t = [
            0x01, 2, 0x04, 0xff, 0xff, 0xff, 0x7f, 0x01, 1, 0x01, 1, 0x01, 1,
        ];
        assert!(Reader::new(&t).tensor().is_err());
    }
}
