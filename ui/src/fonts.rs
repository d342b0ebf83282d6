//! The embedded font, and the guard that keeps Slint's font loader from panicking on a
//! machine where fontconfig sees no font at all.
//!
//! The pages import `fonts/KioskSansCJK-Regular.otf` (a subset of Noto Sans CJK SC: every
//! BMP hanzi including CJK Extension A, Latin and punctuation; see `fonts/make-font.py`) and
//! make it the default font, so text renders the same on the appliance as on any desktop and
//! needs no installed CJK font.
//!
//! Slint's font collection (fontique) always asks fontconfig for the system fonts too, and
//! fontique 0.11 panics when fontconfig is present but sees no font (`FcFontSort` answers
//! nothing). [`prepare_fonts`] checks for exactly that before Slint starts and, only then,
//! points fontconfig at a tiny stand-in font written to a scratch directory. Without
//! fontconfig at all (no `libfontconfig.so.1`) there is nothing to do: fontique skips the
//! system fonts.

use std::path::{Path, PathBuf};

/// The family name of the embedded font, the default font of every page.
pub const FONT_FAMILY: &str = "Kiosk Sans CJK";

/// 14 kB: ASCII from the same font, named "Kiosk Stand-in". Only fontconfig ever sees it.
const STAND_IN: &[u8] = include_bytes!("../fonts/KioskStandIn-Regular.otf");

/// What [`prepare_fonts`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FontSetup {
    /// fontconfig sees fonts, or is not installed: nothing was changed.
    SystemFontsUsable,
    /// fontconfig saw no font; `FONTCONFIG_FILE` now names a configuration in this directory
    /// that shows it the stand-in font.
    StandIn(PathBuf),
}

/// Makes sure Slint can start its font loader, whatever fonts the machine has.
///
/// Call it first thing in `main`, **before any other thread starts** and before anything
/// Slint (a window, `slint::platform::set_platform`): when it has to, it sets the
/// `FONTCONFIG_FILE` environment variable for this process. The stand-in goes to a
/// directory of its own under the system's temporary directory.
pub fn prepare_fonts() -> std::io::Result<FontSetup> {
    if fontconfig_sees_a_font() {
        return Ok(FontSetup::SystemFontsUsable);
    }
    let dir = std::env::temp_dir().join(format!("kiosk-ui-fonts-{}", std::process::id()));
    let config = write_stand_in(&dir)?;
    // SAFETY: the documented contract of this function is that no other thread runs yet,
    // so nothing reads the environment while it changes.
    unsafe { std::env::set_var("FONTCONFIG_FILE", &config) };
    tracing::info!(dir = %dir.display(), "fontconfig sees no font; showing it a stand-in");
    Ok(FontSetup::StandIn(dir))
}

/// Writes the stand-in font and a fontconfig configuration that sees only it; returns the
/// configuration's path.
fn write_stand_in(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    std::fs::write(dir.join("KioskStandIn-Regular.otf"), STAND_IN)?;
    let config = dir.join("fonts.conf");
    let dir_text = xml_escape(&dir.to_string_lossy());
    std::fs::write(
        &config,
        format!(
            "<?xml version=\"1.0\"?>\n<!DOCTYPE fontconfig SYSTEM \"urn:fontconfig:fonts.dtd\">\n\
             <fontconfig>\n  <dir>{dir_text}</dir>\n  <cachedir>{dir_text}/cache</cachedir>\n\
             </fontconfig>\n"
        ),
    )?;
    Ok(config)
}

fn xml_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Builds the same font collection Slint will build and reports whether that worked. The
/// failure is fontique's panic, which is caught and kept off the terminal.
fn fontconfig_sees_a_font() -> bool {
    let quiet = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let built = std::panic::catch_unwind(|| {
        fontique::Collection::new(fontique::CollectionOptions {
            shared: false,
            system_fonts: true,
        });
    });
    std::panic::set_hook(quiet);
    built.is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stand_in_configuration_names_its_directory() {
        let dir = std::env::temp_dir().join(format!("kiosk-ui-fonts-test-{}", std::process::id()));
        let config = write_stand_in(&dir).expect("the stand-in is written");
        let text = std::fs::read_to_string(&config).expect("the configuration reads back");
        assert!(text.contains(&format!("<dir>{}</dir>", dir.display())));
        let font = std::fs::read(dir.join("KioskStandIn-Regular.otf")).expect("the font");
        assert_eq!(font, STAND_IN);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }

    #[test]
    fn xml_special_characters_are_escaped() {
        assert_eq!(xml_escape("/tmp/a&b<c>"), "/tmp/a&amp;b&lt;c&gt;");
    }
}
