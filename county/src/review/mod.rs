//! The clerks' review pages under `/review`: server-rendered HTML in Chinese, English
//! switchable (`?lang=en`, remembered in a cookie), no JavaScript.
//!
//! Pages: the login, the queue of complete applications by station and service, one
//! application (fields and scans side by side, the decision buttons, its audit trail), the
//! station dashboard (last contact, backlog), and the notices (publish to every station or
//! ticked ones, through the same checks and SQL as `county notice publish`; those published). Scans are served only to a logged-in clerk.
//!
//! Rules every handler keeps:
//! - every page but the login needs a live session ([`auth::Clerk`]); without one the answer
//!   is a redirect to the login page;
//! - every POST carries the session's CSRF token (the login form: its double-submit cookie);
//!   a wrong or missing token is a 403 plain page and nothing happens;
//! - every string from a station or a clerk reaches HTML through maud, which escapes it;
//! - decisions go through `Storage::decide`, the code path of `county decide`, with the clerk's
//!   name in the audit log.

pub(crate) mod auth;
pub(crate) mod db;
mod pages;

use std::collections::HashMap;

use axum::Router;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_SECURITY_POLICY, CONTENT_TYPE, LOCATION,
    REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use county_api::DecisionKind;
use kiosk_domain::Text;
use maud::Markup;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::{AppState, CountyError, files, store};
use auth::Clerk;

/// The language of the pages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Lang {
    Zh,
    En,
}

const LANG_COOKIE: &str = "county_lang";

/// Where `http::app` nests these routes. Inside the nested router a request's URI lacks it.
pub(crate) const PREFIX: &str = "/review";

/// The path and query the browser asked for (the nested router sees them without [`PREFIX`]).
pub(crate) fn original_path_and_query(parts: &Parts) -> String {
    let inner = parts.uri.path_and_query().map_or("/", |p| p.as_str());
    format!("{PREFIX}{inner}")
}

impl Lang {
    fn parse(text: &str) -> Option<Lang> {
        match text {
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub(crate) fn code(self) -> &'static str {
        match self {
            Lang::Zh => "zh-CN",
            Lang::En => "en",
        }
    }

    /// Pick the Chinese or the English text.
    pub(crate) fn tr(self, zh: &'static str, en: &'static str) -> &'static str {
        match self {
            Lang::Zh => zh,
            Lang::En => en,
        }
    }

    /// A bilingual text of a service definition in this language (the other when missing).
    pub(crate) fn text(self, text: &Text) -> &str {
        let (first, second) = match self {
            Lang::Zh => (&text.zh, &text.en),
            Lang::En => (&text.en, &text.zh),
        };
        if first.trim().is_empty() {
            second
        } else {
            first
        }
    }
}

/// What every page needs from the request: the language (from `?lang=`, else the cookie,
/// else Chinese) and the path, to link to the same page in the other language.
pub(crate) struct Ctx {
    lang: Lang,
    /// `?lang=` chose the language: remember it in the cookie.
    remember: bool,
    path: String,
    /// The query without `lang`.
    query: Vec<(String, String)>,
}

impl Ctx {
    /// This page in another language.
    fn switch_link(&self, lang: &str) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .query
            .iter()
            .filter(|(k, _)| k != "done")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        pairs.push(("lang", lang));
        let query = pairs
            .iter()
            .map(|(k, v)| format!("{}={}", percent_encode(k), percent_encode(v)))
            .collect::<Vec<_>>()
            .join("&");
        format!("{}?{query}", self.path)
    }

    fn param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .filter(|v| !v.is_empty())
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Ctx {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let pairs = Query::<Vec<(String, String)>>::try_from_uri(&parts.uri)
            .map(|q| q.0)
            .unwrap_or_default();
        let asked = pairs
            .iter()
            .find(|(k, _)| k == "lang")
            .and_then(|(_, v)| Lang::parse(v));
        let remembered = auth::cookie(&parts.headers, LANG_COOKIE).and_then(|v| Lang::parse(&v));
        Ok(Ctx {
            lang: asked.or(remembered).unwrap_or(Lang::Zh),
            remember: asked.is_some(),
            path: format!("{PREFIX}{}", parts.uri.path()),
            query: pairs.into_iter().filter(|(k, _)| k != "lang").collect(),
        })
    }
}

/// An HTML answer, remembering the language when the query chose it.
fn page(ctx: &Ctx, status: StatusCode, markup: Markup) -> Response {
    let mut response = (
        status,
        [(CONTENT_TYPE, "text/html; charset=utf-8")],
        markup.into_string(),
    )
        .into_response();
    if ctx.remember {
        let cookie = format!(
            "{LANG_COOKIE}={}; Path=/review; SameSite=Strict; Max-Age=31536000",
            match ctx.lang {
                Lang::Zh => "zh",
                Lang::En => "en",
            }
        );
        if let Ok(value) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(SET_COOKIE, value);
        }
    }
    response
}

/// `303 See Other` to a path of ours.
fn see_other(location: &str) -> Response {
    let location = HeaderValue::from_str(location).unwrap_or(HeaderValue::from_static("/review/"));
    (StatusCode::SEE_OTHER, [(LOCATION, location)]).into_response()
}

/// Where a request without a session goes: the login page, which returns to `back`.
pub(crate) fn redirect_to_login(back: &str) -> Response {
    // A form sent without a session returns to the page it was on.
    let back = back.strip_suffix("/decide").unwrap_or(back);
    see_other(&format!(
        "/review/login?next={}",
        percent_encode(&safe_next(back))
    ))
}

/// A page of ours to return to after the login; anything else (another site, a form target)
/// becomes the queue.
fn safe_next(next: &str) -> String {
    let path = next.split('?').next().unwrap_or("");
    let ok = next.starts_with("/review/")
        && !next.contains("//")
        && !next.contains('\\')
        && !path.ends_with("/decide")
        && !path.starts_with("/review/login")
        && !path.starts_with("/review/logout")
        && next.chars().all(|c| c.is_ascii_graphic());
    if ok {
        next.to_owned()
    } else {
        "/review/queue".to_owned()
    }
}

/// Percent-encode everything but RFC 3986's unreserved characters.
pub(crate) fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn plain(status: StatusCode, text: &str) -> Response {
    (
        status,
        [(CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{} {text}\n", status.as_u16()),
    )
        .into_response()
}

pub(crate) fn server_error() -> Response {
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "县平台出现故障，请稍后重试。 / The county failed; try again later.",
    )
}

fn internal(error: CountyError) -> Response {
    tracing::error!("review page: {error}");
    server_error()
}

/// A form body; a malformed one is a 400 plain page.
struct PageForm<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for PageForm<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Response> {
        match axum::Form::<T>::from_request(req, state).await {
            Ok(axum::Form(value)) => Ok(PageForm(value)),
            Err(rejection) => Err(plain(
                rejection.status(),
                "表单格式不正确。 / The form is malformed.",
            )),
        }
    }
}

/// Scans of these types are shown inline as images; any other type is offered as a link.
pub(crate) fn inline_image(content_type: &str) -> bool {
    matches!(
        essence(content_type).as_str(),
        "image/jpeg" | "image/png" | "image/gif" | "image/webp"
    )
}

fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The review routes, nested under `/review` by `http::app`.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(|| async { see_other("/review/queue") }))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/queue", get(queue))
        .route("/stations", get(stations))
        .route("/notices", get(notices).post(publish_notice))
        .route("/applications/{id}", get(application))
        .route("/applications/{id}/decide", post(decide))
        .route("/applications/{id}/scans/{name}", get(scan))
        .fallback(not_found)
        .layer(axum::middleware::map_response(security_headers))
}

/// Headers every review answer carries unless the handler set its own: no scripts, no
/// framing, no caching of personal data, no referrer leaking ids.
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    for (name, value) in [
        (
            CONTENT_SECURITY_POLICY,
            "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; \
             form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (X_FRAME_OPTIONS, "DENY"),
        (X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (REFERRER_POLICY, "no-referrer"),
        (CACHE_CONTROL, "no-store"),
    ] {
        if !headers.contains_key(&name) {
            headers.insert(name, HeaderValue::from_static(value));
        }
    }
    response
}

async fn not_found(ctx: Ctx) -> Response {
    page(&ctx, StatusCode::NOT_FOUND, pages::not_found(&ctx, None))
}

// ---- Login and logout ----

async fn login_page(State(state): State<AppState>, ctx: Ctx) -> Response {
    let token = files::random_base32(20);
    let next = safe_next(ctx.param("next").unwrap_or(""));
    let mut response = page(
        &ctx,
        StatusCode::OK,
        pages::login(&ctx, &token, &next, "", pages::LoginError::None),
    );
    set_cookie(
        &mut response,
        &auth::secret_cookie(auth::LOGIN_COOKIE, &token, Some(3600), state.serves_tls()),
    );
    response
}

fn set_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: axum::http::HeaderMap,
    PageForm(form): PageForm<LoginForm>,
) -> Response {
    let expected = auth::cookie(&headers, auth::LOGIN_COOKIE).unwrap_or_default();
    if !auth::same_secret(&form.csrf, &expected) {
        return auth::forbidden(ctx.lang);
    }
    let name = form.name.trim().to_owned();
    let lookup = name.clone();
    let looked_up = state
        .storage(move |s, _| s.clerk_login(&lookup, &auth::later(-auth::LOCKOUT_SECONDS)))
        .await;
    let (failures, stored) = match looked_up {
        Ok(found) => found,
        Err(e) => return internal(e),
    };
    if failures >= auth::MAX_FAILED_LOGINS {
        tracing::warn!("clerk logins refused after {failures} failures");
        return page(
            &ctx,
            StatusCode::TOO_MANY_REQUESTS,
            pages::login(
                &ctx,
                &form.csrf,
                &safe_next(&form.next),
                &name,
                pages::LoginError::LockedOut,
            ),
        );
    }
    let known = stored.is_some();
    let password = form.password;
    let matches = tokio::task::spawn_blocking(move || {
        let hash = stored.unwrap_or_else(|| auth::DUMMY_HASH.clone());
        auth::verify_password(&password, &hash)
    })
    .await
    .unwrap_or(false);
    if !(known && matches) {
        tracing::info!("a clerk login failed");
        let failed = name.clone();
        if let Err(e) = state
            .storage(move |s, _| s.record_failed_login(&failed, &store::now()))
            .await
        {
            return internal(e);
        }
        return page(
            &ctx,
            StatusCode::UNAUTHORIZED,
            pages::login(
                &ctx,
                &form.csrf,
                &safe_next(&form.next),
                &name,
                pages::LoginError::Wrong,
            ),
        );
    }
    let token = files::random_base32(32);
    let token_sha = files::sha256_hex(token.as_bytes());
    let csrf = files::random_base32(20);
    let clerk = name.clone();
    if let Err(e) = state
        .storage(move |s, _| {
            s.create_session(
                &token_sha,
                &clerk,
                &csrf,
                &store::now(),
                &auth::later(auth::SESSION_SECONDS),
            )
        })
        .await
    {
        return internal(e);
    }
    tracing::info!(clerk = %name, "clerk logged in");
    let mut response = see_other(&safe_next(&form.next));
    set_cookie(
        &mut response,
        &auth::secret_cookie(auth::SESSION_COOKIE, &token, None, state.serves_tls()),
    );
    set_cookie(
        &mut response,
        &auth::secret_cookie(auth::LOGIN_COOKIE, "", Some(0), state.serves_tls()),
    );
    response
}

#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    clerk: Clerk,
    PageForm(form): PageForm<CsrfForm>,
) -> Response {
    if !clerk.csrf_ok(&form.csrf) {
        return auth::forbidden(ctx.lang);
    }
    let Clerk {
        name, token_sha256, ..
    } = clerk;
    if let Err(e) = state
        .storage(move |s, _| s.delete_session(&token_sha256, &name, &store::now()))
        .await
    {
        return internal(e);
    }
    let mut response = see_other("/review/login");
    set_cookie(
        &mut response,
        &auth::secret_cookie(auth::SESSION_COOKIE, "", Some(0), state.serves_tls()),
    );
    response
}

// ---- Pages ----

async fn queue(State(state): State<AppState>, ctx: Ctx, clerk: Clerk) -> Response {
    let filter = pages::Filter {
        station: ctx.param("station").map(str::to_owned),
        service: ctx.param("service").map(str::to_owned),
    };
    let (station, service) = (filter.station.clone(), filter.service.clone());
    let loaded = state
        .storage(move |s, _| {
            Ok::<_, CountyError>((
                s.queue_groups()?,
                s.queue(station.as_deref(), service.as_deref())?,
            ))
        })
        .await;
    match loaded {
        Ok((groups, rows)) => page(
            &ctx,
            StatusCode::OK,
            pages::queue(&ctx, &clerk, &groups, &rows, &filter),
        ),
        Err(e) => internal(e),
    }
}

async fn stations(State(state): State<AppState>, ctx: Ctx, clerk: Clerk) -> Response {
    match state.storage(|s, _| s.stations()).await {
        Ok(rows) => page(
            &ctx,
            StatusCode::OK,
            pages::stations(&ctx, &clerk, &rows, time::OffsetDateTime::now_utc()),
        ),
        Err(e) => internal(e),
    }
}

/// The notices page, with a banner and the form's draft.
async fn notices_page(
    state: &AppState,
    ctx: &Ctx,
    clerk: &Clerk,
    status: StatusCode,
    banner: Option<pages::Notice>,
    draft: &pages::NoticeDraft,
) -> Response {
    let loaded = state
        .storage(|s, _| Ok::<_, CountyError>((s.stations()?, s.list_notices()?)))
        .await;
    match loaded {
        Ok((stations, published)) => page(
            ctx,
            status,
            pages::notices(ctx, clerk, &stations, &published, banner.as_ref(), draft),
        ),
        Err(e) => internal(e),
    }
}

async fn notices(State(state): State<AppState>, ctx: Ctx, clerk: Clerk) -> Response {
    let banner = ctx.param("done").map(|_| {
        pages::Notice::Done(
            ctx.lang
                .tr(
                    "通知已发布，站点下次联系时收到。",
                    "Published; stations get it at their next call.",
                )
                .to_owned(),
        )
    });
    let draft = pages::NoticeDraft::default();
    notices_page(&state, &ctx, &clerk, StatusCode::OK, banner, &draft).await
}

/// The notice form: `csrf`, `title_zh`, `title_en`, `body_zh`, `body_en`, `expires_on`
/// (`YYYY-MM-DD` or empty) and any number of `station` (none: every station). Through the same checks and SQL as `county notice
/// publish`.
async fn publish_notice(
    State(state): State<AppState>,
    ctx: Ctx,
    clerk: Clerk,
    PageForm(pairs): PageForm<Vec<(String, String)>>,
) -> Response {
    let value = |key: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    if !clerk.csrf_ok(&value("csrf")) {
        return auth::forbidden(ctx.lang);
    }
    let draft = pages::NoticeDraft {
        title_zh: value("title_zh"),
        title_en: value("title_en"),
        body_zh: value("body_zh"),
        body_en: value("body_en"),
        expires_on: value("expires_on").trim().to_owned(),
        stations: pairs
            .iter()
            .filter(|(k, _)| k == "station")
            .map(|(_, v)| v.trim().to_owned())
            .collect(),
    };
    let title = county_api::I18nText {
        zh: draft.title_zh.clone(),
        en: draft.title_en.clone(),
    };
    let body = county_api::I18nText {
        zh: draft.body_zh.clone(),
        en: draft.body_en.clone(),
    };
    let stations = draft.stations.clone();
    let name = clerk.name.clone();
    // The end of the chosen day at the stations (UTC+8).
    let expires_at =
        (!draft.expires_on.is_empty()).then(|| format!("{}T23:59:59+08:00", draft.expires_on));
    let published = state
        .storage(move |s, _| {
            crate::check_notice(&title, &body, expires_at.as_deref())?;
            s.publish_notice(
                &title,
                &body,
                &stations,
                expires_at.as_deref(),
                &name,
                &store::now(),
            )
        })
        .await;
    match published {
        Ok(rows) => {
            tracing::info!(
                clerk = %clerk.name, rows = rows.len(),
                "clerk published a notice on the review page"
            );
            see_other("/review/notices?done=1")
        }
        Err(CountyError::InvalidInput(text)) => {
            notices_page(
                &state,
                &ctx,
                &clerk,
                StatusCode::UNPROCESSABLE_ENTITY,
                Some(pages::Notice::Refused(text)),
                &draft,
            )
            .await
        }
        Err(e) => internal(e),
    }
}

/// An application page, with a notice above it.
async fn application_page(
    state: &AppState,
    ctx: &Ctx,
    clerk: &Clerk,
    id: &str,
    status: StatusCode,
    notice: Option<pages::Notice>,
    reason: &str,
) -> Response {
    let Ok(id) = Uuid::parse_str(id) else {
        return page(
            ctx,
            StatusCode::NOT_FOUND,
            pages::not_found(ctx, Some(clerk)),
        );
    };
    match state.storage(move |s, _| s.application(id)).await {
        Ok(Some(detail)) => page(
            ctx,
            status,
            pages::application(ctx, clerk, &detail, notice.as_ref(), reason),
        ),
        Ok(None) => page(
            ctx,
            StatusCode::NOT_FOUND,
            pages::not_found(ctx, Some(clerk)),
        ),
        Err(e) => internal(e),
    }
}

async fn application(
    State(state): State<AppState>,
    ctx: Ctx,
    clerk: Clerk,
    Path(id): Path<String>,
) -> Response {
    let notice = ctx.param("done").and_then(parse_kind).map(|kind| {
        pages::Notice::Done(
            match kind {
                DecisionKind::Approve => ctx.lang.tr("已批准。", "Approved."),
                DecisionKind::Reject => ctx.lang.tr("已驳回。", "Rejected."),
                DecisionKind::MorePapers => ctx.lang.tr("已要求补材料。", "Asked for more papers."),
                DecisionKind::Ready => ctx.lang.tr("已标记可领取。", "Marked ready for pick-up."),
            }
            .to_owned(),
        )
    });
    application_page(&state, &ctx, &clerk, &id, StatusCode::OK, notice, "").await
}

fn parse_kind(text: &str) -> Option<DecisionKind> {
    match text {
        "approve" => Some(DecisionKind::Approve),
        "reject" => Some(DecisionKind::Reject),
        "more_papers" => Some(DecisionKind::MorePapers),
        "ready" => Some(DecisionKind::Ready),
        _ => None,
    }
}

#[derive(Deserialize)]
struct DecideForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    reason: String,
}

async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    clerk: Clerk,
    Path(id): Path<String>,
    PageForm(form): PageForm<DecideForm>,
) -> Response {
    if !clerk.csrf_ok(&form.csrf) {
        return auth::forbidden(ctx.lang);
    }
    let Some(kind) = parse_kind(&form.kind) else {
        return plain(StatusCode::BAD_REQUEST, "未知的决定。 / Unknown decision.");
    };
    let Ok(uuid) = Uuid::parse_str(&id) else {
        return page(
            &ctx,
            StatusCode::NOT_FOUND,
            pages::not_found(&ctx, Some(&clerk)),
        );
    };
    let name = clerk.name.clone();
    let reason = form.reason.clone();
    let decided = state
        .storage(move |s, _| {
            let reason = Some(reason.as_str()).filter(|r| !r.trim().is_empty());
            s.decide(uuid, kind, reason, &name, &store::now())
        })
        .await;
    let lang = ctx.lang;
    let (status, text) = match decided {
        Ok(decision) => {
            state.sms_wake().notify_one();
            tracing::info!(
                clerk = %clerk.name, application = %uuid, cursor = decision.cursor,
                "clerk decided on the review page"
            );
            return see_other(&format!("/review/applications/{uuid}?done={}", form.kind));
        }
        Err(CountyError::NoSuchApplication(_)) => {
            return page(
                &ctx,
                StatusCode::NOT_FOUND,
                pages::not_found(&ctx, Some(&clerk)),
            );
        }
        Err(CountyError::ReasonRequired(_)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            lang.tr(
                "请填写理由：申请人会在站点看到它。",
                "Give a reason: the applicant sees it at the station.",
            )
            .to_owned(),
        ),
        Err(e @ CountyError::InvalidTransition { .. }) => (
            StatusCode::CONFLICT,
            match lang {
                Lang::Zh => format!("申请当前状态不允许此操作，未执行。（{e}）"),
                Lang::En => format!("Nothing was done: {e}."),
            },
        ),
        Err(e) => return internal(e),
    };
    application_page(
        &state,
        &ctx,
        &clerk,
        &id,
        status,
        Some(pages::Notice::Refused(text)),
        &form.reason,
    )
    .await
}

/// A scan's bytes, to a logged-in clerk only. The type the station declared is trusted only
/// for images and PDF; anything else is a download, so no station can place a page of its own
/// on the county's origin.
async fn scan(
    State(state): State<AppState>,
    ctx: Ctx,
    clerk: Clerk,
    Path(params): Path<HashMap<String, String>>,
) -> Response {
    let missing = || {
        page(
            &ctx,
            StatusCode::NOT_FOUND,
            pages::not_found(&ctx, Some(&clerk)),
        )
    };
    let (Some(id), Some(name)) = (params.get("id"), params.get("name")) else {
        return missing();
    };
    let Ok(id) = Uuid::parse_str(id) else {
        return missing();
    };
    if !county_api::is_valid_attachment_name(name) {
        return missing();
    }
    let lookup = name.clone();
    let found = state
        .storage(move |s, dirs| {
            Ok::<_, CountyError>(
                s.scan(id, &lookup)?
                    .map(|(content_type, sha)| (content_type, dirs.attachment(&sha))),
            )
        })
        .await;
    let (content_type, path) = match found {
        Ok(Some(found)) => found,
        Ok(None) => return missing(),
        Err(e) => return internal(e),
    };
    let bytes = match tokio::fs::read(&path).await {
        Ok(bytes) => bytes,
        Err(e) => {
            return internal(CountyError::file(
                format!("cannot read {}", path.display()),
                e,
            ));
        }
    };
    let kind = essence(&content_type);
    let (served, disposition, policy) = if inline_image(&kind) {
        (kind, "inline".to_owned(), "default-src 'none'; sandbox")
    } else if kind == "application/pdf" {
        (kind, "inline".to_owned(), "default-src 'none'")
    } else {
        (
            "application/octet-stream".to_owned(),
            format!("attachment; filename=\"{name}\""),
            "default-src 'none'; sandbox",
        )
    };
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    for (header, value) in [
        (CONTENT_TYPE, served),
        (CONTENT_DISPOSITION, disposition),
        (CONTENT_SECURITY_POLICY, policy.to_owned()),
        (CACHE_CONTROL, "private, no-store".to_owned()),
    ] {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert(header, value);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_own_pages_are_returned_to_after_login() {
        for (next, expected) in [
            (
                "/review/applications/x?lang=en",
                "/review/applications/x?lang=en",
            ),
            ("/review/stations", "/review/stations"),
            ("https://evil.example/", "/review/queue"),
            ("//evil.example/review/", "/review/queue"),
            ("/review//evil", "/review/queue"),
            ("/review/\\evil", "/review/queue"),
            ("/review/applications/x/decide", "/review/queue"),
            ("/review/login?next=/review/login", "/review/queue"),
            ("/v1/decisions", "/review/queue"),
            ("", "/review/queue"),
        ] {
            assert_eq!(safe_next(next), expected, "{next}");
        }
    }

    #[test]
    fn percent_encoding_keeps_paths_readable() {
        assert_eq!(
            percent_encode("/review/queue?station=st-a&x=李"),
            "/review/queue%3Fstation%3Dst-a%26x%3D%E6%9D%8E"
        );
    }

    #[test]
    fn only_raster_images_are_inline() {
        assert!(inline_image("image/jpeg"));
        assert!(inline_image("IMAGE/PNG; q=1"));
        assert!(!inline_image("image/svg+xml"));
        assert!(!inline_image("text/html"));
        assert!(!inline_image("application/pdf"));
    }
}
