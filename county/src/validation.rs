//! Field validation at intake: the same [`kiosk_domain::validate()`] the station ran before it
//! stored the application, run again on the plaintext record (a sealed one after opening it),
//! so a record the station should never have sent (an old build, a tool, a forged request)
//! is refused with the fields named instead of reaching a clerk.
//!
//! Against what: the county's service definitions (the built-in ones; the catalog the county
//! serves has no revisions or parameter overrides of its own yet, so stations use the same
//! ones with default parameters). "Today" is the station's: the day of `submitted_at` in
//! China Standard Time, so a record that waited in the outbox for a week is judged as on the
//! day it was taken — unless the station said its clock was doubtful at the capture
//! (`clock.confidence = doubtful`: never set since a power cut, gone back, far off the
//! county's); then the county's own day on arrival decides age rules. Scans: a scan slot the definition does not have is refused; a missing
//! required scan is not (yet) checked here.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use county_api::SubmitApplication;
use kiosk_domain::{Context, ErrorCode, ServiceDefinition};
use time::UtcOffset;

/// The services the county takes.
static SERVICES: LazyLock<Vec<ServiceDefinition>> = LazyLock::new(kiosk_domain::builtin);

/// China Standard Time, the stations' clock.
const CST: UtcOffset = match UtcOffset::from_hms(8, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The definition of a service the county takes.
pub(crate) fn service(id: &str) -> Option<&'static ServiceDefinition> {
    SERVICES.iter().find(|d| d.id == id)
}

/// The ids of the services the county takes.
pub(crate) fn service_ids() -> Vec<&'static str> {
    SERVICES.iter().map(|d| d.id.as_str()).collect()
}

/// Every problem with the record's fields (and scan slots), field id → reason ("中文 /
/// English"). Empty when the record is valid, and when its service or its `submitted_at` is
/// unknown or unreadable (the shape checks report those).
pub(crate) fn problems(
    application: &SubmitApplication,
    now: time::OffsetDateTime,
) -> BTreeMap<String, String> {
    let mut problems = BTreeMap::new();
    let Some(def) = service(&application.service) else {
        return problems;
    };
    if application.service_version != def.version {
        problems.insert(
            "service_version".to_owned(),
            format!(
                "县平台没有该服务的第 {} 版（现行第 {} 版） / revision {} of {} is not known \
                 to this county (it has revision {})",
                application.service_version,
                def.version,
                application.service_version,
                def.id,
                def.version
            ),
        );
        return problems;
    }
    let Ok(submitted) = time::OffsetDateTime::parse(
        &application.submitted_at,
        &time::format_description::well_known::Rfc3339,
    ) else {
        return problems;
    };
    let doubtful = application
        .clock
        .as_ref()
        .is_some_and(|c| c.confidence == county_api::ClockConfidence::Doubtful);
    let dated = if doubtful { now } else { submitted };
    let params = BTreeMap::new();
    let ctx = Context {
        today: dated.to_offset(CST).date(),
        params: &params,
    };
    let scans: BTreeSet<String> = application
        .attachments
        .iter()
        .map(|a| a.scan.clone())
        .collect();
    for error in kiosk_domain::validate(def, &application.fields, &scans, &ctx) {
        if error.code == ErrorCode::MissingScan {
            continue;
        }
        // One reason per field: the validator's first (it orders a field's own check first).
        problems
            .entry(error.field)
            .or_insert_with(|| format!("{} / {}", error.message.zh, error.message.en));
    }
    problems
}

#[cfg(test)]
fn problems_now(application: &SubmitApplication) -> BTreeMap<String, String> {
    problems(application, time::OffsetDateTime::now_utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> SubmitApplication {
        let text = include_str!("../../tests/data/applications/elderly-card.json");
        let sample: serde_json::Value = serde_json::from_str(text).unwrap();
        SubmitApplication {
            application_id: uuid::Uuid::now_v7(),
            tracking_number: "EC-1".into(),
            service: "elderly-card".into(),
            service_version: 1,
            submitted_at: "2026-11-25T08:00:00Z".into(),
            fields: serde_json::from_value(sample["fields"].clone()).unwrap(),
            attachments: Vec::new(),
            sealed: None,
            clock: None,
        }
    }

    #[test]
    fn the_sample_application_is_valid() {
        assert_eq!(problems_now(&valid()), BTreeMap::new());
    }

    #[test]
    fn each_bad_field_is_named_once_with_a_bilingual_reason() {
        let mut a = valid();
        a.fields
            .insert("applicant.id_number".into(), "532627195003120035".into());
        a.fields.remove("applicant.name");
        a.fields.insert("nickname".into(), "老李".into());
        let found = problems_now(&a);
        assert_eq!(
            found.keys().map(String::as_str).collect::<Vec<_>>(),
            ["applicant.id_number", "applicant.name", "nickname"],
            "{found:?}"
        );
        assert!(found.values().all(|r| r.contains(" / ")), "{found:?}");
    }

    #[test]
    fn a_doubtful_station_clock_is_dated_by_the_countys_day() {
        use county_api::{ClockConfidence, ClockNote};
        let at = |t: &str| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
        };
        let mut a = valid();
        // The station says the 12th (old enough), but its clock was never set after a
        // power cut; the county receives it on the 11th (too young that day).
        a.submitted_at = "2010-03-12T04:00:00Z".into();
        assert_eq!(problems(&a, at("2010-03-11T04:00:00Z")), BTreeMap::new());
        a.clock = Some(ClockNote {
            confidence: ClockConfidence::Doubtful,
            county_offset_secs: None,
            compared_at: None,
        });
        assert!(
            problems(&a, at("2010-03-11T04:00:00Z")).contains_key("applicant.birth_date"),
            "judged on the county's day"
        );
        assert_eq!(problems(&a, at("2010-03-12T04:00:00Z")), BTreeMap::new());
        // A checked clock keeps the station's day.
        a.clock.as_mut().unwrap().confidence = ClockConfidence::Checked;
        assert_eq!(problems(&a, at("2010-03-11T04:00:00Z")), BTreeMap::new());
    }

    #[test]
    fn today_is_the_stations_day_of_submission() {
        // Born 1950-03-12: 60, the card's minimum age, on 2010-03-12 at the station (UTC+8).
        let mut a = valid();
        a.submitted_at = "2010-03-11T15:00:00Z".into(); // 23:00 on the 11th at the station
        let found = problems_now(&a);
        assert!(
            found.contains_key("applicant.birth_date"),
            "too young: {found:?}"
        );
        a.submitted_at = "2010-03-11T16:30:00Z".into(); // 00:30 on the 12th at the station
        assert_eq!(problems_now(&a), BTreeMap::new());
    }

    #[test]
    fn an_unknown_revision_or_scan_slot_is_a_problem() {
        let mut a = valid();
        a.service_version = 9;
        assert!(problems_now(&a).contains_key("service_version"));
        let mut a = valid();
        a.attachments.push(county_api::AttachmentManifest {
            name: "x.jpg".into(),
            scan: "selfie".into(),
            content_type: "image/jpeg".into(),
            size: 1,
            sha256: "0".repeat(64),
        });
        assert!(
            problems_now(&a).contains_key("scans.selfie"),
            "{:?}",
            problems_now(&a)
        );
    }
}
