//! System tier (needs root for `mount`): the station's data directory on a 12 MiB tmpfs.
//! A full disk and a read-only remount each give the operator one bilingual sentence,
//! lose nothing already stored, and leave `kiosk status` working; once the county has
//! taken what was waiting (its sealed payload deleted), there is room again.
#![cfg(feature = "system-tier")]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use kiosk_e2e::rig::{Rig, Rng, Sizes, eventually_or, generate};
use kiosk_e2e::{Running, bin, run, run_json};

/// A tmpfs mounted for the test, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(dir: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(dir).unwrap();
        let out = run(Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir));
        assert!(out.status.success(), "mount needs root: {out:?}");
        Tmpfs(dir.to_path_buf())
    }

    fn remount_read_only(&self) {
        let out = run(Command::new("mount")
            .args(["-o", "remount,ro"])
            .arg(&self.0));
        assert!(out.status.success(), "remount: {out:?}");
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

fn kiosk(dir: &Path) -> Command {
    let mut c = Command::new(bin("kiosk"));
    c.arg("--data-dir").arg(dir);
    c
}

fn copy_dir(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_full_then_read_only_card_refuses_new_work_clearly_and_loses_nothing() {
    let rig = Rig::start();
    let small = rig.tmp.path().join("small");
    let fs = Tmpfs::mount(&small, "12m");
    copy_dir(&rig.station_dir, &small);
    // About 0.8 MiB of scans per application: a dozen fill the card.
    let third = (260 << 10, 280 << 10);
    let sizes = Sizes {
        id_card: third,
        photo: third,
        register: third,
        large_register: third,
        large_share: 0.0,
    };
    let apps = generate(&rig.tmp.path().join("apps"), 40, &mut Rng::new(7), &sizes);
    let mut next = apps.iter();

    let mut stored = 0u64;
    let failure = loop {
        let app = next.next().expect("a 12 MiB card never filled up");
        let out = run(kiosk(&small).arg("submit").arg(&app.file).arg("--json"));
        if !out.status.success() {
            break out;
        }
        stored += 1;
    };
    assert!(stored > 0, "nothing fitted at all: {failure:?}");
    assert_eq!(failure.status.code(), Some(1), "{failure:?}");
    let stderr = String::from_utf8_lossy(&failure.stderr);
    assert!(
        stderr.contains("存储空间已满") && stderr.contains("the storage is full"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    let st = run_json(kiosk(&small).args(["status", "--json"]));
    assert_eq!(st["counts"]["queued"], stored, "{st}");
    assert_eq!(st["health"], "storage_full", "{st}");

    // The link comes: everything stored reaches the county, and its payload leaves the card.
    {
        let _daemon = Running::spawn(
            kiosk(&small)
                .arg("--config")
                .arg(&rig.config)
                .args(["run", "--headless"]),
        );
        let delivered = eventually_or(Duration::from_secs(90), || {
            let st = run_json(kiosk(&small).args(["status", "--json"]));
            (st["counts"]["delivered"] == stored).then_some(())
        });
        assert!(delivered.is_some(), "not everything was delivered");
    }
    let list = rig.county_list();
    assert_eq!(list.len() as u64, stored);
    assert!(list.iter().all(|a| a["complete"] == true), "{list:?}");
    let sample = &next.next().unwrap().file;
    let again = run(kiosk(&small).arg("submit").arg(sample).arg("--json"));
    assert!(
        again.status.success(),
        "room again after delivery: {again:?}"
    );

    // Read-only: new work is refused with its own sentence; what is stored can be read.
    fs.remount_read_only();
    let out = run(kiosk(&small).arg("submit").arg(sample).arg("--json"));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("只读") && stderr.contains("read-only"),
        "{stderr}"
    );
    let st = run_json(kiosk(&small).args(["status", "--json"]));
    assert_eq!(st["counts"]["delivered"], stored, "{st}");
    assert_eq!(st["counts"]["queued"], 1, "{st}");
    assert_eq!(st["health"], "read_only", "{st}");
}

/// `kiosk export` onto a USB stick that is full, then read-only: one bilingual sentence each,
/// exit 1, no half bundle (nor temporary file) left on the stick, the outbox unchanged.
#[test]
fn an_export_to_a_full_or_read_only_stick_says_so_and_leaves_nothing_behind() {
    let rig = Rig::start();
    let out = run(rig
        .kiosk()
        .args(["submit", "--json"])
        .arg(kiosk_e2e::data("applications/elderly-card.json")));
    assert!(out.status.success(), "{out:?}");
    let stick = rig.tmp.path().join("usb");
    // Smaller than the application's sealed scans: the bundle cannot fit.
    let fs = Tmpfs::mount(&stick, "16k");
    let export = || run(rig.kiosk().arg("export").arg("--to").arg(&stick));
    let out = export();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        err.contains("空间不够") && err.contains("not enough space"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(&stick).unwrap().count(),
        0,
        "nothing left on the stick"
    );
    fs.remount_read_only();
    let out = export();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        err.contains("不能写入") && err.contains("cannot be written"),
        "{err}"
    );
    let st = run_json(rig.kiosk().args(["status", "--json"]));
    assert_eq!(st["counts"]["queued"], 1, "{st}");
}
