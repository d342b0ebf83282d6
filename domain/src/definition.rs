//! Service definitions: what a service asks for, as data.
//!
//! A [`ServiceDefinition`] is a JSON document (format described in
//! `domain/services/README.md`, JSON Schema in `docs/service-definition.schema.json`):
//! its groups of fields, the kind of each field, the cross-field rules, the county-tunable
//! parameters and the papers to scan. The kiosk ships [`builtin`] definitions and the county
//! can push new or revised ones; both go through [`parse`], which checks that the document
//! is consistent before anything uses it.

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::text::Text;

/// The version of the definition *file format* this crate reads and writes.
pub const FORMAT_VERSION: u32 = 1;

/// The value of `on` in [`Rule::MinAge`] meaning "the day the application is made" (the
/// `today` of the validation context).
pub const APPLICATION_DATE: &str = "$application_date";

/// A service the kiosk can take applications for.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ServiceDefinition {
    /// Version of the file format; must be 1. Changes only when the structure of this
    /// document changes, never for a revision of a service.
    #[schemars(range(min = 1, max = 1))]
    pub format: u32,
    /// Stable identifier of the service: lower-case letters, digits and single dashes,
    /// e.g. `birth-permit`.
    #[schemars(pattern(r"^[a-z0-9]+(-[a-z0-9]+)*$"))]
    pub id: String,
    /// Revision of this service's definition, starting at 1; the county bumps it with
    /// every change. Applications record the revision they were captured with.
    #[schemars(range(min = 1))]
    pub version: u32,
    /// Name of the service.
    pub title: Text,
    /// The service guide: what the service is and which papers to bring.
    pub summary: Text,
    /// County-tunable numbers used by rules, by name (`[a-z][a-z0-9_]*`).
    #[serde(default)]
    pub params: BTreeMap<String, Param>,
    /// Groups of fields, in display order.
    pub groups: Vec<Group>,
    /// The fields, in display order; validation errors come in this order.
    pub fields: Vec<FieldDef>,
    /// Rules across fields, checked in this order after every field's own checks.
    #[serde(default)]
    pub rules: Vec<Rule>,
    /// Papers to scan, in display order.
    #[serde(default)]
    pub scans: Vec<ScanDef>,
}

/// A county-tunable number.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Param {
    /// The value used unless the county overrides it.
    pub default: i64,
    /// What the number means, for the county's settings page.
    pub label: Text,
}

/// A group of fields (one person, one document…).
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct Group {
    /// Identifier, `[a-z][a-z0-9_]*`; the first part of its fields' ids.
    #[schemars(pattern(r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Heading shown above the group; also names the group in error messages.
    pub label: Text,
    /// All-or-nothing group: when none of its fields is filled, the group is skipped;
    /// as soon as one is filled, its required fields and required scans are required.
    #[serde(default)]
    pub optional: bool,
}

/// One field of the form.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct FieldDef {
    /// Dotted identifier, `<group id>.<name>`, e.g. `mother.name`.
    #[schemars(pattern(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$"))]
    pub id: String,
    /// Label shown beside the input.
    pub label: Text,
    /// A short practical hint shown under the input; may be empty.
    #[serde(default)]
    pub help: Text,
    /// What the value is and how it is checked.
    pub kind: FieldKind,
    /// Whether the field must be filled (in an optional group: once the group is used).
    pub required: bool,
    /// The ID-card datum that fills this field when a card is read, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_card: Option<CardField>,
}

/// The kind of a field's value. Values are strings as typed; surrounding whitespace is
/// ignored and, except for `text`, full-width characters count as their ASCII forms.
//
// Deserialize is written by hand (below) through a private mirror of this enum, so that
// unknown keys are refused for the variants without data too: serde's derive ignores them
// on unit variants of an internally tagged enum.
#[derive(Serialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum FieldKind {
    /// Free text of at most `max_len` characters, no line breaks.
    Text {
        /// Maximum number of characters (not bytes).
        #[schemars(range(min = 1))]
        max_len: u32,
    },
    /// A GB 11643 ID number whose birth date is not after today.
    IdNumber,
    /// A GB/T 2261.1 gender code: `0`, `1`, `2` or `9`.
    Gender,
    /// A GB/T 3304 two-digit ethnic-group code, e.g. `01`.
    Ethnicity,
    /// A mainland mobile number (`1[3-9]` and 9 more digits) or a landline: 7–8 digits
    /// starting with 2–9, optionally preceded by an area code `0` + 2–3 digits and a dash.
    Phone,
    /// A date `YYYY-MM-DD`, between 1850-01-01 and 2200-01-01.
    Date {
        /// The date may not be after today.
        #[serde(default)]
        not_future: bool,
        /// The date may not be before today.
        #[serde(default)]
        not_past: bool,
    },
    /// A whole number between `min` and `max` inclusive.
    Integer {
        /// Smallest allowed value.
        min: i64,
        /// Largest allowed value.
        max: i64,
    },
}

impl<'de> Deserialize<'de> for FieldKind {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
        enum Repr {
            Text {
                max_len: u32,
            },
            IdNumber {},
            Gender {},
            Ethnicity {},
            Phone {},
            Date {
                #[serde(default)]
                not_future: bool,
                #[serde(default)]
                not_past: bool,
            },
            Integer {
                min: i64,
                max: i64,
            },
        }
        Ok(match Repr::deserialize(deserializer)? {
            Repr::Text { max_len } => FieldKind::Text { max_len },
            Repr::IdNumber {} => FieldKind::IdNumber,
            Repr::Gender {} => FieldKind::Gender,
            Repr::Ethnicity {} => FieldKind::Ethnicity,
            Repr::Phone {} => FieldKind::Phone,
            Repr::Date {
                not_future,
                not_past,
            } => FieldKind::Date {
                not_future,
                not_past,
            },
            Repr::Integer { min, max } => FieldKind::Integer { min, max },
        })
    }
}

impl FieldKind {
    /// The `type` tag of this kind, as written in the JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            FieldKind::Text { .. } => "text",
            FieldKind::IdNumber => "id_number",
            FieldKind::Gender => "gender",
            FieldKind::Ethnicity => "ethnicity",
            FieldKind::Phone => "phone",
            FieldKind::Date { .. } => "date",
            FieldKind::Integer { .. } => "integer",
        }
    }
}

/// A datum read from the resident ID card.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum CardField {
    /// Name (fills a `text` field).
    Name,
    /// Gender code (fills a `gender` field).
    Gender,
    /// Ethnic-group code (fills an `ethnicity` field).
    Ethnicity,
    /// Date of birth (fills a `date` field).
    BirthDate,
    /// ID number (fills an `id_number` field).
    IdNumber,
    /// Address printed on the card, i.e. the household address (fills a `text` field).
    Address,
}

impl CardField {
    /// The name of this datum as written in the JSON, e.g. `birth_date`.
    pub fn key(&self) -> &'static str {
        match self {
            CardField::Name => "name",
            CardField::Gender => "gender",
            CardField::Ethnicity => "ethnicity",
            CardField::BirthDate => "birth_date",
            CardField::IdNumber => "id_number",
            CardField::Address => "address",
        }
    }

    /// The `type` of field this datum can fill.
    pub fn fits(&self) -> &'static str {
        match self {
            CardField::Name | CardField::Address => "text",
            CardField::Gender => "gender",
            CardField::Ethnicity => "ethnicity",
            CardField::BirthDate => "date",
            CardField::IdNumber => "id_number",
        }
    }
}

/// A rule across fields. A rule is skipped when one of its inputs is empty, fails its own
/// field check, or already has an error from an earlier rule: one mistake, one error.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Rule {
    /// The birth date and gender encoded in the ID number agree with the stated birth
    /// date and gender (each comparison is skipped when that field is empty; a gender of
    /// `0` or `9` is not compared). The error is reported on `id_field`.
    IdMatches {
        /// An `id_number` field.
        id_field: String,
        /// A `date` field.
        birth_date_field: String,
        /// A `gender` field.
        gender_field: String,
    },
    /// The age in completed years (周岁) on the date `on` is at least the parameter
    /// `min_years_param`. The error is reported on `birth_date_field`.
    MinAge {
        /// A `date` field holding the date of birth.
        birth_date_field: String,
        /// A `date` field, or `$application_date` for the day of the application.
        on: String,
        /// Name of a parameter in `params`.
        min_years_param: String,
        /// Shown after the field's name and a colon; `{age}` and `{min}` are replaced by
        /// the age and the minimum.
        message: Text,
    },
    /// The date in `field` is not after the date in `other`. The error is reported on
    /// `field`.
    NotAfter {
        /// A `date` field.
        field: String,
        /// A `date` field.
        other: String,
        /// Shown after the field's name and a colon.
        message: Text,
    },
}

impl Rule {
    /// The `rule` tag, as written in the JSON.
    pub fn name(&self) -> &'static str {
        match self {
            Rule::IdMatches { .. } => "id_matches",
            Rule::MinAge { .. } => "min_age",
            Rule::NotAfter { .. } => "not_after",
        }
    }
}

/// A paper to scan.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub struct ScanDef {
    /// Identifier, `[a-z][a-z0-9_]*`; a missing scan is reported as field `scans.<id>`.
    #[schemars(pattern(r"^[a-z][a-z0-9_]*$"))]
    pub id: String,
    /// Name of the paper.
    pub label: Text,
    /// Which pages, how; may be empty.
    #[serde(default)]
    pub help: Text,
    /// Whether the scan must be present (for a scan of an optional group: when the group
    /// is used).
    pub required: bool,
    /// The group the paper belongs to, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl ServiceDefinition {
    /// The field with this id.
    pub fn field(&self, id: &str) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The group with this id.
    pub fn group(&self, id: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.id == id)
    }

    /// The scan with this id.
    pub fn scan(&self, id: &str) -> Option<&ScanDef> {
        self.scans.iter().find(|s| s.id == id)
    }

    /// The value of parameter `name`: the county's override if there is one, else the
    /// definition's default. 0 when neither exists ([`parse`] guarantees that every
    /// parameter a rule names exists).
    pub fn param(&self, name: &str, overrides: &BTreeMap<String, i64>) -> i64 {
        overrides
            .get(name)
            .copied()
            .or_else(|| self.params.get(name).map(|p| p.default))
            .unwrap_or(0)
    }
}

impl FieldDef {
    /// The id of the group this field belongs to: the part before the first dot.
    pub fn group_id(&self) -> &str {
        self.id.split_once('.').map_or(self.id.as_str(), |(g, _)| g)
    }
}

/// Why a definition was refused.
#[derive(thiserror::Error, Debug)]
pub enum DefinitionError {
    /// Not JSON, or not the shape of a definition (unknown key, wrong type…).
    #[error("not a valid service definition: {0}")]
    Json(#[from] serde_json::Error),
    /// A file format this crate does not read.
    #[error(
        "definition format {found} is not supported (this kiosk reads format {FORMAT_VERSION})"
    )]
    Format {
        /// The `format` of the document.
        found: u32,
    },
    /// `version` is 0.
    #[error("definition version must be 1 or more")]
    Version,
    /// An identifier does not have the required shape.
    #[error("{what} id {id:?} is not well-formed (expected {expected})")]
    BadId {
        /// service, group, field, scan or param.
        what: &'static str,
        /// The offending id.
        id: String,
        /// The expected shape.
        expected: &'static str,
    },
    /// Two things of the same kind share an id.
    #[error("{what} id {id:?} is used more than once")]
    Duplicate {
        /// group, field or scan.
        what: &'static str,
        /// The repeated id.
        id: String,
    },
    /// A field or scan names a group that is not defined.
    #[error("{owner} belongs to group {group:?}, which is not defined")]
    UnknownGroup {
        /// e.g. `field "mother.name"`.
        owner: String,
        /// The missing group.
        group: String,
    },
    /// A rule names a field that is not defined.
    #[error("{rule} names field {field:?}, which is not defined")]
    UnknownField {
        /// e.g. `rule 3 (min_age)`.
        rule: String,
        /// The missing field.
        field: String,
    },
    /// A rule names a field of the wrong kind.
    #[error("{rule} needs field {field:?} to be of type {expected}, but it is {found}")]
    WrongKind {
        /// e.g. `rule 3 (min_age)`.
        rule: String,
        /// The field.
        field: String,
        /// The type the rule needs.
        expected: &'static str,
        /// The field's type.
        found: &'static str,
    },
    /// A rule names a parameter that is not defined.
    #[error("{rule} names parameter {param:?}, which is not defined in params")]
    UnknownParam {
        /// e.g. `rule 3 (min_age)`.
        rule: String,
        /// The missing parameter.
        param: String,
    },
    /// `from_card` on a field whose type cannot hold that datum.
    #[error("field {field:?} is filled from card datum {}, which needs type {expected}, but it is {found}", .card.key())]
    CardKind {
        /// The field.
        field: String,
        /// The card datum.
        card: CardField,
        /// The type the datum fills.
        expected: &'static str,
        /// The field's type.
        found: &'static str,
    },
    /// Impossible limits in a field type.
    #[error("field {field:?}: {problem}")]
    BadKind {
        /// The field.
        field: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// A text people read lacks one of its languages.
    #[error("{at} must have both zh and en text")]
    MissingText {
        /// Where, e.g. `label of field "mother.name"`.
        at: String,
    },
}

/// Parses a definition and checks that it is consistent:
///
/// - `format` is [`FORMAT_VERSION`] and `version` is at least 1;
/// - ids are well-formed: the service id `[a-z0-9]+(-[a-z0-9]+)*`; group, scan and
///   parameter ids `[a-z][a-z0-9_]*`; field ids two or more such parts joined by dots;
/// - group, field and scan ids are unique; every field's first part and every scan's
///   `group` is a defined group;
/// - `text` has `max_len` ≥ 1, `integer` has `min` ≤ `max`, and `from_card` fits the type;
/// - every rule names existing fields of the right type and existing parameters;
/// - every title, summary, label and rule message has both languages; a help text has
///   both or neither.
pub fn parse(json: &str) -> Result<ServiceDefinition, DefinitionError> {
    let def: ServiceDefinition = serde_json::from_str(json)?;
    check(&def)?;
    Ok(def)
}

/// The JSON Schema of a definition document (draft 2020-12), generated from the types.
pub fn json_schema() -> serde_json::Value {
    schemars::schema_for!(ServiceDefinition).to_value()
}

/// The services the kiosk ships with: `birth-permit` and `elderly-card`, from
/// `domain/services/*.json` embedded at build time.
pub fn builtin() -> Vec<ServiceDefinition> {
    BUILTIN
        .iter()
        .map(|(file, json)| {
            // The crate's tests parse both files, so this cannot fail in a tested build.
            parse(json).unwrap_or_else(|e| panic!("built-in service definition {file}: {e}"))
        })
        .collect()
}

const BUILTIN: [(&str, &str); 2] = [
    (
        "birth-permit.json",
        include_str!("../services/birth-permit.json"),
    ),
    (
        "elderly-card.json",
        include_str!("../services/elderly-card.json"),
    ),
];

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some('a'..='z'))
        && chars.all(|c| matches!(c, 'a'..='z' | '0'..='9' | '_'))
}

fn is_service_id(s: &str) -> bool {
    !s.is_empty()
        && s.split('-').all(|part| {
            !part.is_empty() && part.chars().all(|c| matches!(c, 'a'..='z' | '0'..='9'))
        })
}

fn is_field_id(s: &str) -> bool {
    s.contains('.') && s.split('.').all(is_name)
}

fn check(def: &ServiceDefinition) -> Result<(), DefinitionError> {
    use DefinitionError as E;

    if def.format != FORMAT_VERSION {
        return Err(E::Format { found: def.format });
    }
    if def.version == 0 {
        return Err(E::Version);
    }
    if !is_service_id(&def.id) {
        return Err(E::BadId {
            what: "service",
            id: def.id.clone(),
            expected: "lower-case letters and digits, parts joined by single dashes",
        });
    }
    let text = |t: &Text, at: &dyn Fn() -> String| {
        if t.is_incomplete() {
            Err(E::MissingText { at: at() })
        } else {
            Ok(())
        }
    };
    let help = |t: &Text, at: &dyn Fn() -> String| {
        if t.zh.trim().is_empty() != t.en.trim().is_empty() {
            Err(E::MissingText { at: at() })
        } else {
            Ok(())
        }
    };
    const NAME: &str = "a lower-case letter, then lower-case letters, digits or _";
    text(&def.title, &|| "title".into())?;
    text(&def.summary, &|| "summary".into())?;

    for (name, p) in &def.params {
        if !is_name(name) {
            return Err(E::BadId {
                what: "param",
                id: name.clone(),
                expected: NAME,
            });
        }
        text(&p.label, &|| format!("label of param {name:?}"))?;
    }

    let mut groups = BTreeSet::new();
    for g in &def.groups {
        if !is_name(&g.id) {
            return Err(E::BadId {
                what: "group",
                id: g.id.clone(),
                expected: NAME,
            });
        }
        if !groups.insert(g.id.as_str()) {
            return Err(E::Duplicate {
                what: "group",
                id: g.id.clone(),
            });
        }
        text(&g.label, &|| format!("label of group {:?}", g.id))?;
    }

    let mut fields = BTreeSet::new();
    for f in &def.fields {
        if !is_field_id(&f.id) {
            return Err(E::BadId {
                what: "field",
                id: f.id.clone(),
                expected: "<group id>.<name>, each part a lower-case letter, then lower-case letters, digits or _",
            });
        }
        if !fields.insert(f.id.as_str()) {
            return Err(E::Duplicate {
                what: "field",
                id: f.id.clone(),
            });
        }
        if !groups.contains(f.group_id()) {
            return Err(E::UnknownGroup {
                owner: format!("field {:?}", f.id),
                group: f.group_id().to_string(),
            });
        }
        text(&f.label, &|| format!("label of field {:?}", f.id))?;
        help(&f.help, &|| format!("help of field {:?}", f.id))?;
        match f.kind {
            FieldKind::Text { max_len: 0 } => {
                return Err(E::BadKind {
                    field: f.id.clone(),
                    problem: "max_len must be at least 1",
                });
            }
            FieldKind::Integer { min, max } if min > max => {
                return Err(E::BadKind {
                    field: f.id.clone(),
                    problem: "min is larger than max",
                });
            }
            _ => {}
        }
        if let Some(card) = f.from_card
            && card.fits() != f.kind.type_name()
        {
            return Err(E::CardKind {
                field: f.id.clone(),
                card,
                expected: card.fits(),
                found: f.kind.type_name(),
            });
        }
    }

    let mut scans = BTreeSet::new();
    for s in &def.scans {
        if !is_name(&s.id) {
            return Err(E::BadId {
                what: "scan",
                id: s.id.clone(),
                expected: NAME,
            });
        }
        if !scans.insert(s.id.as_str()) {
            return Err(E::Duplicate {
                what: "scan",
                id: s.id.clone(),
            });
        }
        if let Some(g) = &s.group
            && !groups.contains(g.as_str())
        {
            return Err(E::UnknownGroup {
                owner: format!("scan {:?}", s.id),
                group: g.clone(),
            });
        }
        text(&s.label, &|| format!("label of scan {:?}", s.id))?;
        help(&s.help, &|| format!("help of scan {:?}", s.id))?;
    }

    for (i, rule) in def.rules.iter().enumerate() {
        let at = || format!("rule {} ({})", i + 1, rule.name());
        let need = |id: &str, expected: &'static str| -> Result<(), DefinitionError> {
            let f = def.field(id).ok_or_else(|| E::UnknownField {
                rule: at(),
                field: id.to_string(),
            })?;
            if f.kind.type_name() != expected {
                return Err(E::WrongKind {
                    rule: at(),
                    field: id.to_string(),
                    expected,
                    found: f.kind.type_name(),
                });
            }
            Ok(())
        };
        match rule {
            Rule::IdMatches {
                id_field,
                birth_date_field,
                gender_field,
            } => {
                need(id_field, "id_number")?;
                need(birth_date_field, "date")?;
                need(gender_field, "gender")?;
            }
            Rule::MinAge {
                birth_date_field,
                on,
                min_years_param,
                message,
            } => {
                need(birth_date_field, "date")?;
                if on != APPLICATION_DATE {
                    need(on, "date")?;
                }
                if !def.params.contains_key(min_years_param) {
                    return Err(E::UnknownParam {
                        rule: at(),
                        param: min_years_param.clone(),
                    });
                }
                text(message, &|| format!("message of {}", at()))?;
            }
            Rule::NotAfter {
                field,
                other,
                message,
            } => {
                need(field, "date")?;
                need(other, "date")?;
                text(message, &|| format!("message of {}", at()))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_shapes() {
        for (s, ok) in [
            ("birth-permit", true),
            ("elderly-card2", true),
            ("a", true),
            ("Birth", false),
            ("birth--permit", false),
            ("-birth", false),
            ("birth-", false),
            ("birth_permit", false),
            ("", false),
        ] {
            assert_eq!(is_service_id(s), ok, "service id {s:?}");
        }
        for (s, ok) in [
            ("mother", true),
            ("sms_phone2", true),
            ("2mother", false),
            ("_x", false),
            ("Mother", false),
            ("mo-ther", false),
            ("", false),
        ] {
            assert_eq!(is_name(s), ok, "name {s:?}");
        }
        for (s, ok) in [
            ("mother.name", true),
            ("a.b.c", true),
            ("mother", false),
            ("mother.", false),
            (".name", false),
            ("mother..name", false),
            ("mother.Name", false),
        ] {
            assert_eq!(is_field_id(s), ok, "field id {s:?}");
        }
    }

    #[test]
    fn card_keys_match_serde() {
        for (card, key, fits) in [
            (CardField::Name, "name", "text"),
            (CardField::Gender, "gender", "gender"),
            (CardField::Ethnicity, "ethnicity", "ethnicity"),
            (CardField::BirthDate, "birth_date", "date"),
            (CardField::IdNumber, "id_number", "id_number"),
            (CardField::Address, "address", "text"),
        ] {
            assert_eq!(card.key(), key);
            assert_eq!(serde_json::to_value(card).unwrap(), serde_json::json!(key));
            assert_eq!(card.fits(), fits);
        }
    }

    #[test]
    fn field_kinds_refuse_unknown_keys() {
        let check = |json: &str, expected: Option<FieldKind>| {
            let got = serde_json::from_str::<FieldKind>(json).ok();
            assert_eq!(got, expected, "{json}");
            if let Some(kind) = got {
                let back = serde_json::to_string(&kind).unwrap();
                assert_eq!(serde_json::from_str::<FieldKind>(&back).unwrap(), kind);
            }
        };
        check(r#"{"type":"id_number"}"#, Some(FieldKind::IdNumber));
        check(r#"{"type":"id_number","max_len":3}"#, None);
        check(r#"{"type":"phone","x":1}"#, None);
        check(
            r#"{"type":"text","max_len":3}"#,
            Some(FieldKind::Text { max_len: 3 }),
        );
        check(r#"{"type":"text","max_len":3,"x":1}"#, None);
        check(r#"{"type":"text"}"#, None);
        check(
            r#"{"type":"date"}"#,
            Some(FieldKind::Date {
                not_future: false,
                not_past: false,
            }),
        );
        check(r#"{"type":"datetime"}"#, None);
        check(r#"{"max_len":3}"#, None);
    }

    #[test]
    fn param_prefers_override() {
        let def = &builtin()[1];
        let mut overrides = BTreeMap::new();
        assert_eq!(def.param("min_age", &overrides), 60);
        overrides.insert("min_age".to_string(), 65);
        assert_eq!(def.param("min_age", &overrides), 65);
        assert_eq!(def.param("no_such_param", &BTreeMap::new()), 0);
    }
}
