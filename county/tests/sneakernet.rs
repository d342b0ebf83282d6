//! `county import`: a station's USB bundle through the same intake as the link, against a
//! real server on the same data directory. Each refusal of a whole bundle names its cause;
//! nothing of a refused bundle is stored; applications are never stored twice, whether they
//! come by bundle, by link, or both (in either order, or half by each).

mod common;

use std::path::{Path, PathBuf};

use common::{Server, application, content};
use county::sneakernet::{ImportError, Outcome, import};
use county_api::bundle::{self, ApplicationsHeader};
use county_api::{EnrolRequest, EnrolResponse, SubmissionReceipt, SubmitApplication, paths};
use reqwest::StatusCode;
use sealing::sign::SigningKey;

/// Register and enrol a station that registers `key` (or no key).
async fn station(server: &Server, key: Option<&SigningKey>) -> common::Station {
    let prov = county::add_station(server.data_dir(), "坝美村", &server.base).unwrap();
    let http = reqwest::Client::new();
    let enrolled: EnrolResponse = http
        .post(server.url(paths::ENROL))
        .json(&EnrolRequest {
            station_id: prov.station_id.clone(),
            enrolment_token: prov.enrolment_token.clone(),
            signing_public_key: key.map(|k| k.verifying_key().to_string()),
        })
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    common::Station {
        id: enrolled.station_id,
        credential: enrolled.credential,
        county_key: prov.county_public_key,
        base: server.base.clone(),
        http,
    }
}

/// Write a bundle of `apps` (each with its own files' bytes; the papers `application`
/// added are filled in) signed by `key` as `station`.
fn write_bundle(
    dir: &Path,
    station: &str,
    key: &SigningKey,
    apps: &[(SubmitApplication, Vec<Vec<u8>>)],
) -> PathBuf {
    let header = ApplicationsHeader {
        station_id: station.into(),
        created_at: "2026-11-25T08:00:00Z".into(),
        applications: apps.iter().map(|(a, _)| a.clone()).collect(),
    };
    let name = format!("{station}-{}.kiosk-bundle", rand_suffix());
    let (path, _) = bundle::save(dir, &name, |out| {
        let mut w = bundle::Writer::new(out, &header)?;
        // Each application's own files, then the required papers `application` added.
        for (app, files) in apps {
            for (i, a) in app.attachments.iter().enumerate() {
                match files.get(i) {
                    Some(f) => w.blob(f)?,
                    None => w.blob(&common::filler(&a.name).expect("a required paper"))?,
                }
            }
        }
        Ok(w.finish(|c, d| key.sign_digest(c, d))?.1)
    })
    .unwrap();
    path
}

fn rand_suffix() -> String {
    uuid::Uuid::now_v7().simple().to_string()
}

fn outcomes(report: &county::sneakernet::ImportReport) -> Vec<Outcome> {
    report
        .applications
        .iter()
        .map(|a| a.outcome.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_goes_through_the_links_intake_and_nothing_is_stored_twice() {
    let server = Server::start().await;
    let usb = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    let st = station(&server, Some(&key)).await;
    let dir = server.data_dir().to_owned();

    let (f1, f2) = (content(5000, 1), content(3000, 2));
    let x = application(&[("a.jpg", &f1), ("b.jpg", &f2)]);
    let y = application(&[("c.jpg", &f2)]);
    // Z went half over the link before it broke: the record and half of its scan.
    let z = application(&[("d.jpg", &f1)]);
    assert_eq!(st.submit(&z).await.status(), StatusCode::CREATED);
    assert!(
        st.patch(z.application_id, "d.jpg", 0, &f1[..2000])
            .await
            .status()
            .is_success()
    );

    let apps = vec![
        (x.clone(), vec![f1.clone(), f2.clone()]),
        (y.clone(), vec![f2.clone()]),
        (z.clone(), vec![f1.clone()]),
    ];
    let file = write_bundle(usb.path(), &st.id, &key, &apps);
    let first = tokio::task::spawn_blocking({
        let (dir, file) = (dir.clone(), file.clone());
        move || import(&dir, &file)
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(first.station_id, st.id);
    assert_eq!(
        outcomes(&first),
        vec![Outcome::New, Outcome::New, Outcome::Completed]
    );
    let again = import(&dir, &file).unwrap();
    assert_eq!(outcomes(&again), vec![Outcome::AlreadyHad; 3]);
    // Each application's history says it came by stick, once.
    let audit = rusqlite::Connection::open(county::database_path(&dir)).unwrap();
    let imported: i64 = audit
        .query_row(
            "SELECT COUNT(*) FROM audit WHERE action = 'bundle_import'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(imported, 3);

    // The link comes back: the station's upload is answered as a repeat, complete.
    let put = st.submit(&x).await;
    assert_eq!(
        put.status(),
        StatusCode::OK,
        "a repeat, not a new application"
    );
    let receipt: SubmissionReceipt = put.json().await.unwrap();
    assert!(receipt.complete, "{receipt:?}");
    let list = county::list_applications(&dir).unwrap();
    assert_eq!(list.len(), 3);
    assert!(list.iter().all(|a| a.complete), "{list:?}");

    // Other content under a known id: that one refused with the intake's reason, the
    // rest taken.
    let mut changed = x.clone();
    changed.fields.insert("mother.name".into(), "别人".into());
    let w = application(&[("e.jpg", &f2)]);
    let file = write_bundle(
        usb.path(),
        &st.id,
        &key,
        &[
            (changed, vec![f1.clone(), f2.clone()]),
            (w, vec![f2.clone()]),
        ],
    );
    let mixed = import(&dir, &file).unwrap();
    match &outcomes(&mixed)[..] {
        [Outcome::Refused(why), Outcome::New] => {
            assert!(why.contains("different content"), "{why}")
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(county::list_applications(&dir).unwrap().len(), 4);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bundle_that_cannot_be_trusted_is_refused_whole_with_its_reason() {
    let server = Server::start().await;
    let usb = tempfile::tempdir().unwrap();
    let key = SigningKey::generate();
    let st = station(&server, Some(&key)).await;
    let keyless = station(&server, None).await;
    let revoked = station(&server, Some(&key)).await;
    county::revoke_station(server.data_dir(), &revoked.id).unwrap();
    let dir = server.data_dir().to_owned();
    let f = content(1000, 3);
    let apps = vec![(application(&[("a.jpg", &f)]), vec![f.clone()])];

    let good = write_bundle(usb.path(), &st.id, &key, &apps);
    let bytes = std::fs::read(&good).unwrap();
    let truncated = usb.path().join("truncated.kiosk-bundle");
    std::fs::write(&truncated, &bytes[..bytes.len() - 1]).unwrap();
    let garbage = usb.path().join("garbage.kiosk-bundle");
    std::fs::write(&garbage, b"not a bundle at all").unwrap();

    type Check = fn(&ImportError) -> bool;
    let cases: Vec<(&str, PathBuf, Check)> = vec![
        (
            "signed by another key",
            write_bundle(usb.path(), &st.id, &SigningKey::generate(), &apps),
            |e| matches!(e, ImportError::BadSignature(_)),
        ),
        (
            "unknown station",
            write_bundle(usb.path(), "st-nobody", &key, &apps),
            |e| matches!(e, ImportError::UnknownStation(_)),
        ),
        (
            "station without a key",
            write_bundle(usb.path(), &keyless.id, &key, &apps),
            |e| matches!(e, ImportError::NoKey(_)),
        ),
        (
            "revoked station",
            write_bundle(usb.path(), &revoked.id, &key, &apps),
            |e| matches!(e, ImportError::Revoked(..)),
        ),
        ("truncated", truncated, |e| {
            matches!(e, ImportError::Bundle(bundle::BundleError::Damaged(_)))
        }),
        ("garbage", garbage, |e| {
            matches!(e, ImportError::Bundle(bundle::BundleError::NotABundle))
        }),
        ("missing file", usb.path().join("nothing-here"), |e| {
            matches!(e, ImportError::Read { .. })
        }),
    ];
    for (what, file, expected) in cases {
        let err = import(&dir, &file).unwrap_err();
        assert!(expected(&err), "{what}: {err}");
        let text = err.to_string();
        assert!(text.contains(" / "), "{what}: bilingual: {text}");
        assert!(
            county::list_applications(&dir).unwrap().is_empty(),
            "{what}: nothing stored"
        );
    }
    assert!(import(&dir, &good).is_ok());
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_damaged_signing_key_at_enrolment_is_refused_before_the_token_is_spent() {
    let server = Server::start().await;
    let prov = county::add_station(server.data_dir(), "坝美村", &server.base).unwrap();
    assert!(
        prov.county_signing_key.is_some(),
        "the provisioning file names the county's key"
    );
    let http = reqwest::Client::new();
    let enrol = |key: Option<String>| {
        http.post(server.url(paths::ENROL))
            .json(&EnrolRequest {
                station_id: prov.station_id.clone(),
                enrolment_token: prov.enrolment_token.clone(),
                signing_public_key: key,
            })
            .send()
    };
    let bad = enrol(Some("zz".repeat(32))).await.unwrap();
    common::expect_error(
        bad,
        StatusCode::BAD_REQUEST,
        county_api::ErrorCode::BadRequest,
    )
    .await;
    let good = enrol(Some(SigningKey::generate().verifying_key().to_string()))
        .await
        .unwrap();
    assert_eq!(good.status(), StatusCode::OK, "the token was not spent");
    server.stop().await;
}
