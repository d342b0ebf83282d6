//! The ID-card commands end to end: the real `kiosk card sim` (the GA 467 simulator on a
//! pseudo-terminal) and the real `kiosk card read` driver process reading from it.

use std::process::Command;
use std::time::Duration;

use kiosk_e2e::{Running, bin, data, run, run_json};
use serde_json::Value;

fn read(device: &str, extra: &[&str]) -> Command {
    let mut c = Command::new(bin("kiosk"));
    c.args(["card", "read", "--device", device]).args(extra);
    c
}

#[test]
fn card_read_prints_each_card_of_the_simulator_then_times_out_with_status_3() {
    let mut sim_cmd = Command::new(bin("kiosk"));
    sim_cmd
        .args(["card", "sim", "--cards"])
        .arg(data("cards/cards.json"));
    let sim = Running::until_line(&mut sim_cmd, "/", Duration::from_secs(30));
    let device = sim.lines[0].trim().to_string();
    assert!(
        device.starts_with("/dev/"),
        "first line is the device: {:?}",
        sim.lines
    );

    // 1. A resident (Yi) card with a 35-character address and an additional address.
    let v = run_json(&mut read(&device, &["--json"]));
    let obj = v.as_object().expect("one JSON object");
    assert_eq!(obj.len(), 22, "{v}");
    assert_eq!(v["card_type"], "resident");
    assert_eq!(v["name"], "李德华");
    assert_eq!(v["english_name"], Value::Null);
    assert_eq!(v["gender"], "male");
    assert_eq!(v["nation_code"], "07");
    assert_eq!(v["nation"], "彝");
    assert_eq!(v["birth_date"], "1950-03-12");
    assert_eq!(v["address"].as_str().unwrap().chars().count(), 35, "{v}");
    assert_eq!(v["extra_address"], "云南省文山州广南县莲城镇新街88号");
    assert_eq!(v["id_number"], "532627195003120034");
    assert_eq!(v["id_checksum_ok"], true);
    assert_eq!(v["issuing_authority"], "广南县公安局");
    assert_eq!(v["valid_from"], "2020-01-01");
    assert_eq!(v["valid_until"], Value::Null);
    assert_eq!(v["long_term"], true);
    assert_eq!(v["expired"], false);
    assert_eq!(v["nationality"], Value::Null);
    assert_eq!(v["pass_number"], Value::Null);
    assert_eq!(v["issue_count"], Value::Null);
    let sha = v["photo_sha256"].as_str().unwrap();
    assert!(
        sha.len() == 64 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
        "{v}"
    );
    assert_eq!(v["fingerprint_count"], 2);
    assert_eq!(v["sam_id"], "05.01-20190101-0000000001-0000000002");

    // 2. An ID ending in X, a name outside GBK (䶮), a validity that has ended.
    let v = run_json(&mut read(&device, &["--json", "--timeout", "10"]));
    assert_eq!(v["name"], "阿䶮");
    assert_eq!(v["id_number"], "53262719950214002X");
    assert_eq!(v["id_checksum_ok"], true);
    assert_eq!(v["gender"], "female");
    assert_eq!(v["nation"], "苗");
    assert_eq!(v["valid_until"], "2025-02-14");
    assert_eq!(v["long_term"], false);
    assert_eq!(v["expired"], true);
    assert_eq!(v["extra_address"], Value::Null);
    assert_eq!(v["fingerprint_count"], 1);

    // 3. The 2017 foreign card, for a person, in Chinese.
    let out = run(&mut read(&device, &[]));
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("证件类型：外国人永久居留身份证（2017版）"),
        "{text}"
    );
    assert!(text.contains("英文姓名：SMITH, JOHN PAUL"), "{text}");
    assert!(text.contains("国籍：USA"), "{text}");

    // 4. The HK/Macao/Taiwan residence permit.
    let v = run_json(&mut read(&device, &["--json"]));
    assert_eq!(v["card_type"], "hmt_residence_permit");
    assert_eq!(v["pass_number"], "H12345678");
    assert_eq!(v["issue_count"], "01");
    assert_eq!(v["nation"], Value::Null);
    assert_eq!(v["id_checksum_ok"], true);

    // 5. The 2023 foreign card: a 46-character English name split over two fields.
    let v = run_json(&mut read(&device, &["--json"]));
    assert_eq!(v["card_type"], "foreign_permanent_2023");
    assert_eq!(
        v["english_name"],
        "GONZALEZ RODRIGUEZ, MARIA DE LOS ANGELES SOFIA"
    );
    assert_eq!(v["nationality"], "ESP");
    assert_eq!(v["long_term"], true);

    // The reader is empty now: exit 3 and one sentence.
    let out = run(&mut read(&device, &["--json", "--timeout", "1"]));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(out.stdout.is_empty(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        "kiosk: no card was placed on the reader within 1 seconds"
    );
    drop(sim);
}

#[test]
fn card_read_on_a_missing_device_exits_4_with_one_sentence() {
    let out = run(&mut read("/dev/no-such-card-reader", &["--json"]));
    assert_eq!(out.status.code(), Some(4), "{out:?}");
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("kiosk: there is no card reader at /dev/no-such-card-reader"),
        "{stderr}"
    );
}

#[test]
fn card_sim_refuses_a_card_that_does_not_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("cards.json");
    let long = "云".repeat(36);
    std::fs::write(
        &file,
        format!(
            r#"{{"cards": [{{"gender": "1", "birth_date": "19500101", "id_number": "532627195003120034",
               "valid_from": "20200101", "valid_until": "长期", "address": "{long}"}}]}}"#
        ),
    )
    .unwrap();
    let out = run(Command::new(bin("kiosk"))
        .args(["card", "sim", "--cards"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "card 1 in the cards file: address has 36 characters; the card holds at most 35"
        ),
        "{stderr}"
    );
}
