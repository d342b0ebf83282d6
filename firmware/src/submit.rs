//! `kiosk submit FILE [--json]`: the counter's submit step, from a JSON file.
//!
//! ```json
//! { "service": "elderly-card",
//!   "fields": { "applicant.name": "李德华", ... },
//!   "scans": [ { "scan": "photo", "file": "scans/photo.jpg" } ] }
//! ```
//! Scan paths are relative to the file. Validation is the same as the screen's
//! ([`crate::form::check`]); an invalid application exits 1 listing every field error and
//! stores nothing. `--print`: then print the receipt on the configured printer (`[devices]
//! printer`); a printer problem is reported but the application stays stored (exit 0).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use store_and_forward::{NewApplication, NewScan, Outbox};

use crate::Failure;
use crate::catalog::Catalog;
use crate::form;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApplicationFile {
    pub service: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    #[serde(default)]
    pub scans: Vec<ScanFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScanFile {
    /// The scan slot of the service (e.g. `photo`).
    pub scan: String,
    /// Path of the file, relative to the application file.
    pub file: PathBuf,
}

/// MIME type from the file extension.
pub fn content_type(path: &Path) -> &'static str {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    match ext.as_deref() {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("pdf") => "application/pdf",
        Some("tif" | "tiff") => "image/tiff",
        _ => "application/octet-stream",
    }
}

/// Attachment names: `<scan>.<ext>`, then `<scan>-2.<ext>` … for further pages of one slot.
pub fn attachment_name(scan: &str, path: &Path, nth: usize) -> String {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(str::to_ascii_lowercase)
        .unwrap_or_else(|| "bin".into());
    if nth <= 1 {
        format!("{scan}.{ext}")
    } else {
        format!("{scan}-{nth}.{ext}")
    }
}

/// The outbox could not store the application: a storage fault in the operator's words.
fn not_stored(e: store_and_forward::OutboxError) -> Failure {
    match store_and_forward::Health::of_error(&e) {
        Some(h) => {
            let (zh, en) = h.message();
            Failure::new(format!(
                "{zh} / {en} (nothing of this application was stored: {e})"
            ))
        }
        None => Failure::from(e),
    }
}

pub fn run(
    data_dir: &Path,
    file: &Path,
    json: bool,
    print: Option<&crate::config::Config>,
) -> Result<(), Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::new(format!(
            "the application file {} cannot be read: {e}",
            file.display()
        ))
    })?;
    let app: ApplicationFile = serde_json::from_str(&text).map_err(|e| {
        Failure::new(format!(
            "the application file {} is not valid JSON of an application: {e}",
            file.display()
        ))
    })?;
    let base = file.parent().unwrap_or(Path::new("."));
    let mut scans = Vec::with_capacity(app.scans.len());
    let mut per_slot: BTreeMap<&str, usize> = BTreeMap::new();
    for s in &app.scans {
        let path = base.join(&s.file);
        let bytes = std::fs::read(&path).map_err(|e| {
            Failure::new(format!(
                "the scan file {} cannot be read: {e}",
                path.display()
            ))
        })?;
        let nth = per_slot.entry(s.scan.as_str()).or_default();
        *nth += 1;
        scans.push(NewScan {
            scan: s.scan.clone(),
            name: attachment_name(&s.scan, &s.file, *nth),
            content_type: content_type(&s.file).to_string(),
            bytes,
        });
    }
    let now = form::now();
    // A damaged database refuses here, before anything is written.
    let mut outbox = Outbox::open(data_dir).map_err(not_stored)?;
    let catalog = Catalog::load(&outbox);
    let checked = match form::check(&catalog, &app.service, &app.fields, &scans, now) {
        Ok(c) => c,
        Err(errors) => {
            report_errors(&errors, json);
            return Err(Failure::silent(1));
        }
    };
    let county = match crate::station::Station::load(data_dir)? {
        Some(station) => station.county_key()?,
        None => {
            return Err(Failure::new(format!(
                "this station is not provisioned yet, so it has no county key to seal the \
                 application with; nothing was stored (run `kiosk provision FILE`; data \
                 directory {})",
                data_dir.display()
            )));
        }
    };
    let people = crate::people::PersonKeys::load_or_create(data_dir)?;
    let person_keys = catalog
        .service(&checked.service)
        .map(|def| people.for_application(def, &checked.fields))
        .unwrap_or_default();
    let done = outbox
        .submit(
            NewApplication {
                id: uuid::Uuid::now_v7(),
                service: checked.service,
                service_version: checked.service_version,
                fields: checked.fields,
                masked_name: checked.masked_name,
                person_keys,
                scans,
                clock: Some(crate::clock::note(
                    now,
                    crate::clock::last_known(data_dir),
                    outbox.county_clock().ok().flatten(),
                )),
            },
            &county,
            now,
        )
        .map_err(not_stored)?;
    // Stored; now the receipt, if asked for. A printer problem is reported, never undoes
    // the submission (exit 0: the application is saved).
    let receipt = print.map(|config| {
        let service = catalog
            .service(&app.service)
            .map(|d| d.title.zh.clone())
            .unwrap_or_else(|| app.service.clone());
        let station = crate::station::Station::load(data_dir)
            .ok()
            .flatten()
            .map(|s| s.station_name)
            .unwrap_or_default();
        let desk = crate::counter::ReceiptDesk::Device(config.devices.printer.clone());
        let printed = crate::daemon::runtime().map(|rt| {
            rt.block_on(desk.print(
                &station,
                &service,
                &done.tracking_number,
                now,
                &config.receipt.hotline,
            ))
        });
        match printed {
            Err(f) => Some(f.message),
            Ok(result) => crate::counter::printer_note(&result).map(|(zh, en)| {
                eprintln!("kiosk: {zh} / {en}");
                en
            }),
        }
    });
    if json {
        let mut out = serde_json::json!({
            "application_id": done.id,
            "tracking_number": done.tracking_number,
        });
        if let Some(r) = &receipt {
            out["receipt"] = match r {
                None => serde_json::json!("printed"),
                Some(problem) => serde_json::json!(problem),
            };
        }
        println!("{out}");
    } else {
        println!("{}", done.tracking_number);
    }
    Ok(())
}

fn report_errors(errors: &[form::Problem], json: bool) {
    if json {
        let list: Vec<_> = errors
            .iter()
            .map(|e| {
                serde_json::json!({
                    "field": e.field, "code": e.code, "message_zh": e.zh, "message_en": e.en
                })
            })
            .collect();
        println!("{}", serde_json::json!({ "errors": list }));
    }
    eprintln!(
        "kiosk: the application was not stored; {} problem(s) to fix:",
        errors.len()
    );
    for e in errors {
        eprintln!("  {}: {} / {}", e.field, e.zh, e.en);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_types_follow_the_extension() {
        let p = Path::new("scans/Photo.JPG");
        assert_eq!(attachment_name("photo", p, 1), "photo.jpg");
        assert_eq!(attachment_name("photo", p, 2), "photo-2.jpg");
        assert_eq!(attachment_name("x", Path::new("noext"), 1), "x.bin");
        assert_eq!(content_type(p), "image/jpeg");
        assert_eq!(content_type(Path::new("a.pdf")), "application/pdf");
        assert_eq!(content_type(Path::new("a")), "application/octet-stream");
    }
}
