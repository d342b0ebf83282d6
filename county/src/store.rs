//! All SQL of the county, in one place (a storage trait for a PostgreSQL backend would wrap
//! these functions). Each function that writes more than one row does it in one transaction.

use std::path::Path;

use county_api::{
    AttachmentStatus, CountyState, Decision, DecisionKind, DecisionPage, I18nText, Notice,
    NoticePage, SubmissionReceipt, SubmitApplication,
};
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use rusqlite_migration::{M, Migrations};
use uuid::Uuid;

pub(crate) use crate::storage::{Credential, HandedOver, NoticeRow, Revocation, Submitted};
use crate::{ApplicationSummary, AttachmentSummary, CountyError};

/// The database file inside the data directory.
pub(crate) const DATABASE_FILE: &str = "county.sqlite3";

/// The schema's migrations. Append-only: never edit a released one, add a new one (tracked
/// by `user_version`).
pub(crate) fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(V1),
        M::up(V2),
        M::up(crate::review::db::V2_CLERKS),
        M::up(crate::sneakernet::V4_STATION_SIGNING_KEYS),
        M::up(crate::selftests::V5_STATION_SELFTESTS),
        M::up(crate::catalog::V5_CATALOG),
        M::up(crate::sms::V6_SMS_QUEUE),
    ])
}

/// Sealed uploads: `size`/`sha256` stay the plaintext's (what the county keeps and lists);
/// `wire_size`/`wire_sha256` are the sealed bytes the station uploads (NULL: not sealed).
const V2: &str = "
ALTER TABLE attachments ADD COLUMN wire_size INTEGER;
ALTER TABLE attachments ADD COLUMN wire_sha256 TEXT;
";

const V1: &str = r#"
CREATE TABLE stations (
    id                      TEXT PRIMARY KEY,
    name                    TEXT NOT NULL,
    url                     TEXT NOT NULL,
    created_at              TEXT NOT NULL,
    -- SHA-256 (hex) of the one-time enrolment token; spent once enrolled_at is set.
    enrolment_token_sha256  TEXT NOT NULL,
    enrolled_at             TEXT,
    -- SHA-256 (hex) of the bearer credential handed out at enrolment.
    credential_sha256       TEXT UNIQUE,
    revoked_at              TEXT,
    last_contact_at         TEXT,
    -- Every decision up to this cursor is applied at the station.
    decisions_acked         INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE applications (
    id               TEXT PRIMARY KEY,
    station_id       TEXT NOT NULL REFERENCES stations(id),
    tracking_number  TEXT NOT NULL,
    service          TEXT NOT NULL,
    service_version  INTEGER NOT NULL,
    submitted_at     TEXT NOT NULL,
    -- The canonical JSON of the SubmitApplication and its SHA-256: the idempotency check.
    body             TEXT NOT NULL,
    body_sha256      TEXT NOT NULL,
    state            TEXT NOT NULL,
    received_at      TEXT NOT NULL,
    handed_over_at   TEXT
) STRICT;
CREATE INDEX applications_station ON applications(station_id);

CREATE TABLE attachments (
    application_id  TEXT NOT NULL REFERENCES applications(id),
    name            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    scan            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    received        INTEGER NOT NULL DEFAULT 0,
    complete        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (application_id, name)
) STRICT;

CREATE TABLE decisions (
    station_id      TEXT NOT NULL REFERENCES stations(id),
    cursor          INTEGER NOT NULL,
    application_id  TEXT NOT NULL REFERENCES applications(id),
    kind            TEXT NOT NULL,
    reason          TEXT,
    decided_at      TEXT NOT NULL,
    clerk           TEXT NOT NULL,
    PRIMARY KEY (station_id, cursor)
) STRICT;

CREATE TABLE notices (
    id            INTEGER PRIMARY KEY,
    version       INTEGER NOT NULL UNIQUE,
    -- NULL: for every station.
    station_id    TEXT REFERENCES stations(id),
    title_zh      TEXT NOT NULL,
    title_en      TEXT NOT NULL,
    body_zh       TEXT NOT NULL,
    body_en       TEXT NOT NULL,
    published_at  TEXT NOT NULL,
    expires_at    TEXT
) STRICT;

CREATE TABLE audit (
    id              INTEGER PRIMARY KEY,
    at              TEXT NOT NULL,
    actor           TEXT NOT NULL,
    action          TEXT NOT NULL,
    application_id  TEXT,
    detail          TEXT
) STRICT;
"#;

/// Open the database of an existing data directory, set the connection's PRAGMAs and bring
/// the schema up to date.
pub(crate) fn open(data_dir: &Path) -> Result<Connection, CountyError> {
    if let Err(source) = std::fs::read_dir(data_dir) {
        return Err(CountyError::DataDir {
            path: data_dir.to_owned(),
            source,
        });
    }
    let path = data_dir.join(DATABASE_FILE);
    let database = |source| CountyError::Database {
        path: path.clone(),
        source,
    };
    // Safe when `county serve` and a clerk command open a fresh directory at once.
    sqlite_open::open(&path, &migrations()).map_err(|e| match e {
        sqlite_open::OpenError::Sqlite(source) => database(source),
        sqlite_open::OpenError::Migration(m) => CountyError::Migration(m),
    })
}

/// A read-only connection to the database of a data directory that [`open`] has opened (and
/// migrated) before: for the server's pool of readers. `query_only` makes a write through it
/// an error rather than a second writer.
pub(crate) fn open_reader(data_dir: &Path) -> Result<Connection, CountyError> {
    let path = data_dir.join(DATABASE_FILE);
    let database = |source| CountyError::Database {
        path: path.clone(),
        source,
    };
    let conn = Connection::open(&path).map_err(database)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(database)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(database)?;
    Ok(conn)
}

/// Now, RFC 3339 in UTC to the second.
pub(crate) fn now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let now = now.replace_nanosecond(0).unwrap_or(now);
    now.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "1970-01-01T00:00:00Z".to_owned())
}

/// SQLite integers are i64; the wire's are u64. Values beyond i64 are clamped (none of ours
/// come close: sizes are capped at 32 MiB, cursors count decisions).
fn int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

fn uint(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

pub(crate) fn parse_state(text: &str) -> Option<CountyState> {
    [
        CountyState::Receiving,
        CountyState::Complete,
        CountyState::Approved,
        CountyState::Rejected,
        CountyState::MorePapers,
        CountyState::Ready,
        CountyState::HandedOver,
    ]
    .into_iter()
    .find(|s| s.as_str() == text)
}

fn kind_str(kind: DecisionKind) -> &'static str {
    match kind {
        DecisionKind::Approve => "approve",
        DecisionKind::Reject => "reject",
        DecisionKind::MorePapers => "more_papers",
        DecisionKind::Ready => "ready",
    }
}

fn parse_kind(text: &str) -> Option<DecisionKind> {
    [
        DecisionKind::Approve,
        DecisionKind::Reject,
        DecisionKind::MorePapers,
        DecisionKind::Ready,
    ]
    .into_iter()
    .find(|k| kind_str(*k) == text)
}

fn state_of(text: &str) -> Result<CountyState, CountyError> {
    parse_state(text).ok_or_else(|| CountyError::Corrupt(format!("unknown state {text:?}")))
}

fn uuid_of(text: &str) -> Result<Uuid, CountyError> {
    Uuid::parse_str(text).map_err(|_| CountyError::Corrupt(format!("bad application id {text:?}")))
}

pub(crate) fn audit(
    tx: &Transaction<'_>,
    at: &str,
    actor: &str,
    action: &str,
    application_id: Option<Uuid>,
    detail: Option<&str>,
) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO audit (at, actor, action, application_id, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            at,
            actor,
            action,
            application_id.map(|id| id.to_string()),
            detail
        ],
    )?;
    Ok(())
}

// ---- Stations ----

/// Insert a station with a fresh id; returns the id.
pub(crate) fn add_station(
    conn: &mut Connection,
    name: &str,
    url: &str,
    token_sha256: &str,
    now: &str,
) -> Result<String, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // 40 random bits: a collision is unlikely, and retried.
    let id = loop {
        let id = format!("st-{}", crate::files::random_base32(5));
        let inserted = tx.execute(
            "INSERT INTO stations (id, name, url, created_at, enrolment_token_sha256)
             VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (id) DO NOTHING",
            params![id, name, url, now, token_sha256],
        )?;
        if inserted == 1 {
            break id;
        }
    };
    audit(&tx, now, "admin", "station_add", None, Some(&id))?;
    tx.commit()?;
    Ok(id)
}

/// Spend the enrolment token and record the credential (and the station's signing key for
/// sneakernet bundles, when it sent one); `None` when the token is unknown, spent or the
/// station revoked. Returns the station's name.
pub(crate) fn enrol(
    conn: &mut Connection,
    station_id: &str,
    token_sha256: &str,
    credential_sha256: &str,
    signing_public_key: Option<&str>,
    now: &str,
) -> Result<Option<String>, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let name: Option<String> = tx
        .query_row(
            "UPDATE stations SET enrolled_at = ?3, credential_sha256 = ?4, last_contact_at = ?3,
                                 signing_public_key = ?5
             WHERE id = ?1 AND enrolment_token_sha256 = ?2
               AND enrolled_at IS NULL AND revoked_at IS NULL
             RETURNING name",
            params![
                station_id,
                token_sha256,
                now,
                credential_sha256,
                signing_public_key
            ],
            |row| row.get(0),
        )
        .optional()?;
    if name.is_some() {
        audit(
            &tx,
            now,
            &format!("station:{station_id}"),
            "enrol",
            None,
            None,
        )?;
    }
    tx.commit()?;
    Ok(name)
}

/// The station holding this credential: a read (one lookup on the unique index), so it runs
/// on a reader; the last contact is recorded apart, in batches ([`Contacts`]).
pub(crate) fn authenticate(
    conn: &Connection,
    credential_sha256: &str,
) -> Result<Credential, CountyError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, revoked_at IS NOT NULL, last_contact_at FROM stations
         WHERE credential_sha256 = ?1",
    )?;
    let row: Option<(String, bool, Option<String>)> = statement
        .query_row(params![credential_sha256], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?))
        })
        .optional()?;
    Ok(match row {
        None => Credential::Unknown,
        Some((id, true, _)) => Credential::Revoked(id),
        Some((id, false, last_contact_at)) => Credential::Station {
            id,
            last_contact_at,
        },
    })
}

/// How often noted contacts are written: one transaction per this interval at most.
pub(crate) const CONTACT_BATCH: std::time::Duration = std::time::Duration::from_secs(1);

/// A station's last contact is kept to this resolution: a contact less than this after the
/// recorded one is not written again (the dashboard speaks in minutes and hours).
const CONTACT_RESOLUTION: time::Duration = time::Duration::seconds(60);

/// Stations' contacts waiting to be written. Writing one row per request would make every
/// poll a write transaction (an fsync under `synchronous=FULL`) on the one writer; instead a
/// contact is noted here when the recorded one is older than [`CONTACT_RESOLUTION`], and the
/// batch is written in one transaction. A crash loses at most one batch of contact times,
/// which the next polls note again.
#[derive(Default)]
pub(crate) struct Contacts {
    pending: std::sync::Mutex<std::collections::HashMap<String, String>>,
}

impl Contacts {
    /// Note a contact now unless the recorded one is recent; `true` when this starts a new
    /// batch (the caller schedules its write).
    pub(crate) fn note(&self, station: &str, last_recorded: Option<&str>) -> bool {
        let now = time::OffsetDateTime::now_utc();
        let recent = last_recorded
            .and_then(|t| {
                time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
            })
            .is_some_and(|t| now - t < CONTACT_RESOLUTION);
        if recent {
            return false;
        }
        let mut pending = self
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let first = pending.is_empty();
        pending.insert(station.to_owned(), self::now());
        first
    }

    /// The noted contacts, emptying the batch.
    pub(crate) fn take(&self) -> Vec<(String, String)> {
        std::mem::take(
            &mut *self
                .pending
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        )
        .into_iter()
        .collect()
    }
}

/// Write a batch of last contacts in one transaction; a contact never moves one back.
pub(crate) fn record_contacts(
    conn: &mut Connection,
    contacts: &[(String, String)],
) -> Result<(), CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut statement = tx.prepare_cached(
            "UPDATE stations SET last_contact_at = ?2
             WHERE id = ?1 AND (last_contact_at IS NULL OR last_contact_at < ?2)",
        )?;
        for (station, at) in contacts {
            statement.execute(params![station, at])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// Revoke a station: its credential and any unspent enrolment token stop working at once.
/// Idempotent; the first revocation's time is kept.
pub(crate) fn revoke_station(
    conn: &mut Connection,
    station_id: &str,
    now: &str,
) -> Result<Revocation, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let revoked_at: Option<Option<String>> = tx
        .query_row(
            "SELECT revoked_at FROM stations WHERE id = ?1",
            params![station_id],
            |row| row.get(0),
        )
        .optional()?;
    let outcome = match revoked_at {
        None => Revocation::NoSuchStation,
        Some(Some(at)) => Revocation::Already(at),
        Some(None) => {
            tx.execute(
                "UPDATE stations SET revoked_at = ?2 WHERE id = ?1",
                params![station_id, now],
            )?;
            audit(&tx, now, "admin", "station_revoke", None, Some(station_id))?;
            Revocation::Revoked
        }
    };
    tx.commit()?;
    Ok(outcome)
}

// ---- Applications ----

/// Store a submission unless its id is taken; `INSERT … ON CONFLICT DO NOTHING` decides.
/// `application` is the plaintext (opened) record; `wire` holds the size and SHA-256 of
/// each attachment as uploaded when it comes sealed (same order), else it is empty.
/// `body_sha256` is over the plaintext, so the idempotency check does not depend on how
/// the record was sealed.
pub(crate) fn submit(
    conn: &mut Connection,
    station: &str,
    application: &SubmitApplication,
    wire: &[(u64, String)],
    body: &str,
    body_sha256: &str,
    now: &str,
) -> Result<Submitted, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let id = application.application_id;
    let state = if application.attachments.is_empty() {
        CountyState::Complete
    } else {
        CountyState::Receiving
    };
    let inserted = tx.execute(
        "INSERT INTO applications (id, station_id, tracking_number, service, service_version,
                                   submitted_at, body, body_sha256, state, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT (id) DO NOTHING",
        params![
            id.to_string(),
            station,
            application.tracking_number,
            application.service,
            application.service_version,
            application.submitted_at,
            body,
            body_sha256,
            state.as_str(),
            now,
        ],
    )?;
    if inserted == 1 {
        for (position, a) in application.attachments.iter().enumerate() {
            let (wire_size, wire_sha) = match wire.get(position) {
                Some((size, sha)) => (Some(int(*size)), Some(sha.as_str())),
                None => (None, None),
            };
            tx.execute(
                "INSERT INTO attachments (application_id, name, position, scan, content_type,
                                          size, sha256, wire_size, wire_sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![
                    id.to_string(),
                    a.name,
                    int(position as u64),
                    a.scan,
                    a.content_type,
                    int(a.size),
                    a.sha256,
                    wire_size,
                    wire_sha,
                ],
            )?;
        }
        audit(
            &tx,
            now,
            &format!("station:{station}"),
            "submit",
            Some(id),
            Some(&application.tracking_number),
        )?;
        let receipt = receipt_in(&tx, station, id)?
            .ok_or_else(|| CountyError::Corrupt(format!("application {id} vanished")))?;
        tx.commit()?;
        return Ok(Submitted::Created(receipt));
    }
    let (owner, stored_sha): (String, String) = tx.query_row(
        "SELECT station_id, body_sha256 FROM applications WHERE id = ?1",
        params![id.to_string()],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    if owner != station {
        return Ok(Submitted::OtherStation);
    }
    if stored_sha != body_sha256 {
        return Ok(Submitted::Conflict);
    }
    let receipt = receipt_in(&tx, station, id)?
        .ok_or_else(|| CountyError::Corrupt(format!("application {id} vanished")))?;
    Ok(Submitted::Repeated(receipt))
}

/// The receipt of one of this station's applications.
pub(crate) fn receipt(
    conn: &mut Connection,
    station: &str,
    id: Uuid,
) -> Result<Option<SubmissionReceipt>, CountyError> {
    let tx = conn.transaction()?;
    receipt_in(&tx, station, id)
}

fn receipt_in(
    tx: &Transaction<'_>,
    station: &str,
    id: Uuid,
) -> Result<Option<SubmissionReceipt>, CountyError> {
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT tracking_number, received_at, state FROM applications
             WHERE id = ?1 AND station_id = ?2",
            params![id.to_string(), station],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((tracking_number, received_at, state)) = row else {
        return Ok(None);
    };
    let mut statement = tx.prepare_cached(
        "SELECT name, COALESCE(wire_size, size), COALESCE(wire_sha256, sha256), received,
                complete
         FROM attachments WHERE application_id = ?1 ORDER BY position",
    )?;
    let attachments = statement
        .query_map(params![id.to_string()], |row| {
            Ok(AttachmentStatus {
                name: row.get(0)?,
                size: uint(row.get(1)?),
                sha256: row.get(2)?,
                received: uint(row.get(3)?),
                complete: row.get(4)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Some(SubmissionReceipt {
        application_id: id,
        tracking_number,
        received_at,
        complete: attachments.iter().all(|a| a.complete),
        state: state_of(&state)?,
        attachments,
    }))
}

/// One of this station's attachments.
pub(crate) fn attachment(
    conn: &Connection,
    station: &str,
    id: Uuid,
    name: &str,
) -> Result<Option<AttachmentStatus>, CountyError> {
    Ok(conn
        .query_row(
            "SELECT a.name, COALESCE(a.wire_size, a.size), COALESCE(a.wire_sha256, a.sha256),
                    a.received, a.complete
             FROM attachments a JOIN applications p ON p.id = a.application_id
             WHERE a.application_id = ?1 AND a.name = ?2 AND p.station_id = ?3",
            params![id.to_string(), name, station],
            |row| {
                Ok(AttachmentStatus {
                    name: row.get(0)?,
                    size: uint(row.get(1)?),
                    sha256: row.get(2)?,
                    received: uint(row.get(3)?),
                    complete: row.get(4)?,
                })
            },
        )
        .optional()?)
}

/// The plaintext size and SHA-256 of an attachment uploaded sealed; `None` when it is
/// uploaded as it is.
pub(crate) fn plain_digest(
    conn: &Connection,
    id: Uuid,
    name: &str,
) -> Result<Option<(u64, String)>, CountyError> {
    Ok(conn
        .query_row(
            "SELECT size, sha256 FROM attachments
             WHERE application_id = ?1 AND name = ?2 AND wire_sha256 IS NOT NULL",
            params![id.to_string(), name],
            |row| Ok((uint(row.get(0)?), row.get(1)?)),
        )
        .optional()?)
}

/// Record how many bytes of an incomplete attachment are safely on disk.
pub(crate) fn set_received(
    conn: &Connection,
    id: Uuid,
    name: &str,
    received: u64,
) -> Result<(), CountyError> {
    conn.execute(
        "UPDATE attachments SET received = ?3
         WHERE application_id = ?1 AND name = ?2 AND complete = 0",
        params![id.to_string(), name, int(received)],
    )?;
    Ok(())
}

/// Mark an attachment complete (its file is in place), and the application complete when it
/// was the last one.
pub(crate) fn complete_attachment(
    conn: &mut Connection,
    station: &str,
    id: Uuid,
    name: &str,
    now: &str,
) -> Result<(), CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "UPDATE attachments SET received = COALESCE(wire_size, size), complete = 1
         WHERE application_id = ?1 AND name = ?2",
        params![id.to_string(), name],
    )?;
    let now_complete = tx.execute(
        "UPDATE applications SET state = ?2
         WHERE id = ?1 AND state = ?3
           AND NOT EXISTS (SELECT 1 FROM attachments WHERE application_id = ?1 AND complete = 0)",
        params![
            id.to_string(),
            CountyState::Complete.as_str(),
            CountyState::Receiving.as_str()
        ],
    )?;
    let actor = format!("station:{station}");
    audit(
        &tx,
        now,
        &actor,
        "attachment_complete",
        Some(id),
        Some(name),
    )?;
    if now_complete == 1 {
        audit(&tx, now, &actor, "application_complete", Some(id), None)?;
    }
    tx.commit()?;
    Ok(())
}

/// `ready` → `handed_over`; repeating it is answered the same.
pub(crate) fn hand_over(
    conn: &mut Connection,
    station: &str,
    id: Uuid,
    handed_over_at: &str,
    now: &str,
) -> Result<HandedOver, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let state: Option<String> = tx
        .query_row(
            "SELECT state FROM applications WHERE id = ?1 AND station_id = ?2",
            params![id.to_string(), station],
            |row| row.get(0),
        )
        .optional()?;
    let Some(state) = state else {
        return Ok(HandedOver::NotFound);
    };
    match state_of(&state)? {
        CountyState::HandedOver => {}
        CountyState::Ready => {
            tx.execute(
                "UPDATE applications SET state = ?2, handed_over_at = ?3 WHERE id = ?1",
                params![
                    id.to_string(),
                    CountyState::HandedOver.as_str(),
                    handed_over_at
                ],
            )?;
            audit(
                &tx,
                now,
                &format!("station:{station}"),
                "hand_over",
                Some(id),
                Some(handed_over_at),
            )?;
        }
        other => return Ok(HandedOver::NotReady(other)),
    }
    let receipt = receipt_in(&tx, station, id)?
        .ok_or_else(|| CountyError::Corrupt(format!("application {id} vanished")))?;
    tx.commit()?;
    Ok(HandedOver::Done(receipt))
}

// ---- Decisions ----

/// The station's decisions with a cursor above `after`, at most `limit`.
pub(crate) fn decisions(
    conn: &Connection,
    station: &str,
    after: u64,
    limit: u32,
) -> Result<DecisionPage, CountyError> {
    let mut statement = conn.prepare_cached(
        "SELECT d.cursor, d.application_id, a.tracking_number, d.kind, d.reason, d.decided_at
         FROM decisions d JOIN applications a ON a.id = d.application_id
         WHERE d.station_id = ?1 AND d.cursor > ?2
         ORDER BY d.cursor LIMIT ?3",
    )?;
    let rows = statement
        .query_map(params![station, int(after), i64::from(limit) + 1], |row| {
            Ok((
                row.get::<_, i64>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, Option<String>>(4)?,
                row.get::<_, String>(5)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let more = rows.len() > limit as usize;
    let mut decisions = Vec::with_capacity(rows.len().min(limit as usize));
    for (cursor, id, tracking_number, kind, reason, decided_at) in
        rows.into_iter().take(limit as usize)
    {
        decisions.push(Decision {
            cursor: uint(cursor),
            application_id: uuid_of(&id)?,
            tracking_number,
            kind: parse_kind(&kind)
                .ok_or_else(|| CountyError::Corrupt(format!("unknown decision {kind:?}")))?,
            reason,
            decided_at,
        });
    }
    let next_cursor = decisions.last().map_or(after, |d| d.cursor);
    Ok(DecisionPage {
        decisions,
        next_cursor,
        more,
    })
}

/// Record the station's acknowledged cursor; `false` when it is beyond the last decision.
pub(crate) fn ack(conn: &Connection, station: &str, cursor: u64) -> Result<bool, CountyError> {
    let last: i64 = conn.query_row(
        "SELECT COALESCE(MAX(cursor), 0) FROM decisions WHERE station_id = ?1",
        params![station],
        |row| row.get(0),
    )?;
    if int(cursor) > last {
        return Ok(false);
    }
    conn.execute(
        "UPDATE stations SET decisions_acked = MAX(decisions_acked, ?2) WHERE id = ?1",
        params![station, int(cursor)],
    )?;
    Ok(true)
}

/// A clerk's decision: check the transition, then the decision row, the new state and the
/// audit row in one transaction.
pub(crate) fn decide(
    conn: &mut Connection,
    id: Uuid,
    kind: DecisionKind,
    reason: Option<&str>,
    clerk: &str,
    now: &str,
) -> Result<Decision, CountyError> {
    let reason = reason.map(str::trim).filter(|r| !r.is_empty());
    let (action, done, allowed, from, to): (_, _, _, &[CountyState], _) = match kind {
        DecisionKind::Approve => (
            "approve",
            "approved",
            "a complete application",
            &[CountyState::Complete],
            CountyState::Approved,
        ),
        DecisionKind::Reject => (
            "reject",
            "rejected",
            "a complete or approved application",
            &[CountyState::Complete, CountyState::Approved],
            CountyState::Rejected,
        ),
        DecisionKind::MorePapers => (
            "ask for more papers for",
            "sent back for more papers",
            "a complete or approved application",
            &[CountyState::Complete, CountyState::Approved],
            CountyState::MorePapers,
        ),
        DecisionKind::Ready => (
            "mark ready",
            "marked ready",
            "an approved application",
            &[CountyState::Approved],
            CountyState::Ready,
        ),
    };
    if reason.is_none() {
        match kind {
            DecisionKind::Reject => return Err(CountyError::ReasonRequired("reject")),
            DecisionKind::MorePapers => {
                return Err(CountyError::ReasonRequired("ask for more papers"));
            }
            DecisionKind::Approve | DecisionKind::Ready => {}
        }
    }
    let clerk = clerk.trim();
    if clerk.is_empty() {
        return Err(CountyError::InvalidInput(
            "the clerk's name must not be empty".into(),
        ));
    }
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT station_id, tracking_number, state FROM applications WHERE id = ?1",
            params![id.to_string()],
            |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)),
        )
        .optional()?;
    let Some((station, tracking_number, state)) = row else {
        return Err(CountyError::NoSuchApplication(id));
    };
    let state = state_of(&state)?;
    if !from.contains(&state) {
        return Err(CountyError::InvalidTransition {
            id,
            action,
            done,
            state: state.as_str().to_owned(),
            allowed,
        });
    }
    let cursor: i64 = tx.query_row(
        "SELECT COALESCE(MAX(cursor), 0) + 1 FROM decisions WHERE station_id = ?1",
        params![station],
        |row| row.get(0),
    )?;
    tx.execute(
        "INSERT INTO decisions (station_id, cursor, application_id, kind, reason, decided_at, clerk)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        params![
            station,
            cursor,
            id.to_string(),
            kind_str(kind),
            reason,
            now,
            clerk
        ],
    )?;
    tx.execute(
        "UPDATE applications SET state = ?2 WHERE id = ?1",
        params![id.to_string(), to.as_str()],
    )?;
    audit(
        &tx,
        now,
        &format!("clerk:{clerk}"),
        kind_str(kind),
        Some(id),
        reason,
    )?;
    let decision = Decision {
        cursor: uint(cursor),
        application_id: id,
        tracking_number,
        kind,
        reason: reason.map(str::to_owned),
        decided_at: now.to_owned(),
    };
    // The villager's SMS, queued with the decision or not at all.
    crate::sms::enqueue(&tx, &station, &decision, now)?;
    tx.commit()?;
    Ok(decision)
}

// ---- Notices ----

/// Notices for this station (or for all) with a version above `after`.
pub(crate) fn notices(
    conn: &Connection,
    station: &str,
    after: u64,
) -> Result<NoticePage, CountyError> {
    let mut statement = conn.prepare_cached(
        "SELECT id, version, title_zh, title_en, body_zh, body_en, published_at, expires_at
         FROM notices WHERE version > ?2 AND (station_id IS NULL OR station_id = ?1)
         ORDER BY version",
    )?;
    let notices = statement
        .query_map(params![station, int(after)], |row| {
            Ok(Notice {
                id: uint(row.get(0)?),
                version: uint(row.get(1)?),
                title: I18nText {
                    zh: row.get(2)?,
                    en: row.get(3)?,
                },
                body: I18nText {
                    zh: row.get(4)?,
                    en: row.get(5)?,
                },
                published_at: row.get(6)?,
                expires_at: row.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let version = notices.last().map_or(after, |n| n.version);
    Ok(NoticePage { notices, version })
}

/// Publish one notice: to every station (`stations` empty), else one row per chosen station,
/// each with the next version of the notice stream. All rows or none (an unknown station
/// refuses the whole publication). Returns the rows written.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish_notice(
    conn: &mut Connection,
    title: &I18nText,
    body: &I18nText,
    stations: &[String],
    expires_at: Option<&str>,
    by: &str,
    now: &str,
) -> Result<Vec<NoticeRow>, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut targets: Vec<(Option<String>, Option<String>)> = Vec::new();
    for station in stations {
        let name: Option<String> = tx
            .query_row(
                "SELECT name FROM stations WHERE id = ?1",
                [station],
                |row| row.get(0),
            )
            .optional()?;
        let Some(name) = name else {
            return Err(CountyError::InvalidInput(format!(
                "没有服务站 {station} / no station with id {station}"
            )));
        };
        if !targets.iter().any(|(id, _)| id.as_deref() == Some(station)) {
            targets.push((Some(station.clone()), Some(name)));
        }
    }
    if targets.is_empty() {
        targets.push((None, None));
    }
    let mut rows = Vec::new();
    for (station_id, station_name) in targets {
        let version: i64 = tx.query_row(
            "SELECT COALESCE(MAX(version), 0) + 1 FROM notices",
            [],
            |row| row.get(0),
        )?;
        tx.execute(
            "INSERT INTO notices (version, station_id, title_zh, title_en, body_zh, body_en,
                                  published_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                version, station_id, title.zh, title.en, body.zh, body.en, now, expires_at
            ],
        )?;
        rows.push(NoticeRow {
            id: uint(tx.last_insert_rowid()),
            version: uint(version),
            station_id,
            station_name,
            title: title.clone(),
            body: body.clone(),
            published_at: now.to_owned(),
            expires_at: expires_at.map(str::to_owned),
        });
    }
    let to = if stations.is_empty() {
        "all stations".to_owned()
    } else {
        rows.iter()
            .filter_map(|r| r.station_id.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    audit(
        &tx,
        now,
        &format!("clerk:{by}"),
        "notice_publish",
        None,
        Some(&format!(
            "notice version {} to {to}",
            rows.last().map_or(0, |r| r.version)
        )),
    )?;
    tx.commit()?;
    Ok(rows)
}

/// Every notice, newest first.
pub(crate) fn list_notices(conn: &Connection) -> Result<Vec<NoticeRow>, CountyError> {
    let mut statement = conn.prepare(
        "SELECT n.id, n.version, n.station_id, s.name, n.title_zh, n.title_en, n.body_zh,
                n.body_en, n.published_at, n.expires_at
         FROM notices n LEFT JOIN stations s ON s.id = n.station_id
         ORDER BY n.version DESC",
    )?;
    let rows = statement
        .query_map([], |row| {
            Ok(NoticeRow {
                id: uint(row.get(0)?),
                version: uint(row.get(1)?),
                station_id: row.get(2)?,
                station_name: row.get(3)?,
                title: I18nText {
                    zh: row.get(4)?,
                    en: row.get(5)?,
                },
                body: I18nText {
                    zh: row.get(6)?,
                    en: row.get(7)?,
                },
                published_at: row.get(8)?,
                expires_at: row.get(9)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

// ---- The clerk's list ----

pub(crate) fn list_applications(conn: &Connection) -> Result<Vec<ApplicationSummary>, CountyError> {
    let mut statement = conn.prepare(
        "SELECT a.id, a.tracking_number, a.station_id, s.name, a.service, a.state, a.received_at
         FROM applications a JOIN stations s ON s.id = a.station_id
         ORDER BY a.received_at, a.id",
    )?;
    let rows = statement
        .query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut attachments = conn.prepare(
        "SELECT name, size, sha256, complete FROM attachments
         WHERE application_id = ?1 ORDER BY position",
    )?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, tracking_number, station, station_name, service, state, received_at) in rows {
        let files = attachments
            .query_map(params![id], |row| {
                Ok(AttachmentSummary {
                    name: row.get(0)?,
                    size: uint(row.get(1)?),
                    sha256: row.get(2)?,
                    complete: row.get(3)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        out.push(ApplicationSummary {
            application_id: uuid_of(&id)?,
            tracking_number,
            station,
            station_name,
            service,
            complete: files.iter().all(|f| f.complete),
            attachments: files,
            state: state_of(&state)?.as_str().to_owned(),
            received_at,
        });
    }
    Ok(out)
}

/// A station's revocation and signing key (`county import`, `county export-decisions`).
pub(crate) fn station_keys(
    conn: &Connection,
    id: &str,
) -> Result<Option<crate::storage::StationKeys>, CountyError> {
    Ok(conn
        .query_row(
            "SELECT revoked_at, signing_public_key FROM stations WHERE id = ?1",
            params![id],
            |r| {
                Ok(crate::storage::StationKeys {
                    revoked_at: r.get(0)?,
                    signing_public_key: r.get(1)?,
                })
            },
        )
        .optional()?)
}

/// The station's applications the county holds whole, oldest first.
pub(crate) fn received_applications(
    conn: &Connection,
    station: &str,
) -> Result<Vec<Uuid>, CountyError> {
    let mut stmt = conn.prepare(
        "SELECT a.id FROM applications a
         WHERE a.station_id = ?1
           AND NOT EXISTS (SELECT 1 FROM attachments t
                           WHERE t.application_id = a.id AND t.complete = 0)
         ORDER BY a.received_at, a.id",
    )?;
    let ids = stmt
        .query_map(params![station], |r| r.get::<_, String>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    ids.iter().map(|id| uuid_of(id)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn every_state_and_kind_round_trips_through_its_text() {
        for state in [
            CountyState::Receiving,
            CountyState::Complete,
            CountyState::Approved,
            CountyState::Rejected,
            CountyState::MorePapers,
            CountyState::Ready,
            CountyState::HandedOver,
        ] {
            assert_eq!(parse_state(state.as_str()), Some(state));
        }
        for kind in [
            DecisionKind::Approve,
            DecisionKind::Reject,
            DecisionKind::MorePapers,
            DecisionKind::Ready,
        ] {
            // The stored text is the wire text.
            assert_eq!(
                serde_json::to_value(kind).unwrap(),
                serde_json::json!(kind_str(kind))
            );
            assert_eq!(parse_kind(kind_str(kind)), Some(kind));
        }
    }

    #[test]
    fn open_sets_wal_and_foreign_keys() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(dir.path()).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let fk: i64 = conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .unwrap();
        assert_eq!(fk, 1);
        drop(conn);
        // Opening again is a no-op for the schema.
        open(dir.path()).unwrap();
    }

    #[test]
    fn a_reader_sees_committed_writes_and_refuses_to_write() {
        let dir = tempfile::tempdir().unwrap();
        let mut writer = open(dir.path()).unwrap();
        let reader = open_reader(dir.path()).unwrap();
        let id = add_station(&mut writer, "a", "http://x.invalid", "00", &now()).unwrap();
        enrol(&mut writer, &id, "00", "cred", None, &now()).unwrap();
        let found = authenticate(&reader, "cred").unwrap();
        assert!(matches!(found, Credential::Station { id: ref got, .. } if *got == id));
        assert_eq!(authenticate(&reader, "other").unwrap(), Credential::Unknown);
        revoke_station(&mut writer, &id, &now()).unwrap();
        assert_eq!(
            authenticate(&reader, "cred").unwrap(),
            Credential::Revoked(id.clone())
        );
        let refused = reader.execute("UPDATE stations SET name = 'b'", []);
        assert!(refused.is_err(), "{refused:?}");
    }

    #[test]
    fn contacts_are_noted_only_when_the_recorded_one_is_stale_and_never_move_back() {
        let dir = tempfile::tempdir().unwrap();
        let mut conn = open(dir.path()).unwrap();
        let id = add_station(&mut conn, "a", "http://x.invalid", "00", &now()).unwrap();
        let contacts = Contacts::default();
        assert!(!contacts.note(&id, Some(&now())), "recent: nothing to note");
        assert!(contacts.take().is_empty());
        assert!(contacts.note(&id, None), "first of a batch");
        assert!(
            !contacts.note(&id, Some("2000-01-01T00:00:00Z")),
            "same batch"
        );
        let batch = contacts.take();
        assert_eq!(batch.len(), 1);
        record_contacts(&mut conn, &batch).unwrap();
        let later = "2999-01-01T00:00:00Z".to_owned();
        conn.execute("UPDATE stations SET last_contact_at = ?1", params![later])
            .unwrap();
        record_contacts(&mut conn, &batch).unwrap();
        let kept: String = conn
            .query_row("SELECT last_contact_at FROM stations", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, later, "an older batch does not move the contact back");
    }
}

#[cfg(test)]
mod first_open {
    use super::*;

    /// Regression: `county serve` and a clerk command opening a fresh data directory at the
    /// same moment both ran the first migration; the loser failed ("table already exists" or
    /// "database is locked") and the server never started.
    #[test]
    fn concurrent_first_opens_all_succeed() {
        for _ in 0..5 {
            let dir = tempfile::tempdir().unwrap();
            let handles: Vec<_> = (0..6)
                .map(|_| {
                    let path = dir.path().to_owned();
                    std::thread::spawn(move || open(&path).map(|_| ()).map_err(|e| e.to_string()))
                })
                .collect();
            for handle in handles {
                handle.join().unwrap().unwrap();
            }
        }
    }
}
