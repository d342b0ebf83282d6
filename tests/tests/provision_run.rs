//! The real deployment shape: a `county serve` process, a station registered with
//! `county station add`, `kiosk provision` with the file it wrote, and `kiosk run --headless`
//! forwarding a submission and bringing the clerk's decision back.

use std::process::Command;
use std::time::Duration;

use kiosk_e2e::{Running, bin, data, eventually, run, run_json};

#[test]
fn provision_run_submit_and_the_decision_comes_back() {
    let tmp = tempfile::tempdir().unwrap();
    let county_dir = tmp.path().join("county");
    let station_dir = tmp.path().join("station");
    let (county, url) = kiosk_e2e::start_county(&county_dir);
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    let prov = tmp.path().join("station.toml");
    kiosk_e2e::add_station(&county_dir, &url, &prov);
    let prov_copy = std::fs::read(&prov).unwrap();

    let kiosk = |args: &[&str]| {
        let mut c = Command::new(bin("kiosk"));
        c.arg("--data-dir").arg(&station_dir).args(args);
        c
    };
    let out = run(kiosk(&["provision"]).arg(&prov));
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("enrolled"));
    assert!(
        !prov.exists(),
        "the spent provisioning file must be removed"
    );

    // The token works once: the same file again is refused with a plain sentence.
    std::fs::write(&prov, &prov_copy).unwrap();
    let again = run(kiosk(&["provision"]).arg(&prov));
    assert_eq!(again.status.code(), Some(1), "{again:?}");
    let err = String::from_utf8_lossy(&again.stderr);
    assert!(err.contains("refused"), "{err}");
    assert!(prov.exists(), "a refused file is left alone");

    let config = tmp.path().join("kiosk.toml");
    std::fs::write(&config, "[sync]\npoll_secs = 1\n").unwrap();
    let mut cmd = kiosk(&["run", "--headless"]);
    cmd.arg("--config").arg(&config);
    let daemon = Running::spawn(&mut cmd);

    let sub = run_json(kiosk(&["submit", "--json"]).arg(data("applications/elderly-card.json")));
    let id = sub["application_id"].as_str().unwrap().to_string();
    let tracking = sub["tracking_number"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(60), "delivery", || {
        let st = run_json(&mut kiosk(&["status", "--json"]));
        (st["counts"]["delivered"] == 1).then_some(())
    });

    let approve = run(Command::new(bin("county"))
        .arg("decide")
        .arg("--data-dir")
        .arg(&county_dir)
        .arg(&id)
        .arg("approve"));
    assert!(approve.status.success(), "{approve:?}");
    eventually(
        Duration::from_secs(60),
        "the decision at the station",
        || {
            let st = run_json(&mut kiosk(&["status", "--json"]));
            (st["counts"]["decided"] == 1).then_some(())
        },
    );

    // Not ready yet: the operator's hand-over is refused in plain words.
    let early = run(&mut kiosk(&["handover", &tracking]));
    assert_eq!(early.status.code(), Some(1), "{early:?}");
    assert!(String::from_utf8_lossy(&early.stderr).contains("not ready"));

    let decide = |kind: &str| {
        let out = run(Command::new(bin("county"))
            .arg("decide")
            .arg("--data-dir")
            .arg(&county_dir)
            .arg(&id)
            .arg(kind));
        assert!(out.status.success(), "{out:?}");
    };
    decide("ready");
    eventually(Duration::from_secs(60), "ready at the station", || {
        let st = run_json(&mut kiosk(&["status", "--json"]));
        (st["counts"]["ready"] == 1).then_some(())
    });
    let out = run(&mut kiosk(&["handover", &tracking]));
    assert!(out.status.success(), "{out:?}");
    eventually(
        Duration::from_secs(60),
        "the hand-over at the county",
        || {
            let list = run_json(
                Command::new(bin("county"))
                    .arg("applications")
                    .arg("--data-dir")
                    .arg(&county_dir)
                    .arg("--json"),
            );
            (list[0]["state"] == "handed_over").then_some(())
        },
    );
    let st = run_json(&mut kiosk(&["status", "--json"]));
    assert_eq!(st["counts"]["handed_over"], 1, "{st}");

    assert!(daemon.terminate().success());
    assert!(county.terminate().success());
}
