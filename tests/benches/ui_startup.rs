//! The UI's start-up, side by side with a Chromium kiosk page showing the same idle screen
//! (issue 8): time from process start to the first frame, and peak memory with the UI up.
//! Goals for the kiosk: first frame within 300 ms, peak RSS at most 60 MiB.
//!
//! Both programs run the same way, one after the other, on one Xvfb screen of 1280x800x24
//! with a black root (`-br`):
//! - kiosk: the release `kiosk run --simulate` as the appliance runs it, with a station
//!   provisioned against a `county serve` this benchmark starts (`[ui] fullscreen = true`);
//! - Chromium: Debian's `chromium --kiosk` showing `ui_startup.html`, a static copy of the
//!   idle screen (same texts, colours, sizes and font family, Noto Sans CJK).
//!
//! First frame: the time from spawning the process to the first capture of the X root
//! window in which more than 1 % of the pixels differ from the first one, i.e. something
//! other than one flat colour is drawn. A capture is 16 rows of the screen, one every 50
//! (GetImage, pipelined, well under 1 ms), taken every 2 ms plus its own time; the
//! interval is printed (the figure's resolution). A window that is mapped but not painted, or painted with its background only, is
//! not a frame. The same code measures both programs.
//! Memory: every 25 ms from the spawn until 4 s after the first frame, the sum of VmRSS
//! over the program's process group (the kiosk is one process; Chromium is a browser, a
//! zygote, renderers, GPU and utility processes); the peak of that sum is "peak RSS". At
//! the end, also the sum of Pss (`/proc/PID/smaps_rollup`), which counts shared pages once,
//! and for the kiosk its own VmHWM (the kernel's peak, the goal's figure).
//! One warm-up run of each is not counted (page cache, the profile, the outbox files);
//! then `UI_BENCH_RUNS` runs of each (default 5), medians printed. The last frame of each
//! program is written to `target/ui-startup-kiosk.png` and `target/ui-startup-chromium.png`
//! to check that both showed the idle screen.
//!
//! It fails only when it cannot measure (no Xvfb, no Chromium, a program that never draws);
//! the figures are printed beside the goals, never asserted.
//!
//! Run: `cargo build --release -p kiosk -p county && cargo bench -p kiosk-e2e --bench
//! ui_startup` (needs `xvfb`, `chromium`, `fonts-noto-cjk`; `CHROMIUM` names another
//! browser binary).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kiosk_e2e::{Running, bin};
use std::os::unix::process::CommandExt;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::{ConnectionExt, ImageFormat};
use x11rb::rust_connection::RustConnection;

const WIDTH: u16 = 1280;
const HEIGHT: u16 = 800;
/// How long the memory is watched after the first frame.
const SETTLE: Duration = Duration::from_secs(4);
/// The pause between two captures of the screen.
const POLL: Duration = Duration::from_millis(2);
/// A program that has not drawn by then cannot be measured.
const FIRST_FRAME_LIMIT: Duration = Duration::from_secs(30);
const GOAL_MS: f64 = 300.0;
const GOAL_MIB: f64 = 60.0;

/// A clear sentence and a non-zero exit: the benchmark cannot measure.
fn fail(msg: impl std::fmt::Display) -> ! {
    eprintln!("ui_startup: cannot measure: {msg}");
    std::process::exit(1);
}

struct Xvfb {
    child: Child,
    display: String,
    conn: RustConnection,
    root: u32,
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Xvfb {
    fn start() -> Xvfb {
        let n = (0..400)
            .map(|i| 500 + (std::process::id() + i) % 400)
            .find(|n| !Path::new(&format!("/tmp/.X11-unix/X{n}")).exists())
            .unwrap_or_else(|| fail("no free X display number"));
        let display = format!(":{n}");
        let screen = format!("{WIDTH}x{HEIGHT}x24");
        let child = Command::new("Xvfb")
            .args([&display, "-screen", "0", &screen, "-br", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| fail(format!("Xvfb cannot start ({e}): apt-get install xvfb")));
        let deadline = Instant::now() + Duration::from_secs(10);
        let (conn, screen_num) = loop {
            match x11rb::connect(Some(&display)) {
                Ok(c) => break c,
                Err(e) if Instant::now() > deadline => {
                    fail(format!("Xvfb {display} accepts no client: {e}"))
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        };
        let root = conn.setup().roots[screen_num].root;
        Xvfb {
            child,
            display,
            conn,
            root,
        }
    }

    /// The whole screen, 4 bytes a pixel (B, G, R, unused).
    fn capture(&self) -> Vec<u8> {
        self.rows(HEIGHT, HEIGHT, 1)
    }

    /// `count` rows of `height` pixels every `step` rows: enough to see a frame, and a
    /// capture of a tenth of a millisecond instead of tens (the requests are pipelined).
    fn rows(&self, height: u16, step: u16, count: u16) -> Vec<u8> {
        let height = height.max(1);
        let cookies: Vec<_> = (0..count)
            .map(|i| {
                let y = (i * step + step / 2).min(HEIGHT - height) as i16;
                self.conn
                    .get_image(ImageFormat::Z_PIXMAP, self.root, 0, y, WIDTH, height, !0)
                    .unwrap_or_else(|e| fail(format!("the X screen cannot be read: {e}")))
            })
            .collect();
        cookies
            .into_iter()
            .flat_map(|c| {
                c.reply()
                    .unwrap_or_else(|e| fail(format!("the X screen cannot be read: {e}")))
                    .data
            })
            .collect()
    }

    /// The rows the first-frame test looks at: 16 of them, one every 50.
    fn sample(&self) -> Vec<u8> {
        self.rows(1, HEIGHT / 16, 16)
    }
}

/// Something other than one flat colour: more than 1 % of the pixels differ from the first.
fn drawn(img: &[u8]) -> bool {
    let first = &img[..3];
    let px = img.chunks_exact(4);
    let total = px.len();
    px.filter(|p| &p[..3] != first).count() * 100 > total
}

/// (pid, process group) of every process.
fn processes() -> Vec<(u32, u32)> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| {
        let pid: u32 = e.ok()?.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
        let rest = &stat[stat.rfind(')')? + 2..];
        let pgrp = rest.split(' ').nth(2)?.parse().ok()?;
        Some((pid, pgrp))
    })
    .collect()
}

fn group(pgid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|&(_, g)| g == pgid)
        .map(|(p, _)| p)
        .collect()
}

/// A field in kB from a /proc file ("VmRSS:", "Pss:"), 0 when the process is gone.
fn kb(path: &str, field: &str) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn mib(kb: u64) -> f64 {
    kb as f64 / 1024.0
}

struct Run {
    first_frame_ms: f64,
    peak_rss_kb: u64,
    pss_kb: u64,
    hwm_kb: u64,
    processes: usize,
    capture_ms: f64,
}

/// Spawn `cmd` in a process group of its own, watch the screen and the memory, stop it.
fn measure(x: &Xvfb, cmd: &mut Command, name: &str, last_frame: &Path) -> Run {
    if drawn(&x.sample()) {
        fail("the screen is not blank before the start (a previous program still shows)");
    }
    cmd.env("DISPLAY", &x.display)
        .env_remove("WAYLAND_DISPLAY")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    let start = Instant::now();
    let child = cmd
        .spawn()
        .unwrap_or_else(|e| fail(format!("{name} cannot start ({e}): {cmd:?}")));
    let running = Running {
        child,
        lines: Vec::new(),
    };
    let pgid = running.child.id();
    let mut peak_rss = 0;
    let sample = |peak: &mut u64| {
        let sum = group(pgid)
            .iter()
            .map(|p| kb(&format!("/proc/{p}/status"), "VmRSS:"))
            .sum::<u64>();
        *peak = (*peak).max(sum);
    };
    let mut captures = 0u32;
    let mut next_sample = start;
    let first_frame = loop {
        let img = x.sample();
        captures += 1;
        let at = start.elapsed();
        if drawn(&img) {
            break at;
        }
        if at > FIRST_FRAME_LIMIT {
            fail(format!(
                "{name} drew nothing within {FIRST_FRAME_LIMIT:?}: {cmd:?}"
            ));
        }
        if Instant::now() >= next_sample {
            sample(&mut peak_rss);
            next_sample += Duration::from_millis(25);
        }
        // Not a busy loop: on two cores it would slow down the program it measures.
        std::thread::sleep(POLL);
    };
    // The time from one capture to the next: the resolution of the first-frame figure.
    let capture_ms = first_frame.as_secs_f64() * 1000.0 / f64::from(captures);
    let until = Instant::now() + SETTLE;
    while Instant::now() < until {
        sample(&mut peak_rss);
        std::thread::sleep(Duration::from_millis(25));
    }
    let pids = group(pgid);
    let pss = pids
        .iter()
        .map(|p| kb(&format!("/proc/{p}/smaps_rollup"), "Pss:"))
        .sum();
    let hwm = kb(&format!("/proc/{pgid}/status"), "VmHWM:");
    let img = x.capture();
    write_png(last_frame, &img);
    stop(running, pgid);
    // The next run starts on a blank screen.
    let deadline = Instant::now() + Duration::from_secs(10);
    while drawn(&x.sample()) {
        if Instant::now() > deadline {
            fail(format!("{name}'s window stayed on screen after it stopped"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Run {
        first_frame_ms: first_frame.as_secs_f64() * 1000.0,
        peak_rss_kb: peak_rss,
        pss_kb: pss,
        hwm_kb: hwm,
        processes: pids.len(),
        capture_ms,
    }
}

/// SIGTERM to the whole group (the kiosk closes its window and outbox in order), then
/// SIGKILL for whatever is left after 10 s.
fn stop(mut running: Running, pgid: u32) {
    let group = format!("-{pgid}");
    let kill = |signal: &str| {
        let _ = Command::new("kill")
            .args([signal, "--", &group])
            .stderr(Stdio::null())
            .status();
    };
    kill("-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while running.child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    while !self::group(pgid).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    kill("-KILL");
    drop(running);
}

fn write_png(path: &Path, bgrx: &[u8]) {
    let rgb: Vec<u8> = bgrx
        .chunks_exact(4)
        .flat_map(|p| [p[2], p[1], p[0]])
        .collect();
    let file =
        std::fs::File::create(path).unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
    let mut enc = png::Encoder::new(std::io::BufWriter::new(file), WIDTH.into(), HEIGHT.into());
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()
        .and_then(|mut w| w.write_image_data(&rgb))
        .unwrap_or_else(|e| fail(format!("{}: {e}", path.display())));
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

struct Summary {
    first_frame_ms: f64,
    peak_rss: f64,
    pss: f64,
    hwm: f64,
    processes: usize,
    capture_ms: f64,
    all_ms: Vec<f64>,
}

fn summarise(runs: &[Run]) -> Summary {
    let f = |g: &dyn Fn(&Run) -> f64| median(runs.iter().map(g).collect());
    Summary {
        first_frame_ms: f(&|r| r.first_frame_ms),
        peak_rss: f(&|r| mib(r.peak_rss_kb)),
        pss: f(&|r| mib(r.pss_kb)),
        hwm: f(&|r| mib(r.hwm_kb)),
        processes: runs.iter().map(|r| r.processes).max().unwrap_or(0),
        capture_ms: f(&|r| r.capture_ms),
        all_ms: runs.iter().map(|r| r.first_frame_ms).collect(),
    }
}

/// The station: a county of its own, a provisioned data directory, the appliance's config.
struct Station {
    _county: Running,
    data: PathBuf,
    config: PathBuf,
}

fn station(tmp: &Path) -> Station {
    let county_dir = tmp.join("county");
    let data = tmp.join("station");
    let (county, url) = kiosk_e2e::start_county(&county_dir);
    // One notice for every station, as a county publishes it (there is no CLI for notices
    // yet, so straight into its table with the `sqlite3` tool); the kiosk fetches it in the
    // warm-up run and shows it from its outbox from then on.
    let notice = "INSERT INTO notices (version, station_id, title_zh, title_en, body_zh, \
                  body_en, published_at) VALUES (1, NULL, '本周六上午停电', 'Power cut on \
                  Saturday morning', '因线路检修，本周六 8:00–12:00 全村停电。服务站照常开放，\
                  申请会先保存在本机，来电后自动发送。', 'Line repairs: no power in the village on \
                  Saturday 8:00–12:00. The station stays open; applications are saved here and \
                  sent when the power is back.', '2026-06-09T08:00:00+08:00')";
    let out = Command::new("sqlite3")
        .arg(county_dir.join("county.sqlite3"))
        .arg(notice)
        .output()
        .unwrap_or_else(|e| fail(format!("sqlite3 cannot run ({e}): apt-get install sqlite3")));
    if !out.status.success() {
        fail(format!(
            "the notice cannot be published: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let prov = tmp.join("station.toml");
    kiosk_e2e::add_station(&county_dir, &url, &prov);
    let out = kiosk_e2e::run(
        Command::new(bin("kiosk"))
            .arg("--data-dir")
            .arg(&data)
            .arg("provision")
            .arg(&prov),
    );
    if !out.status.success() {
        fail(format!(
            "kiosk provision failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let config = tmp.join("kiosk.toml");
    std::fs::write(&config, "[ui]\nfullscreen = true\n")
        .unwrap_or_else(|e| fail(format!("{}: {e}", config.display())));
    Station {
        _county: county,
        data,
        config,
    }
}

fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

fn main() {
    let runs: usize = std::env::var("UI_BENCH_RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(5);
    let chromium = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    if !chromium.exists() {
        fail(format!(
            "{} is missing: apt-get install chromium (or set CHROMIUM)",
            chromium.display()
        ));
    }
    let page = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/ui_startup.html");
    let kiosk_bin = bin("kiosk");
    let target = kiosk_bin
        .parent()
        .and_then(Path::parent)
        .unwrap_or_else(|| Path::new("."))
        .to_path_buf();
    let tmp = tempfile::tempdir().unwrap_or_else(|e| fail(format!("no temporary directory: {e}")));
    let x = Xvfb::start();
    let st = station(tmp.path());
    let profile = tmp.path().join("chromium-profile");

    let kiosk = || {
        let mut c = Command::new(&kiosk_bin);
        c.arg("--data-dir")
            .arg(&st.data)
            .arg("--config")
            .arg(&st.config)
            .args(["run", "--simulate"]);
        c
    };
    let browser = || {
        let mut c = Command::new(&chromium);
        c.args([
            "--kiosk",
            "--no-first-run",
            "--no-sandbox",
            "--noerrdialogs",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--password-store=basic",
            "--disable-features=Translate",
            "--window-position=0,0",
            "--window-size=1280,800",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()));
        c
    };

    let kiosk_png = target.join("ui-startup-kiosk.png");
    let chromium_png = target.join("ui-startup-chromium.png");
    // Warm-ups, not counted.
    measure(&x, &mut kiosk(), "kiosk", &kiosk_png);
    measure(&x, &mut browser(), "chromium", &chromium_png);
    let mut k = Vec::new();
    let mut c = Vec::new();
    for _ in 0..runs {
        k.push(measure(&x, &mut kiosk(), "kiosk", &kiosk_png));
        c.push(measure(&x, &mut browser(), "chromium", &chromium_png));
    }
    let k = summarise(&k);
    let c = summarise(&c);

    println!(
        "UI start-up: release `kiosk run --simulate` vs `chromium --kiosk` on the same idle \
         screen, Xvfb {WIDTH}x{HEIGHT}x24, medians of {runs} runs each (one warm-up each not \
         counted)"
    );
    println!(
        "first frame = spawn -> first X root capture that is not one flat colour (captures \
         every {:.1} ms for the kiosk, {:.1} ms for Chromium: the resolution)",
        k.capture_ms, c.capture_ms
    );
    println!(
        "{:<34} {:>10} {:>10} {:>9}   goal",
        "", "kiosk", "chromium", "k/c"
    );
    println!(
        "{:<34} {:>10.0} {:>10.0} {:>8.0}%   <= {GOAL_MS:.0} ms: {}",
        "first frame (ms)",
        k.first_frame_ms,
        c.first_frame_ms,
        100.0 * k.first_frame_ms / c.first_frame_ms,
        verdict(k.first_frame_ms <= GOAL_MS)
    );
    println!(
        "{:<34} {:>10.1} {:>10.1} {:>8.0}%   <= {GOAL_MIB:.0} MiB: {}",
        "peak RSS, sum over the group (MiB)",
        k.peak_rss.max(k.hwm),
        c.peak_rss,
        100.0 * k.peak_rss.max(k.hwm) / c.peak_rss,
        verdict(k.peak_rss.max(k.hwm) <= GOAL_MIB)
    );
    println!(
        "{:<34} {:>10.1} {:>10.1} {:>8.0}%",
        "PSS with the UI up (MiB)",
        k.pss,
        c.pss,
        100.0 * k.pss / c.pss
    );
    println!(
        "{:<34} {:>10} {:>10}",
        "processes", k.processes, c.processes
    );
    println!(
        "kiosk VmHWM {:.1} MiB (its peak RSS by the kernel; the group peak above is the \
         larger of it and the sampled sum)",
        k.hwm
    );
    let ms = |v: &[f64]| {
        v.iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "first frames (ms): kiosk {}; chromium {}",
        ms(&k.all_ms),
        ms(&c.all_ms)
    );
    println!(
        "last frames: {} and {}",
        kiosk_png.display(),
        chromium_png.display()
    );
}
