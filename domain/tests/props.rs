//! Properties of ID numbers, ages and validation.

mod common;

use common::*;
use kiosk_domain::{Gender, IdNumber, age_on};
use proptest::prelude::*;
use time::{Date, Duration, Month};

/// Province-level codes accepted by `IdNumber::parse` (see the `idnumber` module docs).
const PROVINCES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "83",
];

/// A plausible 6-digit region: a province, a city other than 00 (or 0000 for 71/81/82/83,
/// the HK/Macao/Taiwan forms), a county; or a 2023 foreign permanent resident prefix.
fn region() -> impl Strategy<Value = String> {
    prop_oneof![
        (prop::sample::select(&PROVINCES[..31]), 1u8..=99, 0u8..=99)
            .prop_map(|(p, city, county)| format!("{p}{city:02}{county:02}")),
        prop::sample::select(&PROVINCES[31..]).prop_map(|p| format!("{p}0000")),
        (prop::sample::select(&PROVINCES[..31]), 0u16..=999)
            .prop_map(|(p, nationality)| format!("9{p}{nationality:03}")),
    ]
}

fn date_between(from: Date, to: Date) -> impl Strategy<Value = Date> {
    let days = (to - from).whole_days();
    (0..=days).prop_map(move |d| from + Duration::days(d))
}

fn birth_date() -> impl Strategy<Value = Date> {
    date_between(
        Date::from_calendar_date(1900, Month::January, 1).unwrap(),
        Date::from_calendar_date(2025, Month::December, 31).unwrap(),
    )
}

fn gender() -> impl Strategy<Value = Gender> {
    prop_oneof![Just(Gender::Male), Just(Gender::Female)]
}

/// A valid number and what it encodes.
fn valid_id() -> impl Strategy<Value = (String, Date, Gender)> {
    (region(), birth_date(), 0u16..1000, gender())
        .prop_map(|(r, d, seq, g)| (id_number(&r, d, seq, g), d, g))
}

/// The next anniversary-based birthday in `year`: the same day, or 1 March for a
/// 29 February birth in a common year.
fn birthday_in(birth: Date, year: i32) -> Date {
    Date::from_calendar_date(year, birth.month(), birth.day())
        .unwrap_or_else(|_| Date::from_calendar_date(year, Month::March, 1).unwrap())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn valid_numbers_parse_and_round_trip((number, birth, gender) in valid_id()) {
        let id = IdNumber::parse(&number).unwrap();
        prop_assert_eq!(id.as_str(), number.as_str());
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.gender(), gender);
        prop_assert_eq!(id.region_code(), &number[..6]);
        prop_assert_eq!(kiosk_domain::check_char(&number[..17]), number.chars().last());
        // lower-case x and surrounding whitespace are accepted
        let sloppy = format!(" {}\t", number.to_lowercase());
        prop_assert_eq!(IdNumber::parse(&sloppy).unwrap(), id);
    }

    /// MOD 11-2 catches every substitution of one character by another of 0-9X, at every
    /// position: each is tried for each generated number.
    #[test]
    fn every_single_substitution_is_caught((number, _, _) in valid_id()) {
        for position in 0..18 {
            for &replacement in b"0123456789X" {
                let mut bytes = number.clone().into_bytes();
                if bytes[position] == replacement {
                    continue;
                }
                bytes[position] = replacement;
                let changed = String::from_utf8(bytes).unwrap();
                prop_assert!(
                    IdNumber::parse(&changed).is_err(),
                    "{} accepted (changed from {})", changed, number
                );
            }
        }
    }

    #[test]
    fn age_is_monotonic(birth in birth_date(), a in birth_date(), b in birth_date()) {
        let (early, late) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(age_on(birth, early) <= age_on(birth, late));
        prop_assert!(age_on(birth, early) >= 0);
    }

    #[test]
    fn age_grows_by_one_on_each_anniversary(birth in birth_date(), years in 1i32..=120) {
        let anniversary = birthday_in(birth, birth.year() + years);
        let eve = anniversary.previous_day().unwrap();
        prop_assert_eq!(age_on(birth, anniversary), years);
        prop_assert_eq!(age_on(birth, eve), years - 1);
        // and stays there until the next one
        let next = birthday_in(birth, birth.year() + years + 1);
        prop_assert_eq!(age_on(birth, next.previous_day().unwrap()), years);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Validation sees values the way `normalize` stores them.
    #[test]
    fn normalize_does_not_change_the_verdict(
        pad in prop::sample::select(vec!["", " ", "\u{3000}", "\t "]),
        (number, birth, gender) in valid_id(),
        empty_phone in any::<bool>(),
    ) {
        let def = kiosk_domain::builtin().remove(1);
        let mut v = values(&[
            ("applicant.name", "张德贵"),
            ("applicant.gender", gender.code()),
            ("applicant.ethnicity", "01"),
            ("applicant.birth_date", &ymd(birth)),
            ("applicant.id_number", &number.to_lowercase()),
            ("applicant.address", "云南省某某县"),
            ("applicant.phone", if empty_phone { "" } else { "13812345678" }),
            ("emergency.name", "张小梅"),
            ("emergency.phone", "13987654321"),
        ]);
        for value in v.values_mut() {
            *value = format!("{pad}{value}{pad}");
        }
        let s = scans(&["applicant_id_card", "household_register", "photo"]);
        let raw = run("elderly-card", &v, &s, &[]);
        let normalized = kiosk_domain::normalize(&def, &v);
        prop_assert_eq!(&run("elderly-card", &normalized, &s, &[]), &raw);
        prop_assert_eq!(&kiosk_domain::normalize(&def, &normalized), &normalized);
        prop_assert!(normalized.values().all(|x| !x.is_empty() && x.trim() == x));
    }
}
