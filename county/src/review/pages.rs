//! The review pages, as maud templates. maud escapes every `(value)` it splices into text or
//! an attribute; `PreEscaped` appears only for the constant style sheet below, never for data.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use county_api::CountyState;
use kiosk_domain::{FieldKind, Gender, ServiceDefinition};
use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::auth::Clerk;
use super::db::{Detail, QueueGroup, QueueRow, StationRow};
use super::{Ctx, Lang};

/// A station not heard from for this long is shown as cut off (stations poll every minute).
pub(crate) const CUT_OFF_AFTER: time::Duration = time::Duration::hours(1);

const CSS: &str = r#"
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", sans-serif; margin: 0; color: #1d2733; background: #f4f6f8; }
header { background: #1f4e79; color: #fff; padding: .6em 1.2em; display: flex; gap: 1.4em; align-items: center; }
header a, header button { color: #fff; }
header .grow { flex: 1; }
header form { margin: 0; }
header button { background: none; border: 1px solid #fff; border-radius: 4px; padding: .2em .8em; cursor: pointer; font: inherit; }
main { padding: 1em 1.4em; }
h1 { font-size: 1.4em; margin: .2em 0 .6em; }
h2 { font-size: 1.15em; margin: 1.2em 0 .5em; }
table { border-collapse: collapse; background: #fff; width: 100%; }
th, td { text-align: left; padding: .35em .7em; border-bottom: 1px solid #dde3e9; vertical-align: top; }
th { background: #e9eef3; font-weight: 600; }
.sheet { display: grid; grid-template-columns: minmax(22em, 1fr) 1.4fr; gap: 1.4em; align-items: start; }
.scans { display: grid; grid-template-columns: repeat(auto-fill, minmax(16em, 1fr)); gap: .8em; }
figure { margin: 0; background: #fff; padding: .5em; border: 1px solid #dde3e9; }
figure img { width: 100%; height: auto; display: block; }
figcaption { font-size: .9em; margin-top: .3em; }
.decide { display: flex; flex-wrap: wrap; gap: 1em; margin: 1em 0; align-items: flex-start; }
.decide form { background: #fff; border: 1px solid #dde3e9; padding: .7em; display: flex; flex-direction: column; gap: .4em; min-width: 14em; }
textarea { font: inherit; min-height: 3.5em; }
button.act { font: inherit; padding: .4em 1em; border-radius: 4px; border: 1px solid #1f4e79; background: #1f4e79; color: #fff; cursor: pointer; }
button.warn { background: #9b2c2c; border-color: #9b2c2c; }
.banner { padding: .6em 1em; border-radius: 4px; margin: .6em 0; }
.ok { background: #e3f4e8; border: 1px solid #7bbf8e; }
.error { background: #fbe9e9; border: 1px solid #d58b8b; }
.cut { color: #9b2c2c; font-weight: 600; }
.muted { color: #66717d; }
.login { max-width: 24em; margin: 4em auto; background: #fff; padding: 1.4em; border: 1px solid #dde3e9; }
.login label { display: block; margin: .7em 0 .2em; }
.login input { width: 100%; font: inherit; padding: .3em; box-sizing: border-box; }
.filters a { margin-right: .8em; }
footer { padding: 0 1.4em 1em; font-size: .85em; }
"#;

/// The shipped service definitions, for the titles in the queue. (An application's page
/// labels its fields from the revision it was captured under, `Detail::definition`.)
static SERVICES: LazyLock<Vec<ServiceDefinition>> = LazyLock::new(kiosk_domain::builtin);

fn service(id: &str) -> Option<&'static ServiceDefinition> {
    SERVICES.iter().find(|s| s.id == id)
}

fn service_title(id: &str, lang: Lang) -> String {
    service(id).map_or_else(|| id.to_owned(), |s| lang.text(&s.title).to_owned())
}

fn scan_label(def: Option<&ServiceDefinition>, service_id: &str, scan: &str, lang: Lang) -> String {
    def.or_else(|| service(service_id))
        .and_then(|s| s.scan(scan))
        .map_or_else(|| scan.to_owned(), |s| lang.text(&s.label).to_owned())
}

/// A field value made readable: code tables decoded beside the code.
fn field_value(kind: Option<&FieldKind>, value: &str, lang: Lang) -> String {
    match kind {
        Some(FieldKind::Gender) => match Gender::from_code(value.trim()) {
            Some(g) => format!("{} ({value})", lang.text(&g.label())),
            None => value.to_owned(),
        },
        Some(FieldKind::Ethnicity) => match kiosk_domain::ethnicity_name(value.trim()) {
            Some(name) => format!("{name} ({value})"),
            None => value.to_owned(),
        },
        _ => value.to_owned(),
    }
}

pub(crate) fn state_label(state: CountyState, lang: Lang) -> &'static str {
    match state {
        CountyState::Receiving => lang.tr("接收中（材料未齐）", "receiving (scans missing)"),
        CountyState::Complete => lang.tr("待审核", "waiting for a decision"),
        CountyState::Approved => lang.tr("已批准", "approved"),
        CountyState::Rejected => lang.tr("已驳回", "rejected"),
        CountyState::MorePapers => lang.tr("需补材料", "more papers needed"),
        CountyState::Ready => lang.tr("可领取", "ready for pick-up"),
        CountyState::HandedOver => lang.tr("已领取", "handed over"),
    }
}

fn action_label(action: &str, lang: Lang) -> String {
    let known = match action {
        "submit" => lang.tr("站点提交", "submitted by the station"),
        "attachment_complete" => lang.tr("扫描件到齐一份", "a scan arrived whole"),
        "application_complete" => lang.tr("材料齐全", "all scans arrived"),
        "bundle_import" => lang.tr("由 U 盘导入", "imported from a USB bundle"),
        "approve" => lang.tr("批准", "approved"),
        "reject" => lang.tr("驳回", "rejected"),
        "more_papers" => lang.tr("要求补材料", "asked for more papers"),
        "ready" => lang.tr("标记可领取", "marked ready for pick-up"),
        "hand_over" => lang.tr("已交给申请人", "handed over"),
        _ => return action.to_owned(),
    };
    known.to_owned()
}

/// An RFC 3339 time shown in China Standard Time (UTC+8), to the minute.
pub(crate) fn local(ts: &str) -> String {
    let Ok(at) = time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339)
    else {
        return ts.to_owned();
    };
    let at = at.to_offset(time::macros::offset!(+8));
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}",
        at.year(),
        u8::from(at.month()),
        at.day(),
        at.hour(),
        at.minute()
    )
}

/// How long ago, coarsely; `None` when the time cannot be read.
fn ago(ts: &str, now: time::OffsetDateTime, lang: Lang) -> Option<(String, time::Duration)> {
    let at =
        time::OffsetDateTime::parse(ts, &time::format_description::well_known::Rfc3339).ok()?;
    let d = now - at;
    let minutes = d.whole_minutes().max(0);
    let text = if minutes < 1 {
        lang.tr("刚刚", "just now").to_owned()
    } else if minutes < 60 {
        match lang {
            Lang::Zh => format!("{minutes} 分钟前"),
            Lang::En => format!("{minutes} min ago"),
        }
    } else if minutes < 48 * 60 {
        match lang {
            Lang::Zh => format!("{} 小时前", minutes / 60),
            Lang::En => format!("{} h ago", minutes / 60),
        }
    } else {
        match lang {
            Lang::Zh => format!("{} 天前", minutes / 1440),
            Lang::En => format!("{} days ago", minutes / 1440),
        }
    };
    Some((text, d))
}

/// The frame of every page.
fn layout(ctx: &Ctx, clerk: Option<&Clerk>, title: &str, body: Markup) -> Markup {
    let lang = ctx.lang;
    let (other, other_name) = match lang {
        Lang::Zh => ("en", "English"),
        Lang::En => ("zh", "中文"),
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — " (lang.tr("县平台审核", "County review")) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    strong { (lang.tr("县平台审核", "County review")) }
                    @if clerk.is_some() {
                        a href="/review/queue" { (lang.tr("待办队列", "Queue")) }
                        a href="/review/stations" { (lang.tr("站点", "Stations")) }
                        a href="/review/notices" { (lang.tr("通知", "Notices")) }
                    }
                    span.grow {}
                    a href=(ctx.switch_link(other)) hreflang=(other) { (other_name) }
                    @if let Some(clerk) = clerk {
                        span { (clerk.name) }
                        form method="post" action="/review/logout" {
                            input type="hidden" name="csrf" value=(clerk.csrf);
                            button type="submit" { (lang.tr("退出", "Log out")) }
                        }
                    }
                }
                main { (body) }
                footer.muted {
                    (lang.tr("时间均为北京时间（UTC+8）。", "Times are Beijing time (UTC+8)."))
                }
            }
        }
    }
}

/// What went wrong at the last login attempt.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum LoginError {
    None,
    Wrong,
    LockedOut,
}

pub(crate) fn login(ctx: &Ctx, token: &str, next: &str, name: &str, error: LoginError) -> Markup {
    let lang = ctx.lang;
    let body = html! {
        div.login {
            h1 { (lang.tr("审核人员登录", "Clerk login")) }
            @match error {
                LoginError::Wrong => p.banner.error id="login-error" {
                    (lang.tr("用户名或密码错误。", "Wrong name or password."))
                },
                LoginError::LockedOut => p.banner.error id="login-error" {
                    (lang.tr("登录失败次数过多，请 15 分钟后再试。",
                        "Too many failed logins; try again in 15 minutes."))
                },
                LoginError::None => {},
            }
            form method="post" action="/review/login" {
                input type="hidden" name="csrf" value=(token);
                input type="hidden" name="next" value=(next);
                label for="name" { (lang.tr("用户名", "Name")) }
                input id="name" name="name" value=(name) autocomplete="username" required;
                label for="password" { (lang.tr("密码", "Password")) }
                input id="password" type="password" name="password" autocomplete="current-password" required;
                p { button.act type="submit" id="login" { (lang.tr("登录", "Log in")) } }
            }
        }
    };
    layout(ctx, None, lang.tr("登录", "Log in"), body)
}

/// The current filter of the queue.
pub(crate) struct Filter {
    pub station: Option<String>,
    pub service: Option<String>,
}

pub(crate) fn queue(
    ctx: &Ctx,
    clerk: &Clerk,
    groups: &[QueueGroup],
    rows: &[QueueRow],
    filter: &Filter,
) -> Markup {
    let lang = ctx.lang;
    let filtered = filter.station.is_some() || filter.service.is_some();
    let body = html! {
        h1 { (lang.tr("待办队列", "Queue")) }
        p.muted {
            (lang.tr("材料齐全、等待审核或等待标记可领取的申请，按接收时间排列。",
                "Complete applications waiting for a decision or to be marked ready, oldest first."))
        }
        h2 { (lang.tr("按站点和事项", "By station and service")) }
        @if groups.is_empty() {
            p id="queue-empty" { (lang.tr("没有待办的申请。", "Nothing is waiting.")) }
        } @else {
            table id="groups" {
                thead { tr {
                    th { (lang.tr("站点", "Station")) }
                    th { (lang.tr("事项", "Service")) }
                    th { (lang.tr("待办", "Waiting")) }
                } }
                tbody {
                    @for g in groups {
                        tr {
                            td { (g.station_name) " " span.muted { (g.station) } }
                            td { (service_title(&g.service, lang)) }
                            td {
                                a href=(format!("/review/queue?{}", query(&[
                                    ("station", &g.station), ("service", &g.service)]))) {
                                    (g.waiting)
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 {
            (lang.tr("申请", "Applications"))
            @if filtered {
                " · "
                @if let Some(s) = &filter.station { (s) " " }
                @if let Some(s) = &filter.service { (service_title(s, lang)) " " }
                a href="/review/queue" { (lang.tr("显示全部", "show all")) }
            }
        }
        @if !rows.is_empty() {
            table id="queue" {
                thead { tr {
                    th { (lang.tr("受理编号", "Tracking number")) }
                    th { (lang.tr("站点", "Station")) }
                    th { (lang.tr("事项", "Service")) }
                    th { (lang.tr("状态", "State")) }
                    th { (lang.tr("提交时间", "Submitted")) }
                    th { (lang.tr("接收时间", "Received")) }
                } }
                tbody {
                    @for r in rows {
                        tr {
                            td { a href=(format!("/review/applications/{}", r.id)) { (r.tracking_number) } }
                            td { (r.station_name) " " span.muted { (r.station) } }
                            td { (service_title(&r.service, lang)) }
                            td { (state_label(r.state, lang)) }
                            td { (local(&r.submitted_at)) }
                            td { (local(&r.received_at)) }
                        }
                    }
                }
            }
        }
    };
    layout(ctx, Some(clerk), lang.tr("待办队列", "Queue"), body)
}

/// A message above the application: what just happened.
pub(crate) enum Notice {
    Done(String),
    Refused(String),
}

pub(crate) fn application(
    ctx: &Ctx,
    clerk: &Clerk,
    d: &Detail,
    notice: Option<&Notice>,
    reason: &str,
) -> Markup {
    let lang = ctx.lang;
    let def = d.definition.as_ref().or_else(|| service(&d.service));
    // Fields in the definition's order, under its group headings; unknown ones last.
    let mut shown = BTreeSet::new();
    let mut sections: Vec<(String, Vec<(String, String)>)> = Vec::new();
    if let Some(def) = def {
        for group in &def.groups {
            let mut rows = Vec::new();
            for field in def.fields.iter().filter(|f| f.group_id() == group.id) {
                if let Some((_, value)) = d.fields.iter().find(|(k, _)| *k == field.id) {
                    shown.insert(field.id.as_str());
                    rows.push((
                        lang.text(&field.label).to_owned(),
                        field_value(Some(&field.kind), value, lang),
                    ));
                }
            }
            if !rows.is_empty() {
                sections.push((lang.text(&group.label).to_owned(), rows));
            }
        }
    }
    let rest: Vec<(String, String)> = d
        .fields
        .iter()
        .filter(|(k, _)| !shown.contains(k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !rest.is_empty() {
        sections.push((lang.tr("其他字段", "Other fields").to_owned(), rest));
    }
    let action = format!("/review/applications/{}/decide", d.id);
    let can = |kind: &str| match kind {
        "approve" => d.state == CountyState::Complete,
        "reject" | "more_papers" => {
            matches!(d.state, CountyState::Complete | CountyState::Approved)
        }
        "ready" => d.state == CountyState::Approved,
        _ => false,
    };
    let service_name = def.map_or_else(|| d.service.clone(), |s| lang.text(&s.title).to_owned());
    let title = format!("{service_name} {}", d.tracking_number);
    let body = html! {
        h1 { (title) }
        p {
            (lang.tr("状态：", "State: ")) strong id="state" data-state=(d.state.as_str()) { (state_label(d.state, lang)) }
            " · " (lang.tr("站点：", "Station: ")) (d.station_name) " " span.muted { (d.station) }
            " · " (lang.tr("提交：", "Submitted: ")) (local(&d.submitted_at))
            @if let Some(c) = &d.clock {
                " " span #clock data-confidence=(clock_code(c)) class=(if c.confidence == county_api::ClockConfidence::Doubtful { "cut" } else { "muted" }) {
                    (clock_words(c, lang))
                }
            }
            " · " (lang.tr("接收：", "Received: ")) (local(&d.received_at))
            " · " span.muted { (lang.tr("定义版本 ", "definition v")) (d.service_version) }
        }
        @match notice {
            Some(Notice::Done(text)) => p.banner.ok id="notice" { (text) },
            Some(Notice::Refused(text)) => p.banner.error id="notice" { (text) },
            None => {},
        }
        @if ["approve", "reject", "more_papers", "ready"].iter().any(|k| can(k)) {
            div.decide {
                @if can("approve") {
                    form method="post" action=(action) {
                        input type="hidden" name="csrf" value=(clerk.csrf);
                        input type="hidden" name="kind" value="approve";
                        button.act type="submit" id="approve" { (lang.tr("批准", "Approve")) }
                    }
                }
                @if can("ready") {
                    form method="post" action=(action) {
                        input type="hidden" name="csrf" value=(clerk.csrf);
                        input type="hidden" name="kind" value="ready";
                        button.act type="submit" id="ready" { (lang.tr("标记可领取", "Mark ready for pick-up")) }
                    }
                }
                @if can("more_papers") {
                    form method="post" action=(action) {
                        input type="hidden" name="csrf" value=(clerk.csrf);
                        input type="hidden" name="kind" value="more_papers";
                        label for="reason-more" { (lang.tr("需要补充什么材料", "Which papers are needed")) }
                        textarea id="reason-more" name="reason" required { (reason) }
                        button.act type="submit" id="more-papers" { (lang.tr("要求补材料", "Ask for more papers")) }
                    }
                }
                @if can("reject") {
                    form method="post" action=(action) {
                        input type="hidden" name="csrf" value=(clerk.csrf);
                        input type="hidden" name="kind" value="reject";
                        label for="reason-reject" { (lang.tr("驳回理由（村民会看到）", "Why (the villager is told)")) }
                        textarea id="reason-reject" name="reason" required {}
                        button.act.warn type="submit" id="reject" { (lang.tr("驳回", "Reject")) }
                    }
                }
            }
        }
        div.sheet {
            section {
                @for (heading, rows) in &sections {
                    h2 { (heading) }
                    table.fields {
                        tbody {
                            @for (label, value) in rows {
                                tr { th { (label) } td { (value) } }
                            }
                        }
                    }
                }
            }
            section {
                h2 { (lang.tr("扫描件", "Scans")) }
                div.scans {
                    @for s in &d.scans {
                        @let href = format!("/review/applications/{}/scans/{}", d.id, s.name);
                        figure {
                            @if !s.complete {
                                p.muted {
                                    (lang.tr("尚未收齐：", "Not arrived yet: "))
                                    (s.received) " / " (s.size) " B"
                                }
                            } @else if super::inline_image(&s.content_type) {
                                a href=(href) { img src=(href) alt=(scan_label(def, &d.service, &s.scan, lang)); }
                            } @else {
                                p { a href=(href) { (lang.tr("打开文件", "Open the file")) " " (s.name) } }
                            }
                            figcaption {
                                (scan_label(def, &d.service, &s.scan, lang)) br;
                                span.muted { (s.name) " · " (s.content_type) " · " (s.size) " B" }
                            }
                        }
                    }
                    @if d.scans.is_empty() {
                        p.muted { (lang.tr("没有扫描件。", "No scans.")) }
                    }
                }
            }
        }
        h2 { (lang.tr("办理记录", "Audit trail")) }
        table id="audit" {
            thead { tr {
                th { (lang.tr("时间", "When")) }
                th { (lang.tr("操作人", "Who")) }
                th { (lang.tr("操作", "What")) }
                th { (lang.tr("说明", "Detail")) }
            } }
            tbody {
                @for a in &d.audit {
                    tr {
                        td { (local(&a.at)) }
                        td { (a.actor) }
                        td data-action=(a.action) { (action_label(&a.action, lang)) }
                        td { @if let Some(detail) = &a.detail { (detail) } }
                    }
                }
            }
        }
    };
    layout(ctx, Some(clerk), &title, body)
}

pub(crate) fn stations(
    ctx: &Ctx,
    clerk: &Clerk,
    rows: &[StationRow],
    now: time::OffsetDateTime,
) -> Markup {
    let lang = ctx.lang;
    let body = html! {
        h1 { (lang.tr("站点", "Stations")) }
        p.muted {
            (lang.tr("站点每分钟联系县平台一次；超过一小时未联系的站点标为“失联”。",
                "Stations call the county every minute; one silent for more than an hour is shown as cut off."))
        }
        table id="stations" {
            thead { tr {
                th { (lang.tr("站点", "Station")) }
                th { (lang.tr("最后联系", "Last contact")) }
                th { (lang.tr("材料未齐", "Scans missing")) }
                th { (lang.tr("待审核", "Undecided")) }
                th { (lang.tr("待标记可领取", "Approved, not ready")) }
                th { (lang.tr("最早待办", "Oldest waiting")) }
                th { (lang.tr("站点自检", "Self-test")) }
            } }
            tbody {
                @for s in rows {
                    @let contact = s.last_contact_at.as_deref().and_then(|t| ago(t, now, lang));
                    @let cut = s.revoked_at.is_none()
                        && contact.as_ref().is_none_or(|(_, d)| *d > CUT_OFF_AFTER);
                    tr data-station=(s.id) {
                        td { (s.name) " " span.muted { (s.id) } }
                        td {
                            @if let Some(at) = &s.revoked_at {
                                span.cut { (lang.tr("已停用 ", "revoked ")) (local(at)) }
                            } @else if s.enrolled_at.is_none() {
                                span.cut { (lang.tr("未注册", "not enrolled yet")) }
                            } @else if let Some((text, _)) = &contact {
                                @if cut {
                                    span.cut { (lang.tr("失联 · ", "cut off · ")) (text) }
                                } @else {
                                    (text)
                                }
                            } @else {
                                span.cut { (lang.tr("从未联系", "never")) }
                            }
                        }
                        td { (s.receiving) }
                        td {
                            @if s.undecided > 0 {
                                a href=(format!("/review/queue?{}", query(&[("station", &s.id)]))) { (s.undecided) }
                            } @else { "0" }
                        }
                        td { (s.approved) }
                        td { @if let Some(at) = &s.oldest_waiting { (local(at)) } }
                        td.selftest {
                            @match &s.selftest {
                                None => { span.muted { (lang.tr("未收到", "none yet")) } }
                                Some(t) if t.ok => {
                                    (lang.tr("全部正常", "all passed")) " " span.muted { (local(&t.checked_at)) }
                                }
                                Some(t) => {
                                    span.cut {
                                        @for (i, c) in t.failed.iter().enumerate() {
                                            @let (zh, en) = county_api::SelftestCheck::label(&c.name);
                                            @if i > 0 { (lang.tr("、", ", ")) }
                                            span title=(c.action.as_deref().unwrap_or(&c.detail)) { (lang.tr(zh, en)) }
                                        }
                                        (lang.tr(" 未通过", " failed"))
                                    }
                                    " " span.muted { (local(&t.checked_at)) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    layout(ctx, Some(clerk), lang.tr("站点", "Stations"), body)
}

fn clock_code(c: &county_api::ClockNote) -> &'static str {
    match c.confidence {
        county_api::ClockConfidence::Checked => "checked",
        county_api::ClockConfidence::Unchecked => "unchecked",
        county_api::ClockConfidence::Doubtful => "doubtful",
    }
}

/// How sure the station was of that time, in the clerk's words.
fn clock_words(c: &county_api::ClockNote, lang: Lang) -> String {
    match c.confidence {
        county_api::ClockConfidence::Checked => match c.county_offset_secs {
            Some(off) => lang
                .tr(
                    "（站点时间已核对，与县平台相差 {} 秒）",
                    "(station clock checked, {} s off the county's)",
                )
                .replace("{}", &off.abs().to_string()),
            None => lang
                .tr("（站点时间已核对）", "(station clock checked)")
                .to_string(),
        },
        county_api::ClockConfidence::Unchecked => lang
            .tr(
                "（站点时间尚未与县平台核对）",
                "(station clock not yet checked against the county)",
            )
            .to_string(),
        county_api::ClockConfidence::Doubtful => lang
            .tr(
                "（站点时间可能不对：年龄按县平台接收日核对）",
                "(station clock doubtful: ages were checked by the county's day of receipt)",
            )
            .to_string(),
    }
}

/// What the clerk typed into the notice form (kept when it is refused).
#[derive(Default)]
pub(crate) struct NoticeDraft {
    pub title_zh: String,
    pub title_en: String,
    pub body_zh: String,
    pub body_en: String,
    /// `YYYY-MM-DD`, or empty: shown until further notice.
    pub expires_on: String,
    pub stations: Vec<String>,
}

/// Publish a notice (to every station, or the ticked ones) and the notices published.
pub(crate) fn notices(
    ctx: &Ctx,
    clerk: &Clerk,
    stations: &[StationRow],
    published: &[crate::store::NoticeRow],
    banner: Option<&Notice>,
    draft: &NoticeDraft,
) -> Markup {
    let lang = ctx.lang;
    let body = html! {
        h1 { (lang.tr("通知", "Notices")) }
        @match banner {
            Some(Notice::Done(text)) => p.banner.ok id="notice" { (text) },
            Some(Notice::Refused(text)) => p.banner.error id="notice" { (text) },
            None => {},
        }
        h2 { (lang.tr("一键发文到村", "Send a notice to the villages")) }
        form.login method="post" action="/review/notices" id="notice-form" style="margin: 0; max-width: 40em" {
            input type="hidden" name="csrf" value=(clerk.csrf);
            label for="title_zh" { (lang.tr("标题（中文）", "Title (Chinese)")) }
            input id="title_zh" name="title_zh" required maxlength="200" value=(draft.title_zh);
            label for="title_en" { (lang.tr("标题（英文）", "Title (English)")) }
            input id="title_en" name="title_en" required maxlength="200" value=(draft.title_en);
            label for="body_zh" { (lang.tr("正文（中文）", "Text (Chinese)")) }
            textarea id="body_zh" name="body_zh" required style="width: 100%" { (draft.body_zh) }
            label for="body_en" { (lang.tr("正文（英文）", "Text (English)")) }
            textarea id="body_en" name="body_en" required style="width: 100%" { (draft.body_en) }
            label for="expires_on" { (lang.tr("显示到（含当天，可不填）", "Show until (inclusive, optional)")) }
            input id="expires_on" name="expires_on" type="date" value=(draft.expires_on);
            p { (lang.tr("发给哪些站点（都不选：所有站点）：", "To which stations (none ticked: every station):")) }
            @for s in stations.iter().filter(|s| s.revoked_at.is_none()) {
                label style="display: inline-block; margin-right: 1em" {
                    input type="checkbox" name="station" value=(s.id) style="width: auto"
                        checked[draft.stations.contains(&s.id)];
                    " " (s.name) " " span.muted { (s.id) }
                }
            }
            p { button.act type="submit" { (lang.tr("发布", "Publish")) } }
        }
        h2 { (lang.tr("已发布的通知", "Published notices")) }
        table id="notices" {
            thead { tr {
                th { "#" }
                th { (lang.tr("发布时间", "Published")) }
                th { (lang.tr("发给", "To")) }
                th { (lang.tr("标题", "Title")) }
                th { (lang.tr("正文", "Text")) }
            } }
            tbody {
                @for n in published {
                    tr data-version=(n.version) {
                        td { (n.version) }
                        td { (local(&n.published_at)) }
                        td {
                            @match (&n.station_id, &n.station_name) {
                                (None, _) => (lang.tr("所有站点", "every station")),
                                (Some(id), Some(name)) => { (name) " " span.muted { (id) } },
                                (Some(id), None) => (id),
                            }
                        }
                        td { (match lang { Lang::Zh => &n.title.zh, Lang::En => &n.title.en }) }
                        td { (match lang { Lang::Zh => &n.body.zh, Lang::En => &n.body.en }) }
                    }
                }
            }
        }
    };
    layout(ctx, Some(clerk), lang.tr("通知", "Notices"), body)
}

pub(crate) fn not_found(ctx: &Ctx, clerk: Option<&Clerk>) -> Markup {
    let lang = ctx.lang;
    layout(
        ctx,
        clerk,
        lang.tr("找不到", "Not found"),
        html! {
            h1 { (lang.tr("找不到该页面或申请。", "No such page or application.")) }
            p { a href="/review/queue" { (lang.tr("返回待办队列", "Back to the queue")) } }
        },
    )
}

/// A URL query string, percent-encoded.
fn query(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", super::percent_encode(v)))
        .collect::<Vec<_>>()
        .join("&")
}
