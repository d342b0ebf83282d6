//! The review page's SQL: clerks, sessions, the queue, one application, its audit trail and
//! the station dashboard. Decisions themselves go through `store::decide`, the code path of
//! `county decide`.

use county_api::{CountyState, SubmitApplication};
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use crate::CountyError;
use crate::store;

/// Clerks and their sessions (migration 2; appended to `store::migrations`).
pub(crate) const V2_CLERKS: &str = r#"
CREATE TABLE clerks (
    name           TEXT PRIMARY KEY,
    -- PHC string of an Argon2id hash (salt and parameters included).
    password_hash  TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    disabled_at    TEXT
) STRICT;

CREATE TABLE sessions (
    -- SHA-256 (hex) of the session cookie's token; the token itself is never stored.
    token_sha256  TEXT PRIMARY KEY,
    clerk         TEXT NOT NULL REFERENCES clerks(name),
    -- Every form of the session carries this; a POST without it is refused.
    csrf_token    TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    expires_at    TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_expiry ON sessions(expires_at);
CREATE INDEX applications_state ON applications(state);
-- Failed logins are counted from the audit log.
CREATE INDEX audit_actor ON audit(actor, action, at);
"#;

// ---- Clerks and sessions ----

/// Add a clerk; `false` when the name is taken.
pub(crate) fn add_clerk(
    conn: &mut Connection,
    name: &str,
    password_hash: &str,
    now: &str,
) -> Result<bool, CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = tx.execute(
        "INSERT INTO clerks (name, password_hash, created_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (name) DO NOTHING",
        params![name, password_hash, now],
    )?;
    if inserted == 1 {
        store::audit(&tx, now, "admin", "clerk_add", None, Some(name))?;
    }
    tx.commit()?;
    Ok(inserted == 1)
}

/// The password hash of an active clerk.
pub(crate) fn clerk_password(conn: &Connection, name: &str) -> Result<Option<String>, CountyError> {
    Ok(conn
        .query_row(
            "SELECT password_hash FROM clerks WHERE name = ?1 AND disabled_at IS NULL",
            params![name],
            |row| row.get(0),
        )
        .optional()?)
}

/// The audit actor of a clerk's name as typed at the login (bounded: it may be anything).
fn login_actor(name: &str) -> String {
    format!("clerk:{}", name.chars().take(64).collect::<String>())
}

/// Record a failed login for this name (known or not).
pub(crate) fn record_failed_login(
    conn: &mut Connection,
    name: &str,
    now: &str,
) -> Result<(), CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    store::audit(&tx, now, &login_actor(name), "login_failed", None, None)?;
    tx.commit()?;
    Ok(())
}

/// Failed logins for this name at or after `since`.
pub(crate) fn failed_logins_since(
    conn: &Connection,
    name: &str,
    since: &str,
) -> Result<u64, CountyError> {
    let count: i64 = conn.query_row(
        "SELECT COUNT(*) FROM audit WHERE actor = ?1 AND action = 'login_failed' AND at >= ?2",
        params![login_actor(name), since],
        |row| row.get(0),
    )?;
    Ok(u64::try_from(count).unwrap_or(0))
}

/// Start a session (and forget expired ones).
pub(crate) fn create_session(
    conn: &mut Connection,
    token_sha256: &str,
    clerk: &str,
    csrf_token: &str,
    now: &str,
    expires_at: &str,
) -> Result<(), CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
    tx.execute(
        "INSERT INTO sessions (token_sha256, clerk, csrf_token, created_at, expires_at)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![token_sha256, clerk, csrf_token, now, expires_at],
    )?;
    store::audit(&tx, now, &format!("clerk:{clerk}"), "login", None, None)?;
    tx.commit()?;
    Ok(())
}

/// The clerk and CSRF token of a live session.
pub(crate) fn session(
    conn: &Connection,
    token_sha256: &str,
    now: &str,
) -> Result<Option<(String, String)>, CountyError> {
    Ok(conn
        .query_row(
            "SELECT s.clerk, s.csrf_token FROM sessions s JOIN clerks c ON c.name = s.clerk
             WHERE s.token_sha256 = ?1 AND s.expires_at > ?2 AND c.disabled_at IS NULL",
            params![token_sha256, now],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

/// End a session.
pub(crate) fn delete_session(
    conn: &mut Connection,
    token_sha256: &str,
    clerk: &str,
    now: &str,
) -> Result<(), CountyError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let deleted = tx.execute(
        "DELETE FROM sessions WHERE token_sha256 = ?1",
        params![token_sha256],
    )?;
    if deleted == 1 {
        store::audit(&tx, now, &format!("clerk:{clerk}"), "logout", None, None)?;
    }
    tx.commit()?;
    Ok(())
}

// ---- The queue ----

/// One application waiting for a clerk.
pub(crate) struct QueueRow {
    pub id: Uuid,
    pub tracking_number: String,
    pub station: String,
    pub station_name: String,
    pub service: String,
    pub state: CountyState,
    pub submitted_at: String,
    pub received_at: String,
}

/// One (station, service) pair with applications waiting.
pub(crate) struct QueueGroup {
    pub station: String,
    pub station_name: String,
    pub service: String,
    pub waiting: u64,
}

/// The states a clerk acts on: complete (decide) and approved (mark ready).
const WAITING: &str = "('complete', 'approved')";

/// Applications waiting for a clerk, oldest first, optionally of one station and/or service.
pub(crate) fn queue(
    conn: &Connection,
    station: Option<&str>,
    service: Option<&str>,
) -> Result<Vec<QueueRow>, CountyError> {
    let mut statement = conn.prepare(&format!(
        "SELECT a.id, a.tracking_number, a.station_id, s.name, a.service, a.state,
                a.submitted_at, a.received_at
         FROM applications a JOIN stations s ON s.id = a.station_id
         WHERE a.state IN {WAITING}
           AND (?1 IS NULL OR a.station_id = ?1) AND (?2 IS NULL OR a.service = ?2)
         ORDER BY a.received_at, a.id"
    ))?;
    let rows = statement
        .query_map(params![station, service], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
                row.get::<_, String>(3)?,
                row.get::<_, String>(4)?,
                row.get::<_, String>(5)?,
                row.get::<_, String>(6)?,
                row.get::<_, String>(7)?,
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    rows.into_iter()
        .map(
            |(id, tracking_number, station, station_name, service, state, submitted, received)| {
                Ok(QueueRow {
                    id: parse_id(&id)?,
                    tracking_number,
                    station,
                    station_name,
                    service,
                    state: parse_state(&state)?,
                    submitted_at: submitted,
                    received_at: received,
                })
            },
        )
        .collect()
}

/// Waiting applications counted by station and service.
pub(crate) fn queue_groups(conn: &Connection) -> Result<Vec<QueueGroup>, CountyError> {
    let mut statement = conn.prepare(&format!(
        "SELECT a.station_id, s.name, a.service, COUNT(*)
         FROM applications a JOIN stations s ON s.id = a.station_id
         WHERE a.state IN {WAITING}
         GROUP BY a.station_id, a.service ORDER BY s.name, a.station_id, a.service"
    ))?;
    let groups = statement
        .query_map([], |row| {
            Ok(QueueGroup {
                station: row.get(0)?,
                station_name: row.get(1)?,
                service: row.get(2)?,
                waiting: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(groups)
}

// ---- One application ----

/// One scan as the page shows it.
pub(crate) struct Scan {
    pub name: String,
    pub scan: String,
    pub content_type: String,
    pub size: u64,
    pub received: u64,
    pub complete: bool,
}

/// An application with everything the page shows.
pub(crate) struct Detail {
    pub id: Uuid,
    pub tracking_number: String,
    pub station: String,
    pub station_name: String,
    pub service: String,
    pub service_version: u32,
    pub state: CountyState,
    pub submitted_at: String,
    pub received_at: String,
    /// How sure the station was of its clock at the capture (None: it did not say).
    pub clock: Option<county_api::ClockNote>,
    /// Field id → value, as the station sent them.
    pub fields: Vec<(String, String)>,
    pub scans: Vec<Scan>,
    pub audit: Vec<AuditRow>,
    /// The revision the record was captured under (built in or published), for labels.
    pub definition: Option<kiosk_domain::ServiceDefinition>,
}

/// One row of the audit trail.
pub(crate) struct AuditRow {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub detail: Option<String>,
}

pub(crate) fn application(conn: &Connection, id: Uuid) -> Result<Option<Detail>, CountyError> {
    let row = conn
        .query_row(
            "SELECT a.tracking_number, a.station_id, s.name, a.service, a.service_version,
                    a.state, a.submitted_at, a.received_at, a.body
             FROM applications a JOIN stations s ON s.id = a.station_id WHERE a.id = ?1",
            params![id.to_string()],
            |row| {
                Ok((
                    Detail {
                        id,
                        tracking_number: row.get(0)?,
                        station: row.get(1)?,
                        station_name: row.get(2)?,
                        service: row.get(3)?,
                        service_version: u32::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
                        // Replaced below; kept as text until then.
                        state: CountyState::Receiving,
                        submitted_at: row.get(6)?,
                        received_at: row.get(7)?,
                        clock: None,
                        fields: Vec::new(),
                        scans: Vec::new(),
                        audit: Vec::new(),
                        definition: None,
                    },
                    row.get::<_, String>(5)?,
                    row.get::<_, String>(8)?,
                ))
            },
        )
        .optional()?;
    let Some((mut detail, state, body)) = row else {
        return Ok(None);
    };
    detail.state = parse_state(&state)?;
    detail.definition = crate::catalog::revision(conn, &detail.service, detail.service_version)?;
    // The stored body is the canonical JSON of the submission (see `store::submit`).
    let submission: SubmitApplication = serde_json::from_str(&body)
        .map_err(|e| CountyError::Corrupt(format!("application {id}: stored body: {e}")))?;
    detail.clock = submission.clock.clone();
    let mut statement = conn.prepare_cached(
        "SELECT name, scan, content_type, size, received, complete FROM attachments
         WHERE application_id = ?1 ORDER BY position",
    )?;
    let scans = statement
        .query_map(params![id.to_string()], |row| {
            Ok(Scan {
                name: row.get(0)?,
                scan: row.get(1)?,
                content_type: row.get(2)?,
                size: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
                received: u64::try_from(row.get::<_, i64>(4)?).unwrap_or(0),
                complete: row.get(5)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    detail.fields = submission.fields.into_iter().collect();
    detail.scans = scans;
    detail.audit = audit_trail(conn, id)?;
    Ok(Some(detail))
}

fn audit_trail(conn: &Connection, id: Uuid) -> Result<Vec<AuditRow>, CountyError> {
    let mut statement = conn.prepare_cached(
        "SELECT at, actor, action, detail FROM audit WHERE application_id = ?1 ORDER BY id",
    )?;
    let rows = statement
        .query_map(params![id.to_string()], |row| {
            Ok(AuditRow {
                at: row.get(0)?,
                actor: row.get(1)?,
                action: row.get(2)?,
                detail: row.get(3)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

/// A complete scan's declared content type and SHA-256 (its file name in the store).
pub(crate) fn scan(
    conn: &Connection,
    id: Uuid,
    name: &str,
) -> Result<Option<(String, String)>, CountyError> {
    Ok(conn
        .query_row(
            "SELECT content_type, sha256 FROM attachments
             WHERE application_id = ?1 AND name = ?2 AND complete = 1",
            params![id.to_string(), name],
            |row| Ok((row.get(0)?, row.get(1)?)),
        )
        .optional()?)
}

// ---- The station dashboard ----

/// One station on the dashboard.
pub(crate) struct StationRow {
    pub id: String,
    pub name: String,
    pub enrolled_at: Option<String>,
    pub revoked_at: Option<String>,
    pub last_contact_at: Option<String>,
    /// Records that arrived with scans still missing.
    pub receiving: u64,
    /// Complete, waiting for a decision.
    pub undecided: u64,
    /// Approved, waiting to be marked ready.
    pub approved: u64,
    /// When the oldest of those arrived.
    pub oldest_waiting: Option<String>,
    /// The station's latest self-test, if it ever sent one.
    pub selftest: Option<crate::selftests::Latest>,
}

pub(crate) fn stations(conn: &Connection) -> Result<Vec<StationRow>, CountyError> {
    let mut statement = conn.prepare(
        "SELECT s.id, s.name, s.enrolled_at, s.revoked_at, s.last_contact_at,
                COALESCE(SUM(a.state = 'receiving'), 0),
                COALESCE(SUM(a.state = 'complete'), 0),
                COALESCE(SUM(a.state = 'approved'), 0),
                MIN(CASE WHEN a.state IN ('receiving', 'complete', 'approved')
                         THEN a.received_at END),
                t.checked_at, t.ok, t.report
         FROM stations s LEFT JOIN applications a ON a.station_id = s.id
              LEFT JOIN station_selftests t ON t.station_id = s.id
         GROUP BY s.id ORDER BY s.name, s.id",
    )?;
    let count = |v: i64| u64::try_from(v).unwrap_or(0);
    let rows = statement
        .query_map([], |row| {
            Ok(StationRow {
                id: row.get(0)?,
                name: row.get(1)?,
                enrolled_at: row.get(2)?,
                revoked_at: row.get(3)?,
                last_contact_at: row.get(4)?,
                receiving: count(row.get(5)?),
                undecided: count(row.get(6)?),
                approved: count(row.get(7)?),
                oldest_waiting: row.get(8)?,
                selftest: crate::selftests::from_row(row.get(9)?, row.get(10)?, row.get(11)?),
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(rows)
}

fn parse_id(text: &str) -> Result<Uuid, CountyError> {
    Uuid::parse_str(text).map_err(|_| CountyError::Corrupt(format!("bad application id {text:?}")))
}

fn parse_state(text: &str) -> Result<CountyState, CountyError> {
    store::parse_state(text).ok_or_else(|| CountyError::Corrupt(format!("unknown state {text:?}")))
}
