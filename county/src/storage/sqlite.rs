//! [`Storage`] on one SQLite file: one writing connection behind a mutex (writes are
//! serialised at the database) and a pool of read-only ones (`PRAGMA query_only`) for the
//! reads that stand alone — a station's polls, the credential check, the review pages —
//! which under WAL see every committed write and never wait for the writer. The SQL itself
//! lives with its subject (`store`, `catalog`, `selftests`, `sms`, `review::db`).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Condvar, Mutex, PoisonError};

use county_api::{
    AttachmentStatus, Decision, DecisionKind, DecisionPage, I18nText, NoticePage, SelftestReport,
    SubmissionReceipt,
};
use kiosk_domain::ServiceDefinition;
use rusqlite::Connection;
use uuid::Uuid;

use super::{Credential, HandedOver, NoticeRow, Revocation, Submitted};
use super::{NewApplication, SmsAttempt, StationKeys, Storage};
use crate::catalog::{self, Published, PublishedInfo};
use crate::review::db::{self, Detail, QueueGroup, QueueRow, StationRow};
use crate::sms::{self, QueuedSms};
use crate::store;
use crate::{ApplicationSummary, CountyError};

/// How many read-only connections the server keeps (the polls' parallelism; the machine
/// this runs on has few cores, and a read holds its connection for microseconds).
pub(crate) const SERVER_READERS: usize = 4;

/// The SQLite backend (see the module docs).
pub(crate) struct SqliteStorage {
    writer: Mutex<Connection>,
    /// Idle read-only connections; empty for a CLI command, whose reads use the writer.
    idle: Mutex<Vec<Connection>>,
    /// Signalled when a reader goes back to `idle`.
    returned: Condvar,
    readers: usize,
}

impl SqliteStorage {
    /// Open (creating and migrating if needed) the database of a data directory, with
    /// `readers` read-only connections beside the writer (0 for a one-shot command).
    pub(crate) fn open(data_dir: &Path, readers: usize) -> Result<SqliteStorage, CountyError> {
        let writer = store::open(data_dir)?;
        let idle = (0..readers)
            .map(|_| store::open_reader(data_dir))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(SqliteStorage {
            writer: Mutex::new(writer),
            idle: Mutex::new(idle),
            returned: Condvar::new(),
            readers,
        })
    }

    /// A migrated in-memory database (tests of pure rules that need a catalog).
    #[cfg(test)]
    pub(crate) fn in_memory() -> SqliteStorage {
        let mut conn = Connection::open_in_memory().unwrap();
        store::migrations().to_latest(&mut conn).unwrap();
        SqliteStorage {
            writer: Mutex::new(conn),
            idle: Mutex::new(Vec::new()),
            returned: Condvar::new(),
            readers: 0,
        }
    }

    /// Run `f` on the one writing connection.
    pub(crate) fn write<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, CountyError>,
    ) -> Result<T, CountyError> {
        // A panic while holding the lock cannot leave a half-written transaction behind
        // (rusqlite rolls back on drop), so a poisoned lock is safe to take over.
        let mut conn = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        f(&mut conn)
    }

    /// Run `f` on an idle read-only connection (waiting for one), or on the writer when
    /// this storage keeps none.
    fn read<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, CountyError>,
    ) -> Result<T, CountyError> {
        if self.readers == 0 {
            return self.write(f);
        }
        let mut conn = {
            let mut idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(conn) = idle.pop() {
                    break conn;
                }
                idle = self
                    .returned
                    .wait(idle)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        let result = f(&mut conn);
        self.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(conn);
        self.returned.notify_one();
        result
    }
}

impl Storage for SqliteStorage {
    fn add_station(
        &self,
        name: &str,
        url: &str,
        token_sha256: &str,
        now: &str,
    ) -> Result<String, CountyError> {
        self.write(|c| store::add_station(c, name, url, token_sha256, now))
    }

    fn enrol(
        &self,
        station_id: &str,
        token_sha256: &str,
        credential_sha256: &str,
        signing_public_key: Option<&str>,
        now: &str,
    ) -> Result<Option<String>, CountyError> {
        self.write(|c| {
            store::enrol(
                c,
                station_id,
                token_sha256,
                credential_sha256,
                signing_public_key,
                now,
            )
        })
    }

    fn authenticate(&self, credential_sha256: &str) -> Result<Credential, CountyError> {
        self.read(|c| store::authenticate(c, credential_sha256))
    }

    fn record_contacts(&self, contacts: &[(String, String)]) -> Result<(), CountyError> {
        self.write(|c| store::record_contacts(c, contacts))
    }

    fn revoke_station(&self, station_id: &str, now: &str) -> Result<Revocation, CountyError> {
        self.write(|c| store::revoke_station(c, station_id, now))
    }

    fn station_keys(&self, station_id: &str) -> Result<Option<StationKeys>, CountyError> {
        self.read(|c| store::station_keys(c, station_id))
    }

    fn submit(
        &self,
        station: &str,
        new: &NewApplication<'_>,
        now: &str,
    ) -> Result<Submitted, CountyError> {
        self.write(|c| {
            store::submit(
                c,
                station,
                new.application,
                new.wire,
                new.body,
                new.body_sha256,
                now,
            )
        })
    }

    fn receipt(&self, station: &str, id: Uuid) -> Result<Option<SubmissionReceipt>, CountyError> {
        self.read(|c| store::receipt(c, station, id))
    }

    fn attachment(
        &self,
        station: &str,
        id: Uuid,
        name: &str,
    ) -> Result<Option<AttachmentStatus>, CountyError> {
        self.read(|c| store::attachment(c, station, id, name))
    }

    fn plain_digest(&self, id: Uuid, name: &str) -> Result<Option<(u64, String)>, CountyError> {
        self.read(|c| store::plain_digest(c, id, name))
    }

    fn set_received(&self, id: Uuid, name: &str, received: u64) -> Result<(), CountyError> {
        self.write(|c| store::set_received(c, id, name, received))
    }

    fn complete_attachment(
        &self,
        station: &str,
        id: Uuid,
        name: &str,
        now: &str,
    ) -> Result<(), CountyError> {
        self.write(|c| store::complete_attachment(c, station, id, name, now))
    }

    fn record_import(
        &self,
        station: &str,
        id: Uuid,
        file_name: &str,
        now: &str,
    ) -> Result<(), CountyError> {
        self.write(|c| {
            let tx = c.transaction()?;
            store::audit(
                &tx,
                now,
                &format!("station:{station}"),
                "bundle_import",
                Some(id),
                Some(file_name),
            )?;
            tx.commit()?;
            Ok(())
        })
    }

    fn received_applications(&self, station: &str) -> Result<Vec<Uuid>, CountyError> {
        self.read(|c| store::received_applications(c, station))
    }

    fn hand_over(
        &self,
        station: &str,
        id: Uuid,
        handed_over_at: &str,
        now: &str,
    ) -> Result<HandedOver, CountyError> {
        self.write(|c| store::hand_over(c, station, id, handed_over_at, now))
    }

    fn decisions(
        &self,
        station: &str,
        after: u64,
        limit: u32,
    ) -> Result<DecisionPage, CountyError> {
        self.read(|c| store::decisions(c, station, after, limit))
    }

    fn ack(&self, station: &str, cursor: u64) -> Result<bool, CountyError> {
        self.write(|c| store::ack(c, station, cursor))
    }

    fn decide(
        &self,
        id: Uuid,
        kind: DecisionKind,
        reason: Option<&str>,
        clerk: &str,
        now: &str,
    ) -> Result<Decision, CountyError> {
        self.write(|c| store::decide(c, id, kind, reason, clerk, now))
    }

    fn list_applications(&self) -> Result<Vec<ApplicationSummary>, CountyError> {
        self.read(|c| store::list_applications(c))
    }

    fn notices(&self, station: &str, after: u64) -> Result<NoticePage, CountyError> {
        self.read(|c| store::notices(c, station, after))
    }

    fn publish_notice(
        &self,
        title: &I18nText,
        body: &I18nText,
        stations: &[String],
        expires_at: Option<&str>,
        by: &str,
        now: &str,
    ) -> Result<Vec<NoticeRow>, CountyError> {
        self.write(|c| store::publish_notice(c, title, body, stations, expires_at, by, now))
    }

    fn list_notices(&self) -> Result<Vec<NoticeRow>, CountyError> {
        self.read(|c| store::list_notices(c))
    }

    fn catalog_version(&self) -> Result<u64, CountyError> {
        self.read(|c| catalog::current_version(c))
    }

    fn catalog_json(&self) -> Result<(u64, String), CountyError> {
        self.read(|c| catalog::current_json(c))
    }

    fn publish_catalog(
        &self,
        services: Vec<ServiceDefinition>,
        params: Option<BTreeMap<String, i64>>,
        by: &str,
        now: &str,
    ) -> Result<Published, CountyError> {
        self.write(|c| catalog::store_publication(c, services, params, by, now))
    }

    fn show_catalog(&self) -> Result<PublishedInfo, CountyError> {
        self.read(|c| catalog::show(c))
    }

    fn service_ids(&self) -> Result<Vec<String>, CountyError> {
        self.read(|c| catalog::service_ids(c))
    }

    fn service_revision(
        &self,
        id: &str,
        version: u32,
    ) -> Result<Option<ServiceDefinition>, CountyError> {
        self.read(|c| catalog::revision(c, id, version))
    }

    fn service_versions(&self, id: &str) -> Result<Vec<u32>, CountyError> {
        self.read(|c| catalog::versions(c, id))
    }

    fn param_sets(&self) -> Result<Vec<BTreeMap<String, i64>>, CountyError> {
        self.read(|c| catalog::param_sets(c))
    }

    fn record_selftest(
        &self,
        station: &str,
        report: &SelftestReport,
        checked_at: time::OffsetDateTime,
        now: time::OffsetDateTime,
    ) -> Result<(), CountyError> {
        self.write(|c| crate::selftests::record(c, station, report, checked_at, now))
    }

    fn add_clerk(&self, name: &str, password_hash: &str, now: &str) -> Result<bool, CountyError> {
        self.write(|c| db::add_clerk(c, name, password_hash, now))
    }

    fn clerk_login(&self, name: &str, since: &str) -> Result<(u64, Option<String>), CountyError> {
        self.write(|c| {
            let failures = db::failed_logins_since(c, name, since)?;
            Ok((failures, db::clerk_password(c, name)?))
        })
    }

    fn record_failed_login(&self, name: &str, now: &str) -> Result<(), CountyError> {
        self.write(|c| db::record_failed_login(c, name, now))
    }

    fn create_session(
        &self,
        token_sha256: &str,
        clerk: &str,
        csrf_token: &str,
        now: &str,
        expires_at: &str,
    ) -> Result<(), CountyError> {
        self.write(|c| db::create_session(c, token_sha256, clerk, csrf_token, now, expires_at))
    }

    fn session(
        &self,
        token_sha256: &str,
        now: &str,
    ) -> Result<Option<(String, String)>, CountyError> {
        self.read(|c| db::session(c, token_sha256, now))
    }

    fn delete_session(
        &self,
        token_sha256: &str,
        clerk: &str,
        now: &str,
    ) -> Result<(), CountyError> {
        self.write(|c| db::delete_session(c, token_sha256, clerk, now))
    }

    fn queue_groups(&self) -> Result<Vec<QueueGroup>, CountyError> {
        self.read(|c| db::queue_groups(c))
    }

    fn queue(
        &self,
        station: Option<&str>,
        service: Option<&str>,
    ) -> Result<Vec<QueueRow>, CountyError> {
        self.read(|c| db::queue(c, station, service))
    }

    fn application(&self, id: Uuid) -> Result<Option<Detail>, CountyError> {
        self.read(|c| db::application(c, id))
    }

    fn scan(&self, id: Uuid, name: &str) -> Result<Option<(String, String)>, CountyError> {
        self.read(|c| db::scan(c, id, name))
    }

    fn stations(&self) -> Result<Vec<StationRow>, CountyError> {
        self.read(|c| db::stations(c))
    }

    fn sms_due(&self, now: &str) -> Result<Option<QueuedSms>, CountyError> {
        self.read(|c| sms::due(c, now))
    }

    fn sms_attempted(&self, attempt: &SmsAttempt<'_>) -> Result<(), CountyError> {
        self.write(|c| sms::attempted(c, attempt))
    }

    fn sms_counts(&self) -> Result<(u64, u64), CountyError> {
        self.read(|c| sms::counts(c))
    }
}
