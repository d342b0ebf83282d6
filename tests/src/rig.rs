//! The rig of the link tests: a real `county serve`, the fault-injecting [`Proxy`] in front of
//! it, a station enrolled through the proxy, generated applications with random scans, a
//! clerk who decides, and the end-of-test invariant:
//!
//! 1. the county holds every application the station stored **exactly once**, with the
//!    tracking number the station printed, complete, and every scan byte-identical (the
//!    county's stored file hashed again, not just its manifest);
//! 2. the station holds every decision the county made (its counts by state equal the
//!    county's states, mapped);
//! 3. the station kept no orphan scans.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::proxy::Proxy;
use crate::{Running, bin, data, run, run_json, sha256_file};

/// A small deterministic generator (SplitMix64): the seed printed by a failing test replays
/// its choices (the timing of real processes still varies from run to run).
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn millis(&mut self, lo: u64, hi: u64) -> Duration {
        Duration::from_millis(self.range(lo, hi))
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        let mut out = Vec::with_capacity(n + 8);
        while out.len() < n {
            out.extend_from_slice(&self.next_u64().to_le_bytes());
        }
        out.truncate(n);
        out
    }
}

/// The seed of a test run: `E2E_SEED` when set (to replay a failure), else from the clock.
pub fn seed(test: &str) -> u64 {
    let seed = std::env::var("E2E_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    // Printed now; libtest shows it with the failure.
    eprintln!("{test}: seed {seed} (replay with E2E_SEED={seed})");
    seed
}

/// A number from the environment, or the default.
pub fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

/// One generated scan: the attachment name `kiosk submit` gives it, its size and hash.
#[derive(Clone, Debug)]
pub struct GenScan {
    pub name: String,
    pub size: u64,
    pub sha256: String,
}

/// One generated application file (`kiosk submit FILE`).
#[derive(Clone, Debug)]
pub struct GenApp {
    pub file: PathBuf,
    pub scans: Vec<GenScan>,
}

impl GenApp {
    pub fn bytes(&self) -> u64 {
        self.scans.iter().map(|s| s.size).sum()
    }

    /// The scan hashes, which identify the application (every scan is random).
    pub fn hashes(&self) -> BTreeSet<String> {
        self.scans.iter().map(|s| s.sha256.clone()).collect()
    }
}

/// How big the scans of generated applications are: `(slot, low, high)` in bytes, and the
/// share of applications whose household register is large (several chunks).
#[derive(Clone, Debug)]
pub struct Sizes {
    pub id_card: (u64, u64),
    pub photo: (u64, u64),
    pub register: (u64, u64),
    pub large_register: (u64, u64),
    pub large_share: f64,
}

impl Default for Sizes {
    fn default() -> Sizes {
        Sizes {
            id_card: (8 << 10, 40 << 10),
            photo: (3 << 10, 16 << 10),
            register: (10 << 10, 80 << 10),
            // 256 KiB is one chunk: these take two or three.
            large_register: (300 << 10, 620 << 10),
            large_share: 0.25,
        }
    }
}

/// Write `n` elderly-card applications (the sample's fields) with random scans under `dir`.
pub fn generate(dir: &Path, n: usize, rng: &mut Rng, sizes: &Sizes) -> Vec<GenApp> {
    std::fs::create_dir_all(dir).unwrap();
    let sample: Value =
        serde_json::from_slice(&std::fs::read(data("applications/elderly-card.json")).unwrap())
            .unwrap();
    (0..n)
        .map(|i| {
            let register = if rng.chance(sizes.large_share) {
                sizes.large_register
            } else {
                sizes.register
            };
            let slots = [
                ("applicant_id_card", sizes.id_card),
                ("household_register", register),
                ("photo", sizes.photo),
            ];
            let mut scans = Vec::new();
            let mut listed = Vec::new();
            for (slot, (lo, hi)) in slots {
                let size = rng.range(lo, hi + 1) as usize;
                let bytes = rng.bytes(size);
                let file = format!("app{i:04}-{slot}.jpg");
                std::fs::write(dir.join(&file), &bytes).unwrap();
                scans.push(GenScan {
                    name: format!("{slot}.jpg"),
                    size: bytes.len() as u64,
                    sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)),
                });
                listed.push(serde_json::json!({ "scan": slot, "file": file }));
            }
            let mut app = sample.clone();
            app["scans"] = Value::Array(listed);
            let file = dir.join(format!("app{i:04}.json"));
            std::fs::write(&file, serde_json::to_vec_pretty(&app).unwrap()).unwrap();
            GenApp { file, scans }
        })
        .collect()
}

/// What `kiosk submit --json` printed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub id: String,
    pub tracking: String,
}

/// A county process, a proxy in front of it, and a station enrolled through the proxy.
pub struct Rig {
    pub tmp: tempfile::TempDir,
    pub county_dir: PathBuf,
    pub station_dir: PathBuf,
    pub config: PathBuf,
    pub county: Running,
    pub county_addr: SocketAddr,
    pub proxy: Proxy,
}

impl Rig {
    /// Start the county, the proxy (pass-through), and enrol a station through the proxy.
    pub fn start() -> Rig {
        let tmp = tempfile::tempdir().unwrap();
        let county_dir = tmp.path().join("county");
        let station_dir = tmp.path().join("station");
        let county = Running::until_line(
            Command::new(bin("county"))
                .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
                .arg(&county_dir),
            "listening on",
            Duration::from_secs(30),
        );
        let url = county.lines.last().unwrap().rsplit(' ').next().unwrap();
        let county_addr: SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .unwrap_or_else(|e| panic!("county address in {url:?}: {e}"));
        let proxy = Proxy::start(county_addr);
        let prov = tmp.path().join("provisioning.toml");
        let out = run(Command::new(bin("county"))
            .args(["station", "add", "--name", "坝美村为民服务站", "--url"])
            .arg(proxy.url())
            .arg("--out")
            .arg(&prov)
            .arg("--data-dir")
            .arg(&county_dir));
        assert!(out.status.success(), "station add: {out:?}");
        let config = tmp.path().join("kiosk.toml");
        std::fs::write(&config, "[sync]\npoll_secs = 1\n").unwrap();
        let rig = Rig {
            tmp,
            county_dir,
            station_dir,
            config,
            county,
            county_addr,
            proxy,
        };
        let out = run(rig.kiosk().arg("provision").arg(&prov));
        assert!(out.status.success(), "provision: {out:?}");
        rig
    }

    pub fn kiosk(&self) -> Command {
        let mut c = Command::new(bin("kiosk"));
        c.arg("--data-dir").arg(&self.station_dir);
        c
    }

    fn county_cmd(&self, sub: &str) -> Command {
        let mut c = Command::new(bin("county"));
        c.arg(sub).arg("--data-dir").arg(&self.county_dir);
        c
    }

    /// Where the daemon's log goes (appended across restarts).
    pub fn daemon_log(&self) -> PathBuf {
        self.tmp.path().join("daemon.log")
    }

    /// Start `kiosk run --headless`; dropping the handle kills it with SIGKILL.
    pub fn start_daemon(&self) -> Running {
        let log = File::options()
            .create(true)
            .append(true)
            .open(self.daemon_log())
            .unwrap();
        let child = self
            .kiosk()
            .arg("--config")
            .arg(&self.config)
            .args(["run", "--headless"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("kiosk run starts");
        Running {
            child,
            lines: Vec::new(),
        }
    }

    /// The end of the daemon's log, for failure messages.
    pub fn daemon_log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.daemon_log()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// `kiosk submit FILE --json`, which must succeed.
    pub fn submit(&self, app: &GenApp) -> Receipt {
        let out = run_json(self.kiosk().arg("submit").arg(&app.file).arg("--json"));
        receipt(&out)
    }

    pub fn status(&self) -> Value {
        run_json(self.kiosk().args(["status", "--json"]))
    }

    /// `county applications --json`.
    pub fn county_list(&self) -> Vec<Value> {
        match run_json(self.county_cmd("applications").arg("--json")) {
            Value::Array(list) => list,
            other => panic!("county applications printed {other}"),
        }
    }

    /// `county decide ID KIND [--reason]`; whether the county took it.
    pub fn decide(&self, id: &str, kind: &str) -> bool {
        let mut c = self.county_cmd("decide");
        c.arg(id).arg(kind);
        if matches!(kind, "reject" | "more-papers") {
            c.args(["--reason", "照片不清楚 / the photo is unclear"]);
        }
        run(&mut c).status.success()
    }

    /// Blob directories the station keeps.
    pub fn station_blob_dirs(&self) -> BTreeSet<String> {
        std::fs::read_dir(self.station_dir.join("blobs"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Wait until the station has nothing left to send and the county holds as many
    /// applications as the station, all complete; then check the invariant in detail.
    /// `stored` were acknowledged by `kiosk submit`; `uncertain` were killed mid-submit and
    /// may or may not have been stored. Returns how many of `uncertain` were stored.
    pub fn check_exactly_once(
        &self,
        stored: &[(GenApp, Receipt)],
        uncertain: &[GenApp],
        within: Duration,
    ) -> usize {
        let mut last = (Value::Null, 0, 0);
        let list = eventually_or(within, || {
            let st = self.status();
            let list = self.county_list();
            let complete = list.iter().filter(|a| a["complete"] == true).count();
            let c = &st["counts"];
            let done = c["queued"] == 0
                && c["sending"] == 0
                && complete == list.len()
                && st["total"] == list.len() as u64;
            last = (st, list.len(), complete);
            done.then_some(list)
        })
        .unwrap_or_else(|| {
            panic!(
                "the station never drained into a complete county: station {}, county {} \
                 applications of which {} complete\n{}",
                last.0,
                last.1,
                last.2,
                self.daemon_log_tail()
            )
        });
        let status = self.status();
        assert_eq!(
            status["counts"]["returned"], 0,
            "nothing may come back to the operator: {status}"
        );
        // Exactly once: ids and tracking numbers unique.
        let ids: BTreeSet<&str> = list
            .iter()
            .map(|a| a["application_id"].as_str().unwrap())
            .collect();
        assert_eq!(
            ids.len(),
            list.len(),
            "an application id twice at the county"
        );
        let tracking: BTreeSet<&str> = list
            .iter()
            .map(|a| a["tracking_number"].as_str().unwrap())
            .collect();
        assert_eq!(tracking.len(), list.len(), "a tracking number twice");
        let by_id: BTreeMap<&str, &Value> = list
            .iter()
            .map(|a| (a["application_id"].as_str().unwrap(), a))
            .collect();
        let by_hashes: BTreeMap<BTreeSet<String>, Vec<&Value>> =
            list.iter().fold(BTreeMap::new(), |mut m, a| {
                let hashes = a["attachments"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t["sha256"].as_str().unwrap().to_string())
                    .collect();
                m.entry(hashes).or_default().push(a);
                m
            });
        for (app, receipt) in stored {
            let at = by_id.get(receipt.id.as_str()).unwrap_or_else(|| {
                panic!(
                    "{} ({}) was stored at the station but is not at the county",
                    receipt.tracking, receipt.id
                )
            });
            assert_eq!(at["tracking_number"], receipt.tracking.as_str(), "{at}");
            self.assert_scans(app, at);
            assert_eq!(
                by_hashes.get(&app.hashes()).map_or(0, Vec::len),
                1,
                "the scans of {} arrived under more than one application",
                receipt.tracking
            );
        }
        let mut found = 0;
        for app in uncertain {
            match by_hashes.get(&app.hashes()).map(Vec::as_slice) {
                None | Some([]) => {}
                Some([one]) => {
                    found += 1;
                    self.assert_scans(app, one);
                }
                Some(many) => panic!(
                    "an application killed while being submitted arrived {} times",
                    many.len()
                ),
            }
        }
        assert_eq!(
            list.len(),
            stored.len() + found,
            "the county holds applications nobody submitted"
        );
        // No orphan scans at the station: every blob directory belongs to a stored one.
        for dir in self.station_blob_dirs() {
            assert!(
                ids.contains(dir.as_str()),
                "the station keeps scans of {dir}, which it never stored"
            );
        }
        found
    }

    /// Every scan of `app` arrived whole and byte-identical at the county.
    fn assert_scans(&self, app: &GenApp, at: &Value) {
        assert_eq!(at["complete"], true, "{at}");
        let atts = at["attachments"].as_array().unwrap();
        assert_eq!(atts.len(), app.scans.len(), "{at}");
        for scan in &app.scans {
            let a = atts
                .iter()
                .find(|a| a["name"] == scan.name.as_str())
                .unwrap_or_else(|| panic!("{} missing: {at}", scan.name));
            assert_eq!(a["size"], scan.size, "{at}");
            assert_eq!(a["sha256"], scan.sha256.as_str(), "{at}");
            assert_eq!(a["complete"], true, "{at}");
            let stored = self.county_dir.join("attachments").join(&scan.sha256);
            assert_eq!(
                sha256_file(&stored),
                scan.sha256,
                "the county's copy of {} differs from what was scanned",
                scan.name
            );
        }
    }

    /// Wait until the station's counts by state are exactly the county's states, mapped:
    /// every decision the county made has reached the station and nothing else moved.
    pub fn check_decisions_reached_station(&self, within: Duration) -> BTreeMap<String, u64> {
        let mut last = (Value::Null, BTreeMap::new());
        let ok = eventually_or(within, || {
            let expected = expected_station_counts(&self.county_list());
            let st = self.status();
            let counts = &st["counts"];
            let same = expected
                .iter()
                .all(|(state, n)| counts[state.as_str()] == *n);
            last = (st.clone(), expected.clone());
            same.then_some(expected)
        });
        ok.unwrap_or_else(|| {
            panic!(
                "the station's states never matched the county's decisions: station {} \
                 expected {:?}\n{}",
                last.0,
                last.1,
                self.daemon_log_tail()
            )
        })
    }
}

/// Parse `kiosk submit --json` output.
pub fn receipt(out: &Value) -> Receipt {
    Receipt {
        id: out["application_id"]
            .as_str()
            .expect("application_id")
            .into(),
        tracking: out["tracking_number"]
            .as_str()
            .expect("tracking_number")
            .into(),
    }
}

/// What the station's counts must be, given the county's list.
pub fn expected_station_counts(list: &[Value]) -> BTreeMap<String, u64> {
    let mut m: BTreeMap<String, u64> = [
        "queued",
        "sending",
        "delivered",
        "decided",
        "ready",
        "handed_over",
        "returned",
    ]
    .iter()
    .map(|s| (s.to_string(), 0))
    .collect();
    for a in list {
        let station = match a["state"].as_str().unwrap_or("") {
            "complete" => "delivered",
            "approved" | "rejected" | "more_papers" => "decided",
            "ready" => "ready",
            "handed_over" => "handed_over",
            // Still arriving at the county: the station must still be sending it.
            _ => "sending",
        };
        *m.get_mut(station).unwrap() += 1;
    }
    m
}

/// Like [`eventually`], but returns `None` at the deadline instead of failing.
pub fn eventually_or<T>(within: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A clerk at the county deciding on a random share of what arrived.
pub struct Clerk {
    rng: Rng,
    /// Decisions the county took, by kind.
    pub decided: BTreeMap<&'static str, u32>,
}

impl Clerk {
    pub fn new(seed: u64) -> Clerk {
        Clerk {
            rng: Rng::new(seed),
            decided: BTreeMap::new(),
        }
    }

    /// Look at the county's list once and decide on some of it: complete applications are
    /// approved, rejected or sent back for papers (or left for later); approved ones are
    /// marked ready. Returns how many decisions the county took.
    pub fn step(&mut self, rig: &Rig, share: f64) -> u32 {
        let mut n = 0;
        for a in rig.county_list() {
            if !self.rng.chance(share) {
                continue;
            }
            let kind = match a["state"].as_str().unwrap_or("") {
                "complete" => match self.rng.range(0, 10) {
                    0..=5 => "approve",
                    6..=7 => "reject",
                    _ => "more-papers",
                },
                "approved" => match self.rng.range(0, 3) {
                    0 => "reject",
                    _ => "ready",
                },
                _ => continue,
            };
            if rig.decide(a["application_id"].as_str().unwrap(), kind) {
                *self.decided.entry(kind).or_default() += 1;
                n += 1;
            }
        }
        n
    }
}

/// Turns a flag off when dropped, also while unwinding: the helper threads of a test stop
/// when the test fails instead of keeping it alive.
pub struct ClearOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

impl Drop for ClearOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}
