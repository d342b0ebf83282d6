//! Open a durable SQLite file the way both the station and the county need it.
//!
//! Key decision: several processes may open the same fresh file at the same moment (the
//! appliance daemon and `kiosk submit`; `county serve` and a clerk command), so opening must
//! be safe against that race, not just correct alone:
//! - switching a fresh file to WAL needs an exclusive lock and SQLite answers "locked"
//!   without waiting: retried a few times;
//! - migrations take the write lock up front (`BEGIN IMMEDIATE`), and a process that finds
//!   the work already done by the other counts that as success.
//!
//! PRAGMAs are set outside the migrations (they are per connection or per file):
//! `journal_mode=WAL`, `synchronous=FULL`, `foreign_keys=ON`, `busy_timeout` 5 s.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};
use rusqlite_migration::Migrations;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    /// One line, without the SQL text.
    #[error("the schema could not be brought up to date: {0}")]
    Migration(String),
}

/// Open `path` (created if missing), configure it and run `migrations` to the latest step.
pub fn open(path: &Path, migrations: &Migrations<'_>) -> Result<Connection, OpenError> {
    let mut conn = Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(5))?;
    let mut attempt = 0;
    loop {
        match configure(&conn) {
            Ok(()) => break,
            Err(e) if is_busy(&e) && attempt < 20 => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(10 * attempt));
            }
            Err(e) => return Err(e.into()),
        }
    }
    migrate(&mut conn, migrations)?;
    Ok(conn)
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    let mode: String =
        conn.pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // A file system without shared memory (rare): SQLite keeps its rollback journal,
        // which is still crash-safe with synchronous=FULL, only slower.
        eprintln!("warning: SQLite refused WAL mode for this file (journal_mode = {mode})");
    }
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

fn migrate(conn: &mut Connection, migrations: &Migrations<'_>) -> Result<(), OpenError> {
    conn.set_transaction_behavior(TransactionBehavior::Immediate);
    let mut attempt = 0;
    let result = loop {
        match migrations.to_latest(conn) {
            Ok(()) => break Ok(()),
            Err(e) => {
                if migrations.pending_migrations(conn).is_ok_and(|n| n == 0) {
                    break Ok(());
                }
                attempt += 1;
                if attempt >= 5 {
                    break Err(OpenError::Migration(match e {
                        rusqlite_migration::Error::RusqliteError { err, .. } => err.to_string(),
                        other => other.to_string(),
                    }));
                }
                std::thread::sleep(Duration::from_millis(50 * attempt));
            }
        }
    };
    conn.set_transaction_behavior(TransactionBehavior::Deferred);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite_migration::M;

    fn migrations() -> Migrations<'static> {
        Migrations::new(vec![
            M::up("CREATE TABLE a (x INTEGER) STRICT;"),
            M::up("CREATE TABLE b (y INTEGER) STRICT;"),
        ])
    }

    #[test]
    fn settings_and_schema_are_applied() {
        let dir = tempfile::tempdir().unwrap();
        let conn = open(&dir.path().join("db"), &migrations()).unwrap();
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        conn.execute("INSERT INTO b (y) VALUES (1)", []).unwrap();
    }

    /// Regression: two processes opening a fresh file at once both ran the first migration,
    /// and the second failed with "table already exists".
    #[test]
    fn many_openers_of_a_fresh_file_all_succeed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let path = path.clone();
                std::thread::spawn(move || open(&path, &migrations()).map(|_| ()))
            })
            .collect();
        for t in threads {
            t.join().unwrap().unwrap();
        }
    }
}
