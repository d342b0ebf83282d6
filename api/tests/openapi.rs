//! The committed OpenAPI document agrees with the wire types and the path constants.
//!
//! - `docs/openapi.yaml` must equal `county_api::openapi::to_yaml()`. After changing a wire
//!   type or an operation, run `UPDATE_OPENAPI=1 cargo test -p county-api --test openapi` to
//!   rewrite it, and commit the result.
//! - The document's paths are exactly the constants of `county_api::paths` (including
//!   `OPENAPI`, which the county serves too).
//! - A sample of every wire type validates against its schema (a small validator below covers
//!   the JSON Schema keywords schemars emits for these types).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use county_api::*;
use serde::Serialize;
use serde_json::{Map, Value, json};
use uuid::Uuid;

fn committed_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml")
}

fn updating() -> bool {
    std::env::var_os("UPDATE_OPENAPI").is_some_and(|v| v == "1")
}

#[test]
fn committed_document_is_up_to_date() {
    let path = committed_path();
    let fresh = openapi::to_yaml();
    if updating() {
        std::fs::write(&path, &fresh).expect("write docs/openapi.yaml");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "{} is out of date with the wire types in api/src. \
         Run `UPDATE_OPENAPI=1 cargo test -p county-api --test openapi` to rewrite it, \
         review the diff and commit it.",
        path.display()
    );
}

#[test]
fn compiled_in_copy_is_the_generated_document() {
    // `COMMITTED` is what the county serves; it is compiled from the same file (and is stale
    // during the run that rewrites the file).
    if updating() {
        return;
    }
    assert!(
        openapi::COMMITTED == openapi::to_yaml(),
        "docs/openapi.yaml is stale; run `UPDATE_OPENAPI=1 cargo test -p county-api --test openapi`"
    );
}

#[test]
fn document_paths_are_exactly_the_path_constants() {
    let doc = openapi::document();
    let documented: BTreeSet<&str> = doc["paths"]
        .as_object()
        .expect("paths object")
        .keys()
        .map(String::as_str)
        .collect();
    // Keep in step with `county_api::paths`: a route constant added there without an entry in
    // the document fails here (and a path documented without a constant too).
    let constants: BTreeSet<&str> = [
        paths::ENROL,
        paths::APPLICATION,
        paths::ATTACHMENT,
        paths::HANDOVER,
        paths::DECISIONS,
        paths::DECISIONS_ACK,
        paths::CATALOG,
        paths::NOTICES,
        paths::SELFTEST,
        paths::OPENAPI,
    ]
    .into_iter()
    .collect();
    assert_eq!(documented, constants);
    // The list above must itself be complete: count the `pub const` items of `paths`.
    let source = include_str!("../src/lib.rs");
    let paths_module = source
        .split("pub mod paths {")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("the paths module in api/src/lib.rs");
    let declared = paths_module.matches("pub const ").count();
    assert_eq!(
        declared,
        constants.len(),
        "api/src/lib.rs declares {declared} path constants; this test lists {}. \
         Document the new route in api/src/openapi.rs and add it here.",
        constants.len()
    );
}

#[test]
fn every_operation_is_complete() {
    let doc = openapi::document();
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if method == "parameters" {
                continue;
            }
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{method} {path} has no operationId");
            assert!(ids.insert(id.to_owned()), "duplicate operationId {id}");
            assert!(op["summary"].is_string(), "{method} {path} has no summary");
            let responses = op["responses"].as_object().unwrap();
            assert!(!responses.is_empty(), "{method} {path} has no responses");
            if path != paths::OPENAPI {
                assert!(
                    responses.contains_key("500"),
                    "{method} {path} does not document 500"
                );
            }
            // Every `{param}` of the template is declared.
            let declared: Vec<String> = item
                .get("parameters")
                .into_iter()
                .chain(op.get("parameters"))
                .flat_map(|p| p.as_array().unwrap().iter())
                .map(|p| resolve(&doc, p)["name"].as_str().unwrap().to_owned())
                .collect();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        declared.iter().any(|d| d == name),
                        "{method} {path}: path parameter {name} not declared"
                    );
                }
            }
        }
    }
    // Every `$ref` resolves.
    check_refs(&doc, &doc);
}

fn resolve<'a>(doc: &'a Value, value: &'a Value) -> &'a Value {
    match value.get("$ref").and_then(Value::as_str) {
        Some(r) => {
            let pointer = r.strip_prefix('#').expect("local $ref");
            doc.pointer(pointer)
                .unwrap_or_else(|| panic!("dangling $ref {r}"))
        }
        None => value,
    }
}

fn check_refs(doc: &Value, value: &Value) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                let pointer = r.strip_prefix('#').expect("local $ref");
                assert!(doc.pointer(pointer).is_some(), "dangling $ref {r}");
            }
            map.values().for_each(|v| check_refs(doc, v));
        }
        Value::Array(items) => items.iter().for_each(|v| check_refs(doc, v)),
        _ => {}
    }
}

// ---- Samples of every wire type validate against their schemas ----

fn sample_manifest() -> AttachmentManifest {
    AttachmentManifest {
        name: "mother_id_card.jpg".into(),
        scan: "mother_id_card".into(),
        content_type: "image/jpeg".into(),
        size: 1234,
        sha256: "ab".repeat(32),
    }
}

fn sample_status() -> AttachmentStatus {
    AttachmentStatus {
        name: "mother_id_card.jpg".into(),
        size: 1234,
        sha256: "ab".repeat(32),
        received: 512,
        complete: false,
    }
}

fn sample_decision(reason: Option<&str>) -> Decision {
    Decision {
        cursor: 7,
        application_id: Uuid::now_v7(),
        tracking_number: "BP-2024-0001".into(),
        kind: DecisionKind::MorePapers,
        reason: reason.map(str::to_owned),
        decided_at: "2024-05-01T08:00:00Z".into(),
    }
}

fn sample_notice(expires: Option<&str>) -> Notice {
    Notice {
        id: 1,
        version: 3,
        title: I18nText {
            zh: "通知".into(),
            en: "Notice".into(),
        },
        body: I18nText {
            zh: "正文".into(),
            en: "Body".into(),
        },
        published_at: "2024-05-01T08:00:00Z".into(),
        expires_at: expires.map(str::to_owned),
    }
}

/// (schema name, sample JSON) for every wire type, some in more than one shape.
fn samples() -> Vec<(&'static str, Value)> {
    fn j<T: Serialize>(value: &T) -> Value {
        serde_json::to_value(value).expect("serialise sample")
    }
    let submit = SubmitApplication {
        application_id: Uuid::now_v7(),
        tracking_number: "BP-2024-0001".into(),
        service: "birth-permit".into(),
        service_version: 1,
        submitted_at: "2024-05-01T08:00:00Z".into(),
        fields: BTreeMap::from([("mother_name".into(), "李梅".into())]),
        attachments: vec![sample_manifest()],
        sealed: None,
        clock: Some(ClockNote {
            confidence: ClockConfidence::Checked,
            county_offset_secs: Some(-3),
            compared_at: Some("2024-05-01T07:58:00Z".into()),
        }),
    };
    let sealed_submit = SubmitApplication {
        fields: BTreeMap::new(),
        sealed: Some("767473310a0b".into()),
        ..submit.clone()
    };
    let sealed_record = SealedRecord {
        fields: BTreeMap::from([("mother_name".into(), "李梅".into())]),
        attachments: vec![PlainDigest {
            name: "mother_id_card.jpg".into(),
            size: 10,
            sha256: "0".repeat(64),
        }],
    };
    let receipt = SubmissionReceipt {
        application_id: submit.application_id,
        tracking_number: submit.tracking_number.clone(),
        received_at: "2024-05-01T08:00:01Z".into(),
        complete: false,
        state: CountyState::Receiving,
        attachments: vec![sample_status()],
    };
    let mut out = vec![
        (
            "Provisioning",
            j(&Provisioning {
                county_url: "http://10.0.0.5:8080".into(),
                station_id: "st-abcdefgh".into(),
                station_name: "Xiaozhai".into(),
                enrolment_token: "token".into(),
                county_public_key: "ab".repeat(32),
                county_signing_key: Some("cd".repeat(32)),
                county_tls_anchor: Some(
                    "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n".into(),
                ),
            }),
        ),
        (
            "EnrolRequest",
            j(&EnrolRequest {
                station_id: "st-abcdefgh".into(),
                enrolment_token: "token".into(),
                signing_public_key: Some("ef".repeat(32)),
            }),
        ),
        (
            "EnrolResponse",
            j(&EnrolResponse {
                station_id: "st-abcdefgh".into(),
                station_name: "Xiaozhai".into(),
                credential: "secret".into(),
            }),
        ),
        ("AttachmentManifest", j(&sample_manifest())),
        ("SubmitApplication", j(&submit)),
        ("SubmitApplication", j(&sealed_submit)),
        ("SealedRecord", j(&sealed_record)),
        ("PlainDigest", j(&sealed_record.attachments[0])),
        ("AttachmentStatus", j(&sample_status())),
        ("SubmissionReceipt", j(&receipt)),
        ("Decision", j(&sample_decision(Some("photo unreadable")))),
        ("Decision", j(&sample_decision(None))),
        (
            "DecisionPage",
            j(&DecisionPage {
                decisions: vec![sample_decision(None)],
                next_cursor: 7,
                more: false,
            }),
        ),
        (
            "DecisionQuery",
            j(&DecisionQuery {
                after: 3,
                limit: Some(10),
            }),
        ),
        (
            "DecisionQuery",
            j(&DecisionQuery {
                after: 0,
                limit: None,
            }),
        ),
        ("DecisionAck", j(&DecisionAck { cursor: 7 })),
        (
            "HandOver",
            j(&HandOver {
                handed_over_at: "2024-05-04T08:00:00Z".into(),
            }),
        ),
        (
            "ClockNote",
            j(&ClockNote {
                confidence: ClockConfidence::Unchecked,
                county_offset_secs: None,
                compared_at: None,
            }),
        ),
        ("ClockConfidence", j(&ClockConfidence::Doubtful)),
        (
            "SelftestReport",
            j(&SelftestReport {
                checked_at: "2026-11-25T09:12:03+08:00".into(),
                ok: false,
                version: "0.1.0".into(),
                checks: vec![SelftestCheck {
                    name: "printer".into(),
                    ok: false,
                    detail: "打印机不能打印 The printer cannot print: out of paper".into(),
                    action: Some("装纸 Load paper".into()),
                }],
            }),
        ),
        (
            "SelftestCheck",
            j(&SelftestCheck {
                name: "reader".into(),
                ok: true,
                detail: "读卡器正常 Reader answers".into(),
                action: None,
            }),
        ),
        (
            "Catalog",
            j(&Catalog {
                version: 1,
                services: vec![json!({ "id": "birth-permit" })],
                params: BTreeMap::from([("min_age".into(), 60)]),
            }),
        ),
        (
            "I18nText",
            j(&I18nText {
                zh: "你好".into(),
                en: "Hello".into(),
            }),
        ),
        ("Notice", j(&sample_notice(None))),
        ("Notice", j(&sample_notice(Some("2024-06-01T00:00:00Z")))),
        (
            "NoticePage",
            j(&NoticePage {
                notices: vec![sample_notice(None)],
                version: 3,
            }),
        ),
        ("NoticeQuery", j(&NoticeQuery { after: 2 })),
        (
            "ErrorBody",
            j(&ErrorBody {
                code: ErrorCode::OffsetMismatch,
                message: "wrong offset".into(),
                message_zh: "偏移量不对".into(),
                retryable: false,
                expected_offset: Some(512),
                field_errors: BTreeMap::new(),
            }),
        ),
    ];
    for state in [
        CountyState::Receiving,
        CountyState::Complete,
        CountyState::Approved,
        CountyState::Rejected,
        CountyState::MorePapers,
        CountyState::Ready,
        CountyState::HandedOver,
    ] {
        assert_eq!(j(&state), json!(state.as_str()));
        out.push(("CountyState", j(&state)));
    }
    for kind in [
        DecisionKind::Approve,
        DecisionKind::Reject,
        DecisionKind::MorePapers,
        DecisionKind::Ready,
    ] {
        out.push(("DecisionKind", j(&kind)));
    }
    for code in [
        ErrorCode::Unauthorized,
        ErrorCode::EnrolmentRefused,
        ErrorCode::NotFound,
        ErrorCode::Conflict,
        ErrorCode::OffsetMismatch,
        ErrorCode::ChecksumMismatch,
        ErrorCode::InvalidApplication,
        ErrorCode::BadRequest,
        ErrorCode::TooLarge,
        ErrorCode::UnsupportedMediaType,
        ErrorCode::RateLimited,
        ErrorCode::Internal,
    ] {
        out.push(("ErrorCode", j(&code)));
    }
    out
}

#[test]
fn samples_of_every_wire_type_validate_against_their_schemas() {
    let doc = openapi::document();
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let samples = samples();
    let covered: BTreeSet<&str> = samples.iter().map(|(name, _)| *name).collect();
    let declared: BTreeSet<&str> = schemas.keys().map(String::as_str).collect();
    assert_eq!(
        covered, declared,
        "every schema has a sample, and only those"
    );
    for (name, sample) in &samples {
        let mut errors = Vec::new();
        validate(&doc, &schemas[*name], sample, name, &mut errors);
        assert!(errors.is_empty(), "{name} sample {sample}: {errors:#?}");
    }
}

#[test]
fn the_validator_rejects_what_it_should() {
    // The validator is only worth something if it can fail.
    let doc = openapi::document();
    let schemas = &doc["components"]["schemas"];
    let cases = [
        ("DecisionAck", json!({})),                            // required missing
        ("DecisionAck", json!({ "cursor": 1, "extra": 2 })),   // unknown property
        ("DecisionAck", json!({ "cursor": "1" })),             // wrong type
        ("DecisionAck", json!({ "cursor": -1 })),              // below minimum
        ("CountyState", json!("lost")),                        // not in the enum
        ("SubmitApplication", json!({ "application_id": 1 })), // many things
        (
            "ErrorBody",
            json!({ "code": "nope", "message": "", "message_zh": "", "retryable": true }),
        ),
    ];
    for (name, bad) in cases {
        let mut errors = Vec::new();
        validate(&doc, &schemas[name], &bad, name, &mut errors);
        assert!(!errors.is_empty(), "{name} accepted {bad}");
    }
}

/// A small JSON Schema validator for the keywords schemars emits for these types:
/// `$ref`, `type`, `properties`, `required`, `additionalProperties`, `items`, `enum`, `const`,
/// `oneOf`, `anyOf`, `minimum`, `maximum`, `format: uuid`. An unknown keyword fails the test so
/// that a new construct gets noticed rather than silently accepted.
fn validate(doc: &Value, schema: &Value, value: &Value, at: &str, errors: &mut Vec<String>) {
    let schema = match schema {
        Value::Bool(true) => return,
        Value::Bool(false) => {
            errors.push(format!("{at}: no value allowed"));
            return;
        }
        Value::Object(map) => map,
        other => panic!("{at}: schema is {other}"),
    };
    for (keyword, rule) in schema {
        match keyword.as_str() {
            "$ref" => {
                let target = resolve(
                    doc,
                    &Value::Object(Map::from_iter([("$ref".to_owned(), rule.clone())])),
                )
                .clone();
                validate(doc, &target, value, at, errors);
            }
            "type" => {
                let allowed: Vec<&str> = match rule {
                    Value::String(t) => vec![t.as_str()],
                    Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
                    other => panic!("{at}: type {other}"),
                };
                if !allowed.iter().any(|t| has_type(value, t)) {
                    errors.push(format!("{at}: {value} is not of type {allowed:?}"));
                }
            }
            "properties" => {
                if let Some(object) = value.as_object() {
                    for (property, sub) in rule.as_object().unwrap() {
                        if let Some(v) = object.get(property) {
                            validate(doc, sub, v, &format!("{at}.{property}"), errors);
                        }
                    }
                }
            }
            "required" => {
                if let Some(object) = value.as_object() {
                    for property in rule.as_array().unwrap() {
                        let property = property.as_str().unwrap();
                        if !object.contains_key(property) {
                            errors.push(format!("{at}: required {property} missing"));
                        }
                    }
                }
            }
            "additionalProperties" => {
                if let Some(object) = value.as_object() {
                    let known = schema.get("properties").and_then(Value::as_object);
                    for (property, v) in object {
                        if known.is_some_and(|k| k.contains_key(property)) {
                            continue;
                        }
                        validate(doc, rule, v, &format!("{at}.{property}"), errors);
                    }
                }
            }
            "items" => {
                if let Some(items) = value.as_array() {
                    for (i, v) in items.iter().enumerate() {
                        validate(doc, rule, v, &format!("{at}[{i}]"), errors);
                    }
                }
            }
            "enum" => {
                if !rule.as_array().unwrap().contains(value) {
                    errors.push(format!("{at}: {value} not in {rule}"));
                }
            }
            "const" => {
                if rule != value {
                    errors.push(format!("{at}: {value} is not {rule}"));
                }
            }
            "oneOf" | "anyOf" => {
                let matching = rule
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|sub| {
                        let mut sub_errors = Vec::new();
                        validate(doc, sub, value, at, &mut sub_errors);
                        sub_errors.is_empty()
                    })
                    .count();
                let ok = if keyword == "oneOf" {
                    matching == 1
                } else {
                    matching >= 1
                };
                if !ok {
                    errors.push(format!("{at}: {value} matches {matching} of {keyword}"));
                }
            }
            "minimum" | "maximum" => {
                if let Some(n) = value.as_f64() {
                    let bound = rule.as_f64().unwrap();
                    if (keyword == "minimum" && n < bound) || (keyword == "maximum" && n > bound) {
                        errors.push(format!("{at}: {n} violates {keyword} {bound}"));
                    }
                }
            }
            "format" => {
                if rule == "uuid"
                    && let Some(s) = value.as_str()
                    && Uuid::parse_str(s).is_err()
                {
                    errors.push(format!("{at}: {s} is not a uuid"));
                }
            }
            "description" | "title" | "default" | "examples" => {}
            other => panic!("{at}: the test validator does not know keyword {other}"),
        }
    }
}

fn has_type(value: &Value, t: &str) -> bool {
    match t {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        other => panic!("unknown type {other}"),
    }
}
