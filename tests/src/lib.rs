//! Helpers for the end-to-end tests: find the real binaries, run them, wait for conditions.
//!
//! The binaries are the ones `cargo test --workspace` builds beside this test executable
//! (the `kiosk` and `county` packages have integration tests of their own, so cargo builds
//! their binaries first). Nothing here mocks a process: every test talks to real ones.

pub mod proxy;
pub mod rig;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of a workspace binary built by the same `cargo test` run (or in the directory
/// `KIOSK_E2E_BIN_DIR`, for the benchmarks).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows where it runs");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = match std::env::var_os("KIOSK_E2E_BIN_DIR") {
        Some(d) => PathBuf::from(d),
        None => exe
            .parent()
            .and_then(Path::parent)
            .expect("tests run from target/<profile>/deps")
            .to_path_buf(),
    };
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so cargo builds it",
        path.display()
    );
    path
}

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the repository")
        .to_path_buf()
}

/// The sample data under tests/data.
pub fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("data").join(rel)
}

/// Run a command to completion, with a quiet log.
pub fn run(cmd: &mut Command) -> Output {
    cmd.env("RUST_LOG", "warn")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"))
}

/// Stdout of a successful run, parsed as JSON.
pub fn run_json(cmd: &mut Command) -> serde_json::Value {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{cmd:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// A `county serve` on a free loopback port with its data in `data_dir`: the process and
/// the URL it announced.
pub fn start_county(data_dir: &Path) -> (Running, String) {
    let county = Running::until_line(
        Command::new(bin("county"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir),
        "listening on",
        Duration::from_secs(30),
    );
    let url = county
        .lines
        .last()
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or_default()
        .to_string();
    (county, url)
}

/// The `county station add` command of the tests' station, dialling `url`, its
/// provisioning file to `out`; a test adds options (e.g. `--tls-anchor`) before running it.
pub fn station_add_command(county_dir: &Path, url: &str, out: &Path) -> Command {
    let mut c = Command::new(bin("county"));
    c.args([
        "station",
        "add",
        "--name",
        "坝美村为民服务站",
        "--url",
        url,
        "--out",
    ])
    .arg(out)
    .arg("--data-dir")
    .arg(county_dir);
    c
}

/// `county station add` of the tests' station, dialling `url`; the provisioning file goes
/// to `out`.
pub fn add_station(county_dir: &Path, url: &str, out: &Path) {
    let added = run(&mut station_add_command(county_dir, url, out));
    assert!(added.status.success(), "station add: {added:?}");
}

/// A child process that is killed when dropped (so a failing test leaves nothing behind).
pub struct Running {
    pub child: Child,
    pub lines: Vec<String>,
}

impl Running {
    /// Start `cmd` and read its stdout until a line contains `marker` (or fail after `within`).
    pub fn until_line(cmd: &mut Command, marker: &str, within: Duration) -> Running {
        let mut child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    let done = line.contains(marker);
                    lines.push(line);
                    if done {
                        return Running { child, lines };
                    }
                }
                Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!(
                        "{cmd:?} did not print {marker:?} within {within:?}; it printed {lines:?}"
                    );
                }
            }
        }
    }

    /// Start `cmd` without waiting for any output (stdout is discarded).
    pub fn spawn(cmd: &mut Command) -> Running {
        let child = cmd
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        Running {
            child,
            lines: Vec::new(),
        }
    }

    /// Ask the process to stop (SIGTERM) and return its exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("the process did not stop within 20 s of SIGTERM");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Poll `f` until it returns `Some`, or fail with `what` after `within`.
pub fn eventually<T>(within: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Lower-case hex SHA-256 of a file.
pub fn sha256_file(path: &Path) -> String {
    use sha2::Digest;
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    hex::encode(sha2::Sha256::digest(bytes))
}
