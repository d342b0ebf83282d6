//! The embedded font renders Chinese, rare name characters of CJK Extension A included, on a
//! machine where fontconfig sees no font at all (the trap in which Slint's font loader
//! panics). Its own process: the environment is changed before Slint starts.

mod common;

use common::{Frame, Screen};
use kiosk_ui::StatusView;

/// Common hanzi, and Extension A characters found in names (䶮 U+4DAE, as in 刘䶮), with
/// the first and last of the block.
const COVERED: &[char] = &['中', '国', '曼', '庄', '䶮', '㐀', '䶵', '㑇', '䲜'];

/// Characters the embedded font lacks: Tibetan ka, and 𠮷 of Extension B (plane 2).
const MISSING: &[char] = &['ཀ', '𠮷'];

fn with_station_name(screen: &Screen, name: &str) -> Frame {
    screen.handle().set_status(StatusView {
        station_zh: name.into(),
        station_en: name.into(),
        ..Default::default()
    });
    screen.render()
}

#[test]
fn chinese_renders_from_the_embedded_font_when_fontconfig_sees_no_font() {
    let dir = std::env::temp_dir().join(format!("kiosk-ui-no-fonts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a scratch directory");
    let empty = dir.join("empty.conf");
    std::fs::write(
        &empty,
        "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"urn:fontconfig:fonts.dtd\">\n\
         <fontconfig></fontconfig>\n",
    )
    .expect("an empty fontconfig configuration");
    // SAFETY: the only test of this process, and nothing else runs yet.
    unsafe { std::env::set_var("FONTCONFIG_FILE", &empty) };

    // Without the guard, building the platform below panics inside fontique.
    let screen = Screen::new();

    let blank = with_station_name(&screen, " ");
    let missing: Vec<Frame> = MISSING
        .iter()
        .map(|c| with_station_name(&screen, &c.to_string()))
        .collect();
    let mut seen: Vec<(char, Frame)> = Vec::new();
    for &c in COVERED {
        let frame = with_station_name(&screen, &c.to_string());
        let ink = frame.pixels_differing(&blank);
        assert!(ink > 150, "{c} (U+{:04X}) left only {ink} pixels", c as u32);
        for (m, tofu) in MISSING.iter().zip(&missing) {
            assert!(
                frame.pixels_differing(tofu) > 50,
                "{c} (U+{:04X}) looks like the missing {m}: tofu",
                c as u32
            );
        }
        for (other, earlier) in &seen {
            assert!(
                frame.pixels_differing(earlier) > 50,
                "{c} and {other} render alike: one of them is a box"
            );
        }
        seen.push((c, frame));
    }
    std::fs::remove_dir_all(&dir).ok();
}
