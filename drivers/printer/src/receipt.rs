//! The receipt: what it says, laid out for a 58 mm roll (32 columns), as ESC/POS bytes.
//! Pure: no port, no clock (the time printed is given).

use time::PrimitiveDateTime;

use crate::escpos::{self, Align, COLUMNS, LF, QrEcc};

/// Dots per QR module: a 16-character tracking number is a version-1 code (21 modules plus
/// the quiet zone), 126 dots (about 16 mm) across, easy for a phone.
pub const QR_MODULE: u8 = 6;

/// What one receipt says. Nothing here is personal data: the villager's name is not
/// printed; the tracking number is what they quote.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Receipt {
    pub station: String,
    pub service: String,
    pub tracking_number: String,
    pub time: PrimitiveDateTime,
    /// What to bring at pick-up, one paper per entry.
    pub bring: Vec<String>,
    pub hotline: String,
}

impl Receipt {
    /// The ESC/POS job: initialise, Chinese mode, the text, the QR code, feed and cut.
    pub fn to_escpos(&self) -> Vec<u8> {
        let mut out = Job::default();
        out.raw(&escpos::INIT);
        out.raw(&escpos::CHINESE_ON);

        out.raw(&escpos::align(Align::Center));
        out.raw(&escpos::bold(true));
        out.raw(&escpos::size(1, 2));
        out.wrapped(&self.station, COLUMNS);
        out.raw(&escpos::size(1, 1));
        out.raw(&escpos::bold(false));
        out.line("受理回执 / Receipt");
        out.raw(&escpos::align(Align::Left));
        out.line(&"-".repeat(COLUMNS));

        out.labelled("办理事项 Service：", &self.service);
        out.line("受理号 Tracking number：");
        out.raw(&escpos::align(Align::Center));
        out.raw(&escpos::bold(true));
        out.raw(&escpos::size(2, 2));
        out.wrapped(&self.tracking_number, COLUMNS / 2);
        out.raw(&escpos::size(1, 1));
        out.raw(&escpos::bold(false));
        out.raw(&[LF]);
        out.raw(&escpos::qr(
            self.tracking_number.as_bytes(),
            QR_MODULE,
            QrEcc::M,
        ));
        out.raw(&[LF]);
        out.line("扫码或凭受理号查询进度");
        out.raw(&escpos::align(Align::Left));
        out.line(&"-".repeat(COLUMNS));

        out.labelled("受理时间 Time：", &format_time(self.time));
        if !self.bring.is_empty() {
            out.line("领取时请带 Bring at pick-up：");
            for item in &self.bring {
                out.wrapped_indented("· ", item);
            }
        }
        out.labelled("咨询电话 Hotline：", &self.hotline);
        out.line(&"-".repeat(COLUMNS));
        out.raw(&escpos::align(Align::Center));
        out.line("请妥善保管本回执");
        out.line("Keep this receipt");
        out.raw(&escpos::feed_lines(3));
        out.raw(&escpos::cut_after_feed(0));
        out.bytes
    }

    /// A receipt for `kiosk receipt --test`: every part of a real one, marked as a test.
    pub fn test(time: PrimitiveDateTime) -> Receipt {
        Receipt {
            station: "打印测试 Test print".into(),
            service: "测试回执（非真实申请）/ test receipt, not an application".into(),
            tracking_number: "000000-TEST-0000".into(),
            time,
            bring: vec![
                "本回执 this receipt".into(),
                "身份证原件 ID card".into(),
                "生僻字测试：䶮 龘".into(),
            ],
            hotline: "12345".into(),
        }
    }
}

/// `2026-11-25 14:05`.
pub fn format_time(t: PrimitiveDateTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    )
}

#[derive(Default)]
struct Job {
    bytes: Vec<u8>,
}

impl Job {
    fn raw(&mut self, b: &[u8]) {
        self.bytes.extend_from_slice(b);
    }

    fn line(&mut self, text: &str) {
        self.wrapped(text, COLUMNS);
    }

    /// `text` broken into lines of at most `width` columns (at the size in force).
    fn wrapped(&mut self, text: &str, width: usize) {
        for line in wrap(text, width) {
            self.raw(&escpos::gb18030(&line));
            self.raw(&[LF]);
        }
    }

    /// A label, then the value on the same line when it fits, else on lines of its own.
    fn labelled(&mut self, label: &str, value: &str) {
        let one = format!("{label}{value}");
        if width(&one) <= COLUMNS {
            self.line(&one);
        } else {
            self.line(label);
            self.wrapped_indented("  ", value);
        }
    }

    fn wrapped_indented(&mut self, first: &str, text: &str) {
        let indent = width(first);
        for (i, line) in wrap(text, COLUMNS - indent).into_iter().enumerate() {
            let lead = if i == 0 {
                first.to_string()
            } else {
                " ".repeat(indent)
            };
            self.line(&format!("{lead}{line}"));
        }
    }
}

fn width(s: &str) -> usize {
    s.chars().map(escpos::columns).sum()
}

/// Break `text` into lines of at most `width` columns: at a space where the line has one,
/// else between any two characters (Chinese has no spaces); never an empty line.
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(2);
    let mut lines = Vec::new();
    for para in text.split('\n') {
        let mut line = String::new();
        let mut cols = 0;
        for c in para.chars() {
            let w = escpos::columns(c);
            if cols + w > width {
                // Break at the last space, if it leaves something on this line.
                let cut = line.rfind(' ').filter(|&i| i > 0);
                match cut {
                    Some(i) => {
                        let rest = line[i + 1..].to_string();
                        line.truncate(i);
                        lines.push(std::mem::take(&mut line));
                        line = rest;
                    }
                    None => lines.push(std::mem::take(&mut line)),
                }
                cols = line.chars().map(escpos::columns).sum();
                if c == ' ' && line.is_empty() {
                    continue;
                }
            }
            line.push(c);
            cols += w;
        }
        if !line.trim().is_empty() || lines.is_empty() {
            lines.push(line);
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::escpos::{Op, parse_all};
    use time::macros::datetime;

    #[test]
    fn lines_fit_the_roll() {
        for (text, w) in [
            ("云南省文山壮族苗族自治州广南县莲城镇新街村为民服务站", 32),
            (
                "the quick brown fox jumps over the lazy dog again and again",
                32,
            ),
            ("身份证原件 ID card original and copy", 30),
            ("261125-ABCD-EFGH", 16),
        ] {
            let lines = wrap(text, w);
            for l in &lines {
                assert!(width(l) <= w, "{l:?} is wider than {w}");
            }
            let joined: String = lines.concat().chars().filter(|c| *c != ' ').collect();
            let want: String = text.chars().filter(|c| *c != ' ').collect();
            assert_eq!(joined, want, "nothing lost");
        }
        assert_eq!(wrap("261125-ABCD-EFGH", 16), vec!["261125-ABCD-EFGH"]);
    }

    #[test]
    fn the_receipt_carries_every_part_and_ends_with_a_cut() {
        let r = Receipt {
            station: "莲城镇新街村为民服务站".into(),
            service: "生育登记".into(),
            tracking_number: "261125-ABCD-EFGH".into(),
            time: datetime!(2026-11-25 14:05),
            bring: vec!["身份证原件".into(), "本回执".into()],
            hotline: "0876-5123456".into(),
        };
        let ops = parse_all(&r.to_escpos());
        let text: String = ops
            .iter()
            .filter_map(|o| match o {
                Op::Text(b) => Some(encoding_rs::GB18030.decode(b).0.into_owned()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n");
        for want in [
            "莲城镇新街村为民服务站",
            "生育登记",
            "261125-ABCD-EFGH",
            "2026-11-25 14:05",
            "身份证原件",
            "0876-5123456",
        ] {
            assert!(text.contains(want), "{want} missing from {text}");
        }
        assert!(ops.contains(&Op::QrStore(b"261125-ABCD-EFGH".to_vec())));
        assert!(ops.contains(&Op::QrPrint));
        assert_eq!(ops.first(), Some(&Op::Init));
        assert_eq!(ops.last(), Some(&Op::Cut));
        assert_eq!(ops.iter().filter(|o| **o == Op::Cut).count(), 1);
    }
}
