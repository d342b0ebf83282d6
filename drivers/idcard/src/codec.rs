//! The GA 467 SAM frame codec: bytes in, frames out. No I/O and no clock: the time of
//! arrival is an input (`now`), so tests and the fuzzer drive it exactly.
//!
//! A frame is `AA AA AA 96 69 | Len1 Len2 | body… | CHK`, where the big-endian length counts
//! the body and the checksum, and CHK is the XOR of the two length bytes and the body.
//! A command body is `CMD Para Data…`; a response body is `SW1 SW2 SW3 Data…`.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

/// The five bytes in front of every frame: three sync bytes and the frame start `96 69`.
pub const PREAMBLE: [u8; 5] = [0xAA, 0xAA, 0xAA, 0x96, 0x69];

/// Bytes of a frame that are not counted by its length field (preamble + length).
pub const HEADER_LEN: usize = 7;

/// The smallest command length (CMD + Para + CHK).
pub const MIN_COMMAND_LEN: u16 = 3;
/// The largest command length a SAM accepts (the simulator answers 11 above it).
pub const MAX_COMMAND_LEN: u16 = 1024;
/// The smallest response length (SW1 SW2 SW3 + CHK).
pub const MIN_RESPONSE_LEN: u16 = 4;
/// The largest response: text, photo and two fingerprints (a 2321-byte frame).
pub const MAX_RESPONSE_LEN: u16 = 2321 - HEADER_LEN as u16;

/// How long a started frame may stay incomplete without a new byte before it is dropped.
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_millis(500);

/// Serial settings of the reader: 115200 bit/s, 8 data bits, no parity, 1 stop bit.
pub const BAUD_RATE: u32 = 115_200;

/// Time one byte takes on the wire at `baud` with 8N1 (10 bit times).
pub fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_nanos((bytes as u64) * 10 * 1_000_000_000 / u64::from(baud.max(1)))
}

/// XOR of `bytes`: the frame checksum when given the length bytes and the body.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0, |a, b| a ^ b)
}

/// A whole frame around `body` (preamble, length, body, checksum).
///
/// # Panics
/// Never for bodies the protocol can carry; a body longer than 65534 bytes is cut (no
/// command or answer comes near it).
pub fn encode_frame(body: &[u8]) -> Vec<u8> {
    let body = &body[..body.len().min(usize::from(u16::MAX) - 1)];
    let len = (body.len() + 1) as u16;
    let mut out = Vec::with_capacity(HEADER_LEN + body.len() + 1);
    out.extend_from_slice(&PREAMBLE);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(body);
    let chk = checksum(&out[5..]);
    out.push(chk);
    out
}

/// The UART rates command 0x60 selects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BaudRate {
    B115200,
    B57600,
    B38400,
    B19200,
    B9600,
}

impl BaudRate {
    pub fn para(self) -> u8 {
        match self {
            BaudRate::B115200 => 0,
            BaudRate::B57600 => 1,
            BaudRate::B38400 => 2,
            BaudRate::B19200 => 3,
            BaudRate::B9600 => 4,
        }
    }

    pub fn from_para(p: u8) -> Option<BaudRate> {
        Some(match p {
            0 => BaudRate::B115200,
            1 => BaudRate::B57600,
            2 => BaudRate::B38400,
            3 => BaudRate::B19200,
            4 => BaudRate::B9600,
            _ => return None,
        })
    }
}

/// Every command of the domain document (`shared/domain/idcard-sam.md` §2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// `10 FF`: reset the SAM (clears the selection).
    Reset,
    /// `11 FF`: SAM status (90 ok, 60 self-test failed).
    Status,
    /// `12 FF`: the SAM's 16-byte ID (管理信息).
    ReadSamId,
    /// `20 01`: find a card (寻卡): 9F found, 80 none.
    FindCard,
    /// `20 02`: select the card found (选卡): 90, or 81.
    SelectCard,
    /// `30 01`: text and photo.
    ReadText,
    /// `30 03`: the latest additional address (追加住址): 90 + 70 bytes, or 91 (none).
    ReadExtraAddress,
    /// `30 10`: text, photo and fingerprints.
    ReadTextAndFingerprints,
    /// `60 xx`: change the UART rate.
    SetBaudRate(BaudRate),
    /// Any other `CMD Para Data…` (the SAM answers 21 to what it does not know).
    Other { cmd: u8, para: u8, data: Vec<u8> },
}

impl Command {
    /// `(CMD, Para)`.
    pub fn code(&self) -> (u8, u8) {
        match self {
            Command::Reset => (0x10, 0xFF),
            Command::Status => (0x11, 0xFF),
            Command::ReadSamId => (0x12, 0xFF),
            Command::FindCard => (0x20, 0x01),
            Command::SelectCard => (0x20, 0x02),
            Command::ReadText => (0x30, 0x01),
            Command::ReadExtraAddress => (0x30, 0x03),
            Command::ReadTextAndFingerprints => (0x30, 0x10),
            Command::SetBaudRate(b) => (0x60, b.para()),
            Command::Other { cmd, para, .. } => (*cmd, *para),
        }
    }

    /// The whole frame to send.
    pub fn encode(&self) -> Vec<u8> {
        let (cmd, para) = self.code();
        let mut body = vec![cmd, para];
        if let Command::Other { data, .. } = self {
            body.extend_from_slice(data);
        }
        encode_frame(&body)
    }

    /// A command from a decoded frame body (the SAM's side, used by the simulator).
    pub fn from_body(body: &[u8]) -> Option<Command> {
        let (&cmd, rest) = body.split_first()?;
        let (&para, data) = rest.split_first()?;
        Some(match (cmd, para, data.is_empty()) {
            (0x10, 0xFF, true) => Command::Reset,
            (0x11, 0xFF, true) => Command::Status,
            (0x12, 0xFF, true) => Command::ReadSamId,
            (0x20, 0x01, true) => Command::FindCard,
            (0x20, 0x02, true) => Command::SelectCard,
            (0x30, 0x01, true) => Command::ReadText,
            (0x30, 0x03, true) => Command::ReadExtraAddress,
            (0x30, 0x10, true) => Command::ReadTextAndFingerprints,
            (0x60, p, true) if BaudRate::from_para(p).is_some() => {
                Command::SetBaudRate(BaudRate::from_para(p).unwrap_or(BaudRate::B115200))
            }
            _ => Command::Other {
                cmd,
                para,
                data: data.to_vec(),
            },
        })
    }

    /// Short name for logs and errors.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Reset => "reset",
            Command::Status => "status",
            Command::ReadSamId => "read SAM ID",
            Command::FindCard => "find card",
            Command::SelectCard => "select card",
            Command::ReadText => "read text",
            Command::ReadExtraAddress => "read extra address",
            Command::ReadTextAndFingerprints => "read text and fingerprints",
            Command::SetBaudRate(_) => "set baud rate",
            Command::Other { .. } => "other command",
        }
    }
}

/// The SAM's own status byte (SW3), §3 of the domain document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sw3(pub u8);

impl Sw3 {
    pub const OK: Sw3 = Sw3(0x90);
    pub const NO_CONTENT: Sw3 = Sw3(0x91);
    pub const FOUND: Sw3 = Sw3(0x9F);
    pub const BAD_CHECKSUM: Sw3 = Sw3(0x10);
    pub const BAD_LENGTH: Sw3 = Sw3(0x11);
    pub const COMMAND_ERROR: Sw3 = Sw3(0x21);
    pub const NOT_PERMITTED: Sw3 = Sw3(0x23);
    pub const UNRECOGNISED: Sw3 = Sw3(0x24);
    pub const CARD_REJECTED_SAM: Sw3 = Sw3(0x31);
    pub const SAM_REJECTED_CARD: Sw3 = Sw3(0x32);
    pub const VERIFY_ERROR: Sw3 = Sw3(0x33);
    pub const UNKNOWN_CARD_TYPE: Sw3 = Sw3(0x40);
    pub const READ_FAILED: Sw3 = Sw3(0x41);
    pub const RANDOM_FAILED: Sw3 = Sw3(0x47);
    pub const SELF_TEST_FAILED: Sw3 = Sw3(0x60);
    pub const NOT_AUTHORISED: Sw3 = Sw3(0x66);
    pub const NO_CARD: Sw3 = Sw3(0x80);
    pub const SELECT_FAILED: Sw3 = Sw3(0x81);

    /// What the code means, in plain words.
    pub fn meaning(self) -> &'static str {
        match self.0 {
            0x90 => "operation succeeded",
            0x91 => "this item has no content on the card",
            0x9F => "card found",
            0x10 => "the checksum of our command was wrong",
            0x11 => "the length of our command was wrong",
            0x21 => "command error",
            0x23 => "operation not permitted",
            0x24 => "unrecognised error",
            0x31 => "the card failed to authenticate the security module",
            0x32 => "the security module failed to authenticate the card",
            0x33 => "information verification error",
            0x40 => "unrecognised card type",
            0x41 => "reading the card failed",
            0x47 => "getting a random number failed",
            0x60 => "the security module's self-test failed",
            0x66 => "the security module is not authorised",
            0x80 => "no card found",
            0x81 => "selecting the card failed",
            _ => "an undocumented status",
        }
    }
}

impl fmt::Display for Sw3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02X} ({})", self.0, self.meaning())
    }
}

/// A response frame: the two APDU status bytes (informative), the SAM status, the data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Response {
    pub sw1: u8,
    pub sw2: u8,
    pub sw3: Sw3,
    pub data: Vec<u8>,
}

impl Response {
    pub fn new(sw3: Sw3, data: Vec<u8>) -> Response {
        Response {
            sw1: 0,
            sw2: 0,
            sw3,
            data,
        }
    }

    /// A response from a decoded frame body; `None` when the body is shorter than SW1..SW3.
    pub fn from_body(body: &[u8]) -> Option<Response> {
        match body {
            [sw1, sw2, sw3, data @ ..] => Some(Response {
                sw1: *sw1,
                sw2: *sw2,
                sw3: Sw3(*sw3),
                data: data.to_vec(),
            }),
            _ => None,
        }
    }

    /// The whole frame.
    pub fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(3 + self.data.len());
        body.extend_from_slice(&[self.sw1, self.sw2, self.sw3.0]);
        body.extend_from_slice(&self.data);
        encode_frame(&body)
    }
}

/// Why bytes that looked like a frame were dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// The checksum byte did not match the XOR of the length and body.
    BadChecksum { expected: u8, found: u8 },
    /// The length field is outside what this direction can carry.
    BadLength(u16),
    /// A frame started but stopped arriving before it was complete.
    Incomplete { have: usize, need: usize },
    /// A well-formed frame too short to hold a response's status bytes.
    TooShort,
    /// The SAM answered that our frame arrived damaged (SW3 10 or 11); the decoder never
    /// yields this, the driver records it.
    Refused(Sw3),
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::BadChecksum { expected, found } => write!(
                f,
                "a frame with a wrong checksum (expected {expected:02X}, got {found:02X})"
            ),
            FrameError::BadLength(n) => write!(f, "a frame with an impossible length ({n})"),
            FrameError::Incomplete { have, need } => {
                write!(f, "an incomplete frame ({have} of {need} bytes)")
            }
            FrameError::TooShort => write!(f, "a frame too short to carry a status"),
            FrameError::Refused(sw3) => write!(f, "the security module answered {sw3}"),
        }
    }
}

/// What the decoder found in the byte stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decoded {
    /// A frame with a good checksum: the bytes between the length and the checksum.
    Frame(Vec<u8>),
    /// Bytes that started like a frame but were not one; the decoder has re-synchronised.
    Error(FrameError),
}

/// Which side's frames a decoder reads: this sets the lengths it accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// Frames from the terminal (the simulator's side).
    Commands,
    /// Frames from the SAM (the driver's side).
    Responses,
}

/// An incremental frame decoder that survives what USB-serial adapters deliver: frames
/// split at any byte, noise and partial preambles in front, wrong checksums and impossible
/// lengths. It holds at most one frame's worth of bytes, whatever it is fed.
#[derive(Debug)]
pub struct Decoder {
    buf: Vec<u8>,
    out: VecDeque<Decoded>,
    min_len: u16,
    max_len: u16,
    frame_timeout: Duration,
    /// When the last byte of an incomplete frame arrived.
    partial_since: Option<Instant>,
    noise: u64,
}

impl Decoder {
    pub fn new(direction: Direction) -> Decoder {
        let (min_len, max_len) = match direction {
            Direction::Commands => (MIN_COMMAND_LEN, MAX_COMMAND_LEN),
            Direction::Responses => (MIN_RESPONSE_LEN, MAX_RESPONSE_LEN),
        };
        Decoder {
            buf: Vec::new(),
            out: VecDeque::new(),
            min_len,
            max_len,
            frame_timeout: DEFAULT_FRAME_TIMEOUT,
            partial_since: None,
            noise: 0,
        }
    }

    pub fn with_frame_timeout(mut self, t: Duration) -> Decoder {
        self.frame_timeout = t;
        self
    }

    /// Most bytes the decoder ever buffers.
    pub fn capacity(&self) -> usize {
        HEADER_LEN + usize::from(self.max_len)
    }

    /// Feed bytes that arrived at `now`. Results are taken with [`Decoder::poll`].
    pub fn push(&mut self, mut bytes: &[u8], now: Instant) {
        if bytes.is_empty() {
            return;
        }
        while !bytes.is_empty() {
            let room = self.capacity() - self.buf.len();
            let take = room.min(bytes.len());
            self.buf.extend_from_slice(&bytes[..take]);
            bytes = &bytes[take..];
            self.scan();
        }
        self.partial_since = (!self.buf.is_empty()).then_some(now);
    }

    /// The next frame or error, in arrival order.
    pub fn poll(&mut self) -> Option<Decoded> {
        self.out.pop_front()
    }

    /// When an incomplete frame will be given up unless more bytes come.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.buf.starts_with(&PREAMBLE) {
            self.partial_since.map(|t| t + self.frame_timeout)
        } else {
            None
        }
    }

    /// Give up an incomplete frame whose time has passed (reported as `Incomplete`).
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(deadline) = self.poll_timeout()
            && now >= deadline
        {
            let need = if self.buf.len() >= HEADER_LEN {
                HEADER_LEN + usize::from(u16::from_be_bytes([self.buf[5], self.buf[6]]))
            } else {
                HEADER_LEN
            };
            self.out.push_back(Decoded::Error(FrameError::Incomplete {
                have: self.buf.len(),
                need,
            }));
            self.buf.drain(..PREAMBLE.len());
            self.scan();
            self.partial_since = (!self.buf.is_empty()).then_some(now);
        }
    }

    /// Forget everything buffered (after a re-sync).
    pub fn reset(&mut self) {
        self.buf.clear();
        self.out.clear();
        self.partial_since = None;
    }

    /// Bytes skipped so far because they were not part of a frame.
    pub fn noise_bytes(&self) -> u64 {
        self.noise
    }

    /// Whether bytes of a frame that has started are waiting for the rest.
    pub fn has_partial(&self) -> bool {
        self.buf.starts_with(&PREAMBLE)
    }

    fn scan(&mut self) {
        loop {
            // Skip to the next preamble; keep a tail that may be the start of one.
            match find(&self.buf, &PREAMBLE) {
                Some(0) => {}
                Some(i) => {
                    self.noise += i as u64;
                    self.buf.drain(..i);
                }
                None => {
                    let keep = longest_prefix_suffix(&self.buf, &PREAMBLE);
                    let drop = self.buf.len() - keep;
                    self.noise += drop as u64;
                    self.buf.drain(..drop);
                    return;
                }
            }
            if self.buf.len() < HEADER_LEN {
                return;
            }
            let len = u16::from_be_bytes([self.buf[5], self.buf[6]]);
            if len < self.min_len || len > self.max_len {
                self.out
                    .push_back(Decoded::Error(FrameError::BadLength(len)));
                self.buf.drain(..PREAMBLE.len());
                continue;
            }
            let total = HEADER_LEN + usize::from(len);
            if self.buf.len() < total {
                return;
            }
            let expected = checksum(&self.buf[5..total - 1]);
            let found = self.buf[total - 1];
            if expected != found {
                self.out
                    .push_back(Decoded::Error(FrameError::BadChecksum { expected, found }));
                // Re-scan inside: the preamble may have been noise and a real frame follow.
                self.buf.drain(..PREAMBLE.len());
                continue;
            }
            let body = self.buf[HEADER_LEN..total - 1].to_vec();
            self.buf.drain(..total);
            self.out.push_back(Decoded::Frame(body));
        }
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Length of the longest suffix of `hay` that is a proper prefix of `needle`.
fn longest_prefix_suffix(hay: &[u8], needle: &[u8]) -> usize {
    (1..needle.len().min(hay.len() + 1))
        .rev()
        .find(|&k| hay[hay.len() - k..] == needle[..k])
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn commands_encode_as_the_captured_frames() {
        for (cmd, frame) in [
            (Command::Reset, "AAAAAA9669000310FFEC"),
            (Command::Status, "AAAAAA9669000311FFED"),
            (Command::ReadSamId, "AAAAAA9669000312FFEE"),
            (Command::FindCard, "AAAAAA96690003200122"),
            (Command::SelectCard, "AAAAAA96690003200221"),
            (Command::ReadText, "AAAAAA96690003300132"),
            (Command::ReadExtraAddress, "AAAAAA96690003300330"),
            (Command::ReadTextAndFingerprints, "AAAAAA96690003301023"),
        ] {
            assert_eq!(cmd.encode(), hex(frame), "{cmd:?}");
            let body = &hex(frame)[7..9];
            assert_eq!(Command::from_body(body), Some(cmd));
        }
        assert_eq!(
            Command::SetBaudRate(BaudRate::B9600).encode(),
            encode_frame(&[0x60, 0x04])
        );
    }

    fn decode_all(dir: Direction, bytes: &[u8]) -> Vec<Decoded> {
        let mut d = Decoder::new(dir);
        d.push(bytes, Instant::now());
        std::iter::from_fn(|| d.poll()).collect()
    }

    #[test]
    fn captured_answers_decode() {
        for (frame, sw3, data_len) in [
            ("AAAAAA9669000400009094", 0x90, 0),
            ("AAAAAA9669000800009F0000000097", 0x9F, 4),
            ("AAAAAA9669000C00009000000000000000009C", 0x90, 8),
            ("AAAAAA9669000400008084", 0x80, 0),
            ("AAAAAA9669000400008185", 0x81, 0),
            ("AAAAAA9669000400004145", 0x41, 0),
        ] {
            let got = decode_all(Direction::Responses, &hex(frame));
            let [Decoded::Frame(body)] = got.as_slice() else {
                panic!("{frame}: {got:?}");
            };
            let r = Response::from_body(body).unwrap();
            assert_eq!((r.sw3.0, r.data.len()), (sw3, data_len), "{frame}");
            assert_eq!(r.encode(), hex(frame));
        }
    }

    #[test]
    fn noise_partial_preambles_and_byte_splits_are_survived() {
        let frame = hex("AAAAAA9669000800009F0000000097");
        let mut stream = vec![0x00, 0xAA, 0xAA, 0x96, 0xAA, 0x13, 0xAA, 0xAA, 0xAA, 0x96];
        stream.extend_from_slice(&frame);
        stream.extend_from_slice(&[0xAA, 0xAA]);
        stream.extend_from_slice(&frame);
        let mut d = Decoder::new(Direction::Responses);
        let t = Instant::now();
        for b in &stream {
            d.push(std::slice::from_ref(b), t);
        }
        let got: Vec<_> = std::iter::from_fn(|| d.poll()).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got.iter().all(|g| matches!(g, Decoded::Frame(_))));
    }

    #[test]
    fn a_wrong_checksum_is_reported_and_the_next_frame_still_decodes() {
        let good = hex("AAAAAA9669000400009094");
        let mut bad = good.clone();
        *bad.last_mut().unwrap() ^= 0xFF;
        let got = decode_all(Direction::Responses, &[bad, good].concat());
        assert_eq!(
            got,
            vec![
                Decoded::Error(FrameError::BadChecksum {
                    expected: 0x94,
                    found: 0x6B
                }),
                Decoded::Frame(vec![0, 0, 0x90])
            ]
        );
    }

    #[test]
    fn impossible_lengths_are_refused_at_once() {
        let mut stream = hex("AAAAAA9669FFFF");
        stream.extend(hex("AAAAAA96690002"));
        stream.extend(hex("AAAAAA9669000400009094"));
        let got = decode_all(Direction::Responses, &stream);
        assert_eq!(
            got,
            vec![
                Decoded::Error(FrameError::BadLength(0xFFFF)),
                Decoded::Error(FrameError::BadLength(2)),
                Decoded::Frame(vec![0, 0, 0x90])
            ]
        );
        // A command longer than 1024 is impossible; an answer of 2314 is not.
        let got = decode_all(Direction::Commands, &hex("AAAAAA96690401"));
        assert_eq!(got, vec![Decoded::Error(FrameError::BadLength(0x401))]);
    }

    #[test]
    fn an_incomplete_frame_times_out_after_silence() {
        let mut d = Decoder::new(Direction::Commands);
        let t0 = Instant::now();
        d.push(&hex("AAAAAA9669000320"), t0);
        assert_eq!(d.poll(), None);
        let deadline = d.poll_timeout().unwrap();
        assert_eq!(deadline, t0 + DEFAULT_FRAME_TIMEOUT);
        d.handle_timeout(t0 + Duration::from_millis(100));
        assert_eq!(d.poll(), None);
        d.handle_timeout(deadline);
        assert_eq!(
            d.poll(),
            Some(Decoded::Error(FrameError::Incomplete { have: 8, need: 10 }))
        );
        assert_eq!(d.poll_timeout(), None);
        d.push(&Command::FindCard.encode(), deadline);
        assert_eq!(d.poll(), Some(Decoded::Frame(vec![0x20, 0x01])));
    }

    #[test]
    fn memory_stays_bounded_on_endless_noise() {
        let mut d = Decoder::new(Direction::Responses);
        let junk = vec![0xAA; 100_000];
        d.push(&junk, Instant::now());
        assert!(d.buf.len() < PREAMBLE.len());
        assert_eq!(d.poll(), None);
        let mut big = hex("AAAAAA96690910");
        big.extend(vec![0x55; 50_000]);
        d.push(&big, Instant::now());
        assert!(d.buf.len() <= d.capacity());
    }

    #[test]
    fn wire_time_at_115200() {
        // A 1295-byte answer is about 112 ms on the wire.
        let t = wire_time(1295, BAUD_RATE);
        assert!(
            t > Duration::from_millis(112) && t < Duration::from_millis(113),
            "{t:?}"
        );
    }
}
