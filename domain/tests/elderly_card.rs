//! Validation of the built-in `elderly-card` service.

mod common;

use common::*;
use kiosk_domain::{ErrorCode, FieldValues, Gender, Text};
use time::Date;
use time::macros::date;

const SCANS: [&str; 3] = ["applicant_id_card", "household_register", "photo"];

/// A complete, valid application by the applicant in person, born 1950-05-12.
fn sample() -> FieldValues {
    applicant_born(date!(1950 - 05 - 12))
}

fn applicant_born(birth: Date) -> FieldValues {
    values(&[
        ("applicant.name", "张德贵"),
        ("applicant.gender", "1"),
        ("applicant.ethnicity", "16"),
        ("applicant.birth_date", &ymd(birth)),
        (
            "applicant.id_number",
            &id_number("532524", birth, 51, Gender::Male),
        ),
        ("applicant.address", "云南省红河州建水县某某乡某某村 8 号"),
        ("applicant.phone", "0873-7654321"),
        ("emergency.name", "张小梅"),
        ("emergency.phone", "13987654321"),
    ])
}

fn proxy() -> [(&'static str, String); 4] {
    [
        ("proxy.name", "张小梅".to_string()),
        (
            "proxy.id_number",
            id_number("532524", date!(1978 - 02 - 14), 62, Gender::Female),
        ),
        ("proxy.phone", "13987654321".to_string()),
        ("proxy.relation", "女儿".to_string()),
    ]
}

fn check(changes: &[(&str, &str)], scan_ids: &[&str], expected: &[(&str, ErrorCode)]) {
    let errors = run(
        "elderly-card",
        &with(&sample(), changes),
        &scans(scan_ids),
        &[],
    );
    assert_codes(&errors, expected);
}

#[test]
fn complete_sample_passes() {
    check(&[], &SCANS, &[]);
    // the applicant's phone is optional
    check(&[("applicant.phone", "")], &SCANS, &[]);
}

#[test]
fn must_be_60_on_the_day_of_application() {
    // today is 2026-11-25
    let errors = run(
        "elderly-card",
        &applicant_born(date!(1966 - 11 - 25)),
        &scans(&SCANS),
        &[],
    );
    assert_codes(&errors, &[]);
    // 59 years and 364 days
    let errors = run(
        "elderly-card",
        &applicant_born(date!(1966 - 11 - 26)),
        &scans(&SCANS),
        &[],
    );
    assert_codes(&errors, &[("applicant.birth_date", ErrorCode::TooYoung)]);
    assert_eq!(
        errors[0].message,
        Text::new(
            "申请人 出生日期：今天 59 周岁，年满 60 周岁才能办理",
            "Applicant — Date of birth: 59 years old today; the card needs at least 60"
        )
    );
}

#[test]
fn county_override_of_min_age_applies() {
    let born = applicant_born(date!(1961 - 11 - 26)); // 64 today
    let errors = run("elderly-card", &born, &scans(&SCANS), &[]);
    assert_codes(&errors, &[]);
    let errors = run("elderly-card", &born, &scans(&SCANS), &[("min_age", 65)]);
    assert_codes(&errors, &[("applicant.birth_date", ErrorCode::TooYoung)]);
    assert!(errors[0].message.zh.contains("年满 65 周岁"), "{errors:?}");
    let born = applicant_born(date!(1961 - 11 - 25)); // 65 today
    let errors = run("elderly-card", &born, &scans(&SCANS), &[("min_age", 65)]);
    assert_codes(&errors, &[]);
}

#[test]
fn proxy_is_all_or_nothing() {
    use ErrorCode::*;
    // half-filled proxy: its other required fields and its scan become required
    check(
        &[("proxy.name", "张小梅")],
        &SCANS,
        &[
            ("proxy.id_number", Required),
            ("proxy.phone", Required),
            ("proxy.relation", Required),
            ("scans.proxy_id_card", MissingScan),
        ],
    );
    let p = proxy();
    let full: Vec<(&str, &str)> = p.iter().map(|(k, v)| (*k, v.as_str())).collect();
    // complete proxy with the scan
    check(&full, &[&SCANS[..], &["proxy_id_card"]].concat(), &[]);
    // complete proxy without the scan
    check(&full, &SCANS, &[("scans.proxy_id_card", MissingScan)]);
    // a proxy scan without a proxy is harmless
    check(&[], &[&SCANS[..], &["proxy_id_card"]].concat(), &[]);
    // blank strings do not make the group used
    check(&[("proxy.name", "  "), ("proxy.relation", "")], &SCANS, &[]);
    // the proxy's ID number is checked like any other
    let good = &p[1].1;
    let bad = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );
    check(
        &[&full[..], &[("proxy.id_number", bad.as_str())]].concat(),
        &[&SCANS[..], &["proxy_id_card"]].concat(),
        &[("proxy.id_number", ErrorCode::IdNumber)],
    );
}

#[test]
fn applicant_id_number_must_match() {
    check(
        &[("applicant.gender", "2")],
        &SCANS,
        &[("applicant.id_number", ErrorCode::IdMismatch)],
    );
    check(
        &[("applicant.birth_date", "1950-05-13")],
        &SCANS,
        &[("applicant.id_number", ErrorCode::IdMismatch)],
    );
}

#[test]
fn future_birth_date_is_rejected() {
    check(
        &[("applicant.birth_date", "2027-05-12")],
        &SCANS,
        &[("applicant.birth_date", ErrorCode::FutureDate)],
    );
}

#[test]
fn unknown_field_is_rejected() {
    check(
        &[("applicant.pension_number", "123")],
        &SCANS,
        &[("applicant.pension_number", ErrorCode::UnknownField)],
    );
}

#[test]
fn required_fields_and_scans() {
    use ErrorCode::*;
    check(
        &[("emergency.phone", ""), ("emergency.name", "")],
        &["applicant_id_card", "household_register"],
        &[
            ("emergency.name", Required),
            ("emergency.phone", Required),
            ("scans.photo", MissingScan),
        ],
    );
}
