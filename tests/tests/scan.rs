//! `kiosk scan` end to end: the real binary writes a scan and reports its size and SHA-256.
//! The simulator needs nothing installed; the system tier runs the same commands against
//! real `scanimage` with SANE's `test` backend (`SANE_CONFIG_DIR` lists only `test`).

use std::path::Path;
use std::process::{Command, Output};

use kiosk_e2e::{bin, run, sha256_file};

fn kiosk(args: &[&str], sane_dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(bin("kiosk"));
    cmd.args(args);
    if let Some(d) = sane_dir {
        cmd.env("SANE_CONFIG_DIR", d);
    }
    run(&mut cmd)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The report is `FILE: N bytes, TYPE, WxH px at D dpi, ...` then `sha256 HEX`; both must
/// describe the file on disk. The simulator's page and SANE's test picture are sparse
/// enough to stay JPEG (a page of dense print would be a black-and-white PNG).
fn check_report(out: &Output, file: &Path, dpi: u32, colour: &str) {
    assert!(
        out.status.success(),
        "{}: {}",
        out.status,
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    let size = std::fs::metadata(file).unwrap().len();
    let first = stdout.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!("{}: {size} bytes, image/jpeg, ", file.display())),
        "{stdout}"
    );
    assert!(
        first.contains(&format!(" at {dpi} dpi, {colour}")),
        "{stdout}"
    );
    assert_eq!(
        stdout.lines().nth(1),
        Some(format!("sha256 {}", sha256_file(file)).as_str()),
        "{stdout}"
    );
    let bytes = std::fs::read(file).unwrap();
    assert!(bytes.starts_with(&[0xFF, 0xD8]), "a JPEG");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("scanning") && stderr.contains("100%"),
        "{stderr}"
    );
}

#[test]
fn the_simulator_scans_each_kind() {
    let tmp = tempfile::tempdir().unwrap();
    for (kind, dpi, colour) in [
        ("page", 200, "grayscale"),
        ("id-card", 300, "colour"),
        ("photo", 300, "colour"),
    ] {
        let file = tmp.path().join(format!("{kind}.jpg"));
        let out = kiosk(
            &[
                "scan",
                "--device",
                "sim",
                "--kind",
                kind,
                "--out",
                file.to_str().unwrap(),
            ],
            None,
        );
        check_report(&out, &file, dpi, colour);
    }
}

#[test]
fn a_file_named_for_another_type_gets_a_note() {
    // The simulator's page is a JPEG; FILE is written as named, and stderr says so.
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("page.png");
    let out = kiosk(
        &[
            "scan",
            "--device",
            "sim",
            "--kind",
            "page",
            "--out",
            file.to_str().unwrap(),
        ],
        None,
    );
    check_report(&out, &file, 200, "grayscale");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("note: {} holds image/jpeg (.jpg)", file.display())),
        "{stderr}"
    );
    // Named right, no note.
    let file = tmp.path().join("page.JPG");
    let out = kiosk(
        &[
            "scan",
            "--device",
            "sim",
            "--kind",
            "page",
            "--out",
            file.to_str().unwrap(),
        ],
        None,
    );
    check_report(&out, &file, 200, "grayscale");
    assert!(
        !text(&out.stderr).contains("note:"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn usage_errors_exit_2() {
    let out = kiosk(&["scan", "--kind", "page"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = kiosk(&["scan", "--kind", "passport", "--out", "x.jpg"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = kiosk(&["scan", "--list", "--kind", "page"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[cfg(feature = "system-tier")]
mod sane {
    use super::*;

    /// A SANE configuration listing only the `test` backend, with `test.conf` lines.
    fn sane_dir(test_conf: &str) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("dll.conf"), "test\n").unwrap();
        std::fs::write(d.path().join("test.conf"), test_conf).unwrap();
        d
    }

    #[test]
    fn list_shows_the_test_devices() {
        let d = sane_dir("");
        let out = kiosk(&["scan", "--list"], Some(d.path()));
        assert!(out.status.success(), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(
            stdout.starts_with("test:0\tNoname frontend-tester (virtual device)\ntest:1\t"),
            "{stdout}"
        );
    }

    #[test]
    fn a_page_and_a_photo_through_scanimage() {
        let d = sane_dir("test-picture \"Grid\"\n");
        let tmp = tempfile::tempdir().unwrap();
        let page = tmp.path().join("page.jpg");
        let out = kiosk(
            &[
                "scan",
                "--device",
                "test:0",
                "--kind",
                "page",
                "--out",
                page.to_str().unwrap(),
            ],
            Some(d.path()),
        );
        check_report(&out, &page, 200, "grayscale");
        // Without --device: the first SANE device.
        let photo = tmp.path().join("photo.jpg");
        let out = kiosk(
            &["scan", "--kind", "photo", "--out", photo.to_str().unwrap()],
            Some(d.path()),
        );
        check_report(&out, &photo, 300, "colour");
    }

    #[test]
    fn a_jam_is_said_plainly_and_nothing_is_written() {
        let d = sane_dir("read-status-code \"SANE_STATUS_JAMMED\"\n");
        let tmp = tempfile::tempdir().unwrap();
        let file = tmp.path().join("page.jpg");
        let out = kiosk(
            &[
                "scan",
                "--device",
                "test:0",
                "--kind",
                "page",
                "--out",
                file.to_str().unwrap(),
            ],
            Some(d.path()),
        );
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains("kiosk: 卡纸") && stderr.contains("paper jam"),
            "{stderr}"
        );
        assert!(!file.exists());
        assert_eq!(
            std::fs::read_dir(tmp.path()).unwrap().count(),
            0,
            "no temporary left"
        );
    }

    #[test]
    fn an_unknown_device_is_named() {
        let d = sane_dir("");
        let out = kiosk(
            &[
                "scan",
                "--device",
                "epson2:libusb:009:009",
                "--kind",
                "page",
                "--out",
                "/tmp/never.jpg",
            ],
            Some(d.path()),
        );
        assert_eq!(out.status.code(), Some(1));
        assert!(
            text(&out.stderr).contains("scanner epson2:libusb:009:009 not found"),
            "{}",
            text(&out.stderr)
        );
    }
}
