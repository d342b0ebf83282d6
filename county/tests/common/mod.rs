//! Shared helpers: a real county server on 127.0.0.1:0 over a temporary data directory, and
//! enrolled stations that talk to it with reqwest.

#![allow(dead_code)] // Each test binary uses a different subset.

use std::collections::BTreeMap;
use std::path::Path;

use county_api::{
    AttachmentManifest, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, SubmitApplication, paths,
};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use sha2::{Digest, Sha256};
use tokio::sync::oneshot;
use uuid::Uuid;

pub struct Server {
    pub base: String,
    pub dir: tempfile::TempDir,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), county::CountyError>>>,
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(tempfile::tempdir().unwrap(), |_| {}).await
    }

    /// A server on `dir` (which may hold an earlier server's data) whose state `setup`
    /// adjusts before it serves.
    pub async fn start_with(
        dir: tempfile::TempDir,
        setup: impl FnOnce(&county::AppState),
    ) -> Server {
        // Before any test builds a reqwest client.
        county::install_tls_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let (stop, stopped) = oneshot::channel::<()>();
        let state = county::AppState::open(dir.path()).unwrap();
        setup(&state);
        let task = tokio::spawn(async move {
            county::serve_state(listener, state, async {
                let _ = stopped.await;
            })
            .await
        });
        Server {
            base,
            dir,
            stop: Some(stop),
            task: Some(task),
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Register a station (as `county station add` does) and enrol it over HTTP.
    pub async fn station(&self, name: &str) -> Station {
        let provisioning = county::add_station(self.data_dir(), name, &self.base).unwrap();
        let http = reqwest::Client::new();
        let response = http
            .post(self.url(paths::ENROL))
            .json(&EnrolRequest {
                station_id: provisioning.station_id.clone(),
                enrolment_token: provisioning.enrolment_token.clone(),
                signing_public_key: None,
            })
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let enrolled: EnrolResponse = response.json().await.unwrap();
        assert_eq!(enrolled.station_id, provisioning.station_id);
        assert_eq!(enrolled.station_name, name);
        Station {
            id: enrolled.station_id,
            credential: enrolled.credential,
            county_key: provisioning.county_public_key,
            base: self.base.clone(),
            http,
        }
    }

    /// Stop the server and wait for it to finish gracefully.
    pub async fn stop(self) {
        self.stop_keeping_data().await;
    }

    /// Stop the server gracefully; its data directory is handed back for another one.
    pub async fn stop_keeping_data(mut self) -> tempfile::TempDir {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap().unwrap();
        }
        let placeholder = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.dir, placeholder)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// An enrolled station.
#[derive(Clone)]
pub struct Station {
    pub id: String,
    pub credential: String,
    /// The county's public key from the provisioning file.
    pub county_key: String,
    pub base: String,
    pub http: reqwest::Client,
}

impl Station {
    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.credential)
    }

    /// PUT the application; when the county took it new (201), also upload the required
    /// papers [`application`] added (see [`filler`]), so that only the test's own files
    /// are outstanding, as before the county checked for required scans. Returns the PUT's
    /// answer (its receipt lists the papers as not yet arrived).
    pub async fn submit(&self, application: &SubmitApplication) -> Response {
        let response = self.put(application).await;
        if response.status() == StatusCode::CREATED {
            self.upload_fillers(application).await;
        }
        response
    }

    /// PUT the application, nothing else.
    pub async fn put(&self, application: &SubmitApplication) -> Response {
        self.request(
            Method::PUT,
            &paths::application(&application.application_id),
        )
        .json(application)
        .send()
        .await
        .unwrap()
    }

    /// Upload, whole, each required paper [`application`] added.
    pub async fn upload_fillers(&self, application: &SubmitApplication) {
        for a in &application.attachments {
            if let Some(bytes) = filler(&a.name).filter(|b| sha256_hex(b) == a.sha256) {
                let response = self
                    .patch(application.application_id, &a.name, 0, &bytes)
                    .await;
                assert_eq!(response.status(), StatusCode::OK, "filler {}", a.name);
            }
        }
    }

    pub async fn patch(&self, id: Uuid, name: &str, offset: u64, chunk: &[u8]) -> Response {
        self.request(Method::PATCH, &paths::attachment(&id, name))
            .header(county_api::UPLOAD_OFFSET_HEADER, offset.to_string())
            .header("content-type", "application/octet-stream")
            .body(chunk.to_vec())
            .send()
            .await
            .unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.request(Method::GET, path).send().await.unwrap()
    }
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Deterministic, non-repeating-looking content of `len` bytes.
pub fn content(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3] ^ seed)
        .collect()
}

/// The fields of a valid birth-permit application (`tests/data/applications`), valid on
/// the fixtures' `submitted_at`.
pub fn birth_permit_fields() -> BTreeMap<String, String> {
    let text = include_str!("../../../tests/data/applications/birth-permit.json");
    let sample: serde_json::Value = serde_json::from_str(text).unwrap();
    serde_json::from_value(sample["fields"].clone()).unwrap()
}

/// The scan slots birth-permit requires (the sample fills every group).
pub const REQUIRED_SCANS: [&str; 5] = [
    "mother_id_card",
    "father_id_card",
    "mother_household_register",
    "father_household_register",
    "marriage_certificate",
];

/// The bytes of the paper [`application`] adds for a required slot, by its attachment name
/// (`<slot>.jpg`); `None` for any other name.
pub fn filler(name: &str) -> Option<Vec<u8>> {
    let slot = name.strip_suffix(".jpg")?;
    let i = REQUIRED_SCANS.iter().position(|s| *s == slot)?;
    Some(content(40 + i, 0xa0 + i as u8))
}

/// A valid birth-permit application carrying these files (all as pages of
/// `mother_id_card`), plus a small paper `<slot>.jpg` ([`filler`]) for each required slot
/// they leave empty, since the county refuses an application without its required scans.
pub fn application(files: &[(&str, &[u8])]) -> SubmitApplication {
    let mut app = application_with(files);
    for slot in REQUIRED_SCANS {
        if app.attachments.iter().any(|a| a.scan == slot) {
            continue;
        }
        let name = format!("{slot}.jpg");
        let bytes = filler(&name).expect("a filler name");
        app.attachments.push(AttachmentManifest {
            name,
            scan: slot.into(),
            content_type: "image/jpeg".into(),
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
    }
    app
}

/// A birth-permit application carrying exactly these files (all as `mother_id_card`).
pub fn application_with(files: &[(&str, &[u8])]) -> SubmitApplication {
    SubmitApplication {
        application_id: Uuid::now_v7(),
        tracking_number: "BP-2024-0001".into(),
        service: "birth-permit".into(),
        service_version: 1,
        submitted_at: "2024-05-01T08:00:00Z".into(),
        fields: birth_permit_fields(),
        attachments: files
            .iter()
            .map(|(name, bytes)| AttachmentManifest {
                name: (*name).into(),
                scan: "mother_id_card".into(),
                content_type: "image/jpeg".into(),
                size: bytes.len() as u64,
                sha256: sha256_hex(bytes),
            })
            .collect(),
        sealed: None,
        clock: None,
    }
}

/// Assert an error answer: its status and the `ErrorBody` code; returns the body.
pub async fn expect_error(response: Response, status: StatusCode, code: ErrorCode) -> ErrorBody {
    assert_eq!(response.status(), status, "status");
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let text = response.text().await.unwrap();
    assert!(
        content_type.starts_with("application/json"),
        "error answers are JSON, got {content_type}: {text}"
    );
    let body: ErrorBody =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not an ErrorBody ({e}): {text}"));
    assert_eq!(body.code, code, "{text}");
    assert!(!body.message.is_empty() && !body.message_zh.is_empty());
    body
}
