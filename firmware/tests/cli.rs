//! The `kiosk` command line as technicians and scripts see it.

use std::process::Command;

fn kiosk() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kiosk"))
}

#[test]
fn help_documents_every_subcommand() {
    let out = kiosk().arg("--help").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    for sub in [
        "demo",
        "run",
        "submit",
        "status",
        "provision",
        "selftest",
        "card",
    ] {
        assert!(text.contains(sub), "{sub} missing from --help:\n{text}");
    }
    for opt in ["--data-dir", "--config"] {
        assert!(text.contains(opt), "{opt} missing from --help:\n{text}");
    }
}

#[test]
fn status_of_a_fresh_station_has_every_state_and_no_contact() {
    let dir = tempfile::tempdir().unwrap();
    let out = kiosk()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["status", "--json"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for s in [
        "queued",
        "sending",
        "delivered",
        "decided",
        "ready",
        "handed_over",
        "returned",
    ] {
        assert_eq!(v["counts"][s], 0, "{s}: {v}");
    }
    assert_eq!(v["oldest_waiting_secs"], serde_json::Value::Null);
    assert_eq!(v["last_contact"], serde_json::Value::Null);
}

#[test]
fn a_bad_config_file_is_a_plain_message_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("kiosk.toml");
    std::fs::write(&cfg, "[sync]\npol_secs = 1\n").unwrap();
    let out = kiosk()
        .arg("--config")
        .arg(&cfg)
        .arg("--data-dir")
        .arg(dir.path())
        .args(["status"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("kiosk: the configuration file"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn run_without_provisioning_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let out = kiosk()
        .arg("--data-dir")
        .arg(dir.path())
        .args(["run", "--headless"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("not provisioned"), "{err}");
}
