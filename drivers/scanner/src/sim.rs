//! The simulated scanner: for the demo and for stations without SANE. It renders realistic
//! raw scans — an A4 page of dense small print with a form table and a red seal, an ID card,
//! a 1-inch photo — each lying on a larger white scanner bed, with paper grain, sensor noise
//! and the soft edges of scanner optics, and hands them over as PNM exactly as scanimage
//! does, with progress. Faults (empty feeder, jam, cover open, busy) are switchable.
//!
//! The renderings are marked as samples (a "SAMPLE" bar across the top) and contain no text
//! of any person: the "characters" are stroke patterns shaped like Chinese print.

use std::time::Duration;

use image::{DynamicImage, Rgb, RgbImage};

use crate::pipeline::encode_pnm;
use crate::{Cancel, Device, Error, Event, Kind, RawPage, Request, Result, Scanner, Source};

/// The simulator's device name.
pub const DEVICE: &str = "sim";

/// What goes wrong, on purpose.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Faults {
    /// Pages in the feeder (a feeder scan takes them all, then stops).
    pub feeder_pages: u32,
    /// The paper jams while this page (1-based) is scanned.
    pub jam_on_page: Option<u32>,
    pub cover_open: bool,
    pub busy: bool,
    /// Time per tenth of a page (progress is reported in tenths).
    pub step: Duration,
}

impl Default for Faults {
    fn default() -> Faults {
        Faults {
            feeder_pages: 3,
            jam_on_page: None,
            cover_open: false,
            busy: false,
            step: Duration::ZERO,
        }
    }
}

/// The simulated scanner.
#[derive(Debug, Clone, Default)]
pub struct Simulator {
    pub faults: Faults,
}

impl Simulator {
    pub fn new(faults: Faults) -> Simulator {
        Simulator { faults }
    }
}

impl Scanner for Simulator {
    fn devices(&self) -> Result<Vec<Device>> {
        Ok(vec![Device {
            name: DEVICE.into(),
            vendor: "kiosk".into(),
            model: "simulated flatbed with feeder".into(),
            kind: "simulated scanner".into(),
        }])
    }

    fn scan(
        &self,
        device: Option<&str>,
        request: &Request,
        on_event: &mut dyn FnMut(Event),
        cancel: &Cancel,
    ) -> Result<u32> {
        if let Some(d) = device
            && d != DEVICE
        {
            return Err(Error::UnknownDevice(d.to_string()));
        }
        if self.faults.busy {
            return Err(Error::Busy);
        }
        if self.faults.cover_open {
            return Err(Error::CoverOpen);
        }
        let pages = match request.source {
            Source::Flatbed => 1,
            Source::Feeder => {
                let n = self.faults.feeder_pages;
                request.max_pages.map_or(n, |m| m.min(n))
            }
        };
        if pages == 0 {
            return Err(Error::NoPaper);
        }
        let dpi = request.kind.dpi();
        for number in 1..=pages {
            on_event(Event::PageStarted(number));
            for tenth in 1..=10u32 {
                if cancel.is_cancelled() {
                    return Err(Error::Cancelled);
                }
                if self.faults.jam_on_page == Some(number) && tenth == 4 {
                    return Err(Error::Jammed);
                }
                std::thread::sleep(self.faults.step);
                on_event(Event::Progress {
                    page: number,
                    percent: tenth as f32 * 10.0,
                });
            }
            let image = render(request.kind, dpi, u64::from(number));
            on_event(Event::Page(RawPage {
                number,
                pnm: encode_pnm(&image),
                dpi,
            }));
        }
        Ok(pages)
    }
}

/// A raw scan of `kind` at `dpi` (the paper on a larger white bed). `seed` varies the text.
pub fn render(kind: Kind, dpi: u32, seed: u64) -> DynamicImage {
    match kind {
        Kind::Page => render_page(dpi, seed),
        Kind::IdCard => render_id_card(dpi, seed),
        Kind::Photo => render_photo(dpi, seed),
    }
}

/// A small deterministic generator (xorshift64*), so renderings repeat exactly.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u32) -> u32 {
        (self.next() >> 33) as u32 % n.max(1)
    }
}

/// Millimetres to pixels.
fn px(mm: f64, dpi: u32) -> u32 {
    (mm * f64::from(dpi) / 25.4).round() as u32
}

struct Canvas {
    img: RgbImage,
}

impl Canvas {
    fn rect(&mut self, x: u32, y: u32, w: u32, h: u32, c: [u8; 3]) {
        let (iw, ih) = self.img.dimensions();
        for yy in y.min(ih)..(y + h).min(ih) {
            for xx in x.min(iw)..(x + w).min(iw) {
                self.img.put_pixel(xx, yy, Rgb(c));
            }
        }
    }

    /// A stroke from (x0, y0) to (x1, y1), `t` pixels thick.
    fn stroke(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, t: u32, c: [u8; 3]) {
        let steps = (x1 - x0).abs().max((y1 - y0).abs()).max(1);
        for i in 0..=steps {
            let x = x0 + (x1 - x0) * i / steps;
            let y = y0 + (y1 - y0) * i / steps;
            if x >= 0 && y >= 0 {
                self.rect(x as u32, y as u32, t, t, c);
            }
        }
    }

    /// A character-like pattern of strokes in a `size` × `size` cell.
    fn glyph(&mut self, x: u32, y: u32, size: u32, rng: &mut Rng, c: [u8; 3]) {
        let t = (size / 11).max(1);
        let s = i64::from(size);
        let (x, y) = (i64::from(x), i64::from(y));
        let strokes = 3 + rng.below(6);
        for _ in 0..strokes {
            let a = i64::from(rng.below(size));
            let b = i64::from(rng.below(size));
            let len = s / 3 + i64::from(rng.below(size * 2 / 3));
            match rng.below(6) {
                // Horizontals and verticals dominate Chinese print.
                0 | 1 => self.stroke(x + a / 2, y + b, x + (a / 2 + len).min(s), y + b, t, c),
                2 | 3 => self.stroke(x + a, y + b / 2, x + a, y + (b / 2 + len).min(s), t, c),
                4 => self.stroke(
                    x + a,
                    y + b / 3,
                    x + (a - len / 2).max(0),
                    y + s * 9 / 10,
                    t,
                    c,
                ),
                _ => self.stroke(
                    x + a / 2,
                    y + b / 2,
                    x + (a / 2 + len / 2).min(s),
                    y + s * 9 / 10,
                    t,
                    c,
                ),
            }
        }
    }

    /// A line of text starting at (x, y), `n` glyphs of `size`.
    fn text(&mut self, x: u32, y: u32, size: u32, n: u32, rng: &mut Rng, c: [u8; 3]) {
        let pitch = size + size / 8;
        for i in 0..n {
            // Punctuation and spaces break the line now and then.
            if rng.below(14) == 0 {
                continue;
            }
            self.glyph(x + i * pitch, y, size, rng, c);
        }
    }

    fn ring(&mut self, cx: u32, cy: u32, r: u32, t: u32, c: [u8; 3]) {
        let (cx, cy, r, t) = (i64::from(cx), i64::from(cy), i64::from(r), i64::from(t));
        for y in (cy - r)..=(cy + r) {
            for x in (cx - r)..=(cx + r) {
                let d2 = (x - cx).pow(2) + (y - cy).pow(2);
                if d2 <= r * r && d2 >= (r - t) * (r - t) && x >= 0 && y >= 0 {
                    self.rect(x as u32, y as u32, 1, 1, c);
                }
            }
        }
    }

    /// Sensor noise, and the soft edges of scanner optics (a 3 × 3 box blur).
    fn scanned(self, seed: u64) -> RgbImage {
        let mut rng = Rng::new(seed ^ 0xA5A5);
        let (w, h) = self.img.dimensions();
        let src = self.img;
        let mut out = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let mut acc = [0u32; 3];
                let mut n = 0;
                for yy in y.saturating_sub(1)..(y + 2).min(h) {
                    for xx in x.saturating_sub(1)..(x + 2).min(w) {
                        let p = src.get_pixel(xx, yy).0;
                        for k in 0..3 {
                            acc[k] += u32::from(p[k]);
                        }
                        n += 1;
                    }
                }
                let noise = rng.below(9) as i32 - 4;
                let px = acc.map(|a| ((a / n) as i32 + noise).clamp(0, 255) as u8);
                out.put_pixel(x, y, Rgb(px));
            }
        }
        out
    }
}

const INK: [u8; 3] = [35, 35, 40];
const BED: [u8; 3] = [250, 250, 250];
const SEAL: [u8; 3] = [200, 40, 45];

fn bed(w_mm: f64, h_mm: f64, dpi: u32) -> Canvas {
    Canvas {
        img: RgbImage::from_pixel(px(w_mm, dpi), px(h_mm, dpi), Rgb(BED)),
    }
}

/// The "SAMPLE" bar: a dark band with light blocks, so nobody takes it for a real paper.
fn sample_bar(c: &mut Canvas, x: u32, y: u32, w: u32, h: u32) {
    c.rect(x, y, w, h, [150, 20, 30]);
    let mut i = x + h / 2;
    while i + h < x + w {
        c.rect(i, y + h / 4, h / 2, h / 2, [255, 230, 230]);
        i += h;
    }
}

/// An A4 page (210 × 297 mm) of a household-register-like form and dense small print,
/// lying 4 mm from the corner of a 216 × 305 mm bed.
pub fn render_page(dpi: u32, seed: u64) -> DynamicImage {
    let mut rng = Rng::new(seed);
    let mut c = bed(216.0, 305.0, dpi);
    let (ox, oy) = (px(4.0, dpi), px(4.0, dpi));
    let (pw, ph) = (px(210.0, dpi), px(297.0, dpi));
    // Off-white paper with a grain.
    for y in oy..oy + ph {
        for x in ox..ox + pw {
            let g = rng.below(7) as u8;
            c.img.put_pixel(x, y, Rgb([228 + g, 226 + g, 218 + g]));
        }
    }
    let m = px(20.0, dpi);
    let (left, width) = (ox + m, pw - 2 * m);
    sample_bar(&mut c, left, oy + px(10.0, dpi), width, px(4.0, dpi));
    // Title: large characters, centred.
    let title = px(7.0, dpi);
    c.text(ox + pw / 2 - 4 * title, oy + m, title, 7, &mut rng, INK);
    // The form: a table of 6 rows × 4 cells, labels and entries in small print.
    let small = px(9.0 * 25.4 / 72.0, dpi); // 9 pt, 小五号
    let row_h = small * 2;
    let top = oy + m + title * 2;
    let line = (dpi / 100).max(1);
    for r in 0..=6 {
        c.rect(left, top + r * row_h, width, line, INK);
    }
    for col in 0..=4 {
        c.rect(left + col * (width / 4), top, line, 6 * row_h, INK);
    }
    for r in 0..6 {
        for col in 0..4 {
            let n = 2 + rng.below(4);
            let x = left + col * (width / 4) + small / 2;
            c.text(x, top + r * row_h + small / 2, small, n, &mut rng, INK);
        }
    }
    // Body text at 10.5 pt (五号), 1.8 line spacing, in paragraphs, as a typed
    // certificate or register page has it; about two thirds of the page down.
    let body = px(10.5 * 25.4 / 72.0, dpi);
    let per_line = width / (body + body / 8);
    let mut y = top + 6 * row_h + body * 2;
    let end = oy + ph * 3 / 4;
    while y + body * 2 < end {
        let lines = 3 + rng.below(4);
        for i in 0..lines {
            if y + body * 2 >= end {
                break;
            }
            let indent = if i == 0 { 2 * (body + body / 8) } else { 0 };
            let n = if i + 1 == lines {
                per_line / 3 + rng.below(per_line / 2)
            } else {
                per_line - indent / (body + body / 8)
            };
            c.text(left + indent, y, body, n, &mut rng, INK);
            y += body * 18 / 10;
        }
        y += body;
    }
    // Signature and date lines at the foot.
    let x = ox + pw / 2;
    c.text(x, end + body * 3, body, 8, &mut rng, INK);
    c.text(x, end + body * 5, body, 11, &mut rng, INK);
    // The issuing office's seal over the signature.
    let r = px(21.0, dpi);
    c.ring(x + r * 2, end + body * 4, r, px(1.2, dpi), SEAL);
    DynamicImage::ImageRgb8(c.scanned(seed))
}

/// A resident ID card (85.6 × 54 mm, rounded corners, pale printed background, a portrait
/// area and text lines) on a 110 × 80 mm stretch of bed.
pub fn render_id_card(dpi: u32, seed: u64) -> DynamicImage {
    let mut rng = Rng::new(seed);
    let mut c = bed(110.0, 80.0, dpi);
    let (ox, oy) = (px(9.0, dpi), px(11.0, dpi));
    let (cw, ch) = (px(85.6, dpi), px(54.0, dpi));
    let corner = px(3.0, dpi);
    for y in 0..ch {
        for x in 0..cw {
            // Clip the rounded corners.
            let dx = corner.saturating_sub(x.min(cw - 1 - x));
            let dy = corner.saturating_sub(y.min(ch - 1 - y));
            if dx * dx + dy * dy > corner * corner {
                continue;
            }
            // A soft guilloche-like background.
            let wave = ((f64::from(x) / 9.0).sin() * (f64::from(y) / 13.0).cos() * 10.0) as i32;
            let base = [206 + wave, 220 + wave / 2, 228];
            c.img.put_pixel(
                ox + x,
                oy + y,
                Rgb(base.map(|v: i32| v.clamp(0, 255) as u8)),
            );
        }
    }
    sample_bar(
        &mut c,
        ox + px(4.0, dpi),
        oy + px(3.0, dpi),
        px(50.0, dpi),
        px(3.0, dpi),
    );
    let small = px(2.6, dpi);
    let mut y = oy + px(9.0, dpi);
    for n in [3u32, 6, 8, 14, 14, 9] {
        c.text(ox + px(5.0, dpi), y, small, n, &mut rng, INK);
        y += small * 2;
    }
    // The number line: wider, darker.
    c.text(
        ox + px(20.0, dpi),
        oy + px(46.0, dpi),
        px(3.0, dpi),
        18,
        &mut rng,
        [10, 10, 10],
    );
    // Portrait area.
    let (px0, py0) = (ox + px(58.0, dpi), oy + px(8.0, dpi));
    draw_portrait(
        &mut c,
        px0,
        py0,
        px(24.0, dpi),
        px(30.0, dpi),
        [225, 232, 240],
    );
    DynamicImage::ImageRgb8(c.scanned(seed))
}

/// A head and shoulders on a plain background, filling `w` × `h` at (x, y).
fn draw_portrait(c: &mut Canvas, x: u32, y: u32, w: u32, h: u32, background: [u8; 3]) {
    let (cx, cy) = (f64::from(w) / 2.0, f64::from(h) * 0.38);
    let (rx, ry) = (f64::from(w) * 0.22, f64::from(h) * 0.2);
    for yy in 0..h {
        for xx in 0..w {
            let (fx, fy) = (f64::from(xx), f64::from(yy));
            // Light falls from the left: a gentle gradient everywhere.
            let shade = (fx / f64::from(w) * 18.0) as i32;
            let face = ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2) <= 1.0;
            let hair = ((fx - cx) / (rx * 1.08)).powi(2) + ((fy - cy + ry * 0.25) / ry).powi(2)
                <= 1.0
                && fy < cy - ry * 0.45;
            let shoulders = fy > f64::from(h) * 0.62
                && (fx - cx).abs() < f64::from(w) * 0.1 + (fy - f64::from(h) * 0.62) * 1.2;
            let col: [i32; 3] = if hair {
                [30, 25, 25]
            } else if face {
                [232 - shade, 196 - shade, 170 - shade]
            } else if shoulders {
                [45 - shade / 3, 50 - shade / 3, 70 - shade / 3]
            } else {
                background.map(|v| i32::from(v) - shade)
            };
            c.img
                .put_pixel(x + xx, y + yy, Rgb(col.map(|v| v.clamp(0, 255) as u8)));
        }
    }
}

/// A 1-inch photo (25 × 35 mm, blue background) on a 40 × 50 mm stretch of bed.
pub fn render_photo(dpi: u32, seed: u64) -> DynamicImage {
    let mut c = bed(40.0, 50.0, dpi);
    let (ox, oy) = (px(7.0, dpi), px(8.0, dpi));
    draw_portrait(&mut c, ox, oy, px(25.0, dpi), px(35.0, dpi), [67, 142, 219]);
    DynamicImage::ImageRgb8(c.scanned(seed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{pipeline, scan_pages};

    #[test]
    fn a_page_comes_out_a4_at_200_dpi() {
        let sim = Simulator::default();
        let pages = scan_pages(&sim, None, &Request::page(Kind::Page)).unwrap();
        assert_eq!(pages.len(), 1);
        let p = pipeline::process(&pages[0], Kind::Page).unwrap();
        // The crop keeps the printed area of the A4 sheet, not the bed.
        assert!(
            p.width < px(210.0, 200) && p.width > px(150.0, 200),
            "{p:?}"
        );
        assert!(
            p.height < px(297.0, 200) && p.height > px(240.0, 200),
            "{p:?}"
        );
        // Within the budget, and still a gray JPEG: a form page is not dense enough to need
        // black and white.
        assert!(
            p.bytes.len() <= pipeline::Budget::of(Kind::Page).max_bytes,
            "{p:?}"
        );
        assert_eq!(p.format, pipeline::Format::Jpeg, "{p:?}");
    }

    #[test]
    fn a_photo_fits_60_kb_and_keeps_its_size() {
        let raw = RawPage {
            number: 1,
            pnm: encode_pnm(&render_photo(300, 1)),
            dpi: 300,
        };
        let p = pipeline::process(&raw, Kind::Photo).unwrap();
        assert!(p.bytes.len() <= 60 * 1024, "{p:?}");
        assert_eq!(p.format, pipeline::Format::Jpeg, "a photo keeps its tones");
        assert!(p.quality.is_some(), "{p:?}");
        // 25 × 35 mm at 300 dpi is 295 × 413; the crop may keep a 2 mm margin.
        assert!(p.width >= 280 && p.width <= 295 + 60, "{p:?}");
        assert!(p.height >= 400 && p.height <= 413 + 60, "{p:?}");
    }

    #[test]
    fn the_feeder_gives_its_pages_then_stops() {
        let sim = Simulator::new(Faults {
            feeder_pages: 2,
            ..Faults::default()
        });
        let mut req = Request::page(Kind::Page);
        req.source = Source::Feeder;
        let mut events = Vec::new();
        let n = sim
            .scan(None, &req, &mut |e| events.push(e), &Cancel::new())
            .unwrap();
        assert_eq!(n, 2);
        let starts: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::PageStarted(n) => Some(*n),
                _ => None,
            })
            .collect();
        assert_eq!(starts, [1, 2]);
        assert!(events.iter().any(|e| matches!(
            e,
            Event::Progress {
                page: 2,
                percent: 100.0
            }
        )));
    }

    #[test]
    fn faults_give_their_errors_and_keep_pages_before_a_jam() {
        let run = |faults: Faults, source: Source| {
            let mut req = Request::page(Kind::Page);
            req.source = source;
            let mut pages = 0;
            let r = Simulator::new(faults).scan(
                None,
                &req,
                &mut |e| {
                    if matches!(e, Event::Page(_)) {
                        pages += 1
                    }
                },
                &Cancel::new(),
            );
            (r, pages)
        };
        let empty = Faults {
            feeder_pages: 0,
            ..Faults::default()
        };
        assert_eq!(run(empty, Source::Feeder), (Err(Error::NoPaper), 0));
        let jam = Faults {
            jam_on_page: Some(2),
            ..Faults::default()
        };
        assert_eq!(run(jam, Source::Feeder), (Err(Error::Jammed), 1));
        let cover = Faults {
            cover_open: true,
            ..Faults::default()
        };
        assert_eq!(run(cover, Source::Flatbed), (Err(Error::CoverOpen), 0));
        let cancel = Cancel::new();
        cancel.cancel();
        assert_eq!(
            Simulator::default().scan(None, &Request::page(Kind::Photo), &mut |_| {}, &cancel),
            Err(Error::Cancelled)
        );
        assert_eq!(
            Simulator::default().scan(
                Some("epson"),
                &Request::page(Kind::Photo),
                &mut |_| {},
                &Cancel::new()
            ),
            Err(Error::UnknownDevice("epson".into()))
        );
    }
}
