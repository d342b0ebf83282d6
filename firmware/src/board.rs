//! The counter board's story of one application: where it stands and each step it took, in
//! plain words for the operator (the outbox's event log, which keeps codes).
//!
//! Pure: the summary and events in, `kiosk-ui`'s view out; `now` is passed in for "today"
//! and "yesterday".

use kiosk_ui::{HistoryLine, HistoryView};
use store_and_forward::AppState;
use store_and_forward::outbox::{Event, Summary};
use time::OffsetDateTime;

use crate::catalog::Catalog;

/// The story of `summary` from its `events` (oldest first, as the outbox gives them).
pub fn history_view(
    catalog: &Catalog,
    summary: &Summary,
    events: &[Event],
    now: OffsetDateTime,
) -> HistoryView {
    let row = crate::screen::board_row(catalog, summary);
    let refused = matches!(summary.state, AppState::Returned)
        || (summary.state == AppState::Decided
            && matches!(summary.outcome.as_deref(), Some("rejected" | "more_papers")));
    let reason = summary
        .reason
        .as_deref()
        .filter(|r| refused && !r.trim().is_empty())
        .map(split_reason);
    HistoryView {
        tracking_number: row.tracking_number,
        service_zh: row.service_zh,
        service_en: row.service_en,
        masked_name: row.masked_name,
        state: row.state,
        state_zh: row.state_zh,
        state_en: row.state_en,
        reason,
        lines: events
            .iter()
            .map(|e| {
                let (when_zh, when_en) = crate::screen::when(e.at, now);
                let (text_zh, text_en) = step(e, summary);
                HistoryLine {
                    when_zh,
                    when_en,
                    text_zh,
                    text_en,
                }
            })
            .collect(),
    }
}

/// One event in words. A decision's event carries its outcome; a rejection's reason is the
/// summary's (the event keeps only the outcome).
fn step(e: &Event, summary: &Summary) -> (String, String) {
    let detail = e.detail.as_deref().unwrap_or("");
    let (zh, en): (&str, &str) = match (e.from, e.to) {
        (None, _) => ("在服务站保存", "Saved at the station"),
        (Some(AppState::Sending), AppState::Sending) => ("继续发送", "Sending resumed"),
        (_, AppState::Queued) => ("重新排队等待发送", "Queued to send again"),
        (_, AppState::Sending) => ("开始发送到县里", "Sending to the county started"),
        (_, AppState::Delivered) => ("县里已收到全部材料", "The county has everything"),
        (_, AppState::Decided) => match detail {
            "approved" => ("县里已批准", "Approved by the county"),
            "rejected" => ("县里未批准", "Rejected by the county"),
            "more_papers" => ("县里要求补充材料", "The county asks for more papers"),
            _ => ("县里已审批", "Decided by the county"),
        },
        (_, AppState::Ready) => ("证件已办好，可以领取", "Ready for pick-up"),
        (_, AppState::HandedOver) => ("已交给本人", "Handed over"),
        (_, AppState::Returned) => ("被退回，需要处理", "Returned: needs attention"),
    };
    let with_reason = |zh: &str, en: &str| -> (String, String) {
        match summary.reason.as_deref().filter(|r| !r.trim().is_empty()) {
            Some(r) => {
                let (rzh, ren) = split_reason(r);
                (format!("{zh}：{rzh}"), format!("{en}: {ren}"))
            }
            None => (zh.to_owned(), en.to_owned()),
        }
    };
    match (e.to, detail) {
        (AppState::Decided, "rejected" | "more_papers") => with_reason(zh, en),
        (AppState::Returned, d) if !d.trim().is_empty() => {
            let (dzh, den) = split_reason(d);
            (format!("{zh}：{dzh}"), format!("{en}: {den}"))
        }
        _ => (zh.to_owned(), en.to_owned()),
    }
}

/// A reason as the station keeps it: "中文 / English" when both were given (the county's
/// refusals and the station's own notes), else the same text for both languages (a
/// clerk's reason is written once, usually in Chinese).
fn split_reason(text: &str) -> (String, String) {
    match text.split_once(" / ") {
        Some((zh, en)) if !zh.trim().is_empty() && !en.trim().is_empty() => {
            (zh.trim().to_owned(), en.trim().to_owned())
        }
        _ => (text.trim().to_owned(), text.trim().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kiosk_ui::BoardState;
    use time::macros::datetime;

    fn summary(state: AppState, outcome: Option<&str>, reason: Option<&str>) -> Summary {
        Summary {
            id: uuid::Uuid::nil(),
            tracking_number: "BM-261126-0003".into(),
            service: "birth-permit".into(),
            masked_name: "陶*".into(),
            state,
            outcome: outcome.map(Into::into),
            reason: reason.map(Into::into),
            updated_at: datetime!(2026-11-26 09:30 +8),
        }
    }

    fn event(at: OffsetDateTime, from: Option<AppState>, to: AppState, d: Option<&str>) -> Event {
        Event {
            at,
            from,
            to,
            detail: d.map(Into::into),
        }
    }

    #[test]
    fn a_rejection_reads_as_a_story_with_its_reason() {
        let now = datetime!(2026-11-26 10:00 +8);
        let s = summary(
            AppState::Decided,
            Some("rejected"),
            Some("结婚证字号与登记不符"),
        );
        let events = [
            event(datetime!(2026-11-25 15:02 +8), None, AppState::Queued, None),
            event(
                datetime!(2026-11-25 15:03 +8),
                Some(AppState::Queued),
                AppState::Sending,
                None,
            ),
            event(
                datetime!(2026-11-25 15:04 +8),
                Some(AppState::Sending),
                AppState::Delivered,
                None,
            ),
            event(
                datetime!(2026-11-26 09:30 +8),
                Some(AppState::Delivered),
                AppState::Decided,
                Some("rejected"),
            ),
        ];
        let v = history_view(&Catalog::builtin(), &s, &events, now);
        assert_eq!(v.tracking_number, "BM-261126-0003");
        assert_eq!(v.masked_name, "陶*");
        assert_eq!(v.state, BoardState::Rejected);
        assert_eq!(
            v.reason,
            Some(("结婚证字号与登记不符".into(), "结婚证字号与登记不符".into()))
        );
        let lines: Vec<(&str, &str)> = v
            .lines
            .iter()
            .map(|l| (l.when_zh.as_str(), l.text_zh.as_str()))
            .collect();
        assert_eq!(
            lines,
            [
                ("昨天 15:02", "在服务站保存"),
                ("昨天 15:03", "开始发送到县里"),
                ("昨天 15:04", "县里已收到全部材料"),
                ("今天 09:30", "县里未批准：结婚证字号与登记不符"),
            ]
        );
        assert_eq!(
            v.lines[3].text_en,
            "Rejected by the county: 结婚证字号与登记不符"
        );
    }

    #[test]
    fn a_returned_application_says_why_in_both_languages() {
        let now = datetime!(2026-11-26 10:00 +8);
        let why = "扫描件缺失或损坏，请重新扫描 / scans missing or damaged on this station, scan again: photo.jpg";
        let s = summary(AppState::Returned, None, Some(why));
        let events = [
            event(datetime!(2026-11-26 08:00 +8), None, AppState::Queued, None),
            event(
                datetime!(2026-11-26 08:05 +8),
                Some(AppState::Queued),
                AppState::Returned,
                Some(why),
            ),
        ];
        let v = history_view(&Catalog::builtin(), &s, &events, now);
        assert_eq!(v.state, BoardState::Problem);
        let (zh, en) = v.reason.clone().expect("a reason");
        assert_eq!(zh, "扫描件缺失或损坏，请重新扫描");
        assert!(en.starts_with("scans missing"), "{en}");
        assert_eq!(
            v.lines[1].text_zh,
            "被退回，需要处理：扫描件缺失或损坏，请重新扫描"
        );
        assert!(
            v.lines[1]
                .text_en
                .starts_with("Returned: needs attention: scans missing")
        );
    }

    #[test]
    fn an_approval_has_no_reason_and_resumed_sending_is_said() {
        let now = datetime!(2026-11-26 10:00 +8);
        // A reason left over from nothing: an approval shows none.
        let s = summary(AppState::Ready, Some("approved"), Some(""));
        let events = [
            event(
                datetime!(2026-11-26 08:00 +8),
                Some(AppState::Sending),
                AppState::Sending,
                None,
            ),
            event(
                datetime!(2026-11-26 08:10 +8),
                Some(AppState::Delivered),
                AppState::Decided,
                Some("approved"),
            ),
            event(
                datetime!(2026-11-26 09:00 +8),
                Some(AppState::Decided),
                AppState::Ready,
                Some("ready"),
            ),
        ];
        let v = history_view(&Catalog::builtin(), &s, &events, now);
        assert_eq!(v.reason, None);
        let texts: Vec<&str> = v.lines.iter().map(|l| l.text_en.as_str()).collect();
        assert_eq!(
            texts,
            [
                "Sending resumed",
                "Approved by the county",
                "Ready for pick-up"
            ]
        );
    }
}
