//! The conformance suite every [`Storage`] backend must pass: the station API driven over
//! the real router (`crate::app`) on a state built from the backend under test, plus the
//! clerk side (decisions, notices, sessions, the SMS queue) through the trait. It only
//! knows `&dyn Storage`, so a second backend (PostgreSQL for a province) adds one
//! `#[tokio::test]` that calls [`run`] with its own storage, and runs the same checks.
//!
//! What it pins: enrolment spends a token once; the same submission sent concurrently
//! yields one application; other content under the same id is a conflict and another
//! station's id is not found; a chunk at the wrong offset is told where to resume; a whole
//! file with the wrong SHA-256 restarts at 0; an application is complete only when every
//! attachment is; the decision rules and the per-station cursor; station isolation for
//! decisions and notices; hand-over only when ready; the catalog's ETag; clerk login facts
//! and sessions; one SMS row per decision with a mobile number; contacts batched; revocation.

use std::path::Path;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use county_api::{
    AttachmentManifest, CountyState, DecisionKind, DecisionPage, EnrolRequest, EnrolResponse,
    ErrorBody, ErrorCode, HandOver, I18nText, NoticePage, SelftestCheck, SelftestReport,
    SubmissionReceipt, SubmitApplication, paths,
};
use tower::ServiceExt;
use uuid::Uuid;

use super::Storage;
use super::{Credential, Revocation};
use crate::catalog::Published;
use crate::{AppState, CountyError, files};

/// One answer of the router: status, ETag and body.
struct Answer {
    status: StatusCode,
    etag: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json<T: serde::de::DeserializeOwned>(&self) -> T {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not the expected JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// Assert an `ErrorBody` answer with this status and code.
    fn error(&self, status: StatusCode, code: ErrorCode) -> ErrorBody {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        let body: ErrorBody = self.json();
        assert_eq!(body.code, code, "{body:?}");
        body
    }
}

#[derive(Clone)]
struct Client {
    state: AppState,
}

impl Client {
    async fn send(&self, request: Request<Body>) -> Answer {
        let response = crate::app(self.state.clone())
            .oneshot(request)
            .await
            .expect("the router answers");
        let status = response.status();
        let etag = response
            .headers()
            .get("etag")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .expect("a body")
            .to_vec();
        Answer { status, etag, body }
    }

    async fn json(
        &self,
        method: &str,
        path: &str,
        credential: Option<&str>,
        body: &impl serde::Serialize,
    ) -> Answer {
        let mut request = Request::builder()
            .method(method)
            .uri(path)
            .header("content-type", "application/json");
        if let Some(c) = credential {
            request = request.header("authorization", format!("Bearer {c}"));
        }
        self.send(
            request
                .body(Body::from(serde_json::to_vec(body).unwrap()))
                .unwrap(),
        )
        .await
    }

    async fn get(&self, path: &str, credential: &str, if_none_match: Option<&str>) -> Answer {
        let mut request =
            Request::get(path).header("authorization", format!("Bearer {credential}"));
        if let Some(tag) = if_none_match {
            request = request.header("if-none-match", tag);
        }
        self.send(request.body(Body::empty()).unwrap()).await
    }

    async fn patch(
        &self,
        credential: &str,
        id: Uuid,
        name: &str,
        offset: u64,
        chunk: &[u8],
    ) -> Answer {
        let request = Request::patch(paths::attachment(&id, name))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/octet-stream")
            .header(county_api::UPLOAD_OFFSET_HEADER, offset.to_string())
            .body(Body::from(chunk.to_vec()))
            .unwrap();
        self.send(request).await
    }

    /// Register a station through the storage and enrol it over HTTP; its credential.
    async fn station(&self, storage: &dyn Storage, name: &str) -> (String, String) {
        let token = files::random_base32(20);
        let id = storage
            .add_station(
                name,
                "http://county.invalid",
                &files::sha256_hex(token.as_bytes()),
                NOW,
            )
            .unwrap();
        let enrol = EnrolRequest {
            station_id: id.clone(),
            enrolment_token: token,
            signing_public_key: None,
        };
        let first = self.json("POST", paths::ENROL, None, &enrol).await;
        assert_eq!(first.status, StatusCode::OK);
        let enrolled: EnrolResponse = first.json();
        assert_eq!(enrolled.station_name, name);
        // The token is spent.
        self.json("POST", paths::ENROL, None, &enrol)
            .await
            .error(StatusCode::FORBIDDEN, ErrorCode::EnrolmentRefused);
        (id, enrolled.credential)
    }
}

const NOW: &str = "2026-11-25T08:00:00Z";

/// The scans birth-permit requires, each a few bytes of its own.
fn scans(seed: u8) -> Vec<(String, String, Vec<u8>)> {
    [
        "mother_id_card",
        "father_id_card",
        "mother_household_register",
        "father_household_register",
        "marriage_certificate",
    ]
    .iter()
    .enumerate()
    .map(|(i, scan)| {
        let bytes: Vec<u8> = (0..300u16)
            .map(|b| (b as u8).wrapping_mul(seed).wrapping_add(i as u8))
            .collect();
        (format!("{scan}.jpg"), (*scan).to_owned(), bytes)
    })
    .collect()
}

fn application(files: &[(String, String, Vec<u8>)]) -> SubmitApplication {
    let text = include_str!("../../../tests/data/applications/birth-permit.json");
    let sample: serde_json::Value = serde_json::from_str(text).unwrap();
    SubmitApplication {
        application_id: Uuid::now_v7(),
        tracking_number: "BP-CONF-1".into(),
        service: "birth-permit".into(),
        service_version: 1,
        submitted_at: "2024-05-01T08:00:00Z".into(),
        fields: serde_json::from_value(sample["fields"].clone()).unwrap(),
        attachments: files
            .iter()
            .map(|(name, scan, bytes)| AttachmentManifest {
                name: name.clone(),
                scan: scan.clone(),
                content_type: "image/jpeg".into(),
                size: bytes.len() as u64,
                sha256: files::sha256_hex(bytes),
            })
            .collect(),
        sealed: None,
        clock: None,
    }
}

/// Run the whole suite against `storage`, with attachments under `data_dir`.
pub(crate) async fn run(storage: Arc<dyn Storage>, data_dir: &Path) {
    let state = AppState::with_storage(data_dir, Arc::clone(&storage)).unwrap();
    let client = Client {
        state: state.clone(),
    };
    let s: &dyn Storage = storage.as_ref();

    // ---- Enrolment and credentials ----
    let (a_id, a) = client.station(s, "Xiaozhai").await;
    let (b_id, b) = client.station(s, "Dazhai").await;
    assert!(matches!(
        s.authenticate(&files::sha256_hex(b"made-up")).unwrap(),
        Credential::Unknown
    ));
    client
        .get(paths::DECISIONS, "made-up", None)
        .await
        .error(StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized);

    // ---- Idempotent intake: four identical submissions at once, one application ----
    let files_x = scans(3);
    let x = application(&files_x);
    let path_x = paths::application(&x.application_id);
    let mut racing = Vec::new();
    for _ in 0..4 {
        let client = client.clone();
        let (x, path_x, a) = (x.clone(), path_x.clone(), a.clone());
        racing.push(tokio::spawn(async move {
            client.json("PUT", &path_x, Some(&a), &x).await
        }));
    }
    let mut answers = Vec::new();
    for task in racing {
        answers.push(task.await.expect("a submission task"));
    }
    let created = answers
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let repeated = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    assert_eq!((created, repeated), (1, 3), "one creates, the rest repeat");
    let receipts: Vec<SubmissionReceipt> = answers.iter().map(Answer::json).collect();
    assert!(receipts.windows(2).all(|w| w[0] == w[1]), "the same answer");
    assert_eq!(receipts[0].state, CountyState::Receiving);
    assert!(!receipts[0].complete);

    let mut other = x.clone();
    other.tracking_number = "BP-CONF-2".into();
    client
        .json("PUT", &path_x, Some(&a), &other)
        .await
        .error(StatusCode::CONFLICT, ErrorCode::Conflict);
    client
        .json("PUT", &path_x, Some(&b), &x)
        .await
        .error(StatusCode::NOT_FOUND, ErrorCode::NotFound);
    client
        .get(&path_x, &b, None)
        .await
        .error(StatusCode::NOT_FOUND, ErrorCode::NotFound);

    // ---- Resumable uploads ----
    let (name, _, bytes) = &files_x[0];
    let wrong = client
        .patch(&a, x.application_id, name, 7, &bytes[..10])
        .await
        .error(StatusCode::CONFLICT, ErrorCode::OffsetMismatch);
    assert_eq!(wrong.expected_offset, Some(0));
    let half = client
        .patch(&a, x.application_id, name, 0, &bytes[..100])
        .await;
    assert_eq!(half.status, StatusCode::OK);
    let status: county_api::AttachmentStatus = half.json();
    assert_eq!((status.received, status.complete), (100, false));
    let again = client
        .patch(&a, x.application_id, name, 0, &bytes[..100])
        .await
        .error(StatusCode::CONFLICT, ErrorCode::OffsetMismatch);
    assert_eq!(again.expected_offset, Some(100));
    let mut damaged = bytes[100..].to_vec();
    damaged[0] ^= 0xff;
    let bad = client
        .patch(&a, x.application_id, name, 100, &damaged)
        .await
        .error(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorCode::ChecksumMismatch,
        );
    assert_eq!(bad.expected_offset, Some(0));
    assert_eq!(
        s.attachment(&a_id, x.application_id, name)
            .unwrap()
            .unwrap()
            .received,
        0,
        "a failed checksum restarts the upload"
    );
    // Not complete before every attachment is; then complete.
    for (i, (name, _, bytes)) in files_x.iter().enumerate() {
        let whole = client.patch(&a, x.application_id, name, 0, bytes).await;
        assert_eq!(whole.status, StatusCode::OK, "{name}");
        let receipt: SubmissionReceipt = client.get(&path_x, &a, None).await.json();
        let last = i + 1 == files_x.len();
        assert_eq!(receipt.complete, last, "after {name}");
        assert_eq!(
            receipt.state,
            if last {
                CountyState::Complete
            } else {
                CountyState::Receiving
            }
        );
    }
    assert!(
        client
            .get(&path_x, &a, None)
            .await
            .json::<SubmissionReceipt>()
            .complete
    );
    assert_eq!(s.received_applications(&a_id).unwrap(), [x.application_id]);
    assert!(s.received_applications(&b_id).unwrap().is_empty());
    let (_, sha) = s.scan(x.application_id, name).unwrap().expect("held whole");
    assert_eq!(
        std::fs::read(data_dir.join("attachments").join(&sha)).unwrap(),
        *bytes,
        "the attachment is on disk under its SHA-256"
    );

    // An application still receiving: no decision yet.
    let y = application(&scans(5));
    assert_eq!(
        client
            .json("PUT", &paths::application(&y.application_id), Some(&a), &y)
            .await
            .status,
        StatusCode::CREATED
    );
    assert!(matches!(
        s.decide(y.application_id, DecisionKind::Approve, None, "wang", NOW),
        Err(CountyError::InvalidTransition { .. })
    ));
    assert!(matches!(
        s.decide(Uuid::now_v7(), DecisionKind::Approve, None, "wang", NOW),
        Err(CountyError::NoSuchApplication(_))
    ));

    // ---- Decisions ----
    assert!(matches!(
        s.decide(x.application_id, DecisionKind::Reject, None, "wang", NOW),
        Err(CountyError::ReasonRequired(_))
    ));
    let approved = s
        .decide(x.application_id, DecisionKind::Approve, None, "wang", NOW)
        .unwrap();
    assert_eq!(approved.cursor, 1);
    // The clerks' queue: complete or approved, per station and service.
    let queued: Vec<Uuid> = s.queue(None, None).unwrap().iter().map(|r| r.id).collect();
    assert_eq!(queued, [x.application_id]);
    assert!(s.queue(Some(&b_id), None).unwrap().is_empty());
    assert!(s.queue(None, Some("elderly-card")).unwrap().is_empty());
    let groups = s.queue_groups().unwrap();
    assert_eq!(groups.len(), 1);
    assert_eq!(
        (
            groups[0].station.as_str(),
            groups[0].service.as_str(),
            groups[0].waiting
        ),
        (a_id.as_str(), "birth-permit", 1)
    );
    let page: DecisionPage = client
        .get(&format!("{}?after=0&limit=10", paths::DECISIONS), &a, None)
        .await
        .json();
    assert_eq!(page.decisions, std::slice::from_ref(&approved));
    assert_eq!(page.next_cursor, 1);
    let none: DecisionPage = client
        .get(&format!("{}?after=0", paths::DECISIONS), &b, None)
        .await
        .json();
    assert!(none.decisions.is_empty(), "a station sees only its own");
    let ack = |cursor: u64| county_api::DecisionAck { cursor };
    let acked = client
        .json("POST", paths::DECISIONS_ACK, Some(&a), &ack(1))
        .await;
    assert_eq!(acked.status, StatusCode::NO_CONTENT);
    for (credential, cursor) in [(&a, 2), (&b, 1)] {
        client
            .json("POST", paths::DECISIONS_ACK, Some(credential), &ack(cursor))
            .await
            .error(StatusCode::BAD_REQUEST, ErrorCode::BadRequest);
    }

    // Hand-over only when ready.
    let hand = HandOver {
        handed_over_at: "2026-11-26T09:00:00+08:00".into(),
    };
    let hand_path = paths::handover(&x.application_id);
    client
        .json("POST", &hand_path, Some(&a), &hand)
        .await
        .error(StatusCode::CONFLICT, ErrorCode::Conflict);
    let ready = s
        .decide(x.application_id, DecisionKind::Ready, None, "wang", NOW)
        .unwrap();
    assert_eq!(ready.cursor, 2);
    let handed = client.json("POST", &hand_path, Some(&a), &hand).await;
    assert_eq!(handed.status, StatusCode::OK);
    assert_eq!(
        handed.json::<SubmissionReceipt>().state,
        CountyState::HandedOver
    );
    client
        .json("POST", &hand_path, Some(&b), &hand)
        .await
        .error(StatusCode::NOT_FOUND, ErrorCode::NotFound);
    assert!(
        s.queue(None, None).unwrap().is_empty(),
        "handed over: off the queue"
    );
    let listed = s.list_applications().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0].state, "handed_over");

    // Each decision queued its SMS (the sample has a mobile number), once.
    assert_eq!(s.sms_counts().unwrap(), (0, 2));
    let due = s
        .sms_due("9999-01-01T00:00:00Z")
        .unwrap()
        .expect("an SMS is due");
    assert_eq!(due.message.id, format!("{a_id}-1"));
    s.sms_attempted(&super::SmsAttempt {
        id: due.id,
        attempts: 1,
        sent_at: Some(NOW),
        error: None,
        next_attempt_at: NOW,
    })
    .unwrap();
    assert_eq!(s.sms_counts().unwrap(), (1, 1));

    // ---- Notices: to one station only ----
    let text = |zh: &str, en: &str| I18nText {
        zh: zh.into(),
        en: en.into(),
    };
    let rows = s
        .publish_notice(
            &text("停电通知", "Power cut"),
            &text("周五停电。", "No power on Friday."),
            std::slice::from_ref(&b_id),
            None,
            "wang",
            NOW,
        )
        .unwrap();
    assert_eq!(rows.len(), 1);
    let for_a: NoticePage = client.get(paths::NOTICES, &a, None).await.json();
    let for_b: NoticePage = client.get(paths::NOTICES, &b, None).await.json();
    assert!(for_a.notices.is_empty());
    assert_eq!(for_b.notices.len(), 1);
    assert_eq!(s.list_notices().unwrap().len(), 1);

    // ---- Catalog: the version in force is the ETag, which answers 304 ----
    let catalog = client.get(paths::CATALOG, &a, None).await;
    assert_eq!(catalog.status, StatusCode::OK);
    let version = s.catalog_version().unwrap();
    let etag = format!("\"{version}\"");
    assert_eq!(catalog.etag.as_deref(), Some(etag.as_str()));
    let (json_version, json) = s.catalog_json().unwrap();
    assert_eq!(
        (json_version, json.as_bytes()),
        (version, catalog.body.as_slice())
    );
    assert_eq!(
        client.get(paths::CATALOG, &a, Some(&etag)).await.status,
        StatusCode::NOT_MODIFIED
    );
    assert!(
        s.service_ids()
            .unwrap()
            .contains(&"birth-permit".to_owned())
    );
    assert_eq!(s.service_versions("birth-permit").unwrap(), [1]);
    assert!(s.service_revision("birth-permit", 1).unwrap().is_some());
    assert!(s.service_revision("birth-permit", 9).unwrap().is_none());

    // ---- Publishing a revision: versions only go up, the ETag follows ----
    let mut revised = s.service_revision("birth-permit", 1).unwrap().unwrap();
    revised.version = 2;
    let Published::New {
        version: next,
        revisions,
        params_changed,
    } = s
        .publish_catalog(vec![revised.clone()], None, "wang", NOW)
        .unwrap()
    else {
        panic!("a new revision is a new catalog version");
    };
    assert_eq!(next, version + 1);
    assert_eq!(revisions, [("birth-permit".to_owned(), 2)]);
    assert!(!params_changed);
    assert!(matches!(
        s.publish_catalog(vec![revised.clone()], None, "wang", NOW).unwrap(),
        Published::Unchanged { version } if version == next
    ));
    let mut older = revised;
    older.version = 1;
    assert!(matches!(
        s.publish_catalog(vec![older], None, "wang", NOW),
        Err(CountyError::InvalidInput(_))
    ));
    assert_eq!(s.catalog_version().unwrap(), next);
    assert_eq!(s.show_catalog().unwrap().version, next);
    assert_eq!(s.service_versions("birth-permit").unwrap(), [1, 2]);
    assert!(s.service_revision("birth-permit", 2).unwrap().is_some());
    assert!(!s.param_sets().unwrap().is_empty());
    let fresh = client.get(paths::CATALOG, &a, Some(&etag)).await;
    assert_eq!(fresh.status, StatusCode::OK, "a new version is served");
    assert_eq!(fresh.etag, Some(format!("\"{next}\"")));

    // ---- Self-tests: the newest is kept ----
    let at = |t: &str| {
        time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).unwrap()
    };
    let report = |checked_at: &str, ok: bool| SelftestReport {
        checked_at: checked_at.into(),
        ok,
        version: "1.0.0".into(),
        checks: vec![SelftestCheck {
            name: "printer".into(),
            ok,
            detail: "缺纸 / out of paper".into(),
            action: None,
        }],
    };
    let newer = "2026-11-25T07:00:00Z";
    let older = "2026-11-24T07:00:00Z";
    s.record_selftest(&a_id, &report(newer, false), at(newer), at(NOW))
        .unwrap();
    s.record_selftest(&a_id, &report(older, true), at(older), at(NOW))
        .unwrap();

    // ---- Clerks ----
    assert!(s.add_clerk("wang", "hash-1", NOW).unwrap());
    assert!(
        !s.add_clerk("wang", "hash-2", NOW).unwrap(),
        "names are unique"
    );
    assert_eq!(
        s.clerk_login("wang", "2000-01-01T00:00:00Z").unwrap(),
        (0, Some("hash-1".into()))
    );
    s.record_failed_login("wang", NOW).unwrap();
    assert_eq!(s.clerk_login("wang", "2000-01-01T00:00:00Z").unwrap().0, 1);
    assert_eq!(s.clerk_login("nobody", NOW).unwrap().1, None);
    s.create_session("t-sha", "wang", "csrf", NOW, "9999-01-01T00:00:00Z")
        .unwrap();
    assert_eq!(
        s.session("t-sha", NOW).unwrap(),
        Some(("wang".into(), "csrf".into()))
    );
    s.delete_session("t-sha", "wang", NOW).unwrap();
    assert_eq!(s.session("t-sha", NOW).unwrap(), None);
    let detail = s
        .application(x.application_id)
        .unwrap()
        .expect("the page shows it");
    assert_eq!(detail.scans.len(), files_x.len());
    assert!(detail.audit.len() >= 2, "decisions are audited");

    // ---- Dashboard: last contact batched, then revocation ----
    state.flush_contacts().await;
    let dashboard = s.stations().unwrap();
    assert_eq!(dashboard.len(), 2);
    assert!(dashboard.iter().all(|row| row.last_contact_at.is_some()));
    let row_a = dashboard.iter().find(|row| row.id == a_id).unwrap();
    let selftest = row_a.selftest.as_ref().expect("a's self-test");
    assert!(!selftest.ok, "the newer report, not the late older one");
    assert_eq!(selftest.failed.len(), 1);
    assert!(
        dashboard
            .iter()
            .find(|row| row.id == b_id)
            .unwrap()
            .selftest
            .is_none()
    );
    assert!(matches!(
        s.revoke_station(&a_id, NOW).unwrap(),
        Revocation::Revoked
    ));
    assert!(matches!(
        s.revoke_station(&a_id, NOW).unwrap(),
        Revocation::Already(_)
    ));
    assert!(matches!(
        s.revoke_station("st-NOSUCH00", NOW).unwrap(),
        Revocation::NoSuchStation
    ));
    client
        .get(paths::NOTICES, &a, None)
        .await
        .error(StatusCode::FORBIDDEN, ErrorCode::StationRevoked);
    let keys = s.station_keys(&a_id).unwrap().expect("a station");
    assert!(keys.revoked_at.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let storage =
        super::sqlite::SqliteStorage::open(dir.path(), super::sqlite::SERVER_READERS).unwrap();
    run(Arc::new(storage), dir.path()).await;
}

/// The one-connection flavour the CLI uses passes too (its reads go to the writer).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_without_readers_passes_the_conformance_suite() {
    let dir = tempfile::tempdir().unwrap();
    let storage = super::sqlite::SqliteStorage::open(dir.path(), 0).unwrap();
    run(Arc::new(storage), dir.path()).await;
}
