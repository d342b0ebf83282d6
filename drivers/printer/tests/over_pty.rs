//! The real driver over a real pseudo-terminal against the simulator: printing, status,
//! faults, unplugging; then what was printed, rendered and read back (the QR decoded, the
//! Chinese inked).

use std::path::Path;
use std::time::Duration;

use printer::escpos::{CHAR_HEIGHT, LINE_HEIGHT};
use printer::sim::Simulator;
use printer::{Error, Image, Options, Printer, Receipt, ReceiptPrinter, SimulatedPrinter, Status};
use time::macros::datetime;

fn receipt() -> Receipt {
    Receipt {
        station: "莲城镇新街村为民服务站".into(),
        service: "生育登记（生育服务证）".into(),
        tracking_number: "261125-7KQ2-M9XD".into(),
        time: datetime!(2026-11-25 14:05),
        bring: vec![
            "本回执".into(),
            "夫妻双方身份证原件".into(),
            "户口簿".into(),
        ],
        hotline: "0876-5123456".into(),
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn quick() -> Options {
    Options {
        status_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_secs(2),
        ..Options::default()
    }
}

/// Every QR code found in the image, decoded.
fn qr_codes(img: &Image) -> Vec<String> {
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(
        img.width as usize,
        img.height as usize,
        |x, y| {
            if img.get(x as u32, y as u32) { 0 } else { 255 }
        },
    );
    prepared
        .detect_grids()
        .into_iter()
        .filter_map(|g| g.decode().ok().map(|(_, s)| s))
        .collect()
}

#[test]
fn a_receipt_prints_and_reads_back() {
    rt().block_on(async {
        let mut p = SimulatedPrinter::start(quick()).unwrap();
        let sim = p.simulator();
        assert_eq!(p.status().await.unwrap(), Status::default());
        let after = p.print(&receipt()).await.unwrap();
        assert!(after.ready());
        let receipts = sim.receipts();
        assert_eq!(receipts.len(), 1);
        assert_eq!(receipts[0], receipt().to_escpos(), "printed byte for byte");
        assert!(sim.unfinished().is_empty());
        // Status queries before and after the job: four each.
        assert_eq!(sim.queries(), 12);

        let img = printer::render(&receipts[0]);
        assert_eq!(img.width, 384);
        assert_eq!(qr_codes(&img), vec!["261125-7KQ2-M9XD".to_string()]);
    });
}

#[test]
fn either_printer_behind_one_type() {
    rt().block_on(async {
        let sim = Simulator::start().unwrap();
        let mut serial = printer::AnyPrinter::Serial(Printer::open(&sim.path(), quick()).unwrap());
        let mut simulated =
            printer::AnyPrinter::Simulated(Box::new(SimulatedPrinter::start(quick()).unwrap()));
        for p in [&mut serial, &mut simulated] {
            assert!(p.print(&receipt()).await.unwrap().ready());
        }
        assert_eq!(sim.receipts().len(), 1);
        let printer::AnyPrinter::Simulated(s) = &simulated else {
            unreachable!()
        };
        assert_eq!(s.simulator().receipts().len(), 1);
    });
}

#[test]
fn two_receipts_are_captured_apart() {
    rt().block_on(async {
        let mut p = SimulatedPrinter::start(quick()).unwrap();
        let sim = p.simulator();
        let mut second = receipt();
        second.tracking_number = "261125-AAAA-BBBB".into();
        p.print(&receipt()).await.unwrap();
        p.print(&second).await.unwrap();
        let got: Vec<Vec<String>> = sim
            .take_new_receipts()
            .iter()
            .map(|r| qr_codes(&printer::render(r)))
            .collect();
        assert_eq!(
            got,
            vec![
                vec!["261125-7KQ2-M9XD".to_string()],
                vec!["261125-AAAA-BBBB".to_string()]
            ]
        );
        assert!(sim.take_new_receipts().is_empty());
    });
}

#[test]
fn out_of_paper_and_cover_open_refuse_the_job_in_plain_words() {
    rt().block_on(async {
        let mut p = SimulatedPrinter::start(quick()).unwrap();
        let sim = p.simulator();
        sim.set_paper_out(true);
        let e = p.print(&receipt()).await.unwrap_err();
        assert!(matches!(e, Error::NotReady { .. }), "{e:?}");
        assert_eq!(
            e.to_string(),
            "the receipt printer cannot print: 缺纸 / out of paper"
        );
        assert!(sim.receipts().is_empty());
        assert_eq!(
            sim.lost_bytes(),
            0,
            "nothing was sent to a printer without paper"
        );

        sim.set_paper_out(false);
        sim.set_cover_open(true);
        let s = p.status().await.unwrap();
        assert_eq!(s.to_string(), "纸仓盖未关 / cover open");
        assert!(p.print(&receipt()).await.is_err());

        sim.set_cover_open(false);
        sim.set_status(Status {
            paper_near_end: true,
            ..Status::default()
        });
        let after = p.print(&receipt()).await.unwrap();
        assert_eq!(after.to_string(), "纸将用完 / paper near end");
        assert_eq!(sim.receipts().len(), 1);
    });
}

#[test]
fn paper_running_out_mid_job_is_reported_as_interrupted() {
    rt().block_on(async {
        let mut p = SimulatedPrinter::start(quick()).unwrap();
        let sim = p.simulator();
        sim.paper_out_after(200);
        let e = p.print(&receipt()).await.unwrap_err();
        assert!(matches!(e, Error::Interrupted { .. }), "{e:?}");
        assert!(e.to_string().contains("缺纸 / out of paper"), "{e}");
        assert!(sim.receipts().is_empty());
        assert!(!sim.unfinished().is_empty() && sim.lost_bytes() > 0);
    });
}

#[test]
fn unplugging_mid_print_gives_a_clear_error() {
    rt().block_on(async {
        let sim = Simulator::start().unwrap();
        let mut p = Printer::open(&sim.path(), quick()).unwrap();
        // The four status queries (12 bytes) pass, then 300 bytes of the job, then the plug.
        sim.unplug_after(12 + 300);
        let e = p.print_bytes(&receipt().to_escpos()).await.unwrap_err();
        assert!(e.is_disconnect(), "{e:?}");
        assert!(
            e.to_string()
                .starts_with("the receipt printer was disconnected"),
            "{e}"
        );
        assert!(!sim.plugged());
        assert!(sim.receipts().is_empty());
        // Opening the old path now says so.
        drop(p);
        let old = sim.path();
        assert_eq!(old, Path::new(""));
    });
}

#[test]
fn a_silent_printer_is_no_answer_and_a_missing_one_not_found() {
    rt().block_on(async {
        let sim = Simulator::start().unwrap();
        sim.set_silent(true);
        let mut p = Printer::open(&sim.path(), quick()).unwrap();
        let e = p.status().await.unwrap_err();
        assert!(matches!(e, Error::NoAnswer { .. }), "{e:?}");
        assert!(e.to_string().contains("did not answer"), "{e}");

        let e = Printer::open(Path::new("/dev/no-such-printer"), quick()).unwrap_err();
        assert!(matches!(e, Error::NotFound { .. }), "{e:?}");
    });
}

#[test]
fn xon_bytes_between_status_answers_are_not_mistaken_for_answers() {
    rt().block_on(async {
        let mut p = SimulatedPrinter::start(quick()).unwrap();
        let sim = p.simulator();
        sim.set_xon_noise(true);
        sim.set_cover_open(true);
        assert_eq!(
            p.status().await.unwrap().to_string(),
            "纸仓盖未关 / cover open"
        );
        assert_eq!(sim.queries(), 4, "read at the first attempt");
    });
}

#[test]
fn a_second_opener_is_told_the_printer_is_busy() {
    rt().block_on(async {
        let sim = Simulator::start().unwrap();
        let _first = Printer::open(&sim.path(), quick()).unwrap();
        let e = Printer::open(&sim.path(), quick()).unwrap_err();
        assert!(matches!(e, Error::Busy { .. }), "{e:?}");
    });
}

#[test]
fn chinese_text_is_inked_where_its_lines_are() {
    let img = printer::render(&receipt().to_escpos());
    // The station name is the first line, bold and double height: ink in its rows, and
    // the rare-character test line of the test receipt renders too.
    assert!(img.black_in_rows(0, 2 * CHAR_HEIGHT) > 500);
    let test = printer::render(&Receipt::test(datetime!(2026-11-25 14:05)).to_escpos());
    assert_eq!(qr_codes(&test), vec!["000000-TEST-0000".to_string()]);
    // Each text line has ink in its 24 glyph rows and none in the gap below.
    let mut inked_lines = 0;
    let mut y = 0;
    while y + LINE_HEIGHT <= test.height {
        if test.black_in_rows(y, y + CHAR_HEIGHT) > 0 {
            inked_lines += 1;
        }
        y += LINE_HEIGHT;
    }
    assert!(inked_lines >= 10, "{inked_lines}");
}

/// 䶮 (U+4DAE, CJK Extension A) is drawn from its own glyph, not a box or a blank.
#[test]
fn a_rare_name_character_has_a_real_glyph() {
    use printer::escpos;
    let line = |s: &str| {
        let mut b = escpos::CHINESE_ON.to_vec();
        b.extend(escpos::gb18030(s));
        b.push(escpos::LF);
        printer::render(&b)
    };
    let yan = line("䶮");
    let other = line("龘");
    // Private use: Unifont has no glyph there, so the printer's empty box.
    let unknown = line("\u{E000}");
    assert!(yan.black_in_rows(0, CHAR_HEIGHT) > 60);
    assert_ne!(yan.dots, other.dots);
    assert_ne!(yan.dots, unknown.dots);
}

/// docs/receipt-example.png is what this code prints (compared dot for dot, so a new PNG
/// encoder does not matter); `UPDATE_EXAMPLES=1` rewrites it.
#[test]
fn the_example_receipt_in_docs_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/receipt-example.png");
    let img = printer::render(&receipt().to_escpos());
    if std::env::var_os("UPDATE_EXAMPLES").is_some() {
        std::fs::write(&path, img.to_png().unwrap()).unwrap();
    }
    let committed = std::fs::read(&path).ok().and_then(|b| decode(&b));
    assert!(
        committed.as_ref() == Some(&img),
        "{} is out of date: run `UPDATE_EXAMPLES=1 cargo test -p printer` and look at it",
        path.display()
    );
}

/// A one-bit greyscale PNG back into dots.
fn decode(png_bytes: &[u8]) -> Option<Image> {
    let mut dec = png::Decoder::new(std::io::Cursor::new(png_bytes));
    dec.set_transformations(png::Transformations::EXPAND);
    let mut r = dec.read_info().ok()?;
    let mut buf = vec![0; r.output_buffer_size()?];
    let info = r.next_frame(&mut buf).ok()?;
    if info.color_type != png::ColorType::Grayscale {
        return None;
    }
    Some(Image {
        width: info.width,
        height: info.height,
        dots: buf[..info.buffer_size()].iter().map(|&v| v < 128).collect(),
    })
}
