//! The review page in a real headless browser (system tier: Debian's `chromium` and
//! `chromium-driver`, driven over the W3C WebDriver protocol as plain JSON over HTTP).
//!
//! A real `county serve` process, a clerk and a station added with the real CLI, an
//! application with real scans sent through the real API; then in Chromium: log in, open the
//! application, check its scans loaded, approve, and see the decision reach the station.
//! `UPDATE_SCREENS=1` saves `docs/screens/review-application.png` and `review-stations.png`.
//!
//! Run: `cargo test -p county --features system-tier --test browser` (`.ci/system-tier`
//! installs the packages). With the feature on and Chromium missing, the test fails.

#![cfg(feature = "system-tier")]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use county_api::{
    AttachmentManifest, DecisionKind, DecisionPage, EnrolRequest, EnrolResponse, Provisioning,
    SubmitApplication, paths,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";
const SCANS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/applications");

/// A child process killed (by its own id) when dropped.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn county() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_county"));
    command.env_remove("COUNTY_DATA_DIR").env_remove("RUST_LOG");
    command
}

/// A program on PATH, or a failure naming the Debian package: the system tier never skips.
fn require(program: &str, package: &str) -> PathBuf {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| {
            panic!("{program} is missing: apt-get install {package} (or run .ci/system-tier)")
        })
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `county serve` on a free port; returns the process and its base URL.
fn start_county(data: &Path) -> (Process, String) {
    let mut child = county()
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start county serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let base = line
        .trim()
        .strip_prefix("county: listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    (Process(child), base)
}

/// The application the test submits: the sample birth permit with its real scans.
fn sample_application() -> (SubmitApplication, Vec<(String, Vec<u8>)>) {
    let sample: Value = serde_json::from_str(
        &std::fs::read_to_string(format!("{SCANS}/birth-permit.json")).unwrap(),
    )
    .unwrap();
    let fields = sample["fields"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
        .collect();
    let mut files = Vec::new();
    let mut attachments = Vec::new();
    // Every paper birth-permit requires (the county refuses a record without one).
    for (scan, file) in [
        ("mother_id_card", "mother-id-card.jpg"),
        ("father_id_card", "father-id-card.jpg"),
        ("mother_household_register", "mother-household-register.jpg"),
        ("father_household_register", "father-household-register.jpg"),
        ("marriage_certificate", "marriage-certificate.jpg"),
    ] {
        let bytes = std::fs::read(format!("{SCANS}/scans/{file}")).unwrap();
        attachments.push(AttachmentManifest {
            name: file.into(),
            scan: scan.into(),
            content_type: "image/jpeg".into(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(&bytes)),
        });
        files.push((file.to_owned(), bytes));
    }
    let app = SubmitApplication {
        application_id: Uuid::now_v7(),
        tracking_number: "BP-20261125-0042".into(),
        service: "birth-permit".into(),
        service_version: 1,
        submitted_at: "2026-11-25T08:30:00Z".into(),
        fields,
        attachments,
        sealed: None,
        clock: None,
    };
    (app, files)
}

/// Enrol the station with its provisioning file and send the application through the API.
async fn station_submits(base: &str, provisioning: &Path) -> (String, SubmitApplication) {
    let provisioning: Provisioning =
        toml::from_str(&std::fs::read_to_string(provisioning).unwrap()).unwrap();
    county::install_tls_provider();
    let http = reqwest::Client::new();
    let enrolled: EnrolResponse = http
        .post(format!("{base}{}", paths::ENROL))
        .json(&EnrolRequest {
            station_id: provisioning.station_id,
            enrolment_token: provisioning.enrolment_token,
            signing_public_key: None,
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let (app, files) = sample_application();
    let id = app.application_id;
    let put = http
        .put(format!("{base}{}", paths::application(&id)))
        .bearer_auth(&enrolled.credential)
        .json(&app)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), reqwest::StatusCode::CREATED);
    for (name, bytes) in files {
        let patch = http
            .patch(format!("{base}{}", paths::attachment(&id, &name)))
            .bearer_auth(&enrolled.credential)
            .header(county_api::UPLOAD_OFFSET_HEADER, "0")
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert_eq!(patch.status(), reqwest::StatusCode::OK);
    }
    (enrolled.credential, app)
}

/// A WebDriver session.
struct Browser {
    http: reqwest::Client,
    session: String,
}

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

impl Browser {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let url = format!("{}/{path}", self.session);
        let mut request = self.http.request(method, &url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let value: Value = response.json().await.unwrap();
        assert!(status.is_success(), "{path}: {status} {value}");
        value["value"].clone()
    }

    async fn go(&self, url: &str) {
        self.call(reqwest::Method::POST, "url", Some(json!({ "url": url })))
            .await;
    }

    async fn find(&self, css: &str) -> String {
        let found = self
            .call(
                reqwest::Method::POST,
                "element",
                Some(json!({ "using": "css selector", "value": css })),
            )
            .await;
        found[ELEMENT].as_str().unwrap().to_owned()
    }

    async fn type_into(&self, css: &str, text: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("element/{element}/value"),
            Some(json!({ "text": text })),
        )
        .await;
    }

    async fn click(&self, css: &str) {
        let element = self.find(css).await;
        self.call(
            reqwest::Method::POST,
            &format!("element/{element}/click"),
            Some(json!({})),
        )
        .await;
    }

    async fn script(&self, script: &str) -> Value {
        self.call(
            reqwest::Method::POST,
            "execute/sync",
            Some(json!({ "script": script, "args": [] })),
        )
        .await
    }

    async fn url(&self) -> String {
        self.call(reqwest::Method::GET, "url", None)
            .await
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Evaluate `script` until it returns `true`.
    async fn wait_for(&self, script: &str, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.script(script).await == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Save a screenshot under docs/screens when UPDATE_SCREENS=1.
    async fn screenshot(&self, name: &str) {
        if std::env::var_os("UPDATE_SCREENS").is_none() {
            return;
        }
        let encoded = self.call(reqwest::Method::GET, "screenshot", None).await;
        let png = base64_decode(encoded.as_str().unwrap());
        assert!(png.starts_with(b"\x89PNG"), "a PNG");
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../docs/screens")
            .join(name);
        std::fs::write(&path, png).unwrap();
        eprintln!("wrote {}", path.display());
    }
}

fn base64_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut buffer, mut bits) = (0u32, 0);
    for byte in text
        .bytes()
        .filter(|b| *b != b'=' && !b.is_ascii_whitespace())
    {
        let value = ALPHABET.iter().position(|c| *c == byte).expect("base64") as u32;
        buffer = (buffer << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
            buffer &= (1 << bits) - 1;
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_clerk_logs_in_sees_the_scans_and_approves_in_chromium() {
    let chromium = require("chromium", "chromium");
    let driver = require("chromedriver", "chromium-driver");
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("county");

    // The county, a clerk and a station, all through the real command line.
    let (_county, base) = start_county(&data);
    let mut add = county()
        .args(["clerk", "add", "--name", "li", "--data-dir"])
        .arg(&data)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    writeln!(add.stdin.take().unwrap(), "{PASSWORD}").unwrap();
    assert!(add.wait().unwrap().success());
    let provisioning = dir.path().join("station.toml");
    let added = county()
        .args([
            "station",
            "add",
            "--name",
            "坝美村",
            "--url",
            &base,
            "--out",
        ])
        .arg(&provisioning)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(added.status.success(), "{added:?}");
    let (credential, app) = station_submits(&base, &provisioning).await;
    let id = app.application_id;

    // Chromium behind chromedriver.
    let port = free_port();
    let _driver = Process(
        Command::new(&driver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    county::install_tls_provider();
    let http = reqwest::Client::new();
    let webdriver = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let ready = match http.get(format!("{webdriver}/status")).send().await {
            Ok(r) => r.json::<Value>().await.ok(),
            Err(_) => None,
        };
        if ready.is_some_and(|v| v["value"]["ready"] == json!(true)) {
            break;
        }
        assert!(Instant::now() < deadline, "chromedriver did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let profile = dir.path().join("chromium-profile");
    let created: Value = http
        .post(format!("{webdriver}/session"))
        .json(&json!({ "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1280,1000",
                    "--lang=zh-CN",
                    format!("--user-data-dir={}", profile.display()),
                ],
            },
        } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["value"]["sessionId"]
        .as_str()
        .unwrap_or_else(|| panic!("no WebDriver session: {created}"));
    let browser = Browser {
        http: http.clone(),
        session: format!("{webdriver}/session/{session}"),
    };

    // Log in: the queue sends us to the login page, which sends us back.
    browser.go(&format!("{base}/review/queue")).await;
    assert!(browser.url().await.contains("/review/login"));
    browser.type_into("#name", "li").await;
    browser.type_into("#password", "wrong password").await;
    browser.click("#login").await;
    browser
        .wait_for(
            "return document.getElementById('login-error') !== null",
            "the login error",
        )
        .await;
    browser.type_into("#password", PASSWORD).await;
    browser.click("#login").await;
    browser
        .wait_for(
            "return location.pathname === '/review/queue'",
            "the queue after login",
        )
        .await;

    // Open the application from the queue; its scans load as images.
    browser
        .click(&format!("a[href='/review/applications/{id}']"))
        .await;
    browser
        .wait_for(
            &format!(
                "return document.images.length === {} && \
                 Array.from(document.images).every(i => i.complete)",
                app.attachments.len()
            ),
            "the scans",
        )
        .await;
    let widths = browser
        .script("return Array.from(document.images).map(i => i.naturalWidth)")
        .await;
    let widths: Vec<u64> = serde_json::from_value(widths).unwrap();
    assert!(
        widths.len() == app.attachments.len() && widths.iter().all(|w| *w > 0),
        "every scan decoded: {widths:?}"
    );
    let page_text = browser.script("return document.body.innerText").await;
    let page_text = page_text.as_str().unwrap();
    assert!(
        page_text.contains("陶丽") && page_text.contains("母亲身份证"),
        "{page_text}"
    );
    browser.screenshot("review-application.png").await;

    // Approve.
    browser.click("#approve").await;
    browser
        .wait_for(
            "const s = document.getElementById('state'); \
             return s !== null && s.dataset.state === 'approved'",
            "the approved state",
        )
        .await;
    let trail = browser
        .script("return document.getElementById('audit').innerText")
        .await;
    assert!(trail.as_str().unwrap().contains("clerk:li"), "{trail}");

    // The station pulls the decision.
    let page: DecisionPage = http
        .get(format!("{base}{}", paths::DECISIONS))
        .bearer_auth(&credential)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page.decisions.len(), 1);
    assert_eq!(page.decisions[0].application_id, id);
    assert_eq!(page.decisions[0].kind, DecisionKind::Approve);

    // The dashboard, with a village that went silent and one never set up.
    let silent = dir.path().join("silent.toml");
    let never = dir.path().join("never.toml");
    for (name, file) in [("那洒村", &silent), ("董堡村", &never)] {
        let added = county()
            .args(["station", "add", "--name", name, "--url", &base, "--out"])
            .arg(file)
            .arg("--data-dir")
            .arg(&data)
            .output()
            .unwrap();
        assert!(added.status.success(), "{added:?}");
    }
    let (silent_credential, _) = station_submits(&base, &silent).await;
    drop(silent_credential);
    let conn = rusqlite::Connection::open(county::database_path(&data)).unwrap();
    let three_hours_ago = (time::OffsetDateTime::now_utc() - time::Duration::hours(3))
        .replace_nanosecond(0)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    conn.execute(
        "UPDATE stations SET last_contact_at = ?1 WHERE name = '那洒村'",
        [&three_hours_ago],
    )
    .unwrap();
    browser.go(&format!("{base}/review/stations")).await;
    browser
        .wait_for(
            "return document.getElementById('stations') !== null",
            "the dashboard",
        )
        .await;
    let dashboard = browser.script("return document.body.innerText").await;
    let dashboard = dashboard.as_str().unwrap();
    assert!(dashboard.contains("坝美村"), "{dashboard}");
    assert!(dashboard.contains("失联 · 3 小时前"), "{dashboard}");
    assert!(dashboard.contains("未注册"), "{dashboard}");
    browser.screenshot("review-stations.png").await;

    http.delete(&browser.session).send().await.unwrap();
}
