//! Scale of the reference county platform on SQLite (issue 7): every station of a province
//! polling once a minute, while applications with scans arrive.
//!
//! Yunnan has 16,147 village service stations; each polls every 60 s, so the county sees
//! 16,147 / 60 ≈ 269 polling rounds per second. A station's round (`Link::sync_once` with
//! nothing to send) is three requests — decisions, catalog (ETag, 304), notices — so about
//! 807 requests per second. The load is open-loop: rounds start on a fixed schedule whether or
//! not earlier ones finished, each with a random station's credential, so a slow server shows
//! as latency rather than as a politely lower rate.
//!
//! Phases, each measured for `SCALE_SECS` (default 20) seconds, in the same run:
//!   baseline  the same request rate against `GET /openapi.yaml` (no database): the HTTP
//!             stack's own latency on this machine;
//!   polls     the polling rounds alone;
//!   mixed     the polling rounds plus `SCALE_SUBMITTERS` (default 2) stations submitting
//!             back to back with the real station client (`store_and_forward::Link`): an
//!             elderly-card application with three scans padded to the pipeline's size
//!             targets (ID card 80 KB, household register 150 KB, photo 60 KB).
//! Reported: rounds/s achieved against the target, p50/p99/max round latency, and
//! submissions/s with their p50/p99.
//!
//! Run: `cargo bench -p county --bench scale` (`SCALE_STATIONS`, `SCALE_SECS`,
//! `SCALE_SUBMITTERS` override the defaults). Client and server share this machine's cores.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use store_and_forward::{Link, NewApplication, NewScan, Outbox};
use tokio::runtime::Runtime;
use uuid::Uuid;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn runtime(threads: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(threads)
        .enable_all()
        .build()
        .expect("runtime")
}

struct Station {
    credential: String,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

#[derive(Default)]
struct Outcome {
    latencies: Vec<Duration>,
    errors: u64,
    late_starts: u64,
}

/// Start `rate` rounds per second for `secs` seconds; each round runs `round(i)`.
async fn open_loop<F, Fut>(rate: f64, secs: u64, round: F) -> (Outcome, Duration)
where
    F: Fn(u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = bool> + Send + 'static,
{
    let round = Arc::new(round);
    let outcome = Arc::new(Mutex::new(Outcome::default()));
    let interval = Duration::from_secs_f64(1.0 / rate);
    let total = (rate * secs as f64) as u64;
    let start = tokio::time::Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        let due = start + interval * i as u32;
        tokio::time::sleep_until(due).await;
        if tokio::time::Instant::now() > due + Duration::from_millis(50) {
            outcome.lock().unwrap().late_starts += 1;
        }
        let round = round.clone();
        let outcome = outcome.clone();
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = round(i).await;
            let took = t.elapsed();
            let mut o = outcome.lock().unwrap();
            o.latencies.push(took);
            if !ok {
                o.errors += 1;
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let elapsed = start.elapsed();
    let o = std::mem::take(&mut *outcome.lock().unwrap());
    (o, elapsed)
}

fn report(label: &str, target: f64, (mut o, elapsed): (Outcome, Duration)) {
    o.latencies.sort();
    let achieved = o.latencies.len() as f64 / elapsed.as_secs_f64();
    println!(
        "{label:<9} {achieved:>7.1}/s of {target:.1}/s target   p50 {:>9}  p99 {:>9}  max {:>9}   errors {}  late starts {}",
        ms(percentile(&o.latencies, 0.5)),
        ms(percentile(&o.latencies, 0.99)),
        ms(o.latencies.last().copied().unwrap_or_default()),
        o.errors,
        o.late_starts,
    );
}

async fn poll_round(client: &reqwest::Client, base: &str, credential: &str) -> bool {
    let get = |path: &str| {
        client
            .get(format!("{base}{path}"))
            .bearer_auth(credential)
            .timeout(Duration::from_secs(30))
    };
    let decisions = get("/v1/decisions?after=0&limit=100").send().await;
    let catalog = get("/v1/catalog")
        .header("If-None-Match", "\"0\"")
        .send()
        .await;
    let notices = get("/v1/notices?after=0").send().await;
    [decisions, catalog, notices].into_iter().all(|r| {
        r.map(|r| r.status().is_success() || r.status() == reqwest::StatusCode::NOT_MODIFIED)
            .unwrap_or(false)
    })
}

fn sample_application(root: &Path) -> (BTreeMap<String, String>, Vec<NewScan>) {
    let text = std::fs::read_to_string(root.join("elderly-card.json")).expect("sample");
    let v: serde_json::Value = serde_json::from_str(&text).expect("sample json");
    let fields = v["fields"]
        .as_object()
        .expect("fields")
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect();
    let scans = v["scans"]
        .as_array()
        .expect("scans")
        .iter()
        .map(|s| {
            let file = s["file"].as_str().expect("file");
            let name = Path::new(file)
                .file_name()
                .unwrap()
                .to_string_lossy()
                .to_string();
            let scan = s["scan"].as_str().expect("scan").to_string();
            // The sample files are small; a real scan is as large as the pipeline's targets
            // allow (A4 page ≤ 150 KB, photo ≤ 60 KB): pad the sample to that size.
            let size = match scan.as_str() {
                "photo" => 60 * 1024,
                "applicant_id_card" => 80 * 1024,
                _ => 150 * 1024,
            };
            let mut bytes = std::fs::read(root.join(file)).expect("scan file");
            let mut x: u32 = 0x9E37_79B9;
            while bytes.len() < size {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                bytes.push(x as u8);
            }
            NewScan {
                scan,
                name,
                content_type: "image/jpeg".into(),
                bytes,
            }
        })
        .collect();
    (fields, scans)
}

fn main() {
    let stations_n = env_or("SCALE_STATIONS", 16_147) as usize;
    let secs = env_or("SCALE_SECS", 20);
    let submitters = env_or("SCALE_SUBMITTERS", 2) as usize;
    let rate = stations_n as f64 / 60.0;
    let tmp = tempfile::tempdir().expect("tempdir");
    let county_dir = tmp.path().join("county");
    let samples = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/data/applications");

    // The server on its own runtime (two workers, as `county serve` has on this machine).
    let server_rt = runtime(2);
    let listener = server_rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().unwrap());
    let state = county::AppState::open(&county_dir).expect("county state");
    server_rt.spawn(async move {
        let _ = county::serve_state(listener, state, std::future::pending()).await;
    });

    let client_rt = runtime(2);
    println!(
        "county scale: {stations_n} stations polling every 60 s = {rate:.1} rounds/s \
         (3 requests each = {:.0} requests/s), {secs} s per phase, {submitters} submitters",
        rate * 3.0
    );

    // Enrol every station through the real enrolment call (a few at a time).
    let t = Instant::now();
    let stations: Vec<Station> = client_rt.block_on(async {
        let provs: Vec<_> = (0..stations_n)
            .map(|i| {
                county::add_station(&county_dir, &format!("station {i}"), &base)
                    .expect("add station")
            })
            .collect();
        let mut out = Vec::with_capacity(stations_n);
        for chunk in provs.chunks(64) {
            let mut set = tokio::task::JoinSet::new();
            for p in chunk {
                let p = p.clone();
                set.spawn(async move { store_and_forward::sync::enrol(&p, None).await });
            }
            while let Some(r) = set.join_next().await {
                let e = r.expect("join").expect("enrol");
                out.push(Station {
                    credential: e.credential,
                });
            }
        }
        out
    });
    println!(
        "setup     {} stations registered and enrolled in {:.1} s",
        stations.len(),
        t.elapsed().as_secs_f64()
    );
    let creds: Arc<Vec<String>> = Arc::new(stations.into_iter().map(|s| s.credential).collect());
    county::install_tls_provider();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .build()
        .expect("client");

    // Baseline: the same request rate (three per round) against a static document.
    let (c, b) = (client.clone(), base.clone());
    let baseline = client_rt.block_on(open_loop(rate, secs, move |_| {
        let (c, b) = (c.clone(), b.clone());
        async move {
            let mut ok = true;
            for _ in 0..3 {
                ok &= c
                    .get(format!("{b}/openapi.yaml"))
                    .send()
                    .await
                    .map(|r| r.status().is_success())
                    .unwrap_or(false);
            }
            ok
        }
    }));
    report("baseline", rate, baseline);

    let poll = {
        let (c, b, creds) = (client.clone(), base.clone(), creds.clone());
        move |i: u64| {
            let (c, b, creds) = (c.clone(), b.clone(), creds.clone());
            async move {
                let cred = &creds[(i as usize * 7919) % creds.len()];
                poll_round(&c, &b, cred).await
            }
        }
    };
    report(
        "polls",
        rate,
        client_rt.block_on(open_loop(rate, secs, poll.clone())),
    );

    // Mixed: the same polls while stations submit back to back with the real client.
    let (fields, scans) = sample_application(&samples);
    let bytes: usize = scans.iter().map(|s| s.bytes.len()).sum();
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let submit_times = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let mut workers = Vec::new();
    for w in 0..submitters {
        let dir = tmp.path().join(format!("station-{w}"));
        let prov = county::add_station(&county_dir, &format!("submitter {w}"), &base)
            .expect("add submitter");
        let cred = client_rt
            .block_on(store_and_forward::sync::enrol(&prov, None))
            .expect("enrol submitter")
            .credential;
        let key: sealing::PublicKey = prov.county_public_key.parse().expect("county key");
        let outbox = Arc::new(Mutex::new(Outbox::open(&dir).expect("outbox")));
        let link = Link::new(&base, &cred);
        let (fields, scans) = (fields.clone(), scans.clone());
        let (stop, times) = (stop.clone(), submit_times.clone());
        workers.push(client_rt.spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let app = NewApplication {
                    id: Uuid::now_v7(),
                    service: "elderly-card".into(),
                    service_version: 1,
                    fields: fields.clone(),
                    masked_name: "李*".into(),
                    person_keys: vec![],
                    scans: scans.clone(),
                    clock: None,
                };
                let t = Instant::now();
                let now = time::OffsetDateTime::now_utc();
                outbox
                    .lock()
                    .unwrap()
                    .submit(app, &key, now)
                    .expect("submit");
                let report = link.sync_once(&outbox).await.expect("sync");
                assert_eq!(report.delivered, 1, "{report:?}");
                times.lock().unwrap().push(t.elapsed());
            }
        }));
    }
    let mixed = client_rt.block_on(open_loop(rate, secs, poll));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mixed_elapsed = mixed.1;
    report("mixed", rate, mixed);
    for w in workers {
        let _ = client_rt.block_on(w);
    }
    let mut t = submit_times.lock().unwrap().clone();
    t.sort();
    println!(
        "submit    {:.2} submissions/s ({} in {:.0} s, {} KB of scans each)   p50 {:>9}  p99 {:>9}",
        t.len() as f64 / mixed_elapsed.as_secs_f64(),
        t.len(),
        mixed_elapsed.as_secs_f64(),
        bytes / 1024,
        ms(percentile(&t, 0.5)),
        ms(percentile(&t, 0.99)),
    );
    let listed = county::list_applications(&county_dir).expect("list");
    assert_eq!(listed.len(), t.len(), "every submission stored once");
    assert!(
        listed.iter().all(|a| a.complete),
        "every submission complete"
    );
    drop(server_rt);
}
