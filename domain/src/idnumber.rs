//! Citizen ID numbers (公民身份号码), GB 11643-1999.
//!
//! An ID number has 18 characters: a 6-digit address code, the birth date `YYYYMMDD`, a
//! 3-digit sequence number whose last digit is odd for a man and even for a woman, and a
//! check character computed with ISO 7064 MOD 11-2 (`0`–`9` or `X`).
//!
//! # What [`IdNumber::parse`] accepts
//!
//! Checks run in this order; the first that fails is the error:
//!
//! 1. [`Length`](IdNumberError::Length): after trimming, exactly 18 characters.
//! 2. [`NotDigits`](IdNumberError::NotDigits): 17 ASCII digits, then a digit or `X`
//!    (`x` is accepted and stored as `X`).
//! 3. [`Region`](IdNumberError::Region), a plausibility check of the address code, not a
//!    lookup in GB/T 2260:
//!    - digits 1–2 are a province-level code: 11–15, 21–23, 31–37, 41–46, 50–54, 61–65
//!      (mainland), 71 (Taiwan), 81 (Hong Kong), 82 (Macao), 83 (Taiwan residents' permit);
//!    - for a mainland province, digits 3–4 (the city) are not `00`; for 71, 81, 82 and 83
//!      the remaining four digits are not checked, so 810000, 820000 and 830000 (the
//!      HK/Macao/Taiwan residence permits) are accepted;
//!    - a number starting with `9` is a 2023 Foreign Permanent Resident ID card: digits
//!      2–3 are the mainland province that accepted the application (one of the mainland
//!      codes above) and digits 4–6 a nationality code, which is not checked.
//! 4. [`BirthDate`](IdNumberError::BirthDate): digits 7–14 are a real calendar date
//!    between 1850-01-01 and 2200-01-01 inclusive. Whether it lies in the future is for
//!    the caller to decide against its own "today" (see [`crate::validate()`]).
//! 5. [`CheckChar`](IdNumberError::CheckChar): the 18th character is [`check_char`] of
//!    the first 17.
//!
//! MOD 11-2 catches every single-character substitution: all weights are non-zero modulo
//! the prime 11 and two digits differ by less than 11, so changing one digit always
//! changes the weighted sum modulo 11, and the check character maps 0..=10 one-to-one.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::codes::Gender;
use crate::text::Text;

/// Weights of the 17 body digits, ISO 7064 MOD 11-2 (`2^(18-i) mod 11`).
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for `S mod 11 = 0..=10`.
const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];

/// Mainland province-level codes (GB/T 2260).
const MAINLAND_PROVINCES: [u8; 31] = [
    11, 12, 13, 14, 15, // 华北
    21, 22, 23, // 东北
    31, 32, 33, 34, 35, 36, 37, // 华东
    41, 42, 43, 44, 45, 46, // 中南
    50, 51, 52, 53, 54, // 西南
    61, 62, 63, 64, 65, // 西北
];
/// Taiwan (71), Hong Kong (81), Macao (82), Taiwan residents' permit (83).
const OTHER_PROVINCES: [u8; 4] = [71, 81, 82, 83];

/// The earliest birth date accepted in an ID number.
pub const EARLIEST_BIRTH: Date = time::macros::date!(1850 - 01 - 01);
/// The latest birth date accepted in an ID number.
pub const LATEST_BIRTH: Date = time::macros::date!(2200 - 01 - 01);

/// The MOD 11-2 check character for the first 17 characters of an ID number, or `None`
/// when `first17` is not exactly 17 ASCII digits.
///
/// `S = Σ dᵢ·wᵢ` with weights `7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2`; `S mod 11 = 0..=10`
/// gives `1 0 X 9 8 7 6 5 4 3 2`.
pub fn check_char(first17: &str) -> Option<char> {
    let bytes = first17.as_bytes();
    if bytes.len() != 17 || !bytes.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let sum: u32 = bytes
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    Some(CHECK[(sum % 11) as usize])
}

/// Why a string is not a valid ID number. See the [module docs](self) for the order of
/// the checks.
#[derive(thiserror::Error, Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdNumberError {
    /// Not 18 characters long.
    #[error("an ID number has 18 characters")]
    Length,
    /// Not 17 digits followed by a digit or X.
    #[error("an ID number is 17 digits followed by a digit or X")]
    NotDigits,
    /// The address code is not plausible.
    #[error("the first 6 digits of the ID number are not a valid address code")]
    Region,
    /// Digits 7–14 are not a real date between 1850 and 2200.
    #[error("digits 7-14 of the ID number are not a real date of birth")]
    BirthDate,
    /// The check character does not match the other 17.
    #[error("the check character of the ID number is wrong (expected {expected}, found {found})")]
    CheckChar {
        /// What the first 17 digits call for.
        expected: char,
        /// What the number has.
        found: char,
    },
}

impl IdNumberError {
    /// A bilingual sentence for people: zh "身份证号码的校验位不对（应为 X）",
    /// en "ID number: the check character is wrong (expected X)".
    pub fn message(&self) -> Text {
        let p = self.problem();
        Text::new(
            format!("身份证号码{}", p.zh),
            format!("ID number: {}", p.en),
        )
    }

    /// The problem without the subject: the Chinese part follows a noun directly
    /// ("…的校验位不对（应为 X）"), the English part follows "<field>: ".
    pub(crate) fn problem(&self) -> Text {
        match self {
            IdNumberError::Length => {
                Text::new("的位数不对，应为 18 位", "it must have 18 characters")
            }
            IdNumberError::NotDigits => Text::new(
                "只能是 17 位数字加最后一位数字或 X",
                "it must be 17 digits followed by a digit or X",
            ),
            IdNumberError::Region => Text::new(
                "的前 6 位不是有效的地址码",
                "the first 6 digits are not a valid address code",
            ),
            IdNumberError::BirthDate => Text::new(
                "的第 7–14 位不是有效的出生日期",
                "digits 7–14 are not a real date of birth",
            ),
            IdNumberError::CheckChar { expected, .. } => Text::new(
                format!("的校验位不对（应为 {expected}）"),
                format!("the check character is wrong (expected {expected})"),
            ),
        }
    }
}

/// A valid 18-character ID number (see the [module docs](self) for what "valid" means).
///
/// It is stored with an upper-case `X`. It serializes as its string and deserializes
/// through [`IdNumber::parse`].
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct IdNumber(String);

impl IdNumber {
    /// Parses and checks an ID number; surrounding whitespace is ignored and a lower-case
    /// `x` accepted.
    pub fn parse(s: &str) -> Result<IdNumber, IdNumberError> {
        let s = s.trim();
        if s.chars().count() != 18 {
            return Err(IdNumberError::Length);
        }
        // 18 chars; if all are ASCII it is 18 bytes, otherwise NotDigits below.
        let bytes = s.as_bytes();
        if bytes.len() != 18
            || !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X' || bytes[17] == b'x')
        {
            return Err(IdNumberError::NotDigits);
        }
        let number = s.to_ascii_uppercase();
        if !region_plausible(&number[..6]) {
            return Err(IdNumberError::Region);
        }
        birth_date_of(&number[6..14]).ok_or(IdNumberError::BirthDate)?;
        let expected = check_char(&number[..17]).expect("17 ASCII digits checked above");
        let found = char::from(number.as_bytes()[17]);
        if expected != found {
            return Err(IdNumberError::CheckChar { expected, found });
        }
        Ok(IdNumber(number))
    }

    /// The birth date, digits 7–14.
    pub fn birth_date(&self) -> Date {
        birth_date_of(&self.0[6..14]).expect("checked by parse")
    }

    /// Male when the 17th digit is odd, female when it is even.
    pub fn gender(&self) -> Gender {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Gender::Male
        } else {
            Gender::Female
        }
    }

    /// The first 6 digits: the address code (for a foreign permanent resident card, `9`,
    /// the province and the nationality code).
    pub fn region_code(&self) -> &str {
        &self.0[..6]
    }

    /// The 18 characters, with an upper-case `X`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

fn region_plausible(code: &str) -> bool {
    let digits = code.as_bytes();
    let two = |i: usize| (digits[i] - b'0') * 10 + (digits[i + 1] - b'0');
    if digits[0] == b'9' {
        // 2023 foreign permanent resident card: 9, accepting province, nationality code.
        return MAINLAND_PROVINCES.contains(&two(1));
    }
    let province = two(0);
    if OTHER_PROVINCES.contains(&province) {
        return true;
    }
    MAINLAND_PROVINCES.contains(&province) && two(2) != 0
}

/// `YYYYMMDD` (8 ASCII digits) to a date within the accepted range.
fn birth_date_of(yyyymmdd: &str) -> Option<Date> {
    let n = |r: std::ops::Range<usize>| yyyymmdd.get(r)?.parse::<u16>().ok();
    let year = i32::from(n(0..4)?);
    let month = Month::try_from(u8::try_from(n(4..6)?).ok()?).ok()?;
    let day = u8::try_from(n(6..8)?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    (EARLIEST_BIRTH..=LATEST_BIRTH)
        .contains(&date)
        .then_some(date)
}

impl fmt::Display for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for IdNumber {
    type Err = IdNumberError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IdNumber::parse(s)
    }
}

impl AsRef<str> for IdNumber {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for IdNumber {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        IdNumber::parse(&s)
    }
}

impl From<IdNumber> for String {
    fn from(id: IdNumber) -> String {
        id.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn check_char_examples() {
        let check = |first17: &str, expected: Option<char>| {
            assert_eq!(check_char(first17), expected, "{first17:?}")
        };
        // The GB 11643 example number 11010519491231002X.
        check("11010519491231002", Some('X'));
        // Worked by hand: S = 45 (45 mod 11 = 1 -> 0) and S = 212 (212 mod 11 = 3 -> 9).
        check("11010120000101001", Some('0'));
        check("44030819900101123", Some('9'));
        // S mod 11 = 0 -> '1': all zeros.
        check("00000000000000000", Some('1'));
        // S = 7 -> '5'.
        check("10000000000000000", Some('5'));
        // S = 2 -> 'X'.
        check("00000000000000001", Some('X'));
        // S = 1 -> '0' (weight 1 at position 8).
        check("00000001000000000", Some('0'));
        check("1101051949123100", None);
        check("110105194912310022", None);
        check("1101051949123100A", None);
        check("", None);
    }

    fn check_parse(input: &str, expected: Result<&str, IdNumberError>) {
        let got = IdNumber::parse(input);
        assert_eq!(
            got.as_ref().map(IdNumber::as_str).map_err(|e| *e),
            expected,
            "{input:?}"
        );
    }

    #[test]
    fn parse_table() {
        use IdNumberError::*;
        check_parse("11010519491231002X", Ok("11010519491231002X"));
        check_parse(" 11010519491231002x\n", Ok("11010519491231002X"));
        check_parse(
            "110105194912310021",
            Err(CheckChar {
                expected: 'X',
                found: '1',
            }),
        );
        check_parse("11010519491231002", Err(Length));
        check_parse("11010519491231002XX", Err(Length));
        check_parse("", Err(Length));
        check_parse("1101051949123100X2", Err(NotDigits));
        check_parse("11010519491231002Y", Err(NotDigits));
        check_parse("１１010519491231002X", Err(NotDigits));
        // province 10 does not exist; city 00 on the mainland is not an address code
        check_parse("100105194912310021", Err(Region));
        check_parse("110005194912310021", Err(Region));
        check_parse("720105194912310021", Err(Region));
        // 30 February, month 13, before 1850
        check_parse("110105194902300021", Err(BirthDate));
        check_parse("110105194913010021", Err(BirthDate));
        check_parse("110105184912310021", Err(BirthDate));
    }

    fn with_check(first17: &str) -> String {
        format!("{first17}{}", check_char(first17).unwrap())
    }

    #[test]
    fn hk_macao_taiwan_and_foreign_numbers() {
        for first17 in [
            "81000019800101001",
            "82000019800101002",
            "83000019800101003",
            "71000019800101004",
            // 2023 foreign permanent resident card: 9, province 53 (Yunnan), nationality 104
            "95310419800101005",
        ] {
            let n = with_check(first17);
            assert!(IdNumber::parse(&n).is_ok(), "{n}");
        }
        // foreign card whose digits 2-3 are not a mainland province
        let n = with_check("98110419800101005");
        assert_eq!(IdNumber::parse(&n), Err(IdNumberError::Region));
    }

    #[test]
    fn accessors() {
        let id = IdNumber::parse("11010519491231002X").unwrap();
        assert_eq!(id.birth_date(), date!(1949 - 12 - 31));
        assert_eq!(id.gender(), Gender::Female); // 17th digit 2
        assert_eq!(id.region_code(), "110105");
        assert_eq!(id.to_string(), "11010519491231002X");
        let male = IdNumber::parse(&with_check("53252719800101001")).unwrap();
        assert_eq!(male.gender(), Gender::Male);
        assert_eq!(male.birth_date(), date!(1980 - 01 - 01));
    }

    #[test]
    fn birth_date_bounds() {
        assert!(IdNumber::parse(&with_check("11010518500101001")).is_ok());
        assert_eq!(
            IdNumber::parse(&with_check("11010518491231001")),
            Err(IdNumberError::BirthDate)
        );
        assert!(IdNumber::parse(&with_check("11010522000101001")).is_ok());
        assert_eq!(
            IdNumber::parse(&with_check("11010522000102001")),
            Err(IdNumberError::BirthDate)
        );
    }

    #[test]
    fn messages() {
        let e = IdNumberError::CheckChar {
            expected: 'X',
            found: '1',
        };
        assert_eq!(
            e.message(),
            Text::new(
                "身份证号码的校验位不对（应为 X）",
                "ID number: the check character is wrong (expected X)"
            )
        );
        assert_eq!(
            e.to_string(),
            "the check character of the ID number is wrong (expected X, found 1)"
        );
    }

    #[test]
    fn serde_round_trip_checks() {
        let id: IdNumber = serde_json::from_str(r#""11010519491231002x""#).unwrap();
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#""11010519491231002X""#
        );
        assert!(serde_json::from_str::<IdNumber>(r#""110105194912310021""#).is_err());
    }
}
