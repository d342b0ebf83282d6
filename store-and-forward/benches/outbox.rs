//! Benchmark (3) of the store-and-forward issue: what one durable submission costs.
//!
//! `cargo bench -p store-and-forward --bench outbox` prints, from one run:
//! - fsync/fdatasync calls per [`Outbox::submit`] of an application with 6 scans, beside a
//!   bare SQLite insert of one row at the same durability (WAL, `synchronous=FULL`);
//! - submissions per second, beside bare inserts per second.
//!
//! The calls are counted by running the workload in a child process of this benchmark under
//! `strace -f -c -e trace=fsync,fdatasync` (Debian package `strace`); the child's set-up
//! (opening the outbox, creating the table) is taken off by running it once with zero
//! operations. Without strace the fsync rows say so; the rates are measured in-process.
//! A benchmark reports, it does not judge: nothing here fails on a slow disk.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use rusqlite::Connection;
use store_and_forward::{NewApplication, NewScan, Outbox};
use time::OffsetDateTime;
use uuid::Uuid;

/// Scans per application: both parents' ID cards, household-register pages of both, the
/// marriage certificate and one more page, as a birth permit brings.
const SCANS: usize = 6;
/// Bytes per scan (a compressed A4 page).
const SCAN_BYTES: usize = 120 * 1024;
const CHILD: &str = "OUTBOX_BENCH_CHILD";

fn application(i: usize) -> NewApplication {
    let scans = (0..SCANS)
        .map(|s| {
            let mut bytes = vec![0u8; SCAN_BYTES];
            let mut x = (i * 31 + s) as u64 | 1;
            for b in bytes.iter_mut() {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                *b = x as u8;
            }
            NewScan {
                scan: format!("page_{s}"),
                name: format!("page-{s}.jpg"),
                content_type: "image/jpeg".into(),
                bytes,
            }
        })
        .collect();
    NewApplication {
        id: Uuid::now_v7(),
        service: "birth-permit".into(),
        service_version: 1,
        fields: BTreeMap::from([
            ("mother.name".into(), "陶丽".into()),
            ("father.name".into(), "王强".into()),
        ]),
        masked_name: "陶*".into(),
        person_keys: vec!["bench-key".into()],
        scans,
        clock: None,
    }
}

/// `n` submissions into a fresh outbox under `dir`. Scans are made before the clock starts.
fn submits(dir: &Path, n: usize) -> f64 {
    let apps: Vec<_> = (0..n).map(application).collect();
    let mut outbox = Outbox::open(dir).expect("outbox opens");
    // Sealing is part of a submission: the clock runs over it.
    let county = sealing::PrivateKey::generate().public_key();
    let t = Instant::now();
    for app in apps {
        outbox
            .submit(app, &county, OffsetDateTime::now_utc())
            .expect("submit");
    }
    t.elapsed().as_secs_f64()
}

/// `n` single-row inserts, each its own transaction, WAL and `synchronous=FULL`.
fn bare(dir: &Path, n: usize) -> f64 {
    let conn = Connection::open(dir.join("bare.sqlite3")).expect("sqlite opens");
    conn.pragma_update(None, "journal_mode", "WAL").unwrap();
    conn.pragma_update(None, "synchronous", "FULL").unwrap();
    conn.execute_batch("CREATE TABLE IF NOT EXISTS t (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        .unwrap();
    let t = Instant::now();
    for _ in 0..n {
        conn.execute(
            "INSERT INTO t (id, body) VALUES (?1, ?2)",
            (Uuid::now_v7().to_string(), "{\"mother.name\":\"陶丽\"}"),
        )
        .unwrap();
    }
    t.elapsed().as_secs_f64()
}

/// fsync + fdatasync calls of the child doing `what` `n` times, or why not.
fn syncs(what: &str, n: usize) -> Result<u64, String> {
    let dir = tempfile::tempdir_in(std::env::temp_dir()).map_err(|e| e.to_string())?;
    let out = dir.path().join("strace.txt");
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let status = Command::new("strace")
        .args(["-f", "-c", "-e", "trace=fsync,fdatasync", "-o"])
        .arg(&out)
        .arg(&exe)
        .env(CHILD, format!("{what}:{n}:{}", dir.path().display()))
        .status()
        .map_err(|e| format!("strace not available ({e}); apt-get install strace"))?;
    if !status.success() {
        return Err(format!("strace run failed: {status}"));
    }
    let text = std::fs::read_to_string(&out).map_err(|e| e.to_string())?;
    // strace -c: "% time  seconds  usecs/call  calls  [errors]  syscall".
    Ok(text
        .lines()
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            match cols.last() {
                Some(&"fsync") | Some(&"fdatasync") => cols.get(3)?.parse::<u64>().ok(),
                _ => None,
            }
        })
        .sum())
}

fn per_op(what: &str, n: usize) -> String {
    match (syncs(what, 0), syncs(what, n)) {
        (Ok(base), Ok(total)) => format!("{:.2}", (total - base.min(total)) as f64 / n as f64),
        (Err(e), _) | (_, Err(e)) => e,
    }
}

fn main() {
    if let Ok(job) = std::env::var(CHILD) {
        let mut parts = job.splitn(3, ':');
        let (what, n, dir) = (
            parts.next().unwrap_or(""),
            parts.next().and_then(|n| n.parse().ok()).unwrap_or(0),
            parts.next().unwrap_or("."),
        );
        match what {
            "submit" => submits(Path::new(dir), n),
            _ => bare(Path::new(dir), n),
        };
        return;
    }
    let n_submit = 40;
    let n_bare = 400;
    let fsync_submit = per_op("submit", n_submit);
    let fsync_bare = per_op("bare", n_bare);
    let dir = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let rate_submit = n_submit as f64 / submits(&dir.path().join("s"), n_submit);
    let rate_bare = n_bare as f64 / bare(dir.path(), n_bare);
    println!(
        "outbox benchmark: submission of {SCANS} scans x {} KiB; temp dir {}",
        SCAN_BYTES / 1024,
        std::env::temp_dir().display()
    );
    println!(
        "{:<34} {:>14} {:>18}",
        "", "Outbox::submit", "bare SQLite insert"
    );
    println!(
        "{:<34} {:>14} {:>18}",
        "fsync+fdatasync per operation", fsync_submit, fsync_bare
    );
    println!(
        "{:<34} {:>14.1} {:>18.1}",
        "operations per second", rate_submit, rate_bare
    );
}
