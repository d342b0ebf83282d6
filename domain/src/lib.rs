//! The kiosk's domain: service definitions, application values, validation and the
//! ID-number rules.
//!
//! # The key design decision: services are data
//!
//! A service (birth registration, elderly card, …) is not code. It is a
//! [`ServiceDefinition`]: a versioned JSON document listing its groups, fields, field
//! kinds, cross-field rules, county-tunable parameters and the papers to scan. The kiosk
//! ships two of them ([`builtin`]); the county can push new or revised ones, which go
//! through [`definition::parse`] before use. Adding a service never needs a new build.
//! The format is documented in `domain/services/README.md` and as a JSON Schema in
//! `docs/service-definition.schema.json` ([`definition::json_schema`]).
//!
//! # I/O contract: none
//!
//! This crate reads no files, opens no ports and never looks at a clock. "Today" and the
//! county's parameter overrides come in through [`Context`]; the built-in definitions are
//! embedded at compile time. Everything here is a pure function of its inputs, so the
//! same application gives the same errors on the kiosk, on the county server and in tests.
//!
//! # Map
//!
//! - [`text`]: [`Text`], every human-readable string in zh-CN and English.
//! - [`idnumber`]: GB 11643 ID numbers ([`IdNumber`], [`check_char`]).
//! - [`codes`]: GB/T 2261.1 gender and GB/T 3304 ethnic-group codes.
//! - [`age`]: age in completed years ([`age_on`]).
//! - [`definition`]: the definition format, its consistency checks, the built-ins.
//! - [`validate`](mod@validate): [`validate()`](validate::validate) and [`normalize`].

pub mod age;
pub mod codes;
pub mod definition;
pub mod idnumber;
pub mod text;
pub mod validate;

pub use age::age_on;
pub use codes::{Gender, ethnicities, ethnicity_name};
pub use definition::{
    APPLICATION_DATE, CardField, DefinitionError, FORMAT_VERSION, FieldDef, FieldKind, Group,
    Param, Rule, ScanDef, ServiceDefinition, builtin,
};
pub use idnumber::{IdNumber, IdNumberError, check_char};
pub use text::Text;
pub use validate::{Context, ErrorCode, FieldError, normalize, validate};

/// An application's values: field id → value as typed or filled from the card.
/// An empty string and an absent key both mean "not filled".
pub type FieldValues = std::collections::BTreeMap<String, String>;
