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

/// `kiosk pin set ROLE` with the PIN twice on standard input, as a technician types it.
fn pin(dir: &std::path::Path, args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = kiosk()
        .arg("--data-dir")
        .arg(dir)
        .arg("pin")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn pins_are_set_twice_typed_stored_hashed_and_cleared() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("pins.toml");

    let out = pin(dir.path(), &["set", "operator"], "2468\n2469\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("The two PINs differ"));
    assert!(!file.exists(), "nothing stored");

    let out = pin(dir.path(), &["set", "operator"], "12\n12\n");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("4 to 8 digits"));

    let out = pin(dir.path(), &["set", "operator"], "2468\n2468\n");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("operator = \"$argon2id$"), "{text}");
    assert!(!text.contains("2468"));

    let out = pin(dir.path(), &["set", "technician"], "13579\n13579\n");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_eq!(text.lines().count(), 2, "{text}");

    let out = pin(dir.path(), &["clear", "operator"], "");
    assert!(out.status.success(), "{out:?}");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("technician = "), "{text}");

    let out = pin(dir.path(), &["set", "nobody"], "");
    assert_eq!(
        out.status.code(),
        Some(2),
        "clap refuses an unknown role: {out:?}"
    );
}
