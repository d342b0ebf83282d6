//! The card's data: the 256-byte text of the four card types, the photo and fingerprints
//! (opaque bytes), the additional address, and the SAM's ID. Pure: bytes in, values out, and
//! back again (the simulator writes cards with the same layout the parser reads).
//!
//! Nothing is hidden: a wrong ID check character and an ended validity are reported by
//! [`CardText::id_checksum_ok`] and [`CardText::expired`], never corrected or dropped.

use std::fmt;

use time::Date;

/// Size of the text block.
pub const TEXT_LEN: usize = 256;
/// Size of the photo (WLT, no public decoder).
pub const PHOTO_LEN: usize = 1024;
/// Size of one fingerprint record.
pub const FINGERPRINT_LEN: usize = 512;
/// Size of the additional address (35 UCS-2 characters).
pub const EXTRA_ADDRESS_LEN: usize = 70;

/// The card type, from the UCS-2 character at bytes 248–249.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CardType {
    /// 居民身份证 (GA/T 490); a space at 248.
    Resident,
    /// `I`: 外国人永久居留身份证, 2017.
    ForeignPermanent2017,
    /// `J`: 港澳台居民居住证.
    HmtResidencePermit,
    /// `Y`: 外国人永久居留身份证, 2023.
    ForeignPermanent2023,
}

impl CardType {
    /// The machine name used in JSON (`resident`, `foreign_permanent_2017`, ...).
    pub fn key(self) -> &'static str {
        match self {
            CardType::Resident => "resident",
            CardType::ForeignPermanent2017 => "foreign_permanent_2017",
            CardType::HmtResidencePermit => "hmt_residence_permit",
            CardType::ForeignPermanent2023 => "foreign_permanent_2023",
        }
    }

    pub fn from_key(s: &str) -> Option<CardType> {
        [
            CardType::Resident,
            CardType::ForeignPermanent2017,
            CardType::HmtResidencePermit,
            CardType::ForeignPermanent2023,
        ]
        .into_iter()
        .find(|t| t.key() == s)
    }

    /// The card's Chinese name.
    pub fn label_zh(self) -> &'static str {
        match self {
            CardType::Resident => "居民身份证",
            CardType::ForeignPermanent2017 => "外国人永久居留身份证（2017版）",
            CardType::HmtResidencePermit => "港澳台居民居住证",
            CardType::ForeignPermanent2023 => "外国人永久居留身份证（2023版）",
        }
    }

    fn type_char(self) -> char {
        match self {
            CardType::Resident => ' ',
            CardType::ForeignPermanent2017 => 'I',
            CardType::HmtResidencePermit => 'J',
            CardType::ForeignPermanent2023 => 'Y',
        }
    }
}

/// GB/T 2261.1 sex codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Gender {
    Unknown,
    Male,
    Female,
    Unstated,
}

impl Gender {
    pub fn from_code(code: &str) -> Option<Gender> {
        Some(match code {
            "0" => Gender::Unknown,
            "1" => Gender::Male,
            "2" => Gender::Female,
            "9" => Gender::Unstated,
            _ => return None,
        })
    }

    pub fn key(self) -> &'static str {
        match self {
            Gender::Unknown => "unknown",
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Unstated => "unstated",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            Gender::Unknown => "未知",
            Gender::Male => "男",
            Gender::Female => "女",
            Gender::Unstated => "未说明",
        }
    }
}

/// GB/T 3304 ethnic groups as the card codes them (domain document §5). `kiosk-domain`
/// has the same table for the forms; like the check character below, the driver keeps its
/// own copy of this fact of the card rather than depend on the domain (ARCHITECTURE.md).
const NATIONS: [(&str, &str); 58] = [
    ("01", "汉"),
    ("02", "蒙古"),
    ("03", "回"),
    ("04", "藏"),
    ("05", "维吾尔"),
    ("06", "苗"),
    ("07", "彝"),
    ("08", "壮"),
    ("09", "布依"),
    ("10", "朝鲜"),
    ("11", "满"),
    ("12", "侗"),
    ("13", "瑶"),
    ("14", "白"),
    ("15", "土家"),
    ("16", "哈尼"),
    ("17", "哈萨克"),
    ("18", "傣"),
    ("19", "黎"),
    ("20", "傈僳"),
    ("21", "佤"),
    ("22", "畲"),
    ("23", "高山"),
    ("24", "拉祜"),
    ("25", "水"),
    ("26", "东乡"),
    ("27", "纳西"),
    ("28", "景颇"),
    ("29", "柯尔克孜"),
    ("30", "土"),
    ("31", "达斡尔"),
    ("32", "仫佬"),
    ("33", "羌"),
    ("34", "布朗"),
    ("35", "撒拉"),
    ("36", "毛南"),
    ("37", "仡佬"),
    ("38", "锡伯"),
    ("39", "阿昌"),
    ("40", "普米"),
    ("41", "塔吉克"),
    ("42", "怒"),
    ("43", "乌孜别克"),
    ("44", "俄罗斯"),
    ("45", "鄂温克"),
    ("46", "德昂"),
    ("47", "保安"),
    ("48", "裕固"),
    ("49", "京"),
    ("50", "塔塔尔"),
    ("51", "独龙"),
    ("52", "鄂伦春"),
    ("53", "赫哲"),
    ("54", "门巴"),
    ("55", "珞巴"),
    ("56", "基诺"),
    ("97", "其他"),
    ("98", "外国血统中国籍人士"),
];

/// The name of an ethnic-group code, e.g. `07` → `彝`.
pub fn nation_name(code: &str) -> Option<&'static str> {
    NATIONS.iter().find(|(c, _)| *c == code).map(|(_, n)| *n)
}

/// The GB 11643 check character for the first 17 characters of an ID number (ISO 7064
/// MOD 11-2). `kiosk-domain` has the same function, but drivers depend on nothing of ours
/// (ARCHITECTURE.md): the check is a fact of the card, printed in the domain document, so
/// the driver carries its own copy to flag a card whose number does not add up.
pub fn id_check_char(first17: &str) -> Option<char> {
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const C: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let digits: Vec<u32> = first17
        .chars()
        .map(|c| c.to_digit(10))
        .collect::<Option<_>>()?;
    if digits.len() != 17 {
        return None;
    }
    let s: u32 = digits.iter().zip(W).map(|(d, w)| d * w).sum();
    Some(C[(s % 11) as usize])
}

/// Whether an 18-character ID number's last character is its MOD 11-2 check character.
pub fn id_checksum_ok(id: &str) -> bool {
    let chars: Vec<char> = id.chars().collect();
    if chars.len() != 18 {
        return false;
    }
    let first: String = chars[..17].iter().collect();
    id_check_char(&first) == Some(chars[17].to_ascii_uppercase())
}

/// `YYYYMMDD` → a date.
pub fn parse_date(s: &str) -> Option<Date> {
    if s.len() != 8 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i32 = s[..4].parse().ok()?;
    let m: u8 = s[4..6].parse().ok()?;
    let d: u8 = s[6..].parse().ok()?;
    Date::from_calendar_date(y, time::Month::try_from(m).ok()?, d).ok()
}

/// The text "valid to" holds on a card without expiry.
pub const LONG_TERM: &str = "长期";

/// The end of a card's validity.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValidUntil {
    Date(Date),
    /// `长期`.
    LongTerm,
    /// Neither a date nor `长期` (the raw text is in [`CardText::valid_until`]).
    Unreadable,
}

/// The text of a card, as the card holds it: every field is the trimmed UCS-2 text; a field
/// the card type does not have is `None`. Interpretations (dates, codes, checks) are methods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardText {
    pub card_type: CardType,
    /// Chinese name (all types; optional on the `I` and `Y` cards).
    pub name: Option<String>,
    /// English name (`I`, `Y`).
    pub english_name: Option<String>,
    /// GB/T 2261.1 code as on the card (`1`, `2`, ...).
    pub gender_code: String,
    /// GB/T 3304 two-digit code (resident cards).
    pub nation_code: Option<String>,
    /// `YYYYMMDD` as on the card.
    pub birth_date: String,
    /// Address (resident, `J`).
    pub address: Option<String>,
    /// The ID number (18 characters; 15 on the `I` card).
    pub id_number: String,
    /// Issuing authority (resident, `J`); the authority code on the `I` card.
    pub issuing_authority: Option<String>,
    /// `YYYYMMDD`.
    pub valid_from: String,
    /// `YYYYMMDD` or `长期`.
    pub valid_until: String,
    /// GB/T 2659 three-letter code (`I`, `Y`).
    pub nationality: Option<String>,
    /// Pass number (`J`).
    pub pass_number: Option<String>,
    /// Issue count (`J`); renewal count (`Y`).
    pub issue_count: Option<String>,
    /// Card version (`I`).
    pub card_version: Option<String>,
    /// The link to the previous number (`Y`).
    pub previous_number: Option<String>,
}

/// One text field: where it sits, how long it is.
#[derive(Clone, Copy)]
struct Slot {
    offset: usize,
    len: usize,
}

const fn s(offset: usize, len: usize) -> Slot {
    Slot { offset, len }
}

/// Why card data could not be decoded or encoded.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CardError {
    #[error("the card's answer is too short ({0} bytes)")]
    TooShort(usize),
    #[error("the card's text block is {0} bytes, not 256")]
    TextLength(usize),
    #[error("the card's photo is {0} bytes, not 1024")]
    PhotoLength(usize),
    #[error("the card's fingerprint block is {0} bytes, not 0, 512 or 1024")]
    FingerprintLength(usize),
    #[error("the card's lengths ({declared} bytes) do not match its answer ({actual} bytes)")]
    LengthMismatch { declared: usize, actual: usize },
    #[error("the card type {0:?} is not one this reader knows")]
    UnknownType(String),
    #[error("{field} has {chars} characters; the card holds at most {max}")]
    TooLong {
        field: &'static str,
        chars: usize,
        max: usize,
    },
    #[error("{field} contains {ch:?}, which a card cannot hold (outside UCS-2)")]
    NotUcs2 { field: &'static str, ch: char },
    #[error("{field} is missing; a {card} card always has it")]
    Missing {
        field: &'static str,
        card: &'static str,
    },
}

/// Decode space-padded UCS-2 LE, trimmed of spaces and NULs at both ends. Unpaired
/// surrogates become U+FFFD (a card never holds them; hostile input may).
pub fn decode_ucs2(bytes: &[u8]) -> String {
    let units = bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    let s: String = char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect();
    s.trim_matches(|c: char| c == ' ' || c == '\0').to_string()
}

fn encode_ucs2(
    field: &'static str,
    text: &str,
    len: usize,
    out: &mut [u8],
) -> Result<(), CardError> {
    let max = len / 2;
    let chars = text.chars().count();
    if chars > max {
        return Err(CardError::TooLong { field, chars, max });
    }
    let mut units = Vec::with_capacity(max);
    for ch in text.chars() {
        let mut buf = [0u16; 2];
        let enc = ch.encode_utf16(&mut buf);
        if enc.len() != 1 {
            return Err(CardError::NotUcs2 { field, ch });
        }
        units.push(enc[0]);
    }
    units.resize(max, 0x0020);
    for (i, u) in units.iter().enumerate() {
        out[2 * i..2 * i + 2].copy_from_slice(&u.to_le_bytes());
    }
    Ok(())
}

fn opt(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

impl CardText {
    /// An empty text of `card_type` (every field blank), for building cards.
    pub fn blank(card_type: CardType) -> CardText {
        CardText {
            card_type,
            name: None,
            english_name: None,
            gender_code: String::new(),
            nation_code: None,
            birth_date: String::new(),
            address: None,
            id_number: String::new(),
            issuing_authority: None,
            valid_from: String::new(),
            valid_until: String::new(),
            nationality: None,
            pass_number: None,
            issue_count: None,
            card_version: None,
            previous_number: None,
        }
    }

    /// Parse the 256-byte text block; the type comes from bytes 248–249.
    pub fn parse(text: &[u8]) -> Result<CardText, CardError> {
        if text.len() != TEXT_LEN {
            return Err(CardError::TextLength(text.len()));
        }
        let get = |slot: Slot| decode_ucs2(&text[slot.offset..slot.offset + slot.len]);
        let ty = get(s(248, 2));
        let card_type = match ty.as_str() {
            "" => CardType::Resident,
            "I" => CardType::ForeignPermanent2017,
            "J" => CardType::HmtResidencePermit,
            "Y" => CardType::ForeignPermanent2023,
            _ => return Err(CardError::UnknownType(ty)),
        };
        let mut t = CardText::blank(card_type);
        match card_type {
            CardType::Resident => {
                t.name = opt(get(s(0, 30)));
                t.gender_code = get(s(30, 2));
                t.nation_code = opt(get(s(32, 4)));
                t.birth_date = get(s(36, 16));
                t.address = opt(get(s(52, 70)));
                t.id_number = get(s(122, 36));
                t.issuing_authority = opt(get(s(158, 30)));
                t.valid_from = get(s(188, 16));
                t.valid_until = get(s(204, 16));
            }
            CardType::ForeignPermanent2017 => {
                t.english_name = opt(get(s(0, 120)));
                t.gender_code = get(s(120, 2));
                t.id_number = get(s(122, 30));
                t.nationality = opt(get(s(152, 6)));
                t.name = opt(get(s(158, 30)));
                t.valid_from = get(s(188, 16));
                t.valid_until = get(s(204, 16));
                t.birth_date = get(s(220, 16));
                t.card_version = opt(get(s(236, 4)));
                t.issuing_authority = opt(get(s(240, 8)));
            }
            CardType::HmtResidencePermit => {
                t.name = opt(get(s(0, 30)));
                t.gender_code = get(s(30, 2));
                t.birth_date = get(s(36, 16));
                t.address = opt(get(s(52, 70)));
                t.id_number = get(s(122, 36));
                t.issuing_authority = opt(get(s(158, 30)));
                t.valid_from = get(s(188, 16));
                t.valid_until = get(s(204, 16));
                t.pass_number = opt(get(s(220, 18)));
                t.issue_count = opt(get(s(238, 4)));
            }
            CardType::ForeignPermanent2023 => {
                t.name = opt(get(s(0, 30)));
                t.gender_code = get(s(30, 2));
                t.issue_count = opt(get(s(32, 4)));
                t.birth_date = get(s(36, 16));
                // The English name is split: characters 1–35 at 52, 36–46 at 220. Join the
                // raw halves before trimming so a space at the seam survives.
                let mut raw = text[52..122].to_vec();
                raw.extend_from_slice(&text[220..242]);
                t.english_name = opt(decode_ucs2(&raw));
                t.id_number = get(s(122, 36));
                t.valid_from = get(s(188, 16));
                t.valid_until = get(s(204, 16));
                t.nationality = opt(get(s(242, 6)));
                t.previous_number = opt(get(s(250, 6)));
            }
        }
        Ok(t)
    }

    /// The 256-byte text block for this card (what the simulator's card holds).
    pub fn encode(&self) -> Result<[u8; TEXT_LEN], CardError> {
        let mut out = [0u8; TEXT_LEN];
        for pair in out.chunks_exact_mut(2) {
            pair.copy_from_slice(&[0x20, 0x00]);
        }
        let mut put = |field: &'static str, v: &str, slot: Slot| {
            encode_ucs2(
                field,
                v,
                slot.len,
                &mut out[slot.offset..slot.offset + slot.len],
            )
        };
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        match self.card_type {
            CardType::Resident => {
                put("name", &o(&self.name), s(0, 30))?;
                put("gender", &self.gender_code, s(30, 2))?;
                put("nation", &o(&self.nation_code), s(32, 4))?;
                put("birth date", &self.birth_date, s(36, 16))?;
                put("address", &o(&self.address), s(52, 70))?;
                put("ID number", &self.id_number, s(122, 36))?;
                put("issuing authority", &o(&self.issuing_authority), s(158, 30))?;
                put("valid from", &self.valid_from, s(188, 16))?;
                put("valid until", &self.valid_until, s(204, 16))?;
            }
            CardType::ForeignPermanent2017 => {
                put("English name", &o(&self.english_name), s(0, 120))?;
                put("gender", &self.gender_code, s(120, 2))?;
                put("ID number", &self.id_number, s(122, 30))?;
                put("nationality", &o(&self.nationality), s(152, 6))?;
                put("name", &o(&self.name), s(158, 30))?;
                put("valid from", &self.valid_from, s(188, 16))?;
                put("valid until", &self.valid_until, s(204, 16))?;
                put("birth date", &self.birth_date, s(220, 16))?;
                put("card version", &o(&self.card_version), s(236, 4))?;
                put("authority code", &o(&self.issuing_authority), s(240, 8))?;
            }
            CardType::HmtResidencePermit => {
                put("name", &o(&self.name), s(0, 30))?;
                put("gender", &self.gender_code, s(30, 2))?;
                put("birth date", &self.birth_date, s(36, 16))?;
                put("address", &o(&self.address), s(52, 70))?;
                put("ID number", &self.id_number, s(122, 36))?;
                put("issuing authority", &o(&self.issuing_authority), s(158, 30))?;
                put("valid from", &self.valid_from, s(188, 16))?;
                put("valid until", &self.valid_until, s(204, 16))?;
                put("pass number", &o(&self.pass_number), s(220, 18))?;
                put("issue count", &o(&self.issue_count), s(238, 4))?;
            }
            CardType::ForeignPermanent2023 => {
                put("name", &o(&self.name), s(0, 30))?;
                put("gender", &self.gender_code, s(30, 2))?;
                put("renewal count", &o(&self.issue_count), s(32, 4))?;
                put("birth date", &self.birth_date, s(36, 16))?;
                let en: Vec<char> = o(&self.english_name).chars().collect();
                if en.len() > 46 {
                    return Err(CardError::TooLong {
                        field: "English name",
                        chars: en.len(),
                        max: 46,
                    });
                }
                let (a, b) = en.split_at(en.len().min(35));
                put("English name", &a.iter().collect::<String>(), s(52, 70))?;
                put("English name", &b.iter().collect::<String>(), s(220, 22))?;
                put("ID number", &self.id_number, s(122, 36))?;
                put("valid from", &self.valid_from, s(188, 16))?;
                put("valid until", &self.valid_until, s(204, 16))?;
                put("nationality", &o(&self.nationality), s(242, 6))?;
                put("previous number", &o(&self.previous_number), s(250, 6))?;
            }
        }
        let t = self.card_type.type_char().to_string();
        encode_ucs2("card type", &t, 2, &mut out[248..250])?;
        Ok(out)
    }

    pub fn gender(&self) -> Option<Gender> {
        Gender::from_code(&self.gender_code)
    }

    /// The ethnic group's name, when the code is one of GB/T 3304's.
    pub fn nation(&self) -> Option<&'static str> {
        self.nation_code.as_deref().and_then(nation_name)
    }

    pub fn birth(&self) -> Option<Date> {
        parse_date(&self.birth_date)
    }

    pub fn valid_from_date(&self) -> Option<Date> {
        parse_date(&self.valid_from)
    }

    pub fn valid_until_date(&self) -> ValidUntil {
        if self.valid_until == LONG_TERM {
            ValidUntil::LongTerm
        } else {
            parse_date(&self.valid_until).map_or(ValidUntil::Unreadable, ValidUntil::Date)
        }
    }

    pub fn long_term(&self) -> bool {
        self.valid_until_date() == ValidUntil::LongTerm
    }

    /// Whether the card's validity ended before `today` (the last day is still valid). A
    /// "valid until" that cannot be read counts as ended: a card is not trusted by default.
    pub fn expired(&self, today: Date) -> bool {
        match self.valid_until_date() {
            ValidUntil::Date(d) => today > d,
            ValidUntil::LongTerm => false,
            ValidUntil::Unreadable => true,
        }
    }

    /// The MOD 11-2 check of the ID number: `Some(ok)` for the 18-character numbers of the
    /// resident, `J` and `Y` cards; `None` for the `I` card, whose 15-character number has no
    /// documented check.
    pub fn id_checksum_ok(&self) -> Option<bool> {
        match self.card_type {
            CardType::ForeignPermanent2017 => None,
            _ => Some(id_checksum_ok(&self.id_number)),
        }
    }
}

/// A whole card as read: text, photo, fingerprints and the additional address.
#[derive(Clone, PartialEq, Eq)]
pub struct Card {
    pub text: CardText,
    /// The WLT photo (1024 bytes). No public decoder exists: store it, show a placeholder.
    pub photo: Vec<u8>,
    /// 0, 1 or 2 records of 512 bytes, as read.
    pub fingerprints: Vec<u8>,
    /// The latest additional address (追加住址), when the card has one.
    pub extra_address: Option<String>,
}

impl fmt::Debug for Card {
    // Personal data stays out of debug output (logs); the type and sizes are enough.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Card")
            .field("card_type", &self.text.card_type)
            .field("photo_bytes", &self.photo.len())
            .field("fingerprints", &self.fingerprint_count())
            .field("extra_address", &self.extra_address.is_some())
            .finish_non_exhaustive()
    }
}

impl Card {
    pub fn fingerprint_count(&self) -> usize {
        self.fingerprints.len() / FINGERPRINT_LEN
    }

    /// The address that is in force: the latest additional address, else the printed one.
    pub fn current_address(&self) -> Option<&str> {
        self.extra_address
            .as_deref()
            .or(self.text.address.as_deref())
    }
}

/// The data of a 30 01 answer (`with_fingerprints = false`) or a 30 10 answer: big-endian
/// lengths of the text, photo (and fingerprints), then the blocks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRead {
    pub text: Vec<u8>,
    pub photo: Vec<u8>,
    pub fingerprints: Vec<u8>,
}

impl RawRead {
    pub fn parse(data: &[u8], with_fingerprints: bool) -> Result<RawRead, CardError> {
        let header = if with_fingerprints { 6 } else { 4 };
        if data.len() < header {
            return Err(CardError::TooShort(data.len()));
        }
        let len = |i: usize| usize::from(u16::from_be_bytes([data[i], data[i + 1]]));
        let (tl, pl) = (len(0), len(2));
        let fl = if with_fingerprints { len(4) } else { 0 };
        let declared = header + tl + pl + fl;
        if declared != data.len() {
            return Err(CardError::LengthMismatch {
                declared,
                actual: data.len(),
            });
        }
        if tl != TEXT_LEN {
            return Err(CardError::TextLength(tl));
        }
        if pl != PHOTO_LEN {
            return Err(CardError::PhotoLength(pl));
        }
        if !matches!(fl, 0 | FINGERPRINT_LEN | 1024) {
            return Err(CardError::FingerprintLength(fl));
        }
        let rest = &data[header..];
        Ok(RawRead {
            text: rest[..tl].to_vec(),
            photo: rest[tl..tl + pl].to_vec(),
            fingerprints: rest[tl + pl..].to_vec(),
        })
    }

    /// The answer's data for this read (the inverse of [`RawRead::parse`]).
    pub fn encode(&self, with_fingerprints: bool) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(self.text.len() as u16).to_be_bytes());
        out.extend_from_slice(&(self.photo.len() as u16).to_be_bytes());
        if with_fingerprints {
            out.extend_from_slice(&(self.fingerprints.len() as u16).to_be_bytes());
        }
        out.extend_from_slice(&self.text);
        out.extend_from_slice(&self.photo);
        if with_fingerprints {
            out.extend_from_slice(&self.fingerprints);
        }
        out
    }
}

/// Parse the data of a 30 01 / 30 10 answer into a card (without its additional address).
pub fn parse_read(data: &[u8], with_fingerprints: bool) -> Result<Card, CardError> {
    let raw = RawRead::parse(data, with_fingerprints)?;
    Ok(Card {
        text: CardText::parse(&raw.text)?,
        photo: raw.photo,
        fingerprints: raw.fingerprints,
        extra_address: None,
    })
}

/// Parse the data of a 30 03 answer (70 bytes of UCS-2); an all-blank block is no address.
pub fn parse_extra_address(data: &[u8]) -> Result<Option<String>, CardError> {
    if data.len() != EXTRA_ADDRESS_LEN {
        return Err(CardError::LengthMismatch {
            declared: EXTRA_ADDRESS_LEN,
            actual: data.len(),
        });
    }
    Ok(opt(decode_ucs2(data)))
}

/// The 70-byte block for an additional address.
pub fn encode_extra_address(addr: &str) -> Result<Vec<u8>, CardError> {
    let mut out = vec![0u8; EXTRA_ADDRESS_LEN];
    encode_ucs2("extra address", addr, EXTRA_ADDRESS_LEN, &mut out)?;
    Ok(out)
}

/// The SAM's ID: `[major, 0, minor, 0, u32le, u32le, u32le]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SamId {
    pub major: u8,
    pub minor: u8,
    pub numbers: [u32; 3],
}

impl SamId {
    pub fn parse(data: &[u8]) -> Option<SamId> {
        if data.len() != 16 {
            return None;
        }
        let n = |i: usize| u32::from_le_bytes([data[i], data[i + 1], data[i + 2], data[i + 3]]);
        Some(SamId {
            major: data[0],
            minor: data[2],
            numbers: [n(4), n(8), n(12)],
        })
    }

    pub fn encode(&self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[0] = self.major;
        out[2] = self.minor;
        for (i, n) in self.numbers.iter().enumerate() {
            out[4 + 4 * i..8 + 4 * i].copy_from_slice(&n.to_le_bytes());
        }
        out
    }

    /// Parse the display form `MM.mm-<u32>-<u32>-<u32>`.
    pub fn from_display(s: &str) -> Option<SamId> {
        let (version, rest) = s.split_once('-')?;
        let (major, minor) = version.split_once('.')?;
        let nums: Vec<u32> = rest
            .split('-')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        Some(SamId {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
            numbers: nums.try_into().ok()?,
        })
    }
}

impl fmt::Display for SamId {
    /// `MM.mm-<u32>-<u32>-<u32>`: the first number is a date (`YYYYMMDD`); the other two are
    /// zero-padded to 10 digits (the sources disagree between 9 and 10; 10 holds any u32).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02}.{:02}-{}-{:010}-{:010}",
            self.major, self.minor, self.numbers[0], self.numbers[1], self.numbers[2]
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn resident() -> CardText {
        CardText {
            name: Some("张䶮".into()),
            gender_code: "1".into(),
            nation_code: Some("07".into()),
            birth_date: "19500312".into(),
            address: Some("云南省文山壮族苗族自治州广南县坝美镇坝美村委会坝美村民小组12号".into()),
            id_number: "53262719500312003X".into(),
            issuing_authority: Some("广南县公安局".into()),
            valid_from: "20200101".into(),
            valid_until: LONG_TERM.into(),
            ..CardText::blank(CardType::Resident)
        }
    }

    #[test]
    fn a_resident_card_round_trips_through_the_256_bytes() {
        let t = resident();
        let bytes = t.encode().unwrap();
        assert_eq!(&bytes[248..250], &[0x20, 0x00]);
        assert_eq!(CardText::parse(&bytes).unwrap(), t);
        assert_eq!(t.nation(), Some("彝"));
        assert_eq!(t.gender(), Some(Gender::Male));
        assert_eq!(t.birth(), Some(date!(1950 - 03 - 12)));
        assert!(t.long_term());
        assert!(!t.expired(date!(2099 - 01 - 01)));
    }

    #[test]
    fn the_other_card_types_are_told_apart_by_their_type_byte() {
        for (ty, ch) in [
            (CardType::ForeignPermanent2017, b'I'),
            (CardType::HmtResidencePermit, b'J'),
            (CardType::ForeignPermanent2023, b'Y'),
        ] {
            let t = CardText {
                name: Some("安娜".into()),
                english_name: (ty != CardType::HmtResidencePermit)
                    .then(|| "ANNA MARIA KOWALSKA-WISNIEWSKA VON HOHENZOLLERN".into()),
                gender_code: "2".into(),
                birth_date: "19880101".into(),
                id_number: if ty == CardType::ForeignPermanent2017 {
                    "POL110088010123".into()
                } else {
                    "810000198801010027".into()
                },
                valid_from: "20230101".into(),
                valid_until: "20330101".into(),
                ..CardText::blank(ty)
            };
            let t = match ty {
                CardType::ForeignPermanent2023 => CardText {
                    english_name: Some(
                        "ANNA MARIA KOWALSKA-WISNIEWSKA VON HOHENZOLLERN"
                            .chars()
                            .take(46)
                            .collect(),
                    ),
                    ..t
                },
                _ => t,
            };
            let bytes = t.encode().unwrap();
            assert_eq!(&bytes[248..250], &[ch, 0]);
            assert_eq!(CardText::parse(&bytes).unwrap(), t, "{ty:?}");
        }
    }

    #[test]
    fn check_characters_are_verified_not_corrected() {
        assert!(id_checksum_ok("53262719950214002X"));
        assert!(id_checksum_ok("53262719950214002x"));
        assert!(id_checksum_ok("532627195003120034"));
        assert!(!id_checksum_ok("5326271950031200341"));
        assert!(!id_checksum_ok("53262719500312003A"));
        let mut t = resident();
        t.id_number = "532627195003120031".into();
        assert_eq!(t.id_checksum_ok(), Some(false));
        assert_eq!(t.id_number, "532627195003120031");
    }

    #[test]
    fn an_ended_validity_is_flagged() {
        let mut t = resident();
        t.valid_until = "20250101".into();
        assert!(!t.expired(date!(2025 - 01 - 01)));
        assert!(t.expired(date!(2025 - 01 - 02)));
        t.valid_until = "2025".into();
        assert_eq!(t.valid_until_date(), ValidUntil::Unreadable);
        assert!(t.expired(date!(2000 - 01 - 01)));
    }

    #[test]
    fn too_long_and_non_ucs2_text_is_refused_when_making_a_card() {
        let mut t = resident();
        t.address = Some("一".repeat(36));
        assert_eq!(
            t.encode().unwrap_err(),
            CardError::TooLong {
                field: "address",
                chars: 36,
                max: 35
            }
        );
        t.address = Some("一".repeat(35));
        assert!(t.encode().is_ok());
        t.name = Some("𠀀".into());
        assert!(matches!(t.encode(), Err(CardError::NotUcs2 { .. })));
    }

    #[test]
    fn reads_parse_with_and_without_fingerprints() {
        let text = resident().encode().unwrap().to_vec();
        for fp in [0, 512, 1024] {
            let raw = RawRead {
                text: text.clone(),
                photo: vec![7; 1024],
                fingerprints: vec![9; fp],
            };
            let card = parse_read(&raw.encode(true), true).unwrap();
            assert_eq!(card.fingerprint_count(), fp / 512);
            assert_eq!(card.text, resident());
        }
        let raw = RawRead {
            text,
            photo: vec![7; 1024],
            fingerprints: vec![],
        };
        assert!(parse_read(&raw.encode(false), false).is_ok());
        assert!(matches!(
            parse_read(&raw.encode(false)[..100], false),
            Err(CardError::LengthMismatch { .. })
        ));
        assert_eq!(parse_read(&[1, 2], true), Err(CardError::TooShort(2)));
    }

    #[test]
    fn the_sam_id_has_its_documented_form() {
        let id = SamId {
            major: 5,
            minor: 1,
            numbers: [20190101, 123456789, 42],
        };
        assert_eq!(id.to_string(), "05.01-20190101-0123456789-0000000042");
        assert_eq!(SamId::parse(&id.encode()), Some(id));
        assert_eq!(SamId::from_display(&id.to_string()), Some(id));
    }
}
