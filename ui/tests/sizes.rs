//! The accessibility floor of the pages, checked in their source: no text below 24 px
//! (1280x800 on 10.1") and a touch size of at least 15 mm (88 px at 149 px per inch).

use std::path::Path;

/// Every `NNpx` given to a font size, with where it is.
fn font_sizes() -> Vec<(String, f32)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("ui/ui") {
        let path = entry.expect("a directory entry").path();
        if path.extension().is_none_or(|e| e != "slint") {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("a .slint file");
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            let is_font = line.starts_with("font-size:")
                || line.starts_with("default-font-size:")
                || (path.ends_with("theme.slint")
                    && ["title", "heading", "body", "small"]
                        .iter()
                        .any(|k| line.starts_with(&format!("out property <length> {k}:"))));
            if !is_font {
                continue;
            }
            if let Some(px) = line
                .rsplit(':')
                .next()
                .and_then(|v| v.trim().trim_end_matches(';').strip_suffix("px"))
                .and_then(|v| v.trim().parse::<f32>().ok())
            {
                found.push((format!("{}:{}", path.display(), n + 1), px));
            }
        }
    }
    found
}

#[test]
fn no_text_is_smaller_than_24_px() {
    let sizes = font_sizes();
    assert!(sizes.len() > 15, "font sizes were found: {sizes:?}");
    let small: Vec<_> = sizes.iter().filter(|(_, px)| *px < 24.0).collect();
    assert!(small.is_empty(), "text below 24 px: {small:?}");
}

#[test]
fn the_touch_size_is_at_least_15_mm() {
    let theme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/theme.slint"))
            .expect("theme.slint");
    let touch: f32 = theme
        .lines()
        .find_map(|l| l.trim().strip_prefix("out property <length> touch:"))
        .and_then(|v| v.trim().trim_end_matches(';').strip_suffix("px"))
        .and_then(|v| v.parse().ok())
        .expect("Theme.touch in px");
    // 1280x800 on a 10.1" diagonal: sqrt(1280² + 800²) / 10.1 = 149.4 px per inch.
    let px_per_mm = (1280f32.powi(2) + 800f32.powi(2)).sqrt() / 10.1 / 25.4;
    assert!(
        touch >= 15.0 * px_per_mm,
        "{touch} px is {:.1} mm",
        touch / px_per_mm
    );
}
