//! Field operations (issue 9): a provisioned station run as systemd runs it — readiness and
//! watchdog notifications on a real notify socket — and `kiosk selftest` passing, then naming
//! the device that was unplugged and the county link that went away.

use std::os::unix::net::UnixDatagram;
use std::process::Command;
use std::time::{Duration, Instant};

use kiosk_e2e::{Running, bin, data, run, run_json};

struct Station {
    _tmp: tempfile::TempDir,
    dir: std::path::PathBuf,
    county_dir: std::path::PathBuf,
    root: std::path::PathBuf,
}

impl Station {
    fn kiosk(&self, args: &[&str]) -> Command {
        let mut c = Command::new(bin("kiosk"));
        c.arg("--data-dir").arg(&self.dir).args(args);
        c
    }
}

/// A county server and a station provisioned with it.
fn provisioned() -> (Running, Station) {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().to_path_buf();
    let county_dir = root.join("county");
    let dir = root.join("station");
    let (county, url) = kiosk_e2e::start_county(&county_dir);
    let prov = root.join("prov.toml");
    kiosk_e2e::add_station(&county_dir, &url, &prov);
    let st = Station {
        _tmp: tmp,
        dir,
        county_dir,
        root,
    };
    let out = run(st.kiosk(&["provision"]).arg(&prov));
    assert!(out.status.success(), "{out:?}");
    (county, st)
}

/// The printer simulator as a separate process; returns it and its device path.
fn printer_sim(root: &std::path::Path) -> (Running, String) {
    let sim = Running::until_line(
        Command::new(bin("kiosk"))
            .args(["printer", "sim", "--out"])
            .arg(root.join("receipts")),
        "/",
        Duration::from_secs(20),
    );
    let device = sim.lines[0].trim().to_string();
    (sim, device)
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

/// `kiosk selftest --json` that is expected to fail: exit 1, JSON on stdout.
fn failing_selftest(cmd: &mut Command) -> serde_json::Value {
    let out = run(cmd);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn selftest_passes_then_names_the_unplugged_reader_and_the_lost_county() {
    let (county, st) = provisioned();

    // Simulated devices: everything passes.
    let report = run_json(&mut st.kiosk(&["selftest", "--json", "--simulate"]));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["simulated"], true);
    for name in [
        "reader", "scanner", "printer", "leds", "disk", "database", "clock", "county",
    ] {
        let c = check(&report, name);
        assert_eq!(c["ok"], true, "{name}: {c}");
        assert!(c["action"].is_null());
    }
    assert!(
        check(&report, "reader")["detail"]
            .as_str()
            .unwrap()
            .contains("SAM")
    );

    // A "real" reader at a stable name, as udev makes it: the simulator as a separate
    // process behind a symlink, named in the configuration.
    let link = st.root.join("kiosk-idcard");
    let sim = Running::until_line(
        Command::new(bin("kiosk"))
            .args(["card", "sim", "--cards"])
            .arg(data("cards/cards.json"))
            .arg("--link")
            .arg(&link),
        "kiosk card sim:",
        Duration::from_secs(20),
    );
    let (_printer, printer) = printer_sim(&st.root);
    let config = st.root.join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[devices]\nidcard = {:?}\nprinter = {printer:?}\nscanner = \"sim\"\n",
            link.to_str().unwrap()
        ),
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        let mut c = st.kiosk(args);
        c.arg("--config").arg(&config);
        c
    };
    let report = run_json(&mut with_config(&["selftest", "--json"]));
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["simulated"], false);

    // Unplugged: the reader check fails and says what to do; the rest still passes.
    drop(sim);
    let report = failing_selftest(&mut with_config(&["selftest", "--json"]));
    assert_eq!(report["ok"], false);
    let reader = check(&report, "reader");
    assert_eq!(reader["ok"], false, "{reader}");
    assert!(
        reader["action"].as_str().unwrap().contains("USB"),
        "{reader}"
    );
    for name in [
        "scanner", "printer", "leds", "disk", "database", "clock", "county",
    ] {
        assert_eq!(check(&report, name)["ok"], true, "{name}: {report}");
    }
    // The plain-text form names it too, one line per check.
    let out = run(&mut with_config(&["selftest"]));
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines()
            .any(|l| l.starts_with("失败 FAIL") && l.contains("reader")),
        "{text}"
    );
    assert_eq!(
        text.lines().filter(|l| l.starts_with("通过 PASS")).count(),
        7,
        "{text}"
    );

    // The county gone: the link check fails, the devices still pass.
    assert!(county.terminate().success());
    let report = failing_selftest(&mut st.kiosk(&["selftest", "--json", "--simulate"]));
    let link_check = check(&report, "county");
    assert_eq!(link_check["ok"], false, "{link_check}");
    assert!(link_check["detail"].as_str().unwrap().contains("county"));
    assert_eq!(check(&report, "reader")["ok"], true);
    let _ = &st.county_dir;
}

#[test]
fn a_revoked_or_wrong_credential_is_named_by_selftest() {
    let (county, st) = provisioned();
    // Spoil the stored credential: the county refuses it, and selftest says so in words.
    let path = st.dir.join("station.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let spoiled: String = text
        .lines()
        .map(|l| {
            if l.starts_with("credential") {
                "credential = \"not-a-real-credential\"".to_string()
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(&path, spoiled).unwrap();
    let report = failing_selftest(&mut st.kiosk(&["selftest", "--json", "--simulate"]));
    let c = check(&report, "county");
    assert_eq!(c["ok"], false, "{c}");
    assert!(c["detail"].as_str().unwrap().contains("credential"), "{c}");
    assert!(county.terminate().success());
}

#[test]
fn run_tells_systemd_it_is_ready_and_pets_the_watchdog() {
    let (county, st) = provisioned();
    let socket_path = st.root.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = st.root.join("kiosk.toml");
    std::fs::write(&config, "[sync]\npoll_secs = 1\n").unwrap();
    let mut cmd = st.kiosk(&["run", "--headless", "--simulate"]);
    cmd.arg("--config")
        .arg(&config)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", "400000");
    let daemon = Running::spawn(&mut cmd);

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        if let Ok(n) = socket.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
        let ready = seen.iter().any(|m| m.lines().any(|l| l == "READY=1"));
        let pets = seen
            .iter()
            .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
            .count();
        if ready && pets >= 3 {
            break;
        }
    }
    assert!(
        seen.iter().any(|m| m.lines().any(|l| l == "READY=1")),
        "no READY=1 in {seen:?}"
    );
    let pets = seen
        .iter()
        .filter(|m| m.lines().any(|l| l == "WATCHDOG=1"))
        .count();
    assert!(pets >= 3, "the watchdog was petted {pets} times: {seen:?}");

    // A submission still goes through while it runs (the daemon is really serving).
    run_json(
        st.kiosk(&["submit", "--json"])
            .arg(data("applications/elderly-card.json")),
    );
    kiosk_e2e::eventually(Duration::from_secs(60), "delivery", || {
        let s = run_json(&mut st.kiosk(&["status", "--json"]));
        (s["counts"]["delivered"] == 1).then_some(())
    });

    assert!(daemon.terminate().success());
    let mut stopping = false;
    while let Ok(n) = socket.recv(&mut buf) {
        stopping |= String::from_utf8_lossy(&buf[..n])
            .lines()
            .any(|l| l == "STOPPING=1");
    }
    assert!(stopping, "no STOPPING=1 after SIGTERM");
    assert!(county.terminate().success());
}

#[test]
fn under_systemd_log_lines_carry_their_priority_and_no_colour() {
    use std::io::{BufRead, BufReader};
    let (county, st) = provisioned();
    let config = st.root.join("kiosk.toml");
    let missing = st.root.join("no-reader-here");
    std::fs::write(
        &config,
        format!("[devices]\nidcard = {:?}\n", missing.to_str().unwrap()),
    )
    .unwrap();
    let mut child = st
        .kiosk(&["run", "--headless"])
        .arg("--config")
        .arg(&config)
        .env("JOURNAL_STREAM", "8:4242")
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            let done = l.contains("card reader lost");
            lines.push(l);
            if done {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    let lost = lines
        .iter()
        .find(|l| l.contains("card reader lost"))
        .unwrap_or_else(|| panic!("the missing reader was not logged: {lines:?}"));
    assert!(lost.starts_with("<4>"), "{lost}");
    assert!(lines.iter().all(|l| !l.contains('\u{1b}')), "{lines:?}");
    assert!(lines.iter().all(|l| l.starts_with('<')), "{lines:?}");
    assert!(county.terminate().success());
}

#[test]
fn selftest_beside_the_running_kiosk_asks_it_about_the_reader() {
    let (county, st) = provisioned();
    let link = st.root.join("kiosk-idcard");
    let sim = Running::until_line(
        Command::new(bin("kiosk"))
            .args(["card", "sim", "--cards"])
            .arg(data("cards/cards.json"))
            .arg("--link")
            .arg(&link),
        "kiosk card sim:",
        Duration::from_secs(20),
    );
    let (_printer, printer) = printer_sim(&st.root);
    let config = st.root.join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[sync]\npoll_secs = 1\n[devices]\nidcard = {:?}\nprinter = {printer:?}\n\
             scanner = \"sim\"\n",
            link.to_str().unwrap()
        ),
    )
    .unwrap();
    let with_config = |args: &[&str]| {
        let mut c = st.kiosk(args);
        c.arg("--config").arg(&config);
        c
    };
    let daemon = Running::spawn(&mut with_config(&["run", "--headless"]));
    // Once the daemon holds the port, selftest reports what the daemon heard from the reader
    // (until the daemon has opened it, selftest may still open it itself).
    let report =
        kiosk_e2e::eventually(Duration::from_secs(30), "reader held by the daemon", || {
            let out = run(&mut with_config(&["selftest", "--json"]));
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
            let detail = check(&report, "reader")["detail"].as_str()?.to_string();
            (report["ok"] == true && detail.contains("running kiosk")).then_some(report)
        });
    let reader = check(&report, "reader");
    assert!(
        reader["detail"].as_str().unwrap().contains("running kiosk"),
        "{reader}"
    );

    // Unplugged while the kiosk runs: the port is free again and gone, so selftest sees it.
    drop(sim);
    let report = kiosk_e2e::eventually(Duration::from_secs(30), "reader lost", || {
        let out = run(&mut with_config(&["selftest", "--json"]));
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
        (check(&report, "reader")["ok"] == false).then_some(report)
    });
    assert!(
        check(&report, "reader")["action"]
            .as_str()
            .unwrap()
            .contains("USB"),
        "{report}"
    );
    // That report reaches the county with the daemon's next contact (its dashboard shows
    // the failing reader).
    let db = st.county_dir.join("county.sqlite3");
    let stored = kiosk_e2e::eventually(
        Duration::from_secs(30),
        "the self-test at the county",
        || {
            let conn = rusqlite::Connection::open(&db).ok()?;
            conn.query_row("SELECT ok, report FROM station_selftests", [], |r| {
                Ok((r.get::<_, bool>(0)?, r.get::<_, String>(1)?))
            })
            .ok()
            .filter(|(ok, _)| !ok)
        },
    );
    let sent: serde_json::Value = serde_json::from_str(&stored.1).unwrap();
    assert!(
        sent["checks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["name"] == "reader" && c["ok"] == false),
        "{sent}"
    );
    // The boot gate ignores the devices and the link.
    assert!(county.terminate().success());
    let boot = run_json(&mut with_config(&["selftest", "--json", "--boot"]));
    assert_eq!(boot["ok"], true, "{boot}");
    let names: Vec<&str> = boot["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["disk", "database"]);
    assert!(daemon.terminate().success());
}

/// Issue 6: a corrupt database page must not turn into a restart loop with a blank screen.
/// `kiosk run` comes up degraded: systemd hears READY=1 and the watchdog is petted, the fault
/// LED is steady, `status` and `selftest` say what happened and what to do, a submission is
/// refused with one plain sentence, and the damaged file and the stored scans are left
/// exactly as they were (no sweep, no migration, no checkpoint, no repair).
#[test]
fn a_corrupt_database_runs_degraded_and_touches_nothing() {
    let (county, st) = provisioned();
    for sample in [
        "applications/elderly-card.json",
        "applications/birth-permit.json",
    ] {
        run_json(st.kiosk(&["submit", "--json"]).arg(data(sample)));
    }
    // Damage every page but the first (header and schema), as the outbox's unit test does.
    let db = st.dir.join("outbox.sqlite3");
    assert!(
        std::fs::metadata(st.dir.join("outbox.sqlite3-wal")).map_or(0, |m| m.len()) == 0,
        "the last `kiosk submit` checkpointed"
    );
    let mut bytes = std::fs::read(&db).unwrap();
    let page = match u16::from_be_bytes([bytes[16], bytes[17]]) {
        1 => 65_536,
        n => usize::from(n),
    };
    assert!(bytes.len() >= 3 * page, "{} bytes", bytes.len());
    for p in (page..bytes.len()).step_by(page) {
        bytes[p..p + 64].copy_from_slice(&[0xA5; 64]);
    }
    std::fs::write(&db, &bytes).unwrap();
    let blobs = || -> Vec<(String, String)> {
        let mut files: Vec<(String, String)> = std::fs::read_dir(st.dir.join("blobs"))
            .unwrap()
            .flatten()
            .filter(|d| d.path().is_dir())
            .flat_map(|d| std::fs::read_dir(d.path()).unwrap().flatten())
            .map(|f| {
                let p = f.path();
                (p.display().to_string(), kiosk_e2e::sha256_file(&p))
            })
            .collect();
        files.sort();
        files
    };
    let scans = blobs();
    assert!(scans.len() >= 2, "{scans:?}");

    let socket_path = st.root.join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let config = st.root.join("kiosk.toml");
    std::fs::write(&config, "[sync]\npoll_secs = 1\n").unwrap();
    let log = st.root.join("kiosk.log");
    let daemon = Running {
        child: st
            .kiosk(&["run", "--headless", "--simulate"])
            .arg("--config")
            .arg(&config)
            .env("NOTIFY_SOCKET", &socket_path)
            .env("WATCHDOG_USEC", "400000")
            .env("JOURNAL_STREAM", "8:1")
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
        lines: Vec::new(),
    };

    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut buf = [0u8; 4096];
    let count =
        |seen: &[String], what: &str| seen.iter().filter(|m| m.lines().any(|l| l == what)).count();
    while Instant::now() < deadline
        && (count(&seen, "READY=1") == 0 || count(&seen, "WATCHDOG=1") < 3)
    {
        if let Ok(n) = socket.recv(&mut buf) {
            seen.push(String::from_utf8_lossy(&buf[..n]).to_string());
        }
    }
    let log_text = || std::fs::read_to_string(&log).unwrap_or_default();
    assert_eq!(count(&seen, "READY=1"), 1, "{seen:?}\n{}", log_text());
    assert!(count(&seen, "WATCHDOG=1") >= 3, "{seen:?}\n{}", log_text());
    assert!(
        seen.iter()
            .any(|m| m.contains("STATUS=degraded: database_corrupt")),
        "{seen:?}"
    );
    kiosk_e2e::eventually(Duration::from_secs(20), "the steady fault LED", || {
        log_text()
            .lines()
            .any(|l| l.contains("LEDs set") && l.contains("fault=Steady"))
            .then_some(())
    });

    // The operator's and the technician's view, beside the running daemon.
    let status = run_json(&mut st.kiosk(&["status", "--json"]));
    assert_eq!(status["health"], "database_corrupt", "{status}");
    let message = status["health_message"].as_str().unwrap();
    assert!(
        message.contains("call support") && message.contains("Do not switch off"),
        "{message}"
    );
    assert!(
        status["counts"].is_null(),
        "nothing can be read, nothing is made up: {status}"
    );
    let out = run(&mut st.kiosk(&["status"]));
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("the local database is damaged"));

    let report = failing_selftest(&mut st.kiosk(&["selftest", "--json", "--boot"]));
    let c = check(&report, "database");
    assert_eq!(c["ok"], false, "{c}");
    assert!(
        c["detail"]
            .as_str()
            .unwrap()
            .contains("the local database is damaged"),
        "{c}"
    );
    assert!(
        c["action"].as_str().unwrap().contains("call support"),
        "{c}"
    );

    let out = run(st
        .kiosk(&["submit", "--json"])
        .arg(data("applications/elderly-card.json")));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("the local database is damaged")
            && said.contains("nothing of this application was stored")
            && !said.contains("panicked"),
        "{said}"
    );
    assert!(out.stdout.is_empty(), "{out:?}");

    // Still up after all that, then stopped as systemd stops it.
    assert!(count(&seen, "STOPPING=1") == 0);
    assert!(daemon.terminate().success(), "{}", log_text());
    assert_eq!(
        std::fs::read(&db).unwrap(),
        bytes,
        "the damaged file was written"
    );
    assert_eq!(blobs(), scans, "stored scans changed");
    assert!(county.terminate().success());
}

/// Devices the daemon cannot see are named (journal, fault LED) without waiting for the
/// operator to need them, and cleared once they are back; the rest keeps working.
#[test]
fn a_missing_printer_and_scanner_are_named_then_cleared_when_plugged() {
    let (_county, st) = provisioned();
    let printer_link = st.root.join("kiosk-printer");
    let config = st.root.join("kiosk.toml");
    std::fs::write(
        &config,
        format!(
            "[sync]\npoll_secs = 1\n[devices]\nidcard = {:?}\nprinter = {:?}\n\
             scanner = \"v4l2:/dev/no-such-camera\"\n",
            st.root.join("no-reader").to_str().unwrap(),
            printer_link.to_str().unwrap()
        ),
    )
    .unwrap();
    let log = st.root.join("kiosk.log");
    let _daemon = Running {
        child: st
            .kiosk(&["run", "--headless"])
            .arg("--config")
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap(),
        lines: Vec::new(),
    };
    // Without a journal the log is coloured: read it without the escape sequences.
    let log_text = || {
        let raw = std::fs::read_to_string(&log).unwrap_or_default();
        let mut plain = String::with_capacity(raw.len());
        let mut chars = raw.chars();
        while let Some(c) = chars.next() {
            if c == '\u{1b}' {
                chars.by_ref().find(|c| *c == 'm');
            } else {
                plain.push(c);
            }
        }
        plain
    };
    let said = |device: &str, what: &str| {
        log_text()
            .lines()
            .any(|l| l.contains(what) && l.contains(&format!("device={device}")))
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !(said("Printer", "device fault") && said("Scanner", "device fault")) {
        assert!(
            Instant::now() < deadline,
            "printer and scanner not named: {}",
            log_text()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let text = log_text();
    assert!(
        text.contains("Receipt printer not connected: check its power and USB cable"),
        "{text}"
    );
    assert!(text.contains("Scanner not found"), "{text}");
    kiosk_e2e::eventually(Duration::from_secs(20), "the blinking fault LED", || {
        log_text()
            .lines()
            .any(|l| l.contains("LEDs set") && l.contains("fault=Blink"))
            .then_some(())
    });

    // The printer is plugged in (its stable name appears): cleared at the next look.
    let (_printer, device) = printer_sim(&st.root);
    std::os::unix::fs::symlink(&device, &printer_link).unwrap();
    kiosk_e2e::eventually(Duration::from_secs(40), "the printer fault cleared", || {
        said("Printer", "device fault cleared").then_some(())
    });
    assert!(
        !said("Scanner", "device fault cleared"),
        "the scanner is still missing: {}",
        log_text()
    );
}
