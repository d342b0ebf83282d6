//! Validation of the built-in `birth-permit` service.

mod common;

use common::*;
use kiosk_domain::{ErrorCode, FieldValues, Gender, Text};
use time::Date;
use time::macros::date;

const ALL_SCANS: [&str; 5] = [
    "mother_id_card",
    "father_id_card",
    "mother_household_register",
    "father_household_register",
    "marriage_certificate",
];

const MOTHER_BIRTH: Date = date!(1996 - 03 - 08);
const FATHER_BIRTH: Date = date!(1994 - 07 - 21);

/// A complete, valid application: mother 23 and father 25 at the 2019-10-01 marriage.
fn sample() -> FieldValues {
    let mother_id = id_number("532301", MOTHER_BIRTH, 124, Gender::Female);
    let father_id = id_number("532301", FATHER_BIRTH, 37, Gender::Male);
    values(&[
        ("mother.name", "李春花"),
        ("mother.gender", "2"),
        ("mother.ethnicity", "07"),
        ("mother.birth_date", &ymd(MOTHER_BIRTH)),
        ("mother.id_number", &mother_id),
        ("mother.address", "云南省楚雄市东瓜镇大村委会小村 12 号"),
        ("mother.phone", "13812345678"),
        ("father.name", "王建国"),
        ("father.gender", "1"),
        ("father.ethnicity", "01"),
        ("father.birth_date", &ymd(FATHER_BIRTH)),
        ("father.id_number", &father_id),
        ("father.address", "云南省楚雄市东瓜镇大村委会小村 12 号"),
        ("father.phone", "15987654321"),
        ("marriage.date", "2019-10-01"),
        ("marriage.certificate_number", "J532301-2019-000123"),
        ("children.living", "0"),
        ("children.order", "1"),
        ("children.expected_due_date", "2027-03-15"),
        ("contact.sms_phone", "13812345678"),
    ])
}

fn check(changes: &[(&str, &str)], expected: &[(&str, ErrorCode)]) {
    let errors = run(
        "birth-permit",
        &with(&sample(), changes),
        &scans(&ALL_SCANS),
        &[],
    );
    assert_codes(&errors, expected);
}

/// The mother's birth date and a matching ID number.
fn mother_born(birth: Date) -> [(&'static str, String); 2] {
    [
        ("mother.birth_date", ymd(birth)),
        (
            "mother.id_number",
            id_number("532301", birth, 124, Gender::Female),
        ),
    ]
}

fn father_born(birth: Date) -> [(&'static str, String); 2] {
    [
        ("father.birth_date", ymd(birth)),
        (
            "father.id_number",
            id_number("532301", birth, 37, Gender::Male),
        ),
    ]
}

fn owned<'a>(changes: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    changes.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn complete_sample_passes() {
    check(&[], &[]);
}

#[test]
fn expected_due_date_is_optional_and_may_be_past() {
    check(&[("children.expected_due_date", "")], &[]);
    check(&[("children.expected_due_date", "2026-11-01")], &[]);
}

#[test]
fn id_number_must_agree_with_birth_date_and_gender() {
    use ErrorCode::*;
    check(
        &[("mother.birth_date", "1996-03-09")],
        &[("mother.id_number", IdMismatch)],
    );
    check(
        &[("mother.gender", "1")],
        &[("mother.id_number", IdMismatch)],
    );
    check(
        &[("father.birth_date", "1994-07-20")],
        &[("father.id_number", IdMismatch)],
    );
    check(
        &[("father.gender", "2")],
        &[("father.id_number", IdMismatch)],
    );
    // both at once: still one error, naming both
    let errors = run(
        "birth-permit",
        &with(
            &sample(),
            &[("mother.birth_date", "1996-03-09"), ("mother.gender", "1")],
        ),
        &scans(&ALL_SCANS),
        &[],
    );
    assert_codes(&errors, &[("mother.id_number", IdMismatch)]);
    assert_eq!(
        errors[0].message,
        Text::new(
            "母亲 身份证号码与出生日期（1996-03-09）不一致，号码中为 1996-03-08；与性别（男）不一致，号码中为女",
            "Mother — ID number: it does not agree with Date of birth (1996-03-09); the number says 1996-03-08; it does not agree with Gender (Male); the number says Female"
        )
    );
    // gender codes 0 and 9 are not compared
    check(&[("mother.gender", "9")], &[]);
}

#[test]
fn rules_are_skipped_when_an_input_is_empty_or_invalid() {
    use ErrorCode::*;
    // The birth date is missing: Required, and neither id_matches nor min_age fires.
    check(
        &[("mother.birth_date", "")],
        &[("mother.birth_date", Required)],
    );
    check(
        &[("mother.birth_date", "1996-3-8")],
        &[("mother.birth_date", Invalid)],
    );
    // The ID number is wrong: one error, on it.
    let id = sample()["mother.id_number"].clone();
    let broken = format!("{}{}", &id[..17], if id.ends_with('1') { '2' } else { '1' });
    check(
        &[("mother.id_number", &broken)],
        &[("mother.id_number", ErrorCode::IdNumber)],
    );
    // The marriage date is in the future: no age rule fires.
    check(
        &[("marriage.date", "2027-01-01")],
        &[("marriage.date", FutureDate)],
    );
}

#[test]
fn mother_must_be_20_at_marriage() {
    // marriage 2019-10-01: born 1999-10-01 is 20 that day, born 1999-10-02 is 19.
    check(&owned(&mother_born(date!(1999 - 10 - 01))), &[]);
    check(
        &owned(&mother_born(date!(1999 - 10 - 02))),
        &[("mother.birth_date", ErrorCode::TooYoung)],
    );
    let errors = run(
        "birth-permit",
        &with(&sample(), &owned(&mother_born(date!(1999 - 10 - 02)))),
        &scans(&ALL_SCANS),
        &[],
    );
    assert_eq!(
        errors[0].message,
        Text::new(
            "母亲 出生日期：结婚登记时只有 19 周岁，女方须年满 20 周岁",
            "Mother — Date of birth: 19 years old at the marriage registration; a woman must be at least 20"
        )
    );
}

#[test]
fn father_must_be_22_at_marriage() {
    check(&owned(&father_born(date!(1997 - 10 - 01))), &[]);
    check(
        &owned(&father_born(date!(1997 - 10 - 02))),
        &[("father.birth_date", ErrorCode::TooYoung)],
    );
}

#[test]
fn county_overrides_the_marriage_ages() {
    let born_1999 = with(&sample(), &owned(&mother_born(date!(1999 - 10 - 01))));
    let errors = run("birth-permit", &born_1999, &scans(&ALL_SCANS), &[]);
    assert_codes(&errors, &[]);
    let errors = run(
        "birth-permit",
        &born_1999,
        &scans(&ALL_SCANS),
        &[("min_marriage_age_female", 21)],
    );
    assert_codes(&errors, &[("mother.birth_date", ErrorCode::TooYoung)]);
    assert!(
        errors[0].message.zh.contains("须年满 21 周岁"),
        "{errors:?}"
    );
}

#[test]
fn birth_after_marriage() {
    let mut changes = mother_born(date!(2019 - 10 - 02)).to_vec();
    changes.extend(father_born(date!(2019 - 12 - 01)));
    let v = with(&sample(), &owned(&changes));
    // With the default ages, the age rule fires first; one mistake, one error per field.
    let errors = run("birth-permit", &v, &scans(&ALL_SCANS), &[]);
    assert_codes(
        &errors,
        &[
            ("mother.birth_date", ErrorCode::TooYoung),
            ("father.birth_date", ErrorCode::TooYoung),
        ],
    );
    // A county that sets the ages to 0 still gets the order rule.
    let errors = run(
        "birth-permit",
        &v,
        &scans(&ALL_SCANS),
        &[("min_marriage_age_female", 0), ("min_marriage_age_male", 0)],
    );
    assert_codes(
        &errors,
        &[
            ("mother.birth_date", ErrorCode::Order),
            ("father.birth_date", ErrorCode::Order),
        ],
    );
    assert_eq!(
        errors[0].message,
        Text::new(
            "母亲 出生日期：不能晚于结婚登记日期",
            "Mother — Date of birth: cannot be later than the marriage registration date"
        )
    );
}

#[test]
fn future_birth_date_is_rejected() {
    check(
        &[("mother.birth_date", "2026-11-26")],
        &[("mother.birth_date", ErrorCode::FutureDate)],
    );
    // today itself is not the future
    let errors = run(
        "birth-permit",
        &with(&sample(), &[("marriage.date", &ymd(TODAY))]),
        &scans(&ALL_SCANS),
        &[],
    );
    assert_codes(&errors, &[]);
    // an ID number whose birth date is in the future is not valid either
    let future_id = id_number("532301", date!(2026 - 12 - 01), 124, Gender::Female);
    check(
        &[("mother.id_number", &future_id), ("mother.birth_date", "")],
        &[
            ("mother.birth_date", ErrorCode::Required),
            ("mother.id_number", ErrorCode::IdNumber),
        ],
    );
}

#[test]
fn field_formats() {
    use ErrorCode::*;
    let long_name = "李".repeat(31);
    check(&[("mother.name", &long_name)], &[("mother.name", TooLong)]);
    check(&[("mother.name", &"李".repeat(30))], &[]);
    check(&[("mother.name", "李\n春花")], &[("mother.name", Invalid)]);
    check(
        &[("mother.ethnicity", "99")],
        &[("mother.ethnicity", Invalid)],
    );
    check(
        &[("mother.ethnicity", "彝")],
        &[("mother.ethnicity", Invalid)],
    );
    check(&[("mother.gender", "女")], &[("mother.gender", Invalid)]);
    check(
        &[("mother.phone", "1381234567")],
        &[("mother.phone", Invalid)],
    );
    check(&[("mother.phone", "0878-3123456")], &[]);
    check(
        &[("children.living", "two")],
        &[("children.living", Invalid)],
    );
    check(
        &[("children.living", "21")],
        &[("children.living", OutOfRange)],
    );
    check(
        &[("children.order", "0")],
        &[("children.order", OutOfRange)],
    );
    check(
        &[("children.expected_due_date", "2027-02-30")],
        &[("children.expected_due_date", Invalid)],
    );
    check(
        &[("marriage.date", "1849-12-31")],
        &[("marriage.date", Invalid)],
    );
}

#[test]
fn required_fields_and_scans() {
    check(
        &[("contact.sms_phone", "")],
        &[("contact.sms_phone", ErrorCode::Required)],
    );
    check(
        &[("father.address", "   ")],
        &[("father.address", ErrorCode::Required)],
    );
    let errors = run(
        "birth-permit",
        &sample(),
        &scans(&[
            "mother_id_card",
            "father_id_card",
            "mother_household_register",
        ]),
        &[],
    );
    assert_codes(
        &errors,
        &[
            ("scans.father_household_register", ErrorCode::MissingScan),
            ("scans.marriage_certificate", ErrorCode::MissingScan),
        ],
    );
    assert_eq!(
        errors[1].message,
        Text::new("结婚证尚未扫描", "Marriage certificate: not scanned yet")
    );
}

#[test]
fn empty_application_lists_every_required_field_in_order() {
    let errors = run("birth-permit", &FieldValues::new(), &scans(&[]), &[]);
    let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
    assert_eq!(
        fields,
        [
            "mother.name",
            "mother.gender",
            "mother.ethnicity",
            "mother.birth_date",
            "mother.id_number",
            "mother.address",
            "mother.phone",
            "father.name",
            "father.gender",
            "father.ethnicity",
            "father.birth_date",
            "father.id_number",
            "father.address",
            "father.phone",
            "marriage.date",
            "marriage.certificate_number",
            "children.living",
            "children.order",
            "contact.sms_phone",
            "scans.mother_id_card",
            "scans.father_id_card",
            "scans.mother_household_register",
            "scans.father_household_register",
            "scans.marriage_certificate",
        ]
    );
    assert_eq!(
        errors[0].message,
        Text::new("母亲 姓名必须填写", "Mother — Name: this must be filled in")
    );
}

#[test]
fn unknown_fields_and_scans_are_rejected() {
    let errors = run(
        "birth-permit",
        &with(
            &sample(),
            &[("mother.nickname", "小花"), ("grandmother.name", "")],
        ),
        &scans(&[&ALL_SCANS[..], &["selfie"]].concat()),
        &[],
    );
    assert_codes(
        &errors,
        &[
            ("grandmother.name", ErrorCode::UnknownField),
            ("mother.nickname", ErrorCode::UnknownField),
            ("scans.selfie", ErrorCode::UnknownField),
        ],
    );
}

#[test]
fn errors_come_in_definition_order() {
    use ErrorCode::*;
    check(
        &[
            ("contact.sms_phone", "123"),
            ("father.birth_date", "1994-07-20"),
            ("mother.name", ""),
            ("children.order", "0"),
            ("marriage.date", "2030-01-01"),
        ],
        &[
            ("mother.name", Required),
            ("father.id_number", IdMismatch),
            ("marriage.date", FutureDate),
            ("children.order", OutOfRange),
            ("contact.sms_phone", Invalid),
        ],
    );
}

#[test]
fn check_char_message_names_the_field() {
    // A female ID number whose check character is X, then with the check char wrong.
    let id = (0..1000)
        .map(|seq| id_number("532301", MOTHER_BIRTH, seq, Gender::Female))
        .find(|id| id.ends_with('X'))
        .expect("one in eleven numbers ends in X");
    let wrong = format!("{}1", &id[..17]);
    let errors = run(
        "birth-permit",
        &with(&sample(), &[("mother.id_number", &wrong)]),
        &scans(&ALL_SCANS),
        &[],
    );
    assert_codes(&errors, &[("mother.id_number", ErrorCode::IdNumber)]);
    assert_eq!(
        errors[0].message,
        Text::new(
            "母亲 身份证号码的校验位不对（应为 X）",
            "Mother — ID number: the check character is wrong (expected X)"
        )
    );
    // the same number with the right X, typed in lower case and with spaces, passes
    let lower = format!("  {}x ", &id[..17]);
    check(&[("mother.id_number", &lower)], &[]);
}

#[test]
fn values_are_trimmed_and_normalized() {
    let def = kiosk_domain::builtin().remove(0);
    let id = sample()["mother.id_number"].clone();
    let messy = with(
        &sample(),
        &[
            ("mother.name", "  李春花　"),
            ("mother.phone", "１３８１２３４５６７８"),
            ("mother.id_number", &format!(" {} ", id.to_lowercase())),
            ("children.expected_due_date", " "),
        ],
    );
    let errors = run("birth-permit", &messy, &scans(&ALL_SCANS), &[]);
    assert_codes(&errors, &[]);
    let normalized = kiosk_domain::normalize(&def, &messy);
    assert_eq!(normalized["mother.name"], "李春花");
    assert_eq!(normalized["mother.phone"], "13812345678");
    assert_eq!(normalized["mother.id_number"], id);
    assert!(!normalized.contains_key("children.expected_due_date"));
    let mut expected = sample();
    expected.remove("children.expected_due_date");
    assert_eq!(normalized, expected);
}
