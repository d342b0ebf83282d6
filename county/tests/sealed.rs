//! Sealed submissions, as stations send them: the record's personal part and every scan
//! sealed to the county's key. The county opens them at intake, checks the plaintext
//! digests, keeps the plaintext, and recognises a repeat by its plaintext.

mod common;

use std::collections::BTreeMap;

use county_api::{ErrorCode, PlainDigest, SealedRecord, SubmitApplication};
use reqwest::StatusCode;
use sealing::PublicKey;
use uuid::Uuid;

use common::{Server, Station, application, content, expect_error, sha256_hex};

/// Seal a plain application as a station does: the fields and plaintext digests into the
/// record, each scan on its own (`files`, then the required papers `application` added);
/// the manifest then describes the sealed bytes, listed in the manifest's order.
fn seal(
    key: &PublicKey,
    plain: &SubmitApplication,
    files: &[(&str, &[u8])],
) -> (SubmitApplication, Vec<Vec<u8>>) {
    let id = plain.application_id.to_string();
    let record = SealedRecord {
        fields: plain.fields.clone(),
        attachments: plain
            .attachments
            .iter()
            .map(|a| PlainDigest {
                name: a.name.clone(),
                size: a.size,
                sha256: a.sha256.clone(),
            })
            .collect(),
    };
    let sealed_record = sealing::seal(
        key,
        &sealing::record_context(&id),
        &serde_json::to_vec(&record).unwrap(),
    )
    .unwrap();
    let mut out = plain.clone();
    out.fields = BTreeMap::new();
    out.sealed = Some(hex::encode(sealed_record));
    let mut sealed_files = Vec::new();
    for a in out.attachments.iter_mut() {
        let bytes = files
            .iter()
            .find(|(name, _)| *name == a.name)
            .map(|(_, bytes)| bytes.to_vec())
            .or_else(|| common::filler(&a.name))
            .expect("every attachment's bytes");
        let s = sealing::seal(key, &sealing::scan_context(&id, &a.name), &bytes).unwrap();
        a.size = s.len() as u64;
        a.sha256 = sha256_hex(&s);
        sealed_files.push(s);
    }
    (out, sealed_files)
}

async fn upload(station: &Station, id: Uuid, name: &str, bytes: &[u8], chunk: usize) -> u16 {
    let mut offset = 0;
    let mut last = 0;
    for piece in bytes.chunks(chunk) {
        let response = station.patch(id, name, offset as u64, piece).await;
        last = response.status().as_u16();
        if !response.status().is_success() {
            return last;
        }
        offset += piece.len();
    }
    last
}

#[tokio::test]
async fn a_sealed_application_is_opened_checked_and_kept_in_plaintext() {
    let server = Server::start().await;
    let station = server.station("坝美村").await;
    let key: PublicKey = station.county_key.parse().unwrap();
    let photo = content(70_000, 3);
    let register = content(1_000, 9);
    let files: [(&str, &[u8]); 2] = [("photo.jpg", &photo), ("register.jpg", &register)];
    let plain = application(&files);
    let (sealed, sealed_files) = seal(&key, &plain, &files);
    let id = plain.application_id;

    let response = station.submit(&sealed).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let receipt: county_api::SubmissionReceipt = response.json().await.unwrap();
    // The station is told the sizes and digests of what it uploads: the sealed bytes.
    assert_eq!(receipt.attachments[0].size, sealed_files[0].len() as u64);
    assert_eq!(receipt.attachments[0].sha256, sha256_hex(&sealed_files[0]));

    for (a, bytes) in sealed.attachments.iter().zip(&sealed_files) {
        assert_eq!(upload(&station, id, &a.name, bytes, 30_000).await, 200);
    }
    let list = county::list_applications(server.data_dir()).unwrap();
    let app = list.iter().find(|a| a.application_id == id).unwrap();
    assert!(app.complete, "{app:?}");
    for ((name, bytes), listed) in files.iter().zip(&app.attachments) {
        assert_eq!(listed.name, *name);
        assert_eq!(listed.size, bytes.len() as u64);
        assert_eq!(listed.sha256, sha256_hex(bytes));
        let kept =
            std::fs::read(server.data_dir().join("attachments").join(&listed.sha256)).unwrap();
        assert_eq!(&kept, bytes, "the county keeps the plaintext byte for byte");
    }
    // The stored record holds the opened fields, as for a plain submission.
    let db = rusqlite::Connection::open(county::database_path(server.data_dir())).unwrap();
    let body: String = db
        .query_row(
            "SELECT body FROM applications WHERE id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(body.contains("陶丽"), "{body}");
    assert!(!body.contains("\"sealed\""), "{body}");

    // Sealing the same content again gives other bytes: still the same application.
    let (resealed, _) = seal(&key, &plain, &files);
    assert_ne!(resealed.sealed, sealed.sealed);
    assert_eq!(station.submit(&resealed).await.status(), StatusCode::OK);
    // The same id with other content is a conflict, sealed or not.
    let mut changed = plain.clone();
    changed.fields.insert("mother.name".into(), "李兰".into());
    let (changed, _) = seal(&key, &changed, &files);
    expect_error(
        station.submit(&changed).await,
        StatusCode::CONFLICT,
        ErrorCode::Conflict,
    )
    .await;
    assert_eq!(
        county::list_applications(server.data_dir()).unwrap().len(),
        1
    );
    server.stop().await;
}

#[tokio::test]
async fn what_does_not_open_goes_back_to_the_operator() {
    let server = Server::start().await;
    let station = server.station("坝美村").await;
    let key: PublicKey = station.county_key.parse().unwrap();
    let a = content(5_000, 1);
    let b = content(6_000, 2);
    let files: [(&str, &[u8]); 2] = [("a.jpg", &a), ("b.jpg", &b)];

    // Sealed to another county's key: refused, not retryable.
    let stranger = sealing::PrivateKey::generate().public_key();
    let (wrong_key, _) = seal(&stranger, &application(&files), &files);
    let body = expect_error(
        station.submit(&wrong_key).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert!(!body.retryable);

    // A scan sealed for another name (b's bytes uploaded as a, same length, the manifest
    // naming b's sealed digest) arrives whole but does not open.
    let same = content(5_000, 2);
    let files2: [(&str, &[u8]); 2] = [("a.jpg", &a), ("b.jpg", &same)];
    let plain2 = application(&files2);
    let (sealed2, sealed_files2) = seal(&key, &plain2, &files2);
    let mut swapped2 = sealed2.clone();
    swapped2.attachments[0].sha256 = sha256_hex(&sealed_files2[1]);
    assert_eq!(
        station.submit(&swapped2).await.status(),
        StatusCode::CREATED
    );
    let status = upload(
        &station,
        plain2.application_id,
        "a.jpg",
        &sealed_files2[1],
        4_096,
    )
    .await;
    assert_eq!(
        status, 422,
        "a scan sealed for b.jpg must not be taken as a.jpg"
    );

    // Plain fields beside a sealed record: a bad request.
    let (mut both, _) = seal(&key, &application(&files), &files);
    both.fields.insert("x".into(), "y".into());
    expect_error(
        station.submit(&both).await,
        StatusCode::BAD_REQUEST,
        ErrorCode::BadRequest,
    )
    .await;
    server.stop().await;
}

#[test]
fn station_add_writes_the_county_public_key_and_keeps_the_private_key_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let a = county::add_station(dir.path(), "甲村", "http://127.0.0.1:9").unwrap();
    let b = county::add_station(dir.path(), "乙村", "http://127.0.0.1:9").unwrap();
    assert_eq!(
        a.county_public_key, b.county_public_key,
        "one key pair per county"
    );
    let key: PublicKey = a.county_public_key.parse().unwrap();
    let private = std::fs::read_to_string(dir.path().join("county.key")).unwrap();
    let private = sealing::PrivateKey::from_hex(&private).unwrap();
    assert_eq!(private.public_key(), key);
    let mode = std::fs::metadata(dir.path().join("county.key"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

/// The county validates what it opens: a sealed record with bad fields is refused naming
/// them, exactly as a plain one, and nothing of it is stored.
#[tokio::test]
async fn a_sealed_record_with_invalid_fields_is_refused_by_name() {
    let server = Server::start().await;
    let station = server.station("坝美村").await;
    let key: PublicKey = station.county_key.parse().unwrap();
    let photo = content(5_000, 4);
    let files: [(&str, &[u8]); 1] = [("photo.jpg", &photo)];
    let mut plain = application(&files);
    plain
        .fields
        .insert("mother.birth_date".into(), "1995-02-30".into());
    plain.fields.insert("children.order".into(), "0".into());
    let (sealed, _) = seal(&key, &plain, &files);
    assert!(
        sealed.fields.is_empty(),
        "nothing readable outside the seal"
    );
    let body = expect_error(
        station.submit(&sealed).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert_eq!(
        body.field_errors.keys().collect::<Vec<_>>(),
        ["children.order", "mother.birth_date"],
        "{body:?}"
    );
    assert!(
        county::list_applications(server.data_dir())
            .unwrap()
            .is_empty()
    );
    server.stop().await;
}
