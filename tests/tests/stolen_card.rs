//! A stolen SD card, with the real processes: a provisioned station (`kiosk provision`
//! with the file `county station add` wrote) stores the birth-permit sample with
//! `kiosk submit`; every file under its data directory is then searched for the parents'
//! names, ID numbers, phones, address and marriage certificate number, and for the bytes of
//! every scan: none may be there. The daemon then delivers it through the proxy: the county
//! holds the scans byte for byte, and the station no longer holds even the sealed copies.

use std::path::{Path, PathBuf};
use std::time::Duration;

use kiosk_e2e::rig::{Rig, eventually_or};
use kiosk_e2e::{data, run_json, sha256_file};
use serde_json::Value;

/// Every file under `dir` that contains `needle`.
fn files_holding(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path)
                .map(|b| b.windows(needle.len()).any(|w| w == needle))
                .unwrap_or(false)
            {
                found.push(path);
            }
        }
    }
    found
}

/// What must never be readable on the card: personal field values and pieces of each scan.
fn secrets(sample: &Value) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for (field, value) in sample["fields"].as_object().unwrap() {
        let personal = [
            "name",
            "id_number",
            "phone",
            "address",
            "certificate_number",
        ]
        .iter()
        .any(|k| field.ends_with(k));
        if personal {
            let v = value.as_str().unwrap();
            out.push((format!("{field} {v:?}"), v.as_bytes().to_vec()));
        }
    }
    for scan in sample["scans"].as_array().unwrap() {
        let file = data("applications").join(scan["file"].as_str().unwrap());
        let bytes = std::fs::read(&file).unwrap();
        let mid = bytes.len() / 2;
        out.push((
            format!("the middle of {}", file.display()),
            bytes[mid.saturating_sub(32)..(mid + 32).min(bytes.len())].to_vec(),
        ));
    }
    out
}

fn assert_nothing_readable(rig: &Rig, sample: &Value, when: &str) {
    for (what, needle) in secrets(sample) {
        let found = files_holding(&rig.station_dir, &needle);
        assert!(found.is_empty(), "{when}: {what} is readable in {found:?}");
    }
}

#[test]
fn a_stolen_card_leaks_no_personal_data_before_or_after_delivery() {
    let rig = Rig::start();
    let file = data("applications/birth-permit.json");
    let sample: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    let out = run_json(rig.kiosk().arg("submit").arg(&file).arg("--json"));
    let id = out["application_id"].as_str().unwrap().to_string();
    let tracking = out["tracking_number"].as_str().unwrap().to_string();

    // The search can find things: the tracking number and the masked name are there.
    assert!(!files_holding(&rig.station_dir, tracking.as_bytes()).is_empty());
    assert!(!files_holding(&rig.station_dir, "陶*".as_bytes()).is_empty());
    // Queued, sealed, waiting for the link: nothing personal is readable.
    assert_eq!(rig.status()["counts"]["queued"], 1);
    assert_nothing_readable(&rig, &sample, "queued");

    let _daemon = rig.start_daemon();
    let delivered = eventually_or(Duration::from_secs(60), || {
        (rig.status()["counts"]["delivered"] == 1).then_some(())
    });
    assert!(
        delivered.is_some(),
        "not delivered:\n{}",
        rig.daemon_log_tail()
    );
    let list = rig.county_list();
    let at = list
        .iter()
        .find(|a| a["application_id"] == id.as_str())
        .unwrap_or_else(|| panic!("{id} not at the county: {list:?}"));
    assert_eq!(at["complete"], true, "{at}");
    for scan in sample["scans"].as_array().unwrap() {
        let path = data("applications").join(scan["file"].as_str().unwrap());
        let sha = sha256_file(&path);
        assert!(
            at["attachments"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a["sha256"] == sha.as_str()),
            "{} not listed with its plaintext digest: {at}",
            path.display()
        );
        let kept = rig.county_dir.join("attachments").join(&sha);
        assert_eq!(sha256_file(&kept), sha, "the county's copy differs");
    }
    // Delivered: the sealed copies are gone too; the row for the screens stays.
    assert!(
        rig.station_blob_dirs().is_empty(),
        "{:?}",
        rig.station_blob_dirs()
    );
    assert_nothing_readable(&rig, &sample, "delivered");
    assert!(!files_holding(&rig.station_dir, tracking.as_bytes()).is_empty());
}
