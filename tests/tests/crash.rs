//! The crash test: the real `kiosk run` daemon against the real `county serve` on loopback,
//! through the test proxy limited to a slow line so uploads take a while, while
//! `kiosk submit` stores a few hundred applications with random scans (some several chunks
//! long) and a clerk decides at the county. The daemon is killed with SIGKILL hundreds of
//! times and restarted each time, at moments of four kinds:
//!
//! - start-up (the outbox opening, the orphan sweep, the first request);
//! - anywhere;
//! - mid-upload: once a random number of chunk bytes has passed the proxy, so the kill lands
//!   inside a `PATCH` body;
//! - after an answer: a few milliseconds after the county's answer reached the station, so
//!   the kill lands in the station's commit of what the answer said (offsets, delivered,
//!   decisions, cursor).
//!
//! One submission in ten is itself killed at a random moment (the outbox's "nothing or
//! everything"). At the end the county must hold every stored application exactly once,
//! complete and byte-identical, and the station every decision the county made
//! ([`Rig::check_exactly_once`], [`Rig::check_decisions_reached_station`]).
//!
//! Sizes (defaults; `CRASH_APPS`, `CRASH_KILLS`, `CRASH_RATE` in bytes/s, `E2E_SEED` to
//! replay): 200 applications, 200 kills, 1 MB/s.

use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use kiosk_e2e::rig::{
    ClearOnDrop, Clerk, GenApp, Receipt, Rig, Rng, Sizes, env_num, generate, receipt, seed,
};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Moment {
    StartUp,
    Anywhere,
    MidUpload,
    AfterAnswer,
}

/// Poll `f` every few milliseconds for up to `within`; whether it came true.
fn soon(within: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[test]
fn sigkill_at_hundreds_of_moments_loses_nothing_and_sends_nothing_twice() {
    let seed = seed("crash");
    let n_apps = env_num("CRASH_APPS", 200) as usize;
    let kills = env_num("CRASH_KILLS", 200) as usize;
    let rate = env_num("CRASH_RATE", 1_000_000);
    let started = Instant::now();
    let mut rng = Rng::new(seed);
    let rig = Rig::start();
    let apps = generate(
        &rig.tmp.path().join("apps"),
        n_apps,
        &mut rng,
        &Sizes::default(),
    );
    let total_bytes: u64 = apps.iter().map(GenApp::bytes).sum();
    rig.proxy.set_rate(Some(rate));

    let stored: Mutex<Vec<(GenApp, Receipt)>> = Mutex::new(Vec::new());
    let uncertain: Mutex<Vec<GenApp>> = Mutex::new(Vec::new());
    let problems: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let submitting = AtomicBool::new(true);
    let running = AtomicBool::new(true);
    let mut clerk = Clerk::new(seed ^ 0xC1E4);
    let mut by_moment = std::collections::BTreeMap::new();
    let mut mid_body = 0;
    let mut kill_count = 0;

    std::thread::scope(|s| {
        // The counter: submissions at a varying pace, one in ten killed mid-way.
        let mut srng = Rng::new(seed ^ 0x5B);
        let (rig, stored, uncertain, problems, submitting) =
            (&rig, &stored, &uncertain, &problems, &submitting);
        let apps = &apps;
        s.spawn(move || {
            let _done = ClearOnDrop(submitting);
            for app in apps {
                let pause = if srng.chance(0.1) {
                    srng.millis(500, 2000)
                } else {
                    srng.millis(30, 400)
                };
                std::thread::sleep(pause);
                let mut cmd = rig.kiosk();
                cmd.arg("submit").arg(&app.file).arg("--json");
                cmd.env("RUST_LOG", "warn")
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped());
                let mut child = cmd.spawn().expect("kiosk submit starts");
                let killed = srng.chance(0.1);
                if killed {
                    // A submission takes about 10 ms: this lands anywhere in it.
                    std::thread::sleep(srng.millis(0, 15));
                    let _ = child.kill();
                }
                let out = child.wait_with_output().expect("kiosk submit ends");
                if out.status.success() {
                    match serde_json::from_slice(&out.stdout) {
                        Ok(v) => stored.lock().unwrap().push((app.clone(), receipt(&v))),
                        Err(e) => problems.lock().unwrap().push(format!(
                            "kiosk submit printed no JSON ({e}): {}",
                            String::from_utf8_lossy(&out.stdout)
                        )),
                    }
                } else if killed && out.status.signal() == Some(9) {
                    uncertain.lock().unwrap().push(app.clone());
                } else {
                    problems.lock().unwrap().push(format!(
                        "kiosk submit {} failed ({}): {}",
                        app.file.display(),
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
        });

        // The clerk, deciding on a share of what arrived every second or so.
        let (clerk, running_ref) = (&mut clerk, &running);
        s.spawn(move || {
            while running_ref.load(Ordering::SeqCst) {
                clerk.step(rig, 0.3);
                std::thread::sleep(Duration::from_millis(1000));
            }
        });

        // The power cuts.
        let _stop_clerk = ClearOnDrop(&running);
        let mut krng = Rng::new(seed ^ 0x4B1);
        while kill_count < kills || submitting.load(Ordering::SeqCst) {
            let daemon = rig.start_daemon();
            let moment = match krng.range(0, 100) {
                0..15 => Moment::StartUp,
                15..45 => Moment::Anywhere,
                45..80 => Moment::MidUpload,
                _ => Moment::AfterAnswer,
            };
            let c0 = rig.proxy.counters();
            match moment {
                Moment::StartUp => std::thread::sleep(krng.millis(0, 150)),
                Moment::Anywhere => std::thread::sleep(krng.millis(100, 1500)),
                Moment::MidUpload => {
                    let want = krng.range(1, 300 << 10);
                    soon(Duration::from_secs(3), || {
                        rig.proxy.counters().patch_body >= c0.patch_body + want
                    });
                }
                Moment::AfterAnswer => {
                    let delay = krng.millis(0, 4);
                    soon(Duration::from_secs(3), || {
                        rig.proxy.counters().down > c0.down
                    });
                    std::thread::sleep(delay);
                }
            }
            if rig.proxy.counters().in_body > 0 {
                mid_body += 1;
            }
            drop(daemon); // SIGKILL, then reaped
            kill_count += 1;
            *by_moment.entry(moment).or_insert(0) += 1;
        }
    });
    let loop_time = started.elapsed();
    let problems = problems.into_inner().unwrap();
    assert!(problems.is_empty(), "seed {seed}: {problems:#?}");
    let stored = stored.into_inner().unwrap();
    let uncertain = uncertain.into_inner().unwrap();

    // The line is good again and the daemon stays up: everything must settle.
    rig.proxy.set_rate(None);
    let daemon = rig.start_daemon();
    let found = rig.check_exactly_once(&stored, &uncertain, Duration::from_secs(120));
    // Decisions made after the last kill must arrive too.
    clerk.step(&rig, 0.5);
    let counts = rig.check_decisions_reached_station(Duration::from_secs(60));
    let c = rig.proxy.counters();
    eprintln!(
        "crash: seed {seed}; {n_apps} applications ({} MB of scans), {} stored, {} killed \
         mid-submit ({found} of them stored); {kill_count} SIGKILLs {by_moment:?}, {mid_body} \
         inside a request body; clerk {:?}; station {counts:?}; {} requests, {} MB up through \
         the proxy; kill loop {:.0?}, total {:.0?}",
        total_bytes / 1_000_000,
        stored.len(),
        uncertain.len(),
        clerk.decided,
        c.requests,
        c.up / 1_000_000,
        loop_time,
        started.elapsed(),
    );
    assert!(
        kill_count >= kills,
        "seed {seed}: only {kill_count} kills happened"
    );
    // The test must really have cut uploads in the middle, not only idle daemons.
    assert!(
        mid_body >= kills / 20,
        "seed {seed}: only {mid_body} of {kill_count} kills landed inside a request body"
    );
    assert!(
        clerk.decided.values().sum::<u32>() > 0,
        "seed {seed}: the clerk decided nothing"
    );
    assert!(
        daemon.terminate().success(),
        "the daemon must stop cleanly after all that"
    );
}
