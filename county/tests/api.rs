//! The county API over real TCP (and in-process with `oneshot` where that is simpler).

mod common;

use std::collections::BTreeSet;

use axum::body::Body;
use axum::http::Request;
use common::{Server, application, content, expect_error, sha256_hex};
use county_api::{
    AttachmentStatus, CountyState, DecisionAck, DecisionKind, DecisionPage, EnrolRequest,
    ErrorCode, HandOver, NoticePage, SubmissionReceipt, paths,
};
use reqwest::{Method, StatusCode};
use tokio::io::AsyncWriteExt;
use tower::ServiceExt;
use uuid::Uuid;

#[tokio::test]
async fn enrolment_token_works_once() {
    let server = Server::start().await;
    let provisioning =
        county::add_station(server.data_dir(), "Xiaozhai", "http://county.example").unwrap();
    assert!(provisioning.station_id.starts_with("st-"));
    assert_eq!(provisioning.station_id.len(), 11);
    let http = reqwest::Client::new();
    let enrol = |token: &str| {
        http.post(server.url(paths::ENROL))
            .json(&EnrolRequest {
                station_id: provisioning.station_id.clone(),
                enrolment_token: token.to_owned(),
                signing_public_key: None,
            })
            .send()
    };

    let wrong = enrol("not-the-token").await.unwrap();
    expect_error(wrong, StatusCode::FORBIDDEN, ErrorCode::EnrolmentRefused).await;

    let first = enrol(&provisioning.enrolment_token).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let enrolled: county_api::EnrolResponse = first.json().await.unwrap();
    assert_eq!(enrolled.station_name, "Xiaozhai");
    assert!(enrolled.credential.len() >= 32);

    let replay = enrol(&provisioning.enrolment_token).await.unwrap();
    expect_error(replay, StatusCode::FORBIDDEN, ErrorCode::EnrolmentRefused).await;

    // The credential handed out the first time works.
    let ok = http
        .get(server.url(paths::NOTICES))
        .bearer_auth(&enrolled.credential)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let page: NoticePage = ok.json().await.unwrap();
    assert!(page.notices.is_empty());
    assert_eq!(page.version, 0);
    server.stop().await;
}

#[tokio::test]
async fn calls_without_a_valid_credential_are_unauthorized() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let http = reqwest::Client::new();
    let id = Uuid::now_v7();
    for path in [
        paths::DECISIONS.to_owned(),
        paths::CATALOG.to_owned(),
        paths::NOTICES.to_owned(),
        paths::application(&id),
        paths::attachment(&id, "a.jpg"),
    ] {
        let none = http.get(server.url(&path)).send().await.unwrap();
        expect_error(none, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
        let unknown = http
            .get(server.url(&path))
            .bearer_auth("made-up")
            .send()
            .await
            .unwrap();
        expect_error(unknown, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
        let basic = http
            .get(server.url(&path))
            .header("authorization", format!("Basic {}", station.credential))
            .send()
            .await
            .unwrap();
        expect_error(basic, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    }
    // Even a body-less PUT is refused before its body is looked at.
    let put = http
        .put(server.url(&paths::application(&id)))
        .send()
        .await
        .unwrap();
    expect_error(put, StatusCode::UNAUTHORIZED, ErrorCode::Unauthorized).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_concurrent_submissions_store_one_application() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(1000, 1);
    let app = application(&[("a.jpg", &scan)]);

    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let station = station.clone();
            let app = app.clone();
            tokio::spawn(async move {
                // The PUT alone: every answer is then the same receipt.
                let response = station.put(&app).await;
                let status = response.status();
                let receipt: SubmissionReceipt = response.json().await.unwrap();
                (status, receipt)
            })
        })
        .collect();
    let mut created = 0;
    let mut receipts = Vec::new();
    for task in tasks {
        let (status, receipt) = task.await.unwrap();
        match status {
            StatusCode::CREATED => created += 1,
            StatusCode::OK => {}
            other => panic!("unexpected status {other}"),
        }
        receipts.push(receipt);
    }
    assert_eq!(created, 1, "exactly one submission is the first");
    assert!(receipts.windows(2).all(|w| w[0] == w[1]), "{receipts:#?}");
    let receipt = &receipts[0];
    assert_eq!(receipt.application_id, app.application_id);
    assert_eq!(receipt.state, CountyState::Receiving);
    assert!(!receipt.complete);

    // Side effects: one application row, its attachment rows once, one audit row.
    let list = county::list_applications(server.data_dir()).unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].attachments.len(), app.attachments.len());
    let conn = rusqlite::Connection::open(county::database_path(server.data_dir())).unwrap();
    let audits: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'submit'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audits, 1);

    // Later repeats still get the same answer.
    let again = station.put(&app).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.json::<SubmissionReceipt>().await.unwrap(), *receipt);
    server.stop().await;
}

#[tokio::test]
async fn same_id_with_different_content_is_a_conflict() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let app = application(&[]);
    assert_eq!(station.submit(&app).await.status(), StatusCode::CREATED);
    let mut changed = app.clone();
    changed
        .fields
        .insert("mother.name".into(), "someone else".into());
    let response = station.submit(&changed).await;
    expect_error(response, StatusCode::CONFLICT, ErrorCode::Conflict).await;
    // The stored application is untouched.
    let same = station.submit(&app).await;
    assert_eq!(same.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn an_application_is_complete_once_its_required_papers_arrived() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let app = application(&[]);
    let response = station.put(&app).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let receipt: SubmissionReceipt = response.json().await.unwrap();
    assert!(!receipt.complete);
    assert_eq!(receipt.state, CountyState::Receiving);
    station.upload_fillers(&app).await;
    let receipt: SubmissionReceipt = station
        .get(&paths::application(&app.application_id))
        .await
        .json()
        .await
        .unwrap();
    assert!(receipt.complete);
    assert_eq!(receipt.state, CountyState::Complete);
    server.stop().await;
}

/// Issue 7: an application is complete only when every required attachment has arrived, so
/// one that omits a scan its service requires is refused at intake, each missing paper
/// named in Chinese and English, and nothing is stored.
#[tokio::test]
async fn a_submission_without_a_required_scan_is_refused_by_name_and_nothing_is_stored() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(100, 1);
    // Only the mother's ID card of birth-permit's five required papers.
    let app = common::application_with(&[("a.jpg", &scan)]);
    let body = expect_error(
        station.put(&app).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert_eq!(
        body.field_errors
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "scans.father_household_register",
            "scans.father_id_card",
            "scans.marriage_certificate",
            "scans.mother_household_register",
        ],
        "{body:?}"
    );
    let marriage = &body.field_errors["scans.marriage_certificate"];
    assert!(
        marriage.contains("结婚证") && marriage.contains("尚未扫描"),
        "{marriage}"
    );
    assert!(marriage.contains("not scanned yet"), "{marriage}");
    assert!(body.message.contains("scans.marriage_certificate"));
    assert!(
        county::list_applications(server.data_dir())
            .unwrap()
            .is_empty()
    );
    expect_error(
        station.get(&paths::application(&app.application_id)).await,
        StatusCode::NOT_FOUND,
        ErrorCode::NotFound,
    )
    .await;
    server.stop().await;
}

#[tokio::test]
async fn path_and_body_ids_must_agree() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let app = application(&[]);
    let response = station
        .request(Method::PUT, &paths::application(&Uuid::now_v7()))
        .json(&app)
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    let not_a_uuid = station
        .request(Method::PUT, "/v1/applications/not-a-uuid")
        .json(&app)
        .send()
        .await
        .unwrap();
    expect_error(not_a_uuid, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    server.stop().await;
}

#[tokio::test]
async fn invalid_submissions_are_refused_with_reasons() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let mut unknown = application(&[]);
    unknown.service = "fishing-licence".into();
    let body = expect_error(
        station.submit(&unknown).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert!(body.field_errors.contains_key("service"), "{body:?}");
    assert!(
        county::list_applications(server.data_dir())
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}

/// The county runs the station's validator on the record: every bad field is named in
/// `field_errors` with a reason in Chinese and English, and nothing is stored.
#[tokio::test]
async fn invalid_fields_are_refused_by_name_and_nothing_is_stored() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(100, 1);
    let mut app = application(&[("a.jpg", &scan)]);
    // A wrong check digit, an impossible phone number, a required field left out, a field
    // the service does not have, and a scan slot it does not have.
    app.fields
        .insert("mother.id_number".into(), "532627199502140021".into());
    app.fields.insert("father.phone".into(), "12345".into());
    app.fields.remove("marriage.date");
    app.fields
        .insert("<svg onload=alert(3)>".into(), "x".into());
    app.attachments[0].scan = "selfie".into();
    let body = expect_error(
        station.submit(&app).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert_eq!(
        body.field_errors
            .keys()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "<svg onload=alert(3)>",
            "father.phone",
            "marriage.date",
            "mother.id_number",
            // The only page of the mother's ID card moved to a slot that does not exist.
            "scans.mother_id_card",
            "scans.selfie"
        ],
        "{body:?}"
    );
    for (field, reason) in &body.field_errors {
        assert!(reason.contains(" / "), "{field}: {reason}");
        assert!(body.message.contains(field.as_str()), "{}", body.message);
    }
    assert!(!body.retryable);
    // A record judged on the station's day: a due date before it is fine (no rule), a
    // marriage "in the future" of the submission day is not.
    let mut later = application(&[]);
    later
        .fields
        .insert("marriage.date".into(), "2024-05-02".into());
    let body = expect_error(
        station.submit(&later).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert_eq!(
        body.field_errors.keys().collect::<Vec<_>>(),
        ["marriage.date"],
        "{body:?}"
    );
    // An unknown revision of a known service.
    let mut revision = application(&[]);
    revision.service_version = 7;
    let body = expect_error(
        station.submit(&revision).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert!(
        body.field_errors.contains_key("service_version"),
        "{body:?}"
    );

    assert!(
        county::list_applications(server.data_dir())
            .unwrap()
            .is_empty()
    );
    let uploads = server.data_dir().join("uploads");
    let leftovers = std::fs::read_dir(&uploads).map_or(0, |d| d.count());
    assert_eq!(leftovers, 0, "nothing under {}", uploads.display());
    // The same id, corrected, is taken: a refusal reserves nothing.
    let mut fixed = application(&[("a.jpg", &scan)]);
    fixed.application_id = app.application_id;
    assert_eq!(station.submit(&fixed).await.status(), StatusCode::CREATED);
    server.stop().await;
}

#[tokio::test]
async fn path_tricks_in_attachment_names_are_bad_requests() {
    let server = Server::start().await;
    let station = server.station("A").await;
    // In the manifest.
    let bytes = content(10, 2);
    let mut tricky = application(&[("a.jpg", &bytes)]);
    tricky.attachments[0].name = "../../county.sqlite3".into();
    expect_error(
        station.submit(&tricky).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
    )
    .await;
    // In the URL of an upload (percent-encoded slashes reach the handler decoded).
    let app = application(&[("a.jpg", &bytes)]);
    assert_eq!(station.submit(&app).await.status(), StatusCode::CREATED);
    for name in [
        "..%2F..%2Fcounty.sqlite3",
        "..%2Fx",
        ".hidden",
        "a%20b",
        "x%5C..%5Cy",
    ] {
        let path = format!(
            "{}/attachments/{name}",
            paths::application(&app.application_id)
        );
        let response = station
            .request(Method::PATCH, &path)
            .header(county_api::UPLOAD_OFFSET_HEADER, "0")
            .header("content-type", "application/octet-stream")
            .body(bytes.clone())
            .send()
            .await
            .unwrap();
        expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
        let status = station.get(&path).await;
        expect_error(status, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    }
    assert!(
        !server
            .data_dir()
            .join("uploads")
            .join("county.sqlite3")
            .exists()
    );
    server.stop().await;
}

/// Upload `bytes` in chunks of `chunk` bytes, starting at 0.
async fn upload(station: &common::Station, id: Uuid, name: &str, bytes: &[u8], chunk: usize) {
    let mut offset = 0;
    for piece in bytes.chunks(chunk) {
        let response = station.patch(id, name, offset as u64, piece).await;
        assert_eq!(response.status(), StatusCode::OK);
        offset += piece.len();
    }
}

#[tokio::test]
async fn chunked_upload_resumes_after_an_interrupted_chunk() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(300_000, 3);
    let app = application(&[("mother.jpg", &scan)]);
    let id = app.application_id;
    assert_eq!(station.submit(&app).await.status(), StatusCode::CREATED);
    let (first, rest) = scan.split_at(100_000);
    let (second, third) = rest.split_at(100_000);

    let response = station.patch(id, "mother.jpg", 0, first).await;
    assert_eq!(response.status(), StatusCode::OK);
    let status: AttachmentStatus = response.json().await.unwrap();
    assert_eq!((status.received, status.complete), (100_000, false));

    // The link drops halfway through the second chunk: headers and half the body, then the
    // connection closes.
    let address = server.base.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "PATCH {} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/octet-stream\r\n{}: 100000\r\nContent-Length: {}\r\n\r\n",
        paths::attachment(&id, "mother.jpg"),
        station.credential,
        county_api::UPLOAD_OFFSET_HEADER,
        second.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&second[..50_000]).await.unwrap();
    socket.shutdown().await.unwrap();
    drop(socket);

    // The station asks where to resume: after the first chunk, nothing of the torn one.
    let status: AttachmentStatus = station
        .get(&paths::attachment(&id, "mother.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status.received, 100_000);
    assert!(!status.complete);

    let response = station
        .patch(id, "mother.jpg", status.received, second)
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    // The answer to the second chunk is lost; the station asks again and carries on.
    let status: AttachmentStatus = station
        .get(&paths::attachment(&id, "mother.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status.received, 200_000);
    let response = station.patch(id, "mother.jpg", 200_000, third).await;
    assert_eq!(response.status(), StatusCode::OK);
    let status: AttachmentStatus = response.json().await.unwrap();
    assert_eq!((status.received, status.complete), (300_000, true));

    // Stored content-addressed, partial file gone, application complete.
    let stored = std::fs::read(
        server
            .data_dir()
            .join("attachments")
            .join(sha256_hex(&scan)),
    )
    .unwrap();
    assert!(stored == scan, "stored bytes differ");
    assert!(
        !server
            .data_dir()
            .join("uploads")
            .join(id.to_string())
            .exists()
    );
    let receipt: SubmissionReceipt = station
        .get(&paths::application(&id))
        .await
        .json()
        .await
        .unwrap();
    assert!(receipt.complete);
    assert_eq!(receipt.state, CountyState::Complete);

    // Retrying at the end of a complete attachment is answered as done.
    let retry = station.patch(id, "mother.jpg", 300_000, &[]).await;
    assert_eq!(retry.status(), StatusCode::OK);
    let status: AttachmentStatus = retry.json().await.unwrap();
    assert!(status.complete);
    // Re-sending the last chunk tells the station where the end is.
    let late = station.patch(id, "mother.jpg", 200_000, third).await;
    let body = expect_error(late, StatusCode::CONFLICT, ErrorCode::OffsetMismatch).await;
    assert_eq!(body.expected_offset, Some(300_000));
    server.stop().await;
}

#[tokio::test]
async fn a_chunk_at_the_wrong_offset_is_refused_with_the_expected_offset() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(1000, 4);
    let app = application(&[("a.jpg", &scan)]);
    let id = app.application_id;
    station.submit(&app).await;
    assert_eq!(
        station.patch(id, "a.jpg", 0, &scan[..400]).await.status(),
        StatusCode::OK
    );
    for wrong in [0, 300, 500] {
        let response = station.patch(id, "a.jpg", wrong, &scan[400..600]).await;
        let body = expect_error(response, StatusCode::CONFLICT, ErrorCode::OffsetMismatch).await;
        assert_eq!(body.expected_offset, Some(400));
    }
    // Past the end of the file.
    let response = station.patch(id, "a.jpg", 400, &[0u8; 700]).await;
    expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    // No or a garbled offset header.
    let response = station
        .request(Method::PATCH, &paths::attachment(&id, "a.jpg"))
        .header("content-type", "application/octet-stream")
        .body(scan[400..].to_vec())
        .send()
        .await
        .unwrap();
    expect_error(response, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    // An attachment that is not in the manifest.
    let response = station.patch(id, "b.jpg", 0, &scan).await;
    expect_error(response, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    // None of this moved the offset.
    let status: AttachmentStatus = station
        .get(&paths::attachment(&id, "a.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status.received, 400);
    server.stop().await;
}

#[tokio::test]
async fn a_wrong_checksum_restarts_the_upload_at_zero() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(2000, 5);
    let app = application(&[("a.jpg", &scan)]);
    let id = app.application_id;
    station.submit(&app).await;
    let mut damaged = scan.clone();
    damaged[1500] ^= 0xff;
    upload(&station, id, "a.jpg", &damaged[..1000], 1000).await;
    let response = station.patch(id, "a.jpg", 1000, &damaged[1000..]).await;
    let body = expect_error(
        response,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::ChecksumMismatch,
    )
    .await;
    assert_eq!(body.expected_offset, Some(0));
    let status: AttachmentStatus = station
        .get(&paths::attachment(&id, "a.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!((status.received, status.complete), (0, false));
    assert!(
        !server
            .data_dir()
            .join("attachments")
            .join(&app.attachments[0].sha256)
            .exists()
    );
    // Sent again, whole and right, it completes.
    upload(&station, id, "a.jpg", &scan, 700).await;
    let receipt: SubmissionReceipt = station
        .get(&paths::application(&id))
        .await
        .json()
        .await
        .unwrap();
    assert!(receipt.complete);
    server.stop().await;
}

/// A crash between "append + fsync" and "record the offset" leaves extra bytes in the partial
/// file; a crash that loses the partial file leaves an offset with nothing behind it.
#[tokio::test]
async fn crash_leftovers_are_reconciled_with_the_stored_offset() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let scan = content(1000, 10);
    let app = application(&[("a.jpg", &scan)]);
    let id = app.application_id;
    station.submit(&app).await;
    upload(&station, id, "a.jpg", &scan[..400], 400).await;
    let part = server
        .data_dir()
        .join("uploads")
        .join(id.to_string())
        .join("a.jpg.part");
    // Unrecorded bytes after the stored offset: dropped before the next append.
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&part)
        .unwrap();
    std::io::Write::write_all(&mut file, &[0xee; 900]).unwrap();
    drop(file);
    let response = station.patch(id, "a.jpg", 400, &scan[400..]).await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.json::<AttachmentStatus>().await.unwrap().complete);

    // The partial file of a second application vanishes: resume from what is on disk (0).
    let app = application(&[("b.jpg", &scan)]);
    let id = app.application_id;
    station.submit(&app).await;
    upload(&station, id, "b.jpg", &scan[..400], 400).await;
    std::fs::remove_file(
        server
            .data_dir()
            .join("uploads")
            .join(id.to_string())
            .join("b.jpg.part"),
    )
    .unwrap();
    let response = station.patch(id, "b.jpg", 400, &scan[400..]).await;
    let body = expect_error(response, StatusCode::CONFLICT, ErrorCode::OffsetMismatch).await;
    assert_eq!(body.expected_offset, Some(0));
    upload(&station, id, "b.jpg", &scan, 1000).await;
    let receipt: SubmissionReceipt = station
        .get(&paths::application(&id))
        .await
        .json()
        .await
        .unwrap();
    assert!(receipt.complete);
    server.stop().await;
}

#[tokio::test]
async fn the_application_is_complete_only_after_every_attachment() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let one = content(500, 6);
    let two = content(800, 7);
    let app = application(&[("one.jpg", &one), ("two.jpg", &two)]);
    let id = app.application_id;
    station.submit(&app).await;
    upload(&station, id, "two.jpg", &two, 300).await;
    let receipt: SubmissionReceipt = station
        .get(&paths::application(&id))
        .await
        .json()
        .await
        .unwrap();
    assert!(!receipt.complete);
    assert_eq!(receipt.state, CountyState::Receiving);
    // The test's own files (the required papers `submit` added arrived whole).
    let names: Vec<_> = receipt
        .attachments
        .iter()
        .filter(|a| common::filler(&a.name).is_none())
        .map(|a| (a.name.as_str(), a.complete))
        .collect();
    assert_eq!(names, [("one.jpg", false), ("two.jpg", true)]);
    // A clerk cannot decide on it yet.
    let early = county::decide(server.data_dir(), id, DecisionKind::Approve, None, "clerk");
    assert!(early.is_err());

    upload(&station, id, "one.jpg", &one, 500).await;
    let receipt: SubmissionReceipt = station
        .get(&paths::application(&id))
        .await
        .json()
        .await
        .unwrap();
    assert!(receipt.complete);
    assert_eq!(receipt.state, CountyState::Complete);
    let summary = county::list_applications(server.data_dir()).unwrap();
    assert!(summary[0].complete);
    assert_eq!(summary[0].state, "complete");
    server.stop().await;
}

#[tokio::test]
async fn a_station_sees_only_its_own_applications() {
    let server = Server::start().await;
    let a = server.station("A").await;
    let b = server.station("B").await;
    let scan = content(100, 8);
    let app = application(&[("a.jpg", &scan)]);
    let id = app.application_id;
    assert_eq!(a.submit(&app).await.status(), StatusCode::CREATED);

    let get = b.get(&paths::application(&id)).await;
    expect_error(get, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    let resubmit = b.submit(&app).await;
    expect_error(resubmit, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    let status = b.get(&paths::attachment(&id, "a.jpg")).await;
    expect_error(status, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    let patch = b.patch(id, "a.jpg", 0, &scan).await;
    expect_error(patch, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    let handover = b
        .request(Method::POST, &paths::handover(&id))
        .json(&HandOver {
            handed_over_at: "2024-05-04T08:00:00Z".into(),
        })
        .send()
        .await
        .unwrap();
    expect_error(handover, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    // A's upload is untouched by B's attempt.
    let status: AttachmentStatus = a
        .get(&paths::attachment(&id, "a.jpg"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status.received, 0);
    server.stop().await;
}

async fn decisions(station: &common::Station, after: u64) -> DecisionPage {
    let response = station
        .request(Method::GET, paths::DECISIONS)
        .query(&[("after", after)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn decisions_flow_to_the_station_by_cursor() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let other = server.station("B").await;
    let app = application(&[]);
    let id = app.application_id;
    station.submit(&app).await;

    let empty = decisions(&station, 0).await;
    assert!(empty.decisions.is_empty());
    assert_eq!((empty.next_cursor, empty.more), (0, false));

    let approved =
        county::decide(server.data_dir(), id, DecisionKind::Approve, None, "li").unwrap();
    assert_eq!(approved.cursor, 1);
    assert_eq!(approved.tracking_number, app.tracking_number);

    let page = decisions(&station, 0).await;
    assert_eq!(page.decisions, vec![approved.clone()]);
    assert_eq!((page.next_cursor, page.more), (1, false));
    let after = decisions(&station, approved.cursor).await;
    assert!(after.decisions.is_empty());
    assert_eq!(after.next_cursor, 1);
    // Another station's stream is its own.
    assert!(decisions(&other, 0).await.decisions.is_empty());

    let ack = |cursor| {
        station
            .request(Method::POST, paths::DECISIONS_ACK)
            .json(&DecisionAck { cursor })
            .send()
    };
    assert_eq!(ack(1).await.unwrap().status(), StatusCode::NO_CONTENT);
    expect_error(
        ack(99).await.unwrap(),
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
    )
    .await;

    // Ready, then the hand-over at the station (idempotent).
    let ready = county::decide(server.data_dir(), id, DecisionKind::Ready, None, "li").unwrap();
    assert_eq!(ready.cursor, 2);
    let page = station
        .request(Method::GET, paths::DECISIONS)
        .query(&[("after", 0), ("limit", 1)])
        .send()
        .await
        .unwrap()
        .json::<DecisionPage>()
        .await
        .unwrap();
    assert_eq!(
        (page.decisions.len(), page.next_cursor, page.more),
        (1, 1, true)
    );
    let bad_limit = station
        .request(Method::GET, paths::DECISIONS)
        .query(&[("limit", 0)])
        .send()
        .await
        .unwrap();
    expect_error(bad_limit, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;

    let hand_over = || {
        station
            .request(Method::POST, &paths::handover(&id))
            .json(&HandOver {
                handed_over_at: "2024-05-04T08:00:00Z".into(),
            })
            .send()
    };
    for _ in 0..2 {
        let response = hand_over().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let receipt: SubmissionReceipt = response.json().await.unwrap();
        assert_eq!(receipt.state, CountyState::HandedOver);
    }
    server.stop().await;
}

#[tokio::test]
async fn clerk_decisions_follow_the_state_machine() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let app = application(&[]);
    let id = app.application_id;
    station.submit(&app).await;
    let dir = server.data_dir();

    let no_reason = county::decide(dir, id, DecisionKind::Reject, Some("  "), "li").unwrap_err();
    assert_eq!(no_reason.to_string(), "a reason is required to reject");
    let not_approved = county::decide(dir, id, DecisionKind::Ready, None, "li").unwrap_err();
    assert!(
        not_approved.to_string().contains("it is complete"),
        "{not_approved}"
    );
    let unknown = Uuid::now_v7();
    let missing = county::decide(dir, unknown, DecisionKind::Approve, None, "li").unwrap_err();
    assert_eq!(
        missing.to_string(),
        format!("no application with id {unknown}")
    );

    // A hand-over before the result is ready is a conflict.
    let early = station
        .request(Method::POST, &paths::handover(&id))
        .json(&HandOver {
            handed_over_at: "2024-05-04T08:00:00Z".into(),
        })
        .send()
        .await
        .unwrap();
    expect_error(early, StatusCode::CONFLICT, ErrorCode::Conflict).await;

    let more = county::decide(
        dir,
        id,
        DecisionKind::MorePapers,
        Some("the marriage certificate is unreadable"),
        "li",
    )
    .unwrap();
    assert_eq!(
        more.reason.as_deref(),
        Some("the marriage certificate is unreadable")
    );
    // Nothing follows more_papers at the county (the station submits anew).
    assert!(county::decide(dir, id, DecisionKind::Approve, None, "li").is_err());
    let conn = rusqlite::Connection::open(county::database_path(dir)).unwrap();
    let audits: Vec<(String, String)> = conn
        .prepare("SELECT actor, action FROM audit WHERE application_id = ?1 ORDER BY id")
        .unwrap()
        .query_map([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        audits,
        [
            (format!("station:{}", station.id), "submit".to_owned()),
            // The five required papers, then the application whole.
            (
                format!("station:{}", station.id),
                "attachment_complete".to_owned()
            ),
            (
                format!("station:{}", station.id),
                "attachment_complete".to_owned()
            ),
            (
                format!("station:{}", station.id),
                "attachment_complete".to_owned()
            ),
            (
                format!("station:{}", station.id),
                "attachment_complete".to_owned()
            ),
            (
                format!("station:{}", station.id),
                "attachment_complete".to_owned()
            ),
            (
                format!("station:{}", station.id),
                "application_complete".to_owned()
            ),
            ("clerk:li".to_owned(), "more_papers".to_owned()),
        ]
    );
    server.stop().await;
}

#[tokio::test]
async fn malformed_bodies_are_answered_with_error_bodies() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let id = Uuid::now_v7();
    let malformed = station
        .request(Method::PUT, &paths::application(&id))
        .header("content-type", "application/json")
        .body("{\"application_id\": ")
        .send()
        .await
        .unwrap();
    expect_error(malformed, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    let wrong_shape = station
        .request(Method::PUT, &paths::application(&id))
        .header("content-type", "application/json")
        .body("{\"application_id\": 5}")
        .send()
        .await
        .unwrap();
    expect_error(wrong_shape, StatusCode::BAD_REQUEST, ErrorCode::BadRequest).await;
    let not_json = station
        .request(Method::PUT, &paths::application(&id))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    expect_error(
        not_json,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
    )
    .await;

    let scan = content(10, 9);
    let app = application(&[("a.jpg", &scan)]);
    station.submit(&app).await;
    let json_chunk = station
        .request(
            Method::PATCH,
            &paths::attachment(&app.application_id, "a.jpg"),
        )
        .header(county_api::UPLOAD_OFFSET_HEADER, "0")
        .header("content-type", "application/json")
        .body(scan.clone())
        .send()
        .await
        .unwrap();
    expect_error(
        json_chunk,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        ErrorCode::UnsupportedMediaType,
    )
    .await;

    let nowhere = station.get("/v1/nowhere").await;
    expect_error(nowhere, StatusCode::NOT_FOUND, ErrorCode::NotFound).await;
    let wrong_method = station
        .request(Method::DELETE, paths::CATALOG)
        .send()
        .await
        .unwrap();
    expect_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        ErrorCode::BadRequest,
    )
    .await;
    server.stop().await;
}

/// In-process: a request straight into the router.
async fn oneshot(state: &county::AppState, request: Request<Body>) -> (StatusCode, Vec<u8>) {
    let response = county::app(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, body.to_vec())
}

#[tokio::test]
async fn oversized_bodies_are_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let state = county::AppState::open(dir.path()).unwrap();
    let provisioning = county::add_station(dir.path(), "A", "http://county.example").unwrap();
    let (status, body) = oneshot(
        &state,
        Request::post(paths::ENROL)
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::to_vec(&EnrolRequest {
                    station_id: provisioning.station_id,
                    enrolment_token: provisioning.enrolment_token,
                    signing_public_key: None,
                })
                .unwrap(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let credential = serde_json::from_slice::<county_api::EnrolResponse>(&body)
        .unwrap()
        .credential;

    let big = vec![1u8; county_api::MAX_CHUNK_BYTES as usize + 1];
    let app = application(&[("a.jpg", &big)]);
    let (status, _) = oneshot(
        &state,
        Request::put(paths::application(&app.application_id))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&app).unwrap()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, body) = oneshot(
        &state,
        Request::patch(paths::attachment(&app.application_id, "a.jpg"))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/octet-stream")
            .header(county_api::UPLOAD_OFFSET_HEADER, "0")
            .body(Body::from(big.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let error: county_api::ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.code, ErrorCode::TooLarge);

    // A full-size chunk is fine.
    let (status, _) = oneshot(
        &state,
        Request::patch(paths::attachment(&app.application_id, "a.jpg"))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/octet-stream")
            .header(county_api::UPLOAD_OFFSET_HEADER, "0")
            .body(Body::from(
                big[..county_api::MAX_CHUNK_BYTES as usize].to_vec(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // JSON bodies stop at 256 KiB.
    let mut huge = application(&[]);
    huge.fields
        .insert("note".into(), "x".repeat(county::MAX_JSON_BYTES));
    let (status, body) = oneshot(
        &state,
        Request::put(paths::application(&huge.application_id))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&huge).unwrap()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    let error: county_api::ErrorBody = serde_json::from_slice(&body).unwrap();
    assert_eq!(error.code, ErrorCode::TooLarge);
}

#[tokio::test]
async fn catalog_answers_not_modified_to_its_etag() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let response = station.get(paths::CATALOG).await;
    assert_eq!(response.status(), StatusCode::OK);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_eq!(etag, "\"1\"");
    let catalog: county_api::Catalog = response.json().await.unwrap();
    assert_eq!(catalog.version, 1);
    let cached = station
        .request(Method::GET, paths::CATALOG)
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);
    let stale = station
        .request(Method::GET, paths::CATALOG)
        .header("if-none-match", "\"0\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::OK);
    server.stop().await;
}

#[tokio::test]
async fn the_served_openapi_document_is_the_committed_file() {
    let server = Server::start().await;
    let response = reqwest::get(server.url(paths::OPENAPI)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "application/yaml");
    let served = response.text().await.unwrap();
    let committed = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml"),
    )
    .unwrap();
    assert!(
        served == committed,
        "the county serves a stale document; rebuild"
    );
    assert_eq!(served, county_api::openapi::to_yaml());
    server.stop().await;
}

#[tokio::test]
async fn every_contract_path_is_routed() {
    // A route constant without a handler would answer the 404 fallback with "no such route".
    let dir = tempfile::tempdir().unwrap();
    let state = county::AppState::open(dir.path()).unwrap();
    let id = Uuid::nil();
    let mut unrouted = BTreeSet::new();
    for (method, path) in [
        ("POST", paths::ENROL.to_owned()),
        ("PUT", paths::application(&id)),
        ("GET", paths::application(&id)),
        ("GET", paths::attachment(&id, "a.jpg")),
        ("PATCH", paths::attachment(&id, "a.jpg")),
        ("POST", paths::handover(&id)),
        ("GET", paths::DECISIONS.to_owned()),
        ("POST", paths::DECISIONS_ACK.to_owned()),
        ("GET", paths::CATALOG.to_owned()),
        ("GET", paths::NOTICES.to_owned()),
        ("GET", paths::OPENAPI.to_owned()),
    ] {
        let (status, _) = oneshot(
            &state,
            Request::builder()
                .method(method)
                .uri(&path)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        if status == StatusCode::NOT_FOUND || status == StatusCode::METHOD_NOT_ALLOWED {
            unrouted.insert(format!("{method} {path}"));
        }
    }
    assert!(unrouted.is_empty(), "{unrouted:?}");
}

#[tokio::test]
async fn a_revoked_station_is_refused_on_every_call() {
    let server = Server::start().await;
    let station = server.station("Lost").await;
    let other = server.station("Still here").await;
    let scan = content(100, 3);
    let app = application(&[("a.jpg", &scan)]);
    let id = app.application_id;
    assert_eq!(station.submit(&app).await.status(), StatusCode::CREATED);

    assert_eq!(
        county::revoke_station(server.data_dir(), &station.id).unwrap(),
        county::Revoked::Now
    );
    // Idempotent: the first revocation's time is kept.
    let again = county::revoke_station(server.data_dir(), &station.id).unwrap();
    assert!(
        matches!(again, county::Revoked::Already(ref at) if at.ends_with('Z')),
        "{again:?}"
    );
    let unknown = county::revoke_station(server.data_dir(), "st-nothere").unwrap_err();
    assert_eq!(unknown.to_string(), "no station with id st-nothere");

    let calls = [
        station.submit(&app).await,
        station.get(&paths::application(&id)).await,
        station.get(&paths::attachment(&id, "a.jpg")).await,
        station.patch(id, "a.jpg", 0, &scan).await,
        station
            .request(Method::POST, &paths::handover(&id))
            .json(&HandOver {
                handed_over_at: "2024-05-04T08:00:00Z".into(),
            })
            .send()
            .await
            .unwrap(),
        station.get(paths::DECISIONS).await,
        station
            .request(Method::POST, paths::DECISIONS_ACK)
            .json(&DecisionAck { cursor: 0 })
            .send()
            .await
            .unwrap(),
        station.get(paths::CATALOG).await,
        station.get(paths::NOTICES).await,
    ];
    for response in calls {
        let url = response.url().clone();
        let body = expect_error(response, StatusCode::FORBIDDEN, ErrorCode::StationRevoked).await;
        assert!(!body.retryable, "{url}");
        assert!(
            body.message.contains(&station.id),
            "{url}: {}",
            body.message
        );
    }
    // Nothing the revoked station sent after the revocation was stored.
    let list = county::list_applications(server.data_dir()).unwrap();
    assert!(!list[0].attachments[0].complete);
    let conn = rusqlite::Connection::open(county::database_path(server.data_dir())).unwrap();
    let received: i64 = conn
        .query_row("SELECT received FROM attachments", [], |r| r.get(0))
        .unwrap();
    assert_eq!(received, 0);
    // The other station is not affected.
    assert_eq!(other.get(paths::NOTICES).await.status(), StatusCode::OK);
    server.stop().await;
}

fn last_contact(data_dir: &std::path::Path, station: &str) -> Option<String> {
    let conn = rusqlite::Connection::open(county::database_path(data_dir)).unwrap();
    conn.query_row(
        "SELECT last_contact_at FROM stations WHERE id = ?1",
        [station],
        |r| r.get(0),
    )
    .unwrap()
}

fn set_last_contact(data_dir: &std::path::Path, station: &str, at: &str) {
    let conn = rusqlite::Connection::open(county::database_path(data_dir)).unwrap();
    conn.execute(
        "UPDATE stations SET last_contact_at = ?2 WHERE id = ?1",
        [station, at],
    )
    .unwrap();
}

/// Polls do not write a row each (that made every poll an fsync'd transaction on the one
/// writer); a contact older than a minute is noted and written in a batch shortly after, and
/// what is noted is written when the server stops.
#[tokio::test]
async fn a_poll_records_a_stale_last_contact_in_a_batch() {
    let mut server = Server::start().await;
    let station = server.station("Polling").await;
    let dir = server.data_dir().to_owned();
    let enrolled = last_contact(&dir, &station.id).expect("enrolment is a contact");
    // A poll right after enrolment writes nothing: the recorded contact is recent.
    assert_eq!(station.get(paths::NOTICES).await.status(), StatusCode::OK);
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    assert_eq!(last_contact(&dir, &station.id), Some(enrolled));

    // A stale contact is brought up to date by the batch (within a second or so).
    set_last_contact(&dir, &station.id, "2000-01-01T00:00:00Z");
    assert_eq!(station.get(paths::DECISIONS).await.status(), StatusCode::OK);
    let mut waited = 0;
    while last_contact(&dir, &station.id).as_deref() == Some("2000-01-01T00:00:00Z") {
        assert!(waited < 100, "the contact was never written");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        waited += 1;
    }
    let recorded = last_contact(&dir, &station.id).unwrap();
    assert!(
        recorded.starts_with("20") && recorded.as_str() > "2001",
        "{recorded}"
    );

    // Noted just before a stop: written by the stop (keep the directory past the server).
    let kept = std::mem::replace(&mut server.dir, tempfile::tempdir().unwrap());
    set_last_contact(kept.path(), &station.id, "2000-01-01T00:00:00Z");
    assert_eq!(station.get(paths::CATALOG).await.status(), StatusCode::OK);
    server.stop().await;
    let at_stop = last_contact(kept.path(), &station.id).unwrap();
    assert!(at_stop.as_str() > "2001", "{at_stop}");
}
