//! Sneakernet for long outages, end to end with the real binaries: the link is gone (the
//! county stopped), applications are submitted at the station, `kiosk export` writes them to
//! a "USB stick", `county import` takes them (twice: nothing new the second time), the link
//! comes back and the station's uploads are answered as already received, so the county
//! holds each application exactly once. Damaged bundles are refused with a clear sentence
//! and store nothing. Then the decisions come back the same way (`county export-decisions`
//! → `kiosk import`), idempotently, and what the county holds is no longer exported.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use kiosk_e2e::{Running, bin, data, eventually, run, run_json};

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn bundles(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn applications_go_out_and_decisions_come_back_by_usb_stick_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let county_dir = tmp.path().join("county");
    let station_dir = tmp.path().join("station");
    let usb = tmp.path().join("usb");
    std::fs::create_dir(&usb).unwrap();

    let (county, url) = kiosk_e2e::start_county(&county_dir);
    let listen = url.trim_start_matches("http://").to_owned();
    let prov = tmp.path().join("station.toml");
    kiosk_e2e::add_station(&county_dir, &url, &prov);
    let station_id = std::fs::read_to_string(&prov)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("station_id = "))
        .unwrap()
        .trim_matches('"')
        .to_owned();

    let kiosk = |args: &[&str]| {
        let mut c = Command::new(bin("kiosk"));
        c.arg("--data-dir").arg(&station_dir).args(args);
        c
    };
    let county_cmd = |args: &[&str]| {
        let mut c = Command::new(bin("county"));
        c.args(args).arg("--data-dir").arg(&county_dir);
        c
    };
    let county_list = || run_json(&mut county_cmd(&["applications", "--json"]));
    let status = || run_json(&mut kiosk(&["status", "--json"]));

    let out = run(kiosk(&["provision"]).arg(&prov));
    assert!(out.status.success(), "{out:?}");
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(station_dir.join("station.key")).unwrap();
        assert_eq!(
            meta.permissions().mode() & 0o777,
            0o600,
            "the signing key is private"
        );
    }

    // The link is gone for weeks.
    assert!(county.terminate().success());
    let submit = |file: &str| {
        let sub = run_json(kiosk(&["submit", "--json"]).arg(data(file)));
        sub["application_id"].as_str().unwrap().to_owned()
    };
    let elderly = submit("applications/elderly-card.json");
    let birth = submit("applications/birth-permit.json");
    assert_eq!(status()["counts"]["queued"], 2);

    // A stick that is not there: a clear sentence, nothing written anywhere.
    let missing = run(kiosk(&["export", "--to"]).arg(usb.join("not-mounted")));
    let (_, err) = text(&missing);
    assert_eq!(missing.status.code(), Some(1), "{missing:?}");
    assert!(
        err.contains("不存在") && err.contains("does not exist"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");

    let out = run(kiosk(&["export", "--to"]).arg(&usb));
    let (said, err) = text(&out);
    assert!(out.status.success(), "{said}{err}");
    assert!(
        said.contains("已导出 2 份申请") && said.contains("exported 2 applications"),
        "{said}"
    );
    let files = bundles(&usb);
    assert_eq!(
        files.len(),
        1,
        "one bundle, no temporary file left: {files:?}"
    );
    let bundle = files[0].clone();
    let name = bundle.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with(&format!("{station_id}-")) && name.ends_with("Z.kiosk-bundle"),
        "{name}"
    );
    assert!(said.contains(&*bundle.to_string_lossy()), "{said}");
    // Nothing readable on the stick without the county's key.
    let bytes = std::fs::read(&bundle).unwrap();
    let scan = std::fs::read(data("applications/scans/photo.jpg")).unwrap();
    let middle = &scan[scan.len() / 2..scan.len() / 2 + 64];
    for secret in [
        "李德华".as_bytes(),
        b"532627195003120034",
        "陶丽".as_bytes(),
        middle,
    ] {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret),
            "plaintext on the stick"
        );
    }
    // Exported applications stay in the outbox: still sent when the link returns.
    assert_eq!(status()["counts"]["queued"], 2);

    // The county takes the stick (its server is still down): new, then nothing new.
    let import = |file: &Path| run(county_cmd(&["import"]).arg(file));
    let first = import(&bundle);
    let (said, err) = text(&first);
    assert!(first.status.success(), "{said}{err}");
    assert!(said.contains("2 new, 0 already had, 0 refused"), "{said}");
    assert!(said.contains("新收 2 份"), "{said}");
    let again = import(&bundle);
    let (said, err) = text(&again);
    assert!(again.status.success(), "{said}{err}");
    assert!(said.contains("0 new, 2 already had, 0 refused"), "{said}");
    let list = county_list();
    assert_eq!(list.as_array().unwrap().len(), 2, "{list}");
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|a| a["complete"] == true),
        "{list}"
    );

    // Damaged bundles: refused as a whole with a sentence that says why; nothing stored.
    let damaged = tmp.path().join("damaged.kiosk-bundle");
    let refused = |bytes: &[u8], expect: &[&str]| {
        std::fs::write(&damaged, bytes).unwrap();
        let out = import(&damaged);
        let (said, err) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{said}{err}");
        for e in expect {
            assert!(err.contains(e), "expected {e:?} in: {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    };
    let mut flipped = bytes.clone();
    let mid = flipped.len() / 2;
    flipped[mid] ^= 0x01;
    refused(&flipped, &["签名不符", "signature does not match"]);
    refused(&bytes[..bytes.len() - 100], &["truncated"]);
    refused(
        b"PK\x03\x04 a zip file, not a bundle",
        &["not a kiosk bundle"],
    );
    assert_eq!(county_list().as_array().unwrap().len(), 2);

    // The link returns: the station's uploads are answered as already received.
    let (county, url) = start_county_at(&county_dir, &listen);
    assert!(url.ends_with(&listen), "{url}");
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(&config, "[sync]\npoll_secs = 1\n").unwrap();
    let daemon = Running::spawn(kiosk(&["run", "--headless"]).arg("--config").arg(&config));
    eventually(Duration::from_secs(60), "delivery over the link", || {
        (status()["counts"]["delivered"] == 2).then_some(())
    });
    let list = county_list();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["application_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids.len(), 2, "exactly one of each at the county: {list}");
    assert!(
        ids.contains(&elderly.as_str()) && ids.contains(&birth.as_str()),
        "{list}"
    );
    assert!(daemon.terminate().success());
    assert!(county.terminate().success());

    // Down again: a third application goes by stick only.
    let third = submit("applications/elderly-card.json");
    let out = run(kiosk(&["export", "--to"]).arg(&usb));
    let (said, _) = text(&out);
    assert!(said.contains("exported 1 application ("), "{said}");
    let newest = bundles(&usb)
        .into_iter()
        .find(|p| *p != bundle)
        .expect("a second bundle");
    let out = import(&newest);
    assert!(text(&out).0.contains("1 new, 0 already had"), "{out:?}");

    // Decisions come back by stick.
    let decide = |id: &str, args: &[&str]| {
        let out = run(county_cmd(&["decide"]).arg(id).args(args));
        assert!(out.status.success(), "{out:?}");
    };
    decide(&elderly, &["approve"]);
    decide(
        &birth,
        &[
            "reject",
            "--reason",
            "结婚证复印件不清楚 / the marriage certificate copy is unreadable",
        ],
    );
    let back = tmp.path().join("back");
    std::fs::create_dir(&back).unwrap();
    let out = run(county_cmd(&["export-decisions", "--station", &station_id])
        .arg("--to")
        .arg(&back));
    let (said, err) = text(&out);
    assert!(out.status.success(), "{said}{err}");
    assert!(
        said.contains("exported 2 decisions and 3 received applications"),
        "{said}"
    );
    let decisions = bundles(&back).pop().expect("the decisions bundle");
    assert!(
        decisions
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(&format!("decisions-{station_id}-")),
        "{decisions:?}"
    );

    // Damaged on the way: refused, nothing applied.
    let mut bad = std::fs::read(&decisions).unwrap();
    let n = bad.len() - 10;
    bad[n] ^= 0x80;
    let bad_path = tmp.path().join("bad-decisions.kiosk-bundle");
    std::fs::write(&bad_path, &bad).unwrap();
    let out = run(kiosk(&["import"]).arg(&bad_path));
    let (_, err) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        err.contains("签名不符") && err.contains("signature does not match"),
        "{err}"
    );
    // A station bundle is not a decisions bundle.
    let out = run(kiosk(&["import"]).arg(&bundle));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out).1.contains("of applications"), "{out:?}");
    assert_eq!(status()["counts"]["decided"], 0);

    let out = run(kiosk(&["import"]).arg(&decisions));
    let (said, err) = text(&out);
    assert!(out.status.success(), "{said}{err}");
    assert!(
        said.contains("1 application(s) confirmed received, 2 new decision(s)"),
        "{said}"
    );
    let st = status();
    assert_eq!(st["counts"]["decided"], 2, "{st}");
    assert_eq!(
        st["counts"]["delivered"], 1,
        "the third is held by the county: {st}"
    );
    assert_eq!(st["counts"]["queued"], 0, "{st}");
    // Again: nothing changes.
    let out = run(kiosk(&["import"]).arg(&decisions));
    assert!(
        text(&out)
            .0
            .contains("0 application(s) confirmed received, 0 new decision(s)"),
        "{out:?}"
    );
    assert_eq!(status()["counts"], st["counts"]);
    // What the county holds is no longer exported.
    let before = bundles(&usb).len();
    let out = run(kiosk(&["export", "--to"]).arg(&usb));
    assert!(out.status.success(), "{out:?}");
    assert!(text(&out).0.contains("nothing to export"), "{out:?}");
    assert_eq!(bundles(&usb).len(), before);
    let list = county_list();
    assert_eq!(list.as_array().unwrap().len(), 3, "{list}");
    assert!(list.to_string().contains(&third));

    // A lost unit is revoked: its bundles are refused.
    let out = run(&mut county_cmd(&["station", "revoke", &station_id]));
    assert!(out.status.success(), "{out:?}");
    let out = import(&newest);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(text(&out).1.contains("revoked"), "{out:?}");
}

/// `county serve` again on the address the station knows.
fn start_county_at(data_dir: &Path, listen: &str) -> (Running, String) {
    let county = Running::until_line(
        Command::new(bin("county"))
            .args(["serve", "--listen", listen, "--data-dir"])
            .arg(data_dir),
        "listening on",
        Duration::from_secs(30),
    );
    let url = county.lines.last().cloned().unwrap_or_default();
    (county, url)
}
