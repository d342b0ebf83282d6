//! Document scanners for the station: a flatbed or feeder scanner through SANE, a USB document
//! camera (高拍仪), and a simulator, all behind one [`Scanner`] trait; and the [`pipeline`]
//! that turns a raw scan into what is stored and sent.
//!
//! The key decision: the real backends drive the standard tools as subprocesses — `scanimage`
//! (Debian `sane-utils`) for SANE and `ffmpeg` for V4L2 cameras — rather than linking libsane
//! or V4L2 headers. Nothing here needs a `-dev` package or libclang at build time; a station
//! without the tool gets [`Error::ToolMissing`] at run time, with the package to install.
//!
//! I/O contract: [`Scanner::scan`] blocks until the scan ends, reports [`Event`]s as it goes
//! (each finished page is handed over at once as an [`Event::Page`], so a jam on page 3 of a
//! feeder batch does not lose pages 1 and 2), and stops within a few seconds of
//! [`Cancel::cancel`]. The pipeline is pure: bytes in, bytes out.
//!
//! # Troubleshooting
//!
//! - `scanimage -L` lists nothing: the scanner is not supported by SANE, is unplugged, or the
//!   user is not in the `scanner` group (`adduser kiosk scanner`, then log in again).
//! - "扫描仪正忙 / busy": another program (a desktop scanning tool) has the device open.
//! - "没有权限 / no permission": the udev rule of `libsane1` did not match; check the group
//!   of `/dev/bus/usb/...`.
//! - A document camera shows in `kiosk scan --list` only if `/sys/class/video4linux` lists
//!   it; the user needs the `video` group.

pub mod camera;
pub mod pipeline;
pub mod sane;
pub mod sim;
mod subprocess;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub use pipeline::{Format, Preview, Processed, preview, process};

/// What is being scanned; it decides resolution, colour and compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// A resident ID card (either side): colour, 300 dpi, about 86 × 54 mm.
    IdCard,
    /// A paper page (household register, marriage certificate): grayscale, 200 dpi.
    Page,
    /// A 1-inch photo (25 × 35 mm): colour, 300 dpi.
    Photo,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::IdCard, Kind::Page, Kind::Photo];

    /// The name on the command line and in files: `id-card`, `page`, `photo`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::IdCard => "id-card",
            Kind::Page => "page",
            Kind::Photo => "photo",
        }
    }

    /// The resolution asked of the scanner and kept in the stored file.
    pub fn dpi(self) -> u32 {
        match self {
            Kind::Page => 200,
            Kind::IdCard | Kind::Photo => 300,
        }
    }

    /// Whether the stored file keeps colour.
    pub fn colour(self) -> bool {
        !matches!(self, Kind::Page)
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = String;
    fn from_str(s: &str) -> Result<Kind, String> {
        Kind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("unknown kind {s:?} (id-card, page or photo)"))
    }
}

/// Where the paper comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Source {
    /// One page on the glass (or under the camera).
    #[default]
    Flatbed,
    /// The automatic document feeder (ADF): every page in it, until it runs empty.
    Feeder,
}

/// A scan to make.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub kind: Kind,
    pub source: Source,
    /// The scan area in millimetres (width, height) from the top-left corner; `None` scans the
    /// device's whole area.
    pub area_mm: Option<(u32, u32)>,
    /// For the feeder: stop after this many pages.
    pub max_pages: Option<u32>,
}

impl Request {
    /// One page of `kind` from the glass, the whole area.
    pub fn page(kind: Kind) -> Request {
        Request {
            kind,
            source: Source::Flatbed,
            area_mm: None,
            max_pages: None,
        }
    }
}

/// A scanner or camera as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// What `--device` takes: a SANE name (`epson2:libusb:001:004`), `v4l2:/dev/video0`, or
    /// `sim`.
    pub name: String,
    pub vendor: String,
    pub model: String,
    /// SANE's device type ("flatbed scanner", "sheetfed scanner"), or "document camera".
    pub kind: String,
}

impl fmt::Display for Device {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}\t{} {} ({})",
            self.name, self.vendor, self.model, self.kind
        )
    }
}

/// A page as the device delivered it: a PNM image (P4, P5 or P6) and its resolution.
#[derive(Clone, PartialEq, Eq)]
pub struct RawPage {
    /// 1 for the first page of the scan.
    pub number: u32,
    pub pnm: Vec<u8>,
    /// Dots per inch of `pnm` (what the device actually used, which may differ from what was
    /// asked).
    pub dpi: u32,
}

impl fmt::Debug for RawPage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RawPage")
            .field("number", &self.number)
            .field("bytes", &self.pnm.len())
            .field("dpi", &self.dpi)
            .finish()
    }
}

/// What happens during a scan, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The device started on page `n` (1-based).
    PageStarted(u32),
    /// How far the current page is, 0–100.
    Progress { page: u32, percent: f32 },
    /// A page is complete.
    Page(RawPage),
}

/// Stops a running scan from another thread.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn new() -> Cancel {
        Cancel::default()
    }
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}

/// Why a scan or a listing failed. Each message is what a person at the counter reads:
/// Chinese first, English beside it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("进纸器里没有纸 / the document feeder is out of paper")]
    NoPaper,
    #[error("卡纸：请打开进纸器取出纸张 / paper jam: open the feeder and take the paper out")]
    Jammed,
    #[error("扫描仪盖子开着，请合上 / the scanner cover is open: close it")]
    CoverOpen,
    #[error("扫描仪已断开或没有响应 / the scanner is disconnected or not answering")]
    DeviceGone,
    #[error("扫描仪正忙（另一个程序在使用） / the scanner is busy (another program is using it)")]
    Busy,
    #[error("扫描仪不接受这个设置 / the scanner does not accept this setting: {0}")]
    InvalidArgument(String),
    #[error(
        "没有权限使用扫描仪 / no permission to use the scanner (is the user in the scanner or video group?)"
    )]
    AccessDenied,
    #[error("没有找到扫描仪 / no scanner found")]
    NoDevice,
    #[error("找不到扫描仪 {0} / scanner {0} not found")]
    UnknownDevice(String),
    #[error("扫描已取消 / the scan was cancelled")]
    Cancelled,
    #[error("未安装 {tool} / {tool} is not installed (apt-get install {package})")]
    ToolMissing {
        tool: &'static str,
        package: &'static str,
    },
    #[error("扫描仪没有送来图像 / the scanner sent no image")]
    EmptyPage,
    #[error("扫描图像无法处理 / the scanned image cannot be processed: {0}")]
    BadImage(String),
    #[error("扫描失败 / the scan failed: {0}")]
    Failed(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// One kind of scanning device: SANE, a document camera, or the simulator.
pub trait Scanner: Send {
    /// The devices this backend can reach now.
    fn devices(&self) -> Result<Vec<Device>>;

    /// Scan with `device` (a name from [`Scanner::devices`]; `None`: the first one). Reports
    /// events to `on_event` as they happen and returns the number of pages delivered. A page
    /// delivered before an error stays delivered. Returns [`Error::Cancelled`] soon after
    /// `cancel` is set.
    fn scan(
        &self,
        device: Option<&str>,
        request: &Request,
        on_event: &mut dyn FnMut(Event),
        cancel: &Cancel,
    ) -> Result<u32>;
}

/// Scan and collect the pages (for callers that need no progress).
pub fn scan_pages(
    scanner: &dyn Scanner,
    device: Option<&str>,
    request: &Request,
) -> Result<Vec<RawPage>> {
    let mut pages = Vec::new();
    scanner.scan(
        device,
        request,
        &mut |e| {
            if let Event::Page(p) = e {
                pages.push(p)
            }
        },
        &Cancel::new(),
    )?;
    Ok(pages)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_their_names() {
        for k in Kind::ALL {
            assert_eq!(k.as_str().parse::<Kind>(), Ok(k));
        }
        assert!("passport".parse::<Kind>().is_err());
    }

    #[test]
    fn messages_are_chinese_first_with_english_beside() {
        let all = [
            Error::NoPaper,
            Error::Jammed,
            Error::CoverOpen,
            Error::DeviceGone,
            Error::Busy,
            Error::InvalidArgument("x".into()),
            Error::AccessDenied,
            Error::NoDevice,
            Error::UnknownDevice("x".into()),
            Error::Cancelled,
            Error::ToolMissing {
                tool: "scanimage",
                package: "sane-utils",
            },
            Error::EmptyPage,
            Error::BadImage("x".into()),
            Error::Failed("x".into()),
        ];
        for e in all {
            let text = e.to_string();
            let (zh, en) = text.split_once(" / ").expect("two languages");
            assert!(
                zh.chars().next().is_some_and(|c| c as u32 > 0x3000),
                "{text}"
            );
            assert!(en.is_ascii(), "{text}");
        }
    }
}
