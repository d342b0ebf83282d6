//! Benchmarks (1) and (2) of the store-and-forward issue, with the real `kiosk run` and
//! `county serve` through the test proxy. Each figure is printed beside its limit and its
//! baseline from the same run; nothing here fails on a slow machine.
//!
//! (1) Drain goodput: applications queued while the line was down are drained through a
//!     line limited to 1 Mbit/s (125 000 B/s each way). Goodput = scan bytes plus the JSON
//!     records, divided by the time from the first byte on the line to "all delivered".
//!     Goal: at least 90 % of the line rate.
//! (2) Bytes re-sent after an interruption: one application with a 2 MiB scan (8 chunks);
//!     the line is cut once, at a different point of the upload each run. Re-sent = chunk
//!     bytes that crossed the line minus the scan sizes. Goal: at most one chunk
//!     (256 KiB); baseline: an uploader that starts again from byte 0 re-sends the whole
//!     file.
//!
//! Run: `cargo build --release --workspace --bins && cargo bench -p kiosk-e2e --bench link`
//! (the benchmark runs the binaries beside it in `target/release`; `KIOSK_E2E_BIN_DIR`
//! points elsewhere, e.g. `target/debug` after `cargo test --workspace`).

use std::time::{Duration, Instant};

use kiosk_e2e::rig::{GenApp, Rig, Rng, Sizes, eventually_or, generate};

/// 1 Mbit/s.
const LINE: u64 = 125_000;
/// The station's chunk (`store_and_forward::sync::CHUNK_BYTES`).
const CHUNK: u64 = 256 * 1024;

fn wait_for(within: Duration, what: &str, mut f: impl FnMut() -> bool) -> Instant {
    let deadline = Instant::now() + within;
    loop {
        if f() {
            return Instant::now();
        }
        assert!(Instant::now() < deadline, "benchmark stuck: {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn delivered(rig: &Rig, n: usize) -> bool {
    rig.status()["counts"]["delivered"] == n as u64
}

/// (1): returns (payload bytes, seconds).
fn goodput() -> (u64, f64) {
    let rig = Rig::start();
    let mut rng = Rng::new(1);
    let apps = generate(
        &rig.tmp.path().join("apps"),
        14,
        &mut rng,
        &Sizes::default(),
    );
    for app in &apps {
        rig.submit(app);
    }
    rig.proxy.set_rate(Some(LINE));
    let daemon = rig.start_daemon();
    let start = wait_for(Duration::from_secs(60), "the first byte", || {
        rig.proxy.counters().up > 0
    });
    eventually_or(Duration::from_secs(600), || {
        delivered(&rig, apps.len()).then_some(())
    })
    .expect("everything delivered");
    let secs = start.elapsed().as_secs_f64();
    let c = rig.proxy.counters();
    let scans: u64 = apps.iter().map(GenApp::bytes).sum();
    // Request bodies that are not chunks: the JSON records (and any decision acks: none,
    // nobody decides here).
    let records = c.up_body - c.patch_body;
    drop(daemon);
    (scans + records, secs)
}

/// (2): chunk bytes re-sent when the line is cut `at` chunks into the big scan.
fn resend(at: f64) -> (u64, u64) {
    let rig = Rig::start();
    let sizes = Sizes {
        id_card: (4096, 4096),
        photo: (4096, 4096),
        register: (2 << 20, 2 << 20),
        large_register: (2 << 20, 2 << 20),
        large_share: 0.0,
    };
    let apps = generate(&rig.tmp.path().join("apps"), 1, &mut Rng::new(2), &sizes);
    let app = &apps[0];
    rig.submit(app);
    rig.proxy.set_rate(Some(8 * LINE));
    let daemon = rig.start_daemon();
    // The scans go in manifest order: the ID card, then the big household register.
    let cut_at = app.scans[0].size + (at * CHUNK as f64) as u64;
    wait_for(Duration::from_secs(60), "the cut point", || {
        rig.proxy.counters().patch_body >= cut_at
    });
    rig.proxy.drop_after(1);
    eventually_or(Duration::from_secs(120), || {
        delivered(&rig, 1).then_some(())
    })
    .expect("delivered after the cut");
    let c = rig.proxy.counters();
    assert!(c.cut >= 1, "the line was not cut");
    drop(daemon);
    (c.patch_body - app.bytes(), app.scans[1].size)
}

fn main() {
    let (payload, secs) = goodput();
    let rate = payload as f64 / secs;
    let mut runs = Vec::new();
    for at in [0.4, 1.5, 3.9, 6.7] {
        runs.push((at, resend(at)));
    }
    let worst = runs.iter().map(|(_, (r, _))| *r).max().unwrap_or(0);
    let file = runs.first().map_or(0, |(_, (_, f))| *f);
    println!("link benchmarks: real kiosk + county through the test proxy");
    println!(
        "(1) drain goodput through a 1 Mbit/s line: {:.1} kB/s = {:.1} % of the line \
         ({:.1} kB/s); goal >= 90 % [{} bytes of scans and records in {:.1} s]",
        rate / 1000.0,
        100.0 * rate / LINE as f64,
        LINE as f64 / 1000.0,
        payload,
        secs
    );
    println!(
        "(2) bytes re-sent after one cut, worst of {}: {} B = {:.2} chunk; goal <= {} B \
         (one chunk); re-sending the whole file: {} B",
        runs.len(),
        worst,
        worst as f64 / CHUNK as f64,
        CHUNK,
        file
    );
    for (at, (resent, _)) in &runs {
        println!("    cut {at:.1} chunks into the scan: {resent} B re-sent");
    }
}
