//! The county's rows behind one trait: [`Storage`] names every domain operation the server,
//! the review page and the CLI need, in typed arguments and results (wire types of
//! `county_api`, the domain's `ServiceDefinition`, small structs of this crate); no SQL type
//! appears in it. [`sqlite::SqliteStorage`] is the one implementation (its SQL stays in
//! `store`, `catalog`, `selftests`, `sms`, `review::db`); a PostgreSQL backend for a province
//! would be a second one, run through the same suite (`conformance`).
//!
//! Key design decision: **the methods block.** The SQLite implementation does, and a blocking
//! trait stays object-safe without boxed futures on every call. Async callers go through one
//! helper, [`crate::AppState::storage`], which runs the closure on tokio's blocking pool;
//! the CLI calls the trait directly. Each method is one unit of work that commits or
//! changes nothing (a decision and its SMS row, a submission and its attachment rows, a
//! catalog version and its revisions); which connection serves it (the one writer or the
//! read-only pool) is the implementation's business.
//!
//! Attachments are not rows: the bytes stay in `files::Dirs` (partial uploads and
//! content-addressed finished files), which the intake drives beside the trait. A second
//! backend pairs with the same directory (or an object store keyed by SHA-256): only the rows
//! move.

use std::collections::BTreeMap;

use county_api::{
    AttachmentStatus, CountyState, Decision, DecisionKind, DecisionPage, I18nText, NoticePage,
    SelftestReport, SubmissionReceipt, SubmitApplication,
};
use kiosk_domain::ServiceDefinition;
use serde::Serialize;
use uuid::Uuid;

use crate::catalog::{Published, PublishedInfo};
use crate::review::db::{Detail, QueueGroup, QueueRow, StationRow};
use crate::sms::QueuedSms;
use crate::{ApplicationSummary, CountyError};

#[cfg(test)]
pub(crate) mod conformance;
pub(crate) mod sqlite;

/// What a sneakernet import needs to know about a station before it trusts a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StationKeys {
    /// When it was revoked (RFC 3339), if it was.
    pub revoked_at: Option<String>,
    /// The Ed25519 key it registered at enrolment (hex), if any.
    pub signing_public_key: Option<String>,
}

/// A record the intake checked and is about to store (see [`Storage::submit`]).
pub(crate) struct NewApplication<'a> {
    /// The plaintext record (a sealed one opened).
    pub application: &'a SubmitApplication,
    /// Each attachment's size and SHA-256 as uploaded, when sealed (empty when plain).
    pub wire: &'a [(u64, String)],
    /// The record's canonical JSON and its SHA-256 (what "the same content" compares).
    pub body: &'a str,
    pub body_sha256: &'a str,
}

/// Who holds a station credential.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Credential {
    /// A live station, and its last contact as recorded.
    Station {
        id: String,
        last_contact_at: Option<String>,
    },
    /// A station the county revoked.
    Revoked(String),
    /// Nobody.
    Unknown,
}

/// How a revocation went.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Revocation {
    /// Revoked now.
    Revoked,
    /// It was revoked before (at this time); nothing changed.
    Already(String),
    /// No station with this id.
    NoSuchStation,
}

/// How a submission was taken.
pub(crate) enum Submitted {
    /// First time: stored.
    Created(SubmissionReceipt),
    /// The same record again: the current receipt.
    Repeated(SubmissionReceipt),
    /// The same id with a different record.
    Conflict,
    /// The id belongs to another station.
    OtherStation,
}

/// How a hand-over went.
pub(crate) enum HandedOver {
    Done(SubmissionReceipt),
    NotFound,
    NotReady(CountyState),
}

/// A notice as the county lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct NoticeRow {
    pub id: u64,
    pub version: u64,
    /// `None`: every station.
    pub station_id: Option<String>,
    pub station_name: Option<String>,
    pub title: I18nText,
    pub body: I18nText,
    pub published_at: String,
    pub expires_at: Option<String>,
}

/// A delivery attempt of a queued SMS (see [`Storage::sms_attempted`]).
pub(crate) struct SmsAttempt<'a> {
    pub id: i64,
    /// Attempts so far, this one included.
    pub attempts: u32,
    /// When it was delivered (RFC 3339); `None`: it failed.
    pub sent_at: Option<&'a str>,
    pub error: Option<&'a str>,
    /// When to try again if it failed.
    pub next_attempt_at: &'a str,
}

/// Every operation on the county's rows. `now` arguments are RFC 3339 times from the caller,
/// so the rules (and tests) do not depend on the backend's clock.
pub(crate) trait Storage: Send + Sync {
    // ---- Stations ----

    /// Register a station with the SHA-256 of its one-time enrolment token; its new id.
    fn add_station(
        &self,
        name: &str,
        url: &str,
        token_sha256: &str,
        now: &str,
    ) -> Result<String, CountyError>;
    /// Spend an enrolment token for a credential (its SHA-256 stored); the station's name,
    /// or `None` when the token is unknown, spent or the station revoked.
    fn enrol(
        &self,
        station_id: &str,
        token_sha256: &str,
        credential_sha256: &str,
        signing_public_key: Option<&str>,
        now: &str,
    ) -> Result<Option<String>, CountyError>;
    /// Whose credential this is (by its SHA-256).
    fn authenticate(&self, credential_sha256: &str) -> Result<Credential, CountyError>;
    /// Stations' last contacts, (station id, RFC 3339), written together.
    fn record_contacts(&self, contacts: &[(String, String)]) -> Result<(), CountyError>;
    fn revoke_station(&self, station_id: &str, now: &str) -> Result<Revocation, CountyError>;
    /// A station's revocation and signing key, `None` when there is no such station.
    fn station_keys(&self, station_id: &str) -> Result<Option<StationKeys>, CountyError>;

    // ---- Intake ----

    /// Store a checked record unless its id is taken: the idempotency answer.
    fn submit(
        &self,
        station: &str,
        new: &NewApplication<'_>,
        now: &str,
    ) -> Result<Submitted, CountyError>;
    /// The receipt of one of the station's applications.
    fn receipt(&self, station: &str, id: Uuid) -> Result<Option<SubmissionReceipt>, CountyError>;
    /// An attachment's upload status, if the station's application lists it.
    fn attachment(
        &self,
        station: &str,
        id: Uuid,
        name: &str,
    ) -> Result<Option<AttachmentStatus>, CountyError>;
    /// A sealed attachment's plaintext size and SHA-256 (`None`: it was sent plain).
    fn plain_digest(&self, id: Uuid, name: &str) -> Result<Option<(u64, String)>, CountyError>;
    /// The stored upload offset of an attachment.
    fn set_received(&self, id: Uuid, name: &str, received: u64) -> Result<(), CountyError>;
    /// An attachment arrived whole and checked (the application may now be complete).
    fn complete_attachment(
        &self,
        station: &str,
        id: Uuid,
        name: &str,
        now: &str,
    ) -> Result<(), CountyError>;
    /// An audit row: the application came in a bundle file (`county import`).
    fn record_import(
        &self,
        station: &str,
        id: Uuid,
        file_name: &str,
        now: &str,
    ) -> Result<(), CountyError>;
    /// The station's applications held whole, oldest first.
    fn received_applications(&self, station: &str) -> Result<Vec<Uuid>, CountyError>;
    /// The villager took the papers: a ready application becomes handed over.
    fn hand_over(
        &self,
        station: &str,
        id: Uuid,
        handed_over_at: &str,
        now: &str,
    ) -> Result<HandedOver, CountyError>;

    // ---- Decisions ----

    /// A station's decisions after `after`, at most `limit`.
    fn decisions(&self, station: &str, after: u64, limit: u32)
    -> Result<DecisionPage, CountyError>;
    /// The station has applied every decision up to `cursor`; `false` when the cursor is
    /// beyond its last decision.
    fn ack(&self, station: &str, cursor: u64) -> Result<bool, CountyError>;
    /// Record a clerk's decision under the state rules, with its audit row and the
    /// villager's SMS in the same unit of work.
    fn decide(
        &self,
        id: Uuid,
        kind: DecisionKind,
        reason: Option<&str>,
        clerk: &str,
        now: &str,
    ) -> Result<Decision, CountyError>;
    /// Every application, oldest first (`county applications`).
    fn list_applications(&self) -> Result<Vec<ApplicationSummary>, CountyError>;

    // ---- Notices ----

    /// The notices for a station after version `after`.
    fn notices(&self, station: &str, after: u64) -> Result<NoticePage, CountyError>;
    /// Publish a checked notice to every station (`stations` empty) or the chosen ones.
    #[allow(clippy::too_many_arguments)]
    fn publish_notice(
        &self,
        title: &I18nText,
        body: &I18nText,
        stations: &[String],
        expires_at: Option<&str>,
        by: &str,
        now: &str,
    ) -> Result<Vec<NoticeRow>, CountyError>;
    /// Every notice, newest first.
    fn list_notices(&self) -> Result<Vec<NoticeRow>, CountyError>;

    // ---- Catalog ----

    /// The catalog version in force (0: only the built-in services).
    fn catalog_version(&self) -> Result<u64, CountyError>;
    /// The catalog in force as stations get it: (version, JSON).
    fn catalog_json(&self) -> Result<(u64, String), CountyError>;
    /// Store checked definitions and/or parameters as the next catalog version, unless
    /// they change nothing; a revision must raise the version in force.
    fn publish_catalog(
        &self,
        services: Vec<ServiceDefinition>,
        params: Option<BTreeMap<String, i64>>,
        by: &str,
        now: &str,
    ) -> Result<Published, CountyError>;
    fn show_catalog(&self) -> Result<PublishedInfo, CountyError>;
    /// The ids of every service the county takes.
    fn service_ids(&self) -> Result<Vec<String>, CountyError>;
    /// Revision `version` of service `id`, if the county ever had it.
    fn service_revision(
        &self,
        id: &str,
        version: u32,
    ) -> Result<Option<ServiceDefinition>, CountyError>;
    /// Every revision number of a service the county ever had.
    fn service_versions(&self, id: &str) -> Result<Vec<u32>, CountyError>;
    /// Every parameter set ever in force, newest first.
    fn param_sets(&self) -> Result<Vec<BTreeMap<String, i64>>, CountyError>;

    // ---- Self-tests ----

    /// Keep a station's self-test unless a newer one is kept.
    fn record_selftest(
        &self,
        station: &str,
        report: &SelftestReport,
        checked_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<(), CountyError>;

    // ---- The review page ----

    /// Add a clerk (the password's Argon2id hash); `false` when the name is taken.
    fn add_clerk(&self, name: &str, password_hash: &str, now: &str) -> Result<bool, CountyError>;
    /// A login attempt's facts: failed logins under `name` since `since`, and the stored
    /// password hash (`None`: no such clerk).
    fn clerk_login(&self, name: &str, since: &str) -> Result<(u64, Option<String>), CountyError>;
    fn record_failed_login(&self, name: &str, now: &str) -> Result<(), CountyError>;
    fn create_session(
        &self,
        token_sha256: &str,
        clerk: &str,
        csrf_token: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), CountyError>;
    /// A live session's (clerk, CSRF token).
    fn session(
        &self,
        token_sha256: &str,
        now: &str,
    ) -> Result<Option<(String, String)>, CountyError>;
    fn delete_session(&self, token_sha256: &str, clerk: &str, now: &str)
    -> Result<(), CountyError>;
    /// Waiting applications per station and service.
    fn queue_groups(&self) -> Result<Vec<QueueGroup>, CountyError>;
    /// The queue, optionally of one station and/or service.
    fn queue(
        &self,
        station: Option<&str>,
        service: Option<&str>,
    ) -> Result<Vec<QueueRow>, CountyError>;
    /// One application with its fields, scans and audit trail.
    fn application(&self, id: Uuid) -> Result<Option<Detail>, CountyError>;
    /// A scan held whole: (content type, SHA-256 naming the file).
    fn scan(&self, id: Uuid, name: &str) -> Result<Option<(String, String)>, CountyError>;
    /// The station dashboard.
    fn stations(&self) -> Result<Vec<StationRow>, CountyError>;

    // ---- The villagers' SMS ----

    /// The oldest queued SMS due at `now`.
    fn sms_due(&self, now: &str) -> Result<Option<QueuedSms>, CountyError>;
    /// Record a delivery attempt (sent, or when to retry).
    fn sms_attempted(&self, attempt: &SmsAttempt<'_>) -> Result<(), CountyError>;
    /// (sent, waiting).
    fn sms_counts(&self) -> Result<(u64, u64), CountyError>;
}
