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
//! thumbnail for the review screen. Each output carries its SHA-256 and says what it is
//! ([`Format`]: content type and file extension).
//!
//! Budgets are in KiB (150 KiB for a page, 60 KiB for the photo). A page full of 10.5 pt
//! print does not fit 150 KiB as a JPEG at any legible quality (about 280 KiB at 35, the
//! lowest quality where 10.5 pt print was checked legible). Such a page is stored black and
//! white instead: a 1-bit PNG at the same 200 dpi, thresholded by [`binarize`] (Sauvola, a
//! local threshold that keeps thin strokes of small print and ignores uneven light), about
//! a third of the JPEG's size. Gray JPEG stays first because it keeps what black and white
//! loses: a seal's or a photo's tones, faint pencil, a stamp over print.
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

/// What a stored scan is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JPEG: gray for a page, colour for an ID card or a photo.
    Jpeg,
    /// A black-and-white (1 bit per pixel) PNG: a page too dense for its budget as a JPEG.
    BitonalPng,
}

impl Format {
    /// The MIME type stored and sent with the scan.
    pub fn content_type(self) -> &'static str {
        match self {
            Format::Jpeg => "image/jpeg",
            Format::BitonalPng => "image/png",
        }
    }

    /// The file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Format::Jpeg => "jpg",
            Format::BitonalPng => "png",
        }
    }
}

/// A scan ready to be stored: the file, its thumbnail, and their SHA-256.
#[derive(Clone, PartialEq, Eq)]
pub struct Processed {
    pub kind: Kind,
    /// What `bytes` holds.
    pub format: Format,
    /// The file to store: see `format`.
    pub bytes: Vec<u8>,
    /// Lowercase hex SHA-256 of `bytes`.
    pub sha256: String,
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
    /// The JPEG quality used; `None` for a black-and-white PNG.
    pub quality: Option<u8>,
    /// A small JPEG for the review screen (longest side [`THUMBNAIL_SIDE`]).
    pub thumbnail: Vec<u8>,
    pub thumbnail_sha256: String,
}

impl std::fmt::Debug for Processed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Processed")
            .field("kind", &self.kind)
            .field("format", &self.format)
            .field("bytes", &self.bytes.len())
            .field("sha256", &self.sha256)
            .field("size", &(self.width, self.height))
            .field("dpi", &self.dpi)
            .field("quality", &self.quality)
            .field("thumbnail_bytes", &self.thumbnail.len())
            .finish()
    }
}

impl Processed {
    /// The MIME type of `bytes`: `image/jpeg` or `image/png`.
    pub fn content_type(&self) -> &'static str {
        self.format.content_type()
    }

    /// The file extension for `bytes`, without the dot: `jpg` or `png`.
    pub fn extension(&self) -> &'static str {
        self.format.extension()
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
    let budget = Budget::of(kind);
    let (image, format, bytes, quality) = if kind.colour() {
        let image = DynamicImage::ImageRgb8(image.to_rgb8());
        let (jpeg, quality) = encode_within(&image, budget, kind.dpi())?;
        (image, Format::Jpeg, jpeg, Some(quality))
    } else {
        let white = whiten(&image.to_luma8());
        let image = DynamicImage::ImageLuma8(imageops::blur(&white, 0.6));
        let (format, bytes, quality) = encode_page(&white, &image, budget, kind.dpi())?;
        (image, format, bytes, quality)
    };
    let thumbnail = encode_jpeg(&thumbnail(&image), 75, 0)?;
    Ok(Processed {
        kind,
        format,
        sha256: sha256_hex(&bytes),
        bytes,
        width: image.width(),
        height: image.height(),
        dpi: kind.dpi(),
        quality,
        thumbnail_sha256: sha256_hex(&thumbnail),
        thumbnail,
    })
}

/// A page's file: the gray JPEG (`blurred`) within `budget`; when even the lowest quality
/// does not fit, black and white from the unblurred page (`white`; the blur only helps
/// JPEG). If that is over budget too (a halftone), the smaller of the two.
pub fn encode_page(
    white: &GrayImage,
    blurred: &DynamicImage,
    budget: Budget,
    dpi: u32,
) -> Result<(Format, Vec<u8>, Option<u8>)> {
    let (jpeg, quality) = encode_within(blurred, budget, dpi)?;
    if jpeg.len() <= budget.max_bytes {
        return Ok((Format::Jpeg, jpeg, Some(quality)));
    }
    let png = encode_bitonal_png(&binarize(white), dpi)?;
    if png.len() > budget.max_bytes {
        tracing::warn!(
            jpeg = jpeg.len(),
            png = png.len(),
            "page is larger than its budget even in black and white"
        );
    }
    Ok(if png.len() < jpeg.len() {
        (Format::BitonalPng, png, None)
    } else {
        (Format::Jpeg, jpeg, Some(quality))
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

/// JPEG within `budget`: the highest quality on the ladder `quality`, `quality - 5`, … down
/// to `min_quality` whose file fits, or the lowest allowed quality when none does (the
/// caller decides what then). The size falls with the quality, so the ladder is searched
/// by halves: the top, then the bottom, then between (at most 5 encodes instead of 9).
pub fn encode_within(image: &DynamicImage, budget: Budget, dpi: u32) -> Result<(Vec<u8>, u8)> {
    let top = budget.quality.max(budget.min_quality);
    let first = encode_jpeg(image, top, dpi)?;
    if first.len() <= budget.max_bytes || top == budget.min_quality {
        return Ok((first, top));
    }
    let lowest = encode_jpeg(image, budget.min_quality, dpi)?;
    if lowest.len() > budget.max_bytes {
        return Ok((lowest, budget.min_quality));
    }
    // Steps of 5 below the top; `fits` holds a step known to fit, `misses` one known not to.
    let steps = u32::from(top - budget.min_quality).div_ceil(5);
    let at = |step: u32| {
        top.saturating_sub((step * 5).min(255) as u8)
            .max(budget.min_quality)
    };
    let (mut misses, mut fits, mut best) = (0u32, steps, lowest);
    while fits - misses > 1 {
        let mid = (misses + fits) / 2;
        let jpeg = encode_jpeg(image, at(mid), dpi)?;
        if jpeg.len() <= budget.max_bytes {
            (fits, best) = (mid, jpeg);
        } else {
            misses = mid;
        }
    }
    Ok((best, at(fits)))
}

/// The side of [`binarize`]'s window, in pixels: about one character of 10.5 pt print at
/// 200 dpi (29 px), so each stroke is judged against its own character's paper.
pub const BINARIZE_WINDOW: u32 = 31;

/// Sauvola's `k`: how far below the local mean ink must be, scaled by the local contrast.
/// 0.2 (the low end of the usual 0.2–0.5) keeps the faint, thin horizontals of Song-style
/// print at 200 dpi; the paper is already white (see [`whiten`]), so it adds no speckle.
pub const SAUVOLA_K: f32 = 0.2;

/// Black and white for a page (0 ink, 255 paper), by Sauvola's local threshold: a pixel is
/// ink when darker than `m · (1 + k · (s / 128 − 1))`, `m` and `s` the mean and standard
/// deviation of the [`BINARIZE_WINDOW`]-wide square around it. A stroke one pixel thin and
/// only half-dark is ink beside white paper, where a global threshold at mid-gray drops it;
/// a shadow across the page moves the threshold with it. Anything darker than a quarter
/// gray is ink regardless (the middle of a solid black area, where `s` is 0, would
/// otherwise be paper). Memory: two rows of column sums, not an integral image.
pub fn binarize(gray: &GrayImage) -> GrayImage {
    const ALWAYS_INK: u8 = 64;
    let (w, h) = gray.dimensions();
    let mut out = GrayImage::new(w, h);
    if w == 0 || h == 0 {
        return out;
    }
    let r = BINARIZE_WINDOW / 2;
    let (wu, hu) = (w as usize, h as usize);
    let raw = gray.as_raw();
    // Sums over the window's rows, per column, of the values and of their squares.
    let mut col = vec![0u64; wu];
    let mut col_sq = vec![0u64; wu];
    let add_row = |col: &mut [u64], col_sq: &mut [u64], y: usize, sign: bool| {
        let row = &raw[y * wu..(y + 1) * wu];
        for ((c, q), &v) in col.iter_mut().zip(col_sq.iter_mut()).zip(row) {
            let v = u64::from(v);
            if sign {
                *c += v;
                *q += v * v;
            } else {
                *c -= v;
                *q -= v * v;
            }
        }
    };
    for y in 0..=(r as usize).min(hu - 1) {
        add_row(&mut col, &mut col_sq, y, true);
    }
    let mut prefix = vec![0u64; wu + 1];
    let mut prefix_sq = vec![0u64; wu + 1];
    let ru = r as usize;
    for y in 0..hu {
        if y > 0 {
            if y + ru < hu {
                add_row(&mut col, &mut col_sq, y + ru, true);
            }
            if y > ru {
                add_row(&mut col, &mut col_sq, y - ru - 1, false);
            }
        }
        let rows = (y + ru).min(hu - 1) - y.saturating_sub(ru) + 1;
        for x in 0..wu {
            prefix[x + 1] = prefix[x] + col[x];
            prefix_sq[x + 1] = prefix_sq[x] + col_sq[x];
        }
        let src = &raw[y * wu..(y + 1) * wu];
        let dst = &mut out.as_mut()[y * wu..(y + 1) * wu];
        for x in 0..wu {
            let (x0, x1) = (x.saturating_sub(ru), (x + ru).min(wu - 1));
            let n = ((x1 - x0 + 1) * rows) as f64;
            let mean = (prefix[x1 + 1] - prefix[x0]) as f64 / n;
            let var = (prefix_sq[x1 + 1] - prefix_sq[x0]) as f64 / n - mean * mean;
            let sd = var.max(0.0).sqrt();
            let threshold = mean * (1.0 + f64::from(SAUVOLA_K) * (sd / 128.0 - 1.0));
            let v = src[x];
            dst[x] = if v < ALWAYS_INK || f64::from(v) < threshold {
                0
            } else {
                255
            };
        }
    }
    out
}

/// A 1-bit grayscale PNG of a black-and-white image (any value below 128 is black), with
/// `dpi` recorded (pHYs).
pub fn encode_bitonal_png(bw: &GrayImage, dpi: u32) -> Result<Vec<u8>> {
    let (w, h) = bw.dimensions();
    let stride = (w as usize).div_ceil(8);
    let mut packed = vec![0u8; stride * h as usize];
    for (y, row) in bw.rows().enumerate() {
        let line = &mut packed[y * stride..(y + 1) * stride];
        for (x, p) in row.enumerate() {
            if p.0[0] >= 128 {
                line[x / 8] |= 0x80 >> (x % 8);
            }
        }
    }
    let mut out = Vec::new();
    let bad = |e: png::EncodingError| Error::BadImage(e.to_string());
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Grayscale);
    encoder.set_depth(png::BitDepth::One);
    // Filters do not help 1-bit rows (libpng's advice too); the best deflate does.
    encoder.set_compression(png::Compression::High);
    encoder.set_filter(png::Filter::NoFilter);
    if dpi > 0 {
        // Pixels per metre, rounded (200 dpi: 7874).
        let ppm = ((u64::from(dpi) * 10_000 + 127) / 254) as u32;
        encoder.set_pixel_dims(Some(png::PixelDimensions {
            xppu: ppm,
            yppu: ppm,
            unit: png::Unit::Meter,
        }));
    }
    let mut writer = encoder.write_header().map_err(bad)?;
    writer.write_image_data(&packed).map_err(bad)?;
    writer.finish().map_err(bad)?;
    Ok(out)
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

/// A thumbnail's pixels, 8-bit RGB row by row, for a screen to draw.
#[derive(Clone, PartialEq, Eq)]
pub struct Preview {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Preview {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Preview({}x{})", self.width, self.height)
    }
}

/// Decodes [`Processed::thumbnail`] (a JPEG) for the screen. Anything larger than a
/// thumbnail is refused rather than decoded: the screen never holds a full page.
pub fn preview(thumbnail: &[u8]) -> Result<Preview> {
    let image = image::load_from_memory_with_format(thumbnail, ImageFormat::Jpeg)
        .map_err(|e| Error::BadImage(e.to_string()))?;
    let (width, height) = image.dimensions();
    if width.max(height) > THUMBNAIL_SIDE {
        return Err(Error::BadImage(format!(
            "a {width}x{height} image is not a thumbnail"
        )));
    }
    Ok(Preview {
        width,
        height,
        rgb: image.to_rgb8().into_raw(),
    })
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
        assert_eq!(
            p.format,
            Format::Jpeg,
            "an ID card is never black and white"
        );
        assert_eq!((p.content_type(), p.extension()), ("image/jpeg", "jpg"));
        let back = image::load_from_memory(&p.bytes).unwrap();
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
        assert_eq!(p.format, Format::Jpeg, "a sparse page stays a gray JPEG");
        let back = image::load_from_memory(&p.bytes).unwrap();
        assert_eq!(back.color(), image::ColorType::L8, "a page is grayscale");
        // About two thirds of the cropped size.
        assert!(p.width < 600 * 2 / 3 + 10 && p.width > 300, "{p:?}");
        let g = back.to_luma8();
        let paper = g.get_pixel(p.width / 2, 10 + (p.height / 2) % 7).0[0];
        assert!(paper >= 245, "paper is white: {paper}");
        assert_eq!(p.sha256, sha256_hex(&p.bytes));
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
    fn a_thumbnail_decodes_for_the_screen_and_a_page_does_not() {
        let img = DynamicImage::ImageLuma8(GrayImage::from_pixel(1654, 2339, Luma([128])));
        let small = encode_jpeg(&thumbnail(&img), 80, 200).unwrap();
        let p = preview(&small).unwrap();
        assert_eq!((p.width, p.height), (226, THUMBNAIL_SIDE));
        assert_eq!(p.rgb.len(), 226 * 320 * 3);
        assert!(p.rgb.iter().all(|&v| (120..=136).contains(&v)));
        let page = encode_jpeg(&img, 80, 200).unwrap();
        assert!(matches!(preview(&page), Err(Error::BadImage(_))));
        assert!(matches!(preview(b"not a jpeg"), Err(Error::BadImage(_))));
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
        // The highest quality on the ladder that fits, as stepping down one by one finds.
        let stepped = (10..=90)
            .rev()
            .step_by(5)
            .find(|&q| encode_jpeg(&img, q, 0).unwrap().len() <= budget.max_bytes)
            .unwrap();
        assert_eq!(q, stepped);
        assert_eq!(jpeg, encode_jpeg(&img, q, 0).unwrap());
        // A budget that cannot be met stops at the lowest quality allowed.
        let impossible = Budget {
            max_bytes: 10,
            min_quality: 50,
            ..budget
        };
        assert_eq!(encode_within(&img, impossible, 0).unwrap().1, 50);
    }

    /// The benchmark's page of 10.5 pt Chinese print on off-white paper with sensor noise,
    /// as a scanner at 200 dpi would deliver it.
    fn dense_page() -> DynamicImage {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/data/a4-dense-text-200dpi.png"
        );
        let text = image::open(path).unwrap().to_luma8();
        let mut state = 0x2545_F491_u32;
        DynamicImage::ImageLuma8(GrayImage::from_fn(text.width(), text.height(), |x, y| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state % 9) as i32 - 4;
            let v = i32::from(text.get_pixel(x, y).0[0]);
            Luma([((35 + v * (226 - 35) / 255) + noise).clamp(0, 255) as u8])
        }))
    }

    #[test]
    fn a_page_full_of_small_print_fits_its_budget_in_black_and_white() {
        let budget = Budget::of(Kind::Page);
        let p = process(&raw(&dense_page(), 200), Kind::Page).unwrap();
        assert_eq!(p.format, Format::BitonalPng, "{p:?}");
        assert!(p.bytes.len() <= budget.max_bytes, "{p:?}");
        assert_eq!((p.content_type(), p.extension()), ("image/png", "png"));
        assert_eq!((p.quality, p.dpi), (None, 200));
        assert_eq!(p.sha256, sha256_hex(&p.bytes));
        // A real 1-bit grayscale PNG (IHDR: bit depth 1, colour type 0) at 200 dpi (pHYs:
        // 7874 pixels per metre).
        assert_eq!(&p.bytes[..8], b"\x89PNG\r\n\x1a\n");
        assert_eq!((p.bytes[24], p.bytes[25]), (1, 0));
        let phys = p.bytes.windows(4).position(|w| w == b"pHYs").unwrap();
        assert_eq!(&p.bytes[phys + 4..phys + 8], &7874u32.to_be_bytes());
        let back = image::load_from_memory(&p.bytes).unwrap().to_luma8();
        assert_eq!(back.dimensions(), (p.width, p.height));
        assert!(back.pixels().all(|px| px.0[0] == 0 || px.0[0] == 255));
        // About as much ink as the print has: 46 lines of 40 characters cover roughly a
        // tenth to a fifth of the text block; neither lost strokes nor a blackened page.
        let ink = back.pixels().filter(|px| px.0[0] == 0).count() as f64;
        let share = ink / f64::from(p.width * p.height);
        assert!((0.06..0.25).contains(&share), "ink share {share}");
        // The same page as a gray JPEG at the lowest legible quality would not fit.
        let gray = whiten(&dense_page().to_luma8());
        let jpeg = encode_jpeg(&DynamicImage::ImageLuma8(gray), budget.min_quality, 200).unwrap();
        assert!(jpeg.len() > budget.max_bytes, "{}", jpeg.len());
    }

    #[test]
    fn a_page_over_budget_either_way_keeps_the_smaller_file() {
        // Fine random dots (a halftone at its worst): neither a JPEG at the lowest quality
        // nor a 1-bit PNG fits the budget. The page is still stored, as the smaller file.
        let mut state = 0x9E37_79B9_u32;
        let mut dots = |levels: [u8; 2]| {
            GrayImage::from_fn(300, 300, |_, _| {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                Luma([levels[(state % 2) as usize]])
            })
        };
        // Black on white: 1 bit a pixel beats JPEG. Dark gray on darker gray: JPEG
        // flattens it, black and white keeps every dot.
        for (white, smaller) in [
            (dots([0, 255]), Format::BitonalPng),
            (dots([40, 70]), Format::Jpeg),
        ] {
            let blurred = DynamicImage::ImageLuma8(imageops::blur(&white, 0.6));
            let budget = Budget {
                quality: 75,
                max_bytes: 1000,
                min_quality: 35,
            };
            let jpeg = encode_jpeg(&blurred, 35, 200).unwrap();
            let png = encode_bitonal_png(&binarize(&white), 200).unwrap();
            assert!(jpeg.len() > 1000 && png.len() > 1000);
            let (format, bytes, quality) = encode_page(&white, &blurred, budget, 200).unwrap();
            match smaller {
                Format::BitonalPng => {
                    assert!(png.len() < jpeg.len());
                    assert_eq!((format, bytes, quality), (Format::BitonalPng, png, None));
                }
                Format::Jpeg => {
                    assert!(jpeg.len() < png.len());
                    assert_eq!((format, bytes, quality), (Format::Jpeg, jpeg, Some(35)));
                }
            }
        }
    }

    /// A white page with a block of coarse "print" and, beside it, one line one pixel thin
    /// at `ink`; the ink pixels on and around the line after [`binarize`].
    fn thin_line_after_binarize(ink: u8) -> (usize, usize) {
        let mut g = GrayImage::from_pixel(300, 200, Luma([255]));
        for y in 20..60 {
            for x in 20..280 {
                if (x / 6 + y / 6) % 3 == 0 {
                    g.put_pixel(x, y, Luma([0]));
                }
            }
        }
        for x in 40..260 {
            g.put_pixel(x, 120, Luma([ink]));
        }
        let bw = binarize(&g);
        let on = (40..260)
            .filter(|&x| bw.get_pixel(x, 120).0[0] == 0)
            .count();
        let around = (100..140)
            .flat_map(|y| (0..300).map(move |x| (x, y)))
            .filter(|&(x, y)| y != 120 && bw.get_pixel(x, y).0[0] == 0)
            .count();
        (on, around)
    }

    #[test]
    fn thin_strokes_survive_binarisation() {
        // A one-pixel stroke, black or only half dark (how a thin horizontal of Song print
        // comes out of a 200-dpi scan), stays whole and stays one pixel thin. A global
        // threshold at mid-gray would drop the pale one entirely.
        for ink in [0u8, 100, 150, 170] {
            let (on, around) = thin_line_after_binarize(ink);
            assert_eq!((on, around), (220, 0), "a 1-px line at {ink}");
        }
        // Paper grain just below white is not ink.
        let (on, _) = thin_line_after_binarize(235);
        assert_eq!(on, 0);
    }

    #[test]
    fn binarisation_follows_shadows_and_keeps_solid_black() {
        // Left half in shadow (paper 170), right half lit (paper 255), print 40 on both,
        // and a solid black bar wider than the window.
        let mut g = GrayImage::from_fn(400, 200, |x, _| Luma([if x < 200 { 170 } else { 255 }]));
        for y in 20..60 {
            for x in (10..390).filter(|x| x % 10 < 3) {
                g.put_pixel(x, y, Luma([40]));
            }
        }
        for y in 100..180 {
            for x in 100..300 {
                g.put_pixel(x, y, Luma([0]));
            }
        }
        let bw = binarize(&g);
        let ink = |x, y| bw.get_pixel(x, y).0[0] == 0;
        assert!(
            !ink(50, 80) && !ink(350, 80),
            "shadowed and lit paper are paper"
        );
        assert!(ink(11, 40) && ink(351, 40), "print on both halves is ink");
        assert!(!ink(15, 40) && !ink(355, 40), "between strokes is paper");
        assert!(ink(200, 140), "the middle of a solid black bar stays black");
    }

    #[test]
    fn the_bitonal_png_round_trips() {
        let bw = GrayImage::from_fn(13, 5, |x, y| Luma([if (x + y) % 3 == 0 { 0 } else { 255 }]));
        let png = encode_bitonal_png(&bw, 200).unwrap();
        let back = image::load_from_memory(&png).unwrap().to_luma8();
        assert_eq!(back, bw);
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
