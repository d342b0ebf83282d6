//! The subset of ESC/POS this crate emits, as bytes (for the printer) and as a sans-IO
//! parser (for the simulator and the renderer): bytes in, [`Op`]s out.
//!
//! Text is GB18030 while Chinese mode is on (`FS &`, how Chinese printers are told to take
//! double- and four-byte characters), single bytes otherwise. A GB18030 character never
//! contains a byte below 0x30, so a text run always ends at a control byte and a command
//! never splits a character.

use std::collections::VecDeque;

pub const LF: u8 = 0x0A;
pub const ESC: u8 = 0x1B;
pub const GS: u8 = 0x1D;
pub const FS: u8 = 0x1C;
pub const DLE: u8 = 0x10;
pub const EOT: u8 = 0x04;

/// Dots across the printable width of a 58 mm printer at 203 dpi.
pub const DOTS_PER_LINE: u32 = 384;
/// Font A cell: 12 dots wide for a single-byte character, 24 for a Chinese one; 24 high.
pub const HALF_WIDTH: u32 = 12;
pub const FULL_WIDTH: u32 = 24;
pub const CHAR_HEIGHT: u32 = 24;
/// Default line spacing (ESC 2: 1/6 inch is about 34 dots at 203 dpi; printers use 30).
pub const LINE_HEIGHT: u32 = 30;
/// Columns of half-width characters on one line at normal size.
pub const COLUMNS: usize = (DOTS_PER_LINE / HALF_WIDTH) as usize;

/// `ESC @`: initialise (clear the buffer, default modes).
pub const INIT: [u8; 2] = [ESC, b'@'];
/// `FS &`: Chinese character mode on.
pub const CHINESE_ON: [u8; 2] = [FS, b'&'];
/// `GS V 66 n`: feed n dots, then cut (partial cut).
pub const fn cut_after_feed(dots: u8) -> [u8; 4] {
    [GS, b'V', 66, dots]
}

/// Horizontal alignment (`ESC a n`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Align {
    #[default]
    Left,
    Center,
    Right,
}

pub fn align(a: Align) -> [u8; 3] {
    [
        ESC,
        b'a',
        match a {
            Align::Left => 0,
            Align::Center => 1,
            Align::Right => 2,
        },
    ]
}

/// `ESC E n`: emphasis (bold).
pub fn bold(on: bool) -> [u8; 3] {
    [ESC, b'E', u8::from(on)]
}

/// `GS ! n`: character size, 1 to 8 times in each direction.
pub fn size(width: u8, height: u8) -> [u8; 3] {
    let w = width.clamp(1, 8) - 1;
    let h = height.clamp(1, 8) - 1;
    [GS, b'!', (w << 4) | h]
}

/// `ESC d n`: print and feed n lines.
pub fn feed_lines(n: u8) -> [u8; 3] {
    [ESC, b'd', n]
}

/// QR error correction level (`GS ( k` function 169).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QrEcc {
    L,
    M,
    Q,
    H,
}

impl QrEcc {
    fn code(self) -> u8 {
        match self {
            QrEcc::L => 48,
            QrEcc::M => 49,
            QrEcc::Q => 50,
            QrEcc::H => 51,
        }
    }

    fn from_code(c: u8) -> Option<QrEcc> {
        Some(match c {
            48 => QrEcc::L,
            49 => QrEcc::M,
            50 => QrEcc::Q,
            51 => QrEcc::H,
            _ => return None,
        })
    }
}

fn gs_k(body: &[u8]) -> Vec<u8> {
    // pL pH count cn (49 = QR) and what follows it.
    let n = u16::try_from(body.len()).unwrap_or(u16::MAX);
    let mut v = vec![GS, b'(', b'k', (n & 0xFF) as u8, (n >> 8) as u8];
    v.extend_from_slice(&body[..usize::from(n)]);
    v
}

/// The printer's own QR code (`GS ( k`): model 2, `module` dots per module, the given error
/// correction, store `data`, print. At most 7089 bytes of data (the printer's limit is lower
/// in practice; a tracking number is 16).
pub fn qr(data: &[u8], module: u8, ecc: QrEcc) -> Vec<u8> {
    let mut v = Vec::with_capacity(data.len() + 40);
    v.extend(gs_k(&[49, 65, 50, 0])); // fn 165: model 2
    v.extend(gs_k(&[49, 67, module.clamp(1, 16)])); // fn 167: module size
    v.extend(gs_k(&[49, 69, ecc.code()])); // fn 169: error correction
    let mut store = vec![49, 80, 48]; // fn 180: store data
    store.extend_from_slice(data);
    v.extend(gs_k(&store));
    v.extend(gs_k(&[49, 81, 48])); // fn 181: print
    v
}

/// Text in GB18030 (every Unicode scalar has a GB18030 code, so this cannot fail). Control
/// characters other than LF become spaces so text can never smuggle a command in.
pub fn gb18030(text: &str) -> Vec<u8> {
    let clean: String = text
        .chars()
        .map(|c| if c.is_control() && c != '\n' { ' ' } else { c })
        .collect();
    let (bytes, _, _) = encoding_rs::GB18030.encode(&clean);
    bytes.into_owned()
}

/// Columns a character takes at normal size: 1 for ASCII, 2 for anything the printer
/// prints from its double-byte font.
pub fn columns(c: char) -> usize {
    if c.is_ascii() { 1 } else { 2 }
}

/// What the parser recognises.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Op {
    /// Printable bytes, in the encoding in force (GB18030 in Chinese mode).
    Text(Vec<u8>),
    LineFeed,
    /// `ESC d n`
    FeedLines(u8),
    Init,
    Align(Align),
    Bold(bool),
    /// `GS ! n`: multipliers 1..=8.
    Size {
        width: u8,
        height: u8,
    },
    /// `FS &` (true) / `FS .` (false).
    Chinese(bool),
    QrModel(u8),
    QrModule(u8),
    QrEcc(QrEcc),
    QrStore(Vec<u8>),
    QrPrint,
    /// `GS V`: the end of a receipt.
    Cut,
    /// `DLE EOT n`: a real-time status request.
    StatusQuery(u8),
    /// A command outside our subset (kept whole, so the stream stays in step).
    Other(Vec<u8>),
}

/// A streaming parser of the subset: push bytes as they arrive, poll ops.
#[derive(Debug, Default)]
pub struct Parser {
    buf: Vec<u8>,
    ops: VecDeque<(Op, Vec<u8>)>,
}

impl Parser {
    pub fn new() -> Parser {
        Parser::default()
    }

    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        let mut at = 0;
        while let Some((op, used)) = parse_one(&self.buf[at..]) {
            self.ops.push_back((op, self.buf[at..at + used].to_vec()));
            at += used;
        }
        self.buf.drain(..at);
    }

    pub fn poll(&mut self) -> Option<Op> {
        self.ops.pop_front().map(|(op, _)| op)
    }

    /// The next op with the bytes it was made of.
    pub fn poll_with_bytes(&mut self) -> Option<(Op, Vec<u8>)> {
        self.ops.pop_front()
    }

    /// The stream ended: trailing text is complete; an unfinished command is returned as
    /// [`Op::Other`].
    pub fn finish(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let rest = std::mem::take(&mut self.buf);
        let op = if rest[0] >= 0x20 {
            Op::Text(rest.clone())
        } else {
            Op::Other(rest.clone())
        };
        self.ops.push_back((op, rest));
    }

    /// Bytes waiting for the rest of a command or text run.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

/// Parse everything of `bytes` at once.
pub fn parse_all(bytes: &[u8]) -> Vec<Op> {
    let mut p = Parser::new();
    p.push(bytes);
    p.finish();
    std::iter::from_fn(|| p.poll()).collect()
}

/// One op from the start of `b`, with the bytes it used; `None` when more bytes are needed.
fn parse_one(b: &[u8]) -> Option<(Op, usize)> {
    let first = *b.first()?;
    if first >= 0x20 {
        let end = b.iter().position(|&x| x < 0x20)?;
        return Some((Op::Text(b[..end].to_vec()), end));
    }
    let other = |n: usize| Some((Op::Other(b[..n].to_vec()), n));
    match first {
        LF => Some((Op::LineFeed, 1)),
        ESC => {
            let cmd = *b.get(1)?;
            match cmd {
                b'@' => Some((Op::Init, 2)),
                b'a' | b'E' | b'd' | b'!' | b'3' | b'-' | b'J' | b'M' | b't' | b'R' => {
                    let n = *b.get(2)?;
                    let op = match cmd {
                        b'a' => Op::Align(match n {
                            1 | b'1' => Align::Center,
                            2 | b'2' => Align::Right,
                            _ => Align::Left,
                        }),
                        b'E' => Op::Bold(n & 1 == 1),
                        b'd' => Op::FeedLines(n),
                        _ => return other(3),
                    };
                    Some((op, 3))
                }
                _ => other(2),
            }
        }
        GS => {
            let cmd = *b.get(1)?;
            match cmd {
                b'!' => {
                    let n = *b.get(2)?;
                    Some((
                        Op::Size {
                            width: (n >> 4) + 1,
                            height: (n & 0x0F) + 1,
                        },
                        3,
                    ))
                }
                b'V' => {
                    let m = *b.get(2)?;
                    let len = if matches!(m, 65 | 66 | 97 | 98 | 103 | 104) {
                        4
                    } else {
                        3
                    };
                    if b.len() < len {
                        return None;
                    }
                    Some((Op::Cut, len))
                }
                b'(' => {
                    let kind = *b.get(2)?;
                    let (pl, ph) = (*b.get(3)?, *b.get(4)?);
                    let len = 5 + usize::from(pl) + 256 * usize::from(ph);
                    if b.len() < len {
                        return None;
                    }
                    let body = &b[5..len];
                    if kind != b'k' || body.len() < 2 || body[0] != 49 {
                        return other(len);
                    }
                    let arg = body.get(2).copied();
                    let op = match (body[1], arg) {
                        (65, Some(m)) => Op::QrModel(m),
                        (67, Some(m)) => Op::QrModule(m),
                        (69, Some(e)) => match QrEcc::from_code(e) {
                            Some(e) => Op::QrEcc(e),
                            None => return other(len),
                        },
                        (80, Some(48)) => Op::QrStore(body[3..].to_vec()),
                        (81, _) => Op::QrPrint,
                        _ => return other(len),
                    };
                    Some((op, len))
                }
                b'B' | b'h' | b'w' | b'H' | b'f' => {
                    b.get(2)?;
                    other(3)
                }
                _ => other(2),
            }
        }
        FS => match *b.get(1)? {
            b'&' => Some((Op::Chinese(true), 2)),
            b'.' => Some((Op::Chinese(false), 2)),
            _ => other(2),
        },
        DLE => match *b.get(1)? {
            EOT => Some((Op::StatusQuery(*b.get(2)?), 3)),
            _ => other(2),
        },
        _ => other(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ops_come_out_the_same_however_the_bytes_are_split() {
        let mut bytes = Vec::new();
        bytes.extend(INIT);
        bytes.extend(CHINESE_ON);
        bytes.extend(align(Align::Center));
        bytes.extend(size(2, 2));
        bytes.extend(gb18030("阿䶮 No.1"));
        bytes.push(LF);
        bytes.extend(qr(b"261125-ABCD-EFGH", 6, QrEcc::M));
        bytes.extend([DLE, EOT, 4]);
        bytes.extend(feed_lines(3));
        bytes.extend(cut_after_feed(0));
        let want = vec![
            Op::Init,
            Op::Chinese(true),
            Op::Align(Align::Center),
            Op::Size {
                width: 2,
                height: 2,
            },
            Op::Text(gb18030("阿䶮 No.1")),
            Op::LineFeed,
            Op::QrModel(50),
            Op::QrModule(6),
            Op::QrEcc(QrEcc::M),
            Op::QrStore(b"261125-ABCD-EFGH".to_vec()),
            Op::QrPrint,
            Op::StatusQuery(4),
            Op::FeedLines(3),
            Op::Cut,
        ];
        assert_eq!(parse_all(&bytes), want);
        for step in [1, 2, 3, 7] {
            let mut p = Parser::new();
            let mut got = Vec::new();
            for chunk in bytes.chunks(step) {
                p.push(chunk);
                got.extend(std::iter::from_fn(|| p.poll()));
            }
            p.finish();
            got.extend(std::iter::from_fn(|| p.poll()));
            assert_eq!(got, want, "split every {step} bytes");
        }
    }

    #[test]
    fn a_name_outside_gb2312_round_trips_through_gb18030() {
        // 䶮 (U+4DAE, CJK Ext-A) in GB18030; 阿 is a two-byte GBK character.
        let b = gb18030("阿䶮");
        let (back, _, bad) = encoding_rs::GB18030.decode(&b);
        assert!(!bad);
        assert_eq!(back, "阿䶮");
        assert!(b.iter().all(|&x| x >= 0x30), "{b:02X?}");
    }

    /// Byte soup rich in the prefixes of our commands (plain random bytes rarely are).
    fn soup() -> impl proptest::strategy::Strategy<Value = Vec<u8>> {
        use proptest::prelude::*;
        let piece = prop_oneof![
            any::<u8>().prop_map(|b| vec![b]),
            Just(vec![ESC]),
            Just(vec![GS, b'(', b'k']),
            Just(vec![GS, b'(', b'k', 4, 0, 49, 80, 48]),
            Just(vec![GS, b'!']),
            Just(vec![GS, b'V', 66]),
            Just(vec![DLE, EOT]),
            Just(vec![FS, b'&']),
            Just(gb18030("䶮字")),
        ];
        proptest::collection::vec(piece, 0..120).prop_map(|v| v.concat())
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_parse_the_same_in_two_pieces(bytes in soup(), cut in 0usize..400) {
            let cut = cut.min(bytes.len());
            let mut p = Parser::new();
            p.push(&bytes[..cut]);
            let mut got: Vec<Op> = std::iter::from_fn(|| p.poll()).collect();
            p.push(&bytes[cut..]);
            p.finish();
            got.extend(std::iter::from_fn(|| p.poll()));
            proptest::prop_assert_eq!(got, parse_all(&bytes));
        }

        #[test]
        fn any_bytes_render_without_panic(bytes in soup()) {
            let img = crate::render(&bytes);
            proptest::prop_assert_eq!(img.width, DOTS_PER_LINE);
            proptest::prop_assert_eq!(img.dots.len(), (img.width * img.height) as usize);
        }
    }

    #[test]
    fn control_characters_in_text_cannot_become_commands() {
        let ops = parse_all(&gb18030("a\u{1b}@b\u{1d}V"));
        assert_eq!(ops, vec![Op::Text(b"a @b V".to_vec())]);
    }
}
