//! The station–county contract: the wire types both sides use, and the paths.
//!
//! Key decision: these types *are* the contract. `docs/openapi.yaml` is generated from them
//! (see [`openapi`]) and a test fails when the committed document and the types disagree, so
//! the station (`store-and-forward`) and the county (`county`) cannot drift apart.
//!
//! I/O contract: none. This crate only describes bytes on the wire.
//!
//! Conventions:
//! - Every call except enrolment carries `Authorization: Bearer <station credential>`.
//! - The application id is a UUIDv7 made once at the station; it is the idempotency key.
//! - Times are RFC 3339 strings in UTC.
//! - Errors are an [`ErrorBody`] with a machine `code`, bilingual messages and `retryable`.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

pub mod bundle;
pub mod openapi;

/// Version prefix of every path.
pub const PREFIX: &str = "/v1";

/// The paths of the contract, as axum route templates. The county router and the station
/// client both build their URLs from these, and the OpenAPI test checks the document has
/// exactly these paths.
pub mod paths {
    /// `POST`: exchange a one-time enrolment token for the station's credential.
    pub const ENROL: &str = "/v1/enrol";
    /// `PUT`: submit (idempotently) the application record. `GET`: its state at the county.
    pub const APPLICATION: &str = "/v1/applications/{application_id}";
    /// `GET`: how much of an attachment has arrived. `PATCH`: append a chunk at `Upload-Offset`.
    pub const ATTACHMENT: &str = "/v1/applications/{application_id}/attachments/{name}";
    /// `POST`: record that the villager collected the result at the station.
    pub const HANDOVER: &str = "/v1/applications/{application_id}/handover";
    /// `GET`: decisions for this station after a cursor.
    pub const DECISIONS: &str = "/v1/decisions";
    /// `POST`: the station has applied every decision up to a cursor.
    pub const DECISIONS_ACK: &str = "/v1/decisions/ack";
    /// `GET`: the service catalog (ETag / If-None-Match).
    pub const CATALOG: &str = "/v1/catalog";
    /// `GET`: notices for this station after a version.
    pub const NOTICES: &str = "/v1/notices";
    /// `POST`: the station's latest self-test, so the county sees a failing device.
    pub const SELFTEST: &str = "/v1/selftest";
    /// `GET`: this document.
    pub const OPENAPI: &str = "/openapi.yaml";

    /// Fill the `{application_id}` template.
    pub fn application(id: &uuid::Uuid) -> String {
        APPLICATION.replace("{application_id}", &id.to_string())
    }
    /// Fill the `{application_id}` and `{name}` templates.
    pub fn attachment(id: &uuid::Uuid, name: &str) -> String {
        ATTACHMENT
            .replace("{application_id}", &id.to_string())
            .replace("{name}", name)
    }
    /// Fill the `{application_id}` template.
    pub fn handover(id: &uuid::Uuid) -> String {
        HANDOVER.replace("{application_id}", &id.to_string())
    }
}

/// Header carrying the byte offset at which a chunk starts (`PATCH` of an attachment).
pub const UPLOAD_OFFSET_HEADER: &str = "Upload-Offset";

/// Largest chunk the county accepts in one `PATCH`, in bytes.
pub const MAX_CHUNK_BYTES: u64 = 1024 * 1024;

/// Largest attachment the county accepts, in bytes.
pub const MAX_ATTACHMENT_BYTES: u64 = 32 * 1024 * 1024;

/// Attachment names: `[A-Za-z0-9][A-Za-z0-9._-]{0,99}`, no path separators, no `..`.
pub fn is_valid_attachment_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 100
        && bytes[0].is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !name.contains("..")
}

/// The provisioning file a technician copies to a station (TOML): written by
/// `county station add`, read by `kiosk provision`. Holds a one-time token, not a credential.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Provisioning {
    /// Base URL the station dials (may be a proxy in front of the county), e.g. `http://10.0.0.5:8080`.
    pub county_url: String,
    pub station_id: String,
    pub station_name: String,
    /// Exchanged once at `POST /v1/enrol` for the station's credential.
    pub enrolment_token: String,
    /// The county's public key (X25519, 64 hex characters): the station seals every
    /// application's personal data and scans to it (see [`SealedRecord`]).
    pub county_public_key: String,
    /// The county's signing key (Ed25519, 64 hex characters): the station checks the
    /// decision bundles the county sends by USB stick with it (see [`bundle`]). Absent in
    /// files from counties before sneakernet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county_signing_key: Option<String>,
    /// The county's TLS trust anchor (PEM: the CA certificate that signed the county's
    /// server certificate, or that certificate itself when it is self-signed). For an
    /// `https://` `county_url` the station trusts exactly this, never the system's store;
    /// absent for `http://` (loopback demos and tests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county_tls_anchor: Option<String>,
}

/// `POST /v1/enrol`: the station's first call, with the token from its provisioning file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The station id from the provisioning file.
    pub station_id: String,
    /// The one-time enrolment token from the provisioning file.
    pub enrolment_token: String,
    /// The station's own signing key (Ed25519 public key, 64 hex characters), made at
    /// provisioning: the county checks the bundles the station exports by USB stick with it
    /// (see [`bundle`]). Absent from stations before sneakernet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_public_key: Option<String>,
}

/// The station's long-lived credential; the enrolment token is spent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct EnrolResponse {
    pub station_id: String,
    /// The station's display name as the county registered it.
    pub station_name: String,
    /// Bearer credential for every later call. Shown once.
    pub credential: String,
}

/// One scan the application carries, as the station captured it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AttachmentManifest {
    /// File name, unique within the application (see [`is_valid_attachment_name`]).
    pub name: String,
    /// The scan slot of the service definition this file fills (e.g. `mother_id_card`).
    pub scan: String,
    /// MIME type, e.g. `image/jpeg`.
    pub content_type: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256 of the whole file.
    pub sha256: String,
}

/// `PUT /v1/applications/{application_id}`: the application record. Sending the same record
/// again is answered as the first time; the same id with a different record is refused (409).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmitApplication {
    /// UUIDv7 made at the station; must equal the id in the path.
    pub application_id: Uuid,
    /// The human-readable number printed on the villager's receipt.
    pub tracking_number: String,
    /// Service id, e.g. `birth-permit`.
    pub service: String,
    /// The revision of the service definition the station validated against.
    pub service_version: u32,
    /// When the operator submitted it (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub submitted_at: String,
    /// Field id -> value, normalised as the station stored it. Empty when `sealed` is set
    /// (stations seal; a plain record is still taken from tools and tests).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    /// The scans that follow by chunked upload. When `sealed` is set, `size` and `sha256`
    /// describe the sealed bytes that are uploaded (the plaintext's are inside the seal).
    pub attachments: Vec<AttachmentManifest>,
    /// How sure the station was of its clock when the application was captured (it has no
    /// real-time clock: after a power cut its time can be wrong until the link returns).
    /// Absent from older stations and tools: `submitted_at` is then taken as it is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<ClockNote>,
    /// The personal part, a [`SealedRecord`] as JSON sealed to the county's public key
    /// (HPKE base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, ChaCha20-Poly1305; format
    /// in the `sealing` crate), hex-encoded. Each scan is then uploaded sealed too. The
    /// county opens both, checks the plaintext SHA-256s and keeps the plaintext.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<String>,
}

/// How sure a station was of its clock at a capture (see [`SubmitApplication::clock`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockNote {
    pub confidence: ClockConfidence,
    /// County minus station, in seconds, at the county's last answer before the capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub county_offset_secs: Option<i64>,
    /// When that answer came, by the station's clock (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compared_at: Option<String>,
}

/// `checked`: within five minutes of the county's clock at its last answer and not behind
/// the time the station last knew; `unchecked`: the county never answered yet, nothing
/// looked wrong; `doubtful`: the clock was found wrong (never set since a power cut, gone
/// back, or far off the county's) — the county dates such an application by its arrival.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClockConfidence {
    Checked,
    Unchecked,
    Doubtful,
}

/// What a station seals of an application (the JSON inside [`SubmitApplication::sealed`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SealedRecord {
    /// Field id -> value, normalised as the station validated it.
    pub fields: BTreeMap<String, String>,
    /// The plaintext of every scan, in the order of the manifest.
    pub attachments: Vec<PlainDigest>,
}

/// Size and SHA-256 of one scan's plaintext, inside a [`SealedRecord`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PlainDigest {
    pub name: String,
    pub size: u64,
    /// Lower-case hex SHA-256 of the scan as captured.
    pub sha256: String,
}

/// How far one attachment has arrived.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct AttachmentStatus {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Bytes received so far: the offset the next chunk must start at.
    pub received: u64,
    /// All bytes arrived and the SHA-256 matched.
    pub complete: bool,
}

/// The county's view of an application, as returned by submission and `GET`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct SubmissionReceipt {
    pub application_id: Uuid,
    pub tracking_number: String,
    /// When the county first received the record (RFC 3339).
    pub received_at: String,
    /// Every attachment has arrived whole.
    pub complete: bool,
    /// County-side state.
    pub state: CountyState,
    pub attachments: Vec<AttachmentStatus>,
}

/// The state of an application at the county.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CountyState {
    /// The record arrived; attachments are still missing.
    Receiving,
    /// Everything arrived; waiting for a clerk.
    Complete,
    Approved,
    Rejected,
    MorePapers,
    Ready,
    HandedOver,
}

impl CountyState {
    pub fn as_str(self) -> &'static str {
        match self {
            CountyState::Receiving => "receiving",
            CountyState::Complete => "complete",
            CountyState::Approved => "approved",
            CountyState::Rejected => "rejected",
            CountyState::MorePapers => "more_papers",
            CountyState::Ready => "ready",
            CountyState::HandedOver => "handed_over",
        }
    }
}

/// What a clerk decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    Approve,
    Reject,
    MorePapers,
    Ready,
}

/// One decision, in the order the county made them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Decision {
    /// Position in this station's decision stream; strictly increasing.
    pub cursor: u64,
    pub application_id: Uuid,
    pub tracking_number: String,
    pub kind: DecisionKind,
    /// Why (required for `reject` and `more_papers`), as the clerk wrote it.
    pub reason: Option<String>,
    /// RFC 3339.
    pub decided_at: String,
}

/// `GET /v1/decisions?after=N&limit=M`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionPage {
    pub decisions: Vec<Decision>,
    /// The cursor to ask `after` next time (the last decision's, or the one asked for).
    pub next_cursor: u64,
    /// More decisions are waiting beyond this page.
    pub more: bool,
}

/// Query of `GET /v1/decisions`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct DecisionQuery {
    /// Return decisions with a cursor greater than this (0 = from the start).
    #[serde(default)]
    pub after: u64,
    /// At most this many (1..=500, default 100).
    pub limit: Option<u32>,
}

/// `POST /v1/decisions/ack`: every decision up to `cursor` is applied at the station.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionAck {
    pub cursor: u64,
}

/// `POST /v1/applications/{application_id}/handover`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandOver {
    /// When the villager tapped the card at pick-up (RFC 3339).
    #[schemars(extend("format" = "date-time"))]
    pub handed_over_at: String,
}

/// `POST /v1/selftest`: the station's latest self-test (`kiosk selftest` or the technician
/// page), sent with the next contact. No personal data: device paths, sizes, times.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelftestReport {
    /// When the checks ran, by the station's clock (RFC 3339).
    pub checked_at: String,
    /// Every check passed.
    pub ok: bool,
    /// The station's software version.
    pub version: String,
    pub checks: Vec<SelftestCheck>,
}

/// One check of a [`SelftestReport`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SelftestCheck {
    /// `reader`, `scanner`, `printer`, `leds`, `disk`, `database`, `clock`, `county`.
    pub name: String,
    pub ok: bool,
    /// What was found, Chinese first with English beside it.
    pub detail: String,
    /// What to do when it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl SelftestCheck {
    /// What a check is called, `(zh, en)`, on the technician's screen and the county's
    /// dashboard alike; an unknown name (a newer station) is "其他 / Other".
    pub fn label(name: &str) -> (&'static str, &'static str) {
        match name {
            "reader" => ("读卡器", "Card reader"),
            "scanner" => ("扫描仪", "Scanner"),
            "printer" => ("回执打印机", "Receipt printer"),
            "leds" => ("指示灯和蜂鸣器", "LEDs and buzzer"),
            "disk" => ("存储", "Storage"),
            "database" => ("数据库", "Database"),
            "clock" => ("时间", "Clock"),
            "county" => ("县平台连接", "County link"),
            _ => ("其他", "Other"),
        }
    }
}

/// `GET /v1/catalog`: the service definitions in force, with an ETag of `"<version>"`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Catalog {
    /// Increases with every change the county publishes.
    pub version: u64,
    /// Service definitions in the format of `docs/service-definition.schema.json`.
    pub services: Vec<serde_json::Value>,
    /// County-supplied parameters overriding the definitions' defaults (e.g. `min_age`).
    pub params: BTreeMap<String, i64>,
}

/// A bilingual text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct I18nText {
    pub zh: String,
    pub en: String,
}

/// A notice the county pushed to villages.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Notice {
    pub id: u64,
    /// Position in the notice stream; strictly increasing.
    pub version: u64,
    pub title: I18nText,
    pub body: I18nText,
    /// RFC 3339.
    pub published_at: String,
    /// RFC 3339; the station stops showing it afterwards.
    pub expires_at: Option<String>,
}

/// `GET /v1/notices?after=N`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoticePage {
    pub notices: Vec<Notice>,
    /// Ask `after` this next time.
    pub version: u64,
}

/// Query of `GET /v1/notices`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct NoticeQuery {
    #[serde(default)]
    pub after: u64,
}

/// Every error answer (4xx, 5xx) has this body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// Machine-readable, snake_case (see [`ErrorCode`]).
    pub code: ErrorCode,
    /// English, for logs and technicians.
    pub message: String,
    /// Chinese, for the operator.
    pub message_zh: String,
    /// Sending the same request later may succeed.
    pub retryable: bool,
    /// For `offset_mismatch` and `checksum_mismatch`: where the next chunk must start.
    pub expected_offset: Option<u64>,
    /// For `invalid_application`: field id -> reason.
    #[serde(default)]
    pub field_errors: BTreeMap<String, String>,
}

/// Machine-readable error codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Missing or unknown credential (401).
    Unauthorized,
    /// The county revoked this station (403): every call with its credential is refused
    /// until a technician provisions the station anew. Not retryable.
    StationRevoked,
    /// The enrolment token is unknown or already spent (403).
    EnrolmentRefused,
    /// No such application / attachment for this station (404).
    NotFound,
    /// The same application id was submitted with different content (409).
    Conflict,
    /// A chunk did not start at the stored offset (409); see `expected_offset`.
    OffsetMismatch,
    /// The whole attachment's SHA-256 did not match (422); the upload restarts at 0.
    ChecksumMismatch,
    /// The application is invalid and will not be accepted as it is (422).
    InvalidApplication,
    /// Malformed body, header or parameter (400).
    BadRequest,
    /// The body is larger than allowed (413).
    TooLarge,
    /// Wrong content type (415).
    UnsupportedMediaType,
    /// Too many requests; retry later (429).
    RateLimited,
    /// The county failed; retry later (500/503).
    Internal,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_refuse_path_tricks() {
        for ok in ["a.jpg", "mother_id_card-1.jpeg", "X"] {
            assert!(is_valid_attachment_name(ok), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/b",
            ".hidden",
            "a..b",
            "a b",
            "名字.jpg",
            &"a".repeat(101),
        ] {
            assert!(!is_valid_attachment_name(bad), "{bad}");
        }
    }

    #[test]
    fn paths_fill_their_templates() {
        let id = Uuid::nil();
        assert_eq!(
            paths::attachment(&id, "a.jpg"),
            "/v1/applications/00000000-0000-0000-0000-000000000000/attachments/a.jpg"
        );
    }
}
