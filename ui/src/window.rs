//! The window, the thread-safe handle, and the glue between Slint callbacks and [`UiEvent`]s.

use std::cell::RefCell;
use std::fmt;
use std::rc::Rc;

use slint::{ComponentHandle, Model, ModelRc, SharedString, VecModel};

use crate::convert;
use crate::generated::{Api, AppWindow, Page, StaffRole as GStaffRole};
use crate::view::{
    BoardRow, CheckView, FieldErrorView, FormView, GuideView, HandoverView, HistoryView, InfoView,
    Language, MessageKind, NoticeView, PersonRow, Picture, ReceiptView, ServiceTile, StaffRole,
    StatusView, UiEvent,
};

/// Why the window could not be opened or kept running.
#[derive(Debug)]
pub struct UiError(ErrorInner);

#[derive(Debug)]
struct ErrorInner {
    what: &'static str,
    source: slint::PlatformError,
}

impl UiError {
    fn new(what: &'static str, source: slint::PlatformError) -> Self {
        UiError(ErrorInner { what, source })
    }
}

impl fmt::Display for UiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.0.what, self.0.source)
    }
}

impl std::error::Error for UiError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0.source)
    }
}

type Handler = Rc<dyn Fn(UiEvent)>;

/// The firmware's event handler, shared by all Slint callbacks.
#[derive(Clone, Default)]
struct Events {
    handler: Rc<RefCell<Option<Handler>>>,
    /// The window, so that every action on a staff page keeps the staff session open.
    app: Rc<RefCell<Option<slint::Weak<AppWindow>>>>,
}

impl Events {
    fn set(&self, f: Handler) {
        *self.handler.borrow_mut() = Some(f);
    }

    fn emit(&self, event: UiEvent) {
        let app = self.app.borrow().as_ref().and_then(slint::Weak::upgrade);
        if let Some(app) = app {
            staff_touch(&app);
        }
        // Clone first: the handler may replace itself or cause more events.
        let handler = self.handler.borrow().clone();
        if let Some(handler) = handler {
            handler(event);
        }
    }
}

/// The kiosk window. Create it and run it on the main thread; hand [`UiHandle`]s to others.
pub struct Ui {
    app: AppWindow,
    events: Events,
}

impl Ui {
    /// Builds the window (1280x800) showing the villager's idle screen, with no data yet.
    ///
    /// Uses the Slint platform installed with `slint::platform::set_platform`, if any;
    /// otherwise opens a window on the desktop (winit).
    pub fn new() -> Result<Ui, UiError> {
        let app =
            AppWindow::new().map_err(|e| UiError::new("the display could not be opened", e))?;
        clear_sample_data(&app);
        set_language(&app, Language::Chinese);
        let events = Events::default();
        *events.app.borrow_mut() = Some(app.as_weak());
        wire_callbacks(&app, &events);
        Ok(Ui { app, events })
    }

    /// A cheap, thread-safe door into this window.
    pub fn handle(&self) -> UiHandle {
        UiHandle {
            app: self.app.as_weak(),
        }
    }

    /// Sets the function that receives every user action, on the UI thread. A later call
    /// replaces the earlier function.
    pub fn on_event(&self, f: impl Fn(UiEvent) + 'static) {
        self.events.set(Rc::new(f));
    }

    /// Shows the window and runs the event loop until the window closes or
    /// [`UiHandle::quit`] is called.
    pub fn run(&self) -> Result<(), UiError> {
        self.app
            .run()
            .map_err(|e| UiError::new("the screen stopped working", e))
    }

    /// The Slint window, for a platform that draws it itself (tests, a framebuffer backend).
    pub fn window(&self) -> &slint::Window {
        self.app.window()
    }

    /// The root component, for driving the UI by accessible labels in tests.
    #[doc(hidden)]
    pub fn component(&self) -> &impl ComponentHandle {
        &self.app
    }
}

impl fmt::Debug for Ui {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ui").finish_non_exhaustive()
    }
}

/// Changes the UI from any thread. Each call queues the change onto the UI event loop and
/// returns at once; once the window is gone, calls do nothing.
#[derive(Clone)]
pub struct UiHandle {
    app: slint::Weak<AppWindow>,
}

impl fmt::Debug for UiHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UiHandle").finish_non_exhaustive()
    }
}

impl UiHandle {
    fn queue(&self, change: impl FnOnce(&AppWindow) + Send + 'static) {
        // An error only means the event loop is gone: nothing left to change.
        let _ = self.app.upgrade_in_event_loop(move |app| change(&app));
    }

    /// Replaces the service tiles on the board.
    pub fn set_services(&self, services: Vec<ServiceTile>) {
        self.queue(move |app| {
            let tiles = convert::service_tiles(&services);
            app.global::<Api>().set_services(model(tiles));
        });
    }

    /// Updates the status bar.
    pub fn set_status(&self, status: StatusView) {
        self.queue(move |app| app.global::<Api>().set_status(convert::status(&status)));
    }

    /// Replaces the list of recent applications on the board.
    pub fn set_board(&self, rows: Vec<BoardRow>) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_board_all(model(convert::board_rows(&rows)));
            show_board_rows(&api);
        });
    }

    /// The test receipt is out (or not): the button is free again and a banner says how
    /// it went, `(zh, en)`.
    pub fn test_print_done(&self, zh: String, en: String, ok: bool) {
        self.queue(move |app| {
            app.global::<Api>().set_test_print_running(false);
            let kind = if ok {
                MessageKind::Info
            } else {
                MessageKind::Warning
            };
            show_banner(app, &zh, &en, kind);
        });
    }

    /// One application's story over the board (opened by a tap on its row).
    pub fn show_history(&self, view: HistoryView) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            if api.get_page() != Page::Board {
                return;
            }
            let (history, lines) = convert::history(&view);
            api.set_history(history);
            api.set_history_lines(model(lines));
            api.set_history_open(true);
        });
    }

    /// Replaces the notices on the idle screen.
    pub fn set_notices(&self, notices: Vec<NoticeView>) {
        self.queue(move |app| {
            app.global::<Api>()
                .set_notices(model(convert::notices(&notices)));
        });
    }

    /// Replaces the service guide on the idle screen.
    pub fn set_guide(&self, guide: Vec<GuideView>) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_guide_open(-1);
            api.set_guide(model(convert::guide(&guide)));
        });
    }

    /// Shows one card holder's applications. The page goes back to the idle screen (and to
    /// Chinese) by itself after a while without a touch, and forgets the rows.
    pub fn show_person(&self, rows: Vec<PersonRow>) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_person_rows(model(convert::person_rows(&rows)));
            show_page(app, Page::Person);
            keep_person_page(app);
        });
    }

    /// Switches to the villager's idle screen, forgetting any person's applications.
    pub fn show_idle(&self) {
        self.queue(show_idle);
    }

    /// Switches to the counter board.
    pub fn show_board(&self) {
        self.queue(|app| show_page(app, Page::Board));
    }

    /// Whether the operator's and the technician's pages ask for a PIN first (a role
    /// without a PIN set opens at once). `hint` is shown under the keypad (the demo's PINs).
    pub fn set_sign_in(&self, operator: bool, technician: bool, hint: Option<(String, String)>) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_operator_pin_required(operator);
            api.set_technician_pin_required(technician);
            let (zh, en) = hint.unwrap_or_default();
            api.set_pin_hint_zh(zh.into());
            api.set_pin_hint_en(en.into());
        });
    }

    /// The PIN was right: the role's page opens.
    ///
    /// The operator gets back the form set aside at [`UiEvent::StaffTimedOut`], if any.
    pub fn pin_accepted(&self, role: StaffRole) {
        self.queue(move |app| match role {
            StaffRole::Operator if app.global::<Api>().get_form_kept() => resume_form(app),
            StaffRole::Operator => show_page(app, Page::Board),
            StaffRole::Technician => show_page(app, Page::Technician),
        });
    }

    /// The PIN was wrong (or tries are locked for a while): say why, and start over.
    pub fn pin_refused(&self, zh: String, en: String) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_pin_entry(SharedString::new());
            api.set_pin_length(0);
            api.set_pin_message_zh(zh.into());
            api.set_pin_message_en(en.into());
            api.set_pin_busy(false);
        });
    }

    /// Pick-up: what the card holder can collect, in a dialog over the board (switching to
    /// the board if needed).
    pub fn show_handover(&self, view: HandoverView) {
        self.queue(move |app| {
            show_page(app, Page::Board);
            let api = app.global::<Api>();
            api.set_handover_name(view.masked_name.into());
            api.set_handover_rows(model(
                view.rows
                    .iter()
                    .map(|r| crate::generated::HandoverRowData {
                        tracking_number: r.tracking_number.clone().into(),
                        service_zh: r.service_zh.clone().into(),
                        service_en: r.service_en.clone().into(),
                    })
                    .collect(),
            ));
            api.set_handover_busy(false);
            api.set_handover_open(true);
        });
    }

    /// The hand-over was recorded (or failed, said in a message): the dialog closes.
    pub fn close_handover(&self) {
        self.queue(|app| close_handover(&app.global::<Api>()));
    }

    /// The technician page's facts about the station.
    pub fn set_station_info(&self, info: Vec<InfoView>) {
        self.queue(move |app| {
            app.global::<Api>()
                .set_station_info(model(convert::station_info(&info)))
        });
    }

    /// The self-test's result (and when it ran, formatted): the button is free again.
    pub fn set_checks(&self, checks: Vec<CheckView>, when: String) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_checks(model(convert::checks(&checks)));
            api.set_checks_when(when.into());
            api.set_selftest_running(false);
        });
    }

    /// Opens a form (replacing any open one) and switches to it.
    pub fn show_form(&self, form: FormView) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_form_title_zh(form.title_zh.as_str().into());
            api.set_form_title_en(form.title_en.as_str().into());
            api.set_form_rows(model(convert::form_rows(&form)));
            api.set_scans(model(convert::scan_rows(&form.scans)));
            api.set_form_errors(model(Vec::new()));
            api.set_error_summary_zh(SharedString::new());
            api.set_error_summary_en(SharedString::new());
            api.set_form_dirty(false);
            api.set_form_kept(false);
            show_page(app, Page::Form);
        });
    }

    /// Sets field values of the open form by id (a card tap). Unknown ids are ignored.
    pub fn fill_fields(&self, values: Vec<(String, String)>) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            if edit_model(&api.get_form_rows(), |rows| {
                convert::fill_fields(rows, &values)
            }) {
                api.set_form_dirty(true);
            }
        });
    }

    /// Replaces all errors shown on the open form.
    pub fn set_field_errors(&self, errors: Vec<FieldErrorView>) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            let rows = api.get_form_rows();
            let scans = api.get_scans();
            let placement = edit_model(&rows, |rows| {
                edit_model(&scans, |scans| convert::place_errors(rows, scans, &errors))
            });
            let (zh, en) = convert::error_summary(placement.count);
            api.set_form_errors(model(placement.general));
            api.set_error_summary_zh(zh.into());
            api.set_error_summary_en(en.into());
            api.set_form_busy(false);
        });
    }

    /// Marks a paper as scanned (or not) and sets or clears its note `(zh, en)`. A scan
    /// under way keeps the staff session open.
    pub fn set_scan_state(&self, scan_id: String, captured: bool, note: Option<(String, String)>) {
        self.queue(move |app| {
            let note = note.as_ref().map(|(zh, en)| (zh.as_str(), en.as_str()));
            edit_model(&app.global::<Api>().get_scans(), |scans| {
                convert::set_scan_state(scans, &scan_id, captured, note)
            });
            staff_touch(app);
        });
    }

    /// Shows what was scanned for a paper, small, on its row (a tap shows it large);
    /// `None` clears it. A picture whose bytes do not match its size is not shown.
    pub fn set_scan_preview(&self, scan_id: String, preview: Option<Picture>) {
        self.queue(move |app| {
            let image = preview.as_ref().and_then(convert::picture);
            if preview.is_some() && image.is_none() {
                tracing::warn!(scan = %scan_id, "a scan preview with the wrong size was not shown");
            }
            edit_model(&app.global::<Api>().get_scans(), |scans| {
                match scans.iter_mut().find(|sc| sc.id == scan_id.as_str()) {
                    Some(scan) => {
                        scan.preview = image.unwrap_or_default();
                        true
                    }
                    None => false,
                }
            });
        });
    }

    /// Back from the review to the form (it no longer passes its checks).
    pub fn close_review(&self) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            api.set_review_open(false);
            api.set_form_busy(false);
        });
    }

    /// The form passed its checks: everything on it, on one screen, for the operator to
    /// confirm ([`UiEvent::ConfirmSubmit`]) or go back and change.
    pub fn show_review(&self) {
        self.queue(move |app| {
            let api = app.global::<Api>();
            let rows: Vec<_> = api.get_form_rows().iter().collect();
            api.set_review_items(model(convert::review_items(&rows)));
            api.set_form_errors(model(Vec::new()));
            api.set_error_summary_zh(SharedString::new());
            api.set_error_summary_en(SharedString::new());
            api.set_form_busy(false);
            api.set_review_open(true);
        });
    }

    /// Shows the confirmation page with the tracking number.
    pub fn show_submitted(&self, receipt: ReceiptView) {
        self.queue(move |app| {
            app.global::<Api>().set_receipt(convert::receipt(&receipt));
            show_page(app, Page::Submitted);
        });
    }

    /// Switches the language of every page.
    pub fn set_language(&self, language: Language) {
        self.queue(move |app| set_language(app, language));
    }

    /// Shows a banner over the page that hides itself after a few seconds.
    pub fn show_message(&self, zh: String, en: String, kind: MessageKind) {
        self.queue(move |app| show_banner(app, &zh, &en, kind));
    }

    /// Runs `f` on the UI thread once it gets to it: a liveness probe (the watchdog counts
    /// the UI alive only while these keep arriving).
    pub fn ping(&self, f: impl FnOnce() + Send + 'static) {
        self.queue(move |_| f());
    }

    /// Ends [`Ui::run`].
    pub fn quit(&self) {
        // Thread-safe; an error means there is no event loop left to end.
        let _ = slint::quit_event_loop();
    }
}

fn model<T: Clone + 'static>(items: Vec<T>) -> ModelRc<T> {
    ModelRc::new(VecModel::from(items))
}

/// Lets `change` edit a copy of the model's rows, then writes back only the rows that
/// differ, so a field being typed into is not disturbed by a change elsewhere.
fn edit_model<T: Clone + PartialEq + 'static, R>(
    model: &ModelRc<T>,
    change: impl FnOnce(&mut [T]) -> R,
) -> R {
    let before: Vec<T> = model.iter().collect();
    let mut after = before.clone();
    let result = change(&mut after);
    for (index, (old, new)) in before.iter().zip(after).enumerate() {
        if *old != new {
            model.set_row_data(index, new);
        }
    }
    result
}

/// The folder of the bundled translation (`translations/<name>/`); English is the source.
fn translation_name(language: Language) -> &'static str {
    match language {
        Language::Chinese => "zh_CN",
        Language::English => "",
    }
}

fn set_language(app: &AppWindow, language: Language) {
    // Only fails when the catalogue is missing, which the build guarantees it is not; the
    // strings from Rust still follow `english`.
    if let Err(e) = slint::select_bundled_translation(translation_name(language)) {
        tracing::warn!("the {language:?} translation could not be selected: {e}");
    }
    app.global::<Api>()
        .set_english(language == Language::English);
}

fn show_page(app: &AppWindow, page: Page) {
    let api = app.global::<Api>();
    if page != Page::Person {
        // No personal data stays behind a page that does not show it.
        api.set_person_rows(model(Vec::new()));
    }
    if page != Page::Board {
        // A pick-up dialog and an application's story belong to the board.
        close_handover(&api);
        close_history(&api);
    }
    // Nothing typed on the keypad outlives the sign-in page.
    api.set_pin_entry(SharedString::new());
    api.set_pin_length(0);
    api.set_pin_message_zh(SharedString::new());
    api.set_pin_message_en(SharedString::new());
    api.set_pin_busy(false);
    api.set_confirm_cancel(false);
    api.set_form_busy(false);
    api.set_review_open(false);
    if matches!(page, Page::Board | Page::Technician) {
        // The operator chose another page: a form set aside earlier is gone.
        api.set_form_kept(false);
    }
    api.set_page(page);
    staff_touch(app);
}

fn is_staff_page(page: Page) -> bool {
    !matches!(page, Page::Idle | Page::Person)
}

/// A touch on a staff page: (re)starts the way back to the idle screen; only the timer of
/// the latest touch acts. Off the staff pages it does nothing.
fn staff_touch(app: &AppWindow) {
    let api = app.global::<Api>();
    if !is_staff_page(api.get_page()) {
        return;
    }
    let serial = api.get_staff_serial().wrapping_add(1);
    api.set_staff_serial(serial);
    let weak = app.as_weak();
    slint::Timer::single_shot(convert::STAFF_TIMEOUT, move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_staff_serial() != serial || !is_staff_page(api.get_page()) {
            return;
        }
        tracing::info!(page = ?api.get_page(), "staff pages left untouched: back to the villager screen");
        // A form stays in the model, hidden, until the operator is back.
        api.set_form_kept(api.get_page() == Page::Form);
        show_idle(&app);
        set_language(&app, Language::Chinese);
        api.invoke_staff_timed_out();
    });
}

/// The form set aside by the staff time-out, on screen again.
fn resume_form(app: &AppWindow) {
    let api = app.global::<Api>();
    api.set_form_kept(false);
    show_page(app, Page::Form);
    show_banner(
        app,
        "这是刚才没有提交的申请，请继续",
        "Here is the application you had not submitted; carry on",
        MessageKind::Info,
    );
}

/// The filter chips' counts and the rows the chosen one shows, from every row held.
fn show_board_rows(api: &Api<'_>) {
    let all: Vec<_> = api.get_board_all().iter().collect();
    let filters = convert::board_filters(&all);
    let mut chosen = api.get_board_filter();
    if usize::try_from(chosen).map_or(true, |i| i >= filters.len()) {
        chosen = 0;
        api.set_board_filter(0);
    }
    api.set_board(model(convert::filter_rows(&all, &filters, chosen)));
    api.set_board_filters(model(filters));
}

fn close_history(api: &Api<'_>) {
    api.set_history_open(false);
    api.set_history(Default::default());
    api.set_history_lines(model(Vec::new()));
}

fn close_handover(api: &Api<'_>) {
    api.set_handover_open(false);
    api.set_handover_busy(false);
    api.set_handover_name(SharedString::new());
    api.set_handover_rows(model(Vec::new()));
}

fn show_idle(app: &AppWindow) {
    let api = app.global::<Api>();
    api.set_guide_open(-1);
    show_page(app, Page::Idle);
}

/// (Re)starts the person page's way back to idle: only the timer of the latest touch acts.
fn keep_person_page(app: &AppWindow) {
    let api = app.global::<Api>();
    let serial = api.get_person_serial().wrapping_add(1);
    api.set_person_serial(serial);
    let weak = app.as_weak();
    slint::Timer::single_shot(convert::PERSON_TIMEOUT, move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_page() == Page::Person && api.get_person_serial() == serial {
            show_idle(&app);
            set_language(&app, Language::Chinese);
        }
    });
}

fn show_banner(app: &AppWindow, zh: &str, en: &str, kind: MessageKind) {
    let api = app.global::<Api>();
    let serial = api.get_banner_serial().wrapping_add(1);
    api.set_banner_serial(serial);
    api.set_banner(convert::banner(zh, en, kind));
    if kind != MessageKind::Info {
        // A warning or error is usually the answer to Submit.
        api.set_form_busy(false);
    }
    let weak = app.as_weak();
    slint::Timer::single_shot(convert::banner_duration(kind), move || {
        if let Some(app) = weak.upgrade() {
            let api = app.global::<Api>();
            // A newer message has its own timer.
            if api.get_banner_serial() == serial {
                hide_banner(&api);
            }
        }
    });
}

fn hide_banner(api: &Api<'_>) {
    let mut banner = api.get_banner();
    banner.visible = false;
    api.set_banner(banner);
}

/// Replaces the preview's sample data with an empty board.
fn clear_sample_data(app: &AppWindow) {
    let api = app.global::<Api>();
    api.set_status(convert::status(&StatusView::default()));
    api.set_services(model(Vec::new()));
    api.set_board(model(Vec::new()));
    api.set_board_all(model(Vec::new()));
    api.set_board_filters(model(convert::board_filters(&[])));
    api.set_board_filter(0);
    close_history(&api);
    api.set_form_title_zh(SharedString::new());
    api.set_form_title_en(SharedString::new());
    api.set_form_rows(model(Vec::new()));
    api.set_scans(model(Vec::new()));
    api.set_review_items(model(Vec::new()));
    api.set_form_errors(model(Vec::new()));
    api.set_error_summary_zh(SharedString::new());
    api.set_error_summary_en(SharedString::new());
    api.set_form_dirty(false);
    api.set_receipt(Default::default());
    api.set_banner(Default::default());
    api.set_notices(model(Vec::new()));
    api.set_guide(model(Vec::new()));
    api.set_checks(model(Vec::new()));
    api.set_station_info(model(Vec::new()));
    show_idle(app);
}

/// Connects every callback of `api.slint` to the firmware's handler. Callbacks hold weak
/// handles only.
fn wire_callbacks(app: &AppWindow, events: &Events) {
    let api = app.global::<Api>();

    let ev = events.clone();
    api.on_start_service(move |id| {
        ev.emit(UiEvent::StartService {
            service_id: id.into(),
        });
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_field_edited(move |id, text| {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        let event = edit_model(&api.get_form_rows(), |rows| {
            convert::edit_field(rows, &id, &text)
        });
        if let Some(event) = event {
            api.set_form_dirty(true);
            ev.emit(event);
        }
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_keypad_key(move |id, key| {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        let typed = edit_model(&api.get_form_rows(), |rows| {
            convert::keypad_key(rows, &id, &key)
        });
        if let Some((value, event)) = typed {
            api.set_keypad_value(value.into());
            api.set_form_dirty(true);
            ev.emit(event);
        }
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_choice_selected(move |id, index| {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        let event = edit_model(&api.get_form_rows(), |rows| {
            convert::choose(rows, &id, index)
        });
        if let Some(event) = event {
            api.set_form_dirty(true);
            ev.emit(event);
        }
    });

    let ev = events.clone();
    api.on_scan_requested(move |id| ev.emit(UiEvent::ScanRequested { scan_id: id.into() }));

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_submit(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_form_busy() {
            return;
        }
        // Guards against a double tap until the firmware answers (or stays silent too long).
        api.set_form_busy(true);
        let guard = app.as_weak();
        slint::Timer::single_shot(convert::SUBMIT_GUARD, move || {
            if let Some(app) = guard.upgrade() {
                app.global::<Api>().set_form_busy(false);
            }
        });
        let rows: Vec<_> = api.get_form_rows().iter().collect();
        ev.emit(UiEvent::Submit {
            values: convert::form_values(&rows),
        });
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_cancel(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_form_dirty() {
            api.set_confirm_cancel(true);
        } else {
            show_page(&app, Page::Board);
            ev.emit(UiEvent::CancelForm);
        }
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_discard_form(move || {
        let Some(app) = weak.upgrade() else { return };
        show_page(&app, Page::Board);
        ev.emit(UiEvent::CancelForm);
    });

    let weak = app.as_weak();
    api.on_keep_editing(move || {
        if let Some(app) = weak.upgrade() {
            app.global::<Api>().set_confirm_cancel(false);
            staff_touch(&app);
        }
    });

    let ev = events.clone();
    api.on_simulate_card_tap(move || ev.emit(UiEvent::SimulateCardTap));

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_back_to_board(move || {
        let Some(app) = weak.upgrade() else { return };
        show_page(&app, Page::Board);
        ev.emit(UiEvent::ShowBoard);
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_staff(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_operator_pin_required() {
            show_page(&app, Page::Pin);
            api.set_pin_role(GStaffRole::Operator);
        } else if api.get_form_kept() {
            resume_form(&app);
            ev.emit(UiEvent::ResumeForm);
        } else {
            show_page(&app, Page::Board);
            ev.emit(UiEvent::ShowBoard);
        }
    });

    let ev = events.clone();
    api.on_staff_timed_out(move || ev.emit(UiEvent::StaffTimedOut));

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_print_test_receipt(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_test_print_running() {
            return;
        }
        api.set_test_print_running(true);
        ev.emit(UiEvent::PrintTestReceipt);
    });

    let weak = app.as_weak();
    api.on_board_filter_selected(move |index| {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        api.set_board_filter(index);
        show_board_rows(&api);
        staff_touch(&app);
    });

    let ev = events.clone();
    api.on_open_application(move |tracking| {
        ev.emit(UiEvent::OpenApplication {
            tracking_number: tracking.into(),
        });
    });

    let weak = app.as_weak();
    api.on_close_history(move || {
        if let Some(app) = weak.upgrade() {
            close_history(&app.global::<Api>());
            staff_touch(&app);
        }
    });

    let weak = app.as_weak();
    api.on_staff_activity(move || {
        if let Some(app) = weak.upgrade() {
            staff_touch(&app);
        }
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_confirm_submit(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_form_busy() || !api.get_review_open() {
            return;
        }
        api.set_form_busy(true);
        let guard = app.as_weak();
        slint::Timer::single_shot(convert::SUBMIT_GUARD, move || {
            if let Some(app) = guard.upgrade() {
                app.global::<Api>().set_form_busy(false);
            }
        });
        ev.emit(UiEvent::ConfirmSubmit);
    });

    let weak = app.as_weak();
    api.on_review_back(move || {
        if let Some(app) = weak.upgrade() {
            let api = app.global::<Api>();
            api.set_review_open(false);
            api.set_form_busy(false);
            staff_touch(&app);
        }
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_technician(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_technician_pin_required() {
            show_page(&app, Page::Pin);
            api.set_pin_role(GStaffRole::Technician);
        } else {
            show_page(&app, Page::Technician);
            ev.emit(UiEvent::ShowTechnician);
        }
    });

    let weak = app.as_weak();
    api.on_pin_key(move |key| {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_pin_busy() {
            return;
        }
        let mut entry = api.get_pin_entry().to_string();
        if key == "delete" {
            entry.pop();
        } else if entry.chars().count() < convert::PIN_MAX_DIGITS {
            entry.push_str(&key);
        }
        api.set_pin_length(i32::try_from(entry.chars().count()).unwrap_or(0));
        api.set_pin_entry(entry.into());
        staff_touch(&app);
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_pin_submit(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        let pin = api.get_pin_entry().to_string();
        if api.get_pin_busy() || pin.is_empty() {
            return;
        }
        api.set_pin_busy(true);
        let role = match api.get_pin_role() {
            GStaffRole::Operator => StaffRole::Operator,
            GStaffRole::Technician => StaffRole::Technician,
        };
        ev.emit(UiEvent::PinEntered { role, pin });
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_pin_cancel(move || {
        let Some(app) = weak.upgrade() else { return };
        match app.global::<Api>().get_pin_role() {
            GStaffRole::Operator => {
                show_idle(&app);
                ev.emit(UiEvent::ShowIdle);
            }
            GStaffRole::Technician => {
                show_page(&app, Page::Board);
                ev.emit(UiEvent::ShowBoard);
            }
        }
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_confirm_handover(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_handover_busy() {
            return;
        }
        api.set_handover_busy(true);
        ev.emit(UiEvent::ConfirmHandover);
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_cancel_handover(move || {
        let Some(app) = weak.upgrade() else { return };
        close_handover(&app.global::<Api>());
        ev.emit(UiEvent::CancelHandover);
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_run_selftest(move || {
        let Some(app) = weak.upgrade() else { return };
        let api = app.global::<Api>();
        if api.get_selftest_running() {
            return;
        }
        api.set_selftest_running(true);
        api.set_checks(model(Vec::new()));
        ev.emit(UiEvent::RunSelftest);
    });

    let (ev, weak) = (events.clone(), app.as_weak());
    api.on_show_idle(move || {
        let Some(app) = weak.upgrade() else { return };
        show_idle(&app);
        ev.emit(UiEvent::ShowIdle);
    });

    let weak = app.as_weak();
    api.on_person_activity(move || {
        if let Some(app) = weak.upgrade()
            && app.global::<Api>().get_page() == Page::Person
        {
            keep_person_page(&app);
        }
    });

    let weak = app.as_weak();
    api.on_toggle_language(move || {
        if let Some(app) = weak.upgrade() {
            let api = app.global::<Api>();
            if api.get_page() == Page::Person {
                keep_person_page(&app);
            }
            let english = api.get_english();
            set_language(
                &app,
                if english {
                    Language::Chinese
                } else {
                    Language::English
                },
            );
        }
    });

    let weak = app.as_weak();
    api.on_dismiss_banner(move || {
        if let Some(app) = weak.upgrade() {
            hide_banner(&app.global::<Api>());
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handle_can_cross_threads() {
        fn assert_send_sync<T: Send + Sync + Clone + 'static>() {}
        assert_send_sync::<UiHandle>();
    }

    #[test]
    fn error_reads_as_a_sentence_and_keeps_its_cause() {
        let e = UiError::new(
            "the display could not be opened",
            slint::PlatformError::Other("no DISPLAY".into()),
        );
        assert_eq!(e.to_string(), "the display could not be opened: no DISPLAY");
        assert!(std::error::Error::source(&e).is_some());
    }

    #[test]
    fn events_reach_the_latest_handler_only() {
        let events = Events::default();
        events.emit(UiEvent::ShowBoard); // no handler yet: dropped quietly
        let seen = Rc::new(RefCell::new(Vec::new()));
        let first = seen.clone();
        events.set(Rc::new(move |e| first.borrow_mut().push(("first", e))));
        events.emit(UiEvent::CancelForm);
        let second = seen.clone();
        events.set(Rc::new(move |e| second.borrow_mut().push(("second", e))));
        events.emit(UiEvent::SimulateCardTap);
        assert_eq!(
            *seen.borrow(),
            vec![
                ("first", UiEvent::CancelForm),
                ("second", UiEvent::SimulateCardTap)
            ]
        );
    }

    #[test]
    fn edit_model_writes_back_only_changed_rows() {
        use std::cell::Cell;
        struct Counting {
            inner: VecModel<i32>,
            writes: Cell<usize>,
        }
        impl Model for Counting {
            type Data = i32;
            fn row_count(&self) -> usize {
                self.inner.row_count()
            }
            fn row_data(&self, row: usize) -> Option<i32> {
                self.inner.row_data(row)
            }
            fn set_row_data(&self, row: usize, data: i32) {
                self.writes.set(self.writes.get() + 1);
                self.inner.set_row_data(row, data);
            }
            fn model_tracker(&self) -> &dyn slint::ModelTracker {
                self.inner.model_tracker()
            }
        }
        let counting = Rc::new(Counting {
            inner: VecModel::from(vec![1, 2, 3]),
            writes: Cell::new(0),
        });
        let rows = ModelRc::from(counting.clone() as Rc<dyn Model<Data = i32>>);
        let sum = edit_model(&rows, |r| {
            r[1] = 20;
            r.iter().sum::<i32>()
        });
        assert_eq!(sum, 24);
        assert_eq!(rows.iter().collect::<Vec<_>>(), vec![1, 20, 3]);
        assert_eq!(counting.writes.get(), 1);
    }
}
