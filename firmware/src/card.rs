//! `kiosk card read` and `kiosk card sim`: the ID-card reader for technicians, tests and
//! scripts.
//!
//! `card read` exit status: 0 a card was read; 3 no card came within the timeout; 4 a device
//! or protocol error that the driver's retries could not overcome. Every outcome ends with
//! one plain sentence on stderr. The JSON printed with `--json` is a wire type of this
//! command, defined here.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use idcard::sim::{Faults, SimOptions, Simulator};
use idcard::{Card, Gender, Options, Reader, SamId, ValidUntil};
use serde::Serialize;
use sha2::Digest;

use crate::Failure;
use crate::cli::CardAction;

/// No card within the timeout.
const EXIT_NO_CARD: u8 = 3;
/// A device or protocol error.
const EXIT_DEVICE: u8 = 4;

pub fn run(action: CardAction) -> Result<(), Failure> {
    match action {
        CardAction::Read {
            device,
            timeout,
            json,
        } => read(&device, Duration::from_secs_f64(timeout), json),
        CardAction::Sim {
            cards,
            latency_ms,
            split_writes,
            noise,
            corrupt_checksums,
            no_wire_time,
            link,
        } => sim(
            &cards,
            Faults {
                split_writes,
                noise,
                corrupt_checksums,
                latency: Duration::from_millis(latency_ms),
                wire_time: !no_wire_time,
                ..Faults::default()
            },
            link,
        ),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::new(format!("the background workers cannot start: {e}")))
}

fn read(device: &Path, timeout: Duration, json: bool) -> Result<(), Failure> {
    let rt = runtime()?;
    let started = std::time::Instant::now();
    let result = rt.block_on(async {
        let mut reader = Reader::open(device, Options::default())?;
        let sam = reader.sam_id().await?;
        let card = reader.wait_for_card(timeout).await?;
        Ok::<_, idcard::Error>((sam, card))
    });
    let (sam, card) = match result {
        Ok((sam, Some(card))) => (sam, card),
        Ok((_, None)) => {
            return Err(Failure {
                message: format!(
                    "no card was placed on the reader within {} seconds",
                    timeout.as_secs_f64()
                ),
                code: EXIT_NO_CARD,
            });
        }
        Err(e) => {
            return Err(Failure {
                message: e.to_string(),
                code: EXIT_DEVICE,
            });
        }
    };
    let view = CardJson::new(&card, &sam, crate::form::now().date());
    let mut out = std::io::stdout().lock();
    let printed = if json {
        serde_json::to_writer(&mut out, &view)
            .map_err(std::io::Error::other)
            .and_then(|()| writeln!(out))
    } else {
        write!(out, "{}", view.to_chinese())
    };
    printed
        .and_then(|()| out.flush())
        .map_err(|e| Failure::new(format!("the card cannot be printed: {e}")))?;
    eprintln!(
        "kiosk: read a {} card in {:.1} s",
        view.card_type,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn sim(cards: &Path, faults: Faults, link: Option<PathBuf>) -> Result<(), Failure> {
    let text = std::fs::read_to_string(cards).map_err(|e| {
        Failure::new(format!(
            "the cards file {} cannot be read: {e}",
            cards.display()
        ))
    })?;
    let (cards, sam_id) = idcard::sim::parse_card_file(&text).map_err(|e| Failure {
        message: e.to_string(),
        code: 1,
    })?;
    let rt = runtime()?;
    let count = cards.len();
    let sim = Simulator::start(SimOptions {
        cards,
        sequence: true,
        sam_id: sam_id.unwrap_or(idcard::sim::DEFAULT_SAM_ID),
        faults,
        link,
    })
    .map_err(|e| Failure::new(format!("the simulator cannot open a pseudo-terminal: {e}")))?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{}", sim.path().display());
    let _ = writeln!(
        out,
        "kiosk card sim: {count} card(s); each is lifted once read and the next placed; \
         stop with Ctrl-C"
    );
    let _ = out.flush();
    drop(out);
    rt.block_on(crate::daemon::wait_for_signal());
    drop(sim);
    Ok(())
}

/// What `kiosk card read --json` prints: absent data is `null`, never an empty string.
#[derive(Debug, Serialize)]
pub struct CardJson {
    pub card_type: &'static str,
    pub name: Option<String>,
    pub english_name: Option<String>,
    pub gender: &'static str,
    pub nation_code: Option<String>,
    pub nation: Option<&'static str>,
    pub birth_date: Option<String>,
    pub address: Option<String>,
    pub extra_address: Option<String>,
    pub id_number: Option<String>,
    /// `null` for the 2017 foreign card, whose number has no documented check.
    pub id_checksum_ok: Option<bool>,
    pub issuing_authority: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    pub long_term: bool,
    pub expired: bool,
    pub nationality: Option<String>,
    pub pass_number: Option<String>,
    pub issue_count: Option<String>,
    pub photo_sha256: String,
    pub fingerprint_count: usize,
    pub sam_id: String,
}

fn some(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn opt(s: &Option<String>) -> Option<String> {
    s.as_deref().and_then(some)
}

fn iso(d: Option<time::Date>) -> Option<String> {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()))
}

impl CardJson {
    pub fn new(card: &Card, sam: &SamId, today: time::Date) -> CardJson {
        let t = &card.text;
        CardJson {
            card_type: t.card_type.key(),
            name: opt(&t.name),
            english_name: opt(&t.english_name),
            // A code outside GB/T 2261.1 is shown as unknown (the code itself is kept
            // on the card data).
            gender: t.gender().unwrap_or(Gender::Unknown).key(),
            nation_code: opt(&t.nation_code),
            nation: t.nation(),
            birth_date: iso(t.birth()),
            address: opt(&t.address),
            extra_address: opt(&card.extra_address),
            id_number: some(&t.id_number),
            id_checksum_ok: t.id_checksum_ok(),
            issuing_authority: opt(&t.issuing_authority),
            valid_from: iso(t.valid_from_date()),
            valid_until: match t.valid_until_date() {
                ValidUntil::Date(d) => iso(Some(d)),
                ValidUntil::LongTerm | ValidUntil::Unreadable => None,
            },
            long_term: t.long_term(),
            expired: t.expired(today),
            nationality: opt(&t.nationality),
            pass_number: opt(&t.pass_number),
            issue_count: opt(&t.issue_count),
            photo_sha256: hex::encode(sha2::Sha256::digest(&card.photo)),
            fingerprint_count: card.fingerprint_count(),
            sam_id: sam.to_string(),
        }
    }

    /// The same, for a person, in Chinese.
    pub fn to_chinese(&self) -> String {
        let mut lines: Vec<String> = Vec::new();
        let ty = idcard::CardType::from_key(self.card_type).map_or("", |t| t.label_zh());
        lines.push(format!("证件类型：{ty}"));
        let mut line = |label: &str, v: &Option<String>| {
            if let Some(v) = v {
                lines.push(format!("{label}：{v}"));
            }
        };
        line("姓名", &self.name);
        line("英文姓名", &self.english_name);
        let gender = match self.gender {
            "male" => Gender::Male,
            "female" => Gender::Female,
            "unstated" => Gender::Unstated,
            _ => Gender::Unknown,
        };
        line("性别", &Some(gender.label_zh().to_string()));
        line(
            "民族",
            &self.nation_code.as_ref().map(|c| match self.nation {
                Some(n) => format!("{n}（{c}）"),
                None => format!("代码 {c}（不在民族代码表中）"),
            }),
        );
        line("出生日期", &self.birth_date);
        line("住址", &self.address);
        line("追加住址", &self.extra_address);
        line(
            "证件号码",
            &self.id_number.as_ref().map(|n| match self.id_checksum_ok {
                Some(true) => format!("{n}（校验码正确）"),
                Some(false) => format!("{n}（校验码不对！请核对证件）"),
                None => n.clone(),
            }),
        );
        line("签发机关", &self.issuing_authority);
        let until = if self.long_term {
            "长期".to_string()
        } else {
            self.valid_until
                .clone()
                .unwrap_or_else(|| "无法识别".into())
        };
        let from = self.valid_from.clone().unwrap_or_else(|| "无法识别".into());
        let expired = if self.expired {
            "（已过期！）"
        } else {
            ""
        };
        line("有效期限", &Some(format!("{from} 至 {until}{expired}")));
        line("国籍", &self.nationality);
        line("通行证号码", &self.pass_number);
        line("签发次数", &self.issue_count);
        line(
            "照片",
            &Some(format!(
                "已读取（SHA-256 {}…；照片需专用解码，此处不显示）",
                &self.photo_sha256[..16]
            )),
        );
        line("指纹", &Some(format!("{} 枚", self.fingerprint_count)));
        line("安全模块号", &Some(self.sam_id.clone()));
        let mut s = lines.join("\n");
        s.push('\n');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use idcard::{CardText, CardType};
    use time::macros::date;

    fn card(valid_until: &str, id: &str) -> Card {
        let text = CardText {
            name: Some("阿䶮".into()),
            gender_code: "2".into(),
            nation_code: Some("07".into()),
            birth_date: "19950214".into(),
            address: Some("云南省".into()),
            id_number: id.into(),
            issuing_authority: Some("广南县公安局".into()),
            valid_from: "20150214".into(),
            valid_until: valid_until.into(),
            ..CardText::blank(CardType::Resident)
        };
        idcard::sim::make_card(text, None, 1).unwrap()
    }

    #[test]
    fn the_json_has_every_key_and_nulls_for_absent_data() {
        let sam = idcard::sim::DEFAULT_SAM_ID;
        let v = serde_json::to_value(CardJson::new(
            &card("长期", "53262719950214002X"),
            &sam,
            date!(2026 - 01 - 01),
        ))
        .unwrap();
        let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let mut want = vec![
            "card_type",
            "name",
            "english_name",
            "gender",
            "nation_code",
            "nation",
            "birth_date",
            "address",
            "extra_address",
            "id_number",
            "id_checksum_ok",
            "issuing_authority",
            "valid_from",
            "valid_until",
            "long_term",
            "expired",
            "nationality",
            "pass_number",
            "issue_count",
            "photo_sha256",
            "fingerprint_count",
            "sam_id",
        ];
        want.sort();
        assert_eq!(keys, want);
        assert_eq!(v["english_name"], serde_json::Value::Null);
        assert_eq!(v["extra_address"], serde_json::Value::Null);
        assert_eq!(v["valid_until"], serde_json::Value::Null);
        assert_eq!(v["long_term"], true);
        assert_eq!(v["nation"], "彝");
        assert_eq!(v["gender"], "female");
        assert_eq!(v["birth_date"], "1995-02-14");
        assert_eq!(v["id_checksum_ok"], true);
        assert_eq!(v["sam_id"], "05.01-20190101-0000000001-0000000002");
    }

    #[test]
    fn a_wrong_check_character_and_an_ended_validity_are_flagged() {
        let sam = idcard::sim::DEFAULT_SAM_ID;
        let j = CardJson::new(
            &card("20250101", "532627199502140021"),
            &sam,
            date!(2025 - 01 - 02),
        );
        assert_eq!(j.id_checksum_ok, Some(false));
        assert!(j.expired);
        assert_eq!(j.valid_until.as_deref(), Some("2025-01-01"));
        let zh = j.to_chinese();
        assert!(zh.contains("校验码不对"), "{zh}");
        assert!(zh.contains("已过期"), "{zh}");
        assert!(zh.contains("民族：彝（07）"), "{zh}");
    }
}
