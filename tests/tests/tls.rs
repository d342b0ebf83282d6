//! The station side of TLS (issue 7): a `county serve --tls-cert/--tls-key` process, a
//! station registered with `county station add --tls-anchor`, `kiosk provision` storing the
//! anchor, `kiosk selftest` passing over TLS and `kiosk run` forwarding a submission; then a
//! wrong anchor named by selftest, by `kiosk status` and once in the log.

use std::process::{Command, Stdio};
use std::time::Duration;

use kiosk_e2e::{Running, bin, data, eventually, repo, run, run_json};

fn county_tls(name: &str) -> std::path::PathBuf {
    repo().join("county/tests/data/tls").join(name)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

#[test]
fn a_station_provisions_and_forwards_over_tls_and_names_a_wrong_anchor() {
    let tmp = tempfile::tempdir().unwrap();
    let county_dir = tmp.path().join("county");
    let station_dir = tmp.path().join("station");
    let county = Running::until_line(
        Command::new(bin("county"))
            .args(["serve", "--listen", "127.0.0.1:0", "--tls-cert"])
            .arg(county_tls("cert.pem"))
            .arg("--tls-key")
            .arg(county_tls("key.pem"))
            .arg("--data-dir")
            .arg(&county_dir),
        "listening on",
        Duration::from_secs(30),
    );
    let url = county.lines.last().unwrap().rsplit(' ').next().unwrap();
    assert!(url.starts_with("https://127.0.0.1:"), "{url}");

    // An https:// URL without an anchor, or with a private key for one, is refused and
    // registers nothing.
    let prov = tmp.path().join("prov.toml");
    let refused = run(&mut kiosk_e2e::station_add_command(&county_dir, url, &prov));
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("--tls-anchor"),
        "{refused:?}"
    );
    let key = run(kiosk_e2e::station_add_command(&county_dir, url, &prov)
        .arg("--tls-anchor")
        .arg(county_tls("key.pem")));
    assert_eq!(key.status.code(), Some(1), "{key:?}");
    assert!(String::from_utf8_lossy(&key.stderr).contains("private key"));
    assert!(!prov.exists());

    let added = run(kiosk_e2e::station_add_command(&county_dir, url, &prov)
        .arg("--tls-anchor")
        .arg(county_tls("ca.pem")));
    assert!(added.status.success(), "{added:?}");
    let text = std::fs::read_to_string(&prov).unwrap();
    assert!(text.contains("county_tls_anchor"), "{text}");

    let kiosk = |args: &[&str]| {
        let mut c = Command::new(bin("kiosk"));
        c.arg("--data-dir").arg(&station_dir).args(args);
        c
    };

    // The same file without its anchor: refused before the token is spent.
    let stripped = tmp.path().join("stripped.toml");
    let without: String = text.split("county_tls_anchor").next().unwrap().to_string();
    std::fs::write(&stripped, &without).unwrap();
    let out = run(kiosk(&["provision"]).arg(&stripped));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("信任锚") && err.contains("trust anchor"),
        "{err}"
    );

    let out = run(kiosk(&["provision"]).arg(&prov));
    assert!(out.status.success(), "{out:?}");
    let anchor = station_dir.join("county-tls-anchor.pem");
    assert_eq!(
        std::fs::read(&anchor).unwrap(),
        std::fs::read(county_tls("ca.pem")).unwrap()
    );

    let report = run_json(&mut kiosk(&["selftest", "--json", "--simulate"]));
    let c = check(&report, "county");
    assert_eq!(c["ok"], true, "{c}");
    assert!(c["detail"].as_str().unwrap().contains("TLS"), "{c}");

    // Forwarded over TLS.
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(&config, "[sync]\npoll_secs = 1\n").unwrap();
    let mut cmd = kiosk(&["run", "--headless"]);
    cmd.arg("--config").arg(&config);
    let daemon = Running::spawn(&mut cmd);
    let sub = run_json(kiosk(&["submit", "--json"]).arg(data("applications/elderly-card.json")));
    let id = sub["application_id"].as_str().unwrap().to_string();
    eventually(Duration::from_secs(60), "delivery over TLS", || {
        let st = run_json(&mut kiosk(&["status", "--json"]));
        (st["counts"]["delivered"] == 1).then_some(())
    });
    let list = run_json(
        Command::new(bin("county"))
            .args(["applications", "--json", "--data-dir"])
            .arg(&county_dir),
    );
    assert_eq!(list[0]["application_id"], id.as_str(), "{list}");
    assert_eq!(list[0]["complete"], true, "{list}");
    assert!(daemon.terminate().success());

    // The wrong anchor: selftest names it, in both languages, with what to do.
    std::fs::copy(data("tls/other-ca.pem"), &anchor).unwrap();
    let out = run(&mut kiosk(&["selftest", "--json", "--simulate"]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let c = check(&report, "county");
    assert_eq!(c["ok"], false, "{c}");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("不受信任") && detail.contains("not trusted"),
        "{c}"
    );
    assert!(detail.contains("UnknownIssuer"), "{c}");
    assert!(
        c["action"]
            .as_str()
            .unwrap()
            .contains("new provisioning file"),
        "{c}"
    );

    // The daemon with the wrong anchor: the submission waits, `kiosk status` says why, and
    // the log says it once, not once per retry.
    let log_path = tmp.path().join("daemon.log");
    let child = kiosk(&["run", "--headless"])
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let daemon = Running {
        child,
        lines: Vec::new(),
    };
    run_json(kiosk(&["submit", "--json"]).arg(data("applications/elderly-card.json")));
    let error = eventually(Duration::from_secs(60), "the link error in status", || {
        let st = run_json(&mut kiosk(&["status", "--json"]));
        st["last_error"]
            .as_str()
            .filter(|e| e.contains("not trusted"))
            .map(str::to_owned)
    });
    assert!(error.contains("UnknownIssuer"), "{error}");
    // A few more rounds (polling every second, backing off).
    std::thread::sleep(Duration::from_secs(5));
    assert!(daemon.terminate().success());
    let st = run_json(&mut kiosk(&["status", "--json"]));
    assert_eq!(st["counts"]["delivered"], 1, "{st}");
    let log = std::fs::read_to_string(&log_path).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("不受信任")).count(),
        1,
        "{log}"
    );
    assert!(county.terminate().success());
}
