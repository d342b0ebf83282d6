//! `kiosk scan`: one page through the whole scan pipeline, or `kiosk scan --list`, for
//! technicians checking a scanner or document camera.
//!
//! Which backend: `--device sim` is the simulator, `--device v4l2:/dev/videoN` a document
//! camera, any other name a SANE device (`scanimage -L` names). Without `--device`: the
//! first SANE scanner, else the first document camera. Progress goes to stderr; stdout
//! gets what was written (path, size, content type, SHA-256). The file is a JPEG, or for a
//! page too dense for a legible JPEG within 150 KiB a black-and-white PNG; it is written to
//! FILE as named, with a note on stderr when FILE's extension says otherwise. Exit status: 0 written (or listed), 1 the
//! scan failed or nothing was found (one sentence, Chinese and English, says why), 2 usage.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use scanner::camera::{self, Camera};
use scanner::sane::Sane;
use scanner::sim::{self, Simulator};
use scanner::{Cancel, Device, Event, Kind, Request, Scanner};

use crate::Failure;

#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// List the scanners and document cameras, one a line: NAME, then vendor, model and
    /// type. NAME is what --device takes.
    #[arg(long, conflicts_with_all = ["device", "kind", "out"])]
    pub list: bool,
    /// A name from `kiosk scan --list` (SANE, e.g. `epson2:libusb:001:004`),
    /// `v4l2:/dev/videoN` for a document camera, or `sim` for the simulator. Default: the
    /// first SANE scanner, else the first document camera.
    #[arg(long, value_name = "NAME")]
    pub device: Option<String>,
    /// What is scanned: id-card (colour, 300 dpi), page (grayscale, 200 dpi), photo (colour,
    /// 300 dpi).
    #[arg(long, value_name = "KIND", value_parser = ["id-card", "page", "photo"],
          required_unless_present = "list")]
    pub kind: Option<String>,
    /// Where to write the scan: a JPEG, or a black-and-white PNG for a page of dense print
    /// (stdout says which).
    #[arg(long, value_name = "FILE", required_unless_present = "list")]
    pub out: Option<PathBuf>,
}

pub fn run(args: ScanArgs) -> Result<(), Failure> {
    if args.list {
        return list();
    }
    let (Some(kind), Some(out)) = (args.kind, args.out) else {
        return Err(Failure {
            message: "`kiosk scan` needs --kind and --out, or --list".into(),
            code: 2,
        });
    };
    let kind: Kind = kind.parse().map_err(|e: String| Failure {
        message: e,
        code: 2,
    })?;
    scan(args.device.as_deref(), kind, &out)
}

fn list() -> Result<(), Failure> {
    let mut devices = Vec::new();
    let mut problems = Vec::new();
    match Sane::new().devices() {
        Ok(d) => devices.extend(d),
        Err(e) => problems.push(e.to_string()),
    }
    match Camera::new().devices() {
        Ok(d) => devices.extend(d),
        Err(e) => problems.push(e.to_string()),
    }
    for p in &problems {
        eprintln!("kiosk: {p}");
    }
    if devices.is_empty() {
        return Err(Failure::new(scanner::Error::NoDevice.to_string()));
    }
    let mut out = std::io::stdout().lock();
    for d in &devices {
        let _ = writeln!(out, "{d}");
    }
    Ok(())
}

/// The backend a device name belongs to, and the name it takes.
fn backend(device: Option<&str>) -> Result<(Box<dyn Scanner>, Option<String>), Failure> {
    match device {
        Some(sim::DEVICE) => Ok((Box::new(Simulator::default()), None)),
        Some(d) if d.starts_with(camera::PREFIX) => Ok((Box::new(Camera::new()), Some(d.into()))),
        Some(d) => Ok((Box::new(Sane::new()), Some(d.into()))),
        None => {
            let sane = Sane::new();
            let listed = sane.devices();
            let first: Option<Device> = listed.as_ref().ok().and_then(|d| d.first().cloned());
            if let Some(d) = first {
                return Ok((Box::new(sane), Some(d.name)));
            }
            let cam = Camera::new();
            match cam.devices()?.into_iter().next() {
                Some(d) => Ok((Box::new(cam), Some(d.name))),
                None => Err(Failure::new(format!(
                    "{} ({}; no document camera in /sys/class/video4linux; \
                     `--device sim` runs the simulator)",
                    scanner::Error::NoDevice,
                    match listed {
                        Err(e) => e.to_string(),
                        Ok(_) => "scanimage -L lists none".into(),
                    }
                ))),
            }
        }
    }
}

/// Whether the scanner `device` (as for `--device`; `None`: any) is there now. A backend
/// that cannot list (SANE missing) counts as not there.
pub fn present(device: Option<&str>) -> bool {
    let Ok((scanner, name)) = backend(device) else {
        return false;
    };
    match (scanner.devices(), name) {
        (Ok(listed), Some(name)) => listed.iter().any(|d| d.name == name),
        (Ok(listed), None) => !listed.is_empty(),
        (Err(e), _) => {
            tracing::debug!(error = %e, "the scanner cannot be listed");
            false
        }
    }
}

/// One page through the whole pipeline, for the counter screen: `progress` gets the percent
/// done while the device scans. `device` as for `--device` (`sim`, a SANE name, a camera).
pub fn capture(
    device: Option<&str>,
    kind: Kind,
    mut progress: impl FnMut(f32),
) -> Result<scanner::Processed, Failure> {
    let (scanner, device) = backend(device)?;
    let mut pages = Vec::new();
    scanner.scan(
        device.as_deref(),
        &Request::page(kind),
        &mut |e| match e {
            Event::PageStarted(_) => progress(0.0),
            Event::Progress { percent, .. } => progress(percent),
            Event::Page(p) => pages.push(p),
        },
        &Cancel::new(),
    )?;
    let raw = pages
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(scanner::Error::EmptyPage.to_string()))?;
    Ok(scanner::process(&raw, kind)?)
}

/// The kind of paper a scan slot of a service definition holds, by its id.
pub fn kind_of_slot(scan_id: &str) -> Kind {
    if scan_id.contains("photo") {
        Kind::Photo
    } else if scan_id.contains("id_card") {
        Kind::IdCard
    } else {
        Kind::Page
    }
}

fn scan(device: Option<&str>, kind: Kind, out: &Path) -> Result<(), Failure> {
    let (scanner, device) = backend(device)?;
    let cancel = Cancel::new();
    stop_on_signal(cancel.clone());
    let progress = Progress::new(device.as_deref().unwrap_or(sim::DEVICE));
    let mut pages = Vec::new();
    let mut progress = progress;
    let result = scanner.scan(
        device.as_deref(),
        &Request::page(kind),
        &mut |e| match e {
            Event::PageStarted(_) => progress.show(0.0),
            Event::Progress { percent, .. } => progress.show(percent),
            // A whole page is 100%, whether or not scanimage said so before it ended.
            Event::Page(p) => {
                progress.show(100.0);
                pages.push(p);
            }
        },
        &cancel,
    );
    progress.done();
    result?;
    let raw = pages
        .into_iter()
        .next()
        .ok_or_else(|| Failure::new(scanner::Error::EmptyPage.to_string()))?;
    let processed = scanner::process(&raw, kind)?;
    write_atomically(out, &processed.bytes).map_err(|e| {
        Failure::new(format!(
            "无法写入 {0} / {0} cannot be written: {e}",
            out.display()
        ))
    })?;
    let named = out
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let fits = match processed.format {
        scanner::Format::Jpeg => matches!(named.as_deref(), Some("jpg" | "jpeg")),
        scanner::Format::BitonalPng => named.as_deref() == Some("png"),
    };
    if !fits {
        eprintln!(
            "kiosk: 注意：{0} 的内容是 {1}（.{2}）/ note: {0} holds {1} (.{2})",
            out.display(),
            processed.content_type(),
            processed.extension()
        );
    }
    let mut stdout = std::io::stdout().lock();
    let tones = match (kind.colour(), processed.format) {
        (true, _) => "colour",
        (false, scanner::Format::Jpeg) => "grayscale",
        (false, scanner::Format::BitonalPng) => "black and white (1 bit)",
    };
    let quality = processed
        .quality
        .map(|q| format!(", JPEG quality {q}"))
        .unwrap_or_default();
    let _ = writeln!(
        stdout,
        "{}: {} bytes, {}, {}x{} px at {} dpi, {tones}{quality}",
        out.display(),
        processed.bytes.len(),
        processed.content_type(),
        processed.width,
        processed.height,
        processed.dpi,
    );
    let _ = writeln!(stdout, "sha256 {}", processed.sha256);
    Ok(())
}

/// Write to a temporary file beside `path`, sync, rename: a reader never sees half a scan.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

/// Ctrl-C or SIGTERM cancels the scan (the device is told to stop).
fn stop_on_signal(cancel: Cancel) {
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(crate::daemon::wait_for_signal());
        cancel.cancel();
    });
}

/// Progress on stderr: one rewritten line on a terminal, a line per quarter otherwise.
struct Progress {
    device: String,
    terminal: bool,
    last: f32,
    shown: bool,
}

impl Progress {
    fn new(device: &str) -> Progress {
        Progress {
            device: device.to_string(),
            terminal: std::io::stderr().is_terminal(),
            last: -100.0,
            shown: false,
        }
    }

    fn show(&mut self, percent: f32) {
        let step = if self.terminal { 1.0 } else { 25.0 };
        if percent < self.last + step && !(percent >= 100.0 && self.last < 100.0) {
            return;
        }
        self.last = percent;
        self.shown = true;
        let line = format!(
            "kiosk: 扫描中 / scanning with {}: {percent:3.0}%",
            self.device
        );
        if self.terminal {
            eprint!("\r{line}");
        } else {
            eprintln!("{line}");
        }
    }

    fn done(&mut self) {
        if self.terminal && self.shown {
            eprintln!();
        }
    }
}
