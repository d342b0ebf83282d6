//! Checking an application's values against its service definition.
//!
//! [`validate`] returns every problem as a [`FieldError`]: the field it belongs to, a
//! machine-readable [`ErrorCode`] and a bilingual sentence naming the field. The order is
//! deterministic: unknown field ids first (sorted), then errors in the definition's field
//! order (a field's own check before rule errors, rules in definition order), then missing
//! scans in the definition's scan order, then unknown scans (sorted).
//!
//! Values are cleaned before checking (see [`normalize`]): surrounding whitespace is
//! removed; for every kind except `text`, full-width forms (`１３８…`, `－`) count as
//! ASCII; in ID numbers `x` counts as `X`. An empty value is the same as an absent one.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{Date, Month};

use crate::FieldValues;
use crate::age::age_on;
use crate::codes::{Gender, ethnicity_name};
use crate::definition::{APPLICATION_DATE, FieldDef, FieldKind, Rule, ServiceDefinition};
use crate::idnumber::{EARLIEST_BIRTH, IdNumber, LATEST_BIRTH};
use crate::text::Text;

/// What validation needs from outside: the date and the county's settings.
#[derive(Clone, Copy, Debug)]
pub struct Context<'a> {
    /// The day of the application, in local (China Standard) time.
    pub today: Date,
    /// County-supplied overrides of the definition's params, by name.
    pub params: &'a BTreeMap<String, i64>,
}

/// One problem with an application.
#[derive(Serialize, Deserialize, JsonSchema, Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field id, or `scans.<scan id>` for a scan.
    pub field: String,
    /// What kind of problem.
    pub code: ErrorCode,
    /// A sentence naming the field, for people.
    pub message: Text,
}

/// The kind of a [`FieldError`].
#[derive(Serialize, Deserialize, JsonSchema, Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A required field is empty.
    Required,
    /// A text is longer than `max_len`.
    TooLong,
    /// Not a value of the field's kind (date, phone, code…).
    Invalid,
    /// Not a valid ID number, or its birth date is after today.
    IdNumber,
    /// The ID number disagrees with the stated birth date or gender.
    IdMismatch,
    /// A `not_future` date is after today.
    FutureDate,
    /// A `not_past` date is before today.
    PastDate,
    /// An integer outside `min..=max`.
    OutOfRange,
    /// A `min_age` rule failed.
    TooYoung,
    /// A `not_after` rule failed.
    Order,
    /// A value or scan for an id the definition does not have.
    UnknownField,
    /// A required scan is missing.
    MissingScan,
}

/// The values as they should be stored: cleaned like [`validate`] sees them (trimmed,
/// full-width folded outside `text` fields, `X` upper-case in ID numbers) and without
/// empty values. Values of unknown fields are kept (trimmed), so that validating the
/// result still reports them.
pub fn normalize(def: &ServiceDefinition, values: &FieldValues) -> FieldValues {
    values
        .iter()
        .filter_map(|(id, raw)| {
            let v = match def.field(id) {
                Some(f) => clean(&f.kind, raw),
                None => raw.trim().to_string(),
            };
            (!v.is_empty()).then(|| (id.clone(), v))
        })
        .collect()
}

/// Checks `values` (field id → value) and the set of scan ids present against `def`.
///
/// 1. Every value must belong to a field of `def` ([`ErrorCode::UnknownField`]).
/// 2. Every required field must be filled ([`ErrorCode::Required`]); the required fields
///    of an optional group only once any field of that group is filled.
/// 3. Every filled field must be a valid value of its kind.
/// 4. The rules, in order. A rule is skipped when one of its inputs is empty, failed
///    step 3, or already has an error from an earlier rule, so one mistake gives one error.
/// 5. Every required scan must be present ([`ErrorCode::MissingScan`]), those of an
///    optional group only when the group is used; scans `def` does not know are
///    [`ErrorCode::UnknownField`].
pub fn validate(
    def: &ServiceDefinition,
    values: &FieldValues,
    scans: &BTreeSet<String>,
    ctx: &Context,
) -> Vec<FieldError> {
    // (sort key, error): 0 = unknown field, 1 + i = field i, then scans.
    let mut errors: Vec<(usize, FieldError)> = Vec::new();
    let field_key = |id: &str| 1 + def.fields.iter().position(|f| f.id == id).unwrap_or(0);
    let scans_key = 1 + def.fields.len();

    for id in values.keys().filter(|id| def.field(id).is_none()) {
        errors.push((
            0,
            FieldError {
                field: id.clone(),
                code: ErrorCode::UnknownField,
                message: Text::new(
                    format!("“{id}”不是本服务的填写项"),
                    format!("\"{id}\" is not a field of this service"),
                ),
            },
        ));
    }

    let cleaned: BTreeMap<&str, String> = def
        .fields
        .iter()
        .map(|f| {
            let v = values.get(&f.id).map(|raw| clean(&f.kind, raw));
            (f.id.as_str(), v.unwrap_or_default())
        })
        .collect();
    let used_groups: BTreeSet<&str> = def
        .fields
        .iter()
        .filter(|f| !cleaned[f.id.as_str()].is_empty())
        .map(FieldDef::group_id)
        .collect();
    let group_required =
        |group: &str| def.group(group).is_none_or(|g| !g.optional) || used_groups.contains(group);

    // Step 2 and 3; `good` holds the fields that are filled and valid.
    let mut good: BTreeMap<&str, Value> = BTreeMap::new();
    for (i, f) in def.fields.iter().enumerate() {
        let v = &cleaned[f.id.as_str()];
        let name = field_name(def, f);
        if v.is_empty() {
            if f.required && group_required(f.group_id()) {
                errors.push((
                    1 + i,
                    error(
                        f,
                        ErrorCode::Required,
                        say(&name, "必须填写", "this must be filled in"),
                    ),
                ));
            }
            continue;
        }
        match check_value(&f.kind, v, ctx) {
            Ok(value) => {
                good.insert(f.id.as_str(), value);
            }
            Err((code, problem)) => {
                errors.push((1 + i, error(f, code, say(&name, problem.zh, problem.en))));
            }
        }
    }

    // Step 4.
    let mut flagged: BTreeSet<&str> = BTreeSet::new();
    for rule in &def.rules {
        let date = |id: &str, flagged: &BTreeSet<&str>| match good.get(id) {
            Some(Value::Date(d)) if !flagged.contains(id) => Some(*d),
            _ => None,
        };
        match rule {
            Rule::IdMatches {
                id_field,
                birth_date_field,
                gender_field,
            } => {
                let Some(Value::Id(id)) = good.get(id_field.as_str()) else {
                    continue;
                };
                if flagged.contains(id_field.as_str()) {
                    continue;
                }
                let mut zh = Vec::new();
                let mut en = Vec::new();
                let mut blamed = Vec::new();
                if let Some(stated) = date(birth_date_field, &flagged)
                    && stated != id.birth_date()
                {
                    let label = label_of(def, birth_date_field);
                    zh.push(format!(
                        "与{}（{}）不一致，号码中为 {}",
                        label.zh,
                        ymd(stated),
                        ymd(id.birth_date())
                    ));
                    en.push(format!(
                        "it does not agree with {} ({}); the number says {}",
                        label.en,
                        ymd(stated),
                        ymd(id.birth_date())
                    ));
                    blamed.push(birth_date_field.as_str());
                }
                if let Some(Value::Gender(stated @ (Gender::Male | Gender::Female))) =
                    good.get(gender_field.as_str())
                    && !flagged.contains(gender_field.as_str())
                    && *stated != id.gender()
                {
                    let label = label_of(def, gender_field);
                    let (s, n) = (stated.label(), id.gender().label());
                    zh.push(format!(
                        "与{}（{}）不一致，号码中为{}",
                        label.zh, s.zh, n.zh
                    ));
                    en.push(format!(
                        "it does not agree with {} ({}); the number says {}",
                        label.en, s.en, n.en
                    ));
                    blamed.push(gender_field.as_str());
                }
                if !zh.is_empty() {
                    let f = def.field(id_field).expect("in good, so defined");
                    let name = field_name(def, f);
                    let message = say(&name, zh.join("；"), en.join("; "));
                    errors.push((
                        field_key(id_field),
                        error(f, ErrorCode::IdMismatch, message),
                    ));
                    flagged.insert(id_field.as_str());
                    flagged.extend(blamed);
                }
            }
            Rule::MinAge {
                birth_date_field,
                on,
                min_years_param,
                message,
            } => {
                let Some(birth) = date(birth_date_field, &flagged) else {
                    continue;
                };
                let on_date = if on == APPLICATION_DATE {
                    Some(ctx.today)
                } else {
                    date(on, &flagged)
                };
                let Some(on_date) = on_date else { continue };
                let min = def.param(min_years_param, ctx.params);
                let age = age_on(birth, on_date);
                if i64::from(age) < min {
                    let f = def.field(birth_date_field).expect("in good, so defined");
                    let fill = |s: &str| {
                        s.replace("{age}", &age.to_string())
                            .replace("{min}", &min.to_string())
                    };
                    let message = said(&field_name(def, f), &fill(&message.zh), &fill(&message.en));
                    errors.push((field_key(&f.id), error(f, ErrorCode::TooYoung, message)));
                    flagged.insert(birth_date_field.as_str());
                }
            }
            Rule::NotAfter {
                field,
                other,
                message,
            } => {
                let (Some(a), Some(b)) = (date(field, &flagged), date(other, &flagged)) else {
                    continue;
                };
                if a > b {
                    let f = def.field(field).expect("in good, so defined");
                    let message = said(&field_name(def, f), &message.zh, &message.en);
                    errors.push((field_key(&f.id), error(f, ErrorCode::Order, message)));
                    flagged.insert(field.as_str());
                }
            }
        }
    }

    // Step 5.
    for (j, s) in def.scans.iter().enumerate() {
        let required = s.required && s.group.as_deref().is_none_or(group_required);
        if required && !scans.contains(&s.id) {
            errors.push((
                scans_key + j,
                FieldError {
                    field: format!("scans.{}", s.id),
                    code: ErrorCode::MissingScan,
                    message: Text::new(
                        format!("{}尚未扫描", s.label.zh),
                        format!("{}: not scanned yet", s.label.en),
                    ),
                },
            ));
        }
    }
    for id in scans.iter().filter(|id| def.scan(id).is_none()) {
        errors.push((
            scans_key + def.scans.len(),
            FieldError {
                field: format!("scans.{id}"),
                code: ErrorCode::UnknownField,
                message: Text::new(
                    format!("“{id}”不是本服务的扫描件"),
                    format!("\"{id}\" is not a scan of this service"),
                ),
            },
        ));
    }

    errors.sort_by_key(|(key, _)| *key);
    errors.into_iter().map(|(_, e)| e).collect()
}

/// A filled, valid value, as the rules need it.
enum Value {
    Date(Date),
    Id(IdNumber),
    Gender(Gender),
    Other,
}

fn error(f: &FieldDef, code: ErrorCode, message: Text) -> FieldError {
    FieldError {
        field: f.id.clone(),
        code,
        message,
    }
}

/// "母亲 出生日期" / "Mother — Date of birth".
fn field_name(def: &ServiceDefinition, f: &FieldDef) -> Text {
    match def.group(f.group_id()) {
        Some(g) => Text::new(
            format!("{} {}", g.label.zh, f.label.zh),
            format!("{} — {}", g.label.en, f.label.en),
        ),
        None => f.label.clone(),
    }
}

fn label_of(def: &ServiceDefinition, id: &str) -> Text {
    def.field(id)
        .map_or_else(|| Text::new(id, id), |f| f.label.clone())
}

/// The name followed directly by a Chinese predicate, and by a colon and an English one.
fn say(name: &Text, zh: impl Display, en: impl Display) -> Text {
    Text::new(format!("{}{zh}", name.zh), format!("{}: {en}", name.en))
}

/// The name, a colon and a sentence in both languages (for messages from definitions).
fn said(name: &Text, zh: &str, en: &str) -> Text {
    Text::new(format!("{}：{zh}", name.zh), format!("{}: {en}", name.en))
}

fn ymd(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day())
}

/// Trim; outside `text`, fold full-width forms; in ID numbers, upper-case.
fn clean(kind: &FieldKind, raw: &str) -> String {
    let trimmed = raw.trim();
    match kind {
        FieldKind::Text { .. } => trimmed.to_string(),
        _ => {
            let folded: String = trimmed.chars().map(fold_full_width).collect();
            let folded = folded.trim();
            if matches!(kind, FieldKind::IdNumber) {
                folded.to_ascii_uppercase()
            } else {
                folded.to_string()
            }
        }
    }
}

fn fold_full_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// `YYYY-MM-DD`, exactly, as a real date.
pub(crate) fn parse_ymd(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u16> {
        let part = &s[r];
        part.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| part.parse().ok())
            .flatten()
    };
    let month = Month::try_from(u8::try_from(num(5..7)?).ok()?).ok()?;
    let day = u8::try_from(num(8..10)?).ok()?;
    Date::from_calendar_date(i32::from(num(0..4)?), month, day).ok()
}

/// Mainland mobile `1[3-9]` + 9 digits, or a landline: optional area code `0` + 2–3
/// digits (followed by `-` or directly by the local number) and a local number of 7–8
/// digits starting with 2–9.
pub(crate) fn is_phone(s: &str) -> bool {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|c| c.is_ascii_digit());
    let local = |t: &str| digits(t) && (7..=8).contains(&t.len()) && !t.starts_with(['0', '1']);
    let area = |t: &str| digits(t) && (3..=4).contains(&t.len()) && t.starts_with('0');
    if let Some((a, l)) = s.split_once('-') {
        return area(a) && local(l);
    }
    if !digits(s) {
        return false;
    }
    match s.as_bytes()[0] {
        b'1' => s.len() == 11 && (b'3'..=b'9').contains(&s.as_bytes()[1]),
        b'0' => (3..=4).any(|n| s.len() > n && area(&s[..n]) && local(&s[n..])),
        _ => local(s),
    }
}

type Problem = (ErrorCode, Text);

/// The check of one filled value against its kind.
fn check_value(kind: &FieldKind, v: &str, ctx: &Context) -> Result<Value, Problem> {
    let invalid = |zh: &str, en: &str| (ErrorCode::Invalid, Text::new(zh, en));
    match *kind {
        FieldKind::Text { max_len } => {
            let n = v.chars().count();
            if n > max_len as usize {
                return Err((
                    ErrorCode::TooLong,
                    Text::new(
                        format!("太长：最多 {max_len} 个字，现在 {n} 个字"),
                        format!("too long: at most {max_len} characters, now {n}"),
                    ),
                ));
            }
            if v.chars().any(char::is_control) {
                return Err(invalid(
                    "不能包含换行或控制字符",
                    "it must not contain line breaks or control characters",
                ));
            }
            Ok(Value::Other)
        }
        FieldKind::IdNumber => {
            let id = IdNumber::parse(v).map_err(|e| (ErrorCode::IdNumber, e.problem()))?;
            if id.birth_date() > ctx.today {
                return Err((
                    ErrorCode::IdNumber,
                    Text::new(
                        "中的出生日期晚于今天",
                        "the date of birth in it is later than today",
                    ),
                ));
            }
            Ok(Value::Id(id))
        }
        FieldKind::Gender => Gender::from_code(v).map(Value::Gender).ok_or_else(|| {
            invalid(
                "不是有效的性别代码（1 男，2 女）",
                "not a valid gender code (1 male, 2 female)",
            )
        }),
        FieldKind::Ethnicity => match ethnicity_name(v) {
            Some(_) => Ok(Value::Other),
            None => Err(invalid(
                "不是有效的民族代码（如 01 汉）",
                "not a valid ethnic group code (GB/T 3304, e.g. 01 Han)",
            )),
        },
        FieldKind::Phone => {
            if is_phone(v) {
                Ok(Value::Other)
            } else {
                Err(invalid(
                    "不是有效的电话号码（11 位手机号，或座机如 0871-63123456）",
                    "not a valid phone number (an 11-digit mobile, or a landline such as 0871-63123456)",
                ))
            }
        }
        FieldKind::Date {
            not_future,
            not_past,
        } => {
            let d = parse_ymd(v).ok_or_else(|| {
                invalid(
                    "不是有效的日期（请按 2026-05-01 的格式填写）",
                    "not a valid date (write it like 2026-05-01)",
                )
            })?;
            if !(EARLIEST_BIRTH..=LATEST_BIRTH).contains(&d) {
                return Err(invalid(
                    "不在 1850-01-01 到 2200-01-01 之间",
                    "it is not between 1850-01-01 and 2200-01-01",
                ));
            }
            let today = ymd(ctx.today);
            if not_future && d > ctx.today {
                return Err((
                    ErrorCode::FutureDate,
                    Text::new(
                        format!("不能晚于今天（{today}）"),
                        format!("it cannot be later than today ({today})"),
                    ),
                ));
            }
            if not_past && d < ctx.today {
                return Err((
                    ErrorCode::PastDate,
                    Text::new(
                        format!("不能早于今天（{today}）"),
                        format!("it cannot be earlier than today ({today})"),
                    ),
                ));
            }
            Ok(Value::Date(d))
        }
        FieldKind::Integer { min, max } => {
            let n: i64 = v
                .parse()
                .map_err(|_| invalid("应为整数", "it must be a whole number"))?;
            if !(min..=max).contains(&n) {
                return Err((
                    ErrorCode::OutOfRange,
                    Text::new(
                        format!("应在 {min} 到 {max} 之间"),
                        format!("it must be between {min} and {max}"),
                    ),
                ));
            }
            Ok(Value::Other)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn phones() {
        let check = |s: &str, ok: bool| assert_eq!(is_phone(s), ok, "{s:?}");
        check("13812345678", true);
        check("19912345678", true);
        check("12812345678", false);
        check("1381234567", false);
        check("138123456789", false);
        check("0871-63123456", true);
        check("087163123456", true);
        check("010-62345678", true);
        check("01062345678", true); // 010 + 8 digits
        check("63123456", true);
        check("6312345", true);
        check("631234", false);
        check("0871-03123456", false);
        check("871-63123456", false);
        check("0871-", false);
        check("-63123456", false);
        check("0871-6312-3456", false);
        check("+8613812345678", false);
        check("", false);
    }

    #[test]
    fn dates() {
        let check = |s: &str, d: Option<Date>| assert_eq!(parse_ymd(s), d, "{s:?}");
        check("2026-11-25", Some(date!(2026 - 11 - 25)));
        check("2024-02-29", Some(date!(2024 - 02 - 29)));
        check("2023-02-29", None);
        check("2026-1-25", None);
        check("2026/11/25", None);
        check("20261125", None);
        check("2026-11-+5", None);
        check("２０２６-11-25", None); // parse_ymd sees cleaned values only
    }

    #[test]
    fn cleaning() {
        let check = |kind: FieldKind, raw: &str, expected: &str| {
            assert_eq!(clean(&kind, raw), expected, "{raw:?}")
        };
        check(FieldKind::Phone, " １３８１２３４５６７８ ", "13812345678");
        check(
            FieldKind::Phone,
            "０８７１－６３１２３４５６",
            "0871-63123456",
        );
        check(
            FieldKind::IdNumber,
            "11010519491231002x\t",
            "11010519491231002X",
        );
        check(FieldKind::Text { max_len: 5 }, "　张三　", "张三");
        check(FieldKind::Text { max_len: 5 }, "ＡＢ", "ＡＢ");
    }
}
