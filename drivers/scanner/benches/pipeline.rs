//! The scan pipeline: pages per second, the format chosen (gray or colour JPEG, or a
//! black-and-white PNG for a page too dense for its budget as a JPEG) and bytes per page for
//! each kind, beside a lossless PNG of the same scan, measured in the same run.
//!
//! Inputs (raw scans as scanimage delivers them, PNM):
//! - `page (form)`: the simulator's A4 register-like page at 200 dpi (a table, paragraphs of
//!   10.5 pt character-like print, a seal) on a 216 × 305 mm bed;
//! - `page (askew)`: the same page turned 1.5° on the glass (the pipeline straightens it);
//! - `page (dense)`: `benches/data/a4-dense-text-200dpi.png`, a full A4 page of real Chinese
//!   print at 10.5 pt, put on off-white paper with noise here;
//! - `id-card`, `photo`: the simulator's renderings at 300 dpi on a white bed.
//!
//! Run: `cargo bench -p scanner`.

use std::path::Path;
use std::time::Instant;

use image::{DynamicImage, GrayImage, Luma};
use scanner::pipeline::{self, Budget};
use scanner::{Kind, RawPage, sim};

/// The dense page on off-white paper with a little deterministic sensor noise.
fn dense_page() -> DynamicImage {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data/a4-dense-text-200dpi.png");
    let text = image::open(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .to_luma8();
    let mut state = 0x2545_F491_u32;
    let img = GrayImage::from_fn(text.width(), text.height(), |x, y| {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        let noise = (state % 9) as i32 - 4;
        // White 255 -> paper 226; black 0 -> ink 35.
        let v = i32::from(text.get_pixel(x, y).0[0]);
        Luma([((35 + v * (226 - 35) / 255) + noise).clamp(0, 255) as u8])
    });
    DynamicImage::ImageLuma8(img)
}

struct Row {
    name: &'static str,
    kind: Kind,
    raw: DynamicImage,
    dpi: u32,
    rounds: u32,
}

fn main() {
    let rows = vec![
        Row {
            name: "page (form)",
            kind: Kind::Page,
            raw: sim::render_page(200, 1),
            dpi: 200,
            rounds: 6,
        },
        Row {
            name: "page (askew)",
            kind: Kind::Page,
            raw: DynamicImage::ImageLuma8(pipeline::rotate(
                &sim::render_page(200, 1).to_luma8(),
                1.5,
                250,
            )),
            dpi: 200,
            rounds: 6,
        },
        Row {
            name: "page (dense)",
            kind: Kind::Page,
            raw: dense_page(),
            dpi: 200,
            rounds: 6,
        },
        Row {
            name: "id-card",
            kind: Kind::IdCard,
            raw: sim::render_id_card(300, 1),
            dpi: 300,
            rounds: 12,
        },
        Row {
            name: "photo",
            kind: Kind::Photo,
            raw: sim::render_photo(300, 1),
            dpi: 300,
            rounds: 40,
        },
    ];
    println!(
        "scan pipeline (PNM in -> JPEG or 1-bit PNG + thumbnail + SHA-256 out), one core, release build"
    );
    println!(
        "{:<13} {:>11} {:>9} {:>10} {:>8} {:>4} {:>11} {:>12} {:>12} {:>9}",
        "input",
        "raw px",
        "pages/s",
        "format",
        "bytes",
        "q",
        "budget B",
        "PNG(raw) B",
        "PNG(same) B",
        "PNG/s"
    );
    for row in rows {
        let page = RawPage {
            number: 1,
            pnm: pipeline::encode_pnm(&row.raw),
            dpi: row.dpi,
        };
        // Warm up once, then time the rounds.
        let out = pipeline::process(&page, row.kind).expect("the pipeline takes the scan");
        let t = Instant::now();
        for _ in 0..row.rounds {
            let again = pipeline::process(&page, row.kind).expect("pipeline");
            assert_eq!(again.sha256, out.sha256, "the pipeline is deterministic");
        }
        let pages_per_s = f64::from(row.rounds) / t.elapsed().as_secs_f64();
        // Baselines from the same run: a lossless PNG of the raw scan as delivered, and of
        // the same pixels the pipeline encodes (cropped, scaled, gray or colour) before
        // encoding, 8 bits a sample.
        let t = Instant::now();
        let png_raw = pipeline::encode_png(&row.raw).expect("png");
        let png_per_s = 1.0 / t.elapsed().as_secs_f64();
        let same = {
            let decoded = pipeline::decode(&page.pnm).expect("pnm");
            let decoded = if row.kind.colour() {
                decoded
            } else {
                DynamicImage::ImageLuma8(pipeline::deskew(&decoded.to_luma8(), row.dpi))
            };
            let cropped = pipeline::crop_to_content(&decoded, row.dpi);
            let scaled = pipeline::scale_to(&cropped, row.dpi, row.kind.dpi());
            if row.kind.colour() {
                DynamicImage::ImageRgb8(scaled.to_rgb8())
            } else {
                DynamicImage::ImageLuma8(pipeline::whiten(&scaled.to_luma8()))
            }
        };
        let png_same = pipeline::encode_png(&same).expect("png");
        println!(
            "{:<13} {:>11} {:>9.2} {:>10} {:>8} {:>4} {:>11} {:>12} {:>12} {:>9.2}",
            row.name,
            format!("{}x{}", row.raw.width(), row.raw.height()),
            pages_per_s,
            out.content_type(),
            out.bytes.len(),
            out.quality.map_or("-".to_string(), |q| q.to_string()),
            Budget::of(row.kind).max_bytes,
            png_raw.len(),
            png_same.len(),
            png_per_s,
        );
    }
}
