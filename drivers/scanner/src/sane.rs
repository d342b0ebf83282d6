//! SANE through `scanimage` (Debian `sane-utils`) as a subprocess.
//!
//! Why a subprocess and not a binding crate: a libsane binding needs `libsane-dev` and
//! libclang at build time, and the project's build and test must not need any `-dev`
//! package. `scanimage` is SANE's own frontend, so every backend SANE supports works, and
//! what it prints is stable: `-f` lists devices in a format we choose, `-A` lists a device's
//! options, `-p` prints progress, `--batch … --batch-print` writes each page to a file and
//! names it on stdout when it is complete, its exit status is the SANE status code, and it
//! answers SIGTERM by cancelling the scan on the device.
//!
//! The parsers here are pure functions tested on captured output; `tests/sane.rs` (system
//! tier) runs the real `scanimage` against SANE's `test` backend.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::subprocess::{self, Line};
use crate::{Cancel, Device, Error, Event, RawPage, Request, Result, Scanner, Source};

const TOOL: &str = "scanimage";
const PACKAGE: &str = "sane-utils";
/// The `-f` format: fields separated by tabs, one device a line.
const LIST_FORMAT: &str = "%d\t%v\t%m\t%t%n";

/// The SANE backend.
#[derive(Debug, Clone)]
pub struct Sane {
    program: PathBuf,
    config_dir: Option<PathBuf>,
}

impl Default for Sane {
    fn default() -> Sane {
        Sane::new()
    }
}

impl Sane {
    /// `scanimage` from `PATH`, SANE's own configuration (`/etc/sane.d`).
    pub fn new() -> Sane {
        Sane {
            program: PathBuf::from(TOOL),
            config_dir: None,
        }
    }

    /// Use the SANE configuration in `dir` (`SANE_CONFIG_DIR`): its `dll.conf` says which
    /// backends are loaded. Tests point it at a folder that lists only `test`.
    pub fn with_config_dir(mut self, dir: impl Into<PathBuf>) -> Sane {
        self.config_dir = Some(dir.into());
        self
    }

    /// Run this program instead of `scanimage` from `PATH`.
    pub fn with_program(mut self, program: impl Into<PathBuf>) -> Sane {
        self.program = program.into();
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        if let Some(dir) = &self.config_dir {
            cmd.env("SANE_CONFIG_DIR", dir);
        }
        // scanimage's messages are what we parse; keep them in English.
        cmd.env("LC_ALL", "C").env("LANGUAGE", "C");
        cmd
    }

    /// Run scanimage to its end and collect stdout and stderr.
    fn capture(&self, args: &[&str]) -> Result<(Vec<String>, subprocess::Outcome)> {
        let mut cmd = self.command();
        cmd.args(args);
        let mut out = Vec::new();
        let outcome = subprocess::run(cmd, TOOL, PACKAGE, &Cancel::new(), &mut |l| {
            if let Line::Out(t) = l {
                out.push(t)
            }
        })?;
        Ok((out, outcome))
    }

    /// The options of `device` that the scan sets (`scanimage -d DEVICE -A`).
    pub fn options(&self, device: &str) -> Result<DeviceOptions> {
        let (out, outcome) = self.capture(&["-d", device, "-A"])?;
        if !outcome.status.success() {
            return Err(classify(outcome.status.code(), &outcome.stderr));
        }
        Ok(parse_options(&out))
    }
}

impl Scanner for Sane {
    fn devices(&self) -> Result<Vec<Device>> {
        let format = format!("--formatted-device-list={LIST_FORMAT}");
        let (out, outcome) = self.capture(&[&format])?;
        if !outcome.status.success() {
            return Err(classify(outcome.status.code(), &outcome.stderr));
        }
        Ok(parse_devices(&out))
    }

    fn scan(
        &self,
        device: Option<&str>,
        request: &Request,
        on_event: &mut dyn FnMut(Event),
        cancel: &Cancel,
    ) -> Result<u32> {
        let device = match device {
            Some(d) => d.to_string(),
            None => {
                self.devices()?
                    .into_iter()
                    .next()
                    .ok_or(Error::NoDevice)?
                    .name
            }
        };
        let options = self.options(&device)?;
        let settings = options.settings(request)?;
        let dir = tempfile::Builder::new()
            .prefix("kiosk-scan-")
            .tempdir()
            .map_err(|e| Error::Failed(format!("no room for the scan: {e}")))?;
        let mut cmd = self.command();
        cmd.arg("-d")
            .arg(&device)
            .args(settings.args(request, dir.path()));
        tracing::info!(device = %device, kind = %request.kind, dpi = settings.dpi, "scanning");
        let mut tracker = Tracker::default();
        let mut failure = None;
        let outcome = subprocess::run(cmd, TOOL, PACKAGE, cancel, &mut |line| match tracker
            .line(&line)
        {
            Some(Step::Event(e)) => on_event(e),
            Some(Step::PageFile(number, path)) => match std::fs::read(&path) {
                Ok(pnm) => {
                    let _ = std::fs::remove_file(&path);
                    // scanimage's last progress lines (stderr) may still be on their way
                    // when the page's file name (stdout) arrives: close the page's progress
                    // here, and `Tracker` drops what arrives for it later.
                    if tracker.progress.0 == number && tracker.progress.1 < 100.0 {
                        on_event(Event::Progress {
                            page: number,
                            percent: 100.0,
                        });
                    }
                    tracker.done = tracker.done.max(number);
                    on_event(Event::Page(RawPage {
                        number,
                        pnm,
                        dpi: settings.dpi,
                    }));
                    tracker.delivered += 1;
                }
                Err(e) => {
                    failure.get_or_insert(Error::Failed(format!(
                        "page {number} cannot be read back: {e}"
                    )));
                }
            },
            None => {}
        })?;
        if outcome.cancelled {
            return Err(Error::Cancelled);
        }
        if let Some(e) = failure {
            return Err(e);
        }
        finish(
            request.source,
            tracker.delivered,
            outcome.status.code(),
            &outcome.stderr,
        )
    }
}

/// What a scan's exit means, given the pages delivered.
fn finish(source: Source, delivered: u32, code: Option<i32>, stderr: &[String]) -> Result<u32> {
    let error = sane_error(stderr);
    match (error, code) {
        // The feeder running empty ends a batch normally once something was scanned.
        (Some(Error::NoPaper), _) if source == Source::Feeder && delivered > 0 => Ok(delivered),
        (Some(e), _) => Err(e),
        (None, Some(0)) if delivered > 0 => Ok(delivered),
        (None, Some(0)) => Err(match source {
            Source::Feeder => Error::NoPaper,
            Source::Flatbed => Error::EmptyPage,
        }),
        (None, code) => Err(classify(code, stderr)),
    }
}

/// The settings a scan passes to the device.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub dpi: u32,
    pub mode: Option<String>,
    pub source: Option<String>,
}

impl Settings {
    fn args(&self, request: &Request, dir: &Path) -> Vec<String> {
        let mut args = vec![
            "--format=pnm".to_string(),
            format!("--batch={}", dir.join("p%d.pnm").display()),
            "--batch-print".into(),
            "--progress".into(),
            format!("--resolution={}", self.dpi),
        ];
        if let Some(m) = &self.mode {
            args.push(format!("--mode={m}"));
        }
        if let Some(s) = &self.source {
            args.push(format!("--source={s}"));
        }
        if let Some((w, h)) = request.area_mm {
            args.extend(["-l".into(), "0".into(), "-t".into(), "0".into()]);
            args.extend(["-x".into(), w.to_string(), "-y".into(), h.to_string()]);
        }
        let count = match request.source {
            Source::Flatbed => Some(1),
            Source::Feeder => request.max_pages,
        };
        if let Some(n) = count {
            args.push(format!("--batch-count={n}"));
        }
        args
    }
}

/// A device's resolution choices.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolutions {
    /// `min..max` (in steps of `step`).
    Range { min: u32, max: u32, step: u32 },
    /// A list of values.
    List(Vec<u32>),
    /// Not given: the device's default is used.
    Unknown,
}

/// What `scanimage -A` says about the options the scan sets.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceOptions {
    pub modes: Vec<String>,
    pub sources: Vec<String>,
    pub resolutions: Resolutions,
}

impl DeviceOptions {
    /// The settings closest to what `request` asks.
    pub fn settings(&self, request: &Request) -> Result<Settings> {
        let want = request.kind.dpi();
        let dpi = match &self.resolutions {
            Resolutions::Range { min, max, step } => {
                let step = (*step).max(1);
                let v = want.clamp(*min, *max);
                min + (v - min).div_ceil(step) * step
            }
            // The smallest at least as fine as asked, else the finest.
            Resolutions::List(list) => list
                .iter()
                .copied()
                .filter(|&r| r >= want)
                .min()
                .or_else(|| list.iter().copied().max())
                .unwrap_or(want),
            Resolutions::Unknown => want,
        };
        let pick = |list: &[String], words: &[&str]| {
            list.iter()
                .find(|m| {
                    let m = m.to_ascii_lowercase();
                    words.iter().any(|w| m.contains(w))
                })
                .cloned()
        };
        let mode = if request.kind.colour() {
            pick(&self.modes, &["color", "colour"])
        } else {
            pick(&self.modes, &["gray", "grey"])
        };
        let source = match request.source {
            Source::Flatbed => pick(&self.sources, &["flatbed"]),
            Source::Feeder => Some(pick(&self.sources, &["feeder", "adf"]).ok_or_else(|| {
                Error::InvalidArgument("这台扫描仪没有进纸器 / this scanner has no feeder".into())
            })?),
        };
        Ok(Settings { dpi, mode, source })
    }
}

/// Parse `scanimage -A` (or `--help -d DEV`) output.
pub fn parse_options(lines: &[String]) -> DeviceOptions {
    let mut options = DeviceOptions {
        modes: Vec::new(),
        sources: Vec::new(),
        resolutions: Resolutions::Unknown,
    };
    for line in lines {
        let line = line.trim_start();
        let Some((name, rest)) = line.split_once(' ') else {
            continue;
        };
        // "Gray|Color [Gray]" -> "Gray|Color"; an inactive option says "[inactive]".
        let constraint = match rest.rfind(" [") {
            Some(i) => &rest[..i],
            None => rest,
        };
        let values = || {
            constraint
                .split('|')
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
        };
        match name {
            "--mode" => options.modes = values(),
            "--source" => options.sources = values(),
            "--resolution" => options.resolutions = parse_resolutions(constraint),
            _ => {}
        }
    }
    options
}

fn parse_resolutions(constraint: &str) -> Resolutions {
    // "1..1200dpi (in steps of 1)" or "75|150|300|600dpi" or "auto||75|150dpi".
    let head = constraint.split(" (").next().unwrap_or("").trim();
    let head = head.trim_end_matches("dpi");
    let number = |s: &str| s.trim().parse::<f64>().ok().map(|v| v.round() as u32);
    if let Some((a, b)) = head.split_once("..") {
        let step = constraint
            .split("in steps of ")
            .nth(1)
            .and_then(|s| number(s.trim_end_matches(')')))
            .unwrap_or(1);
        match (number(a), number(b)) {
            (Some(min), Some(max)) if min <= max => Resolutions::Range { min, max, step },
            _ => Resolutions::Unknown,
        }
    } else {
        let list: Vec<u32> = head.split('|').filter_map(number).collect();
        if list.is_empty() {
            Resolutions::Unknown
        } else {
            Resolutions::List(list)
        }
    }
}

/// Parse the output of `scanimage -f "%d\t%v\t%m\t%t%n"`.
pub fn parse_devices(lines: &[String]) -> Vec<Device> {
    lines
        .iter()
        .filter_map(|l| {
            let mut f = l.split('\t');
            let name = f.next()?.trim();
            if name.is_empty() {
                return None;
            }
            Some(Device {
                name: name.to_string(),
                vendor: f.next().unwrap_or("").trim().to_string(),
                model: f.next().unwrap_or("").trim().to_string(),
                kind: f.next().unwrap_or("").trim().to_string(),
            })
        })
        .collect()
}

/// SANE's status strings (`sane_strstatus`) as scanimage prints them, and what they mean.
/// Makes the error for one status.
type MakeError = fn() -> Error;

const STATUS: &[(&str, MakeError)] = &[
    ("Document feeder out of documents", || Error::NoPaper),
    ("Document feeder jammed", || Error::Jammed),
    ("Scanner cover is open", || Error::CoverOpen),
    ("Error during device I/O", || Error::DeviceGone),
    ("Device busy", || Error::Busy),
    ("Access to resource has been denied", || Error::AccessDenied),
    ("Operation was canceled", || Error::Cancelled),
    ("Operation was cancelled", || Error::Cancelled),
    ("Out of memory", || {
        Error::Failed("扫描仪内存不足 / the scanner ran out of memory".into())
    }),
    ("Operation not supported", || {
        Error::InvalidArgument("操作不受支持 / operation not supported".into())
    }),
];

/// The error scanimage reported on stderr, if any.
pub fn sane_error(stderr: &[String]) -> Option<Error> {
    stderr.iter().rev().find_map(|line| {
        let msg = line.strip_prefix("scanimage: ")?;
        // "open of device NAME failed: STATUS"
        if let Some(rest) = msg.strip_prefix("open of device ") {
            let (name, status) = rest.rsplit_once(" failed: ")?;
            return Some(match status.trim() {
                "Invalid argument" => Error::UnknownDevice(name.to_string()),
                s => status_error(s).unwrap_or_else(|| Error::Failed(msg.to_string())),
            });
        }
        // "setting of option --mode failed (Invalid argument)"
        if let Some(rest) = msg.strip_prefix("setting of option ") {
            let option = rest.split(' ').next().unwrap_or(rest);
            return Some(Error::InvalidArgument(option.to_string()));
        }
        // "sane_read: STATUS", "sane_start: STATUS", ...
        let status = msg.split_once(": ").map(|(_, s)| s).unwrap_or(msg);
        if status.trim() == "Invalid argument" {
            return Some(Error::InvalidArgument(msg.to_string()));
        }
        status_error(status.trim())
    })
}

fn status_error(status: &str) -> Option<Error> {
    STATUS
        .iter()
        .find(|(text, _)| status == *text)
        .map(|(_, make)| make())
}

/// The error for a failed run: what stderr says, else what the exit status (the SANE
/// status code) says, else the last line of stderr.
pub fn classify(code: Option<i32>, stderr: &[String]) -> Error {
    if let Some(e) = sane_error(stderr) {
        return e;
    }
    match code {
        Some(2) => Error::Cancelled,
        Some(3) => Error::Busy,
        Some(4) => Error::InvalidArgument(last_line(stderr)),
        Some(6) => Error::Jammed,
        Some(7) => Error::NoPaper,
        Some(8) => Error::CoverOpen,
        Some(9) => Error::DeviceGone,
        Some(11) => Error::AccessDenied,
        None => Error::Failed("scanimage was stopped by a signal".into()),
        Some(_) => Error::Failed(last_line(stderr)),
    }
}

fn last_line(stderr: &[String]) -> String {
    stderr
        .iter()
        .rev()
        .find(|l| !l.starts_with("Progress:") && !l.starts_with("Output format"))
        .cloned()
        .unwrap_or_else(|| "scanimage failed without a message".into())
}

/// Follows scanimage's output through a batch.
#[derive(Debug, Default)]
struct Tracker {
    page: u32,
    delivered: u32,
    /// The highest page number delivered: later progress lines for it are stale.
    done: u32,
    /// The last progress seen: (page, percent).
    progress: (u32, f32),
}

enum Step {
    Event(Event),
    /// Page `n` is complete in this file.
    PageFile(u32, PathBuf),
}

impl Tracker {
    fn line(&mut self, line: &Line) -> Option<Step> {
        match line {
            Line::Err(t) => {
                if let Some(n) = t.strip_prefix("Scanning page ") {
                    self.page = n.trim().parse().unwrap_or(self.page + 1);
                    Some(Step::Event(Event::PageStarted(self.page)))
                } else if let Some(p) = t.strip_prefix("Progress: ") {
                    let percent = p.trim().trim_end_matches('%').parse::<f32>().ok()?;
                    let page = self.page.max(1);
                    if page <= self.done {
                        return None;
                    }
                    let percent = percent.clamp(0.0, 100.0);
                    self.progress = (page, percent);
                    Some(Step::Event(Event::Progress { page, percent }))
                } else {
                    None
                }
            }
            // stdout and stderr are separate pipes: "Scanning page 2" may arrive before
            // page 1's file name, so the number comes from the name (`p%d.pnm`).
            Line::Out(t) if t.ends_with(".pnm") => {
                let path = PathBuf::from(t);
                let number = path
                    .file_stem()
                    .and_then(|s| s.to_str())
                    .and_then(|s| s.strip_prefix('p'))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(self.page.max(1));
                Some(Step::PageFile(number, path))
            }
            Line::Out(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Kind;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    /// `scanimage -d test -A` of sane-backends 1.2 (trimmed).
    const TEST_BACKEND: &str = "
Options specific to device `test:0':
  Scan Mode:
    --mode Gray|Color [Gray]
        Selects the scan mode (e.g., lineart, monochrome, or color).
    --depth 1|8|16 [8]
    --resolution 1..1200dpi (in steps of 1) [0.000762939]
    --source Flatbed|Automatic Document Feeder [Flatbed]
  Geometry:
    -x 0..200mm (in steps of 1) [80]
";

    #[test]
    fn options_of_the_test_backend() {
        let o = parse_options(&lines(TEST_BACKEND));
        assert_eq!(o.modes, ["Gray", "Color"]);
        assert_eq!(o.sources, ["Flatbed", "Automatic Document Feeder"]);
        assert_eq!(
            o.resolutions,
            Resolutions::Range {
                min: 1,
                max: 1200,
                step: 1
            }
        );
        let page = o.settings(&Request::page(Kind::Page)).unwrap();
        assert_eq!(
            page,
            Settings {
                dpi: 200,
                mode: Some("Gray".into()),
                source: Some("Flatbed".into())
            }
        );
        let mut feeder = Request::page(Kind::IdCard);
        feeder.source = Source::Feeder;
        let s = o.settings(&feeder).unwrap();
        assert_eq!(s.dpi, 300);
        assert_eq!(s.mode.as_deref(), Some("Color"));
        assert_eq!(s.source.as_deref(), Some("Automatic Document Feeder"));
    }

    #[test]
    fn a_resolution_list_takes_the_nearest_finer_one() {
        let o = parse_options(&lines(
            "    --mode Lineart|Grayscale|24bit Color [Lineart]\n    --resolution 75|150|300|600dpi [75]\n",
        ));
        assert_eq!(o.resolutions, Resolutions::List(vec![75, 150, 300, 600]));
        let s = o.settings(&Request::page(Kind::Page)).unwrap();
        assert_eq!(s.dpi, 300);
        assert_eq!(s.mode.as_deref(), Some("Grayscale"));
        assert_eq!(s.source, None, "no --source option: leave it");
        let s = o.settings(&Request::page(Kind::Photo)).unwrap();
        assert_eq!(s.mode.as_deref(), Some("24bit Color"));
        let mut feeder = Request::page(Kind::Page);
        feeder.source = Source::Feeder;
        assert!(matches!(
            o.settings(&feeder),
            Err(Error::InvalidArgument(_))
        ));
        let coarse = parse_options(&lines("    --resolution 75|150dpi [75]"));
        assert_eq!(
            coarse.settings(&Request::page(Kind::Page)).unwrap().dpi,
            150
        );
        let stepped = parse_options(&lines("    --resolution 50..600dpi (in steps of 25) [50]"));
        assert_eq!(
            stepped.settings(&Request::page(Kind::Page)).unwrap().dpi,
            200
        );
    }

    #[test]
    fn device_list() {
        let d = parse_devices(&lines(
            "test:0\tNoname\tfrontend-tester\tvirtual device\nepson2:libusb:001:004\tEpson\tGT-S55\tflatbed scanner\n\n",
        ));
        assert_eq!(d.len(), 2);
        assert_eq!(d[1].name, "epson2:libusb:001:004");
        assert_eq!(d[1].vendor, "Epson");
        assert_eq!(d[1].model, "GT-S55");
        assert_eq!(d[1].kind, "flatbed scanner");
    }

    fn check(stderr: &str, code: Option<i32>, expect: Error) {
        assert_eq!(classify(code, &lines(stderr)), expect, "{stderr}");
    }

    #[test]
    fn sane_errors_map_to_plain_messages() {
        check(
            "scanimage: sane_read: Document feeder out of documents",
            Some(7),
            Error::NoPaper,
        );
        check(
            "scanimage: sane_start: Document feeder out of documents",
            Some(7),
            Error::NoPaper,
        );
        check(
            "scanimage: sane_read: Document feeder jammed",
            Some(6),
            Error::Jammed,
        );
        check(
            "scanimage: sane_read: Scanner cover is open",
            Some(8),
            Error::CoverOpen,
        );
        check(
            "scanimage: sane_read: Error during device I/O",
            Some(9),
            Error::DeviceGone,
        );
        check("scanimage: sane_start: Device busy", Some(3), Error::Busy);
        check(
            "scanimage: open of device epson2:libusb:001:004 failed: Device busy",
            Some(1),
            Error::Busy,
        );
        check(
            "scanimage: open of device nosuch failed: Invalid argument",
            Some(1),
            Error::UnknownDevice("nosuch".into()),
        );
        check(
            "scanimage: setting of option --mode failed (Invalid argument)",
            Some(1),
            Error::InvalidArgument("--mode".into()),
        );
        check(
            "scanimage: sane_read: Access to resource has been denied",
            Some(11),
            Error::AccessDenied,
        );
        // No message we know: the exit status is the SANE status.
        check("", Some(6), Error::Jammed);
        check(
            "Progress: 3.5%\nsomething odd",
            Some(1),
            Error::Failed("something odd".into()),
        );
    }

    #[test]
    fn an_empty_feeder_ends_a_batch_but_fails_an_empty_one() {
        let empty = lines("scanimage: sane_start: Document feeder out of documents");
        assert_eq!(finish(Source::Feeder, 10, Some(0), &empty), Ok(10));
        assert_eq!(
            finish(Source::Feeder, 0, Some(0), &empty),
            Err(Error::NoPaper)
        );
        let jam = lines("scanimage: sane_read: Document feeder jammed");
        assert_eq!(finish(Source::Feeder, 2, Some(6), &jam), Err(Error::Jammed));
        assert_eq!(finish(Source::Flatbed, 1, Some(0), &[]), Ok(1));
        assert_eq!(
            finish(Source::Flatbed, 0, Some(0), &[]),
            Err(Error::EmptyPage)
        );
    }

    #[test]
    fn progress_and_pages_are_followed() {
        let mut t = Tracker::default();
        let mut seen = Vec::new();
        for l in [
            Line::Err("Scanning infinity pages, incrementing by 1, numbering from 1".into()),
            Line::Err("Scanning page 1".into()),
            Line::Err("Progress: 1.8%".into()),
            Line::Err("Progress: 100.0%".into()),
            Line::Err("Scanned page 1. (scanner status = 5)".into()),
            Line::Err("Scanning page 2".into()),
            Line::Out("/tmp/x/p1.pnm".into()),
        ] {
            match t.line(&l) {
                Some(Step::Event(e)) => seen.push(format!("{e:?}")),
                Some(Step::PageFile(n, p)) => seen.push(format!("file {n} {}", p.display())),
                None => {}
            }
        }
        assert_eq!(
            seen,
            [
                "PageStarted(1)",
                "Progress { page: 1, percent: 1.8 }",
                "Progress { page: 1, percent: 100.0 }",
                "PageStarted(2)",
                "file 1 /tmp/x/p1.pnm",
            ]
        );
    }

    #[test]
    fn progress_that_arrives_after_its_page_is_dropped() {
        let mut t = Tracker::default();
        assert!(t.line(&Line::Err("Scanning page 1".into())).is_some());
        assert!(t.line(&Line::Err("Progress: 90.4%".into())).is_some());
        assert_eq!(t.progress, (1, 90.4));
        // The page's file is delivered (the scan loop marks it done) ...
        t.done = 1;
        // ... and stderr's last lines for it come late: not reported.
        assert!(t.line(&Line::Err("Progress: 97.9%".into())).is_none());
        assert!(t.line(&Line::Err("Progress: 100.0%".into())).is_none());
        // The next page's progress is reported again.
        assert!(t.line(&Line::Err("Scanning page 2".into())).is_some());
        assert!(t.line(&Line::Err("Progress: 5.0%".into())).is_some());
    }
}
