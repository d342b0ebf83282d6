//! Pure conversions between the firmware's view types and the structs of `ui/api.slint`.
//!
//! Everything the screen says that depends on data (counts, fallbacks, which options a choice
//! shows, which error goes where) is decided here, so it can be tested without a window.

use std::time::Duration;

use slint::{Model, ModelRc, SharedString, VecModel};

use crate::generated as g;
use crate::view::{
    BoardRow, BoardState, CheckView, FieldErrorView, FieldKindView, FormView, GuideView,
    HistoryView, InfoView, MessageKind, NoticeView, PersonRow, Picture, ReceiptView, ScanView,
    ServiceTile, StatusView, UiEvent,
};

fn texts(items: &[(String, String)]) -> ModelRc<g::ErrorText> {
    ModelRc::new(VecModel::from(
        items
            .iter()
            .map(|(zh, en)| g::ErrorText {
                zh: s(zh),
                en: s(en),
            })
            .collect::<Vec<_>>(),
    ))
}

/// The longest PIN the keypad takes.
pub(crate) const PIN_MAX_DIGITS: usize = 8;

/// Failures first (what the technician came for), otherwise in the order given.
pub(crate) fn checks(items: &[CheckView]) -> Vec<g::CheckData> {
    let mut sorted: Vec<&CheckView> = items.iter().collect();
    sorted.sort_by_key(|c| c.ok);
    sorted
        .into_iter()
        .map(|c| g::CheckData {
            label_zh: s(&c.label_zh),
            label_en: s(&c.label_en),
            ok: c.ok,
            detail: s(&c.detail),
            action: s(&c.action),
        })
        .collect()
}

pub(crate) fn station_info(items: &[InfoView]) -> Vec<g::InfoData> {
    items
        .iter()
        .map(|i| g::InfoData {
            label_zh: s(&i.label_zh),
            label_en: s(&i.label_en),
            value: s(&i.value),
        })
        .collect()
}

/// Choices with at most this many options are shown as buttons side by side.
const INLINE_CHOICES: usize = 4;

/// How long a banner stays up: errors longer, so a slow reader can finish.
pub(crate) fn banner_duration(kind: MessageKind) -> Duration {
    match kind {
        MessageKind::Info => Duration::from_secs(4),
        MessageKind::Warning => Duration::from_secs(7),
        MessageKind::Error => Duration::from_secs(10),
    }
}

/// The person page goes back to the idle screen after this long without a touch: long
/// enough to read slowly, short enough that the next villager does not find it.
pub(crate) const PERSON_TIMEOUT: Duration = Duration::from_secs(45);

/// A staff page (the board, a form, the technician's, the PIN keypad) goes back to the
/// villager's idle screen after this long without a touch: an operator called away leaves
/// no board or half-filled form for the next person at the counter. A form is kept, not
/// lost (see [`crate::UiEvent::StaffTimedOut`]).
pub(crate) const STAFF_TIMEOUT: Duration = Duration::from_secs(180);

/// A thumbnail as a Slint image; `None` when its bytes do not match its size.
pub(crate) fn picture(p: &Picture) -> Option<slint::Image> {
    let expected = (p.width as usize)
        .checked_mul(p.height as usize)?
        .checked_mul(3)?;
    if p.width == 0 || p.height == 0 || p.rgb.len() != expected {
        return None;
    }
    let buffer =
        slint::SharedPixelBuffer::<slint::Rgb8Pixel>::clone_from_slice(&p.rgb, p.width, p.height);
    Some(slint::Image::from_rgb8(buffer))
}

/// The review before saving: each section with its filled fields as shown on the form (a
/// choice by its label), and an optional section left wholly empty left out.
pub(crate) fn review_items(rows: &[g::FormRow]) -> Vec<g::ReviewItem> {
    let mut items = Vec::new();
    // The open section's heading and whether it may be left empty, then its fields.
    let mut section: Option<(g::ReviewItem, bool)> = None;
    let mut fields: Vec<g::ReviewItem> = Vec::new();
    for row in rows {
        match row.kind {
            g::RowKind::Section => {
                push_section(&mut items, section.take(), &mut fields);
                section = Some((
                    g::ReviewItem {
                        section: true,
                        label_zh: row.label_zh.clone(),
                        label_en: row.label_en.clone(),
                        value: SharedString::default(),
                    },
                    row.optional,
                ));
            }
            g::RowKind::Field => fields.push(g::ReviewItem {
                section: false,
                label_zh: row.label_zh.clone(),
                label_en: row.label_en.clone(),
                value: shown_value(row),
            }),
        }
    }
    push_section(&mut items, section, &mut fields);
    items
}

fn push_section(
    items: &mut Vec<g::ReviewItem>,
    section: Option<(g::ReviewItem, bool)>,
    fields: &mut Vec<g::ReviewItem>,
) {
    let empty = fields.iter().all(|f| f.value.is_empty());
    match section {
        // An optional section nobody filled: nothing to check.
        Some((_, true)) if empty => fields.clear(),
        Some((heading, _)) => {
            if !heading.label_zh.is_empty() || !heading.label_en.is_empty() {
                items.push(heading);
            }
            items.append(fields);
        }
        None => items.append(fields),
    }
}

/// A field's value as the form shows it: a choice's label, anything else as typed.
fn shown_value(row: &g::FormRow) -> SharedString {
    if row.input == g::InputKind::Choice {
        usize::try_from(row.choice_index)
            .ok()
            .and_then(|i| row.choice_labels.row_data(i))
            .unwrap_or_default()
    } else {
        row.value.trim().into()
    }
}

pub(crate) fn notices(items: &[NoticeView]) -> Vec<g::NoticeData> {
    items
        .iter()
        .map(|n| g::NoticeData {
            title_zh: s(&n.title_zh),
            title_en: s(&n.title_en),
            body_zh: s(&n.body_zh),
            body_en: s(&n.body_en),
            published: s(&n.published),
        })
        .collect()
}

pub(crate) fn guide(items: &[GuideView]) -> Vec<g::GuideData> {
    items
        .iter()
        .map(|e| g::GuideData {
            id: s(&e.id),
            title_zh: s(&e.title_zh),
            title_en: s(&e.title_en),
            what_zh: s(&e.what_zh),
            what_en: s(&e.what_en),
            who_zh: s(&e.who_zh),
            who_en: s(&e.who_en),
            papers_zh: strings(e.papers.iter().map(|(zh, _)| zh.clone())),
            papers_en: strings(e.papers.iter().map(|(_, en)| en.clone())),
        })
        .collect()
}

pub(crate) fn person_rows(rows: &[PersonRow]) -> Vec<g::PersonRowData> {
    rows.iter()
        .map(|r| g::PersonRowData {
            tracking_number: s(&r.tracking_number),
            service_zh: s(&r.service_zh),
            service_en: s(&r.service_en),
            state: row_state(r.state),
            words_zh: s(&r.words_zh),
            words_en: s(&r.words_en),
            updated_zh: s(&r.updated_zh),
            updated_en: s(&r.updated_en),
        })
        .collect()
}

/// After this long without an answer from the firmware, Submit can be pressed again.
pub(crate) const SUBMIT_GUARD: Duration = Duration::from_secs(8);

/// The prefix of error ids that point at a paper instead of a field.
const SCAN_ERROR_PREFIX: &str = "scans.";

fn s(text: &str) -> SharedString {
    SharedString::from(text)
}

fn strings(items: impl IntoIterator<Item = String>) -> ModelRc<SharedString> {
    ModelRc::new(VecModel::from(
        items
            .into_iter()
            .map(SharedString::from)
            .collect::<Vec<_>>(),
    ))
}

pub(crate) fn service_tiles(services: &[ServiceTile]) -> Vec<g::ServiceTileData> {
    services
        .iter()
        .map(|t| g::ServiceTileData {
            id: s(&t.id),
            title_zh: s(&t.title_zh),
            title_en: s(&t.title_en),
            summary_zh: s(&t.summary_zh),
            summary_en: s(&t.summary_en),
        })
        .collect()
}

/// How long something has waited, roughly: minutes, hours, then days.
fn age(secs: u64) -> (String, String) {
    let minutes = secs / 60;
    match minutes {
        0..=59 => (format!("{minutes} 分钟"), format!("{minutes} min")),
        60..=2879 => (
            format!("{} 小时", minutes / 60),
            format!("{} h", minutes / 60),
        ),
        _ => {
            let days = minutes / 1440;
            (format!("{days} 天"), format!("{days} days"))
        }
    }
}

pub(crate) fn status(v: &StatusView) -> g::StatusData {
    let (station_zh, station_en) = if v.station_zh.is_empty() && v.station_en.is_empty() {
        (
            "为民服务站".to_owned(),
            "Village service station".to_owned(),
        )
    } else {
        (v.station_zh.clone(), v.station_en.clone())
    };
    // Under a minute the age says nothing the count does not.
    let oldest = v.oldest_waiting_secs.filter(|&s| s >= 60).map(age);
    let (waiting_zh, waiting_en) = match (v.waiting, oldest) {
        (0, _) => (
            "全部已发送".to_owned(),
            "Nothing waiting to send".to_owned(),
        ),
        (n, Some((zh, en))) => (
            format!("待发送 {n} 份（最早 {zh}前）"),
            format!("{n} waiting to send, oldest {en}"),
        ),
        (n, None) => (format!("待发送 {n} 份"), format!("{n} waiting to send")),
    };
    let (contact_zh, contact_en) = if let Some(p) = v.sending_percent {
        (
            format!("正在发送，已完成 {}%", p.min(100)),
            format!("Sending: {}% done", p.min(100)),
        )
    } else if v.last_contact_zh.is_empty() && v.last_contact_en.is_empty() {
        (
            "尚未联系县平台".to_owned(),
            "No contact with the county yet".to_owned(),
        )
    } else {
        (
            format!("上次联系 {}", v.last_contact_zh),
            format!("Last contact {}", v.last_contact_en),
        )
    };
    g::StatusData {
        station_zh: station_zh.into(),
        station_en: station_en.into(),
        link_up: v.link_up,
        waiting_zh: waiting_zh.into(),
        waiting_en: waiting_en.into(),
        waiting_attention: v.waiting > 0,
        contact_zh: contact_zh.into(),
        contact_en: contact_en.into(),
        demo: v.demo,
        faults: texts(&v.faults),
        staff_notes: texts(&v.staff_notes),
    }
}

pub(crate) fn row_state(state: BoardState) -> g::RowState {
    match state {
        BoardState::Waiting => g::RowState::Waiting,
        BoardState::Sending => g::RowState::Sending,
        BoardState::Delivered => g::RowState::Delivered,
        BoardState::Decided => g::RowState::Decided,
        BoardState::Rejected => g::RowState::Rejected,
        BoardState::Ready => g::RowState::Ready,
        BoardState::HandedOver => g::RowState::HandedOver,
        BoardState::Problem => g::RowState::Problem,
    }
}

pub(crate) fn board_rows(rows: &[BoardRow]) -> Vec<g::BoardRowData> {
    rows.iter()
        .map(|r| g::BoardRowData {
            tracking_number: s(&r.tracking_number),
            service_zh: s(&r.service_zh),
            service_en: s(&r.service_en),
            masked_name: s(&r.masked_name),
            state: row_state(r.state),
            state_zh: s(&r.state_zh),
            state_en: s(&r.state_en),
            updated_zh: s(&r.updated_zh),
            updated_en: s(&r.updated_en),
        })
        .collect()
}

/// Flattens the sections into one list of rows: a heading row per titled section, then its
/// fields.
pub(crate) fn form_rows(form: &FormView) -> Vec<g::FormRow> {
    let mut rows = Vec::new();
    for section in &form.sections {
        if !section.label_zh.is_empty() || !section.label_en.is_empty() {
            rows.push(g::FormRow {
                kind: g::RowKind::Section,
                id: SharedString::default(),
                label_zh: s(&section.label_zh),
                label_en: s(&section.label_en),
                optional: section.optional,
                ..Default::default()
            });
        }
        for field in &section.fields {
            let (input, placeholder) = match &field.kind {
                FieldKindView::Text => (g::InputKind::Text, ""),
                FieldKindView::Number => (g::InputKind::Number, ""),
                FieldKindView::Date => (g::InputKind::Date, "YYYY-MM-DD"),
                FieldKindView::Phone => (g::InputKind::Phone, ""),
                FieldKindView::IdNumber => (g::InputKind::IdNumber, ""),
                FieldKindView::Choice(_) => (g::InputKind::Choice, ""),
            };
            let options: &[(String, String)] = match &field.kind {
                FieldKindView::Choice(options) => options,
                _ => &[],
            };
            let choice_index = options
                .iter()
                .position(|(code, _)| *code == field.value)
                .map_or(-1, index_i32);
            rows.push(g::FormRow {
                kind: g::RowKind::Field,
                id: s(&field.id),
                label_zh: s(&field.label_zh),
                label_en: s(&field.label_en),
                help_zh: s(&field.help_zh),
                help_en: s(&field.help_en),
                optional: false,
                input,
                required: field.required,
                placeholder: s(placeholder),
                value: s(&field.value),
                choice_labels: strings(options.iter().map(|(_, label)| label.clone())),
                choice_codes: strings(options.iter().map(|(code, _)| code.clone())),
                choice_index,
                inline_choice: !options.is_empty() && options.len() <= INLINE_CHOICES,
                error_zh: SharedString::default(),
                error_en: SharedString::default(),
            });
        }
    }
    rows
}

fn index_i32(index: usize) -> i32 {
    i32::try_from(index).unwrap_or(-1)
}

pub(crate) fn scan_rows(scans: &[ScanView]) -> Vec<g::ScanRow> {
    scans
        .iter()
        .map(|sc| g::ScanRow {
            id: s(&sc.id),
            label_zh: s(&sc.label_zh),
            label_en: s(&sc.label_en),
            required: sc.required,
            captured: sc.captured,
            ..Default::default()
        })
        .collect()
}

/// The board's filters, in this order: all, then each group of states. A group is a chip
/// even when empty (the count says so), except "needs attention", shown only when it has
/// something.
const FILTERS: [(&str, &str, g::RowState, &[g::RowState]); 7] = [
    (
        "待发送",
        "Waiting",
        g::RowState::Waiting,
        &[g::RowState::Waiting, g::RowState::Sending],
    ),
    (
        "已送达",
        "Sent",
        g::RowState::Delivered,
        &[g::RowState::Delivered],
    ),
    (
        "已批准",
        "Approved",
        g::RowState::Decided,
        &[g::RowState::Decided],
    ),
    (
        "未批准",
        "Rejected",
        g::RowState::Rejected,
        &[g::RowState::Rejected],
    ),
    ("可领取", "Ready", g::RowState::Ready, &[g::RowState::Ready]),
    (
        "已领取",
        "Collected",
        g::RowState::HandedOver,
        &[g::RowState::HandedOver],
    ),
    (
        "需处理",
        "Attention",
        g::RowState::Problem,
        &[g::RowState::Problem],
    ),
];

/// The filter chips with their counts over every row the board holds.
pub(crate) fn board_filters(rows: &[g::BoardRowData]) -> Vec<g::BoardFilterData> {
    let all = g::BoardFilterData {
        label_zh: "全部".into(),
        label_en: "All".into(),
        count: count(rows.len()),
        state: g::RowState::Waiting,
        all: true,
    };
    std::iter::once(all)
        .chain(FILTERS.iter().filter_map(|(zh, en, state, members)| {
            let n = rows.iter().filter(|r| members.contains(&r.state)).count();
            (n > 0 || *state != g::RowState::Problem).then(|| g::BoardFilterData {
                label_zh: (*zh).into(),
                label_en: (*en).into(),
                count: count(n),
                state: *state,
                all: false,
            })
        }))
        .collect()
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// The rows the chosen filter shows (all of them for the first filter or one that no
/// longer exists).
pub(crate) fn filter_rows(
    rows: &[g::BoardRowData],
    filters: &[g::BoardFilterData],
    index: i32,
) -> Vec<g::BoardRowData> {
    let chosen = usize::try_from(index)
        .ok()
        .and_then(|i| filters.get(i))
        .filter(|f| !f.all);
    match chosen.and_then(|f| FILTERS.iter().find(|(_, _, state, _)| *state == f.state)) {
        Some((_, _, _, members)) => rows
            .iter()
            .filter(|r| members.contains(&r.state))
            .cloned()
            .collect(),
        None => rows.to_vec(),
    }
}

pub(crate) fn history(v: &HistoryView) -> (g::HistoryData, Vec<g::HistoryLineData>) {
    let (reason_zh, reason_en) = v.reason.clone().unwrap_or_default();
    (
        g::HistoryData {
            tracking_number: s(&v.tracking_number),
            service_zh: s(&v.service_zh),
            service_en: s(&v.service_en),
            masked_name: s(&v.masked_name),
            state: row_state(v.state),
            state_zh: s(&v.state_zh),
            state_en: s(&v.state_en),
            reason_zh: reason_zh.into(),
            reason_en: reason_en.into(),
        },
        v.lines
            .iter()
            .map(|l| g::HistoryLineData {
                when_zh: s(&l.when_zh),
                when_en: s(&l.when_en),
                text_zh: s(&l.text_zh),
                text_en: s(&l.text_en),
            })
            .collect(),
    )
}

pub(crate) fn receipt(r: &ReceiptView) -> g::ReceiptData {
    g::ReceiptData {
        tracking_number: s(&r.tracking_number),
        service_zh: s(&r.service_zh),
        service_en: s(&r.service_en),
        note_zh: s(&r.note_zh),
        note_en: s(&r.note_en),
    }
}

pub(crate) fn banner(zh: &str, en: &str, kind: MessageKind) -> g::BannerData {
    g::BannerData {
        visible: true,
        kind: match kind {
            MessageKind::Info => g::BannerKind::Info,
            MessageKind::Warning => g::BannerKind::Warning,
            MessageKind::Error => g::BannerKind::Error,
        },
        zh: s(zh),
        en: s(en),
    }
}

fn is_field(row: &g::FormRow, id: &str) -> bool {
    row.kind == g::RowKind::Field && row.id == id
}

fn set_if_changed(slot: &mut SharedString, value: &str) -> bool {
    if slot.as_str() == value {
        false
    } else {
        *slot = s(value);
        true
    }
}

/// Sets field values by id, as a card tap does. A choice takes the option's code (or, failing
/// that, its label); a value that is neither is ignored, as are unknown ids.
/// Returns whether anything changed.
pub(crate) fn fill_fields(rows: &mut [g::FormRow], values: &[(String, String)]) -> bool {
    let mut changed = false;
    for (id, value) in values {
        let Some(row) = rows.iter_mut().find(|r| is_field(r, id)) else {
            continue;
        };
        if row.input == g::InputKind::Choice {
            let by_code = row.choice_codes.iter().position(|c| c == value.as_str());
            let by_label = || row.choice_labels.iter().position(|l| l == value.as_str());
            let Some(index) = by_code.or_else(by_label) else {
                continue;
            };
            let code = row.choice_codes.row_data(index).unwrap_or_default();
            changed |= set_if_changed(&mut row.value, &code);
            let index = index_i32(index);
            if row.choice_index != index {
                row.choice_index = index;
                changed = true;
            }
        } else {
            changed |= set_if_changed(&mut row.value, value);
        }
    }
    changed
}

/// The operator typed into a field. Keeps the row's value in step and says what to report.
pub(crate) fn edit_field(rows: &mut [g::FormRow], id: &str, text: &str) -> Option<UiEvent> {
    let row = rows.iter_mut().find(|r| is_field(r, id))?;
    set_if_changed(&mut row.value, text);
    Some(UiEvent::FieldEdited {
        field_id: id.to_owned(),
        value: text.to_owned(),
    })
}

/// The longest value the on-screen keypad types (an ID number has 18 characters).
const KEYPAD_MAX_CHARS: usize = 64;

/// A key of the on-screen keypad on field `id`: a character is appended, "delete" removes
/// the last, "clear" empties it. The field's new value and the event, as for a typed edit.
pub(crate) fn keypad_key(
    rows: &mut [g::FormRow],
    id: &str,
    key: &str,
) -> Option<(String, UiEvent)> {
    let row = rows.iter_mut().find(|r| is_field(r, id))?;
    let mut value = row.value.to_string();
    match key {
        "delete" => {
            value.pop();
        }
        "clear" => value.clear(),
        k if k.chars().count() == 1 && value.chars().count() < KEYPAD_MAX_CHARS => {
            value.push_str(k)
        }
        _ => return None,
    }
    let event = edit_field(rows, id, &value)?;
    Some((value, event))
}

/// The operator picked option `index` of a choice: the value becomes the option's code.
pub(crate) fn choose(rows: &mut [g::FormRow], id: &str, index: i32) -> Option<UiEvent> {
    let row = rows.iter_mut().find(|r| is_field(r, id))?;
    let code = row.choice_codes.row_data(usize::try_from(index).ok()?)?;
    row.choice_index = index;
    set_if_changed(&mut row.value, &code);
    Some(UiEvent::FieldEdited {
        field_id: id.to_owned(),
        value: code.into(),
    })
}

/// Every field's id and current value, in form order.
pub(crate) fn form_values(rows: &[g::FormRow]) -> Vec<(String, String)> {
    rows.iter()
        .filter(|r| r.kind == g::RowKind::Field)
        .map(|r| (r.id.to_string(), r.value.to_string()))
        .collect()
}

/// Where a set of errors landed.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct ErrorPlacement {
    /// Errors whose id matches no field or paper; shown above the fields.
    pub general: Vec<g::ErrorText>,
    /// How many errors there are in all.
    pub count: usize,
}

/// Replaces all errors on the form: clears the old ones, puts each new one under its field or
/// paper (the first message wins when one id has several), collects the rest.
pub(crate) fn place_errors(
    rows: &mut [g::FormRow],
    scans: &mut [g::ScanRow],
    errors: &[FieldErrorView],
) -> ErrorPlacement {
    for row in rows.iter_mut() {
        row.error_zh = SharedString::default();
        row.error_en = SharedString::default();
    }
    for scan in scans.iter_mut() {
        scan.error_zh = SharedString::default();
        scan.error_en = SharedString::default();
    }
    let mut placement = ErrorPlacement {
        count: errors.len(),
        ..Default::default()
    };
    for error in errors {
        let slot = match error.field_id.strip_prefix(SCAN_ERROR_PREFIX) {
            Some(scan_id) => scans
                .iter_mut()
                .find(|sc| sc.id == scan_id)
                .map(|sc| (&mut sc.error_zh, &mut sc.error_en)),
            None => None,
        }
        .or_else(|| {
            rows.iter_mut()
                .find(|r| is_field(r, &error.field_id))
                .map(|r| (&mut r.error_zh, &mut r.error_en))
        });
        match slot {
            Some((zh, en)) if zh.is_empty() && en.is_empty() => {
                *zh = s(&error.message_zh);
                *en = s(&error.message_en);
            }
            Some(_) => {}
            None => placement.general.push(g::ErrorText {
                zh: s(&error.message_zh),
                en: s(&error.message_en),
            }),
        }
    }
    placement
}

/// The line beside Submit: how many things still need fixing.
pub(crate) fn error_summary(count: usize) -> (String, String) {
    match count {
        0 => (String::new(), String::new()),
        1 => ("有 1 处需要修改".to_owned(), "1 item to fix".to_owned()),
        n => (format!("有 {n} 处需要修改"), format!("{n} items to fix")),
    }
}

/// Marks a paper as scanned or not and sets (or clears) its note. A fresh scan also clears
/// the paper's error. Returns whether the paper exists.
pub(crate) fn set_scan_state(
    scans: &mut [g::ScanRow],
    id: &str,
    captured: bool,
    note: Option<(&str, &str)>,
) -> bool {
    let Some(scan) = scans.iter_mut().find(|sc| sc.id == id) else {
        return false;
    };
    if captured && !scan.captured {
        scan.error_zh = SharedString::default();
        scan.error_en = SharedString::default();
    }
    scan.captured = captured;
    let (zh, en) = note.unwrap_or(("", ""));
    scan.note_zh = s(zh);
    scan.note_en = s(en);
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::view::{FieldView, FormSection};

    fn field(id: &str, kind: FieldKindView, value: &str) -> FieldView {
        FieldView {
            id: id.into(),
            label_zh: format!("{id} 中文"),
            label_en: format!("{id} en"),
            help_zh: String::new(),
            help_en: String::new(),
            kind,
            required: true,
            value: value.into(),
        }
    }

    fn choice(n: usize) -> FieldKindView {
        FieldKindView::Choice(
            (1..=n)
                .map(|i| (format!("{i:02}"), format!("选项{i} Option {i}")))
                .collect(),
        )
    }

    fn form() -> FormView {
        FormView {
            service_id: "birth-permit".into(),
            title_zh: "生育登记".into(),
            title_en: "Birth registration".into(),
            sections: vec![
                FormSection {
                    label_zh: "母亲".into(),
                    label_en: "Mother".into(),
                    optional: false,
                    fields: vec![
                        field("mother.name", FieldKindView::Text, ""),
                        field("mother.gender", choice(2), "02"),
                        field("mother.ethnicity", choice(56), ""),
                        field("mother.birth", FieldKindView::Date, ""),
                    ],
                },
                FormSection {
                    label_zh: String::new(),
                    label_en: String::new(),
                    optional: true,
                    fields: vec![field("sms", FieldKindView::Phone, "13800000000")],
                },
            ],
            scans: vec![
                ScanView {
                    id: "mother-id".into(),
                    label_zh: "母亲身份证".into(),
                    label_en: "Mother's ID card".into(),
                    required: true,
                    captured: false,
                },
                ScanView {
                    id: "photo".into(),
                    label_zh: "照片".into(),
                    label_en: "Photo".into(),
                    required: false,
                    captured: true,
                },
            ],
        }
    }

    fn row<'a>(rows: &'a [g::FormRow], id: &str) -> &'a g::FormRow {
        rows.iter().find(|r| is_field(r, id)).expect("row exists")
    }

    fn err(id: &str, zh: &str) -> FieldErrorView {
        FieldErrorView {
            field_id: id.into(),
            message_zh: zh.into(),
            message_en: format!("{zh} (en)"),
        }
    }

    #[test]
    fn form_is_flattened_with_a_heading_per_titled_section() {
        let rows = form_rows(&form());
        let shape: Vec<(g::RowKind, &str)> = rows.iter().map(|r| (r.kind, r.id.as_str())).collect();
        assert_eq!(
            shape,
            vec![
                (g::RowKind::Section, ""),
                (g::RowKind::Field, "mother.name"),
                (g::RowKind::Field, "mother.gender"),
                (g::RowKind::Field, "mother.ethnicity"),
                (g::RowKind::Field, "mother.birth"),
                // The untitled section gets no heading.
                (g::RowKind::Field, "sms"),
            ]
        );
        assert_eq!(rows[0].label_zh, "母亲");
    }

    #[test]
    fn field_kinds_map_to_inputs_and_hints() {
        let rows = form_rows(&form());
        let date = row(&rows, "mother.birth");
        assert_eq!(date.input, g::InputKind::Date);
        assert_eq!(date.placeholder, "YYYY-MM-DD");
        assert_eq!(row(&rows, "sms").input, g::InputKind::Phone);
        assert_eq!(row(&rows, "sms").placeholder, "");
        assert_eq!(row(&rows, "sms").value, "13800000000");
    }

    #[test]
    fn choices_show_labels_keep_codes_and_select_the_current_value() {
        let rows = form_rows(&form());
        let gender = row(&rows, "mother.gender");
        assert_eq!(gender.input, g::InputKind::Choice);
        assert_eq!(gender.choice_index, 1);
        assert_eq!(gender.choice_labels.row_data(1).unwrap(), "选项2 Option 2");
        assert_eq!(gender.choice_codes.row_data(1).unwrap(), "02");
        assert!(gender.inline_choice, "two options sit side by side");
        let ethnicity = row(&rows, "mother.ethnicity");
        assert_eq!(ethnicity.choice_index, -1, "nothing chosen yet");
        assert!(!ethnicity.inline_choice, "56 options open a picker");
        assert!(!row(&rows, "mother.name").inline_choice);
    }

    #[test]
    fn fill_sets_known_fields_and_ignores_the_rest() {
        let mut rows = form_rows(&form());
        let changed = fill_fields(
            &mut rows,
            &[
                ("mother.name".into(), "玉罕".into()),
                ("mother.ethnicity".into(), "17".into()),
                ("no.such.field".into(), "x".into()),
                ("mother.gender".into(), "not a code".into()),
            ],
        );
        assert!(changed);
        assert_eq!(row(&rows, "mother.name").value, "玉罕");
        let ethnicity = row(&rows, "mother.ethnicity");
        assert_eq!(
            (ethnicity.value.as_str(), ethnicity.choice_index),
            ("17", 16)
        );
        let gender = row(&rows, "mother.gender");
        assert_eq!((gender.value.as_str(), gender.choice_index), ("02", 1));
        assert!(!fill_fields(
            &mut rows,
            &[("mother.name".into(), "玉罕".into())]
        ));
    }

    #[test]
    fn fill_accepts_a_choice_label_when_no_code_matches() {
        let mut rows = form_rows(&form());
        fill_fields(
            &mut rows,
            &[("mother.gender".into(), "选项1 Option 1".into())],
        );
        let gender = row(&rows, "mother.gender");
        assert_eq!((gender.value.as_str(), gender.choice_index), ("01", 0));
    }

    #[test]
    fn edits_and_choices_become_field_events_with_codes() {
        let mut rows = form_rows(&form());
        assert_eq!(
            edit_field(&mut rows, "mother.name", "岩"),
            Some(UiEvent::FieldEdited {
                field_id: "mother.name".into(),
                value: "岩".into()
            })
        );
        assert_eq!(row(&rows, "mother.name").value, "岩");
        assert_eq!(
            choose(&mut rows, "mother.ethnicity", 2),
            Some(UiEvent::FieldEdited {
                field_id: "mother.ethnicity".into(),
                value: "03".into()
            })
        );
        assert_eq!(row(&rows, "mother.ethnicity").choice_index, 2);
        assert_eq!(choose(&mut rows, "mother.ethnicity", 99), None);
        assert_eq!(choose(&mut rows, "mother.ethnicity", -1), None);
        assert_eq!(edit_field(&mut rows, "nope", "x"), None);
    }

    #[test]
    fn the_review_shows_labels_not_codes_and_leaves_out_an_empty_optional_section() {
        let mut view = form();
        view.sections.push(FormSection {
            label_zh: "其他".into(),
            label_en: "Other".into(),
            optional: true,
            fields: vec![field("due", FieldKindView::Date, "")],
        });
        let mut rows = form_rows(&view);
        choose(&mut rows, "mother.ethnicity", 0);
        edit_field(&mut rows, "mother.name", "  玉罕 ");
        let items: Vec<(bool, String, String)> = review_items(&rows)
            .into_iter()
            .map(|i| (i.section, i.label_zh.to_string(), i.value.to_string()))
            .collect();
        let shown = |label: &str| {
            items
                .iter()
                .find(|(section, l, _)| !section && l == &format!("{label} 中文"))
                .map(|(_, _, v)| v.clone())
        };
        assert_eq!(shown("mother.name").as_deref(), Some("玉罕"));
        assert_eq!(shown("mother.gender").as_deref(), Some("选项2 Option 2"));
        assert_eq!(shown("mother.ethnicity").as_deref(), Some("选项1 Option 1"));
        assert_eq!(shown("sms").as_deref(), Some("13800000000"));
        assert_eq!(
            shown("mother.birth").as_deref(),
            Some(""),
            "empty stays empty"
        );
        assert!(items.iter().any(|(section, l, _)| *section && l == "母亲"));
        assert!(
            !items.iter().any(|(section, l, _)| *section && l.is_empty()),
            "no heading without a title: {items:?}"
        );
        assert!(shown("due").is_none(), "{items:?}");
        assert!(!items.iter().any(|(_, l, _)| l == "其他"), "{items:?}");
        // Once something is in it, the optional section is reviewed too.
        edit_field(&mut rows, "due", "2027-01-05");
        assert!(
            review_items(&rows)
                .iter()
                .any(|i| i.section && i.label_zh == "其他")
        );
    }

    #[test]
    fn board_filters_count_groups_and_show_attention_only_when_needed() {
        let row = |n: u32, state: BoardState| BoardRow {
            tracking_number: format!("T-{n}"),
            service_zh: String::new(),
            service_en: String::new(),
            masked_name: String::new(),
            state,
            state_zh: String::new(),
            state_en: String::new(),
            updated_zh: String::new(),
            updated_en: String::new(),
        };
        let rows = board_rows(&[
            row(1, BoardState::Waiting),
            row(2, BoardState::Sending),
            row(3, BoardState::Ready),
        ]);
        let filters = board_filters(&rows);
        let counts: Vec<(String, i32)> = filters
            .iter()
            .map(|f| (f.label_en.to_string(), f.count))
            .collect();
        assert_eq!(
            counts,
            [
                ("All".to_string(), 3),
                ("Waiting".to_string(), 2),
                ("Sent".to_string(), 0),
                ("Approved".to_string(), 0),
                ("Rejected".to_string(), 0),
                ("Ready".to_string(), 1),
                ("Collected".to_string(), 0),
            ]
        );
        let shown = |i: i32| -> Vec<String> {
            filter_rows(&rows, &filters, i)
                .iter()
                .map(|r| r.tracking_number.to_string())
                .collect()
        };
        assert_eq!(shown(1), ["T-1", "T-2"], "sending counts as waiting");
        assert_eq!(shown(5), ["T-3"]);
        assert_eq!(shown(0), ["T-1", "T-2", "T-3"]);
        assert_eq!(shown(99), ["T-1", "T-2", "T-3"], "a filter gone shows all");
        let with_problem = board_rows(&[row(4, BoardState::Problem)]);
        let filters = board_filters(&with_problem);
        assert_eq!(
            filters.last().map(|f| f.label_en.as_str()),
            Some("Attention")
        );
        assert_eq!(filter_rows(&with_problem, &filters, 7).len(), 1);
    }

    #[test]
    fn a_picture_must_match_its_size() {
        let good = Picture {
            width: 2,
            height: 1,
            rgb: vec![1, 2, 3, 4, 5, 6],
        };
        assert!(picture(&good).is_some());
        for (width, height, len) in [(2, 1, 5), (0, 0, 0), (u32::MAX, u32::MAX, 3)] {
            let bad = Picture {
                width,
                height,
                rgb: vec![0; len],
            };
            assert!(picture(&bad).is_none(), "{width}x{height} with {len} bytes");
        }
    }

    #[test]
    fn submit_values_are_every_field_in_order() {
        let mut rows = form_rows(&form());
        choose(&mut rows, "mother.ethnicity", 0);
        assert_eq!(
            form_values(&rows),
            vec![
                ("mother.name".to_owned(), String::new()),
                ("mother.gender".to_owned(), "02".to_owned()),
                ("mother.ethnicity".to_owned(), "01".to_owned()),
                ("mother.birth".to_owned(), String::new()),
                ("sms".to_owned(), "13800000000".to_owned()),
            ]
        );
    }

    #[test]
    fn errors_go_under_their_field_or_paper_and_the_rest_on_top() {
        let mut rows = form_rows(&form());
        let mut scans = scan_rows(&form().scans);
        let placed = place_errors(
            &mut rows,
            &mut scans,
            &[
                err("mother.name", "请填写姓名"),
                err("mother.name", "second message for the same field"),
                err("scans.mother-id", "请扫描"),
                err("", "母亲结婚时未满 20 周岁"),
                err("scans.unknown", "未知材料"),
            ],
        );
        assert_eq!(row(&rows, "mother.name").error_zh, "请填写姓名");
        assert_eq!(row(&rows, "mother.name").error_en, "请填写姓名 (en)");
        assert_eq!(scans[0].error_zh, "请扫描");
        assert_eq!(placed.count, 5);
        let general: Vec<&str> = placed.general.iter().map(|e| e.zh.as_str()).collect();
        assert_eq!(general, vec!["母亲结婚时未满 20 周岁", "未知材料"]);

        // A new set replaces the old one entirely.
        let placed = place_errors(&mut rows, &mut scans, &[err("mother.birth", "日期不对")]);
        assert_eq!(row(&rows, "mother.name").error_zh, "");
        assert_eq!(scans[0].error_zh, "");
        assert_eq!(row(&rows, "mother.birth").error_zh, "日期不对");
        assert_eq!(placed.count, 1);
        assert!(placed.general.is_empty());
    }

    #[test]
    fn scan_state_marks_the_paper_and_a_capture_clears_its_error() {
        let mut rows = form_rows(&form());
        let mut scans = scan_rows(&form().scans);
        place_errors(&mut rows, &mut scans, &[err("scans.mother-id", "请扫描")]);
        assert!(set_scan_state(
            &mut scans,
            "mother-id",
            true,
            Some(("清晰", "Clear"))
        ));
        assert!(scans[0].captured);
        assert_eq!(
            (scans[0].note_zh.as_str(), scans[0].note_en.as_str()),
            ("清晰", "Clear")
        );
        assert_eq!(scans[0].error_zh, "");
        assert!(set_scan_state(&mut scans, "photo", false, None));
        assert!(!scans[1].captured);
        assert!(!set_scan_state(&mut scans, "nope", true, None));
    }

    #[test]
    fn the_oldest_waiting_and_the_upload_under_way_are_said() {
        let base = StatusView {
            waiting: 2,
            last_contact_zh: "今天 09:12".into(),
            last_contact_en: "today 09:12".into(),
            ..StatusView::default()
        };
        for (secs, zh, en) in [
            (20, "待发送 2 份", "2 waiting to send"),
            (
                600,
                "待发送 2 份（最早 10 分钟前）",
                "2 waiting to send, oldest 10 min",
            ),
            (
                3 * 3600 + 59,
                "待发送 2 份（最早 3 小时前）",
                "2 waiting to send, oldest 3 h",
            ),
            (
                5 * 86400,
                "待发送 2 份（最早 5 天前）",
                "2 waiting to send, oldest 5 days",
            ),
        ] {
            let st = status(&StatusView {
                oldest_waiting_secs: Some(secs),
                ..base.clone()
            });
            assert_eq!((st.waiting_zh.as_str(), st.waiting_en.as_str()), (zh, en));
        }
        let st = status(&base);
        assert_eq!(st.contact_zh, "上次联系 今天 09:12");
        let st = status(&StatusView {
            sending_percent: Some(45),
            ..base
        });
        assert_eq!(st.contact_zh, "正在发送，已完成 45%");
        assert_eq!(st.contact_en, "Sending: 45% done");
    }

    #[test]
    fn status_counts_and_fallbacks_are_worded_in_both_languages() {
        let empty = status(&StatusView::default());
        assert_eq!(empty.station_zh, "为民服务站");
        assert_eq!(empty.waiting_zh, "全部已发送");
        assert!(!empty.waiting_attention);
        assert_eq!(empty.contact_en, "No contact with the county yet");
        assert!(!empty.link_up);

        let busy = status(&StatusView {
            station_zh: "曼庄村".into(),
            station_en: "Manzhuang".into(),
            link_up: true,
            waiting: 3,
            last_contact_zh: "今天 09:12".into(),
            last_contact_en: "today 09:12".into(),
            demo: true,
            faults: vec![("扫描仪没有连接".into(), "Scanner not found".into())],
            staff_notes: Vec::new(),
            ..StatusView::default()
        });
        assert_eq!(busy.faults.row_count(), 1);
        assert_eq!(
            busy.faults.row_data(0).map(|f| f.en),
            Some("Scanner not found".into())
        );
        assert_eq!(busy.station_en, "Manzhuang");
        assert_eq!(
            (busy.waiting_zh.as_str(), busy.waiting_en.as_str()),
            ("待发送 3 份", "3 waiting to send")
        );
        assert!(busy.waiting_attention);
        assert_eq!(busy.contact_zh, "上次联系 今天 09:12");
        assert_eq!(busy.contact_en, "Last contact today 09:12");
        assert!(busy.link_up && busy.demo);
    }

    #[test]
    fn every_board_state_has_its_own_chip() {
        let all = [
            BoardState::Waiting,
            BoardState::Sending,
            BoardState::Delivered,
            BoardState::Decided,
            BoardState::Rejected,
            BoardState::Ready,
            BoardState::HandedOver,
            BoardState::Problem,
        ];
        let mapped: Vec<g::RowState> = all.iter().map(|s| row_state(*s)).collect();
        for (i, a) in mapped.iter().enumerate() {
            for b in &mapped[i + 1..] {
                assert_ne!(a, b);
            }
        }
        let rows = board_rows(&[BoardRow {
            tracking_number: "MZ-1".into(),
            service_zh: "生育登记".into(),
            service_en: "Birth registration".into(),
            masked_name: "玉*".into(),
            state: BoardState::HandedOver,
            state_zh: "已领取".into(),
            state_en: "Handed over".into(),
            updated_zh: "今天".into(),
            updated_en: "today".into(),
        }]);
        assert_eq!(rows[0].state, g::RowState::HandedOver);
        assert_eq!(rows[0].tracking_number, "MZ-1");
    }

    #[test]
    fn summary_and_banner_wording() {
        assert_eq!(error_summary(0), (String::new(), String::new()));
        assert_eq!(error_summary(1).1, "1 item to fix");
        assert_eq!(
            error_summary(4),
            ("有 4 处需要修改".to_owned(), "4 items to fix".to_owned())
        );
        let b = banner("已读卡", "Card read", MessageKind::Warning);
        assert!(b.visible);
        assert_eq!(b.kind, g::BannerKind::Warning);
        assert!(banner_duration(MessageKind::Error) > banner_duration(MessageKind::Info));
    }
}
