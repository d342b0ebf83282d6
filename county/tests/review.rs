//! The clerks' review page over real HTTP: login, sessions, CSRF, decisions that reach the
//! station and the CLI, escaping of hostile values, the scan route and the dashboard.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{Server, Station, application, sha256_hex};
use county_api::{AttachmentManifest, DecisionKind, DecisionPage, SubmitApplication, paths};
use reqwest::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";
const SCAN: &[u8] = include_bytes!("../../tests/data/applications/scans/mother-id-card.jpg");

/// A browser without JavaScript: keeps cookies, never follows redirects.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: BTreeMap<String, String>,
}

/// One answer, read whole.
struct Page {
    status: StatusCode,
    location: Option<String>,
    content_type: String,
    set_cookies: Vec<String>,
    body: Vec<u8>,
}

impl Page {
    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    /// The `value` of the first hidden `csrf` input.
    fn csrf(&self) -> String {
        let text = self.text();
        let at = text
            .find(r#"name="csrf" value=""#)
            .unwrap_or_else(|| panic!("no csrf field in {text}"));
        let rest = &text[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').unwrap()].to_owned()
    }

    fn cookie(&self, name: &str) -> Option<&String> {
        self.set_cookies
            .iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }
}

impl Browser {
    fn new(server: &Server) -> Browser {
        Browser {
            base: server.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: BTreeMap::new(),
        }
    }

    async fn send(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            request = request.header("cookie", header);
        }
        if let Some(form) = form {
            request = request
                .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
                .body(encode(form));
        }
        let response = request.send().await.unwrap();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let location = header(LOCATION);
        let content_type = header(CONTENT_TYPE).unwrap_or_default();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .map(str::to_owned)
            .collect();
        for cookie in &set_cookies {
            let pair = cookie.split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        Page {
            status: response.status(),
            location,
            content_type,
            set_cookies,
            body: response.bytes().await.unwrap().to_vec(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        self.send(Method::GET, path, None).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.send(Method::POST, path, Some(form)).await
    }

    /// Log in through the form; returns the answer to the form.
    async fn log_in(&mut self, name: &str, password: &str) -> Page {
        let form = self.get("/review/login?next=/review/stations").await;
        assert_eq!(form.status, StatusCode::OK);
        let token = form.csrf();
        self.post(
            "/review/login",
            &[
                ("csrf", &token),
                ("next", "/review/stations"),
                ("name", name),
                ("password", password),
            ],
        )
        .await
    }

    /// A logged-in clerk's browser.
    async fn clerk(server: &Server, name: &str) -> Browser {
        let mut browser = Browser::new(server);
        let answer = browser.log_in(name, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.text());
        browser
    }
}

fn encode(form: &[(&str, &str)]) -> String {
    form.iter()
        .map(|(k, v)| {
            let escape = |s: &str| {
                s.bytes()
                    .map(|b| {
                        if b.is_ascii_alphanumeric() {
                            char::from(b).to_string()
                        } else {
                            format!("%{b:02X}")
                        }
                    })
                    .collect::<String>()
            };
            format!("{}={}", escape(k), escape(v))
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Submit an application with one real scan and upload the scan whole.
async fn submit_with_scan(station: &Station, mut app: SubmitApplication) -> SubmitApplication {
    // The mother's ID card is the real scan; the other required papers stay small ones.
    app.attachments.retain(|a| a.scan != "mother_id_card");
    app.attachments.insert(
        0,
        AttachmentManifest {
            name: "mother-id-card.jpg".into(),
            scan: "mother_id_card".into(),
            content_type: "image/jpeg".into(),
            size: SCAN.len() as u64,
            sha256: sha256_hex(SCAN),
        },
    );
    assert_eq!(station.submit(&app).await.status(), StatusCode::CREATED);
    let mut offset = 0;
    for piece in SCAN.chunks(8 * 1024) {
        let response = station
            .patch(app.application_id, "mother-id-card.jpg", offset, piece)
            .await;
        assert_eq!(response.status(), StatusCode::OK);
        offset += piece.len() as u64;
    }
    app
}

async fn decisions(station: &Station) -> DecisionPage {
    let response = station.get(paths::DECISIONS).await;
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

async fn server_with_clerk() -> Server {
    let server = Server::start().await;
    county::add_clerk(server.data_dir(), "li", PASSWORD).unwrap();
    server
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_the_login() {
    let server = server_with_clerk().await;
    let station = server.station("A").await;
    let app = submit_with_scan(&station, application(&[])).await;
    let id = app.application_id;
    let mut browser = Browser::new(&server);
    for (path, next) in [
        ("/review/queue", "/review/queue"),
        ("/review/stations", "/review/stations"),
        (
            &*format!("/review/applications/{id}"),
            &*format!("/review/applications/{id}"),
        ),
        (
            &*format!("/review/applications/{id}/scans/mother-id-card.jpg"),
            &*format!("/review/applications/{id}/scans/mother-id-card.jpg"),
        ),
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(
            page.location.as_deref(),
            Some(&*format!("/review/login?next={next}")),
            "{path}"
        );
        assert!(page.body.is_empty(), "no scan bytes without a session");
    }
    // A made-up session is no session.
    browser
        .cookies
        .insert("county_session".into(), "forged".into());
    let page = browser.get("/review/queue").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    // A form sent without a session goes back to its page via the login, and does nothing.
    let page = browser
        .post(
            &format!("/review/applications/{id}/decide"),
            &[("csrf", "x"), ("kind", "approve")],
        )
        .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(
        page.location.as_deref(),
        Some(&*format!("/review/login?next=/review/applications/{id}"))
    );
    assert!(decisions(&station).await.decisions.is_empty());
    server.stop().await;
}

#[tokio::test]
async fn login_refuses_a_wrong_password_and_opens_a_session_with_the_right_one() {
    let server = server_with_clerk().await;

    let mut browser = Browser::new(&server);
    let wrong = browser.log_in("li", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(
        wrong.text().contains("用户名或密码错误"),
        "{}",
        wrong.text()
    );
    assert!(wrong.cookie("county_session").is_none());
    let unknown = browser.log_in("wang", PASSWORD).await;
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert!(unknown.cookie("county_session").is_none());

    // The login form is protected too: without its cookie the token is worthless.
    let mut stranger = Browser::new(&server);
    let forged = stranger
        .post(
            "/review/login",
            &[("csrf", "guess"), ("name", "li"), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(forged.content_type.starts_with("text/plain"));
    assert!(forged.cookie("county_session").is_none());

    let ok = browser.log_in("li", PASSWORD).await;
    assert_eq!(ok.status, StatusCode::SEE_OTHER);
    assert_eq!(ok.location.as_deref(), Some("/review/stations"));
    let cookie = ok.cookie("county_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/review"] {
        assert!(cookie.contains(attribute), "{cookie} lacks {attribute}");
    }
    // Plain HTTP (a county behind a TLS proxy, or tests): a Secure cookie would be dropped.
    assert!(!cookie.contains("Secure"), "{cookie}");
    let token = cookie.split(';').next().unwrap().split_once('=').unwrap().1;
    assert!(token.len() >= 40, "{token}");
    let page = browser.get("/review/stations").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(">li<"), "the clerk's name is shown");

    // Only the token's hash is stored.
    let conn = rusqlite::Connection::open(county::database_path(server.data_dir())).unwrap();
    let stored: String = conn
        .query_row("SELECT token_sha256 FROM sessions", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored, sha256_hex(token.as_bytes()));

    // Logging out ends the session on the server, not only in the browser.
    let csrf = page.csrf();
    let out = browser.post("/review/logout", &[("csrf", &csrf)]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let mut replay = Browser::new(&server);
    replay
        .cookies
        .insert("county_session".into(), token.to_owned());
    assert_eq!(
        replay.get("/review/stations").await.status,
        StatusCode::SEE_OTHER
    );
    server.stop().await;
}

#[tokio::test]
async fn repeated_failed_logins_lock_the_name_for_a_while() {
    let server = server_with_clerk().await;
    county::add_clerk(server.data_dir(), "wang", PASSWORD).unwrap();
    let mut browser = Browser::new(&server);
    for _ in 0..5 {
        let wrong = browser.log_in("li", "guessing again").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    }
    // Now even the right password is refused for this name ...
    let locked = browser.log_in("li", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(
        locked.text().contains("登录失败次数过多"),
        "{}",
        locked.text()
    );
    assert!(locked.cookie("county_session").is_none());
    // ... but not for another clerk.
    assert_eq!(
        browser.log_in("wang", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    // The window passes (the failures age out of it).
    let conn = rusqlite::Connection::open(county::database_path(server.data_dir())).unwrap();
    conn.execute(
        "UPDATE audit SET at = '2000-01-01T00:00:00Z' WHERE action = 'login_failed'",
        [],
    )
    .unwrap();
    assert_eq!(
        browser.log_in("li", PASSWORD).await.status,
        StatusCode::SEE_OTHER
    );
    server.stop().await;
}

#[tokio::test]
async fn forms_without_the_sessions_csrf_token_are_refused() {
    let server = server_with_clerk().await;
    county::add_clerk(server.data_dir(), "wang", PASSWORD).unwrap();
    let station = server.station("A").await;
    let app = submit_with_scan(&station, application(&[])).await;
    let path = format!("/review/applications/{}", app.application_id);
    let mut li = Browser::clerk(&server, "li").await;
    let mut wang = Browser::clerk(&server, "wang").await;
    let wangs_token = wang.get(&path).await.csrf();
    let lis_token = li.get(&path).await.csrf();
    assert_ne!(wangs_token, lis_token, "one token per session");

    let decide = format!("{path}/decide");
    for token in [None, Some(""), Some("forged"), Some(wangs_token.as_str())] {
        let mut form = vec![("kind", "approve")];
        if let Some(token) = token {
            form.push(("csrf", token));
        }
        let page = li.post(&decide, &form).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{token:?}");
        assert!(page.content_type.starts_with("text/plain"), "{token:?}");
        assert!(page.text().contains("403"));
    }
    let logout = li.post("/review/logout", &[("csrf", "forged")]).await;
    assert_eq!(logout.status, StatusCode::FORBIDDEN);
    // Nothing happened: no decision, still logged in.
    assert!(decisions(&station).await.decisions.is_empty());
    assert_eq!(li.get(&path).await.status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn a_decision_on_the_page_reaches_the_station_and_the_command_line() {
    let server = server_with_clerk().await;
    let station = server.station("Xiaozhai").await;
    let app = submit_with_scan(&station, application(&[])).await;
    let id = app.application_id;
    let mut li = Browser::clerk(&server, "li").await;

    let queue = li.get("/review/queue").await;
    assert_eq!(queue.status, StatusCode::OK);
    let text = queue.text();
    assert!(text.contains(&app.tracking_number), "{text}");
    assert!(text.contains(&format!("/review/applications/{id}")));
    assert!(
        text.contains("Xiaozhai") && text.contains("生育登记"),
        "{text}"
    );

    let path = format!("/review/applications/{id}");
    let page = li.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    let text = page.text();
    let scan = format!("{path}/scans/mother-id-card.jpg");
    assert!(
        text.contains(&format!(r#"<img src="{scan}""#)),
        "the scan is inline: {text}"
    );
    assert!(text.contains("陶丽"), "field values are shown");
    let bytes = li.get(&scan).await;
    assert_eq!(bytes.status, StatusCode::OK);
    assert_eq!(bytes.content_type, "image/jpeg");
    assert_eq!(bytes.body, SCAN);

    // Asking to reject without a reason is refused on the page, and nothing is recorded.
    let csrf = page.csrf();
    let decide = format!("{path}/decide");
    let refused = li
        .post(
            &decide,
            &[("csrf", &csrf), ("kind", "reject"), ("reason", " ")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("请填写理由"), "{}", refused.text());
    let early = li
        .post(&decide, &[("csrf", &csrf), ("kind", "ready")])
        .await;
    assert_eq!(early.status, StatusCode::CONFLICT);
    assert!(decisions(&station).await.decisions.is_empty());

    let approved = li
        .post(&decide, &[("csrf", &csrf), ("kind", "approve")])
        .await;
    assert_eq!(approved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        approved.location.as_deref(),
        Some(&*format!("{path}?done=approve"))
    );
    let after = li.get(approved.location.as_deref().unwrap()).await;
    let text = after.text();
    assert!(text.contains(r#"data-state="approved""#), "{text}");
    assert!(text.contains("已批准"), "{text}");
    assert!(
        text.contains("clerk:li") && text.contains(r#"data-action="approve""#),
        "the audit trail names the clerk: {text}"
    );

    // The station pulls it.
    let page = decisions(&station).await;
    assert_eq!(page.decisions.len(), 1);
    assert_eq!(page.decisions[0].application_id, id);
    assert_eq!(page.decisions[0].kind, DecisionKind::Approve);

    // The command line sees it.
    let output = Command::new(env!("CARGO_BIN_EXE_county"))
        .args(["applications", "--json", "--data-dir"])
        .arg(server.data_dir())
        .env_remove("COUNTY_DATA_DIR")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");
    let list: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(list[0]["application_id"], id.to_string());
    assert_eq!(list[0]["state"], "approved");

    // Ready for pick-up, from the page too.
    let ready = li
        .post(&decide, &[("csrf", &csrf), ("kind", "ready")])
        .await;
    assert_eq!(ready.status, StatusCode::SEE_OTHER);
    let page = decisions(&station).await;
    assert_eq!(page.decisions[1].kind, DecisionKind::Ready);
    server.stop().await;
}

#[tokio::test]
async fn hostile_values_are_escaped_everywhere() {
    let server = server_with_clerk().await;
    let hostile = r#"<script>alert(1)</script>"><img src=x onerror=alert(2)>&amp;"#;
    let station = server.station("<b>寨</b>").await;
    let mut app = application(&[]);
    app.tracking_number = "<i>BP</i>".into();
    // Field ids are the definition's (intake refuses others); values are free text.
    app.fields.insert("mother.address".into(), hostile.into());
    app.fields
        .insert("father.address".into(), "<svg onload=alert(3)>".into());
    let app = submit_with_scan(&station, app).await;
    let mut li = Browser::clerk(&server, "li").await;
    let path = format!("/review/applications/{}", app.application_id);
    let decide = format!("{path}/decide");
    let csrf = li.get(&path).await.csrf();
    // A hostile reason comes back in the audit trail.
    let more = li
        .post(
            &decide,
            &[
                ("csrf", &csrf),
                ("kind", "more_papers"),
                ("reason", hostile),
            ],
        )
        .await;
    assert_eq!(more.status, StatusCode::SEE_OTHER);

    let mut pages = Vec::new();
    for p in [
        path.clone(),
        "/review/stations".to_owned(),
        "/review/queue".to_owned(),
    ] {
        let page = li.get(&p).await;
        assert_eq!(page.status, StatusCode::OK, "{p}");
        pages.push((p, page.text()));
    }
    let mut app2 = application(&[]);
    app2.tracking_number = "<i>BP</i>".into();
    submit_with_scan(&station, app2).await;
    let queue = li.get("/review/queue").await.text();
    pages.push(("/review/queue (full)".into(), queue));
    for (p, text) in &pages {
        for raw in ["<script", "<img src=x", "<svg", "<b>寨", "<i>BP"] {
            assert!(
                !text.contains(raw),
                "{p} carries {raw:?} unescaped:\n{text}"
            );
        }
    }
    let (_, detail) = &pages[0];
    assert!(
        detail.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt;&amp;amp;"),
        "{detail}"
    );
    assert!(detail.contains("&lt;svg onload=alert(3)&gt;"), "{detail}");
    assert!(detail.contains("&lt;i&gt;BP&lt;/i&gt;"), "{detail}");
    assert!(pages[1].1.contains("&lt;b&gt;寨&lt;/b&gt;"));
    assert!(pages[3].1.contains("&lt;i&gt;BP&lt;/i&gt;"));
    server.stop().await;
}

#[tokio::test]
async fn a_scan_declared_as_html_is_served_as_a_download() {
    let server = server_with_clerk().await;
    let station = server.station("A").await;
    let page = b"<html><script>alert(document.cookie)</script></html>";
    let mut app = application(&[("page.html", page)]);
    app.attachments[0].content_type = "text/html".into();
    let id = app.application_id;
    assert_eq!(station.submit(&app).await.status(), StatusCode::CREATED);
    assert_eq!(
        station.patch(id, "page.html", 0, page).await.status(),
        StatusCode::OK
    );
    let mut li = Browser::clerk(&server, "li").await;
    let detail = li.get(&format!("/review/applications/{id}")).await.text();
    assert!(
        !detail.contains(&format!(
            r#"<img src="/review/applications/{id}/scans/page.html""#
        )),
        "not shown as an image"
    );
    // (The required papers beside it are JPEGs and are shown.)
    assert!(detail.contains("<img src="));
    assert!(detail.contains(&format!(
        r#"<a href="/review/applications/{id}/scans/page.html">"#
    )));
    let scan = li
        .send(
            Method::GET,
            &format!("/review/applications/{id}/scans/page.html"),
            None,
        )
        .await;
    assert_eq!(scan.status, StatusCode::OK);
    assert_eq!(scan.content_type, "application/octet-stream");
    assert_eq!(scan.body, page);
    let response = reqwest::Client::new()
        .get(format!(
            "{}/review/applications/{id}/scans/page.html",
            server.base
        ))
        .header(
            "cookie",
            format!("county_session={}", li.cookies["county_session"]),
        )
        .send()
        .await
        .unwrap();
    let headers = response.headers();
    assert_eq!(
        headers["content-disposition"],
        r#"attachment; filename="page.html""#
    );
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("sandbox")
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // Unknown names and applications are plain 404s, path tricks included.
    for bad in [
        format!("/review/applications/{id}/scans/missing.jpg"),
        format!("/review/applications/{id}/scans/..%2Fcounty.sqlite3"),
        format!("/review/applications/{}/scans/page.html", Uuid::now_v7()),
        "/review/applications/not-a-uuid".to_owned(),
    ] {
        assert_eq!(li.get(&bad).await.status, StatusCode::NOT_FOUND, "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn english_is_one_link_away_and_remembered() {
    let server = server_with_clerk().await;
    let mut browser = Browser::new(&server);
    let zh = browser.get("/review/login").await;
    assert!(zh.text().contains(r#"<html lang="zh-CN">"#));
    assert!(zh.text().contains("审核人员登录"));
    assert!(zh.text().contains(r#"href="/review/login?lang=en""#));
    let en = browser.get("/review/login?lang=en").await;
    assert!(en.text().contains("Clerk login"), "{}", en.text());
    assert!(
        en.cookie("county_lang")
            .is_some_and(|c| c.starts_with("county_lang=en"))
    );
    browser.log_in("li", PASSWORD).await;
    let stations = browser.get("/review/stations").await;
    assert!(stations.text().contains("Last contact"), "remembered");
    let back = browser.get("/review/stations?lang=zh").await;
    assert!(back.text().contains("最后联系"));
    server.stop().await;
}

#[tokio::test]
async fn the_dashboard_shows_backlog_and_silent_stations() {
    let server = server_with_clerk().await;
    let busy = server.station("Busy").await;
    let quiet = server.station("Quiet").await;
    let never = county::add_station(server.data_dir(), "Never", &server.base).unwrap();
    // Busy: one application still receiving its scan, one complete.
    let waiting = application(&[("a.jpg", SCAN)]);
    assert_eq!(busy.submit(&waiting).await.status(), StatusCode::CREATED);
    submit_with_scan(&busy, application(&[])).await;
    // Quiet was last heard from three hours ago.
    let conn = rusqlite::Connection::open(county::database_path(server.data_dir())).unwrap();
    conn.execute(
        "UPDATE stations SET last_contact_at = '2000-01-01T00:00:00Z' WHERE id = ?1",
        [&quiet.id],
    )
    .unwrap();

    let mut li = Browser::clerk(&server, "li").await;
    let text = li.get("/review/stations?lang=en").await.text();
    let row = |id: &str| {
        let start = text
            .find(&format!(r#"data-station="{id}""#))
            .unwrap_or_else(|| panic!("no row for {id}: {text}"));
        let end = text[start..].find("</tr>").unwrap() + start;
        text[start..end].to_owned()
    };
    let busy_row = row(&busy.id);
    assert!(!busy_row.contains("cut off"), "{busy_row}");
    assert!(busy_row.contains("just now"), "{busy_row}");
    assert!(
        busy_row.contains("<td>1</td><td><a href=\"/review/queue?station="),
        "one receiving, one undecided: {busy_row}"
    );
    let quiet_row = row(&quiet.id);
    assert!(quiet_row.contains("cut off"), "{quiet_row}");
    assert!(row(&never.station_id).contains("not enrolled yet"));

    county::revoke_station(server.data_dir(), &quiet.id).unwrap();
    let text = li.get("/review/stations?lang=en").await.text();
    assert!(text.contains("revoked"), "{text}");
    server.stop().await;
}

/// A station's self-test arrives with its contact and shows on the station dashboard: the
/// failing checks by name (what to do on hover), later replaced by a newer passing one; a
/// late older report changes nothing, a malformed one is a 400.
#[tokio::test]
async fn the_stations_latest_self_test_is_on_the_dashboard() {
    use county_api::{SelftestCheck, SelftestReport};
    let server = server_with_clerk().await;
    let station = server.station("曼庄村").await;
    let report = |at: &str, printer_ok: bool| SelftestReport {
        checked_at: at.into(),
        ok: printer_ok,
        version: "0.1.0".into(),
        checks: vec![
            SelftestCheck {
                name: "reader".into(),
                ok: true,
                detail: "读卡器正常 Reader answers".into(),
                action: None,
            },
            SelftestCheck {
                name: "printer".into(),
                ok: printer_ok,
                detail: "打印机不能打印 The printer cannot print: out of paper".into(),
                action: (!printer_ok).then(|| "装纸 Load paper".into()),
            },
        ],
    };
    let send = |r: SelftestReport| {
        let request = station
            .request(reqwest::Method::POST, county_api::paths::SELFTEST)
            .json(&r);
        async move { request.send().await.unwrap() }
    };
    let mut browser = Browser::new(&server);
    browser.log_in("li", PASSWORD).await;
    let page = browser.get("/review/stations").await;
    assert!(page.text().contains("未收到"), "{}", page.text());

    let r = send(report("2026-11-25T09:00:00+08:00", false)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let text = browser.get("/review/stations").await.text().to_string();
    assert!(text.contains("回执打印机"), "{text}");
    assert!(text.contains("未通过"), "{text}");
    assert!(
        text.contains("装纸 Load paper"),
        "what to do, on hover: {text}"
    );

    let r = send(report("2026-11-25T10:00:00+08:00", true)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let r = send(report("2026-11-25T08:00:00+08:00", false)).await;
    assert_eq!(r.status(), StatusCode::NO_CONTENT, "accepted, but older");
    let text = browser.get("/review/stations").await.text().to_string();
    assert!(text.contains("全部正常"), "{text}");
    assert!(!text.contains("装纸 Load paper"), "{text}");

    let mut bad = report("not a time", true);
    let r = send(bad.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    bad.checked_at = "2026-11-25T11:00:00Z".into();
    bad.ok = false;
    let r = send(bad).await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "ok disagrees with the checks"
    );
}

/// What the station said of its clock at the capture is on the application's page; a
/// doubtful clock says the ages were checked by the county's day.
#[tokio::test]
async fn the_stations_clock_note_is_shown_with_the_submission_time() {
    use county_api::{ClockConfidence, ClockNote};
    let server = server_with_clerk().await;
    let station = server.station("A").await;
    let mut doubtful = application(&[]);
    doubtful.clock = Some(ClockNote {
        confidence: ClockConfidence::Doubtful,
        county_offset_secs: None,
        compared_at: None,
    });
    let doubtful = submit_with_scan(&station, doubtful).await;
    let mut checked = application(&[]);
    checked.clock = Some(ClockNote {
        confidence: ClockConfidence::Checked,
        county_offset_secs: Some(-4),
        compared_at: Some("2024-05-01T07:00:00Z".into()),
    });
    let checked = submit_with_scan(&station, checked).await;
    let mut browser = Browser::new(&server);
    browser.log_in("li", PASSWORD).await;
    let page = browser
        .get(&format!("/review/applications/{}", doubtful.application_id))
        .await;
    let text = page.text();
    assert!(text.contains("data-confidence=\"doubtful\""), "{text}");
    assert!(text.contains("年龄按县平台接收日核对"), "{text}");
    let page = browser
        .get(&format!("/review/applications/{}", checked.application_id))
        .await;
    assert!(page.text().contains("与县平台相差 4 秒"), "{}", page.text());
}

#[tokio::test]
async fn a_clerk_publishes_a_notice_to_chosen_stations_on_the_page() {
    let server = server_with_clerk().await;
    let a = server.station("Xiaozhai").await;
    let b = server.station("Dazhai").await;
    let mut li = Browser::clerk(&server, "li").await;
    let page = li.get("/review/notices").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains("Xiaozhai"), "stations to choose from");
    let token = page.csrf();
    // Without the session's token nothing is published.
    let forged = li.post("/review/notices", &notice_form("forged")).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    let empty: county_api::NoticePage = a.get("/v1/notices").await.json().await.unwrap();
    assert!(empty.notices.is_empty());

    // A missing language is refused with the draft kept.
    let token = token.as_str();
    let mut missing = notice_form(token);
    missing[3].1 = " ";
    let refused = li.post("/review/notices", &missing).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.text().contains("must not be empty"),
        "{}",
        refused.text()
    );
    assert!(refused.text().contains("疫苗接种"), "the draft is kept");

    let mut bad_date = notice_form(token);
    bad_date.push(("expires_on", "next week"));
    let refused = li.post("/review/notices", &bad_date).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.text().contains("RFC 3339"), "{}", refused.text());

    let mut to_a = notice_form(token);
    to_a.push(("station", &a.id));
    to_a.push(("expires_on", "2030-01-31"));
    let sent = li.post("/review/notices", &to_a).await;
    assert_eq!(sent.status, StatusCode::SEE_OTHER, "{}", sent.text());
    let listed = li.get(sent.location.as_deref().unwrap()).await.text();
    assert!(
        listed.contains(r#"id="notice""#),
        "a banner says it was published"
    );
    assert!(
        listed.contains("周三在村委会。&lt;b&gt;"),
        "escaped: {listed}"
    );

    let page_a: county_api::NoticePage = a.get("/v1/notices").await.json().await.unwrap();
    assert_eq!(page_a.notices.len(), 1);
    assert_eq!(page_a.notices[0].title.en, "Vaccination");
    assert_eq!(
        page_a.notices[0].expires_at.as_deref(),
        Some("2030-01-31T23:59:59+08:00")
    );
    let page_b: county_api::NoticePage = b.get("/v1/notices").await.json().await.unwrap();
    assert!(page_b.notices.is_empty(), "only the chosen station");

    // No station ticked: every station.
    assert_eq!(
        li.post("/review/notices", &notice_form(token)).await.status,
        StatusCode::SEE_OTHER
    );
    let page_b: county_api::NoticePage = b.get("/v1/notices").await.json().await.unwrap();
    assert_eq!(page_b.notices.len(), 1);
    let rows = county::list_notices(server.data_dir()).unwrap();
    assert_eq!(rows.len(), 2);
    server.stop().await;
}

fn notice_form(csrf: &str) -> Vec<(&str, &str)> {
    vec![
        ("csrf", csrf),
        ("title_zh", "疫苗接种"),
        ("title_en", "Vaccination"),
        ("body_zh", "周三在村委会。<b>"),
        ("body_en", "Wednesday at the village office."),
    ]
}

#[tokio::test]
async fn an_application_is_labelled_by_the_revision_it_was_captured_under() {
    let server = server_with_clerk().await;
    let station = server.station("A").await;
    let mut def = serde_json::to_value(
        kiosk_domain::builtin()
            .into_iter()
            .find(|d| d.id == "birth-permit")
            .unwrap(),
    )
    .unwrap();
    def["version"] = 2.into();
    def["fields"][0]["label"]["zh"] = "母亲姓名（第二版）".into();
    let file = server.data_dir().join("revision.json");
    std::fs::write(&file, def.to_string()).unwrap();
    county::publish_catalog(server.data_dir(), &file, "li").unwrap();

    let old = application(&[]);
    let mut new = application(&[]);
    new.service_version = 2;
    for app in [&old, &new] {
        assert_eq!(station.submit(app).await.status(), StatusCode::CREATED);
    }
    let mut li = Browser::clerk(&server, "li").await;
    let old_page = li
        .get(&format!("/review/applications/{}", old.application_id))
        .await
        .text();
    let new_page = li
        .get(&format!("/review/applications/{}", new.application_id))
        .await
        .text();
    assert!(!old_page.contains("第二版"), "{old_page}");
    assert!(new_page.contains("母亲姓名（第二版）"), "{new_page}");
    server.stop().await;
}
