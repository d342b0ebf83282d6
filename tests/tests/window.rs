//! System tier: the demo opens a real window on a real X server (Xvfb), shows the station,
//! and stops cleanly on SIGTERM the way systemd stops it. Needs `Xvfb` and `xwininfo`
//! (`.ci/system-tier` installs them); without them these tests fail, they never skip.
#![cfg(feature = "system-tier")]

use std::process::{Command, Stdio};
use std::time::Duration;

use kiosk_e2e::{Running, bin, eventually};

struct Xvfb(std::process::Child, String);

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn xvfb() -> Xvfb {
    // A display number of our own, so parallel runs do not meet.
    let display = format!(":{}", 50 + std::process::id() % 400);
    let child = Command::new("Xvfb")
        .args([
            display.as_str(),
            "-screen",
            "0",
            "1280x800x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb is required for the system tier (apt-get install xvfb)");
    let x = Xvfb(child, display);
    eventually(Duration::from_secs(10), "Xvfb to accept clients", || {
        Command::new("xwininfo")
            .args(["-root", "-display", &x.1])
            .output()
            .expect("xwininfo is required for the system tier (apt-get install x11-utils)")
            .status
            .success()
            .then_some(())
    });
    x
}

#[test]
fn the_demo_opens_its_window_and_stops_cleanly_on_sigterm() {
    let x = xvfb();
    let tmp = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(bin("kiosk"));
    cmd.env("DISPLAY", &x.1)
        .env_remove("WAYLAND_DISPLAY")
        .arg("--data-dir")
        .arg(tmp.path())
        .arg("demo");
    let demo = Running::until_line(&mut cmd, "ready", Duration::from_secs(60));
    let tree = eventually(Duration::from_secs(30), "the kiosk window", || {
        let out = Command::new("xwininfo")
            .args(["-root", "-tree", "-display", &x.1])
            .output()
            .ok()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.contains("Village service station").then_some(text)
    });
    assert!(
        tree.contains("1280x800"),
        "the window has the kiosk's size: {tree}"
    );
    let status = demo.terminate();
    assert!(
        status.success(),
        "SIGTERM must close the window and exit 0: {status}"
    );
}
