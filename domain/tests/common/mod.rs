//! Helpers shared by the integration tests.
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::{BTreeMap, BTreeSet};

use kiosk_domain::{Context, ErrorCode, FieldError, FieldValues, Gender};
use time::Date;
use time::macros::date;

/// The fixed "today" of the tests.
pub const TODAY: Date = date!(2026 - 11 - 25);

/// The ISO 7064 MOD 11-2 check character, computed the recursive way (`p = 2(p + d) mod
/// 11`, check `(12 - p) mod 11`), independently of the crate's weight table.
pub fn mod11_2(first17: &str) -> char {
    assert_eq!(first17.len(), 17, "{first17:?}");
    let p = first17
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .fold(0, |p, d| (p + d) * 2 % 11);
    match (12 - p) % 11 {
        10 => 'X',
        n => char::from_digit(n, 10).unwrap(),
    }
}

/// A valid ID number for `region` (6 digits), `birth` and a sequence number `seq`
/// (0..=999) whose last digit is forced odd for a man and even for a woman.
pub fn id_number(region: &str, birth: Date, seq: u16, gender: Gender) -> String {
    let seq = match gender {
        Gender::Male => seq / 2 * 2 + 1,
        _ => seq / 2 * 2,
    } % 1000;
    let first17 = format!(
        "{region}{:04}{:02}{:02}{seq:03}",
        birth.year(),
        birth.month() as u8,
        birth.day()
    );
    format!("{first17}{}", mod11_2(&first17))
}

/// `YYYY-MM-DD`.
pub fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

pub fn values(pairs: &[(&str, &str)]) -> FieldValues {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub fn scans(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

pub fn params(pairs: &[(&str, i64)]) -> BTreeMap<String, i64> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Validates with today = [`TODAY`] and the given parameter overrides.
pub fn run(
    service: &str,
    values: &FieldValues,
    scans: &BTreeSet<String>,
    overrides: &[(&str, i64)],
) -> Vec<FieldError> {
    let def = kiosk_domain::builtin()
        .into_iter()
        .find(|d| d.id == service)
        .expect("builtin service");
    let overrides = params(overrides);
    let ctx = Context {
        today: TODAY,
        params: &overrides,
    };
    kiosk_domain::validate(&def, values, scans, &ctx)
}

/// `(field, code)` of each error, in order.
pub fn codes(errors: &[FieldError]) -> Vec<(String, ErrorCode)> {
    errors.iter().map(|e| (e.field.clone(), e.code)).collect()
}

/// Replaces (or, with `""`, empties) the given values of `base`.
pub fn with(base: &FieldValues, changes: &[(&str, &str)]) -> FieldValues {
    let mut v = base.clone();
    for (k, val) in changes {
        v.insert(k.to_string(), val.to_string());
    }
    v
}

/// Asserts the `(field, code)` list, printing the messages on failure.
pub fn assert_codes(errors: &[FieldError], expected: &[(&str, ErrorCode)]) {
    let expected: Vec<(String, ErrorCode)> =
        expected.iter().map(|(f, c)| (f.to_string(), *c)).collect();
    assert_eq!(codes(errors), expected, "errors: {errors:#?}");
    for e in errors {
        assert!(
            !e.message.zh.is_empty() && !e.message.en.is_empty(),
            "{e:?}"
        );
    }
}
