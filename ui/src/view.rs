//! The plain data the firmware hands to the UI, and the events the UI hands back.
//!
//! These types know nothing about Slint; `convert` turns them into the structs declared in
//! `ui/api.slint`.

/// A user action, delivered on the UI thread to the function given to [`crate::Ui::on_event`].
#[derive(Clone, Debug, PartialEq)]
pub enum UiEvent {
    /// The operator picked a service tile on the board.
    StartService { service_id: String },
    /// A field changed (after each edit), so the firmware can re-validate live.
    FieldEdited { field_id: String, value: String },
    /// The operator pressed "扫描 Scan" on a paper.
    ScanRequested { scan_id: String },
    /// The operator pressed "提交 Submit": every field of the form with its current value,
    /// in form order. Choices carry their code, not their label. Answer with
    /// [`crate::UiHandle::set_field_errors`] (something to fix) or
    /// [`crate::UiHandle::show_review`] (all is well: the operator checks it once more).
    Submit { values: Vec<(String, String)> },
    /// The operator pressed "确认提交 Confirm and save" on the review: save the values of
    /// the last [`UiEvent::Submit`] (the form could not change in between).
    ConfirmSubmit,
    /// Nobody touched a staff page for a while: the UI is back on the villager's idle
    /// screen. An open form is set aside, not shown and not lost, until the operator is
    /// back ([`UiEvent::ResumeForm`], or a PIN accepted for the operator).
    StaffTimedOut,
    /// The operator came back (no operator PIN is set) and the form set aside at
    /// [`UiEvent::StaffTimedOut`] is on screen again.
    ResumeForm,
    /// The operator left the form without submitting. The UI is already back on the board.
    CancelForm,
    /// Demo only: the "模拟刷卡 Simulate card tap" button, shown when [`StatusView::demo`] is set.
    SimulateCardTap,
    /// The operator asked for the counter board (Back to the board, or Staff on the idle
    /// screen). The UI is already showing it.
    ShowBoard,
    /// The board's "villager screen" button. The UI is already showing the idle screen.
    ShowIdle,
    /// A PIN was typed on the sign-in page: answer with [`crate::UiHandle::pin_accepted`]
    /// or [`crate::UiHandle::pin_refused`]; the keypad waits until then.
    PinEntered { role: StaffRole, pin: String },
    /// The technician page opened (no technician PIN is set). The UI is already showing it.
    ShowTechnician,
    /// The technician pressed "运行自检 Run the self-test": answer with
    /// [`crate::UiHandle::set_checks`].
    RunSelftest,
    /// The operator confirmed the hand-over shown by [`crate::UiHandle::show_handover`];
    /// answer with [`crate::UiHandle::close_handover`].
    ConfirmHandover,
    /// The operator closed the hand-over dialog without confirming. The UI closed it.
    CancelHandover,
    /// The technician asked for a test receipt: answer with
    /// [`crate::UiHandle::test_print_done`].
    PrintTestReceipt,
    /// The operator tapped an application on the board: answer with
    /// [`crate::UiHandle::show_history`].
    OpenApplication { tracking_number: String },
}

/// One application's story, opened from the board.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryView {
    pub tracking_number: String,
    pub service_zh: String,
    pub service_en: String,
    /// The masked name (玉*罕), never the full one.
    pub masked_name: String,
    pub state: BoardState,
    pub state_zh: String,
    pub state_en: String,
    /// Why it was rejected or returned, `(zh, en)`; `None` otherwise.
    pub reason: Option<(String, String)>,
    /// Oldest first.
    pub lines: Vec<HistoryLine>,
}

/// One step of an application's story: when, and what happened in plain words.
#[derive(Clone, Debug, PartialEq)]
pub struct HistoryLine {
    pub when_zh: String,
    pub when_en: String,
    pub text_zh: String,
    pub text_en: String,
}

/// What a card holder can collect now, for the hand-over dialog on the board.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct HandoverView {
    /// The masked name (玉*罕), never the full one.
    pub masked_name: String,
    pub rows: Vec<HandoverRow>,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct HandoverRow {
    pub tracking_number: String,
    pub service_zh: String,
    pub service_en: String,
}

/// Who signs in on the PIN page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StaffRole {
    /// The counter: the board, forms, the hand-over.
    Operator,
    /// Settings and the self-test.
    Technician,
}

/// One line of the technician's self-test.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct CheckView {
    /// What was checked ("读卡器" / "Card reader").
    pub label_zh: String,
    pub label_en: String,
    pub ok: bool,
    /// What was found (already bilingual, as `kiosk selftest` prints it).
    pub detail: String,
    /// What to do when it failed; empty when it passed.
    pub action: String,
}

/// One fact about the station on the technician page.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct InfoView {
    pub label_zh: String,
    pub label_en: String,
    pub value: String,
}

/// A service the operator can start from the board.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceTile {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    pub summary_zh: String,
    pub summary_en: String,
}

/// What the status bar shows on every page.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct StatusView {
    pub station_zh: String,
    pub station_en: String,
    pub link_up: bool,
    /// Applications stored here and not yet delivered to the county.
    pub waiting: u32,
    /// How long the oldest of them has waited, in seconds.
    pub oldest_waiting_secs: Option<u64>,
    /// The upload under way: how much of it the county has, in percent.
    pub sending_percent: Option<u8>,
    /// When the county was last reached, already formatted ("今天 09:12"); empty if never.
    pub last_contact_zh: String,
    pub last_contact_en: String,
    /// Demo mode: shows the "模拟刷卡 Simulate card tap" button on the form.
    pub demo: bool,
    /// Devices that are missing or unusable, each as (Chinese, English): what happened,
    /// then what to do. Shown in a strip under the bar until cleared.
    pub faults: Vec<(String, String)>,
    /// Station matters for the staff only (no operator PIN, a doubtful clock), as
    /// (Chinese, English): in the same strip, but not on the villager's pages.
    pub staff_notes: Vec<(String, String)>,
}

/// One application on the counter board.
#[derive(Clone, Debug, PartialEq)]
pub struct BoardRow {
    pub tracking_number: String,
    pub service_zh: String,
    pub service_en: String,
    pub masked_name: String,
    /// Chooses the chip's colour and icon.
    pub state: BoardState,
    pub state_zh: String,
    pub state_en: String,
    /// Already formatted, in each language.
    pub updated_zh: String,
    pub updated_en: String,
}

/// Where an application stands; the UI picks the chip's colour and icon from it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BoardState {
    Waiting,
    Sending,
    Delivered,
    Decided,
    Rejected,
    Ready,
    HandedOver,
    Problem,
}

/// A form to fill in for one service.
#[derive(Clone, Debug, PartialEq)]
pub struct FormView {
    pub service_id: String,
    pub title_zh: String,
    pub title_en: String,
    pub sections: Vec<FormSection>,
    pub scans: Vec<ScanView>,
}

/// A titled group of fields.
#[derive(Clone, Debug, PartialEq)]
pub struct FormSection {
    pub label_zh: String,
    pub label_en: String,
    pub optional: bool,
    pub fields: Vec<FieldView>,
}

/// One input of a form.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldView {
    pub id: String,
    pub label_zh: String,
    pub label_en: String,
    pub help_zh: String,
    pub help_en: String,
    pub kind: FieldKindView,
    pub required: bool,
    /// The current value; for a choice, the option's code.
    pub value: String,
}

/// How a field is entered.
#[derive(Clone, Debug, PartialEq)]
pub enum FieldKindView {
    Text,
    Number,
    /// The value is `YYYY-MM-DD`; the empty field shows that as a hint.
    Date,
    Phone,
    IdNumber,
    /// `(code, label shown)` pairs. Up to four options are shown as buttons side by side,
    /// more open a picker.
    Choice(Vec<(String, String)>),
}

/// A paper to scan for the application.
#[derive(Clone, Debug, PartialEq)]
pub struct ScanView {
    pub id: String,
    pub label_zh: String,
    pub label_en: String,
    pub required: bool,
    pub captured: bool,
}

/// A small picture for the screen (a scan's thumbnail): 8-bit RGB, row by row.
#[derive(Clone, PartialEq, Eq)]
pub struct Picture {
    pub width: u32,
    pub height: u32,
    /// `width * height * 3` bytes; anything else is not shown.
    pub rgb: Vec<u8>,
}

impl std::fmt::Debug for Picture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Picture({}x{})", self.width, self.height)
    }
}

/// A problem with one field (or, with `field_id` = `"scans.<id>"`, with one paper).
/// An id that matches nothing on the form is shown above the fields.
#[derive(Clone, Debug, PartialEq)]
pub struct FieldErrorView {
    pub field_id: String,
    pub message_zh: String,
    pub message_en: String,
}

/// What the confirmation page shows after a submit.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiptView {
    pub tracking_number: String,
    pub service_zh: String,
    pub service_en: String,
    pub note_zh: String,
    pub note_en: String,
}

/// The tone of a banner message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageKind {
    Info,
    Warning,
    Error,
}

/// The language on screen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Language {
    /// Simplified Chinese, the default.
    #[default]
    Chinese,
    English,
}

/// A notice the county sent to the station, shown on the idle screen.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct NoticeView {
    pub title_zh: String,
    pub title_en: String,
    pub body_zh: String,
    pub body_en: String,
    /// Already formatted.
    pub published: String,
}

/// One service in the idle screen's guide.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct GuideView {
    pub id: String,
    pub title_zh: String,
    pub title_en: String,
    /// What the service is.
    pub what_zh: String,
    pub what_en: String,
    /// Who may apply.
    pub who_zh: String,
    pub who_en: String,
    /// The papers to bring, `(zh, en)` each.
    pub papers: Vec<(String, String)>,
}

/// One application of the person whose card was tapped on the idle screen.
#[derive(Clone, Debug, PartialEq)]
pub struct PersonRow {
    pub tracking_number: String,
    pub service_zh: String,
    pub service_en: String,
    /// Chooses the icon and colour.
    pub state: BoardState,
    /// Where it stands, in plain words ("已批准，请到服务站领取").
    pub words_zh: String,
    pub words_en: String,
    /// Already formatted, in each language.
    pub updated_zh: String,
    pub updated_en: String,
}
