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

/// What [`export`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exported {
    /// The bundle written; `None` when nothing could be exported.
    pub path: Option<PathBuf>,
    pub applications: usize,
    /// The bundle's size in bytes.
    pub bytes: u64,
    /// Applications stored before sealing arrived (plain fields and scans): never put on a
    /// stick, where they could be read; they still go by the link.
    pub unsealed: usize,
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
/// `dir`; `None` when there is nothing waiting. No file is written when nothing can be
/// exported (see [`Exported::unsealed`]).
pub fn export(
    outbox: &Outbox,
    station_id: &str,
    key: &SigningKey,
    dir: &Path,
    now: OffsetDateTime,
) -> Result<Option<Exported>, ExportError> {
    let (waiting, unsealed): (Vec<_>, Vec<_>) = outbox
        .unacknowledged()?
        .into_iter()
        .partition(|app| app.sealed_record.is_some());
    if waiting.is_empty() {
        return Ok((!unsealed.is_empty()).then_some(Exported {
            path: None,
            applications: 0,
            bytes: 0,
            unsealed: unsealed.len(),
        }));
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
        created_at: now
            .to_offset(time::UtcOffset::UTC)
            .replace_nanosecond(0)
            .unwrap_or(now)
            .format(&Rfc3339)
            .unwrap_or_default(),
        applications: waiting.iter().map(sync::record).collect(),
    };
    let name = bundle::file_name(station_id, now);
    // A scan that cannot be read (the running appliance delivered and deleted it meanwhile)
    // is reported as such, not as a fault of the stick.
    let mut scan_failure = None;
    let saved = bundle::save(dir, &name, |out| {
        let mut w = Writer::new(out, &header)?;
        let mut buf = vec![0u8; 256 * 1024];
        for app in &waiting {
            for att in &app.attachments {
                let mut failed = |e: &std::io::Error| {
                    scan_failure = Some(ExportError::Scan {
                        tracking: app.tracking_number.clone(),
                        name: att.name.clone(),
                        detail: e.to_string(),
                    });
                };
                let mut file = std::fs::File::open(&att.path).inspect_err(&mut failed)?;
                loop {
                    let n = file.read(&mut buf).inspect_err(&mut failed)?;
                    if n == 0 {
                        break;
                    }
                    w.blob(&buf[..n])?;
                }
            }
        }
        let (_, size) = w.finish(|context, digest| key.sign_digest(context, digest))?;
        Ok(size)
    });
    let (path, bytes) = match saved {
        Ok(done) => done,
        Err(e) => return Err(scan_failure.unwrap_or(ExportError::Save(e))),
    };
    tracing::debug!(applications = waiting.len(), bytes, path = %path.display(), "bundle exported");
    Ok(Some(Exported {
        path: Some(path),
        applications: waiting.len(),
        bytes,
        unsealed: unsealed.len(),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use county_api::bundle::Unverified;
    use county_api::{Decision, DecisionKind};
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::outbox::{NewApplication, NewScan};

    const NOW: OffsetDateTime = datetime!(2026-11-25 08:00 UTC);

    fn sample(county: &sealing::PublicKey, outbox: &mut Outbox, name: &str) -> Uuid {
        let app = NewApplication {
            id: Uuid::now_v7(),
            service: "elderly-card".into(),
            service_version: 1,
            fields: BTreeMap::from([("applicant.name".into(), name.into())]),
            masked_name: "李*".into(),
            person_keys: vec![],
            scans: vec![NewScan {
                scan: "photo".into(),
                name: "photo.jpg".into(),
                content_type: "image/jpeg".into(),
                bytes: vec![9; 3000],
            }],
            clock: None,
        };
        outbox.submit(app, county, NOW).unwrap().id
    }

    fn decision(cursor: u64, id: Uuid, kind: DecisionKind) -> Decision {
        Decision {
            cursor,
            application_id: id,
            tracking_number: format!("T{cursor}"),
            kind,
            reason: None,
            decided_at: "2026-11-26T08:00:00Z".into(),
        }
    }

    #[test]
    fn export_carries_the_sealed_outbox_and_import_applies_decisions_once() {
        let dir = tempfile::tempdir().unwrap();
        let usb = tempfile::tempdir().unwrap();
        let county = sealing::PrivateKey::generate();
        let key = SigningKey::generate();
        let mut ob = Outbox::open(dir.path()).unwrap();
        assert_eq!(export(&ob, "st-1", &key, usb.path(), NOW).unwrap(), None);
        let a = sample(&county.public_key(), &mut ob, "李德华");
        let b = sample(&county.public_key(), &mut ob, "李明");

        let done = export(&ob, "st-1", &key, usb.path(), NOW).unwrap().unwrap();
        assert_eq!(done.applications, 2);
        let path = done.path.unwrap();
        assert_eq!(
            path.file_name().unwrap(),
            "st-1-20261125T080000Z.kiosk-bundle"
        );
        assert_eq!(done.unsealed, 0);
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, done.bytes);
        let v = Unverified::<ApplicationsHeader>::parse(&bytes)
            .unwrap()
            .verify(|c, d, s| key.verifying_key().verify_digest(c, d, s))
            .unwrap();
        let apps = v.applications();
        assert_eq!(apps.len(), 2);
        // The very bytes the link would send, and the county opens them.
        for (record, blobs) in &apps {
            let out = ob.outgoing(&record.application_id).unwrap();
            assert_eq!(*record, &sync::record(&out));
            assert_eq!(blobs[0], std::fs::read(&out.attachments[0].path).unwrap());
            let ctx = sealing::scan_context(&record.application_id.to_string(), "photo.jpg");
            assert_eq!(
                sealing::open(&county, &ctx, blobs[0]).unwrap(),
                vec![9; 3000]
            );
        }
        assert!(
            !bytes
                .windows("李德华".len())
                .any(|w| w == "李德华".as_bytes())
        );

        // The county holds `a` and approved it; `b` is not back yet.
        let header = DecisionsHeader {
            station_id: "st-1".into(),
            created_at: "2026-11-26T09:00:00Z".into(),
            decisions: vec![decision(1, a, DecisionKind::Approve)],
            received: vec![a, Uuid::now_v7()],
        };
        let first = import(&mut ob, &header, NOW).unwrap();
        assert_eq!(
            first,
            Imported {
                received: 1,
                decisions: 1,
                unknown: 1
            }
        );
        assert_eq!(ob.summary(&a).unwrap().state, AppState::Decided);
        assert_eq!(ob.summary(&b).unwrap().state, AppState::Queued);
        let events = ob.events(&a).unwrap().len();
        let again = import(&mut ob, &header, NOW).unwrap();
        assert_eq!((again.received, again.decisions), (0, 0));
        assert_eq!(
            ob.events(&a).unwrap().len(),
            events,
            "nothing happened twice"
        );
        // Only `b` is still exported.
        let next = export(&ob, "st-1", &key, usb.path(), NOW + time::Duration::SECOND)
            .unwrap()
            .unwrap();
        assert_eq!(next.applications, 1);
    }

    #[test]
    fn a_scan_missing_on_disk_stops_the_export_before_the_stick_is_touched() {
        let dir = tempfile::tempdir().unwrap();
        let usb = tempfile::tempdir().unwrap();
        let county = sealing::PrivateKey::generate();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let a = sample(&county.public_key(), &mut ob, "李德华");
        std::fs::remove_file(ob.blob_path(&a, "photo.jpg")).unwrap();
        let err = export(&ob, "st-1", &SigningKey::generate(), usb.path(), NOW).unwrap_err();
        assert!(matches!(err, ExportError::Scan { .. }), "{err}");
        assert_eq!(std::fs::read_dir(usb.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_application_stored_before_sealing_never_goes_on_a_stick() {
        let dir = tempfile::tempdir().unwrap();
        let usb = tempfile::tempdir().unwrap();
        let county = sealing::PrivateKey::generate();
        let mut ob = Outbox::open(dir.path()).unwrap();
        let a = sample(&county.public_key(), &mut ob, "李德华");
        // As a row from before migration 3 looks: plain fields, no sealed record.
        rusqlite::Connection::open(dir.path().join("outbox.sqlite3"))
            .unwrap()
            .execute(
                "UPDATE applications SET sealed_record = NULL,
                     fields_json = '{\"applicant.name\":\"李德华\"}' WHERE id = ?1",
                [a.to_string()],
            )
            .unwrap();
        let key = SigningKey::generate();
        let done = export(&ob, "st-1", &key, usb.path(), NOW).unwrap().unwrap();
        assert_eq!((done.path, done.applications, done.unsealed), (None, 0, 1));
        assert_eq!(std::fs::read_dir(usb.path()).unwrap().count(), 0);
        let b = sample(&county.public_key(), &mut ob, "李明");
        let done = export(&ob, "st-1", &key, usb.path(), NOW).unwrap().unwrap();
        assert_eq!((done.applications, done.unsealed), (1, 1));
        let bytes = std::fs::read(done.path.unwrap()).unwrap();
        let v = Unverified::<ApplicationsHeader>::parse(&bytes)
            .unwrap()
            .verify(|c, d, s| key.verifying_key().verify_digest(c, d, s))
            .unwrap();
        assert_eq!(v.header.applications[0].application_id, b);
        assert!(
            !bytes
                .windows("李德华".len())
                .any(|w| w == "李德华".as_bytes())
        );
    }
}
