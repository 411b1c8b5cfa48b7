//! dlib's `compress_stream::kernel_1ea` decoder (plus the base64 and CRC-32 it relies on).
//!
//! dlib ships its HOG frontal face detector inside `frontal_face_detector.h` as a base64
//! string of data compressed with `compress_stream::kernel_1ea`: an order-4 PPM model
//! (`entropy_decoder_model_kernel_5<257, ..., 200000, 4>`, escape method D with Shkarin's
//! information inheritance) driving the 32-bit arithmetic decoder `entropy_decoder_kernel_2`,
//! with a CRC-32 of the plain bytes at the end. This is a bit-faithful port of those classes
//! (including their 16-bit counter wrap-around), used to regenerate
//! `models/frontal_face_detector.dat` from dlib's header:
//!
//! ```text
//! cargo run -p faceid-dlib-format --example extract_frontal_face_detector -- \
//!     <dlib>/dlib/image_processing/frontal_face_detector.h models/frontal_face_detector.dat
//! ```
//!
//! Input is untrusted: every failure is a [`CompressError`], never a panic, and the output
//! size is capped.

/// What can go wrong while decoding.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CompressError {
    #[error("invalid base64 character {0:#04x}")]
    Base64Char(u8),
    #[error("base64 text ends in the middle of a group")]
    Base64Length,
    #[error("corrupt compressed stream: {0}")]
    Corrupt(&'static str),
    #[error("checksum mismatch: stored {stored:#010x}, computed {computed:#010x}")]
    Checksum { stored: u32, computed: u32 },
    #[error("decompressed output exceeds {0} bytes")]
    TooLarge(usize),
    #[error("no base64 string literal found in the source text")]
    NoLiteral,
}

pub type Result<T> = std::result::Result<T, CompressError>;

/// Upper bound on decompressed output (the face detector is ~1 MB).
pub const MAX_OUTPUT: usize = 64 << 20;

// ---------------------------------------------------------------------------------------
// base64 (dlib::base64, standard alphabet)

/// Decodes standard base64, ignoring ASCII whitespace; `=` padding is accepted at the end.
pub fn base64_decode(text: &[u8]) -> Result<Vec<u8>> {
    fn value(b: u8) -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let mut acc = 0u32;
    let mut n = 0u32;
    let mut padding = 0usize;
    for &b in text {
        if b.is_ascii_whitespace() {
            continue;
        }
        if b == b'=' {
            padding += 1;
            continue;
        }
        if padding > 0 {
            // Data after padding.
            return Err(CompressError::Base64Char(b));
        }
        let v = value(b).ok_or(CompressError::Base64Char(b))?;
        acc = (acc << 6) | v;
        n += 1;
        if n == 4 {
            out.extend_from_slice(&[(acc >> 16) as u8, (acc >> 8) as u8, acc as u8]);
            acc = 0;
            n = 0;
        }
    }
    match n {
        0 => {}
        2 => out.push((acc >> 4) as u8),
        3 => out.extend_from_slice(&[(acc >> 10) as u8, (acc >> 2) as u8]),
        _ => return Err(CompressError::Base64Length),
    }
    Ok(out)
}

/// Concatenates the C++ string literals of a `sout << "...";` block (as in
/// `frontal_face_detector.h`) and base64-decodes them. Only literals made of base64
/// characters are taken, so comments and other strings in the header are skipped.
pub fn base64_from_cpp_source(src: &str) -> Result<Vec<u8>> {
    let mut text = String::new();
    for line in src.lines() {
        let line = line.trim();
        let Some(rest) = line.strip_prefix("sout << \"") else {
            continue;
        };
        let Some(lit) = rest.strip_suffix("\";") else {
            continue;
        };
        if lit
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'=')
        {
            text.push_str(lit);
        }
    }
    if text.is_empty() {
        return Err(CompressError::NoLiteral);
    }
    base64_decode(text.as_bytes())
}

// ---------------------------------------------------------------------------------------
// CRC-32 (dlib::crc32::kernel_1a = the usual reflected 0xEDB88320 CRC)

const fn crc_table() -> [u32; 256] {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                (c >> 1) ^ 0xEDB8_8320
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
}

static CRC_TABLE: [u32; 256] = crc_table();

/// CRC-32 of `data` (same value as dlib's `crc32::get_checksum()`).
pub fn crc32(data: &[u8]) -> u32 {
    !data.iter().fold(0xFFFF_FFFFu32, |crc, &b| {
        (crc >> 8) ^ CRC_TABLE[((crc ^ b as u32) & 0xFF) as usize]
    })
}

// ---------------------------------------------------------------------------------------
// entropy_decoder_kernel_2: 32-bit range decoder

struct RangeDecoder<'a> {
    data: &'a [u8],
    pos: usize,
    low: u32,
    high: u32,
    target: u32,
    r: u32,
}

impl<'a> RangeDecoder<'a> {
    fn new(data: &'a [u8]) -> Self {
        let mut d = Self {
            data,
            pos: 0,
            low: 1,
            high: 0xFFFF_FFFF,
            target: 0,
            r: 0,
        };
        for _ in 0..4 {
            // dlib stops adding bytes at the end of the stream (missing bytes act as 0).
            d.target = (d.target << 8) | d.next_byte() as u32;
        }
        d
    }

    fn next_byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }

    fn get_target(&mut self, total: u32) -> Result<u32> {
        if total == 0 {
            return Err(CompressError::Corrupt("zero total count"));
        }
        self.r = self.high.wrapping_sub(self.low).wrapping_add(1) / total;
        if self.r == 0 {
            return Err(CompressError::Corrupt("range underflow"));
        }
        let temp = self.target.wrapping_sub(self.low) / self.r;
        Ok(if temp < total { temp } else { total - 1 })
    }

    fn decode(&mut self, low_count: u32, high_count: u32) {
        self.high = self
            .low
            .wrapping_add(self.r.wrapping_mul(high_count))
            .wrapping_sub(1);
        self.low = self.low.wrapping_add(self.r.wrapping_mul(low_count));
        self.r = 0;
        loop {
            if (self.high & 0xFF00_0000) != (self.low & 0xFF00_0000) {
                let span = self.high.wrapping_sub(self.low);
                if span < 0x10000 {
                    self.high >>= 1;
                    self.low >>= 1;
                    let mid = self.high.wrapping_add(self.low);
                    if span > 0x1000 {
                        self.high = mid.wrapping_add(0xFF);
                        self.low = mid.wrapping_sub(0xFF);
                    } else {
                        self.high = mid;
                        self.low = mid;
                    }
                } else {
                    break;
                }
            } else {
                let buf = self.next_byte();
                self.target <<= 8;
                self.high = (self.high << 8) | 0xFF;
                self.low <<= 8;
                if self.low == 0 {
                    self.low = 1;
                }
                self.target |= buf as u32;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// entropy_decoder_model_kernel_5<257, _, 200000, 4>: PPM model

const ALPHABET: u32 = 257;
const TOTAL_NODES: u32 = 200_000;
const ORDER: u32 = 4;
/// Index 0 plays C++'s null pointer; the root is index 1 (`root + k` = index `1 + k`).
const NIL: u32 = 0;
const ROOT: u32 = 1;

#[derive(Clone, Copy, Default)]
struct Node {
    next: u32,
    child: u32,
    parent: u32,
    symbol: u16,
    count: u16,
    total: u16,
    escapes: u16,
}

struct PpmModel {
    nodes: Vec<Node>,
    next_node: u32,
    cur: u32,
    cur_order: u32,
    exc: [u32; (ALPHABET / 32 + 1) as usize],
    exc_used: bool,
    stack: Vec<(u32, u32)>,
}

impl PpmModel {
    fn new() -> Self {
        Self {
            nodes: vec![Node::default(); (TOTAL_NODES + 1) as usize],
            next_node: 1,
            cur: ROOT,
            cur_order: 0,
            exc: [0; (ALPHABET / 32 + 1) as usize],
            exc_used: false,
            stack: Vec::with_capacity(ORDER as usize + 1),
        }
    }

    fn clear(&mut self) {
        self.next_node = 1;
        let root = &mut self.nodes[ROOT as usize];
        root.child = NIL;
        root.escapes = 0;
        root.total = 0;
        self.cur = ROOT;
        self.cur_order = 0;
        self.stack.clear();
        self.clear_exclusions();
    }

    fn n(&mut self, i: u32) -> &mut Node {
        // Indices come from the arena itself (never from the input), so they are in range.
        &mut self.nodes[i as usize]
    }

    fn space_left(&self) -> bool {
        self.next_node < TOTAL_NODES
    }

    fn allocate_node(&mut self) -> u32 {
        let i = ROOT + self.next_node;
        self.next_node += 1;
        i
    }

    fn exclude(&mut self, symbol: u16) {
        self.exc_used = true;
        self.exc[(symbol >> 5) as usize % self.exc.len()] |= 1 << (symbol & 0x1F);
    }

    fn is_excluded(&self, symbol: u16) -> bool {
        self.exc[(symbol >> 5) as usize % self.exc.len()] & (1 << (symbol & 0x1F)) != 0
    }

    fn clear_exclusions(&mut self) {
        self.exc_used = false;
        self.exc = [0; (ALPHABET / 32 + 1) as usize];
    }

    fn scale_counts(&mut self, t: u32) {
        let node = self.n(t);
        if node.escapes > 1 {
            node.escapes >>= 1;
        }
        node.total = node.escapes;
        let mut n = node.child;
        while n != NIL {
            let c = {
                let nn = self.n(n);
                if nn.count > 1 {
                    nn.count >>= 1;
                }
                nn.count
            };
            let tt = self.n(t);
            tt.total = tt.total.wrapping_add(c);
            n = self.n(n).next;
        }
    }

    /// Allocates the next node of the escape chain (`new_node->parent_context` links).
    fn chain_new_node(&mut self, new_node: u32) -> u32 {
        let a = self.allocate_node();
        if new_node != NIL {
            self.n(new_node).parent = a;
        }
        a
    }

    fn decode(&mut self, coder: &mut RangeDecoder) -> Result<u32> {
        let mut temp = self.cur;
        self.cur = NIL;
        let mut new_node = NIL;
        let mut local_order = self.cur_order;
        // c = t(a|s_k), t = T(s_k): the counts used by information inheritance.
        let (c, t): (u16, u16);
        let symbol: u32;

        if self.exc_used {
            self.clear_exclusions();
        }

        loop {
            let mut high_count: u32 = 0;
            if !self.space_left() {
                self.clear();
                temp = self.cur;
                local_order = self.cur_order;
                self.cur = NIL;
                new_node = NIL;
                continue;
            }
            let mut total_count = self.n(temp).total as u32;
            if total_count > 0 {
                if total_count > 10000 {
                    self.scale_counts(temp);
                    total_count = self.n(temp).total as u32;
                }
                if self.exc_used {
                    let mut n = self.n(temp).child;
                    total_count = self.n(temp).escapes as u32;
                    loop {
                        let node = self.nodes[n as usize];
                        if !self.is_excluded(node.symbol) {
                            total_count += node.count as u32;
                        }
                        if node.next == NIL {
                            break;
                        }
                        n = node.next;
                    }
                }

                let target = coder.get_target(total_count)?;

                let mut n = self.n(temp).child;
                let mut last = NIL;
                loop {
                    let node = self.nodes[n as usize];
                    if !self.is_excluded(node.symbol) {
                        high_count += node.count as u32;
                        self.exclude(node.symbol);
                    }
                    if high_count > target || node.next == NIL {
                        break;
                    }
                    last = n;
                    n = node.next;
                }

                if high_count > target {
                    let low_count = high_count - self.n(n).count as u32;
                    if new_node != NIL {
                        self.n(new_node).parent = n;
                    }
                    symbol = self.n(n).symbol as u32;
                    coder.decode(low_count, high_count);
                    let nn = self.n(n);
                    nn.count = nn.count.wrapping_add(8);
                    c = nn.count;
                    let tt = self.n(temp);
                    tt.total = tt.total.wrapping_add(8);
                    t = tt.total;

                    // Move to front.
                    if last != NIL {
                        let n_next = self.n(n).next;
                        self.n(last).next = n_next;
                        let first = self.n(temp).child;
                        self.n(n).next = first;
                        self.n(temp).child = n;
                    }

                    if self.cur == NIL {
                        if local_order < ORDER {
                            self.cur_order = local_order + 1;
                            self.cur = n;
                        } else {
                            self.cur = self.n(n).parent;
                            self.cur_order = local_order;
                        }
                    }
                    break;
                } else {
                    new_node = self.chain_new_node(new_node);
                    self.n(n).next = new_node;
                    coder.decode(high_count, total_count);
                }
            } else {
                new_node = self.chain_new_node(new_node);
                self.n(temp).child = new_node;
            }

            if self.cur == NIL && local_order < ORDER {
                self.cur = new_node;
                self.cur_order = local_order + 1;
            }

            {
                let nn = self.n(new_node);
                nn.child = NIL;
                nn.escapes = 0;
                nn.next = NIL;
                nn.total = 0;
            }
            if self.stack.len() > ORDER as usize {
                return Err(CompressError::Corrupt("context stack overflow"));
            }
            self.stack.push((new_node, temp));

            if temp != ROOT {
                temp = self.n(temp).parent;
                local_order = local_order.wrapping_sub(1);
                continue;
            }

            // Escaped down to order -1: the symbol is coded uniformly.
            t = 2056;
            c = 8;
            let target = coder.get_target(ALPHABET)?;
            self.n(new_node).parent = ROOT;
            coder.decode(target, target + 1);
            symbol = target;
            if self.cur == NIL {
                self.cur = ROOT;
                self.cur_order = 0;
            }
            break;
        }

        // Give the new nodes their initial counts (information inheritance).
        while let Some((n, nc)) = self.stack.pop() {
            self.n(n).symbol = symbol as u16;
            let ncn = self.nodes[nc as usize];
            if ncn.total != 0 {
                // C++: int arithmetic converted to unsigned long (sign-extended).
                let temp2 = (t as i64 - c as i64 + ncn.total as i64
                    - ncn.escapes as i64
                    - ncn.escapes as i64) as u64;
                let mut tmp = (ncn.total as u64 * c as u64) / (temp2 | 1) + 2;
                if tmp > 50000 {
                    tmp = 50000;
                }
                self.n(n).count = tmp as u16;
                let ncm = self.n(nc);
                ncm.escapes = ncm.escapes.wrapping_add(4);
                ncm.total = ncm.total.wrapping_add((tmp as u16).wrapping_add(4));
            } else {
                let denom = t as i32 - c as i32;
                if denom == 0 {
                    return Err(CompressError::Corrupt("division by zero in model"));
                }
                let count = (3 + 5 * c as i32 / denom) as u16;
                self.n(n).count = count;
                let ncm = self.n(nc);
                ncm.escapes = 4;
                ncm.total = count.wrapping_add(4);
            }
            while self.n(nc).total > 10000 {
                self.scale_counts(nc);
            }
        }
        Ok(symbol)
    }
}

// ---------------------------------------------------------------------------------------
// compress_stream_kernel_1::decompress

const EOF_SYMBOL: u32 = 256;

/// Decompresses a `dlib::compress_stream::kernel_1ea` stream.
pub fn decompress_kernel_1ea(data: &[u8]) -> Result<Vec<u8>> {
    let mut coder = RangeDecoder::new(data);
    let mut model = PpmModel::new();
    let mut out = Vec::new();
    let mut count = 0u32;
    loop {
        // Every 20000 symbols the encoder inserts a fixed marker; check and skip it.
        if count == 20000 {
            if coder.get_target(8000)? != 1500 {
                return Err(CompressError::Corrupt("missing sync marker"));
            }
            count = 0;
            coder.decode(1500, 1501);
        }
        count += 1;
        let symbol = model.decode(&mut coder)?;
        if symbol != EOF_SYMBOL {
            if out.len() >= MAX_OUTPUT {
                return Err(CompressError::TooLarge(MAX_OUTPUT));
            }
            out.push(symbol as u8);
            if coder.pos > data.len() + 8 {
                // Far past the end of the input: the stream is truncated or garbage.
                return Err(CompressError::Corrupt("stream truncated"));
            }
            continue;
        }
        let mut stored = 0u32;
        for _ in 0..4 {
            stored = (stored << 8) | (model.decode(&mut coder)? & 0xFF);
        }
        let computed = crc32(&out);
        if stored != computed {
            return Err(CompressError::Checksum { stored, computed });
        }
        return Ok(out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_roundtrip_known_values() {
        assert_eq!(base64_decode(b"TWFu").unwrap(), b"Man");
        assert_eq!(base64_decode(b"TWE=").unwrap(), b"Ma");
        assert_eq!(base64_decode(b"TQ==").unwrap(), b"M");
        assert_eq!(base64_decode(b"TW\nFu").unwrap(), b"Man");
        assert!(base64_decode(b"T").is_err());
        assert!(base64_decode(b"TW*u").is_err());
    }

    #[test]
    fn crc32_check_value() {
        // The standard CRC-32 check value.
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
    }

    /// The committed `models/frontal_face_detector.dat` must be what this decoder extracts
    /// from dlib's header (checked when `FACEID_DLIB_SRC` points to a dlib checkout; the
    /// file was also checked to equal `dlib.get_frontal_face_detector().save()` byte for
    /// byte).
    #[test]
    fn committed_detector_matches_dlib_header() {
        let Ok(dlib) = std::env::var("FACEID_DLIB_SRC") else {
            return;
        };
        let header =
            std::path::Path::new(&dlib).join("dlib/image_processing/frontal_face_detector.h");
        let src = std::fs::read_to_string(header).expect("read dlib header");
        let compressed = base64_from_cpp_source(&src).unwrap();
        let raw = decompress_kernel_1ea(&compressed).unwrap();
        let committed = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../models/frontal_face_detector.dat"),
        )
        .unwrap();
        assert_eq!(raw, committed);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut seed = 0x1234_5678u32;
        for len in [0usize, 1, 3, 4, 17, 100, 1000, 5000] {
            let data: Vec<u8> = (0..len)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    (seed >> 24) as u8
                })
                .collect();
            let result = decompress_kernel_1ea(&data);
            // Very short inputs can legitimately decode (an empty input decodes, as in
            // dlib, to an immediate end-of-stream with a zero CRC); longer garbage fails
            // the sync marker or the CRC.
            if len >= 17 {
                assert!(result.is_err(), "len {len}");
            }
        }
    }
}
