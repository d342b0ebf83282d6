//! Sneakernet, the county's half: `county import FILE` takes a station's bundle from a USB
//! stick; `county export-decisions` writes the station's decisions onto one.
//!
//! Key decision: an imported application goes through the very intake of `PUT
//! /v1/applications/{id}` ([`crate::http::intake`]) and its scans through the upload path
//! ([`crate::http::append_chunk`]), so importing twice, or importing and then receiving the
//! same application over the link, is answered as a repeat and never stored twice.
//!
//! Nothing is stored before the bundle's signature has been checked against the signing key
//! the named station registered at enrolment (unknown, revoked or keyless station, bad
//! signature, truncated or garbage file: each refused with its own sentence). After that,
//! each application is taken or refused on its own (one bad application does not stop the
//! rest); each record is one transaction and scans resume where they stopped, so an import
//! cut short (power, Ctrl-C) is completed by running it again.

use std::path::{Path, PathBuf};

use county_api::bundle::{self, ApplicationsHeader, BundleError, DecisionsHeader, Unverified};
use county_api::{ErrorCode, SubmitApplication};
use uuid::Uuid;

use crate::error::ApiError;
use crate::storage::Storage;
use crate::{CountyError, files, http, keys, store};

/// Migration 4: the Ed25519 public key each station sent at enrolment (NULL: enrolled
/// before sneakernet, its bundles cannot be checked).
pub(crate) const V4_STATION_SIGNING_KEYS: &str =
    "ALTER TABLE stations ADD COLUMN signing_public_key TEXT;";

/// Why a bundle was refused as a whole. Nothing of it was stored.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("读不了导入包 {path} / the bundle {path} cannot be read: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("导入包无效 / {0}")]
    Bundle(#[from] BundleError),
    #[error(
        "没有编号为 {0} 的服务站 / no station {0} is registered here (a bundle for another county?)"
    )]
    UnknownStation(String),
    #[error(
        "服务站 {0} 已于 {1} 注销，不接收它的导入包 / station {0} was revoked at {1}; its bundles are refused"
    )]
    Revoked(String, String),
    #[error(
        "服务站 {0} 没有登记签名密钥（在此功能之前配置），请重新配置 / station {0} registered no signing key (provisioned before sneakernet); provision it again"
    )]
    NoKey(String),
    #[error(
        "导入包签名不符：内容被改动过，或不是服务站 {0} 写的 / the bundle's signature does not match station {0}'s key: it was changed, damaged, or not written by that station"
    )]
    BadSignature(String),
    #[error(
        "县平台出错，导入中止（可以重新导入） / the county failed, the import stopped (run it again): {0}"
    )]
    County(#[from] CountyError),
}

/// What became of one application of a bundle.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Stored now.
    New,
    /// The record was here already (from the link or an earlier import); scans it lacked
    /// were completed from the bundle.
    Completed,
    /// Everything was here already.
    AlreadyHad,
    /// Not taken, and why (bilingual).
    Refused(String),
}

/// One application's line in the import summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Imported {
    pub application_id: Uuid,
    pub tracking_number: String,
    pub outcome: Outcome,
}

/// The import summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImportReport {
    pub station_id: String,
    /// When the station wrote the bundle (its clock).
    pub created_at: String,
    pub applications: Vec<Imported>,
}

impl ImportReport {
    pub fn count(&self, f: impl Fn(&Outcome) -> bool) -> usize {
        self.applications.iter().filter(|a| f(&a.outcome)).count()
    }
}

/// `county import FILE`: check the bundle, then take each application through the intake.
pub fn import(data_dir: &Path, file: &Path) -> Result<ImportReport, ImportError> {
    let bytes = std::fs::read(file).map_err(|source| ImportError::Read {
        path: file.display().to_string(),
        source,
    })?;
    let unverified = Unverified::<ApplicationsHeader>::parse(&bytes)?;
    let station = unverified.station_id().to_owned();
    let dirs = files::Dirs::create(data_dir)?;
    let storage = crate::cli_storage(data_dir)?;
    let storage: &dyn Storage = storage.as_ref();
    let row = storage
        .station_keys(&station)?
        .ok_or_else(|| ImportError::UnknownStation(station.clone()))?;
    if let Some(at) = row.revoked_at {
        return Err(ImportError::Revoked(station, at));
    }
    let key = row
        .signing_public_key
        .and_then(|k| k.parse::<sealing::sign::VerifyingKey>().ok())
        .ok_or_else(|| ImportError::NoKey(station.clone()))?;
    let verified = unverified
        .verify(|context, digest, signature| key.verify_digest(context, digest, signature))
        .map_err(|_| ImportError::BadSignature(station.clone()))?;
    let county_key = keys::load_or_create(data_dir)?;
    let mut report = ImportReport {
        station_id: station.clone(),
        created_at: verified.header.created_at.clone(),
        applications: Vec::new(),
    };
    let file_name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    for (application, blobs) in verified.applications() {
        let outcome = take(storage, &dirs, &county_key, &station, application, &blobs)?;
        if matches!(outcome, Outcome::New | Outcome::Completed) {
            // The application's history on the review page says how it came.
            storage.record_import(
                &station,
                application.application_id,
                &file_name,
                &store::now(),
            )?;
        }
        // The summary the command prints names each one; the log stays quiet.
        match &outcome {
            Outcome::Refused(why) => {
                tracing::info!(application = %application.application_id, reason = %why, "bundle application refused")
            }
            _ => {
                tracing::debug!(application = %application.application_id, ?outcome, "bundle application taken")
            }
        }
        report.applications.push(Imported {
            application_id: application.application_id,
            tracking_number: application.tracking_number.clone(),
            outcome,
        });
    }
    Ok(report)
}

/// One application: the record through the HTTP intake, then each scan the county does not
/// hold whole through the upload path, from where it stands.
fn take(
    storage: &dyn Storage,
    dirs: &files::Dirs,
    key: &sealing::PrivateKey,
    station: &str,
    application: &SubmitApplication,
    blobs: &[&[u8]],
) -> Result<Outcome, ImportError> {
    let id = application.application_id;
    let taken = match http::intake(storage, key, station, application.clone()) {
        Ok(t) => t,
        Err(e) => return refused(e),
    };
    let mut completed_any = false;
    for (att, blob) in application.attachments.iter().zip(blobs) {
        let Some(status) = taken
            .receipt
            .attachments
            .iter()
            .find(|s| s.name == att.name)
        else {
            continue;
        };
        if status.complete {
            continue;
        }
        let mut offset = status.received;
        // The stored offset may be ahead of the partial file after a crash: the upload path
        // names the right one once.
        for _ in 0..2 {
            let start = usize::try_from(offset)
                .unwrap_or(usize::MAX)
                .min(blob.len());
            match http::append_chunk(
                storage,
                dirs,
                key,
                station,
                id,
                &att.name,
                offset,
                &blob[start..],
            ) {
                Ok(_) => {
                    completed_any = true;
                    break;
                }
                Err(e) if e.body().code == ErrorCode::OffsetMismatch => {
                    offset = e.body().expected_offset.unwrap_or(0);
                }
                Err(e) => return refused(e),
            }
        }
    }
    Ok(if taken.created {
        Outcome::New
    } else if completed_any {
        Outcome::Completed
    } else {
        Outcome::AlreadyHad
    })
}

/// A refusal of the intake as the summary's reason; a county failure stops the import.
fn refused(e: ApiError) -> Result<Outcome, ImportError> {
    let body = e.body();
    if body.code == ErrorCode::Internal {
        return Err(ImportError::County(CountyError::Task(
            "the database or the attachment store failed (see the log above)".into(),
        )));
    }
    Ok(Outcome::Refused(format!(
        "{} / {}",
        body.message_zh, body.message
    )))
}

/// Why decisions could not be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("没有编号为 {0} 的服务站 / no station {0} is registered here")]
    UnknownStation(String),
    #[error(
        "服务站 {0} 已于 {1} 注销 / station {0} was revoked at {1}; nothing is exported for it"
    )]
    Revoked(String, String),
    #[error(transparent)]
    Save(#[from] bundle::SaveError),
    #[error("{0}")]
    County(#[from] CountyError),
}

/// What [`export_decisions`] wrote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportedDecisions {
    pub path: PathBuf,
    pub bytes: u64,
    pub decisions: usize,
    pub received: usize,
}

/// `county export-decisions`: every decision for the station and the ids of its
/// applications the county holds whole, signed with the county's signing key, into `dir`.
pub fn export_decisions(
    data_dir: &Path,
    station: &str,
    dir: &Path,
) -> Result<ExportedDecisions, ExportError> {
    let storage = crate::cli_storage(data_dir)?;
    let row = storage
        .station_keys(station)?
        .ok_or_else(|| ExportError::UnknownStation(station.to_owned()))?;
    if let Some(at) = row.revoked_at {
        return Err(ExportError::Revoked(station.to_owned(), at));
    }
    let signing = keys::signing_key(data_dir)?;
    let mut decisions = Vec::new();
    loop {
        let after = decisions
            .last()
            .map_or(0, |d: &county_api::Decision| d.cursor);
        let page = storage.decisions(station, after, 500)?;
        let more = page.more;
        decisions.extend(page.decisions);
        if !more {
            break;
        }
    }
    let received = storage.received_applications(station)?;
    let now = time::OffsetDateTime::now_utc();
    let header = DecisionsHeader {
        station_id: station.to_owned(),
        created_at: store::now(),
        decisions,
        received,
    };
    let name = bundle::file_name(&format!("decisions-{station}"), now);
    let (path, bytes) = bundle::save(dir, &name, |out| {
        let w = bundle::Writer::new(out, &header)?;
        let (_, size) = w.finish(|context, digest| signing.sign_digest(context, digest))?;
        Ok(size)
    })?;
    Ok(ExportedDecisions {
        path,
        bytes,
        decisions: header.decisions.len(),
        received: header.received.len(),
    })
}
