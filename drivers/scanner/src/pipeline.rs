//! From a raw scan to what is stored and sent: pure functions, bytes in, bytes out.
//!
//! Steps, each cheap on a Raspberry Pi: decode the PNM → straighten a page → crop to the
//! content's bounding box (the scanner's lid or the camera's table around the paper goes) → scale to the kind's
//! resolution (200 dpi for papers, 300 dpi for the ID card and the photo) → for papers,
//! grayscale and a levels stretch that makes the paper white and the print black (paper
//! grain and lid shadow cost bytes and help nobody) and a slight blur (σ 0.6 px, about the
//! softness of a scanner's optics) that takes the JPEG ringing off stroke edges and a sixth
//! off the size → JPEG (optimized Huffman tables, dpi in JFIF) at a quality that keeps small
//! Chinese print legible, stepped down only if the file would exceed the kind's budget → a
//! thumbnail for the review screen. Each output carries its SHA-256.
//!
//! Budgets are in KiB (150 KiB for a page, 60 KiB for the photo). A page full of 10.5 pt
//! print does not fit 150 KiB at any legible quality: it is stored at the lowest quality
//! allowed (35, where 10.5 pt print was checked legible) and is larger; see the benchmark.
//!
//! Pages are straightened first (up to ±5°, found from the lines of print on a 50-dpi
//! copy); ID cards and photos are not (no lines of print to go by).

use image::{DynamicImage, GenericImageView, GrayImage, ImageFormat, imageops};
use sha2::{Digest, Sha256};

use crate::{Error, Kind, RawPage, Result};

/// The longest side of a thumbnail, in pixels.
pub const THUMBNAIL_SIDE: u32 = 320;

/// Quality and size budget per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// JPEG quality tried first.
    pub quality: u8,
    /// The quality is stepped down (never below `min_quality`) while the file is larger.
    pub max_bytes: usize,
    pub min_quality: u8,
}

impl Budget {
    pub fn of(kind: Kind) -> Budget {
        match kind {
            // 75 first; 10.5 pt print (五号, 29 px at 200 dpi) on a whitened, slightly
            // blurred page stays legible down to 35.
            Kind::Page => Budget {
                quality: 75,
                max_bytes: 150 * 1024,
                min_quality: 35,
            },
            Kind::IdCard => Budget {
                quality: 85,
                max_bytes: 150 * 1024,
                min_quality: 60,
            },
            Kind::Photo => Budget {
                quality: 90,
                max_bytes: 60 * 1024,
                min_quality: 60,
            },
        }
    }
}

/// A scan ready to be stored: the JPEG, its thumbnail, and their SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct Processed {
    pub kind: Kind,
    pub jpeg: Vec<u8>,
    /// Lowercase hex SHA-256 of `jpeg`.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    /// The JPEG quality used.
    pub quality: u8,
    /// A small JPEG for the review screen (longest side [`THUMBNAIL_SIDE`]).
    pub thumbnail: Vec<u8>,
    pub thumbnail_sha256: String,
}

impl std::fmt::Debug for Processed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processed")
            .field("kind", &self.kind)
            .field("bytes", &self.jpeg.len())
            .field("sha256", &self.sha256)
            .field("size", &(self.width, self.height))
            .field("dpi", &self.dpi)
            .field("quality", &self.quality)
            .field("thumbnail_bytes", &self.thumbnail.len())
            .finish()
    }
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The whole pipeline for one page.
pub fn process(raw: &RawPage, kind: Kind) -> Result<Processed> {
    let image = decode(&raw.pnm)?;
    // A page lies askew more often than not; its lines of print say by how much. Cards
    // and photos have no long lines to go by and are left as they lie.
    let image = if kind.colour() {
        image
    } else {
        DynamicImage::ImageLuma8(deskew(&image.to_luma8(), raw.dpi))
    };
    let image = crop_to_content(&image, raw.dpi);
    let image = scale_to(&image, raw.dpi, kind.dpi());
    let image = if kind.colour() {
        DynamicImage::ImageRgb8(image.to_rgb8())
    } else {
        DynamicImage::ImageLuma8(imageops::blur(&whiten(&image.to_luma8()), 0.6))
    };
    let budget = Budget::of(kind);
    let (jpeg, quality) = encode_within(&image, budget, kind.dpi())?;
    let thumbnail = encode_jpeg(&thumbnail(&image), 75, 0)?;
    Ok(Processed {
        kind,
        sha256: sha256_hex(&jpeg),
        jpeg,
        width: image.width(),
        height: image.height(),
        dpi: kind.dpi(),
        quality,
        thumbnail_sha256: sha256_hex(&thumbnail),
        thumbnail,
    })
}

/// Decode a PNM (P1–P6, 8 or 16 bit) as scanimage writes it.
pub fn decode(pnm: &[u8]) -> Result<DynamicImage> {
    // A header with zero rows (the device ended the page at once) is "no image", not damage.
    let image = image::load_from_memory_with_format(pnm, ImageFormat::Pnm).map_err(|e| {
        if pnm.len() < 64 && pnm.starts_with(b"P") {
            Error::EmptyPage
        } else {
            Error::BadImage(e.to_string())
        }
    })?;
    if image.width() == 0 || image.height() == 0 {
        return Err(Error::EmptyPage);
    }
    Ok(image)
}

/// The bounding box (x, y, width, height) of what differs from the background, the
/// background being the median of the image's outer ring. `None` when nothing does (a
/// blank scan).
pub fn content_box(gray: &GrayImage, dpi: u32) -> Option<(u32, u32, u32, u32)> {
    let (w, h) = gray.dimensions();
    if w < 8 || h < 8 {
        return None;
    }
    let ring = (w.min(h) / 100).max(1);
    let mut border = Vec::new();
    for (x, y, p) in gray.enumerate_pixels() {
        if x < ring || y < ring || x >= w - ring || y >= h - ring {
            border.push(p.0[0]);
        }
    }
    border.sort_unstable();
    let bg = i32::from(border[border.len() / 2]);
    // Enough to see a pale ID card (about 30 levels below the lid) over sensor noise.
    const THRESHOLD: i32 = 24;
    let mut rows = vec![0u32; h as usize];
    let mut cols = vec![0u32; w as usize];
    for (x, y, p) in gray.enumerate_pixels() {
        if (i32::from(p.0[0]) - bg).abs() > THRESHOLD {
            rows[y as usize] += 1;
            cols[x as usize] += 1;
        }
    }
    // A row or column counts when more than a speck of dust lies on it.
    let span = |counts: &[u32], across: u32| {
        let min = (across / 500).max(2);
        let first = counts.iter().position(|&c| c > min)?;
        let last = counts.iter().rposition(|&c| c > min)?;
        Some((first as u32, last as u32))
    };
    let (y0, y1) = span(&rows, w)?;
    let (x0, x1) = span(&cols, h)?;
    // A margin of 2 mm keeps strokes touching the box whole.
    let margin = (dpi * 2 / 25).max(2);
    let x0 = x0.saturating_sub(margin);
    let y0 = y0.saturating_sub(margin);
    let x1 = (x1 + margin).min(w - 1);
    let y1 = (y1 + margin).min(h - 1);
    Some((x0, y0, x1 - x0 + 1, y1 - y0 + 1))
}

/// The largest skew [`deskew`] corrects, in degrees.
pub const MAX_SKEW: f32 = 5.0;

/// The angle of the lines of print, in degrees (positive: lines climb to the right), found
/// by projection profiles on a 50-dpi copy: the angle at which the rows of dark pixels are
/// most sharply separated. 0 when there is too little print to tell.
pub fn skew_degrees(gray: &GrayImage, dpi: u32) -> f32 {
    let factor = (dpi / 50).max(1);
    let small = imageops::thumbnail(
        gray,
        (gray.width() / factor).max(1),
        (gray.height() / factor).max(1),
    );
    let mut values: Vec<u8> = small.pixels().map(|p| p.0[0]).collect();
    let mid = values.len() / 2;
    let paper = i32::from(*values.select_nth_unstable(mid).1);
    let dark: Vec<(f32, f32)> = small
        .enumerate_pixels()
        .filter(|(_, _, p)| i32::from(p.0[0]) < paper - 60)
        .map(|(x, y, _)| (x as f32, y as f32))
        .collect();
    if dark.len() < 200 {
        return 0.0;
    }
    let (w, h) = (small.width() as f32, small.height() as f32);
    let score = |deg: f32| {
        let t = deg.to_radians().tan();
        let off = w * t.abs();
        let mut bins = vec![0u32; (h + 2.0 * off) as usize + 2];
        for &(x, y) in &dark {
            // The row this pixel is on if the lines climb at `deg`.
            let r = (y + x * t + off) as usize;
            if let Some(b) = bins.get_mut(r) {
                *b += 1;
            }
        }
        bins.iter()
            .map(|&b| u64::from(b) * u64::from(b))
            .sum::<u64>()
    };
    let mut best = (score(0.0), 0.0f32);
    let mut deg = -MAX_SKEW;
    while deg <= MAX_SKEW + 1e-3 {
        let s = score(deg);
        if s > best.0 {
            best = (s, deg);
        }
        deg += 0.25;
    }
    best.1
}

/// Rotate `gray` by `deg` degrees (positive: counter-clockwise on screen) about its centre,
/// bilinear, the uncovered corners filled with `fill`.
pub fn rotate(gray: &GrayImage, deg: f32, fill: u8) -> GrayImage {
    let (w, h) = gray.dimensions();
    let (s, c) = deg.to_radians().sin_cos();
    let (cx, cy) = (w as f32 / 2.0, h as f32 / 2.0);
    GrayImage::from_fn(w, h, |x, y| {
        // Where this output pixel comes from (inverse rotation; y grows downwards).
        let (dx, dy) = (x as f32 - cx, y as f32 - cy);
        let sx = c * dx - s * dy + cx;
        let sy = s * dx + c * dy + cy;
        if sx < 0.0 || sy < 0.0 || sx > (w - 1) as f32 || sy > (h - 1) as f32 {
            return image::Luma([fill]);
        }
        let (x0, y0) = (sx.floor() as u32, sy.floor() as u32);
        let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
        let (fx, fy) = (sx - x0 as f32, sy - y0 as f32);
        let p = |x, y| f32::from(gray.get_pixel(x, y).0[0]);
        let top = p(x0, y0) * (1.0 - fx) + p(x1, y0) * fx;
        let bottom = p(x0, y1) * (1.0 - fx) + p(x1, y1) * fx;
        image::Luma([(top * (1.0 - fy) + bottom * fy).round() as u8])
    })
}

/// Straighten a page whose print is askew by a quarter degree or more.
pub fn deskew(gray: &GrayImage, dpi: u32) -> GrayImage {
    let deg = skew_degrees(gray, dpi);
    if deg.abs() < 0.25 {
        return gray.clone();
    }
    let mut values: Vec<u8> = gray.pixels().map(|p| p.0[0]).collect();
    let mid = values.len() / 2;
    let paper = *values.select_nth_unstable(mid).1;
    // Lines that climb at `deg` come level when turned clockwise by `deg`.
    rotate(gray, -deg, paper)
}

/// Crop to [`content_box`]; a blank scan stays whole.
pub fn crop_to_content(image: &DynamicImage, dpi: u32) -> DynamicImage {
    // Find the box on a small copy: the same answer within a few pixels, at a fraction of
    // the cost.
    let factor = (dpi / 50).max(1);
    let small = if factor > 1 {
        image::imageops::thumbnail(
            &image.to_luma8(),
            (image.width() / factor).max(1),
            (image.height() / factor).max(1),
        )
    } else {
        image.to_luma8()
    };
    let sx = f64::from(image.width()) / f64::from(small.width());
    let sy = f64::from(image.height()) / f64::from(small.height());
    match content_box(&small, (dpi / factor).max(1)) {
        Some((x, y, w, h)) => {
            let x0 = (f64::from(x) * sx).floor() as u32;
            let y0 = (f64::from(y) * sy).floor() as u32;
            let x1 = ((f64::from(x + w) * sx).ceil() as u32).min(image.width());
            let y1 = ((f64::from(y + h) * sy).ceil() as u32).min(image.height());
            image.crop_imm(x0, y0, x1 - x0, y1 - y0)
        }
        None => image.clone(),
    }
}

/// Scale from `from` dpi to `to` dpi (nothing when they are within 2 %).
pub fn scale_to(image: &DynamicImage, from: u32, to: u32) -> DynamicImage {
    if from == 0 || from.abs_diff(to) * 50 <= to {
        return image.clone();
    }
    let w = (u64::from(image.width()) * u64::from(to) / u64::from(from)).max(1) as u32;
    let h = (u64::from(image.height()) * u64::from(to) / u64::from(from)).max(1) as u32;
    image.resize_exact(w, h, imageops::FilterType::Triangle)
}

/// Levels for a paper page: the paper becomes white, the darkest print black. A page with
/// no clear paper colour (a dark or photographic page) is left as it is.
pub fn whiten(gray: &GrayImage) -> GrayImage {
    let mut hist = [0u64; 256];
    for p in gray.pixels() {
        hist[usize::from(p.0[0])] += 1;
    }
    let total: u64 = hist.iter().sum();
    let percentile = |q: f64| {
        let target = (total as f64 * q) as u64;
        let mut seen = 0;
        for (v, &n) in hist.iter().enumerate() {
            seen += n;
            if seen > target {
                return v as i32;
            }
        }
        255
    };
    let paper = percentile(0.5);
    if paper < 128 {
        return gray.clone();
    }
    // Paper grain sits within a few levels of the median; print sits far below it.
    let white = (paper - 16).max(96);
    let black = percentile(0.005).min(white - 64).max(0);
    let mut lut = [0u8; 256];
    for (v, out) in lut.iter_mut().enumerate() {
        let s = (v as i32 - black) * 255 / (white - black);
        *out = s.clamp(0, 255) as u8;
    }
    let mut out = gray.clone();
    for p in out.pixels_mut() {
        p.0[0] = lut[usize::from(p.0[0])];
    }
    out
}

/// JPEG at `quality` (1–100), with optimized Huffman tables (about 8 % smaller than the
/// standard ones, same pixels), progressive, 4:2:0 colour, and `dpi` recorded in JFIF.
pub fn encode_jpeg(image: &DynamicImage, quality: u8, dpi: u32) -> Result<Vec<u8>> {
    let (w, h) = image.dimensions();
    let (Ok(w16), Ok(h16)) = (u16::try_from(w), u16::try_from(h)) else {
        return Err(Error::BadImage(format!("{w}x{h} is too large for JPEG")));
    };
    let mut out = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
    encoder.set_optimized_huffman_tables(true);
    encoder.set_progressive(false);
    encoder.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    let d = u16::try_from(dpi).unwrap_or(0);
    if d > 0 {
        encoder.set_density(jpeg_encoder::Density::Inch { x: d, y: d });
    }
    let result = match image {
        DynamicImage::ImageLuma8(g) => {
            encoder.encode(g.as_raw(), w16, h16, jpeg_encoder::ColorType::Luma)
        }
        other => encoder.encode(
            other.to_rgb8().as_raw(),
            w16,
            h16,
            jpeg_encoder::ColorType::Rgb,
        ),
    };
    result.map_err(|e| Error::BadImage(e.to_string()))?;
    Ok(out)
}

/// JPEG within `budget`: the first quality (stepping down by 5) whose file fits, or the
/// lowest allowed quality when none does.
pub fn encode_within(image: &DynamicImage, budget: Budget, dpi: u32) -> Result<(Vec<u8>, u8)> {
    let mut quality = budget.quality;
    loop {
        let jpeg = encode_jpeg(image, quality, dpi)?;
        if jpeg.len() <= budget.max_bytes || quality <= budget.min_quality {
            if jpeg.len() > budget.max_bytes {
                tracing::warn!(
                    bytes = jpeg.len(),
                    quality,
                    "scan is larger than its budget at the lowest quality allowed"
                );
            }
            return Ok((jpeg, quality));
        }
        quality = quality.saturating_sub(5).max(budget.min_quality);
    }
}

/// The review screen's thumbnail (longest side [`THUMBNAIL_SIDE`]).
pub fn thumbnail(image: &DynamicImage) -> DynamicImage {
    let (w, h) = image.dimensions();
    let scale = f64::from(THUMBNAIL_SIDE) / f64::from(w.max(h));
    if scale >= 1.0 {
        return image.clone();
    }
    let tw = ((f64::from(w) * scale).round() as u32).max(1);
    let th = ((f64::from(h) * scale).round() as u32).max(1);
    image.thumbnail_exact(tw, th)
}

/// A lossless PNG of the same image (the benchmark's baseline).
pub fn encode_png(image: &DynamicImage) -> Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    image
        .write_to(&mut out, ImageFormat::Png)
        .map_err(|e| Error::BadImage(e.to_string()))?;
    Ok(out.into_inner())
}

/// A PNM (P5 for gray, P6 for colour) of `image`, as scanimage would write it.
pub fn encode_pnm(image: &DynamicImage) -> Vec<u8> {
    let (w, h) = image.dimensions();
    match image {
        DynamicImage::ImageLuma8(g) => {
            let mut out = format!("P5\n{w} {h}\n255\n").into_bytes();
            out.extend_from_slice(g.as_raw());
            out
        }
        other => {
            let rgb = other.to_rgb8();
            let mut out = format!("P6\n{w} {h}\n255\n").into_bytes();
            out.extend_from_slice(rgb.as_raw());
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb, RgbImage};

    fn raw(image: &DynamicImage, dpi: u32) -> RawPage {
        RawPage {
            number: 1,
            pnm: encode_pnm(image),
            dpi,
        }
    }

    #[test]
    fn the_content_box_is_found_and_padded() {
        // A white bed, a dark block from (100, 50) to (199, 149).
        let mut g = GrayImage::from_pixel(400, 300, Luma([250]));
        for y in 50..150 {
            for x in 100..200 {
                g.put_pixel(x, y, Luma([20]));
            }
        }
        // Dust: one dark pixel far away does not widen the box.
        g.put_pixel(390, 290, Luma([0]));
        let (x, y, w, h) = content_box(&g, 50).unwrap();
        let m = 4; // 2 mm at 50 dpi
        assert_eq!((x, y, w, h), (100 - m, 50 - m, 100 + 2 * m, 100 + 2 * m));
        assert_eq!(
            content_box(&GrayImage::from_pixel(100, 100, Luma([255])), 50),
            None
        );
    }

    #[test]
    fn a_card_on_the_glass_is_cropped_to_the_card() {
        // An 86 × 54 mm card at 300 dpi lying on a 120 × 100 mm white bed.
        let dpi = 300;
        let mm = |v: u32| v * dpi * 10 / 254;
        let mut bed = RgbImage::from_pixel(mm(120), mm(100), Rgb([245, 245, 245]));
        for y in mm(10)..mm(10) + mm(54) {
            for x in mm(20)..mm(20) + mm(86) {
                bed.put_pixel(x, y, Rgb([120, 160, 200]));
            }
        }
        let p = process(&raw(&DynamicImage::ImageRgb8(bed), dpi), Kind::IdCard).unwrap();
        let (w, h) = (mm(86) as i64, mm(54) as i64);
        let margin = 2 * mm(2) as i64 + 16;
        assert!((p.width as i64 - w).abs() <= margin, "{p:?}");
        assert!((p.height as i64 - h).abs() <= margin, "{p:?}");
        assert_eq!(p.dpi, 300);
        let back = image::load_from_memory(&p.jpeg).unwrap();
        assert_eq!(
            back.color(),
            image::ColorType::Rgb8,
            "an ID card keeps colour"
        );
    }

    #[test]
    fn a_page_is_gray_at_200_dpi_with_white_paper() {
        // Scanned at 300 dpi on grayish paper with grain: stored at 200 dpi, paper white.
        let mut img = RgbImage::from_fn(600, 900, |x, y| {
            let grain = ((x * 7 + y * 13) % 9) as u8;
            Rgb([214 + grain, 210 + grain, 200 + grain])
        });
        for y in (100..800).step_by(40) {
            for x in 50..550 {
                for t in 0..4 {
                    img.put_pixel(x, y + t, Rgb([30, 30, 30]));
                }
            }
        }
        let p = process(&raw(&DynamicImage::ImageRgb8(img), 300), Kind::Page).unwrap();
        assert_eq!(p.dpi, 200);
        let back = image::load_from_memory(&p.jpeg).unwrap();
        assert_eq!(back.color(), image::ColorType::L8, "a page is grayscale");
        // About two thirds of the cropped size.
        assert!(p.width < 600 * 2 / 3 + 10 && p.width > 300, "{p:?}");
        let g = back.to_luma8();
        let paper = g.get_pixel(p.width / 2, 10 + (p.height / 2) % 7).0[0];
        assert!(paper >= 245, "paper is white: {paper}");
        assert_eq!(p.sha256, sha256_hex(&p.jpeg));
        assert_eq!(p.sha256.len(), 64);
    }

    #[test]
    fn a_skewed_page_is_straightened() {
        // Lines of print, level; then turned by a few angles.
        let mut page = GrayImage::from_pixel(800, 1000, Luma([235]));
        for y in (100..900).step_by(30) {
            for x in 80..720 {
                if (x / 12) % 5 != 4 {
                    for t in 0..6 {
                        page.put_pixel(x, y + t, Luma([30]));
                    }
                }
            }
        }
        assert_eq!(skew_degrees(&page, 100), 0.0);
        for deg in [-3.0f32, -1.5, 1.0, 2.5] {
            let turned = rotate(&page, deg, 235);
            let found = skew_degrees(&turned, 100);
            assert!((found - deg).abs() <= 0.25, "turned {deg}, found {found}");
            let straight = deskew(&turned, 100);
            let left = skew_degrees(&straight, 100);
            assert!(left.abs() <= 0.25, "turned {deg}, {left} left after deskew");
        }
        // Too little print to tell: left alone.
        let blank = GrayImage::from_pixel(400, 400, Luma([240]));
        assert_eq!(deskew(&blank, 100), blank);
    }

    #[test]
    fn thumbnails_fit_the_review_screen() {
        let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(1654, 2339, Luma([128])));
        let t = thumbnail(&img);
        assert_eq!(t.height(), THUMBNAIL_SIDE);
        assert_eq!(t.width(), 226);
        let small = DynamicImage::ImageLuma8(GrayImage::from_pixel(100, 50, Luma([128])));
        assert_eq!(thumbnail(&small).dimensions(), (100, 50));
    }

    #[test]
    fn the_budget_steps_the_quality_down() {
        // Noise compresses badly: the quality must drop to fit a tight budget.
        let noise = GrayImage::from_fn(400, 400, |x, y| {
            Luma([((x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)) >> 3) as u8])
        });
        let img = DynamicImage::ImageLuma8(noise);
        let loose = encode_jpeg(&img, 90, 0).unwrap().len();
        let budget = Budget {
            quality: 90,
            max_bytes: loose * 2 / 3,
            min_quality: 10,
        };
        let (jpeg, q) = encode_within(&img, budget, 0).unwrap();
        assert!(q < 90);
        assert!(jpeg.len() <= budget.max_bytes);
        // A budget that cannot be met stops at the lowest quality allowed.
        let impossible = Budget {
            max_bytes: 10,
            min_quality: 50,
            ..budget
        };
        assert_eq!(encode_within(&img, impossible, 0).unwrap().1, 50);
    }

    #[test]
    fn empty_and_damaged_scans_are_errors() {
        // What scanimage writes when the device ends the page at once.
        let header_only = b"P5\n# SANE data follows\n1654 0\n255\n".to_vec();
        let r = RawPage {
            number: 1,
            pnm: header_only,
            dpi: 200,
        };
        assert_eq!(process(&r, Kind::Page).unwrap_err(), Error::EmptyPage);
        let r = RawPage {
            number: 1,
            pnm: vec![b'x'; 100],
            dpi: 200,
        };
        assert!(matches!(process(&r, Kind::Page), Err(Error::BadImage(_))));
        // Truncated: the header promises more rows than came.
        let mut cut = encode_pnm(&DynamicImage::ImageLuma8(GrayImage::new(100, 100)));
        cut.truncate(2000);
        assert!(matches!(
            process(
                &RawPage {
                    number: 1,
                    pnm: cut,
                    dpi: 200
                },
                Kind::Page
            ),
            Err(Error::BadImage(_))
        ));
    }
}
