//! The outbox: the only writer of the station's application tables and blob directory.
//!
//! Layout under the data directory:
//! - `outbox.sqlite3` — WAL, `synchronous=FULL`; tables `applications`, `attachments`,
//!   `events` (one row per state change) and `sync_state` (cursors, last contact).
//! - `blobs/<application id>/<attachment name>` — the scans, each sealed to the county's
//!   public key (`sealing`), as they are uploaded.
//!
//! Privacy at rest: [`Outbox::submit`] seals the application's personal part (its fields
//! and the scans' plaintext SHA-256s, a [`county_api::SealedRecord`]) and every scan to the
//! county's key before anything is written, once; the sealed bytes are kept until the
//! county confirms receipt, so every retry sends the same bytes. The station keeps in the
//! clear only what its screens need: tracking number, service, masked name, state, times,
//! and keyed hashes of ID numbers (card taps). Once `delivered`, the sealed payload is
//! deleted (row column and blob directory); [`Outbox::forget_handed_over`] deletes the
//! index rows a configurable time after hand-over.
//!
//! Crash safety of [`Outbox::submit`]: scan files are written and fsynced (files, then their
//! directory) *before* the transaction that references them commits. A crash before the
//! commit leaves a blob directory no row points at; [`Outbox::open`] deletes such orphans.
//! A crash after the commit leaves a complete application. Nothing in between is visible.
//!
//! What happens on bad conditions:
//! - Disk full / read-only while submitting: the error is returned, the blob directory of
//!   the attempt is removed, the database is unchanged (the transaction never committed).
//! - Another process (the `kiosk submit` CLI beside the running daemon) writes at the same
//!   time: SQLite serialises the writers; `busy_timeout` waits up to 5 s. A submission
//!   holds `blobs.lock` (flock, shared) from its first scan file to its commit, and the
//!   orphan sweep of [`Outbox::open`] runs only when it can take that lock exclusively, so
//!   a submission in flight in another process is never mistaken for an orphan.

use std::collections::{BTreeMap, HashSet};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use rusqlite_migration::{M, Migrations};
use rustix::fs::{FlockOperation, flock};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use uuid::Uuid;

use crate::health::Health;
use crate::state::AppState;
use crate::tracking::tracking_number;

/// Errors of the outbox. Each says what the operator or technician can do.
#[derive(Debug, thiserror::Error)]
pub enum OutboxError {
    #[error("the local database cannot be used: {0}")]
    Database(#[from] rusqlite::Error),
    #[error("the local database cannot be opened: {0}")]
    Open(#[from] sqlite_open::OpenError),
    #[error("a scan could not be saved to {path}: {source} (is the storage full or read-only?)")]
    Blob {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the scan name {0:?} is not allowed (letters, digits, '.', '_' and '-' only)")]
    BadName(String),
    #[error("two scans share the name {0:?}")]
    DuplicateName(String),
    #[error("no application with id {0}")]
    NotFound(Uuid),
    #[error("an application with id {0} is already stored")]
    AlreadyExists(Uuid),
    #[error("application {id} cannot go from {from} to {to}")]
    BadTransition {
        id: Uuid,
        from: AppState,
        to: AppState,
    },
    #[error("the local database holds a value it does not understand: {0}")]
    Corrupt(String),
    #[error("the application could not be sealed: {0}")]
    Seal(#[from] sealing::SealError),
    /// The outbox was opened with [`Outbox::open_damaged`]: it only reads.
    #[error("the local database is only read while it is {}; nothing new is saved", .0.as_str())]
    Refused(Health),
}

pub type Result<T, E = OutboxError> = std::result::Result<T, E>;

/// One scan to store with a new application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewScan {
    /// The scan slot of the service definition (e.g. `mother_id_card`).
    pub scan: String,
    /// File name, unique within the application.
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An application the operator submitted, already validated by the domain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewApplication {
    /// UUIDv7, made once at the station; the idempotency key everywhere after.
    pub id: Uuid,
    pub service: String,
    pub service_version: u32,
    pub fields: BTreeMap<String, String>,
    /// What the counter board may show of the person (e.g. `张*`).
    pub masked_name: String,
    /// Keyed hashes of the ID numbers of the people on the application, so a card tap can
    /// find "my applications" without the station keeping the numbers in the index.
    pub person_keys: Vec<String>,
    pub scans: Vec<NewScan>,
    /// How sure the station is of its clock now (it dates the application); `None` when
    /// the caller cannot tell.
    pub clock: Option<county_api::ClockNote>,
}

/// The answer to a successful submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Submitted {
    pub id: Uuid,
    pub tracking_number: String,
}

/// Counts and health for the status command and the UI.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// Every state, including those with zero applications.
    pub counts: BTreeMap<AppState, u64>,
    /// Age of the oldest application still waiting to be delivered.
    pub oldest_waiting_secs: Option<u64>,
    /// Last time the county answered.
    pub last_contact: Option<OffsetDateTime>,
    /// Scan bytes not yet acknowledged by the county.
    pub bytes_waiting: u64,
    /// The last error of the sync engine, if the last attempt failed.
    pub last_error: Option<String>,
    /// The application being sent now (or interrupted while sending), and how far.
    pub sending: Option<Progress>,
    /// The storage's health (see [`Outbox::health`]).
    pub health: Health,
}

/// Upload progress of one application, from what the county has acknowledged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Progress {
    pub tracking_number: String,
    pub bytes_acked: u64,
    pub bytes_total: u64,
}

/// One row of the counter board.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    pub id: Uuid,
    pub tracking_number: String,
    pub service: String,
    pub masked_name: String,
    pub state: AppState,
    /// `approved`, `rejected`, `more_papers` once decided.
    pub outcome: Option<String>,
    pub reason: Option<String>,
    pub updated_at: OffsetDateTime,
}

/// A notice as the outbox keeps it: the county's JSON body plus what the queries need.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredNotice {
    pub id: u64,
    pub version: u64,
    pub body: String,
    pub expires_at: Option<String>,
}

/// One row of an application's event log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub at: OffsetDateTime,
    pub from: Option<AppState>,
    pub to: AppState,
    pub detail: Option<String>,
}

/// An application as the sync engine sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outgoing {
    pub id: Uuid,
    pub tracking_number: String,
    pub service: String,
    pub service_version: u32,
    pub submitted_at: OffsetDateTime,
    /// Plain fields: only applications stored before sealing (migration 3); else empty.
    pub fields: BTreeMap<String, String>,
    /// The sealed [`county_api::SealedRecord`], as sealed once at submission.
    pub sealed_record: Option<Vec<u8>>,
    pub state: AppState,
    pub attempts: u32,
    pub attachments: Vec<OutgoingAttachment>,
    /// How sure the station was of its clock at the capture.
    pub clock: Option<county_api::ClockNote>,
}

/// One stored scan as it is uploaded (sealed: `size` and `sha256` are the sealed bytes').
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutgoingAttachment {
    pub name: String,
    pub scan: String,
    pub content_type: String,
    pub size: u64,
    pub sha256: String,
    pub path: PathBuf,
}

/// Append-only: never edit a released step, add the next one.
const MIGRATIONS: &[M<'static>] = &[
    M::up(
        "CREATE TABLE applications (
        id TEXT PRIMARY KEY NOT NULL,
        tracking_number TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL,
        service_version INTEGER NOT NULL,
        submitted_at TEXT NOT NULL,
        fields_json TEXT NOT NULL,
        masked_name TEXT NOT NULL,
        state TEXT NOT NULL,
        outcome TEXT,
        reason TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_ms INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        updated_at TEXT NOT NULL
    ) STRICT;
    CREATE INDEX applications_due ON applications (state, next_attempt_ms);
    CREATE TABLE attachments (
        application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        name TEXT NOT NULL,
        scan TEXT NOT NULL,
        content_type TEXT NOT NULL,
        size INTEGER NOT NULL,
        sha256 TEXT NOT NULL,
        acked INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (application_id, name)
    ) STRICT;
    CREATE TABLE events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        application_id TEXT NOT NULL,
        at TEXT NOT NULL,
        from_state TEXT,
        to_state TEXT NOT NULL,
        detail TEXT
    ) STRICT;
    CREATE TABLE sync_state (
        key TEXT PRIMARY KEY NOT NULL,
        value TEXT NOT NULL
    ) STRICT;",
    ),
    // 2: hand-over forwarding, the card-tap index, and what the county publishes.
    M::up(
        "ALTER TABLE applications ADD COLUMN handed_over_at TEXT;
    ALTER TABLE applications ADD COLUMN handover_sent INTEGER NOT NULL DEFAULT 0;
    CREATE TABLE people (
        application_id TEXT NOT NULL REFERENCES applications (id) ON DELETE CASCADE,
        person_key TEXT NOT NULL,
        PRIMARY KEY (application_id, person_key)
    ) STRICT;
    CREATE INDEX people_by_key ON people (person_key);
    CREATE TABLE catalog (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL,
        body TEXT NOT NULL
    ) STRICT;
    CREATE TABLE notices (
        id INTEGER PRIMARY KEY NOT NULL,
        version INTEGER NOT NULL,
        body TEXT NOT NULL,
        expires_at TEXT
    ) STRICT;",
    ),
    // 3: sealing. New rows keep `fields_json` = '{}' and the sealed record here (NULL once
    // delivered); `attachments.size`/`sha256` are those of the sealed bytes.
    M::up("ALTER TABLE applications ADD COLUMN sealed_record BLOB;"),
    // How sure the station was of its clock at the capture (JSON of county_api::ClockNote).
    M::up("ALTER TABLE applications ADD COLUMN clock_note TEXT;"),
];

/// States in which an application still holds its payload (sealed record and scans):
/// not yet confirmed by the county (`returned` ones were refused, never received).
const PAYLOAD_STATES: &str = "('queued', 'sending', 'returned')";

fn migrations() -> Migrations<'static> {
    Migrations::from_slice(MIGRATIONS)
}

/// What a process gets of the outbox: the outbox itself, or after a storage fault the
/// degraded read-only view (see [`Opened::open`]).
pub enum Opened {
    /// [`Outbox::open`] succeeded (a full or read-only card included: it says so itself).
    Ready(Outbox),
    /// [`Outbox::open`] failed with a storage fault `health` (`error`): `view` is
    /// [`Outbox::open_damaged`] when even that could be opened. Nothing was written.
    Damaged {
        health: Health,
        error: OutboxError,
        view: Option<Outbox>,
    },
}

impl Opened {
    /// Open the outbox under `data_dir`; a damaged database or a failing card gives
    /// [`Opened::Damaged`] instead of an error, so the caller can keep serving what it
    /// still can. Any other error (e.g. a schema this release cannot migrate) is returned.
    pub fn open(data_dir: &Path) -> Result<Opened> {
        let error = match Outbox::open(data_dir) {
            Ok(ob) => return Ok(Opened::Ready(ob)),
            Err(e) => e,
        };
        let Some(health) = Health::of_error(&error) else {
            return Err(error);
        };
        tracing::error!(health = health.as_str(), error = %error, "the outbox is damaged: serving only what can be read, saving nothing");
        let view = Outbox::open_damaged(data_dir, health)
            .inspect_err(|e| tracing::error!(error = %e, "the damaged outbox cannot even be read"))
            .ok();
        Ok(Opened::Damaged {
            health,
            error,
            view,
        })
    }
}

/// The station's outbox. One per process; several processes may open the same directory.
pub struct Outbox {
    conn: Connection,
    blobs: PathBuf,
    /// The storage fault the last submission ran into (cleared by the next that succeeds).
    fault: Option<Health>,
    /// Opened by [`Outbox::open_damaged`]: every submission is refused at once, before a
    /// scan file is written.
    refuse: Option<Health>,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

fn parse_time(s: &str) -> Result<OffsetDateTime> {
    OffsetDateTime::parse(s, &Rfc3339).map_err(|_| OutboxError::Corrupt(format!("time {s:?}")))
}

fn parse_id(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|_| OutboxError::Corrupt(format!("id {s:?}")))
}

fn parse_state(s: &str) -> Result<AppState> {
    AppState::parse(s).ok_or_else(|| OutboxError::Corrupt(format!("state {s:?}")))
}

fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn blob_err(path: &Path) -> impl FnOnce(std::io::Error) -> OutboxError + '_ {
    move |source| OutboxError::Blob {
        path: path.to_path_buf(),
        source,
    }
}

/// fsync a directory so a rename or a new file in it survives a power cut.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Outbox {
    /// Open (creating if needed) the outbox under `data_dir`, bring its schema up to date and
    /// remove blob directories that no committed application refers to.
    pub fn open(data_dir: &Path) -> Result<Outbox> {
        let blobs = data_dir.join("blobs");
        let db = data_dir.join("outbox.sqlite3");
        if crate::health::probe(data_dir) == Health::ReadOnly && db.exists() {
            tracing::error!("the storage is read-only: serving what is stored, refusing new work");
            return Outbox::open_read_only(&db, blobs, Health::ReadOnly);
        }
        fs::create_dir_all(&blobs).map_err(blob_err(&blobs))?;
        // Safe when the daemon and `kiosk submit` open a fresh directory at the same moment.
        let conn = sqlite_open::open(&db, &migrations())?;
        let mut outbox = Outbox {
            conn,
            blobs,
            fault: None,
            refuse: None,
        };
        let checked = outbox
            .remove_orphan_blobs()
            .and_then(|()| outbox.return_damaged(OffsetDateTime::now_utc()));
        if let Err(e) = checked {
            // A damaged file (or failing card) must stay as it is for the technician: no
            // checkpoint of a leftover WAL into it when this connection closes.
            if Health::of_error(&e).is_some()
                && let Err(e) = outbox.conn.set_db_config(
                    rusqlite::config::DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE,
                    true,
                )
            {
                tracing::warn!(error = %e, "the database may be checkpointed on close");
            }
            return Err(e);
        }
        Ok(outbox)
    }

    /// After [`Outbox::open`] failed with a storage fault `fault` (a damaged database, a
    /// failing card): serve what SQLite can still read, change nothing. The file is opened
    /// read-only and `immutable`, so nothing is written to it, its WAL or its directory (no
    /// orphan sweep, no migration, no checkpoint, no repair); a leftover WAL is kept but
    /// not shown. Every submission is refused with [`OutboxError::Refused`], and
    /// [`Outbox::health`] says `fault`. A query that meets the damage fails as it would
    /// have (`DatabaseCorrupt`); the caller shows what it can without it.
    pub fn open_damaged(data_dir: &Path, fault: Health) -> Result<Outbox> {
        let db = data_dir.join("outbox.sqlite3");
        if !db.exists() {
            // Opening would create an empty file: nothing to serve, and nothing to write.
            return Err(OutboxError::Refused(fault));
        }
        let mut outbox = Outbox::open_read_only(&db, data_dir.join("blobs"), fault)?;
        outbox.refuse = Some(fault);
        Ok(outbox)
    }

    /// The storage was remounted read-only (the kernel does that after write errors): keep
    /// serving what can be read (status, the board, card taps) from the database as it is on
    /// the card. Every write fails and says read-only; nothing is swept or returned. SQLite
    /// cannot open a WAL database read-only without its shared-memory file, so it is opened
    /// `immutable` (transactions still only in a leftover WAL are not shown; they are kept).
    fn open_read_only(db: &Path, blobs: PathBuf, fault: Health) -> Result<Outbox> {
        use rusqlite::OpenFlags;
        let uri = format!("file:{}?immutable=1", db.display());
        let conn = Connection::open_with_flags(
            uri,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_URI,
        )?;
        Ok(Outbox {
            conn,
            blobs,
            fault: Some(fault),
            refuse: None,
        })
    }

    /// The other half of the start-up reconciliation: an application still to be sent whose
    /// scan file is missing or has the wrong size (a damaged SD card, a file removed by hand)
    /// could never be delivered; it goes back to the operator (`returned`) saying which
    /// scan, instead of failing at the county forever. Returns how many were returned.
    pub fn return_damaged(&mut self, now: OffsetDateTime) -> Result<u32> {
        // A first look without a lock finds the suspects; each is then looked at again
        // under the write lock. Regression (chaos test): the daemon delivered an application
        // and deleted its scans between the look and the return, and `kiosk status` failed
        // trying to return a delivered application. Scans of an application still queued or
        // sending are deleted only after a commit that needs this lock, so what is missing
        // under it is really missing.
        let suspects: Vec<Uuid> = damaged_scans(&self.conn, &self.blobs, None)?
            .into_keys()
            .collect();
        let mut returned = 0;
        for id in suspects {
            let tx = self
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            let from = current_state(&tx, &id)?;
            if !matches!(from, AppState::Queued | AppState::Sending) {
                // Delivered meanwhile: its scans went with it, as they should.
                continue;
            }
            let Some(names) = damaged_scans(&tx, &self.blobs, Some(&id))?.remove(&id) else {
                continue;
            };
            let detail = format!(
                "扫描件缺失或损坏，请重新扫描 / scans missing or damaged on this station, scan again: {}",
                names.join(", ")
            );
            tracing::error!(application = %id, scans = %names.join(", "), "stored scans are damaged");
            let at = rfc3339(now);
            tx.execute(
                "UPDATE applications SET state = 'returned', updated_at = ?2, last_error = NULL,
                     attempts = 0, reason = ?3
                 WHERE id = ?1",
                params![id.to_string(), at, detail],
            )?;
            event(&tx, &id, Some(from), AppState::Returned, &at, Some(&detail))?;
            tx.commit()?;
            returned += 1;
        }
        Ok(returned)
    }

    fn remove_orphan_blobs(&self) -> Result<()> {
        // Regression (crash test; `an_open_beside_a_submission_in_flight_keeps_its_scans`):
        // a directory no committed row names is also what a submission *in flight in another
        // process* looks like, and the sweep deleted its scans. Sweep only while no
        // submission holds the blob lock; otherwise leave orphans for the next open.
        let Some(_sweeping) = blob_lock(&self.blobs, FlockOperation::NonBlockingLockExclusive)?
        else {
            tracing::debug!("a submission is in flight; the orphan sweep waits for the next open");
            return Ok(());
        };
        // Scans are kept only while the application holds its payload; a directory of one
        // the county has confirmed is what a crash right after delivery leaves behind.
        let known: HashSet<String> = {
            let mut stmt = self.conn.prepare(&format!(
                "SELECT id FROM applications WHERE state IN {PAYLOAD_STATES}"
            ))?;
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<_>>()?
        };
        let entries = fs::read_dir(&self.blobs).map_err(blob_err(&self.blobs))?;
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !known.contains(&name) {
                tracing::warn!(dir = %name, "removing scans of an application never committed or already delivered");
                let path = entry.path();
                // Already gone is what we wanted: the daemon deletes a delivered
                // application's scans right after its commit, without this lock, and may
                // win the race (the crash test caught `kiosk submit` failing to open here).
                match fs::remove_dir_all(&path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(blob_err(&path)(e)),
                }
            }
        }
        Ok(())
    }

    /// Where a stored scan lives.
    pub fn blob_path(&self, id: &Uuid, name: &str) -> PathBuf {
        self.blobs.join(id.to_string()).join(name)
    }

    /// Store an application and all its scans durably, in one step, sealed to the county's
    /// public key `county`. When this returns `Ok`, a power cut cannot lose it; when it
    /// returns `Err`, nothing of it was stored.
    ///
    /// A failure that is a storage fault (full, read-only, damaged) is remembered for
    /// [`Outbox::health`]; [`Health::of_error`] gives the operator's sentence.
    pub fn submit(
        &mut self,
        app: NewApplication,
        county: &sealing::PublicKey,
        now: OffsetDateTime,
    ) -> Result<Submitted> {
        if let Some(h) = self.refuse {
            return Err(OutboxError::Refused(h));
        }
        let result = self.submit_inner(app, county, now);
        match &result {
            Ok(_) => self.fault = None,
            Err(e) => {
                if let Some(h) = Health::of_error(e) {
                    // The caller reports the error (screen log, CLI sentence); this is for debugging.
                    tracing::debug!(health = h.as_str(), error = %e, "the outbox cannot store");
                    self.fault = Some(h);
                }
            }
        }
        result
    }

    /// The storage's health now: the fault the last submission met, or what the file
    /// system under the data directory shows (read-only, nearly full).
    pub fn health(&self) -> Health {
        let dir = self.blobs.parent().unwrap_or(&self.blobs);
        self.fault
            .unwrap_or(Health::Ok)
            .worst(crate::health::probe(dir))
    }

    fn submit_inner(
        &mut self,
        app: NewApplication,
        county: &sealing::PublicKey,
        now: OffsetDateTime,
    ) -> Result<Submitted> {
        let mut seen = HashSet::new();
        for scan in &app.scans {
            if !county_api::is_valid_attachment_name(&scan.name) {
                return Err(OutboxError::BadName(scan.name.clone()));
            }
            if !seen.insert(scan.name.as_str()) {
                return Err(OutboxError::DuplicateName(scan.name.clone()));
            }
        }
        // Sealed once, here: every retry later sends these same bytes.
        let sealed = Sealed::new(&app, county)?;
        // Held until this function returns (committed or cleaned up): see `blob_lock`.
        let _writing = blob_lock(&self.blobs, FlockOperation::LockShared)?;
        let exists: bool = self.conn.query_row(
            "SELECT EXISTS (SELECT 1 FROM applications WHERE id = ?1)",
            [app.id.to_string()],
            |r| r.get(0),
        )?;
        let dir = self.blobs.join(app.id.to_string());
        // `create_dir` (not `_all`) also refuses a directory another process is filling now.
        if exists || dir.exists() {
            return Err(OutboxError::AlreadyExists(app.id));
        }
        if let Err(e) = write_blobs(&dir, &self.blobs, &app.scans, &sealed.scans) {
            let _ = fs::remove_dir_all(&dir);
            return Err(e);
        }
        let tracking = tracking_number(&app.id, now.date());
        match self.insert(&app, &sealed, &tracking, now) {
            Ok(()) => Ok(Submitted {
                id: app.id,
                tracking_number: tracking,
            }),
            Err(e) => {
                let _ = fs::remove_dir_all(&dir);
                Err(e)
            }
        }
    }

    fn insert(
        &mut self,
        app: &NewApplication,
        sealed: &Sealed,
        tracking: &str,
        now: OffsetDateTime,
    ) -> Result<()> {
        let at = rfc3339(now);
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO applications (id, tracking_number, service, service_version,
                submitted_at, fields_json, masked_name, state, updated_at, sealed_record,
                clock_note)
             VALUES (?1, ?2, ?3, ?4, ?5, '{}', ?6, ?7, ?5, ?8, ?9)",
            params![
                app.id.to_string(),
                tracking,
                app.service,
                app.service_version,
                at,
                app.masked_name,
                AppState::Queued.as_str(),
                sealed.record,
                app.clock
                    .as_ref()
                    .and_then(|c| serde_json::to_string(c).ok())
            ],
        )?;
        for (scan, bytes) in app.scans.iter().zip(&sealed.scans) {
            tx.execute(
                "INSERT INTO attachments (application_id, name, scan, content_type, size, sha256)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    app.id.to_string(),
                    scan.name,
                    scan.scan,
                    scan.content_type,
                    bytes.len() as i64,
                    hex::encode(Sha256::digest(bytes))
                ],
            )?;
        }
        for key in &app.person_keys {
            tx.execute(
                "INSERT OR IGNORE INTO people (application_id, person_key) VALUES (?1, ?2)",
                params![app.id.to_string(), key],
            )?;
        }
        event(&tx, &app.id, None, AppState::Queued, &at, None)?;
        tx.commit()?;
        Ok(())
    }

    /// SQLite's own consistency check of the database file (`PRAGMA quick_check`): an empty
    /// list when it is sound, else what SQLite found (at most ten lines). For `kiosk selftest`.
    pub fn integrity_problems(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare("PRAGMA quick_check(10)")?;
        let lines = stmt
            .query_map([], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(lines.into_iter().filter(|l| l != "ok").collect())
    }

    /// Counts by state and the health figures.
    pub fn status(&self, now: OffsetDateTime) -> Result<Status> {
        let mut counts: BTreeMap<AppState, u64> = AppState::ALL.iter().map(|s| (*s, 0)).collect();
        let mut stmt = self
            .conn
            .prepare("SELECT state, COUNT(*) FROM applications GROUP BY state")?;
        for row in stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            let (state, n) = row?;
            *counts.entry(parse_state(&state)?).or_default() += n as u64;
        }
        let oldest: Option<String> = self.conn.query_row(
            "SELECT MIN(submitted_at) FROM applications WHERE state IN ('queued', 'sending')",
            [],
            |r| r.get(0),
        )?;
        let oldest_waiting_secs = match oldest {
            Some(s) => Some((now - parse_time(&s)?).whole_seconds().max(0) as u64),
            None => None,
        };
        let bytes_waiting: i64 = self.conn.query_row(
            "SELECT COALESCE(SUM(t.size - t.acked), 0) FROM attachments t
             JOIN applications a ON a.id = t.application_id
             WHERE a.state IN ('queued', 'sending')",
            [],
            |r| r.get(0),
        )?;
        let last_contact = match self.get_state("last_contact")? {
            Some(s) => Some(parse_time(&s)?),
            None => None,
        };
        let sending = self
            .conn
            .query_row(
                "SELECT a.tracking_number, COALESCE(SUM(t.acked), 0), COALESCE(SUM(t.size), 0)
                 FROM applications a LEFT JOIN attachments t ON t.application_id = a.id
                 WHERE a.state = 'sending'
                 GROUP BY a.id ORDER BY a.submitted_at, a.id LIMIT 1",
                [],
                |r| {
                    Ok(Progress {
                        tracking_number: r.get(0)?,
                        bytes_acked: r.get::<_, i64>(1)?.max(0) as u64,
                        bytes_total: r.get::<_, i64>(2)?.max(0) as u64,
                    })
                },
            )
            .optional()?;
        Ok(Status {
            counts,
            oldest_waiting_secs,
            last_contact,
            bytes_waiting: bytes_waiting.max(0) as u64,
            last_error: self.get_state("last_error")?,
            sending,
            health: self.health(),
        })
    }

    /// The most recently changed applications, newest first.
    pub fn recent(&self, limit: u32) -> Result<Vec<Summary>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, tracking_number, service, masked_name, state, outcome, reason, updated_at
             FROM applications ORDER BY updated_at DESC, id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, Option<String>>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, tracking_number, service, masked_name, state, outcome, reason, updated) = row?;
            out.push(Summary {
                id: parse_id(&id)?,
                tracking_number,
                service,
                masked_name,
                state: parse_state(&state)?,
                outcome,
                reason,
                updated_at: parse_time(&updated)?,
            });
        }
        Ok(out)
    }

    /// The oldest application that still has something to send and whose backoff has passed.
    pub fn next_due(&self, now: OffsetDateTime) -> Result<Option<Outgoing>> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM applications
                 WHERE state IN ('queued', 'sending') AND next_attempt_ms <= ?1
                 ORDER BY submitted_at, id LIMIT 1",
                [unix_ms(now)],
                |r| r.get(0),
            )
            .optional()?;
        match id {
            Some(id) => self.outgoing(&parse_id(&id)?).map(Some),
            None => Ok(None),
        }
    }

    /// Every application the county has not acknowledged yet (still to send: `queued` or
    /// `sending`), oldest first, as the sync engine would send them. `kiosk export` writes
    /// these to a USB stick; they stay here and are still sent when the link returns.
    pub fn unacknowledged(&self) -> Result<Vec<Outgoing>> {
        let ids = {
            let mut stmt = self.conn.prepare(
                "SELECT id FROM applications WHERE state IN ('queued', 'sending')
                 ORDER BY submitted_at, id",
            )?;
            stmt.query_map([], |r| r.get::<_, String>(0))?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        ids.iter().map(|id| self.outgoing(&parse_id(id)?)).collect()
    }

    /// Everything the sync engine needs to send one application.
    pub fn outgoing(&self, id: &Uuid) -> Result<Outgoing> {
        let row = self
            .conn
            .query_row(
                "SELECT tracking_number, service, service_version, submitted_at, fields_json,
                        state, attempts, sealed_record, clock_note
                 FROM applications WHERE id = ?1",
                [id.to_string()],
                |r| {
                    Ok((
                        (
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, u32>(2)?,
                            r.get::<_, String>(3)?,
                        ),
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                        r.get::<_, u32>(6)?,
                        r.get::<_, Option<Vec<u8>>>(7)?,
                        r.get::<_, Option<String>>(8)?,
                    ))
                },
            )
            .optional()?
            .ok_or(OutboxError::NotFound(*id))?;
        let (
            (tracking_number, service, service_version, submitted_at),
            fields,
            state,
            attempts,
            sealed_record,
            clock,
        ) = row;
        // A note that does not read is sent as none: the county then takes the date as it is.
        let clock = clock.and_then(|c| serde_json::from_str(&c).ok());
        let fields = serde_json::from_str(&fields)
            .map_err(|e| OutboxError::Corrupt(format!("fields of {id}: {e}")))?;
        let mut stmt = self.conn.prepare(
            "SELECT name, scan, content_type, size, sha256 FROM attachments
             WHERE application_id = ?1 ORDER BY rowid",
        )?;
        let attachments = stmt
            .query_map([id.to_string()], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })?
            .map(|row| {
                let (name, scan, content_type, size, sha256) = row?;
                Ok(OutgoingAttachment {
                    path: self.blob_path(id, &name),
                    name,
                    scan,
                    content_type,
                    size: size.max(0) as u64,
                    sha256,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Outgoing {
            id: *id,
            tracking_number,
            service,
            service_version,
            submitted_at: parse_time(&submitted_at)?,
            fields,
            sealed_record,
            state: parse_state(&state)?,
            attempts,
            clock,
            attachments,
        })
    }

    /// Move an application to `to`, recording the event. Moving to the state it is already
    /// in is a no-op (a retried step after a crash).
    pub fn transition(
        &mut self,
        id: &Uuid,
        to: AppState,
        detail: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        let from = current_state(&tx, id)?;
        if from == to && to != AppState::Decided {
            return Ok(());
        }
        if !from.can_go_to(to) {
            return Err(OutboxError::BadTransition { id: *id, from, to });
        }
        let at = rfc3339(now);
        tx.execute(
            "UPDATE applications SET state = ?2, updated_at = ?3, last_error = NULL,
                 attempts = CASE WHEN ?2 IN ('queued', 'sending') THEN attempts ELSE 0 END
             WHERE id = ?1",
            params![id.to_string(), to.as_str(), at],
        )?;
        event(&tx, id, Some(from), to, &at, detail)?;
        let dropped = drop_payload(&tx, id, to)?;
        tx.commit()?;
        if dropped {
            self.remove_payload_files(id);
        }
        Ok(())
    }

    /// The sealed scans of an application the county has confirmed: deleted after the commit
    /// that dropped its sealed record. A failure here (or a power cut) leaves a directory that
    /// the orphan sweep of the next [`Outbox::open`] removes.
    fn remove_payload_files(&self, id: &Uuid) {
        let dir = self.blobs.join(id.to_string());
        match fs::remove_dir_all(&dir) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(application = %id, error = %e, "delivered scans not deleted yet; the next start removes them");
            }
        }
    }

    /// Retention of the index: delete every trace (row, scans' rows, card-tap keys, events)
    /// of applications handed over at least `keep` before `now` whose hand-over the county
    /// has acknowledged. Returns how many were deleted.
    pub fn forget_handed_over(&mut self, now: OffsetDateTime, keep: time::Duration) -> Result<u32> {
        let tx = self.conn.transaction()?;
        let rows = {
            let mut stmt = tx.prepare(
                "SELECT id, handed_over_at FROM applications
                 WHERE state = 'handed_over' AND handover_sent = 1",
            )?;
            stmt.query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut forgotten = 0;
        for (id, at) in rows {
            // An unreadable time keeps the row: better kept too long than lost early.
            let Some(at) = at.and_then(|a| OffsetDateTime::parse(&a, &Rfc3339).ok()) else {
                continue;
            };
            if at + keep > now {
                continue;
            }
            for table in ["attachments", "people"] {
                tx.execute(
                    &format!("DELETE FROM {table} WHERE application_id = ?1"),
                    [&id],
                )?;
            }
            tx.execute("DELETE FROM events WHERE application_id = ?1", [&id])?;
            tx.execute("DELETE FROM applications WHERE id = ?1", [&id])?;
            forgotten += 1;
        }
        tx.commit()?;
        if forgotten > 0 {
            tracing::info!(
                forgotten,
                "applications handed over long ago removed from the index"
            );
        }
        Ok(forgotten)
    }

    /// Record a county decision: `outcome` is `approved`, `rejected` or `more_papers` (state
    /// `decided`), or `ready` (state `ready`).
    pub fn apply_decision(
        &mut self,
        id: &Uuid,
        outcome: &str,
        reason: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<()> {
        let to = if outcome == "ready" {
            AppState::Ready
        } else {
            AppState::Decided
        };
        let tx = self.conn.transaction()?;
        let from = current_state(&tx, id)?;
        if from == to && to == AppState::Ready {
            return Ok(());
        }
        // A decision can overtake our own delivery bookkeeping (we crashed after the county
        // took the last chunk): the county's word settles it.
        if !(from.can_go_to(to) || from == AppState::Sending) {
            return Err(OutboxError::BadTransition { id: *id, from, to });
        }
        let at = rfc3339(now);
        tx.execute(
            "UPDATE applications SET state = ?2, updated_at = ?3,
                 outcome = CASE WHEN ?4 = 'ready' THEN outcome ELSE ?4 END,
                 reason = CASE WHEN ?4 = 'ready' THEN reason ELSE ?5 END
             WHERE id = ?1",
            params![id.to_string(), to.as_str(), at, outcome, reason],
        )?;
        event(&tx, id, Some(from), to, &at, Some(outcome))?;
        let dropped = drop_payload(&tx, id, to)?;
        tx.commit()?;
        if dropped {
            self.remove_payload_files(id);
        }
        Ok(())
    }

    /// Remember how much of an attachment the county has acknowledged.
    pub fn set_acked(&mut self, id: &Uuid, name: &str, acked: u64) -> Result<()> {
        self.conn.execute(
            "UPDATE attachments SET acked = ?3 WHERE application_id = ?1 AND name = ?2",
            params![id.to_string(), name, acked as i64],
        )?;
        Ok(())
    }

    /// A send attempt failed; try again no earlier than `next_attempt`.
    pub fn record_failure(
        &mut self,
        id: &Uuid,
        error: &str,
        next_attempt: OffsetDateTime,
    ) -> Result<u32> {
        self.conn.execute(
            "UPDATE applications SET attempts = attempts + 1, next_attempt_ms = ?2, last_error = ?3
             WHERE id = ?1",
            params![id.to_string(), unix_ms(next_attempt), error],
        )?;
        self.set_state("last_error", error)?;
        Ok(self.conn.query_row(
            "SELECT attempts FROM applications WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )?)
    }

    /// The county answered: remember when, and clear the last error.
    pub fn record_contact(&mut self, now: OffsetDateTime) -> Result<()> {
        self.set_state("last_contact", &rfc3339(now))?;
        self.conn
            .execute("DELETE FROM sync_state WHERE key = 'last_error'", [])?;
        Ok(())
    }

    /// The county's clock as its last answer gave it (HTTP `Date`), against ours at the
    /// same moment: the station has no real-time clock, so this is how it learns whether its
    /// own time can be trusted.
    pub fn record_county_clock(
        &mut self,
        county: OffsetDateTime,
        local: OffsetDateTime,
    ) -> Result<()> {
        let offset = (county - local).whole_seconds();
        self.set_state("county_clock", &format!("{offset} {}", rfc3339(local)))
    }

    /// `(county minus station, in seconds; when it was seen)`, if the county ever answered.
    pub fn county_clock(&self) -> Result<Option<(i64, OffsetDateTime)>> {
        let Some(v) = self.get_state("county_clock")? else {
            return Ok(None);
        };
        let bad = || OutboxError::Corrupt(format!("county_clock {v:?}"));
        let (offset, at) = v.split_once(' ').ok_or_else(bad)?;
        Ok(Some((offset.parse().map_err(|_| bad())?, parse_time(at)?)))
    }

    /// Keep the station's latest self-test (JSON of `county_api::SelftestReport`) for the
    /// next contact; a newer one replaces one not yet sent.
    pub fn record_selftest(&mut self, report: &str) -> Result<()> {
        self.set_state("selftest_pending", report)
    }

    /// The self-test waiting to be sent, if any.
    pub fn pending_selftest(&self) -> Result<Option<String>> {
        self.get_state("selftest_pending")
    }

    /// The county took `report` (or cannot ever take it): forget it, unless a newer one
    /// arrived meanwhile.
    pub fn selftest_sent(&mut self, report: &str) -> Result<()> {
        self.conn.execute(
            "DELETE FROM sync_state WHERE key = 'selftest_pending' AND value = ?1",
            [report],
        )?;
        Ok(())
    }

    /// A link-level failure that is not tied to one application.
    pub fn record_link_error(&mut self, error: &str) -> Result<()> {
        self.set_state("last_error", error)
    }

    /// The last decision cursor applied.
    pub fn decision_cursor(&self) -> Result<u64> {
        Ok(self
            .get_state("decision_cursor")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    pub fn set_decision_cursor(&mut self, cursor: u64) -> Result<()> {
        self.set_state("decision_cursor", &cursor.to_string())
    }

    /// The event log of one application, oldest first.
    pub fn events(&self, id: &Uuid) -> Result<Vec<Event>> {
        let mut stmt = self.conn.prepare(
            "SELECT at, from_state, to_state, detail FROM events
             WHERE application_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map([id.to_string()], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, Option<String>>(3)?,
            ))
        })?;
        rows.map(|row| {
            let (at, from, to, detail) = row?;
            Ok(Event {
                at: parse_time(&at)?,
                from: from.as_deref().map(parse_state).transpose()?,
                to: parse_state(&to)?,
                detail,
            })
        })
        .collect()
    }

    /// The applications of the person whose keyed ID-number hash is `person_key` (a card
    /// tap), newest first. Nobody else's.
    pub fn for_person(&self, person_key: &str) -> Result<Vec<Summary>> {
        let mut stmt = self.conn.prepare(
            "SELECT a.id FROM applications a JOIN people p ON p.application_id = a.id
             WHERE p.person_key = ?1 ORDER BY a.updated_at DESC, a.id DESC",
        )?;
        let ids = stmt
            .query_map([person_key], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            out.push(self.summary(&parse_id(&id)?)?);
        }
        Ok(out)
    }

    /// The application with this tracking number (as printed on the receipt), if any.
    pub fn by_tracking(&self, tracking_number: &str) -> Result<Option<Summary>> {
        let id: Option<String> = self
            .conn
            .query_row(
                "SELECT id FROM applications WHERE tracking_number = ?1",
                [tracking_number.trim().to_ascii_uppercase()],
                |r| r.get(0),
            )
            .optional()?;
        id.map(|id| self.summary(&parse_id(&id)?)).transpose()
    }

    /// One application's row for the screens.
    pub fn summary(&self, id: &Uuid) -> Result<Summary> {
        let row = self
            .conn
            .query_row(
                "SELECT tracking_number, service, masked_name, state, outcome, reason, updated_at
                 FROM applications WHERE id = ?1",
                [id.to_string()],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        r.get::<_, Option<String>>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, String>(6)?,
                    ))
                },
            )
            .optional()?
            .ok_or(OutboxError::NotFound(*id))?;
        let (tracking_number, service, masked_name, state, outcome, reason, updated) = row;
        Ok(Summary {
            id: *id,
            tracking_number,
            service,
            masked_name,
            state: parse_state(&state)?,
            outcome,
            reason,
            updated_at: parse_time(&updated)?,
        })
    }

    /// The villager collected the result (card tapped at pick-up). Recorded at once and
    /// forwarded to the county by the sync engine. Repeating it changes nothing.
    pub fn record_handover(&mut self, id: &Uuid, now: OffsetDateTime) -> Result<()> {
        let tx = self.conn.transaction()?;
        let from = current_state(&tx, id)?;
        if from == AppState::HandedOver {
            return Ok(());
        }
        if !from.can_go_to(AppState::HandedOver) {
            return Err(OutboxError::BadTransition {
                id: *id,
                from,
                to: AppState::HandedOver,
            });
        }
        let at = rfc3339(now);
        tx.execute(
            "UPDATE applications SET state = 'handed_over', handed_over_at = ?2, updated_at = ?2,
                 handover_sent = 0
             WHERE id = ?1",
            params![id.to_string(), at],
        )?;
        event(&tx, id, Some(from), AppState::HandedOver, &at, None)?;
        tx.commit()?;
        Ok(())
    }

    /// Hand-overs recorded here and not yet acknowledged by the county.
    pub fn pending_handovers(&self) -> Result<Vec<(Uuid, OffsetDateTime)>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, handed_over_at FROM applications
             WHERE state = 'handed_over' AND handover_sent = 0 ORDER BY handed_over_at",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        rows.map(|row| {
            let (id, at) = row?;
            let at = at.ok_or_else(|| OutboxError::Corrupt(format!("hand-over time of {id}")))?;
            Ok((parse_id(&id)?, parse_time(&at)?))
        })
        .collect()
    }

    /// The county acknowledged the hand-over.
    pub fn mark_handover_sent(&mut self, id: &Uuid) -> Result<()> {
        self.conn.execute(
            "UPDATE applications SET handover_sent = 1 WHERE id = ?1",
            [id.to_string()],
        )?;
        Ok(())
    }

    /// The service catalog last pulled from the county: its version and JSON body.
    pub fn catalog(&self) -> Result<Option<(u64, String)>> {
        Ok(self
            .conn
            .query_row("SELECT version, body FROM catalog WHERE id = 1", [], |r| {
                Ok((r.get::<_, i64>(0)?.max(0) as u64, r.get::<_, String>(1)?))
            })
            .optional()?)
    }

    /// Replace the stored catalog (one transaction: the old one stays until the new commits).
    pub fn store_catalog(&mut self, version: u64, body: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO catalog (id, version, body) VALUES (1, ?1, ?2)
             ON CONFLICT (id) DO UPDATE SET version = excluded.version, body = excluded.body",
            params![version as i64, body],
        )?;
        Ok(())
    }

    /// The version of the newest notice stored.
    pub fn notice_version(&self) -> Result<u64> {
        Ok(self
            .get_state("notice_version")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Store pulled notices (JSON bodies) and the stream position, in one transaction.
    pub fn store_notices(&mut self, notices: &[StoredNotice], version: u64) -> Result<()> {
        let tx = self.conn.transaction()?;
        for n in notices {
            tx.execute(
                "INSERT INTO notices (id, version, body, expires_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (id) DO UPDATE SET version = excluded.version,
                     body = excluded.body, expires_at = excluded.expires_at",
                params![n.id as i64, n.version as i64, n.body, n.expires_at],
            )?;
        }
        tx.execute(
            "INSERT INTO sync_state (key, value) VALUES ('notice_version', ?1)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            [version.to_string()],
        )?;
        tx.commit()?;
        Ok(())
    }

    /// Notices still in force at `now`, newest first (JSON bodies as the county sent them).
    pub fn notices(&self, now: OffsetDateTime) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT body, expires_at FROM notices ORDER BY version DESC")?;
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, Option<String>>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (body, expires) = row?;
            // An unreadable expiry keeps the notice: better shown too long than lost.
            let expired = expires
                .and_then(|e| OffsetDateTime::parse(&e, &Rfc3339).ok())
                .is_some_and(|e| e <= now);
            if !expired {
                out.push(body);
            }
        }
        Ok(out)
    }

    fn get_state(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM sync_state WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    fn set_state(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO sync_state (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

/// Drop the sealed record of an application moving to `to` when `to` is past the county's
/// confirmation of receipt. Returns whether the caller must delete its scan files too.
fn drop_payload(tx: &Transaction<'_>, id: &Uuid, to: AppState) -> Result<bool> {
    if matches!(
        to,
        AppState::Queued | AppState::Sending | AppState::Returned
    ) {
        return Ok(false);
    }
    tx.execute(
        "UPDATE applications SET sealed_record = NULL, fields_json = '{}' WHERE id = ?1",
        [id.to_string()],
    )?;
    Ok(true)
}

/// The scans of applications still to be sent (all of them, or only `only`) whose file is
/// missing or has the wrong size, by application.
fn damaged_scans(
    conn: &Connection,
    blobs: &Path,
    only: Option<&Uuid>,
) -> Result<BTreeMap<Uuid, Vec<String>>> {
    let mut stmt = conn.prepare(
        "SELECT t.application_id, t.name, t.size FROM attachments t
         JOIN applications a ON a.id = t.application_id
         WHERE a.state IN ('queued', 'sending') AND (?1 IS NULL OR a.id = ?1)",
    )?;
    let rows = stmt
        .query_map([only.map(Uuid::to_string)], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, i64>(2)?,
            ))
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    let mut damaged: BTreeMap<Uuid, Vec<String>> = BTreeMap::new();
    for (id, name, size) in rows {
        let id = parse_id(&id)?;
        let path = blobs.join(id.to_string()).join(&name);
        let ok = fs::metadata(path).is_ok_and(|m| m.len() == size as u64);
        if !ok {
            damaged.entry(id).or_default().push(name);
        }
    }
    Ok(damaged)
}

fn current_state(tx: &Transaction<'_>, id: &Uuid) -> Result<AppState> {
    let s: String = tx
        .query_row(
            "SELECT state FROM applications WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .optional()?
        .ok_or(OutboxError::NotFound(*id))?;
    parse_state(&s)
}

fn event(
    tx: &Transaction<'_>,
    id: &Uuid,
    from: Option<AppState>,
    to: AppState,
    at: &str,
    detail: Option<&str>,
) -> Result<()> {
    tx.execute(
        "INSERT INTO events (application_id, at, from_state, to_state, detail)
         VALUES (?1, ?2, ?3, ?4, ?5)",
        params![
            id.to_string(),
            at,
            from.map(AppState::as_str),
            to.as_str(),
            detail
        ],
    )?;
    Ok(())
}

/// The blob lock, `blobs.lock` beside the blob directory: [`Outbox::submit`] holds it shared
/// from its first scan file to its commit, the orphan sweep exclusively. An flock(2) lock
/// goes with the open file, so a process that dies (power cut, SIGKILL) releases it.
/// `Ok(None)`: a non-blocking request found the lock taken.
fn blob_lock(blobs: &Path, op: FlockOperation) -> Result<Option<File>> {
    let path = blobs.with_extension("lock");
    let file = File::options()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&path)
        .map_err(blob_err(&path))?;
    match flock(&file, op) {
        Ok(()) => Ok(Some(file)),
        Err(e) if e == rustix::io::Errno::WOULDBLOCK => Ok(None),
        Err(e) => Err(OutboxError::Blob {
            path,
            source: e.into(),
        }),
    }
}

/// What [`Outbox::submit`] stores of an application's personal data: the sealed record and
/// each scan sealed on its own (same order as the scans).
struct Sealed {
    record: Vec<u8>,
    scans: Vec<Vec<u8>>,
}

impl Sealed {
    fn new(app: &NewApplication, county: &sealing::PublicKey) -> Result<Sealed> {
        let id = app.id.to_string();
        let record = county_api::SealedRecord {
            fields: app.fields.clone(),
            attachments: app
                .scans
                .iter()
                .map(|s| county_api::PlainDigest {
                    name: s.name.clone(),
                    size: s.bytes.len() as u64,
                    sha256: hex::encode(Sha256::digest(&s.bytes)),
                })
                .collect(),
        };
        let json = serde_json::to_vec(&record)
            .map_err(|e| OutboxError::Corrupt(format!("sealed record: {e}")))?;
        let record = sealing::seal(county, &sealing::record_context(&id), &json)?;
        let scans = app
            .scans
            .iter()
            .map(|s| sealing::seal(county, &sealing::scan_context(&id, &s.name), &s.bytes))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Sealed { record, scans })
    }
}

/// Write every sealed scan into `dir` and make them durable.
fn write_blobs(dir: &Path, parent: &Path, scans: &[NewScan], sealed: &[Vec<u8>]) -> Result<()> {
    fs::create_dir(dir).map_err(blob_err(dir))?;
    for (scan, bytes) in scans.iter().zip(sealed) {
        let path = dir.join(&scan.name);
        let mut f = File::create(&path).map_err(blob_err(&path))?;
        f.write_all(bytes).map_err(blob_err(&path))?;
        f.sync_all().map_err(blob_err(&path))?;
    }
    sync_dir(dir).map_err(blob_err(dir))?;
    sync_dir(parent).map_err(blob_err(parent))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    /// The county's key pair of these tests.
    fn county_key() -> &'static sealing::PrivateKey {
        static KEY: std::sync::OnceLock<sealing::PrivateKey> = std::sync::OnceLock::new();
        KEY.get_or_init(sealing::PrivateKey::generate)
    }

    fn county() -> sealing::PublicKey {
        county_key().public_key()
    }

    /// What the county reads from a stored scan.
    fn open_scan(id: &Uuid, att: &OutgoingAttachment) -> Vec<u8> {
        let sealed = fs::read(&att.path).unwrap();
        assert_eq!(sealed.len() as u64, att.size);
        assert_eq!(hex::encode(Sha256::digest(&sealed)), att.sha256);
        sealing::open(
            county_key(),
            &sealing::scan_context(&id.to_string(), &att.name),
            &sealed,
        )
        .unwrap()
    }

    fn sample(name: &str) -> NewApplication {
        NewApplication {
            id: Uuid::now_v7(),
            service: "elderly-card".into(),
            service_version: 1,
            fields: BTreeMap::from([("applicant.name".into(), name.into())]),
            masked_name: "张*".into(),
            person_keys: vec![format!("key-of-{name}")],
            scans: vec![
                NewScan {
                    scan: "photo".into(),
                    name: "photo.jpg".into(),
                    content_type: "image/jpeg".into(),
                    bytes: b"\xff\xd8photo".to_vec(),
                },
                NewScan {
                    scan: "household_register".into(),
                    name: "household_register.jpg".into(),
                    content_type: "image/jpeg".into(),
                    bytes: vec![7; 1000],
                },
            ],
            clock: None,
        }
    }

    #[test]
    fn a_damaged_database_page_is_found_by_the_integrity_check() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut ob = Outbox::open(dir.path()).unwrap();
            for i in 0..60 {
                ob.submit(sample(&format!("村民{i}")), &county(), NOW)
                    .unwrap();
            }
            assert_eq!(ob.integrity_problems().unwrap(), Vec::<String>::new());
        }
        // Scribble over one page near the end of the file (table or index content), as a
        // failing SD card does; page 1 (the schema) stays intact.
        let db = dir.path().join("outbox.sqlite3");
        let mut bytes = fs::read(&db).unwrap();
        let page = 4096;
        assert!(bytes.len() >= 4 * page, "{} bytes", bytes.len());
        let start = bytes.len() - 2 * page;
        for (i, b) in bytes[start..start + page].iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(37) ^ 0xA5;
        }
        fs::write(&db, &bytes).unwrap();
        // Either opening refuses with a plain error, or the check names the damage; never a
        // panic, never "ok".
        match Outbox::open(dir.path()) {
            Ok(ob) => match ob.integrity_problems() {
                Ok(problems) => assert!(!problems.is_empty(), "damage not seen"),
                Err(e) => assert!(e.to_string().contains("database"), "{e}"),
            },
            Err(e) => assert!(e.to_string().contains("database"), "{e}"),
        }
    }

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn submit_stores_everything_and_status_counts_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let app = sample("张三");
        let done = ob.submit(app.clone(), &county(), NOW).unwrap();
        assert_eq!(done.id, app.id);
        let out = ob.outgoing(&app.id).unwrap();
        assert_eq!(out.state, AppState::Queued);
        assert!(out.fields.is_empty(), "no plain fields are kept");
        let record = sealing::open(
            county_key(),
            &sealing::record_context(&app.id.to_string()),
            out.sealed_record.as_deref().unwrap(),
        )
        .unwrap();
        let record: county_api::SealedRecord = serde_json::from_slice(&record).unwrap();
        assert_eq!(record.fields, app.fields);
        assert_eq!(
            record.attachments[1].sha256,
            hex::encode(Sha256::digest(vec![7u8; 1000]))
        );
        assert_eq!(out.attachments.len(), 2);
        assert_eq!(open_scan(&app.id, &out.attachments[0]), b"\xff\xd8photo");
        assert_eq!(open_scan(&app.id, &out.attachments[1]), vec![7u8; 1000]);
        // Sealed once: what is sent later is what was stored now.
        assert_eq!(ob.outgoing(&app.id).unwrap(), out);
        let sealed = 1007 + 2 * sealing::OVERHEAD;
        let st = ob.status(NOW + time::Duration::seconds(90)).unwrap();
        assert_eq!(st.counts[&AppState::Queued], 1);
        assert_eq!(st.counts[&AppState::Delivered], 0);
        assert_eq!(st.oldest_waiting_secs, Some(90));
        assert_eq!(st.bytes_waiting, sealed);
        assert_eq!(st.last_contact, None);
        assert_eq!(st.sending, None);
        ob.transition(&app.id, AppState::Sending, None, NOW)
            .unwrap();
        ob.set_acked(&app.id, "household_register.jpg", 600)
            .unwrap();
        let st = ob.status(NOW).unwrap();
        let p = st.sending.unwrap();
        assert_eq!((p.bytes_acked, p.bytes_total), (600, sealed));
        assert_eq!(p.tracking_number, done.tracking_number);
        assert_eq!(st.bytes_waiting, sealed - 600);
    }

    /// Every file of the outbox (database, WAL, blobs), for the stolen-card checks.
    fn all_bytes(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![dir.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d).unwrap().flatten() {
                let p = e.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.push((p.clone(), fs::read(&p).unwrap()));
                }
            }
        }
        out
    }

    fn leaks(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
        all_bytes(dir)
            .into_iter()
            .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle))
            .map(|(p, _)| p)
            .collect()
    }

    /// A stolen SD card: after a submission, nothing on it holds the applicant's name, ID
    /// number or scans; the screens' data (tracking number, masked name) is still there.
    #[test]
    fn a_stolen_card_shows_no_personal_data() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let mut app = sample("欧阳德华");
        app.fields
            .insert("applicant.id_number".into(), "53262719500312003X".into());
        app.fields.insert(
            "applicant.address".into(),
            "云南省文山州广南县坝美村".into(),
        );
        let scan: Vec<u8> = (0..50_000u32).map(|i| (i * 7919 % 251) as u8).collect();
        app.scans[1].bytes = scan.clone();
        // (The samples' fake person keys spell the name; a real one is an HMAC.)
        let person_key = "5e1f".repeat(16);
        app.person_keys = vec![person_key.clone()];
        let done = ob.submit(app.clone(), &county(), NOW).unwrap();
        // Also through a state change and a reopen (WAL checkpoint, events).
        ob.transition(&app.id, AppState::Sending, None, NOW)
            .unwrap();
        drop(ob);
        let ob = Outbox::open(dir.path()).unwrap();
        for needle in [
            "欧阳德华".as_bytes(),
            b"53262719500312003X",
            "坝美村".as_bytes(),
            &scan[1000..1032],
            b"\xff\xd8photo",
        ] {
            assert_eq!(
                leaks(dir.path(), needle),
                Vec::<PathBuf>::new(),
                "{:?} found on the card",
                String::from_utf8_lossy(needle)
            );
        }
        // What the screens need is there, in the clear.
        assert!(!leaks(dir.path(), done.tracking_number.as_bytes()).is_empty());
        assert!(!leaks(dir.path(), "张*".as_bytes()).is_empty());
        assert_eq!(ob.for_person(&person_key).unwrap().len(), 1);
    }

    #[test]
    fn an_application_whose_scan_is_gone_goes_back_to_the_operator_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let lost = ob.submit(sample("甲"), &county(), NOW).unwrap().id;
        let whole = ob.submit(sample("乙"), &county(), NOW).unwrap().id;
        fs::remove_file(ob.blob_path(&lost, "photo.jpg")).unwrap();
        drop(ob);
        let mut ob = Outbox::open(dir.path()).unwrap();
        let s = ob.summary(&lost).unwrap();
        assert_eq!(s.state, AppState::Returned);
        assert!(s.reason.unwrap().contains("photo.jpg"));
        assert_eq!(ob.summary(&whole).unwrap().state, AppState::Queued);
        let events = ob.events(&lost).unwrap();
        assert_eq!(events.last().map(|e| e.to), Some(AppState::Returned));
        // Returned is not looked at again.
        assert_eq!(ob.return_damaged(NOW).unwrap(), 0);
    }

    #[test]
    fn the_payload_is_deleted_once_delivered_and_the_index_after_hand_over() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let id = ob.submit(sample("甲"), &county(), NOW).unwrap().id;
        let kept = ob.submit(sample("乙"), &county(), NOW).unwrap().id;
        ob.transition(&id, AppState::Sending, None, NOW).unwrap();
        assert!(ob.blob_path(&id, "photo.jpg").exists());
        ob.transition(&id, AppState::Delivered, None, NOW).unwrap();
        assert!(!dir.path().join("blobs").join(id.to_string()).exists());
        assert_eq!(ob.outgoing(&id).unwrap().sealed_record, None);
        assert!(ob.outgoing(&kept).unwrap().sealed_record.is_some());
        assert!(ob.blob_path(&kept, "photo.jpg").exists());

        // A crash between the commit and the deletion leaves the directory: the next open
        // removes it, and does not take the delivered application for a damaged one.
        fs::create_dir_all(dir.path().join("blobs").join(id.to_string())).unwrap();
        fs::write(ob.blob_path(&id, "photo.jpg"), b"sealed leftovers").unwrap();
        drop(ob);
        let mut ob = Outbox::open(dir.path()).unwrap();
        assert!(!dir.path().join("blobs").join(id.to_string()).exists());
        assert!(ob.blob_path(&kept, "photo.jpg").exists());
        assert_eq!(ob.summary(&id).unwrap().state, AppState::Delivered);
        assert_eq!(ob.return_damaged(NOW).unwrap(), 0);

        // The index row stays until `keep` after a hand-over the county acknowledged.
        let keep = time::Duration::days(30);
        ob.apply_decision(&id, "approved", None, NOW).unwrap();
        ob.apply_decision(&id, "ready", None, NOW).unwrap();
        let handed = NOW + time::Duration::days(2);
        ob.record_handover(&id, handed).unwrap();
        let much_later = handed + time::Duration::days(365);
        assert_eq!(
            ob.forget_handed_over(much_later, keep).unwrap(),
            0,
            "not acknowledged yet"
        );
        ob.mark_handover_sent(&id).unwrap();
        let tracking = ob.summary(&id).unwrap().tracking_number;
        assert_eq!(
            ob.forget_handed_over(handed + keep - time::Duration::seconds(1), keep)
                .unwrap(),
            0
        );
        assert_eq!(ob.for_person("key-of-甲").unwrap().len(), 1);
        assert_eq!(ob.forget_handed_over(handed + keep, keep).unwrap(), 1);
        assert!(matches!(ob.summary(&id), Err(OutboxError::NotFound(_))));
        assert_eq!(ob.by_tracking(&tracking).unwrap(), None);
        assert!(ob.for_person("key-of-甲").unwrap().is_empty());
        assert!(ob.events(&id).unwrap().is_empty());
        assert_eq!(ob.summary(&kept).unwrap().state, AppState::Queued);
        assert_eq!(ob.status(NOW).unwrap().counts[&AppState::HandedOver], 0);
    }

    /// A corrupt database page: the outbox refuses to open with a fault the operator is
    /// told about, and deletes nothing (the orphan sweep must not take every scan for an
    /// orphan because it cannot read the table).
    #[test]
    fn a_corrupt_database_page_is_reported_and_no_scan_is_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let ids: Vec<Uuid> = {
            let mut ob = Outbox::open(dir.path()).unwrap();
            (0..30)
                .map(|i| {
                    ob.submit(sample(&format!("甲{i}")), &county(), NOW)
                        .unwrap()
                        .id
                })
                .collect()
        };
        let db = dir.path().join("outbox.sqlite3");
        assert!(
            !dir.path().join("outbox.sqlite3-wal").exists()
                || fs::metadata(dir.path().join("outbox.sqlite3-wal"))
                    .unwrap()
                    .len()
                    == 0
        );
        let mut bytes = fs::read(&db).unwrap();
        let page = 4096;
        assert!(bytes.len() > 3 * page, "{} bytes", bytes.len());
        // Keep page 1 (header and schema); scribble over every other page's header.
        for p in (page..bytes.len()).step_by(page) {
            bytes[p..p + 64].copy_from_slice(&[0xA5; 64]);
        }
        fs::write(&db, &bytes).unwrap();
        let err = match Outbox::open(dir.path()) {
            Err(e) => e,
            Ok(ob) => ob.status(NOW).map(|_| ()).unwrap_err(),
        };
        assert_eq!(
            Health::of_error(&err),
            Some(Health::DatabaseCorrupt),
            "{err}"
        );
        for id in &ids {
            assert!(
                dir.path()
                    .join("blobs")
                    .join(id.to_string())
                    .join("photo.jpg")
                    .exists(),
                "the scans of {id} were deleted"
            );
        }
    }

    /// The degraded mode of the appliance: after `open` refused a damaged file, the outbox
    /// is opened read-only and `immutable`. What does not touch the damaged pages is still
    /// served (here the board and card taps: only the `attachments` pages are damaged), a
    /// submission is refused before any scan is written, and the file's bytes never change.
    #[test]
    fn a_damaged_database_is_read_where_it_can_be_and_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let ids: Vec<Uuid> = (0..3)
            .map(|i| {
                ob.submit(sample(&format!("甲{i}")), &county(), NOW)
                    .unwrap()
                    .id
            })
            .collect();
        let roots: Vec<i64> = ob
            .conn
            .prepare("SELECT rootpage FROM sqlite_schema WHERE tbl_name = 'attachments'")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        let pages: i64 = ob
            .conn
            .query_row("PRAGMA page_count", [], |r| r.get(0))
            .unwrap();
        drop(ob);
        let db = dir.path().join("outbox.sqlite3");
        let mut bytes = fs::read(&db).unwrap();
        let page = bytes.len() / pages as usize;
        // Three small applications: each of these b-trees is its root page alone.
        for root in &roots {
            let at = (*root as usize - 1) * page;
            bytes[at..at + 64].copy_from_slice(&[0xA5; 64]);
        }
        fs::write(&db, &bytes).unwrap();

        let err = Outbox::open(dir.path()).map(|_| ()).unwrap_err();
        let fault = Health::of_error(&err).unwrap();
        assert_eq!(fault, Health::DatabaseCorrupt, "{err}");
        let mut ob = Outbox::open_damaged(dir.path(), fault).unwrap();
        assert_eq!(ob.health(), Health::DatabaseCorrupt);
        assert_eq!(ob.recent(10).unwrap().len(), 3, "the board is still read");
        assert_eq!(ob.for_person("key-of-甲1").unwrap()[0].id, ids[1]);
        assert!(ob.status(NOW).is_err(), "counts need the damaged pages");
        let refused = ob.submit(sample("乙"), &county(), NOW).unwrap_err();
        assert!(matches!(
            refused,
            OutboxError::Refused(Health::DatabaseCorrupt)
        ));
        assert_eq!(Health::of_error(&refused), Some(Health::DatabaseCorrupt));
        drop(ob);
        assert_eq!(
            fs::read(&db).unwrap(),
            bytes,
            "the damaged file was written"
        );
        let dirs = fs::read_dir(dir.path().join("blobs")).unwrap().count();
        assert_eq!(dirs, 3, "scans deleted or a refused one written");
    }

    #[test]
    fn a_rejected_submission_leaves_no_trace() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let mut app = sample("李四");
        app.scans[1].name = "photo.jpg".into();
        assert!(matches!(
            ob.submit(app.clone(), &county(), NOW),
            Err(OutboxError::DuplicateName(_))
        ));
        app.scans[1].name = "../escape".into();
        assert!(matches!(
            ob.submit(app.clone(), &county(), NOW),
            Err(OutboxError::BadName(_))
        ));
        // The same id twice: the second insert fails and must not delete the first's scans.
        let ok = sample("王五");
        ob.submit(ok.clone(), &county(), NOW).unwrap();
        let mut dup = sample("王五");
        dup.id = ok.id;
        dup.scans.truncate(1);
        assert!(matches!(
            ob.submit(dup, &county(), NOW),
            Err(OutboxError::AlreadyExists(_))
        ));
        assert_eq!(ob.status(NOW).unwrap().counts[&AppState::Queued], 1);
        assert!(ob.blob_path(&ok.id, "household_register.jpg").exists());
    }

    #[test]
    fn the_clock_note_of_a_capture_is_kept_and_sent_with_it() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let mut app = sample("甲");
        app.clock = Some(county_api::ClockNote {
            confidence: county_api::ClockConfidence::Doubtful,
            county_offset_secs: Some(-7200),
            compared_at: Some("2026-11-25T08:00:00Z".into()),
        });
        let with = ob.submit(app.clone(), &county(), NOW).unwrap().id;
        let without = ob.submit(sample("乙"), &county(), NOW).unwrap().id;
        let record = crate::sync::record(&ob.outgoing(&with).unwrap());
        assert_eq!(record.clock, app.clock);
        assert_eq!(
            crate::sync::record(&ob.outgoing(&without).unwrap()).clock,
            None
        );
    }

    #[test]
    fn orphan_blobs_of_an_uncommitted_submission_are_removed_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let kept = {
            let mut ob = Outbox::open(dir.path()).unwrap();
            ob.submit(sample("甲"), &county(), NOW).unwrap().id
        };
        // What a power cut between writing the scans and the commit leaves behind.
        let orphan = dir.path().join("blobs").join(Uuid::now_v7().to_string());
        fs::create_dir_all(&orphan).unwrap();
        fs::write(orphan.join("x.jpg"), b"half").unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        assert!(!orphan.exists());
        assert!(ob.blob_path(&kept, "photo.jpg").exists());
    }

    #[test]
    fn an_application_whose_scan_vanished_goes_back_to_the_operator_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let (hurt, fine) = {
            let mut ob = Outbox::open(dir.path()).unwrap();
            (
                ob.submit(sample("甲"), &county(), NOW).unwrap().id,
                ob.submit(sample("乙"), &county(), NOW).unwrap().id,
            )
        };
        let path = dir
            .path()
            .join("blobs")
            .join(hurt.to_string())
            .join("photo.jpg");
        fs::write(&path, b"short").unwrap();
        let ob = Outbox::open(dir.path()).unwrap();
        let row = ob.summary(&hurt).unwrap();
        assert_eq!(row.state, AppState::Returned);
        assert!(row.reason.unwrap().contains("photo.jpg"));
        assert_eq!(ob.summary(&fine).unwrap().state, AppState::Queued);
        assert_eq!(ob.next_due(NOW).unwrap().map(|o| o.id), Some(fine));
    }

    #[test]
    fn transitions_are_logged_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let id = ob.submit(sample("甲"), &county(), NOW).unwrap().id;
        ob.transition(&id, AppState::Sending, None, NOW).unwrap();
        ob.transition(&id, AppState::Sending, None, NOW).unwrap();
        assert!(matches!(
            ob.transition(&id, AppState::HandedOver, None, NOW),
            Err(OutboxError::BadTransition { .. })
        ));
        ob.transition(&id, AppState::Delivered, None, NOW).unwrap();
        ob.apply_decision(&id, "approved", None, NOW).unwrap();
        ob.apply_decision(&id, "ready", None, NOW).unwrap();
        ob.apply_decision(&id, "ready", None, NOW).unwrap();
        let to: Vec<AppState> = ob.events(&id).unwrap().into_iter().map(|e| e.to).collect();
        use AppState::*;
        assert_eq!(to, [Queued, Sending, Delivered, Decided, Ready]);
        let row = &ob.recent(10).unwrap()[0];
        assert_eq!(row.state, AppState::Ready);
        assert_eq!(row.outcome.as_deref(), Some("approved"));
    }

    #[test]
    fn a_card_tap_finds_only_that_persons_applications_and_hand_over_is_queued_once() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let mine = ob.submit(sample("甲"), &county(), NOW).unwrap().id;
        let _other = ob.submit(sample("乙"), &county(), NOW).unwrap().id;
        let found: Vec<Uuid> = ob
            .for_person("key-of-甲")
            .unwrap()
            .iter()
            .map(|s| s.id)
            .collect();
        assert_eq!(found, [mine]);
        assert!(ob.for_person("key-of-nobody").unwrap().is_empty());

        // Not ready yet: no hand-over.
        assert!(matches!(
            ob.record_handover(&mine, NOW),
            Err(OutboxError::BadTransition { .. })
        ));
        ob.transition(&mine, AppState::Sending, None, NOW).unwrap();
        ob.transition(&mine, AppState::Delivered, None, NOW)
            .unwrap();
        ob.apply_decision(&mine, "approved", None, NOW).unwrap();
        ob.apply_decision(&mine, "ready", None, NOW).unwrap();
        let later = NOW + time::Duration::hours(50);
        ob.record_handover(&mine, later).unwrap();
        ob.record_handover(&mine, later + time::Duration::hours(1))
            .unwrap();
        assert_eq!(ob.pending_handovers().unwrap(), [(mine, later)]);
        ob.mark_handover_sent(&mine).unwrap();
        assert!(ob.pending_handovers().unwrap().is_empty());
        assert_eq!(ob.summary(&mine).unwrap().state, AppState::HandedOver);
        let tracking = ob.summary(&mine).unwrap().tracking_number;
        let found = ob.by_tracking(&tracking.to_lowercase()).unwrap().unwrap();
        assert_eq!(found.id, mine);
        assert_eq!(ob.by_tracking("000000-0000-0000").unwrap(), None);
    }

    #[test]
    fn catalog_and_notices_are_kept_and_expired_notices_hidden() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        assert_eq!(ob.catalog().unwrap(), None);
        ob.store_catalog(3, "{\"v\":3}").unwrap();
        ob.store_catalog(4, "{\"v\":4}").unwrap();
        assert_eq!(ob.catalog().unwrap(), Some((4, "{\"v\":4}".into())));
        assert_eq!(ob.notice_version().unwrap(), 0);
        let n = |id: u64, exp: Option<&str>| StoredNotice {
            id,
            version: id + 10,
            body: format!("notice {id}"),
            expires_at: exp.map(str::to_string),
        };
        ob.store_notices(
            &[
                n(1, None),
                n(2, Some("2026-11-01T00:00:00Z")),
                n(3, Some("2027-01-01T00:00:00Z")),
            ],
            13,
        )
        .unwrap();
        assert_eq!(ob.notice_version().unwrap(), 13);
        assert_eq!(ob.notices(NOW).unwrap(), ["notice 3", "notice 1"]);
    }

    /// Regression (found by the crash test): an outbox opening (the daemon restarting,
    /// `kiosk status`) while `kiosk submit` in another process was between its first scan
    /// file and its commit took that directory for the leftovers of a power cut and deleted
    /// it; the submission then failed ("a scan could not be saved"), or committed an
    /// application whose scans were gone.
    #[test]
    fn an_open_beside_a_submission_in_flight_keeps_its_scans() {
        use std::sync::atomic::{AtomicBool, Ordering};
        let dir = tempfile::tempdir().unwrap();
        Outbox::open(dir.path()).unwrap();
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            s.spawn(|| {
                while !stop.load(Ordering::SeqCst) {
                    Outbox::open(dir.path()).unwrap();
                }
            });
            let mut ob = Outbox::open(dir.path()).unwrap();
            let results: Vec<_> = (0..40)
                .map(|_| ob.submit(sample("甲"), &county(), NOW))
                .collect();
            stop.store(true, Ordering::SeqCst);
            for r in results {
                r.unwrap();
            }
        });
        let ob = Outbox::open(dir.path()).unwrap();
        assert_eq!(ob.status(NOW).unwrap().counts[&AppState::Queued], 40);
        // Orphans are still swept once no submission is in flight.
        let orphan = dir.path().join("blobs").join(Uuid::now_v7().to_string());
        fs::create_dir_all(&orphan).unwrap();
        drop(Outbox::open(dir.path()).unwrap());
        assert!(!orphan.exists());
    }

    #[test]
    fn backoff_hides_an_application_until_its_time() {
        let dir = tempfile::tempdir().unwrap();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let id = ob.submit(sample("甲"), &county(), NOW).unwrap().id;
        assert_eq!(ob.next_due(NOW).unwrap().map(|o| o.id), Some(id));
        let later = NOW + time::Duration::seconds(30);
        assert_eq!(
            ob.record_failure(&id, "county unreachable", later).unwrap(),
            1
        );
        assert_eq!(ob.next_due(NOW).unwrap(), None);
        assert_eq!(ob.next_due(later).unwrap().map(|o| o.id), Some(id));
        assert_eq!(
            ob.status(NOW).unwrap().last_error.as_deref(),
            Some("county unreachable")
        );
        ob.record_contact(later).unwrap();
        let st = ob.status(later).unwrap();
        assert_eq!(st.last_error, None);
        assert_eq!(st.last_contact, Some(later));
    }
}
