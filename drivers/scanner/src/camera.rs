//! A USB document camera (高拍仪): a UVC camera on a stand looking down at the table, read
//! through V4L2 with `ffmpeg` as a subprocess.
//!
//! Why ffmpeg: the V4L2 crates (`v4l`, `v4l2-sys-mit`) generate their bindings with bindgen,
//! which needs libclang and kernel headers at build time; hand-written ioctls would be ours to
//! get right for every camera's pixel format (most document cameras give their full
//! resolution only as MJPEG). `ffmpeg` (Debian `ffmpeg`) lists a camera's formats, picks
//! the size, decodes MJPEG/YUYV and writes one frame as PPM, the same raw form scanimage
//! gives, so the pipeline is shared.
//!
//! Devices are found in sysfs (`/sys/class/video4linux/videoN/name`), keeping only capture
//! nodes (`index` 0; UVC adds a metadata node with index 1). A camera has no resolution in
//! the scanner's sense: its dpi is the frame's long side over the length of the table it
//! sees ([`Camera::with_field_mm`], default 320 mm: an A4 sheet and a margin).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::subprocess::{self, Line};
use crate::{Cancel, Device, Error, Event, RawPage, Request, Result, Scanner, Source};

const TOOL: &str = "ffmpeg";
const PACKAGE: &str = "ffmpeg";
/// Prefix of a camera's device name in `--device`.
pub const PREFIX: &str = "v4l2:";
/// Frames dropped before the one kept, so exposure and focus settle.
const SETTLE_FRAMES: u32 = 10;

/// The document-camera backend.
#[derive(Debug, Clone)]
pub struct Camera {
    program: PathBuf,
    sysfs: PathBuf,
    field_mm: f64,
    input: Option<Vec<String>>,
}

impl Default for Camera {
    fn default() -> Camera {
        Camera::new()
    }
}

impl Camera {
    pub fn new() -> Camera {
        Camera {
            program: PathBuf::from(TOOL),
            sysfs: PathBuf::from("/sys/class/video4linux"),
            field_mm: 320.0,
            input: None,
        }
    }

    /// Look for cameras under `dir` instead of `/sys/class/video4linux`.
    pub fn with_sysfs(mut self, dir: impl Into<PathBuf>) -> Camera {
        self.sysfs = dir.into();
        self
    }

    /// The length of table the camera sees along the frame's long side, in millimetres.
    pub fn with_field_mm(mut self, mm: f64) -> Camera {
        self.field_mm = mm;
        self
    }

    /// Give ffmpeg these input arguments instead of the V4L2 device's (for tests: a
    /// `lavfi` test source stands in for a camera this machine does not have).
    pub fn with_input(mut self, args: Vec<String>) -> Camera {
        self.input = Some(args);
        self
    }

    fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        cmd.env("LC_ALL", "C").args(["-hide_banner", "-nostdin"]);
        cmd
    }

    /// The formats the camera offers (`ffmpeg -f v4l2 -list_formats all -i DEV`).
    pub fn formats(&self, dev: &Path) -> Result<Vec<Format>> {
        let mut cmd = self.command();
        cmd.args(["-f", "v4l2", "-list_formats", "all", "-i"])
            .arg(dev);
        let mut lines = Vec::new();
        let outcome = subprocess::run(cmd, TOOL, PACKAGE, &Cancel::new(), &mut |l| {
            if let Line::Err(t) = l {
                lines.push(t)
            }
        })?;
        // ffmpeg exits 1 after listing ("Immediate exit requested"): judge by what it said.
        let formats = parse_formats(&lines);
        if formats.is_empty() {
            return Err(ffmpeg_error(&outcome.stderr, dev));
        }
        Ok(formats)
    }

    fn input_args(&self, dev: &Path) -> Result<Vec<String>> {
        if let Some(args) = &self.input {
            return Ok(args.clone());
        }
        let formats = self.formats(dev)?;
        let best = best_format(&formats).ok_or_else(|| {
            Error::InvalidArgument(
                "摄像头没有可用的格式 / the camera offers no usable format".into(),
            )
        })?;
        Ok(vec![
            "-f".into(),
            "v4l2".into(),
            "-input_format".into(),
            best.pixel_format.clone(),
            "-video_size".into(),
            format!("{}x{}", best.width, best.height),
            "-i".into(),
            dev.display().to_string(),
        ])
    }
}

impl Scanner for Camera {
    fn devices(&self) -> Result<Vec<Device>> {
        list_cameras(&self.sysfs)
    }

    fn scan(
        &self,
        device: Option<&str>,
        request: &Request,
        on_event: &mut dyn FnMut(Event),
        cancel: &Cancel,
    ) -> Result<u32> {
        if request.source == Source::Feeder {
            return Err(Error::InvalidArgument(
                "高拍仪没有进纸器 / a document camera has no feeder".into(),
            ));
        }
        let name = match device {
            Some(d) => d.to_string(),
            None => {
                self.devices()?
                    .into_iter()
                    .next()
                    .ok_or(Error::NoDevice)?
                    .name
            }
        };
        let dev = PathBuf::from(
            name.strip_prefix(PREFIX)
                .ok_or_else(|| Error::UnknownDevice(name.clone()))?,
        );
        on_event(Event::PageStarted(1));
        let input = self.input_args(&dev)?;
        let dir = tempfile::Builder::new()
            .prefix("kiosk-camera-")
            .tempdir()
            .map_err(|e| Error::Failed(format!("no room for the picture: {e}")))?;
        let out = dir.path().join("frame.ppm");
        let mut cmd = self.command();
        cmd.args(["-loglevel", "error"])
            .args(&input)
            .args([
                "-vf".to_string(),
                format!("select=gte(n\\,{SETTLE_FRAMES})"),
                "-fps_mode".into(),
                "passthrough".into(),
                "-frames:v".into(),
                "1".into(),
                "-c:v".into(),
                "ppm".into(),
                "-y".into(),
            ])
            .arg(&out);
        on_event(Event::Progress {
            page: 1,
            percent: 0.0,
        });
        let outcome = subprocess::run(cmd, TOOL, PACKAGE, cancel, &mut |_| {})?;
        if outcome.cancelled {
            return Err(Error::Cancelled);
        }
        if !outcome.status.success() {
            return Err(ffmpeg_error(&outcome.stderr, &dev));
        }
        let pnm = std::fs::read(&out).map_err(|_| Error::EmptyPage)?;
        let long_side = ppm_long_side(&pnm).ok_or(Error::EmptyPage)?;
        let dpi = (f64::from(long_side) * 25.4 / self.field_mm)
            .round()
            .max(1.0) as u32;
        on_event(Event::Progress {
            page: 1,
            percent: 100.0,
        });
        on_event(Event::Page(RawPage {
            number: 1,
            pnm,
            dpi,
        }));
        Ok(1)
    }
}

/// The longer of width and height in a PPM/PGM header.
fn ppm_long_side(pnm: &[u8]) -> Option<u32> {
    let head = String::from_utf8_lossy(&pnm[..pnm.len().min(64)]).into_owned();
    let mut it = head
        .lines()
        .map(|l| l.split('#').next().unwrap_or(""))
        .flat_map(str::split_ascii_whitespace)
        .skip(1);
    let w: u32 = it.next()?.parse().ok()?;
    let h: u32 = it.next()?.parse().ok()?;
    (w > 0 && h > 0).then_some(w.max(h))
}

/// The cameras in a sysfs `video4linux` folder, capture nodes only, sorted by node.
pub fn list_cameras(sysfs: &Path) -> Result<Vec<Device>> {
    let entries = match std::fs::read_dir(sysfs) {
        Ok(e) => e,
        // No V4L2 in this kernel, or no camera was ever plugged in.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::Failed(format!("{}: {e}", sysfs.display()))),
    };
    let mut found = Vec::new();
    for entry in entries.flatten() {
        let node = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = node
            .strip_prefix("video")
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let read = |f: &str| std::fs::read_to_string(entry.path().join(f)).unwrap_or_default();
        let index = read("index");
        if !index.trim().is_empty() && index.trim() != "0" {
            continue;
        }
        let model = read("name").trim().to_string();
        found.push((
            number,
            Device {
                name: format!("{PREFIX}/dev/{node}"),
                vendor: String::new(),
                model: if model.is_empty() {
                    node.clone()
                } else {
                    model
                },
                kind: "document camera".into(),
            },
        ));
    }
    found.sort_by_key(|(n, _)| *n);
    Ok(found.into_iter().map(|(_, d)| d).collect())
}

/// One pixel format a camera offers, at one size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Format {
    /// ffmpeg's name: `mjpeg`, `yuyv422`, ...
    pub pixel_format: String,
    pub compressed: bool,
    pub width: u32,
    pub height: u32,
}

/// Parse `ffmpeg -f v4l2 -list_formats all` lines, e.g.
/// `[video4linux2,v4l2 @ 0x55d] Compressed:       mjpeg :          Motion-JPEG : 640x480 2592x1944`.
pub fn parse_formats(lines: &[String]) -> Vec<Format> {
    let mut out = Vec::new();
    for line in lines {
        let Some(rest) = line.split_once("] ").map(|(_, r)| r) else {
            continue;
        };
        let (compressed, rest) = if let Some(r) = rest.strip_prefix("Compressed:") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("Raw") {
            (false, r.trim_start().trim_start_matches(':'))
        } else {
            continue;
        };
        let fields: Vec<&str> = rest.split(" : ").map(str::trim).collect();
        if fields.len() < 3 {
            continue;
        }
        let pixel_format = fields[0].to_string();
        for size in fields[fields.len() - 1].split_ascii_whitespace() {
            // Continuous ranges look like "{32-2592, 2}x{32-1944, 2}": not parsed, skipped.
            if let Some((w, h)) = size.split_once('x')
                && let (Ok(width), Ok(height)) = (w.parse(), h.parse())
            {
                out.push(Format {
                    pixel_format: pixel_format.clone(),
                    compressed,
                    width,
                    height,
                });
            }
        }
    }
    out
}

/// The largest frame; MJPEG over raw at the same size (USB 2.0 carries raw frames of that
/// size only at a frame or two a second).
pub fn best_format(formats: &[Format]) -> Option<&Format> {
    formats
        .iter()
        .filter(|f| f.pixel_format != "Unsupported")
        .max_by_key(|f| (u64::from(f.width) * u64::from(f.height), f.compressed))
}

/// What ffmpeg's stderr says went wrong with the camera.
pub fn ffmpeg_error(stderr: &[String], dev: &Path) -> Error {
    let text = stderr.join("\n");
    if text.contains("No such file or directory") {
        Error::UnknownDevice(format!("{PREFIX}{}", dev.display()))
    } else if text.contains("Device or resource busy") {
        Error::Busy
    } else if text.contains("Permission denied") {
        Error::AccessDenied
    } else if text.contains("No such device") || text.contains("Input/output error") {
        Error::DeviceGone
    } else {
        Error::Failed(
            stderr
                .iter()
                .rev()
                .find(|l| !l.trim().is_empty())
                .cloned()
                .unwrap_or_else(|| "ffmpeg failed without a message".into()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    #[test]
    fn formats_of_a_typical_document_camera() {
        let f = parse_formats(&lines(
            "[video4linux2,v4l2 @ 0x55d5c8e3a6c0] Compressed:       mjpeg :          Motion-JPEG : 640x480 1280x720 1600x1200 2592x1944\n\
             [video4linux2,v4l2 @ 0x55d5c8e3a6c0] Raw       :     yuyv422 :           YUYV 4:2:2 : 640x480 1280x720 2592x1944\n\
             /dev/video0: Immediate exit requested",
        ));
        assert_eq!(f.len(), 7);
        let best = best_format(&f).unwrap();
        assert_eq!(
            (best.pixel_format.as_str(), best.width, best.height),
            ("mjpeg", 2592, 1944)
        );
        assert!(best.compressed);
    }

    #[test]
    fn cameras_are_found_in_sysfs_capture_nodes_only() {
        let dir = tempfile::tempdir().unwrap();
        let node = |n: &str, name: &str, index: &str| {
            let d = dir.path().join(n);
            std::fs::create_dir(&d).unwrap();
            std::fs::write(d.join("name"), format!("{name}\n")).unwrap();
            std::fs::write(d.join("index"), format!("{index}\n")).unwrap();
        };
        node("video2", "S500L Document Camera", "0");
        node("video3", "S500L Document Camera", "1");
        node("video0", "Integrated Webcam", "0");
        node("vbi0", "not a camera", "0");
        let found = list_cameras(dir.path()).unwrap();
        let names: Vec<_> = found
            .iter()
            .map(|d| (d.name.as_str(), d.model.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                ("v4l2:/dev/video0", "Integrated Webcam"),
                ("v4l2:/dev/video2", "S500L Document Camera")
            ]
        );
        assert_eq!(list_cameras(&dir.path().join("absent")).unwrap(), []);
    }

    #[test]
    fn ffmpeg_errors_map_to_plain_messages() {
        let dev = Path::new("/dev/video9");
        let check = |text: &str| ffmpeg_error(&lines(text), dev);
        assert_eq!(
            check(
                "[video4linux2,v4l2 @ 0x1] Cannot open video device /dev/video9: No such file or directory"
            ),
            Error::UnknownDevice("v4l2:/dev/video9".into())
        );
        assert_eq!(
            check("[video4linux2,v4l2 @ 0x1] ioctl(VIDIOC_STREAMON): Device or resource busy"),
            Error::Busy
        );
        assert_eq!(
            check(
                "[video4linux2,v4l2 @ 0x1] Cannot open video device /dev/video0: Permission denied"
            ),
            Error::AccessDenied
        );
        assert_eq!(
            check("[video4linux2,v4l2 @ 0x1] ioctl(VIDIOC_DQBUF): No such device"),
            Error::DeviceGone
        );
        assert_eq!(check("odd\n"), Error::Failed("odd".into()));
    }

    #[test]
    fn the_ppm_header_gives_the_long_side() {
        assert_eq!(ppm_long_side(b"P6\n2592 1944\n255\n"), Some(2592));
        assert_eq!(ppm_long_side(b"P6\n# c\n480 640\n255\n"), Some(640));
        assert_eq!(ppm_long_side(b"P6\n0 0\n255\n"), None);
    }
}
