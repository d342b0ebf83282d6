//! System tier: the real SANE path. `scanimage` (Debian `sane-utils`) runs with
//! `SANE_CONFIG_DIR` pointing at a folder whose `dll.conf` lists only SANE's `test`
//! backend, so the driver, scanimage and libsane are the real ones and only the device is
//! virtual. Also the document-camera backend through real `ffmpeg` with its `lavfi` test
//! source in place of a camera. Without the tools these tests fail; they never skip.
#![cfg(feature = "system-tier")]

use std::time::{Duration, Instant};

use scanner::camera::Camera;
use scanner::sane::Sane;
use scanner::{Cancel, Error, Event, Kind, Request, Scanner, Source, pipeline, scan_pages};

struct TestSane {
    _dir: tempfile::TempDir,
    sane: Sane,
}

/// A SANE configuration with only the `test` backend, its picture a 10 mm grid, and
/// `extra` lines of `test.conf` (the backend's option defaults).
fn test_sane_with(extra: &str) -> TestSane {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dll.conf"), "test\n").unwrap();
    std::fs::write(
        dir.path().join("test.conf"),
        format!("test-picture \"Grid\"\n{extra}"),
    )
    .unwrap();
    let sane = Sane::new().with_config_dir(dir.path());
    TestSane { _dir: dir, sane }
}

fn test_sane() -> TestSane {
    test_sane_with("")
}

/// The test backend's glass is at most 200 × 200 mm.
fn request(kind: Kind, source: Source) -> Request {
    Request {
        kind,
        source,
        area_mm: Some((100, 140)),
        max_pages: None,
    }
}

fn scan(sane: &Sane, device: &str, req: &Request) -> (Result<u32, Error>, Vec<Event>) {
    let mut events = Vec::new();
    let r = sane.scan(Some(device), req, &mut |e| events.push(e), &Cancel::new());
    (r, events)
}

#[test]
fn scanimage_is_installed() {
    let out = std::process::Command::new("scanimage")
        .arg("--version")
        .output();
    assert!(
        out.is_ok_and(|o| o.status.success()),
        "scanimage is required for the system tier (apt-get install sane-utils)"
    );
}

#[test]
fn the_test_backend_is_listed() {
    let t = test_sane();
    let devices = t.sane.devices().unwrap();
    let names: Vec<_> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["test:0", "test:1"]);
    assert_eq!(devices[0].vendor, "Noname");
    assert_eq!(devices[0].model, "frontend-tester");
    assert_eq!(devices[0].kind, "virtual device");
}

#[test]
fn one_page_through_the_pipeline_with_progress() {
    let t = test_sane();
    let (r, events) = scan(&t.sane, "test:0", &request(Kind::Page, Source::Flatbed));
    assert_eq!(r, Ok(1));
    assert_eq!(events.first(), Some(&Event::PageStarted(1)));
    let progress: Vec<f32> = events
        .iter()
        .filter_map(|e| match e {
            Event::Progress { percent, .. } => Some(*percent),
            _ => None,
        })
        .collect();
    assert!(
        progress.len() > 3,
        "progress is reported while scanning: {events:?}"
    );
    assert!(progress.windows(2).all(|w| w[0] <= w[1]), "{progress:?}");
    assert_eq!(progress.last(), Some(&100.0));
    let Some(Event::Page(page)) = events.last() else {
        panic!("the page comes last: {events:?}")
    };
    assert_eq!(page.dpi, 200);
    // 100 × 140 mm at 200 dpi, grayscale, as scanimage wrote it.
    let raw = pipeline::decode(&page.pnm).unwrap();
    assert_eq!((raw.width(), raw.height()), (787, 1102));
    assert_eq!(raw.color(), image::ColorType::L8);
    let p = pipeline::process(page, Kind::Page).unwrap();
    assert_eq!(p.sha256, pipeline::sha256_hex(&p.bytes));
    assert!(!p.thumbnail.is_empty());
}

#[test]
fn an_id_card_is_scanned_in_colour_at_300_dpi() {
    let t = test_sane();
    let pages = scan_pages(
        &t.sane,
        Some("test:0"),
        &Request {
            area_mm: Some((86, 54)),
            ..request(Kind::IdCard, Source::Flatbed)
        },
    )
    .unwrap();
    assert_eq!(pages.len(), 1);
    let raw = pipeline::decode(&pages[0].pnm).unwrap();
    assert_eq!(raw.color(), image::ColorType::Rgb8);
    assert_eq!(pages[0].dpi, 300);
    // 86 mm at 300 dpi, give or take SANE's rounding.
    assert!((1014..=1016).contains(&raw.width()), "{}", raw.width());
}

#[test]
fn the_feeder_gives_all_its_pages_then_ends_the_batch() {
    let t = test_sane();
    // The test backend's feeder holds 10 sheets.
    let mut req = request(Kind::Page, Source::Feeder);
    req.area_mm = Some((20, 20));
    let (r, events) = scan(&t.sane, "test:0", &req);
    assert_eq!(r, Ok(10));
    let numbers: Vec<u32> = events
        .iter()
        .filter_map(|e| match e {
            Event::Page(p) => Some(p.number),
            _ => None,
        })
        .collect();
    assert_eq!(numbers, (1..=10).collect::<Vec<_>>());
    req.max_pages = Some(3);
    assert_eq!(scan(&t.sane, "test:0", &req).0, Ok(3));
}

/// The test backend's fault injection: `sane_read` returns `status`.
fn with_fault(status: &str, source: Source) -> Result<u32, Error> {
    let t = test_sane_with(&format!("read-status-code \"{status}\"\n"));
    scan(&t.sane, "test:0", &request(Kind::Page, source)).0
}

#[test]
fn sane_faults_become_plain_errors() {
    assert_eq!(
        with_fault("SANE_STATUS_NO_DOCS", Source::Feeder),
        Err(Error::NoPaper)
    );
    assert_eq!(
        with_fault("SANE_STATUS_JAMMED", Source::Feeder),
        Err(Error::Jammed)
    );
    assert_eq!(
        with_fault("SANE_STATUS_COVER_OPEN", Source::Flatbed),
        Err(Error::CoverOpen)
    );
    assert_eq!(
        with_fault("SANE_STATUS_IO_ERROR", Source::Flatbed),
        Err(Error::DeviceGone)
    );
    assert_eq!(
        with_fault("SANE_STATUS_DEVICE_BUSY", Source::Flatbed),
        Err(Error::Busy)
    );
    assert_eq!(
        with_fault("SANE_STATUS_ACCESS_DENIED", Source::Flatbed),
        Err(Error::AccessDenied)
    );
    assert!(matches!(
        with_fault("SANE_STATUS_INVAL", Source::Flatbed),
        Err(Error::InvalidArgument(_))
    ));
    // The device ends the page before any line: scanimage writes a header and no rows.
    let r = with_fault("SANE_STATUS_EOF", Source::Flatbed);
    assert!(
        matches!(r, Err(Error::EmptyPage)) || r == Ok(1),
        "an empty page is reported or delivered for the pipeline to refuse: {r:?}"
    );
}

#[test]
fn an_unknown_device_is_named() {
    let t = test_sane();
    let (r, _) = scan(
        &t.sane,
        "epson2:libusb:009:009",
        &request(Kind::Page, Source::Flatbed),
    );
    assert_eq!(r, Err(Error::UnknownDevice("epson2:libusb:009:009".into())));
}

#[test]
fn no_backend_means_no_scanner() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dll.conf"), "").unwrap();
    let sane = Sane::new().with_config_dir(dir.path());
    assert_eq!(sane.devices(), Ok(vec![]));
    assert_eq!(
        sane.scan(
            None,
            &Request::page(Kind::Page),
            &mut |_| {},
            &Cancel::new()
        ),
        Err(Error::NoDevice)
    );
}

#[test]
fn a_missing_scanimage_says_what_to_install() {
    let sane = Sane::new().with_program("/nonexistent/scanimage");
    assert_eq!(
        sane.devices(),
        Err(Error::ToolMissing {
            tool: "scanimage",
            package: "sane-utils"
        })
    );
}

#[test]
fn cancel_stops_a_slow_scan_cleanly() {
    // A slow device: the test backend pauses 200 ms after each 64 kB it passes on, so this
    // colour page (100 × 140 mm at 300 dpi, 5.9 MB) takes about 18 s in all.
    let t = test_sane_with("read-delay true\nread-delay-duration 200000\n");
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let started = Instant::now();
    let mut cancelled_at = None;
    let mut pages = 0;
    let r = t.sane.scan(
        Some("test:0"),
        &request(Kind::Photo, Source::Flatbed),
        &mut |e| match e {
            Event::Progress { .. } if cancelled_at.is_none() => {
                cancelled_at = Some(Instant::now());
                trigger.cancel();
            }
            Event::Page(_) => pages += 1,
            _ => {}
        },
        &cancel,
    );
    assert_eq!(r, Err(Error::Cancelled));
    assert_eq!(pages, 0);
    let stopped = cancelled_at.expect("progress came").elapsed();
    assert!(
        stopped < Duration::from_secs(5),
        "scanimage stopped {stopped:?} after the cancel ({:?} in all)",
        started.elapsed()
    );
}

#[test]
fn ffmpeg_is_installed() {
    let out = std::process::Command::new("ffmpeg")
        .arg("-version")
        .output();
    assert!(
        out.is_ok_and(|o| o.status.success()),
        "ffmpeg is required for the system tier (apt-get install ffmpeg)"
    );
}

#[test]
fn the_camera_backend_captures_one_frame_through_ffmpeg() {
    // lavfi's test pattern stands in for the camera's V4L2 input; everything after the
    // input (frame selection, PPM, dpi, the pipeline) is the real path.
    let cam = Camera::new().with_field_mm(320.0).with_input(
        ["-f", "lavfi", "-i", "testsrc2=size=2592x1944:rate=15"]
            .map(String::from)
            .to_vec(),
    );
    let mut events = Vec::new();
    let n = cam
        .scan(
            Some("v4l2:/dev/video0"),
            &Request::page(Kind::Page),
            &mut |e| events.push(e),
            &Cancel::new(),
        )
        .unwrap();
    assert_eq!(n, 1);
    let Some(Event::Page(page)) = events.last() else {
        panic!("{events:?}")
    };
    // 2592 px over 320 mm.
    assert_eq!(page.dpi, 206);
    let raw = pipeline::decode(&page.pnm).unwrap();
    assert_eq!((raw.width(), raw.height()), (2592, 1944));
    let p = pipeline::process(page, Kind::Page).unwrap();
    assert_eq!(p.dpi, 200);
}

#[test]
fn a_camera_that_is_not_there_is_named() {
    let cam = Camera::new();
    let r = cam.scan(
        Some("v4l2:/dev/video-none"),
        &Request::page(Kind::Photo),
        &mut |_| {},
        &Cancel::new(),
    );
    assert_eq!(r, Err(Error::UnknownDevice("v4l2:/dev/video-none".into())));
}
