//! The built-in definitions and the consistency checks of `parse`.

use kiosk_domain::definition::{self, DefinitionError};
use kiosk_domain::{FieldKind, Rule};
use serde_json::{Value, json};

const BIRTH_PERMIT: &str = include_str!("../services/birth-permit.json");
const ELDERLY_CARD: &str = include_str!("../services/elderly-card.json");

#[test]
fn builtin_files_parse_and_are_consistent() {
    let defs = kiosk_domain::builtin();
    let ids: Vec<&str> = defs.iter().map(|d| d.id.as_str()).collect();
    assert_eq!(ids, ["birth-permit", "elderly-card"]);
    for (def, json) in defs.iter().zip([BIRTH_PERMIT, ELDERLY_CARD]) {
        assert_eq!(def.format, kiosk_domain::FORMAT_VERSION);
        assert_eq!(&definition::parse(json).unwrap(), def);
        // what we write, we read back
        let again = serde_json::to_string_pretty(def).unwrap();
        assert_eq!(&definition::parse(&again).unwrap(), def);
    }
}

fn ids<T>(items: &[T], id: impl Fn(&T) -> &str) -> Vec<&str> {
    items.iter().map(id).collect()
}

#[test]
fn birth_permit_fields_and_scans() {
    let def = &kiosk_domain::builtin()[0];
    let person = |p: &str| {
        [
            "name",
            "gender",
            "ethnicity",
            "birth_date",
            "id_number",
            "address",
            "phone",
        ]
        .map(|f| format!("{p}.{f}"))
    };
    let mut expected: Vec<String> = [person("mother"), person("father")].concat();
    expected.extend(
        [
            "marriage.date",
            "marriage.certificate_number",
            "children.living",
            "children.order",
            "children.expected_due_date",
            "contact.sms_phone",
        ]
        .map(String::from),
    );
    assert_eq!(ids(&def.fields, |f| &f.id), expected);
    assert_eq!(
        ids(&def.scans, |s| &s.id),
        [
            "mother_id_card",
            "father_id_card",
            "mother_household_register",
            "father_household_register",
            "marriage_certificate",
        ]
    );
    assert!(def.scans.iter().all(|s| s.required));
    let optional: Vec<&str> = def
        .fields
        .iter()
        .filter(|f| !f.required)
        .map(|f| f.id.as_str())
        .collect();
    assert_eq!(optional, ["children.expected_due_date"]);
    assert_eq!(
        def.field("children.living").unwrap().kind,
        FieldKind::Integer { min: 0, max: 20 }
    );
    assert_eq!(def.params["min_marriage_age_female"].default, 20);
    assert_eq!(def.params["min_marriage_age_male"].default, 22);
}

#[test]
fn elderly_card_fields_and_scans() {
    let def = &kiosk_domain::builtin()[1];
    assert_eq!(
        ids(&def.fields, |f| &f.id),
        [
            "applicant.name",
            "applicant.gender",
            "applicant.ethnicity",
            "applicant.birth_date",
            "applicant.id_number",
            "applicant.address",
            "applicant.phone",
            "emergency.name",
            "emergency.phone",
            "proxy.name",
            "proxy.id_number",
            "proxy.phone",
            "proxy.relation",
        ]
    );
    assert_eq!(
        ids(&def.scans, |s| &s.id),
        [
            "applicant_id_card",
            "household_register",
            "photo",
            "proxy_id_card"
        ]
    );
    assert!(def.group("proxy").unwrap().optional);
    assert_eq!(
        def.scan("proxy_id_card").unwrap().group.as_deref(),
        Some("proxy")
    );
    assert_eq!(def.params["min_age"].default, 60);
    assert!(matches!(
        &def.rules[1],
        Rule::MinAge { on, .. } if on == kiosk_domain::APPLICATION_DATE
    ));
}

/// Parses the birth-permit JSON after `edit`, returning the error message.
fn refused(edit: impl FnOnce(&mut Value)) -> String {
    let mut v: Value = serde_json::from_str(BIRTH_PERMIT).unwrap();
    edit(&mut v);
    match definition::parse(&v.to_string()) {
        Ok(_) => panic!("accepted an inconsistent definition"),
        Err(e) => e.to_string(),
    }
}

fn check(edit: impl FnOnce(&mut Value), expected: &str) {
    assert_eq!(refused(edit), expected);
}

#[test]
fn rule_naming_a_missing_field_is_refused() {
    check(
        |v| v["rules"][2]["birth_date_field"] = json!("mother.birthdate"),
        "rule 3 (min_age) names field \"mother.birthdate\", which is not defined",
    );
    let mut v: Value = serde_json::from_str(BIRTH_PERMIT).unwrap();
    v["rules"][4]["other"] = json!("wedding.date");
    assert!(matches!(
        definition::parse(&v.to_string()),
        Err(DefinitionError::UnknownField { field, .. }) if field == "wedding.date"
    ));
}

#[test]
fn inconsistent_definitions_are_refused() {
    check(
        |v| v["format"] = json!(2),
        "definition format 2 is not supported (this kiosk reads format 1)",
    );
    check(
        |v| v["version"] = json!(0),
        "definition version must be 1 or more",
    );
    check(
        |v| v["id"] = json!("Birth_Permit"),
        "service id \"Birth_Permit\" is not well-formed (expected lower-case letters and digits, parts joined by single dashes)",
    );
    check(
        |v| v["fields"][1]["id"] = json!("mother.name"),
        "field id \"mother.name\" is used more than once",
    );
    check(
        |v| v["groups"][1]["id"] = json!("mother"),
        "group id \"mother\" is used more than once",
    );
    check(
        |v| v["scans"][1]["id"] = json!("mother_id_card"),
        "scan id \"mother_id_card\" is used more than once",
    );
    check(
        |v| v["fields"][0]["id"] = json!("mom.name"),
        "field \"mom.name\" belongs to group \"mom\", which is not defined",
    );
    check(
        |v| v["fields"][0]["id"] = json!("name"),
        "field id \"name\" is not well-formed (expected <group id>.<name>, each part a lower-case letter, then lower-case letters, digits or _)",
    );
    check(
        |v| v["scans"][0]["group"] = json!("mom"),
        "scan \"mother_id_card\" belongs to group \"mom\", which is not defined",
    );
    check(
        |v| v["rules"][0]["birth_date_field"] = json!("mother.name"),
        "rule 1 (id_matches) needs field \"mother.name\" to be of type date, but it is text",
    );
    check(
        |v| v["rules"][2]["on"] = json!("$today"),
        "rule 3 (min_age) names field \"$today\", which is not defined",
    );
    check(
        |v| v["rules"][3]["min_years_param"] = json!("min_age_male"),
        "rule 4 (min_age) names parameter \"min_age_male\", which is not defined in params",
    );
    check(
        |v| v["fields"][0]["from_card"] = json!("birth_date"),
        "field \"mother.name\" is filled from card datum birth_date, which needs type date, but it is text",
    );
    check(
        |v| v["fields"][0]["kind"]["max_len"] = json!(0),
        "field \"mother.name\": max_len must be at least 1",
    );
    check(
        |v| v["fields"][16]["kind"] = json!({"type": "integer", "min": 5, "max": 1}),
        "field \"children.living\": min is larger than max",
    );
    check(
        |v| v["fields"][0]["label"]["en"] = json!(""),
        "label of field \"mother.name\" must have both zh and en text",
    );
    check(
        |v| v["fields"][0]["help"]["zh"] = json!(" "),
        "help of field \"mother.name\" must have both zh and en text",
    );
    check(
        |v| v["rules"][4]["message"]["zh"] = json!(""),
        "message of rule 5 (not_after) must have both zh and en text",
    );
    check(
        |v| v["params"]["Min"] = v["params"]["min_marriage_age_male"].clone(),
        "param id \"Min\" is not well-formed (expected a lower-case letter, then lower-case letters, digits or _)",
    );
}

#[test]
fn unknown_keys_and_wrong_shapes_are_refused() {
    let msg = refused(|v| v["fields"][0]["maxlen"] = json!(30));
    assert!(
        msg.starts_with("not a valid service definition: unknown field `maxlen`"),
        "{msg}"
    );
    let msg = refused(|v| v["fields"][1]["kind"]["max_len"] = json!(30));
    assert!(
        msg.starts_with("not a valid service definition: unknown field `max_len`"),
        "{msg}"
    );
    let msg = refused(|v| v["rules"][0]["rule"] = json!("id_equals"));
    assert!(
        msg.starts_with("not a valid service definition: unknown variant `id_equals`"),
        "{msg}"
    );
    let msg = refused(|v| v["fields"][0]["required"] = json!("yes"));
    assert!(
        msg.starts_with("not a valid service definition: invalid type"),
        "{msg}"
    );
    assert!(definition::parse("not json").is_err());
}

#[test]
fn optional_keys_have_defaults() {
    let minimal = json!({
        "format": 1,
        "id": "minimal",
        "version": 3,
        "title": {"zh": "最小", "en": "Minimal"},
        "summary": {"zh": "测试", "en": "Test"},
        "groups": [{"id": "a", "label": {"zh": "甲", "en": "A"}}],
        "fields": [{
            "id": "a.when",
            "label": {"zh": "日期", "en": "Date"},
            "kind": {"type": "date"},
            "required": false
        }]
    });
    let def = definition::parse(&minimal.to_string()).unwrap();
    assert!(def.params.is_empty() && def.rules.is_empty() && def.scans.is_empty());
    assert!(!def.groups[0].optional);
    assert_eq!(def.fields[0].help, kiosk_domain::Text::default());
    assert_eq!(def.fields[0].from_card, None);
    assert_eq!(
        def.fields[0].kind,
        FieldKind::Date {
            not_future: false,
            not_past: false
        }
    );
}
