//! The OpenAPI document checked against the running server by a property-based API tester
//! (system tier: schemathesis from PyPI, pinned in `.ci/system-tier`).
//!
//! A real county server with an enrolled station (its bearer credential on every call) and
//! one application half uploaded, so the read and upload operations meet a real record and
//! not only 404s. schemathesis then generates requests from `docs/openapi.yaml` — valid and
//! invalid ones — and checks every answer: no 5xx, the status code, content type, headers
//! and body as the document says; schema-invalid input refused; a missing required header
//! refused; an unknown method refused; a call without the credential refused.
//!
//! Not checked: `positive_data_acceptance` (every schema-valid request accepted). The
//! server rightly refuses some schema-valid requests on rules a schema cannot state — a
//! service the county does not offer, a decision cursor beyond the last decision, a path id
//! that differs from the body's — each with a documented 4xx.
//!
//! Run: `cargo test -p county --features system-tier --test schemathesis`. With the feature
//! on and `st` missing, the test fails.

#![cfg(feature = "system-tier")]

mod common;

use std::path::Path;
use std::process::Command;

use common::{Server, application, content};
use reqwest::StatusCode;

/// The version `.ci/system-tier` installs.
const SCHEMATHESIS: &str = "4.32.5";

const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,\
                      response_headers_conformance,response_schema_conformance,\
                      negative_data_rejection,missing_required_header,unsupported_method,\
                      ignored_auth";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_running_server_answers_as_the_openapi_document_says() {
    let server = Server::start().await;
    let station = server.station("坝美村").await;
    let scan = content(300_000, 7);
    let app = application(&[("page-1.jpg", &scan)]);
    let submitted = station.submit(&app).await;
    assert!(submitted.status().is_success(), "{submitted:?}");
    let half = station
        .patch(app.application_id, "page-1.jpg", 0, &scan[..150_000])
        .await;
    assert_eq!(half.status(), StatusCode::OK, "{half:?}");

    let work = tempfile::tempdir().unwrap();
    // The credential reaches the config through the environment, never the command line.
    let config = format!(
        "headers = {{ Authorization = \"Bearer ${{COUNTY_CREDENTIAL}}\" }}\n\n\
         [[operations]]\n\
         include-name = \"GET /v1/applications/{{application_id}}\"\n\
         parameters = {{ application_id = \"{id}\" }}\n\n\
         [[operations]]\n\
         include-path = \"/v1/applications/{{application_id}}/attachments/{{name}}\"\n\
         parameters = {{ application_id = \"{id}\", name = \"page-1.jpg\" }}\n",
        id = app.application_id
    );
    let config_path = work.path().join("schemathesis.toml");
    std::fs::write(&config_path, config).unwrap();
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/openapi.yaml");

    let mut st = Command::new("st");
    let document_arg = document.clone();
    st.current_dir(work.path())
        .env("COUNTY_CREDENTIAL", &station.credential)
        .env("NO_COLOR", "1")
        .arg("--config-file")
        .arg(&config_path)
        .arg("run")
        .arg(&document_arg)
        .args(["--url", &server.base, "--checks", CHECKS])
        .args(["--max-examples", "50", "--seed", "1", "--no-color"])
        .args(["--generation-database", "none", "--request-timeout", "10"]);
    let out = tokio::task::spawn_blocking(move || st.output())
        .await
        .unwrap()
        .unwrap_or_else(|e| {
            panic!(
                "schemathesis (`st`) cannot be run ({e}): install it with `pip install \
                 schemathesis=={SCHEMATHESIS}` (.ci/system-tier does)"
            )
        });
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found answers that break the document:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // It really ran every operation of the document (an empty selection also exits 0).
    let operations = std::fs::read_to_string(&document)
        .unwrap()
        .matches("operationId:")
        .count();
    assert!(
        report.contains(&format!("Tested: {operations}")),
        "{report}"
    );
    assert!(report.contains("passed"), "{report}");

    // The application is still there, half uploaded: nothing the tester sent broke it.
    let got = station
        .get(&county_api::paths::application(&app.application_id))
        .await;
    assert_eq!(got.status(), StatusCode::OK);
    server.stop().await;
}
