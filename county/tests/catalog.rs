//! Catalog and notices end to end: published with the library calls the CLI uses, pulled by
//! stations over real HTTP, and intake against every published revision.

mod common;

use common::{Server, application, expect_error};
use county_api::{Catalog, ErrorCode, I18nText, NoticePage, paths};
use reqwest::{Method, StatusCode};

/// A built-in definition with its version (and title) changed, as JSON.
fn revised(service: &str, version: u32) -> serde_json::Value {
    let def = kiosk_domain::builtin()
        .into_iter()
        .find(|d| d.id == service)
        .unwrap();
    let mut value = serde_json::to_value(def).unwrap();
    value["version"] = version.into();
    value["title"]["en"] = format!("{service} (revision {version})").into();
    value
}

fn publish(server: &Server, body: &serde_json::Value) -> Result<county::Published, String> {
    let file = server.data_dir().join("publication.json");
    std::fs::write(&file, body.to_string()).unwrap();
    county::publish_catalog(server.data_dir(), &file, "li").map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_published_catalog_is_served_with_a_new_etag_and_stations_can_read_it() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let first = station.get(paths::CATALOG).await;
    assert_eq!(first.headers()["etag"], "\"1\"");

    let published = publish(
        &server,
        &serde_json::json!({
            "services": [revised("birth-permit", 2)],
            "params": {"min_marriage_age_male": 21},
        }),
    )
    .unwrap();
    assert_eq!(
        published,
        county::Published::New {
            version: 2,
            revisions: vec![("birth-permit".into(), 2)],
            params_changed: true,
        }
    );

    // The station's old ETag no longer matches: it gets the new catalog.
    let fresh = station
        .request(Method::GET, paths::CATALOG)
        .header("if-none-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(fresh.status(), StatusCode::OK);
    assert_eq!(fresh.headers()["etag"], "\"2\"");
    let catalog: Catalog = fresh.json().await.unwrap();
    assert_eq!(catalog.version, 2);
    assert_eq!(catalog.params.get("min_marriage_age_male"), Some(&21));
    assert_eq!(catalog.services.len(), 1);
    // What the station does with it: the domain's strict reading accepts every definition.
    let def = kiosk_domain::definition::parse(&catalog.services[0].to_string()).unwrap();
    assert_eq!((def.id.as_str(), def.version), ("birth-permit", 2));

    let cached = station
        .request(Method::GET, paths::CATALOG)
        .header("if-none-match", "\"2\"")
        .send()
        .await
        .unwrap();
    assert_eq!(cached.status(), StatusCode::NOT_MODIFIED);

    // A second publication keeps the first's services and parameters.
    publish(&server, &revised("elderly-card", 3)).unwrap();
    let catalog: Catalog = station.get(paths::CATALOG).await.json().await.unwrap();
    assert_eq!(catalog.version, 3);
    let ids: Vec<&str> = catalog
        .services
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["birth-permit", "elderly-card"]);
    assert_eq!(catalog.params.get("min_marriage_age_male"), Some(&21));
    server.stop().await;
}

#[tokio::test]
async fn a_refused_publication_stores_nothing_and_says_why_in_both_languages() {
    let server = Server::start().await;
    let station = server.station("A").await;
    publish(&server, &revised("birth-permit", 2)).unwrap();
    let mut broken = revised("birth-permit", 3);
    broken["fields"][0]["kind"] = "no-such-kind".into();
    let mut unknown_key = revised("birth-permit", 3);
    unknown_key["colour"] = "red".into();
    let mut same_version = revised("birth-permit", 2);
    same_version["title"]["zh"] = "改了标题".into();
    for (body, expected) in [
        (broken, "birth-permit"),
        (unknown_key, "colour"),
        (same_version, "revision 2 in force"),
        (revised("birth-permit", 1), "higher version"),
        (
            serde_json::json!({"services": [revised("elderly-card", 2), revised("elderly-card", 3)]}),
            "appears twice",
        ),
        (
            serde_json::json!({"services": [revised("elderly-card", 2)], "params": {"min_agee": 65}}),
            "min_agee",
        ),
        (serde_json::json!({"service": []}), "service"),
        (serde_json::json!({}), "neither"),
    ] {
        let error = publish(&server, &body).unwrap_err();
        assert!(error.contains(expected), "{error} lacks {expected}");
        assert!(error.contains(" / "), "bilingual: {error}");
        assert!(!error.is_ascii(), "Chinese first: {error}");
    }
    // Nothing of it reached the stations: still version 2 with one service.
    let catalog: Catalog = station.get(paths::CATALOG).await.json().await.unwrap();
    assert_eq!(catalog.version, 2);
    assert_eq!(catalog.services.len(), 1);
    assert!(catalog.params.is_empty());
    // The same content again changes nothing.
    assert_eq!(
        publish(&server, &revised("birth-permit", 2)).unwrap(),
        county::Published::Unchanged { version: 2 }
    );
    server.stop().await;
}

#[tokio::test]
async fn intake_takes_every_published_revision_and_no_other() {
    let server = Server::start().await;
    let station = server.station("A").await;
    publish(&server, &revised("birth-permit", 2)).unwrap();
    publish(&server, &revised("birth-permit", 3)).unwrap();
    for version in [1, 2, 3] {
        let mut a = application(&[]);
        a.service_version = version;
        let response = station.submit(&a).await;
        assert_eq!(response.status(), StatusCode::CREATED, "revision {version}");
    }
    let mut a = application(&[]);
    a.service_version = 4;
    let body = expect_error(
        station.submit(&a).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    let reason = &body.field_errors["service_version"];
    assert!(reason.contains("1, 2, 3"), "{reason}");
    server.stop().await;
}

#[tokio::test]
async fn intake_accepts_a_record_valid_under_parameters_that_were_in_force() {
    let server = Server::start().await;
    let station = server.station("A").await;
    // The sample's parents married at 20 (mother) and 22 (father) or older; a county that
    // raises the man's minimum to 99 still takes a record captured under the defaults.
    publish(
        &server,
        &serde_json::json!({"params": {"min_marriage_age_male": 99}}),
    )
    .unwrap();
    let response = station.submit(&application(&[])).await;
    assert_eq!(response.status(), StatusCode::CREATED);
    server.stop().await;
}

#[tokio::test]
async fn notices_reach_every_station_or_only_the_chosen_ones() {
    let server = Server::start().await;
    let a = server.station("A").await;
    let b = server.station("B").await;
    let text = |zh: &str, en: &str| I18nText {
        zh: zh.into(),
        en: en.into(),
    };
    let all = county::publish_notice(
        server.data_dir(),
        &text("停电通知", "Power cut"),
        &text("周五停电。", "No power on Friday."),
        &[],
        None,
        "li",
    )
    .unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].station_id, None);
    let only_a = county::publish_notice(
        server.data_dir(),
        &text("补材料", "Papers"),
        &text("请补交材料。", "Bring the papers."),
        std::slice::from_ref(&a.id),
        Some("2030-01-01T00:00:00Z"),
        "li",
    )
    .unwrap();
    assert_eq!(only_a[0].station_id.as_deref(), Some(a.id.as_str()));

    let page_a: NoticePage = a.get("/v1/notices?after=0").await.json().await.unwrap();
    let titles: Vec<&str> = page_a.notices.iter().map(|n| n.title.en.as_str()).collect();
    assert_eq!(titles, ["Power cut", "Papers"]);
    assert_eq!(
        page_a.notices[1].expires_at.as_deref(),
        Some("2030-01-01T00:00:00Z")
    );
    let page_b: NoticePage = b.get("/v1/notices?after=0").await.json().await.unwrap();
    assert_eq!(page_b.notices.len(), 1);
    // Pulled by version: nothing new after the last one seen.
    let again: NoticePage = a
        .get(&format!("/v1/notices?after={}", page_a.version))
        .await
        .json()
        .await
        .unwrap();
    assert!(again.notices.is_empty());

    for (stations, title, expected) in [
        (vec!["st-nope".to_owned()], "x", "st-nope"),
        (vec![], " ", "title"),
    ] {
        let error = county::publish_notice(
            server.data_dir(),
            &text(title, "x"),
            &text("x", "x"),
            &stations,
            None,
            "li",
        )
        .unwrap_err()
        .to_string();
        assert!(error.contains(expected) && error.contains(" / "), "{error}");
    }
    assert_eq!(county::list_notices(server.data_dir()).unwrap().len(), 2);
    server.stop().await;
}

#[tokio::test]
async fn a_service_only_the_county_publishes_is_taken_at_intake() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let mut new_service = revised("birth-permit", 1);
    new_service["id"] = "birth-permit-pilot".into();
    let mut a = application(&[]);
    a.service = "birth-permit-pilot".into();
    let unknown = expect_error(
        station.submit(&a).await,
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidApplication,
    )
    .await;
    assert!(unknown.field_errors.contains_key("service"), "{unknown:?}");

    publish(&server, &new_service).unwrap();
    assert_eq!(station.submit(&a).await.status(), StatusCode::CREATED);
    let info = county::show_catalog(server.data_dir()).unwrap();
    assert!(
        info.services
            .iter()
            .any(|(id, v, _, _, published)| id == "birth-permit-pilot" && *v == 1 && *published)
    );
    server.stop().await;
}
