//! The OpenAPI 3.1 document of the station–county API, built from the wire types.
//!
//! Key decision: the schemas are *generated* (schemars, JSON Schema 2020-12, the dialect
//! OpenAPI 3.1 uses) from the types in this crate, while the operations under `paths` are
//! written by hand below. `docs/openapi.yaml` is the committed output of [`to_yaml`]; the test
//! `api/tests/openapi.rs` fails when the two differ (run it with `UPDATE_OPENAPI=1` to rewrite
//! the file) and when a constant in [`crate::paths`] has no entry in the document.
//!
//! The document lists [`crate::paths::OPENAPI`] too: the county serves it, without a credential.
//!
//! I/O contract: none. [`document`] and [`to_yaml`] are pure; [`COMMITTED`] is the committed
//! file as it was when this crate was compiled.

use schemars::JsonSchema;
use schemars::generate::{SchemaGenerator, SchemaSettings};
use serde_json::{Map, Value, json};

use crate::paths;

/// `docs/openapi.yaml` as committed, compiled in: what the county serves at
/// [`crate::paths::OPENAPI`].
pub const COMMITTED: &str = include_str!("../../docs/openapi.yaml");

/// Where the schemas live inside the document.
const SCHEMAS: &str = "#/components/schemas/";

/// The OpenAPI 3.1.0 document as a JSON value.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "Village station – county API",
            "version": "1",
            "description": "The station always dials out (villages sit behind NAT). Every call \
                except enrolment and this document carries `Authorization: Bearer <station \
                credential>`. The application id (a UUIDv7 made at the station) is the \
                idempotency key of a submission. Times are RFC 3339 strings in UTC. Every error \
                answer (4xx, 5xx) is an `ErrorBody`.",
        },
        "security": [{ "station": [] }],
        "paths": path_items(),
        "components": {
            "securitySchemes": {
                "station": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "The station credential returned once by `POST /v1/enrol`.",
                },
            },
            "schemas": schemas(),
            "parameters": parameters(),
            "responses": responses(),
        },
    })
}

/// [`document`] as YAML, with every mapping's keys in sorted order (whatever serde_json's
/// `preserve_order` feature says), so the output is the same in every build.
pub fn to_yaml() -> String {
    let sorted = sort_keys(document());
    // A `Value` always serialises: its keys are strings and it holds no non-finite floats.
    serde_yaml_ng::to_string(&sorted).unwrap_or_default()
}

fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect::<Map<String, Value>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// The JSON Schemas of every wire type, keyed by type name, referencing each other under
/// `#/components/schemas/`.
pub fn schemas() -> Map<String, Value> {
    let mut generator = SchemaSettings::draft2020_12()
        .with(|s| {
            s.definitions_path = "/components/schemas".into();
            s.meta_schema = None;
        })
        .into_generator();
    fn add<T: JsonSchema>(generator: &mut SchemaGenerator) {
        // Registers T (and what it refers to) in the definitions; the `$ref` is not needed.
        let _ = generator.subschema_for::<T>();
    }
    let g = &mut generator;
    add::<crate::Provisioning>(g);
    add::<crate::EnrolRequest>(g);
    add::<crate::EnrolResponse>(g);
    add::<crate::AttachmentManifest>(g);
    add::<crate::SubmitApplication>(g);
    add::<crate::ClockNote>(g);
    add::<crate::ClockConfidence>(g);
    add::<crate::SealedRecord>(g);
    add::<crate::PlainDigest>(g);
    add::<crate::AttachmentStatus>(g);
    add::<crate::SubmissionReceipt>(g);
    add::<crate::CountyState>(g);
    add::<crate::DecisionKind>(g);
    add::<crate::Decision>(g);
    add::<crate::DecisionPage>(g);
    add::<crate::DecisionQuery>(g);
    add::<crate::DecisionAck>(g);
    add::<crate::HandOver>(g);
    add::<crate::SelftestReport>(g);
    add::<crate::SelftestCheck>(g);
    add::<crate::Catalog>(g);
    add::<crate::I18nText>(g);
    add::<crate::Notice>(g);
    add::<crate::NoticePage>(g);
    add::<crate::NoticeQuery>(g);
    add::<crate::ErrorBody>(g);
    add::<crate::ErrorCode>(g);
    generator.take_definitions(true)
}

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("{SCHEMAS}{name}") })
}

fn json_body(name: &str) -> Value {
    json!({ "application/json": { "schema": schema_ref(name) } })
}

fn ok(description: &str, schema: &str) -> Value {
    json!({ "description": description, "content": json_body(schema) })
}

fn error(description: &str) -> Value {
    json!({ "description": description, "content": json_body("ErrorBody") })
}

fn common(name: &str) -> Value {
    json!({ "$ref": format!("#/components/responses/{name}") })
}

fn param(name: &str) -> Value {
    json!({ "$ref": format!("#/components/parameters/{name}") })
}

fn request(schema: &str) -> Value {
    json!({ "required": true, "content": json_body(schema) })
}

/// Responses shared by many operations.
fn responses() -> Value {
    json!({
        "BadRequest": error("`bad_request`: malformed body, header, path or query parameter."),
        "Unauthorized": error("`unauthorized`: missing or unknown station credential."),
        "Revoked": error("`station_revoked`: the county revoked this station; every call with \
            its credential is refused until the station is provisioned anew (not retryable)."),
        "NotFound": error("`not_found`: no such application or attachment for this station \
            (a station never sees another station's applications)."),
        "TooLarge": error("`too_large`: the body is larger than allowed (JSON bodies: 256 KiB)."),
        "UnsupportedMediaType": error("`unsupported_media_type`: wrong `Content-Type`."),
        "Internal": error("`internal`: the county failed; retry later."),
    })
}

/// Parameters shared by many operations.
fn parameters() -> Value {
    json!({
        "ApplicationId": {
            "name": "application_id",
            "in": "path",
            "required": true,
            "description": "The application id (UUIDv7 made at the station).",
            "schema": { "type": "string", "format": "uuid" },
        },
        "AttachmentName": {
            "name": "name",
            "in": "path",
            "required": true,
            "description": "The attachment's file name from the manifest.",
            "schema": {
                "type": "string",
                "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
                "maxLength": 100,
            },
        },
        "UploadOffset": {
            "name": crate::UPLOAD_OFFSET_HEADER,
            "in": "header",
            "required": true,
            "description": "Byte offset at which this chunk starts; must equal the attachment's \
                `received`.",
            "schema": { "type": "integer", "minimum": 0 },
        },
    })
}

/// The operations, written by hand.
fn path_items() -> Value {
    let mut items = Map::new();
    items.insert(
        paths::ENROL.into(),
        json!({
            "post": {
                "operationId": "enrol",
                "summary": "Exchange the one-time enrolment token for the station credential",
                "description": "The token from the provisioning file works once; a replayed or \
                    unknown token is refused with 403.",
                "security": [],
                "requestBody": request("EnrolRequest"),
                "responses": {
                    "200": ok("The station credential, shown once.", "EnrolResponse"),
                    "400": common("BadRequest"),
                    "403": error("`enrolment_refused`: the token is unknown or already spent."),
                    "413": common("TooLarge"),
                    "415": common("UnsupportedMediaType"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::APPLICATION.into(),
        json!({
            "parameters": [param("ApplicationId")],
            "put": {
                "operationId": "submitApplication",
                "summary": "Submit the application record (idempotent)",
                "description": "The path id must equal the body's `application_id`. The first \
                    submission answers 201; the same record again answers 200 with the \
                    current receipt; the same id with a different record answers 409. An \
                    application without attachments is complete at once.",
                "requestBody": request("SubmitApplication"),
                "responses": {
                    "200": ok("The same record was received before; its current receipt.",
                        "SubmissionReceipt"),
                    "201": ok("The record was stored.", "SubmissionReceipt"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "404": common("NotFound"),
                    "409": error("`conflict`: this id was submitted with a different record."),
                    "413": common("TooLarge"),
                    "415": common("UnsupportedMediaType"),
                    "422": error("`invalid_application`: the record will not be accepted as it \
                        is; see `field_errors`."),
                    "500": common("Internal"),
                },
            },
            "get": {
                "operationId": "getApplication",
                "summary": "The application's state at the county",
                "responses": {
                    "200": ok("The current receipt.", "SubmissionReceipt"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "404": common("NotFound"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::ATTACHMENT.into(),
        json!({
            "parameters": [param("ApplicationId"), param("AttachmentName")],
            "get": {
                "operationId": "getAttachment",
                "summary": "How much of an attachment has arrived",
                "description": "`received` is the offset the next chunk must start at.",
                "responses": {
                    "200": ok("The attachment's progress.", "AttachmentStatus"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "404": common("NotFound"),
                    "500": common("Internal"),
                },
            },
            "patch": {
                "operationId": "uploadChunk",
                "summary": "Append a chunk at Upload-Offset",
                "description": format!(
                    "The chunk (at most {} bytes) must start at the attachment's `received` \
                     offset and must not run past its size. When the last byte arrives the \
                     county checks the SHA-256 of the whole file: on a match the attachment is \
                     complete (and the application too once every attachment is); on a \
                     mismatch the received bytes are discarded and the upload restarts at 0. \
                     A PATCH to a complete attachment at offset = size answers 200.",
                    crate::MAX_CHUNK_BYTES
                ),
                "parameters": [param("UploadOffset")],
                "requestBody": {
                    "required": true,
                    "content": { "application/octet-stream": {} },
                },
                "responses": {
                    "200": ok("The chunk was stored; the attachment's progress.",
                        "AttachmentStatus"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "404": common("NotFound"),
                    "409": error("`offset_mismatch`: the chunk does not start at the stored \
                        offset; `expected_offset` says where it must."),
                    "413": error("`too_large`: the chunk is larger than the largest chunk \
                        allowed."),
                    "415": error("`unsupported_media_type`: the chunk must be sent as \
                        `application/octet-stream`."),
                    "422": error("`checksum_mismatch`: the whole file's SHA-256 did not match \
                        the manifest; the upload restarts at `expected_offset` 0."),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::HANDOVER.into(),
        json!({
            "parameters": [param("ApplicationId")],
            "post": {
                "operationId": "handOver",
                "summary": "Record that the villager collected the result (idempotent)",
                "description": "Allowed when the application is `ready`; repeating it once it \
                    is `handed_over` answers 200 again.",
                "requestBody": request("HandOver"),
                "responses": {
                    "200": ok("The receipt, in state `handed_over`.", "SubmissionReceipt"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "404": common("NotFound"),
                    "409": error("`conflict`: the application is not ready for pick-up."),
                    "413": common("TooLarge"),
                    "415": common("UnsupportedMediaType"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::DECISIONS.into(),
        json!({
            "get": {
                "operationId": "listDecisions",
                "summary": "Decisions for this station after a cursor",
                "parameters": [
                    {
                        "name": "after",
                        "in": "query",
                        "required": false,
                        "description": "Return decisions with a cursor greater than this \
                            (0 = from the start).",
                        "schema": { "type": "integer", "minimum": 0, "default": 0 },
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "required": false,
                        "description": "At most this many.",
                        "schema": {
                            "type": "integer", "minimum": 1, "maximum": 500, "default": 100,
                        },
                    },
                ],
                "responses": {
                    "200": ok("A page of decisions, oldest first.", "DecisionPage"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::DECISIONS_ACK.into(),
        json!({
            "post": {
                "operationId": "ackDecisions",
                "summary": "The station has applied every decision up to a cursor",
                "requestBody": request("DecisionAck"),
                "responses": {
                    "204": { "description": "Recorded." },
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "413": common("TooLarge"),
                    "415": common("UnsupportedMediaType"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::SELFTEST.into(),
        json!({
            "post": {
                "operationId": "reportSelftest",
                "summary": "The station's latest self-test",
                "description": "Sent with the next contact after `kiosk selftest` or the \
                    technician page ran the checks; the county's station dashboard shows the \
                    latest. A newer report replaces an older one; an older one is ignored.",
                "requestBody": request("SelftestReport"),
                "responses": {
                    "204": { "description": "Recorded." },
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "413": common("TooLarge"),
                    "415": common("UnsupportedMediaType"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::CATALOG.into(),
        json!({
            "get": {
                "operationId": "getCatalog",
                "summary": "The service catalog in force",
                "parameters": [{
                    "name": "If-None-Match",
                    "in": "header",
                    "required": false,
                    "description": "The ETag of the catalog the station holds.",
                    "schema": { "type": "string" },
                }],
                "responses": {
                    "200": {
                        "description": "The catalog.",
                        "headers": {
                            "ETag": {
                                "description": "`\"<version>\"`",
                                "schema": { "type": "string" },
                            },
                        },
                        "content": json_body("Catalog"),
                    },
                    "304": { "description": "The station's catalog is current." },
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::NOTICES.into(),
        json!({
            "get": {
                "operationId": "listNotices",
                "summary": "Notices for this station after a version",
                "parameters": [{
                    "name": "after",
                    "in": "query",
                    "required": false,
                    "description": "Return notices with a version greater than this.",
                    "schema": { "type": "integer", "minimum": 0, "default": 0 },
                }],
                "responses": {
                    "200": ok("The notices, oldest first.", "NoticePage"),
                    "400": common("BadRequest"),
                    "401": common("Unauthorized"),
                    "403": common("Revoked"),
                    "500": common("Internal"),
                },
            },
        }),
    );
    items.insert(
        paths::OPENAPI.into(),
        json!({
            "get": {
                "operationId": "getOpenApi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        // A YAML mapping: testers that parse `application/yaml` (schemathesis)
                        // compare the parsed document, not its text, with this schema.
                        "description": "The OpenAPI document (YAML).",
                        "content": { "application/yaml": { "schema": { "type": "object" } } },
                    },
                },
            },
        }),
    );
    Value::Object(items)
}
