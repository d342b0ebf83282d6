//! The receipt printer and the LEDs end to end: the real `kiosk printer sim` (the ESC/POS
//! simulator on a pseudo-terminal, writing each receipt as a PNG) and the real
//! `kiosk receipt` driver process printing to it; the PNG is read back and its QR decoded.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kiosk_e2e::{Running, bin, eventually, run};

fn start_sim(out: &Path, faults: &[&str]) -> (Running, String) {
    let mut cmd = Command::new(bin("kiosk"));
    cmd.args(["printer", "sim", "--out"]).arg(out).args(faults);
    let sim = Running::until_line(&mut cmd, "/", Duration::from_secs(30));
    let device = sim.lines[0].trim().to_string();
    assert!(
        device.starts_with("/dev/"),
        "first line is the device: {:?}",
        sim.lines
    );
    (sim, device)
}

fn receipt(device: &str, test: bool) -> std::process::Output {
    let mut c = Command::new(bin("kiosk"));
    c.args(["receipt", "--device", device]);
    if test {
        c.arg("--test");
    }
    run(&mut c)
}

fn pngs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    v.retain(|p| p.extension().is_some_and(|e| e == "png"));
    v.sort();
    v
}

/// The QR codes in a PNG, decoded.
fn qr_codes(png_path: &Path) -> Vec<String> {
    let file = std::fs::File::open(png_path).unwrap();
    let mut dec = png::Decoder::new(std::io::BufReader::new(file));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut reader = dec.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.width, 384, "58 mm at 203 dpi");
    assert_eq!(info.color_type, png::ColorType::Grayscale);
    let (w, h) = (info.width as usize, info.height as usize);
    let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
    img.detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect()
}

#[test]
fn a_test_receipt_prints_to_the_simulator_and_its_png_carries_the_qr() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("receipts");
    let (sim, device) = start_sim(&out, &[]);

    let status_only = receipt(&device, false);
    assert_eq!(status_only.status.code(), Some(0), "{status_only:?}");
    assert_eq!(
        String::from_utf8_lossy(&status_only.stdout),
        "打印机状态 / printer status: 正常 / ready\n"
    );
    assert!(pngs(&out).is_empty(), "a status query prints nothing");

    let printed = receipt(&device, true);
    assert_eq!(printed.status.code(), Some(0), "{printed:?}");
    let stdout = String::from_utf8_lossy(&printed.stdout);
    assert!(stdout.contains("正常 / ready"), "{stdout}");
    assert!(stdout.contains("test receipt printed"), "{stdout}");

    let files = eventually(Duration::from_secs(10), "the receipt PNG", || {
        let f = pngs(&out);
        (!f.is_empty()).then_some(f)
    });
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(files[0].ends_with("receipt-0001.png"));
    assert_eq!(qr_codes(&files[0]), vec!["000000-TEST-0000".to_string()]);

    assert!(sim.terminate().success());
}

#[test]
fn out_of_paper_cover_open_and_silence_exit_1_in_plain_words() {
    for (fault, words) in [
        ("--paper-out", "缺纸 / out of paper"),
        ("--cover-open", "纸仓盖未关 / cover open"),
        ("--silent", "did not answer"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (sim, device) = start_sim(dir.path(), &[fault]);
        let out = receipt(&device, true);
        assert_eq!(out.status.code(), Some(1), "{fault}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("kiosk: "), "{fault}: {stderr}");
        assert!(stderr.contains(words), "{fault}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
        // Give the simulator time to write anything it (wrongly) printed.
        std::thread::sleep(Duration::from_millis(300));
        assert!(pngs(dir.path()).is_empty(), "{fault}: nothing printed");
        assert!(sim.terminate().success());
    }
}

#[test]
fn a_missing_printer_exits_1() {
    let out = receipt("/dev/no-such-receipt-printer", true);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("there is no receipt printer"),
        "{out:?}"
    );
}

#[test]
fn leds_test_runs_every_pattern_and_says_which_backend() {
    let out = run(Command::new(bin("kiosk")).args(["leds", "--test"]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let on_pi = std::fs::read_to_string("/proc/device-tree/model")
        .is_ok_and(|m| m.contains("Raspberry Pi"));
    let first = text.lines().next().unwrap_or_default();
    if on_pi {
        assert!(first.contains("real GPIO"), "{text}");
    } else {
        assert!(first.contains("simulated"), "{text}");
        for led in ["link LED", "backlog LED", "fault LED"] {
            for p in ["steady", "blink", "off"] {
                assert!(text.contains(&format!("{led}: {p}")), "{text}");
            }
            assert!(
                !text.contains(&format!("{led}: switched on 0 times")),
                "{text}"
            );
        }
        assert!(text.contains("buzzer: short beep"), "{text}");
        assert!(text.contains("buzzer: long beep"), "{text}");
        assert!(text.contains("buzzer: switched on 2 times"), "{text}");
    }
}

/// The counter's submit step with `--print`: the application is stored first, then its
/// receipt goes to the configured printer; the receipt's QR carries the tracking number.
/// With the printer out of paper, the application is still stored and the answer says why.
#[test]
fn a_submission_prints_its_receipt_and_a_printer_problem_loses_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("receipts");
    std::fs::create_dir_all(&out).unwrap();
    let (sim, device) = start_sim(&out, &[]);
    let config = tmp.path().join("kiosk.toml");
    std::fs::write(
        &config,
        format!("[devices]\nprinter = {device:?}\n[receipt]\nhotline = \"0876-12345\"\n"),
    )
    .unwrap();
    let station = tmp.path().join("station");
    // A provisioned station (applications are sealed to the county's key).
    let county_dir = tmp.path().join("county");
    let (_county, url) = kiosk_e2e::start_county(&county_dir);
    let prov = tmp.path().join("prov.toml");
    kiosk_e2e::add_station(&county_dir, &url, &prov);
    let provisioned = run(Command::new(bin("kiosk"))
        .arg("--data-dir")
        .arg(&station)
        .arg("provision")
        .arg(&prov));
    assert!(provisioned.status.success(), "{provisioned:?}");
    let submit = || {
        let mut c = Command::new(bin("kiosk"));
        c.arg("--data-dir")
            .arg(&station)
            .arg("--config")
            .arg(&config)
            .args(["submit", "--json", "--print"])
            .arg(kiosk_e2e::data("applications/elderly-card.json"));
        run(&mut c)
    };
    let done = submit();
    assert!(done.status.success(), "{done:?}");
    let answer: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_eq!(answer["receipt"], "printed", "{answer}");
    let tracking = answer["tracking_number"].as_str().unwrap().to_string();
    let png = eventually(Duration::from_secs(20), "the receipt PNG", || {
        pngs(&out).into_iter().next()
    });
    assert_eq!(qr_codes(&png), vec![tracking]);
    drop(sim);

    // Out of paper: stored all the same (exit 0), and the answer names the problem.
    let out2 = tmp.path().join("receipts-2");
    std::fs::create_dir_all(&out2).unwrap();
    let (_sim2, device2) = start_sim(&out2, &["--paper-out"]);
    std::fs::write(&config, format!("[devices]\nprinter = {device2:?}\n")).unwrap();
    let done = submit();
    assert!(done.status.success(), "{done:?}");
    let answer: serde_json::Value = serde_json::from_slice(&done.stdout).unwrap();
    assert_ne!(answer["receipt"], "printed", "{answer}");
    assert!(
        answer["receipt"].as_str().unwrap().contains("paper"),
        "{answer}"
    );
    let mut status = Command::new(bin("kiosk"));
    status
        .arg("--data-dir")
        .arg(&station)
        .args(["status", "--json"]);
    let st = kiosk_e2e::run_json(&mut status);
    assert_eq!(st["total"], 2, "{st}");
}
