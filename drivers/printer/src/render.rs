//! The subset of ESC/POS we emit, rendered as the printer would put it on paper: a
//! 384-dot (58 mm, 203 dpi) bitmap, saved as a one-bit PNG.
//!
//! Glyphs come from GNU Unifont (the `unifont` crate: 8x16 and 16x16 bitmaps of the whole
//! Basic Multilingual Plane, CJK Extension A included), scaled to the printer's 12x24 /
//! 24x24 Font A cells, so no system font is needed. The QR code is made from the data of
//! `GS ( k` with the `qrcode` crate, the smallest version for the data, as printers do.

use std::io;

use crate::escpos::{
    Align, CHAR_HEIGHT, DOTS_PER_LINE, FULL_WIDTH, HALF_WIDTH, LINE_HEIGHT, Op, Parser, QrEcc,
};

/// Dots per inch of the print head (and of the PNG, in its pHYs chunk).
pub const DPI: u32 = 203;

/// A printed strip: `width` dots across, one `bool` per dot (true = black).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub width: u32,
    pub height: u32,
    pub dots: Vec<bool>,
}

impl Image {
    pub fn get(&self, x: u32, y: u32) -> bool {
        x < self.width && y < self.height && self.dots[(y * self.width + x) as usize]
    }

    /// Black dots in rows `y0..y1`.
    pub fn black_in_rows(&self, y0: u32, y1: u32) -> usize {
        let y1 = y1.min(self.height);
        (y0.min(y1)..y1)
            .map(|y| (0..self.width).filter(|&x| self.get(x, y)).count())
            .sum()
    }

    /// A one-bit greyscale PNG with the printer's resolution recorded.
    pub fn to_png(&self) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, self.width, self.height.max(1));
            enc.set_color(png::ColorType::Grayscale);
            enc.set_depth(png::BitDepth::One);
            let per_metre = (f64::from(DPI) / 0.0254).round() as u32;
            enc.set_pixel_dims(Some(png::PixelDimensions {
                xppu: per_metre,
                yppu: per_metre,
                unit: png::Unit::Meter,
            }));
            let mut w = enc.write_header().map_err(io::Error::other)?;
            let stride = self.width.div_ceil(8) as usize;
            let mut data = vec![0xFFu8; stride * self.height.max(1) as usize];
            for y in 0..self.height {
                for x in 0..self.width {
                    if self.get(x, y) {
                        data[y as usize * stride + (x / 8) as usize] &= !(0x80 >> (x % 8));
                    }
                }
            }
            w.write_image_data(&data).map_err(io::Error::other)?;
            w.finish().map_err(io::Error::other)?;
        }
        Ok(out)
    }
}

#[derive(Clone, Copy)]
struct Cell {
    c: char,
    /// Font A cell of the character at the size in force.
    width: u32,
    height: u32,
    x_mul: u32,
    y_mul: u32,
    bold: bool,
}

struct State {
    align: Align,
    line_align: Align,
    bold: bool,
    x_mul: u32,
    y_mul: u32,
    chinese: bool,
    qr_module: u32,
    qr_ecc: QrEcc,
    qr_data: Vec<u8>,
    line: Vec<Cell>,
    rows: Vec<Vec<bool>>,
}

impl State {
    fn new() -> State {
        State {
            align: Align::Left,
            line_align: Align::Left,
            bold: false,
            x_mul: 1,
            y_mul: 1,
            chinese: false,
            qr_module: 3,
            qr_ecc: QrEcc::L,
            qr_data: Vec::new(),
            line: Vec::new(),
            rows: Vec::new(),
        }
    }

    fn reset_modes(&mut self) {
        let rows = std::mem::take(&mut self.rows);
        *self = State::new();
        self.rows = rows;
    }

    fn blank(&mut self, n: u32) {
        for _ in 0..n {
            self.rows.push(vec![false; DOTS_PER_LINE as usize]);
        }
    }

    fn text(&mut self, bytes: &[u8]) {
        let text: String = if self.chinese {
            encoding_rs::GB18030
                .decode_without_bom_handling(bytes)
                .0
                .into_owned()
        } else {
            bytes
                .iter()
                .map(|&b| if b.is_ascii() { char::from(b) } else { '?' })
                .collect()
        };
        for c in text.chars() {
            if self.line.is_empty() {
                self.line_align = self.align;
            }
            let base = if c.is_ascii() { HALF_WIDTH } else { FULL_WIDTH };
            self.line.push(Cell {
                c,
                width: base * self.x_mul,
                height: CHAR_HEIGHT * self.y_mul,
                x_mul: self.x_mul,
                y_mul: self.y_mul,
                bold: self.bold,
            });
        }
    }

    /// Print the line buffer (wrapping as the printer does when it is too wide) and feed.
    fn print_line(&mut self) {
        if self.line.is_empty() {
            self.blank(LINE_HEIGHT);
            return;
        }
        let cells = std::mem::take(&mut self.line);
        let mut start = 0;
        while start < cells.len() {
            let mut end = start;
            let mut used = 0;
            while end < cells.len() && (end == start || used + cells[end].width <= DOTS_PER_LINE) {
                used += cells[end].width;
                end += 1;
            }
            self.draw_cells(&cells[start..end], used);
            start = end;
        }
    }

    fn draw_cells(&mut self, cells: &[Cell], used: u32) {
        let height = cells.iter().map(|c| c.height).max().unwrap_or(CHAR_HEIGHT);
        let advance = LINE_HEIGHT.max(height + LINE_HEIGHT - CHAR_HEIGHT);
        let top = self.rows.len();
        self.blank(advance);
        let mut x = match self.line_align {
            Align::Left => 0,
            Align::Center => DOTS_PER_LINE.saturating_sub(used) / 2,
            Align::Right => DOTS_PER_LINE.saturating_sub(used),
        };
        for cell in cells {
            // Characters share a baseline: a taller one reaches up.
            let y0 = top as u32 + (height - cell.height);
            self.draw_glyph(cell, x, y0);
            x += cell.width;
        }
    }

    fn set(&mut self, x: u32, y: u32) {
        if x < DOTS_PER_LINE
            && let Some(row) = self.rows.get_mut(y as usize)
        {
            row[x as usize] = true;
        }
    }

    fn draw_glyph(&mut self, cell: &Cell, x0: u32, y0: u32) {
        let Some(glyph) = unifont::get_glyph(cell.c) else {
            // No glyph: an empty box, as printers show an unknown character.
            for dx in 2..cell.width - 2 {
                self.set(x0 + dx, y0 + 2);
                self.set(x0 + dx, y0 + cell.height - 3);
            }
            for dy in 2..cell.height - 2 {
                self.set(x0 + 2, y0 + dy);
                self.set(x0 + cell.width - 3, y0 + dy);
            }
            return;
        };
        // Unifont is 16 high; Font A is 24: scale 3/2 (times the size multiplier).
        let gw = glyph.get_width() as u32;
        let drawn = gw * 3 * cell.x_mul / 2;
        let offset = cell.width.saturating_sub(drawn) / 2;
        for dy in 0..cell.height {
            let sy = (dy * 2 / (3 * cell.y_mul)) as usize;
            for dx in 0..drawn.min(cell.width) {
                let sx = (dx * 2 / (3 * cell.x_mul)) as usize;
                if glyph.get_pixel(sx, sy) {
                    let x = x0 + offset + dx;
                    self.set(x, y0 + dy);
                    if cell.bold {
                        self.set(x + 1, y0 + dy);
                    }
                }
            }
        }
    }

    fn print_qr(&mut self) {
        if !self.line.is_empty() {
            self.print_line();
        }
        let ecc = match self.qr_ecc {
            QrEcc::L => qrcode::EcLevel::L,
            QrEcc::M => qrcode::EcLevel::M,
            QrEcc::Q => qrcode::EcLevel::Q,
            QrEcc::H => qrcode::EcLevel::H,
        };
        // Data a printer cannot make a code of prints nothing, as on the printer.
        let Ok(code) = qrcode::QrCode::with_error_correction_level(&self.qr_data, ecc) else {
            return;
        };
        let n = code.width() as u32;
        let colors = code.to_colors();
        let m = self.qr_module;
        let size = n * m;
        let x0 = match self.align {
            Align::Left => 0,
            Align::Center => DOTS_PER_LINE.saturating_sub(size) / 2,
            Align::Right => DOTS_PER_LINE.saturating_sub(size),
        };
        let top = self.rows.len() as u32;
        self.blank(size);
        for my in 0..n {
            for mx in 0..n {
                if colors[(my * n + mx) as usize] == qrcode::Color::Dark {
                    for dy in 0..m {
                        for dx in 0..m {
                            self.set(x0 + mx * m + dx, top + my * m + dy);
                        }
                    }
                }
            }
        }
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Text(b) => self.text(&b),
            Op::LineFeed => self.print_line(),
            Op::FeedLines(n) => {
                if !self.line.is_empty() {
                    self.print_line();
                }
                self.blank(u32::from(n) * LINE_HEIGHT);
            }
            Op::Init => self.reset_modes(),
            Op::Align(a) => self.align = a,
            Op::Bold(b) => self.bold = b,
            Op::Size { width, height } => {
                self.x_mul = u32::from(width);
                self.y_mul = u32::from(height);
            }
            Op::Chinese(on) => self.chinese = on,
            Op::QrModel(_) => {}
            Op::QrModule(m) => self.qr_module = u32::from(m.clamp(1, 16)),
            Op::QrEcc(e) => self.qr_ecc = e,
            Op::QrStore(d) => self.qr_data = d,
            Op::QrPrint => self.print_qr(),
            Op::Cut => {
                if !self.line.is_empty() {
                    self.print_line();
                }
            }
            Op::StatusQuery(_) | Op::Other(_) => {}
        }
    }
}

/// Render one receipt (the bytes up to and including its cut). Bytes outside the subset
/// are skipped, as a printer skips commands it does not know.
pub fn render(bytes: &[u8]) -> Image {
    let mut parser = Parser::new();
    parser.push(bytes);
    parser.finish();
    let mut st = State::new();
    while let Some(op) = parser.poll() {
        st.apply(op);
    }
    if !st.line.is_empty() {
        st.print_line();
    }
    let height = st.rows.len() as u32;
    Image {
        width: DOTS_PER_LINE,
        height,
        dots: st.rows.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos;

    #[test]
    fn a_line_of_text_is_one_line_high_and_inked() {
        let mut b = escpos::CHINESE_ON.to_vec();
        b.extend(escpos::gb18030("䶮"));
        b.push(escpos::LF);
        let img = render(&b);
        assert_eq!(img.height, LINE_HEIGHT);
        assert!(img.black_in_rows(0, CHAR_HEIGHT) > 40);
        // Nothing beyond the 24-dot cell.
        assert_eq!(
            (0..img.height)
                .map(|y| (FULL_WIDTH..img.width).filter(|&x| img.get(x, y)).count())
                .sum::<usize>(),
            0
        );
    }

    #[test]
    fn too_long_a_line_wraps_like_the_printer() {
        let mut b = escpos::CHINESE_ON.to_vec();
        b.extend(escpos::gb18030(&"字".repeat(17)));
        b.push(escpos::LF);
        assert_eq!(render(&b).height, 2 * LINE_HEIGHT);
    }

    #[test]
    fn png_round_trip_keeps_size_and_ink() {
        let mut b = escpos::qr(b"X", 4, QrEcc::L);
        b.push(escpos::LF);
        let img = render(&b);
        let png = img.to_png().unwrap();
        let mut dec = png::Decoder::new(std::io::Cursor::new(png));
        dec.set_transformations(png::Transformations::EXPAND);
        let mut r = dec.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), (img.width, img.height));
        let black = buf[..info.buffer_size()]
            .iter()
            .filter(|&&v| v < 128)
            .count();
        assert_eq!(black, img.dots.iter().filter(|&&d| d).count());
    }
}
