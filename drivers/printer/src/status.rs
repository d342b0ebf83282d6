//! Real-time status (`DLE EOT n`): the four queries, the one-byte answers and what they
//! mean, in plain words. Pure: bytes in, a [`Status`] out.
//!
//! Every answer byte has bit 1 and bit 4 set and bits 0 and 7 clear (`xxx1xx10` with bit 7
//! zero); anything else is not an answer to a status query.

use std::fmt;

use crate::escpos::{DLE, EOT};

/// The queries, in the order the driver sends them: printer (1), offline cause (2), error
/// cause (3), paper roll sensor (4).
pub const QUERIES: [u8; 4] = [1, 2, 3, 4];

/// The bytes of all four queries, sent as one write.
pub fn query_bytes() -> Vec<u8> {
    QUERIES.iter().flat_map(|&n| [DLE, EOT, n]).collect()
}

/// Whether `b` has the fixed bits of a status answer.
pub fn is_answer(b: u8) -> bool {
    b & 0b1001_0011 == 0b0001_0010
}

/// A byte that cannot be the answer to a status query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("byte {byte:#04x} is not an answer to status query {query}")]
pub struct BadAnswer {
    pub query: u8,
    pub byte: u8,
}

/// The printer's state as its status answers tell it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Status {
    /// The printer says it is offline (for any of the reasons below, or the feed button).
    pub offline: bool,
    pub cover_open: bool,
    pub paper_out: bool,
    /// The roll is nearly used up: the receipt prints, but change the roll soon.
    pub paper_near_end: bool,
    /// Cutter jam, head overheated, or another error the printer reports.
    pub error: bool,
}

/// One thing wrong (or worth knowing), in words for the person at the counter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    PaperOut,
    CoverOpen,
    Error,
    Offline,
    PaperNearEnd,
}

impl Problem {
    pub fn zh(self) -> &'static str {
        match self {
            Problem::PaperOut => "缺纸",
            Problem::CoverOpen => "纸仓盖未关",
            Problem::Error => "打印机故障（切刀或打印头）",
            Problem::Offline => "打印机脱机",
            Problem::PaperNearEnd => "纸将用完",
        }
    }

    pub fn en(self) -> &'static str {
        match self {
            Problem::PaperOut => "out of paper",
            Problem::CoverOpen => "cover open",
            Problem::Error => "printer error (cutter or print head)",
            Problem::Offline => "printer offline",
            Problem::PaperNearEnd => "paper near end",
        }
    }

    /// Whether a receipt cannot be printed while this holds.
    pub fn blocks_printing(self) -> bool {
        !matches!(self, Problem::PaperNearEnd)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} / {}", self.zh(), self.en())
    }
}

impl Status {
    /// Read the answers to [`QUERIES`], in that order.
    pub fn from_answers(answers: [u8; 4]) -> Result<Status, BadAnswer> {
        for (&query, &byte) in QUERIES.iter().zip(&answers) {
            if !is_answer(byte) {
                return Err(BadAnswer { query, byte });
            }
        }
        let [printer, offline, error, paper] = answers;
        Ok(Status {
            offline: printer & 0x08 != 0,
            cover_open: offline & 0x04 != 0,
            paper_out: offline & 0x20 != 0 || paper & 0x60 != 0,
            paper_near_end: paper & 0x0C != 0,
            error: offline & 0x40 != 0 || error & 0x6C != 0,
        })
    }

    /// The answers a printer in this state gives to [`QUERIES`] (what the simulator sends).
    pub fn answers(&self) -> [u8; 4] {
        let base = 0x12;
        let offline = self.offline || self.cover_open || self.paper_out || self.error;
        [
            base | if offline { 0x08 } else { 0 },
            base | if self.cover_open { 0x04 } else { 0 }
                | if self.paper_out { 0x20 } else { 0 }
                | if self.error { 0x40 } else { 0 },
            base | if self.error { 0x08 } else { 0 },
            base | if self.paper_near_end || self.paper_out {
                0x0C
            } else {
                0
            } | if self.paper_out { 0x60 } else { 0 },
        ]
    }

    /// The answer to query `n` (1 to 4); other queries get the printer status byte.
    pub fn answer(&self, n: u8) -> u8 {
        let a = self.answers();
        match n {
            1..=4 => a[usize::from(n - 1)],
            _ => a[0],
        }
    }

    /// Everything worth saying, most urgent first. Offline is only listed when no reason
    /// for it is known.
    pub fn problems(&self) -> Vec<Problem> {
        let mut v = Vec::new();
        if self.paper_out {
            v.push(Problem::PaperOut);
        }
        if self.cover_open {
            v.push(Problem::CoverOpen);
        }
        if self.error {
            v.push(Problem::Error);
        }
        if self.offline && v.is_empty() {
            v.push(Problem::Offline);
        }
        if self.paper_near_end && !self.paper_out {
            v.push(Problem::PaperNearEnd);
        }
        v
    }

    /// Whether a receipt can be printed now.
    pub fn ready(&self) -> bool {
        !self.problems().iter().any(|p| p.blocks_printing())
    }
}

/// "正常 / ready", or the problems joined by "；".
impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.problems();
        if p.is_empty() {
            return f.write_str("正常 / ready");
        }
        let words: Vec<String> = p.iter().map(ToString::to_string).collect();
        f.write_str(&words.join("；"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(answers: [u8; 4], expect: &str) {
        let s = Status::from_answers(answers).expect("valid answers");
        assert_eq!(s.to_string(), expect, "{answers:02X?}");
    }

    #[test]
    fn answers_read_as_plain_words() {
        check([0x12, 0x12, 0x12, 0x12], "正常 / ready");
        check([0x1A, 0x32, 0x12, 0x72], "缺纸 / out of paper");
        check([0x1A, 0x16, 0x12, 0x12], "纸仓盖未关 / cover open");
        check([0x12, 0x12, 0x12, 0x1E], "纸将用完 / paper near end");
        check(
            [0x1A, 0x36, 0x12, 0x7E],
            "缺纸 / out of paper；纸仓盖未关 / cover open",
        );
        check([0x1A, 0x12, 0x12, 0x12], "打印机脱机 / printer offline");
        check(
            [0x1A, 0x52, 0x1A, 0x12],
            "打印机故障（切刀或打印头） / printer error (cutter or print head)",
        );
    }

    #[test]
    fn a_byte_without_the_fixed_bits_is_refused() {
        assert_eq!(
            Status::from_answers([0x12, 0x00, 0x12, 0x12]),
            Err(BadAnswer {
                query: 2,
                byte: 0x00
            })
        );
        assert!(Status::from_answers([0x12, 0x12, 0x12, 0x93]).is_err());
    }

    #[test]
    fn every_state_survives_its_own_answers() {
        for bits in 0u8..32 {
            let s = Status {
                offline: bits & 1 != 0,
                cover_open: bits & 2 != 0,
                paper_out: bits & 4 != 0,
                paper_near_end: bits & 8 != 0,
                error: bits & 16 != 0,
            };
            let back = Status::from_answers(s.answers()).unwrap();
            assert_eq!(back.problems(), s.problems(), "{s:?}");
            assert_eq!(back.ready(), s.ready(), "{s:?}");
        }
    }

    #[test]
    fn paper_near_end_still_prints() {
        let s = Status {
            paper_near_end: true,
            ..Status::default()
        };
        assert!(s.ready());
        assert!(
            !Status::from_answers([0x12, 0x32, 0x12, 0x72])
                .unwrap()
                .ready()
        );
    }
}
