//! The outbox's health: what a storage failure means for the operator and the fault LED.
//!
//! [`Health::of_error`] classifies an [`OutboxError`] (an I/O error of a scan file, an
//! SQLite error code); [`probe`] looks at the file system under the data directory (free
//! space, read-only mount) so a process that has not failed yet (`kiosk status`, the
//! screen before a submission) sees the fault too. Each state has one bilingual sentence
//! for the operator. Nothing here changes data.

use std::path::Path;

use crate::outbox::OutboxError;

/// Below this much free space a submission (six scans) would likely fail half-way.
pub const LOW_SPACE_BYTES: u64 = 8 * 1024 * 1024;

/// The health of the station's storage, worst first in [`Health::worst`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Health {
    Ok,
    /// No room for new applications; what is stored is kept and still sent.
    StorageFull,
    /// The storage was remounted read-only (the kernel saw errors): nothing new can be kept.
    ReadOnly,
    /// The storage answers with I/O errors.
    StorageFailing,
    /// The local database is damaged.
    DatabaseCorrupt,
}

impl Health {
    pub fn as_str(self) -> &'static str {
        match self {
            Health::Ok => "ok",
            Health::StorageFull => "storage_full",
            Health::ReadOnly => "read_only",
            Health::StorageFailing => "storage_failing",
            Health::DatabaseCorrupt => "database_corrupt",
        }
    }

    /// What the operator reads: (Chinese, English).
    pub fn message(self) -> (&'static str, &'static str) {
        match self {
            Health::Ok => ("存储正常", "storage is fine"),
            Health::StorageFull => (
                "存储空间已满，新申请无法保存；已保存的申请不受影响，会继续发送。请联系技术员。",
                "the storage is full: new applications cannot be saved; those already saved are safe and still sent. Call the technician.",
            ),
            Health::ReadOnly => (
                "存储卡变为只读，新申请无法保存；已保存的申请仍可查询。请联系技术员更换存储卡。",
                "the storage became read-only: new applications cannot be saved; saved ones can still be looked up. Call the technician to replace the card.",
            ),
            Health::StorageFailing => (
                "存储卡读写出错，新申请可能无法保存。请联系技术员。",
                "the storage reports read/write errors: new applications may not be saved. Call the technician.",
            ),
            Health::DatabaseCorrupt => (
                "本机数据库已损坏，新申请暂时不能保存；已保存的申请和扫描件都没有删除。请不要关机，联系技术支持恢复。",
                "the local database is damaged: new applications cannot be saved for now; nothing stored was deleted. Do not switch off; call support to recover it.",
            ),
        }
    }

    /// The storage fault an error reveals, if it is one (a bad scan name is not).
    pub fn of_error(e: &OutboxError) -> Option<Health> {
        match e {
            OutboxError::Blob { source, .. } => Some(of_io(source)),
            OutboxError::Database(e) => of_sqlite(e),
            OutboxError::Open(sqlite_open::OpenError::Sqlite(e)) => of_sqlite(e),
            OutboxError::Corrupt(_) => Some(Health::DatabaseCorrupt),
            OutboxError::Refused(h) => Some(*h),
            _ => None,
        }
    }

    pub fn worst(self, other: Health) -> Health {
        self.max(other)
    }
}

fn of_io(e: &std::io::Error) -> Health {
    use std::io::ErrorKind;
    match e.kind() {
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded => Health::StorageFull,
        ErrorKind::ReadOnlyFilesystem => Health::ReadOnly,
        _ => Health::StorageFailing,
    }
}

fn of_sqlite(e: &rusqlite::Error) -> Option<Health> {
    use rusqlite::ErrorCode;
    let rusqlite::Error::SqliteFailure(f, _) = e else {
        return None;
    };
    Some(match f.code {
        ErrorCode::DiskFull => Health::StorageFull,
        ErrorCode::ReadOnly => Health::ReadOnly,
        ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => Health::DatabaseCorrupt,
        ErrorCode::SystemIoFailure | ErrorCode::CannotOpen => Health::StorageFailing,
        _ => return None,
    })
}

/// What the file system under `dir` says now: read-only, or less than
/// [`LOW_SPACE_BYTES`] free. `Ok` when it cannot tell.
pub fn probe(dir: &Path) -> Health {
    match rustix::fs::statvfs(dir) {
        Ok(st) if st.f_flag.contains(rustix::fs::StatVfsMountFlags::RDONLY) => Health::ReadOnly,
        Ok(st) if st.f_bavail.saturating_mul(st.f_frsize.max(1)) < LOW_SPACE_BYTES => {
            Health::StorageFull
        }
        _ => Health::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_classified_and_every_state_speaks_both_languages() {
        let io = |kind| OutboxError::Blob {
            path: "x".into(),
            source: std::io::Error::from(kind),
        };
        use std::io::ErrorKind;
        let sqlite = |code: i32| {
            OutboxError::Database(rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(code),
                None,
            ))
        };
        let cases = [
            (io(ErrorKind::StorageFull), Some(Health::StorageFull)),
            (io(ErrorKind::ReadOnlyFilesystem), Some(Health::ReadOnly)),
            (io(ErrorKind::Other), Some(Health::StorageFailing)),
            (
                sqlite(rusqlite::ffi::SQLITE_FULL),
                Some(Health::StorageFull),
            ),
            (
                sqlite(rusqlite::ffi::SQLITE_READONLY),
                Some(Health::ReadOnly),
            ),
            (
                sqlite(rusqlite::ffi::SQLITE_CORRUPT),
                Some(Health::DatabaseCorrupt),
            ),
            (
                sqlite(rusqlite::ffi::SQLITE_NOTADB),
                Some(Health::DatabaseCorrupt),
            ),
            (
                sqlite(rusqlite::ffi::SQLITE_IOERR),
                Some(Health::StorageFailing),
            ),
            (sqlite(rusqlite::ffi::SQLITE_BUSY), None),
            (OutboxError::BadName("x".into()), None),
        ];
        for (e, expected) in cases {
            assert_eq!(Health::of_error(&e), expected, "{e}");
        }
        for h in [
            Health::Ok,
            Health::StorageFull,
            Health::ReadOnly,
            Health::StorageFailing,
            Health::DatabaseCorrupt,
        ] {
            let (zh, en) = h.message();
            assert!(!zh.is_ascii() && en.is_ascii(), "{h:?}");
        }
        assert_eq!(
            Health::StorageFull.worst(Health::DatabaseCorrupt),
            Health::DatabaseCorrupt
        );
    }
}
