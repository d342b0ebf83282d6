//! The counter's form model: one place where an application is checked before it is stored,
//! for the screen and for `kiosk submit` alike, and where card data fills fields.

use std::collections::{BTreeMap, BTreeSet};

use idcard::Card;
use kiosk_domain::definition::{CardField, ServiceDefinition};
use kiosk_domain::validate::{self, Context};
use store_and_forward::{AppState, NewScan};

use crate::catalog::Catalog;
use time::{OffsetDateTime, UtcOffset};

/// China Standard Time: the date an application is made on is the station's local date.
const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(o) => o,
    Err(_) => UtcOffset::UTC,
};

/// Now, at the station.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc().to_offset(CST)
}

/// One problem with an application, in both languages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    pub field: String,
    pub code: String,
    pub zh: String,
    pub en: String,
}

/// An application that passed every check, normalised as it will be stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checked {
    pub service: String,
    pub service_version: u32,
    pub fields: BTreeMap<String, String>,
    pub masked_name: String,
}

/// Check an application exactly as the counter screen does, against the services and the
/// county parameters in force.
pub fn check(
    catalog: &Catalog,
    service_id: &str,
    fields: &BTreeMap<String, String>,
    scans: &[NewScan],
    now: OffsetDateTime,
) -> Result<Checked, Vec<Problem>> {
    let Some(def) = catalog.service(service_id) else {
        let known: Vec<&str> = catalog.services.iter().map(|d| d.id.as_str()).collect();
        return Err(vec![Problem {
            field: "service".into(),
            code: "unknown_service".into(),
            zh: format!("没有这项服务：{service_id}（可选：{}）", known.join("、")),
            en: format!(
                "there is no service {service_id:?} (known: {})",
                known.join(", ")
            ),
        }]);
    };
    let present: BTreeSet<String> = scans.iter().map(|s| s.scan.clone()).collect();
    let ctx = Context {
        today: now.date(),
        params: &catalog.params,
    };
    let problems: Vec<Problem> = validate::validate(def, fields, &present, &ctx)
        .into_iter()
        .map(|e| Problem {
            field: e.field,
            code: serde_json::to_value(e.code)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            zh: e.message.zh,
            en: e.message.en,
        })
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    let fields = validate::normalize(def, fields);
    Ok(Checked {
        masked_name: masked_name(def, &fields),
        service: def.id.clone(),
        service_version: def.version,
        fields,
    })
}

/// The first name field of the application, masked for the counter board (`张*`, `欧阳**`
/// keeps one character).
pub fn masked_name(def: &ServiceDefinition, fields: &BTreeMap<String, String>) -> String {
    let name = def
        .fields
        .iter()
        .filter(|f| f.from_card == Some(CardField::Name))
        .find_map(|f| fields.get(&f.id).filter(|v| !v.trim().is_empty()));
    match name {
        Some(n) => mask(n.trim()),
        None => "—".into(),
    }
}

pub fn mask(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => String::new(),
    }
}

/// The values a card fills into the fields of `group` (e.g. `mother`). The address is the
/// one in force: the card's latest additional address (追加住址) when it has one.
pub fn card_values(def: &ServiceDefinition, group: &str, card: &Card) -> Vec<(String, String)> {
    let prefix = format!("{group}.");
    let text = &card.text;
    def.fields
        .iter()
        .filter(|f| f.id.starts_with(&prefix))
        .filter_map(|f| {
            let v = match f.from_card? {
                CardField::Name => text
                    .name
                    .clone()
                    .or_else(|| text.english_name.clone())
                    .unwrap_or_default(),
                CardField::Gender => text.gender_code.clone(),
                CardField::Ethnicity => text.nation_code.clone().unwrap_or_default(),
                CardField::BirthDate => iso_date(&text.birth_date),
                CardField::IdNumber => text.id_number.clone(),
                CardField::Address => card.current_address().unwrap_or_default().to_string(),
            };
            Some((f.id.clone(), v))
        })
        .collect()
}

/// `YYYYMMDD` -> `YYYY-MM-DD` (anything else is passed through for validation to catch).
fn iso_date(s: &str) -> String {
    if s.len() == 8 && s.bytes().all(|b| b.is_ascii_digit()) {
        format!("{}-{}-{}", &s[..4], &s[4..6], &s[6..])
    } else {
        s.to_string()
    }
}

/// Labels of the states for screens and the status command.
pub fn state_label(state: AppState) -> (&'static str, &'static str) {
    match state {
        AppState::Queued => ("等待发送", "Waiting"),
        AppState::Sending => ("正在发送", "Sending"),
        AppState::Delivered => ("县里已收到", "Delivered"),
        AppState::Decided => ("县里已审批", "Decided"),
        AppState::Ready => ("可以领取", "Ready"),
        AppState::HandedOver => ("已领取", "Handed over"),
        AppState::Returned => ("被退回", "Returned"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_only_the_first_character() {
        assert_eq!(mask("张三"), "张*");
        assert_eq!(mask("欧阳修文"), "欧***");
        assert_eq!(mask(""), "");
    }

    #[test]
    fn card_dates_become_iso() {
        assert_eq!(iso_date("19500312"), "1950-03-12");
        assert_eq!(iso_date("长期"), "长期");
    }
}
