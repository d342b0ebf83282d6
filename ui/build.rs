//! Compiles the Slint pages under `ui/` into Rust.

fn main() {
    // Read when the script runs, not when it was compiled: a build script compiled in
    // another checkout (a copied target directory) must not read that checkout's files.
    let here = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let config = slint_build::CompilerConfiguration::new()
        // A kiosk is always in daylight at a counter: the light Fluent style, whatever the OS says.
        .with_style("fluent-light".into())
        // Element names for `i_slint_backend_testing::ElementHandle` (tests/render.rs drives
        // the pages by accessible label); costs a few strings in the binary.
        .with_debug_info(true)
        // English is the source language of the @tr() strings; Chinese, shown by default,
        // comes from translations/zh_CN/LC_MESSAGES/kiosk-ui.po, compiled into the binary.
        .with_bundled_translations(here.join("translations"));
    slint_build::compile_with_config("ui/app.slint", config)
        .expect("the Slint pages under ui/ should compile");
}
