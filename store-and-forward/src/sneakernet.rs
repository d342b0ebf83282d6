//! Sneakernet, the station's half: applications out to a USB stick when the link is gone
//! for weeks ([`export`]), the county's decisions back in from one ([`import`]).
//!
//! Key decision: a bundle carries exactly what the sync engine would send (the same
//! [`county_api::SubmitApplication`] record, the same sealed scan bytes), and what comes back
//! is applied through the same code as decisions pulled over the link. So the county's
//! idempotent intake treats a bundle and a later upload as the same submission, and an
//! imported decision is indistinguishable from a pulled one. The container is
//! [`county_api::bundle`]; the signatures are `sealing::sign` (Ed25519).
//!
//! Exported applications stay in the outbox, unchanged: they are still sent when the link
//! returns (the county answers "already received"), until a decisions bundle or the link
//! says the county holds them.

use std::io::Read;
use std::path::{Path, PathBuf};

use county_api::bundle::{self, ApplicationsHeader, DecisionsHeader, SaveError, Writer};
use sealing::sign::SigningKey;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::outbox::{Outbox, OutboxError};
use crate::state::AppState;
use crate::sync;

/// What [`export`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    pub path: PathBuf,
    pub applications: usize,
    /// The bundle's size in bytes.
    pub bytes: u64,
}

/// Why an export did not happen. Nothing was written under a bundle's name.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error(
        "申请 {tracking} 的扫描件 {name} 缺失或已损坏，未导出 / the scan {name} of application {tracking} is missing or damaged; nothing was exported ({detail})"
    )]
    Scan {
        tracking: String,
        name: String,
        detail: String,
    },
    #[error(transparent)]
    Save(#[from] SaveError),
}

/// Write every application the county has not acknowledged into one signed bundle in
/// `dir`; `None` when there is nothing to export (no file is written).
pub fn export(
    outbox: &Outbox,
    station_id: &str,
    key: &SigningKey,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<Option<Exported>, ExportError> {
    let waiting = outbox.unacknowledged()?;
    if waiting.is_empty() {
        return Ok(None);
    }
    // Every scan is checked before the stick is touched.
    for app in &waiting {
        for att in &app.attachments {
            let len = std::fs::metadata(&att.path).map(|m| m.len());
            if len.as_ref().ok() != Some(&att.size) {
                return Err(ExportError::Scan {
                    tracking: app.tracking_number.clone(),
                    name: att.name.clone(),
                    detail: match len {
                        Ok(n) => format!("{n} bytes on disk, {} expected", att.size),
                        Err(e) => e.to_string(),
                    },
                });
            }
        }
    }
    let header = ApplicationsHeader {
        station_id: station_id.to_owned(),
        created_at: now.format(&Rfc3339).unwrap_or_default(),
        applications: waiting.iter().map(sync::record).collect(),
    };
    let name = bundle::file_name(station_id, now);
    let (path, bytes) = bundle::save(dir, &name, |out| {
        let mut w = Writer::new(out, &header)?;
        let mut buf = vec![0u8; 256 * 1024];
        for app in &waiting {
            for att in &app.attachments {
                let mut file = std::fs::File::open(&att.path)?;
                loop {
                    let n = file.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    w.blob(&buf[..n])?;
                }
            }
        }
        let (_, size) = w.finish(|context, digest| key.sign_digest(context, digest))?;
        Ok(size)
    })?;
    tracing::info!(applications = waiting.len(), bytes, path = %path.display(), "bundle exported");
    Ok(Some(Exported {
        path,
        applications: waiting.len(),
        bytes,
    }))
}

/// What [`import`] changed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Imported {
    /// Applications the county holds that were still waiting here: now `delivered`, no
    /// longer exported or sent.
    pub received: u32,
    /// Decisions past the stored cursor, applied.
    pub decisions: u32,
    /// Applications the bundle names that this station does not (or no longer) know.
    pub unknown: u32,
}

/// Apply a verified decisions bundle: mark what the county holds as delivered, then the
/// decisions past the stored cursor, through the link's own path. Importing the same
/// bundle again (or after the link brought the same) changes nothing.
pub fn import(
    outbox: &mut Outbox,
    header: &DecisionsHeader,
    now: OffsetDateTime,
) -> Result<Imported, OutboxError> {
    let mut done = Imported::default();
    for id in &header.received {
        let state = match outbox.summary(id) {
            Ok(s) => s.state,
            Err(OutboxError::NotFound(_)) => {
                done.unknown += 1;
                continue;
            }
            Err(e) => return Err(e),
        };
        let detail = Some("县平台的 U 盘回执 / confirmed by the county's USB bundle");
        if state == AppState::Queued {
            outbox.transition(id, AppState::Sending, detail, now)?;
        }
        if matches!(state, AppState::Queued | AppState::Sending) {
            outbox.transition(id, AppState::Delivered, detail, now)?;
            done.received += 1;
        }
    }
    let after = outbox.decision_cursor()?;
    let fresh: Vec<_> = header
        .decisions
        .iter()
        .filter(|d| d.cursor > after)
        .cloned()
        .collect();
    done.decisions = sync::apply_decisions(outbox, &fresh, now)?;
    if let Some(last) = fresh.iter().map(|d| d.cursor).max() {
        outbox.set_decision_cursor(last)?;
    }
    Ok(done)
}
