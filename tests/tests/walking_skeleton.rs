//! The walking skeleton, end to end with real processes: the headless demo (kiosk + the
//! county platform it starts on loopback), two `kiosk submit`s of the shipped samples, and
//! the county's own listing of what it received.

use std::process::Command;
use std::time::Duration;

use kiosk_e2e::{Running, bin, data, eventually, run, run_json, sha256_file};
use serde_json::Value;

fn kiosk(dir: &std::path::Path) -> Command {
    let mut c = Command::new(bin("kiosk"));
    c.arg("--data-dir").arg(dir);
    c
}

#[test]
fn both_samples_reach_the_county_complete_and_byte_identical() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let demo = Running::until_line(
        kiosk(d).args(["demo", "--headless"]),
        "ready",
        Duration::from_secs(60),
    );

    let mut submitted = Vec::new();
    for sample in ["birth-permit.json", "elderly-card.json"] {
        let out = run_json(
            kiosk(d)
                .arg("submit")
                .arg(data(&format!("applications/{sample}")))
                .arg("--json"),
        );
        let id = out["application_id"]
            .as_str()
            .expect("application_id")
            .to_string();
        let tracking = out["tracking_number"]
            .as_str()
            .expect("tracking_number")
            .to_string();
        assert_eq!(id.len(), 36, "{out}");
        assert!(!tracking.is_empty());
        submitted.push((sample, id, tracking));
    }

    let status = eventually(
        Duration::from_secs(60),
        "both applications delivered",
        || {
            let st = run_json(kiosk(d).args(["status", "--json"]));
            (st["counts"]["delivered"] == 2).then_some(st)
        },
    );
    assert_eq!(status["counts"]["queued"], 0, "{status}");
    assert_eq!(status["counts"]["sending"], 0, "{status}");
    assert_eq!(status["oldest_waiting_secs"], Value::Null, "{status}");
    assert!(status["last_contact"].is_string(), "{status}");

    let listed = run_json(
        Command::new(bin("county"))
            .arg("applications")
            .arg("--data-dir")
            .arg(d.join("county"))
            .arg("--json"),
    );
    let listed = listed.as_array().expect("a JSON list");
    assert_eq!(listed.len(), 2, "{listed:?}");
    for (sample, id, tracking) in &submitted {
        let app = listed
            .iter()
            .find(|a| a["application_id"] == id.as_str())
            .unwrap_or_else(|| panic!("{sample} ({id}) not at the county: {listed:?}"));
        assert_eq!(app["tracking_number"], tracking.as_str());
        assert_eq!(app["complete"], true, "{app}");
        let file: Value = serde_json::from_slice(
            &std::fs::read(data(&format!("applications/{sample}"))).unwrap(),
        )
        .unwrap();
        assert_eq!(app["service"], file["service"]);
        let scans = file["scans"].as_array().unwrap();
        let atts = app["attachments"].as_array().unwrap();
        assert_eq!(atts.len(), scans.len(), "{app}");
        for scan in scans {
            let path = data("applications").join(scan["file"].as_str().unwrap());
            let sha = sha256_file(&path);
            let size = std::fs::metadata(&path).unwrap().len();
            assert!(
                atts.iter()
                    .any(|a| a["sha256"] == sha.as_str() && a["size"] == size),
                "{} not received byte for byte: {app}",
                path.display()
            );
        }
    }

    assert!(
        demo.terminate().success(),
        "the demo must stop cleanly on SIGTERM"
    );
}

#[test]
fn an_invalid_application_is_refused_listing_every_error_and_storing_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let file = d.join("bad.json");
    let mut app: Value =
        serde_json::from_slice(&std::fs::read(data("applications/elderly-card.json")).unwrap())
            .unwrap();
    // A wrong check character, a birth date in the future, and a missing phone.
    app["fields"]["applicant.id_number"] = "532627195003120035".into();
    app["fields"]["emergency.phone"] = "".into();
    app["fields"]["emergency.name"] = "".into();
    for s in app["scans"].as_array_mut().unwrap() {
        let f = data("applications").join(s["file"].as_str().unwrap());
        s["file"] = f.to_string_lossy().into_owned().into();
    }
    std::fs::write(&file, serde_json::to_vec(&app).unwrap()).unwrap();

    let out = run(kiosk(d).arg("submit").arg(&file).arg("--json"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let fields: Vec<&str> = report["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    for f in ["applicant.id_number", "emergency.name", "emergency.phone"] {
        assert!(fields.contains(&f), "{f} not reported: {report}");
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not stored"), "{stderr}");

    let st = run_json(kiosk(d).args(["status", "--json"]));
    assert_eq!(st["total"], 0, "nothing may be stored: {st}");
}

#[test]
fn a_usage_error_exits_2_with_a_plain_sentence() {
    let tmp = tempfile::tempdir().unwrap();
    let out = run(kiosk(tmp.path()).args(["selftest", "--no-such-flag"]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--no-such-flag"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}
