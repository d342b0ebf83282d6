//! The kiosk's touchscreen UI: Slint pages and a thin Rust adapter. No I/O, no business logic.
//!
//! # Design
//!
//! - The pages live in `ui/*.slint`, one file per page (`idle_page`, the villager's first
//!   screen; `person_page`, one card holder's applications; `board_page`, `form_page`,
//!   `submitted_page` for the operator; plus the `status_bar` with the language button and
//!   the `banner` shown over them). They read data from,
//!   and report actions to, the `export global`s in `ui/api.slint` — **the only surface Rust
//!   touches**. `api.slint` holds sample data so the live preview shows something; [`Ui::new`]
//!   clears it.
//! - Decisions and wording that depend on data (counts, fallbacks, where an error goes, which
//!   choice shows as buttons) are made in Rust, in the pure `convert` module, and unit-tested
//!   there. The `.slint` files only lay out and colour what they are given; the chip colour
//!   and icon for a [`BoardState`] are chosen in `theme.slint`.
//! - [`Ui`] owns the window and lives on the main thread. [`UiHandle`] is **the thread-safe
//!   door**: every method may be called from any thread (the firmware's tokio workers), queues
//!   its change onto the UI event loop (`slint::Weak::upgrade_in_event_loop`), never blocks,
//!   and does nothing once the window is gone.
//! - User actions arrive as [`UiEvent`]s on the UI thread through [`Ui::on_event`]. Slint
//!   callbacks hold weak handles only. Leaving a page (Cancel, Back to the board) switches the
//!   page at once and then reports it; everything else waits for the firmware to answer.
//!
//! - One language at a time, Chinese by default ([`Language`]): the pages' own strings are
//!   `@tr()` with the Chinese in `translations/zh_CN/LC_MESSAGES/kiosk-ui.po`, bundled at
//!   build time; strings from Rust come as `_zh`/`_en` pairs and `Api.pick` chooses.
//! - The font is embedded (`fonts/`); call [`prepare_fonts`] first thing in `main`.
//!
//! # Example
//!
//! ```no_run
//! use kiosk_ui::{Ui, UiEvent, StatusView};
//!
//! let ui = Ui::new()?;
//! let handle = ui.handle();
//! ui.on_event(move |event| {
//!     if let UiEvent::StartService { service_id } = event {
//!         // Look the form up (elsewhere) and call handle.show_form(..).
//!         let _ = service_id;
//!     }
//! });
//! let worker = ui.handle();
//! std::thread::spawn(move || worker.set_status(StatusView { link_up: true, ..Default::default() }));
//! ui.run()?;
//! # Ok::<(), kiosk_ui::UiError>(())
//! ```
//!
//! # Testing without a screen
//!
//! [`Ui::new`] uses whatever Slint platform is installed, so a test can install one built on
//! `slint::platform::software_renderer::MinimalSoftwareWindow` first and render pages into
//! memory; see `tests/render.rs`. `UPDATE_SCREENS=1` writes the renders to `docs/screens/`.

mod convert;
mod fonts;
mod view;
mod window;

#[allow(unused_imports, unreachable_pub)]
mod generated {
    slint::include_modules!();
}

pub use fonts::{FONT_FAMILY, FontSetup, prepare_fonts};
pub use view::{
    BoardRow, BoardState, CheckView, FieldErrorView, FieldKindView, FieldView, FormSection,
    FormView, GuideView, HandoverRow, HandoverView, HistoryLine, HistoryView, InfoView, Language,
    MessageKind, NoticeView, PersonRow, Picture, ReceiptView, ScanView, ServiceTile, StaffRole,
    StatusView, UiEvent,
};
pub use window::{Ui, UiError, UiHandle};
