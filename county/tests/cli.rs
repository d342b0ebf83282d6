//! The `county` binary, run for real on temporary directories.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn county(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_county"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("COUNTY_DATA_DIR")
        .output()
        .expect("run county")
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

/// Exit 1 and exactly one line on stderr, `county: <message>`.
fn assert_one_line_error(output: &Output, contains: &str) {
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    let err = stderr(output);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(err.starts_with("county: "), "{err:?}");
    assert!(err.contains(contains), "{err:?} lacks {contains:?}");
}

#[test]
fn help_documents_every_subcommand() {
    let help = county(&["--help"]);
    assert!(help.status.success());
    let text = stdout(&help);
    for subcommand in [
        "serve",
        "station",
        "clerk",
        "applications",
        "decide",
        "catalog",
        "notice",
    ] {
        assert!(
            text.contains(subcommand),
            "{subcommand} missing from:\n{text}"
        );
    }
    assert!(text.contains("Exit status"), "{text}");
    let station = stdout(&county(&["station", "--help"]));
    assert!(
        station.contains("add") && station.contains("revoke"),
        "{station}"
    );
    for (args, flags) in [
        (&["serve", "--help"][..], &["--listen", "--data-dir"][..]),
        (
            &["station", "add", "--help"],
            &["--name", "--url", "--out", "--data-dir"],
        ),
        (
            &["station", "revoke", "--help"],
            &["--data-dir", "STATION_ID"],
        ),
        (
            &["clerk", "add", "--help"],
            &["--name", "--data-dir", "standard input"],
        ),
        (&["applications", "--help"], &["--data-dir", "--json"]),
        (
            &["catalog", "publish", "--help"],
            &["--data-dir", "FILE", "\"params\"", "higher version"],
        ),
        (&["catalog", "show", "--help"], &["--data-dir", "--json"]),
        (
            &["notice", "publish", "--help"],
            &[
                "--title-zh",
                "--title-en",
                "--body-zh",
                "--body-en",
                "--station",
                "every station",
            ],
        ),
        (
            &["decide", "--help"],
            &["--data-dir", "--reason", "approve", "more-papers"],
        ),
    ] {
        let text = stdout(&county(args));
        for flag in flags {
            assert!(
                text.contains(flag),
                "{args:?}: {flag} missing from:\n{text}"
            );
        }
    }
}

#[test]
fn station_add_writes_a_provisioning_file() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = dir.path().join("station.toml");
    let output = county(&[
        "station",
        "add",
        "--name",
        "Xiaozhai village",
        "--url",
        "http://10.0.0.5:8080",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let id = stdout(&output).trim().to_owned();
    assert!(id.starts_with("st-") && id.len() == 11, "{id:?}");

    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.starts_with("# "), "a comment header first:\n{text}");
    assert!(text.contains("works once"), "{text}");
    let provisioning: county_api::Provisioning = toml::from_str(&text).unwrap();
    assert_eq!(provisioning.station_id, id);
    assert_eq!(provisioning.station_name, "Xiaozhai village");
    assert_eq!(provisioning.county_url, "http://10.0.0.5:8080");
    assert!(provisioning.enrolment_token.len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the token file is private: {mode:o}");
    }

    let bad = county(&[
        "station",
        "add",
        "--name",
        "X",
        "--url",
        "not a url",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert_one_line_error(&bad, "http://");
}

#[test]
fn applications_json_on_an_empty_directory_is_an_empty_array() {
    let dir = tempfile::tempdir().unwrap();
    let output = county(&[
        "applications",
        "--json",
        "--data-dir",
        dir.path().to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{output:?}");
    let value: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(value, serde_json::json!([]));
    let table = county(&["applications", "--data-dir", dir.path().to_str().unwrap()]);
    assert!(table.status.success());
    assert_eq!(stdout(&table).trim(), "no applications");
}

#[test]
fn errors_are_one_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let output = county(&["applications", "--data-dir", missing.to_str().unwrap()]);
    assert_one_line_error(&output, "the data directory");

    let data = dir.path().to_str().unwrap();
    let id = uuid::Uuid::now_v7().to_string();
    let unknown = county(&["decide", "--data-dir", data, &id, "approve"]);
    assert_one_line_error(&unknown, &format!("no application with id {id}"));
    let no_reason = county(&["decide", "--data-dir", data, &id, "reject"]);
    assert_one_line_error(&no_reason, "a reason is required to reject");

    // Usage errors are clap's (exit 2).
    let usage = county(&["decide", "--data-dir", data, "not-a-uuid", "approve"]);
    assert_eq!(usage.status.code(), Some(2));
}

#[test]
fn applications_and_decide_see_what_the_station_sent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let provisioning = county::add_station(data, "Xiaozhai", "http://county.example").unwrap();
    let app = submit_in_process(data, &provisioning);

    let list = county(&[
        "applications",
        "--json",
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    assert!(list.status.success(), "{list:?}");
    let summaries: serde_json::Value = serde_json::from_str(&stdout(&list)).unwrap();
    assert_eq!(summaries[0]["application_id"], app.to_string());
    assert_eq!(summaries[0]["station"], provisioning.station_id.as_str());
    assert_eq!(summaries[0]["station_name"], "Xiaozhai");
    assert_eq!(summaries[0]["state"], "complete");
    assert_eq!(summaries[0]["complete"], true);
    let table = stdout(&county(&[
        "applications",
        "--data-dir",
        data.to_str().unwrap(),
    ]));
    assert!(table.starts_with("APPLICATION"), "{table}");
    assert!(table.contains(&app.to_string()), "{table}");

    let decided = county(&[
        "decide",
        "--data-dir",
        data.to_str().unwrap(),
        &app.to_string(),
        "more-papers",
        "--reason",
        "photo unreadable",
        "--clerk",
        "li",
    ]);
    assert!(decided.status.success(), "{decided:?}");
    let line = stdout(&decided);
    assert!(
        line.contains("more_papers") && line.contains("photo unreadable"),
        "{line}"
    );
    let again = county(&[
        "decide",
        "--data-dir",
        data.to_str().unwrap(),
        &app.to_string(),
        "approve",
    ]);
    assert_one_line_error(&again, "more_papers");
}

/// Enrol and submit an application without attachments through the router in-process.
fn submit_in_process(data: &Path, provisioning: &county_api::Provisioning) -> uuid::Uuid {
    use axum::body::Body;
    use axum::http::Request;
    use tower::ServiceExt;

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let state = county::AppState::open(data).unwrap();
        let enrol = Request::post(county_api::paths::ENROL)
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::to_vec(&county_api::EnrolRequest {
                    station_id: provisioning.station_id.clone(),
                    enrolment_token: provisioning.enrolment_token.clone(),
                    signing_public_key: None,
                })
                .unwrap(),
            ))
            .unwrap();
        let response = county::app(state.clone()).oneshot(enrol).await.unwrap();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let credential = serde_json::from_slice::<county_api::EnrolResponse>(&body)
            .unwrap()
            .credential;
        let papers: Vec<(&str, Vec<u8>)> = ["applicant_id_card", "household_register", "photo"]
            .iter()
            .enumerate()
            .map(|(i, scan)| (*scan, vec![i as u8 + 1; 64]))
            .collect();
        let app = county_api::SubmitApplication {
            application_id: uuid::Uuid::now_v7(),
            tracking_number: "EC-7".into(),
            service: "elderly-card".into(),
            service_version: 1,
            submitted_at: "2024-05-01T08:00:00Z".into(),
            fields: {
                let text = include_str!("../../tests/data/applications/elderly-card.json");
                let sample: serde_json::Value = serde_json::from_str(text).unwrap();
                serde_json::from_value(sample["fields"].clone()).unwrap()
            },
            // The papers elderly-card requires (a few bytes each), sent whole below.
            attachments: papers
                .iter()
                .map(|(scan, bytes)| county_api::AttachmentManifest {
                    name: format!("{scan}.jpg"),
                    scan: (*scan).into(),
                    content_type: "image/jpeg".into(),
                    size: bytes.len() as u64,
                    sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes)),
                })
                .collect(),
            sealed: None,
            clock: None,
        };
        let put = Request::put(county_api::paths::application(&app.application_id))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&app).unwrap()))
            .unwrap();
        let response = county::app(state.clone()).oneshot(put).await.unwrap();
        assert_eq!(response.status(), axum::http::StatusCode::CREATED);
        for (scan, bytes) in &papers {
            let patch = Request::patch(county_api::paths::attachment(
                &app.application_id,
                &format!("{scan}.jpg"),
            ))
            .header("authorization", format!("Bearer {credential}"))
            .header("content-type", "application/octet-stream")
            .header(county_api::UPLOAD_OFFSET_HEADER, "0")
            .body(Body::from(bytes.clone()))
            .unwrap();
            let response = county::app(state.clone()).oneshot(patch).await.unwrap();
            assert_eq!(response.status(), axum::http::StatusCode::OK, "{scan}");
        }
        app.application_id
    })
}

#[test]
fn serve_announces_its_address_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_county"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start county serve");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let address = line
        .trim_end()
        .strip_prefix("county: listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(
        address.starts_with("127.0.0.1:") && !address.ends_with(":0"),
        "{address}"
    );

    // It answers: fetch the OpenAPI document over plain HTTP/1.1.
    let mut socket = std::net::TcpStream::connect(&address).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(
        socket,
        "GET {} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n",
        county_api::paths::OPENAPI
    )
    .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response:.200}");
    assert!(response.contains("openapi: 3.1.0"), "{response:.200}");

    // SIGTERM: a graceful stop with exit 0.
    let terminated = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if !terminated || Instant::now() > deadline {
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let Some(status) = status else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("county serve did not stop on SIGTERM (kill sent: {terminated})");
    };
    assert!(status.success(), "{status:?}");
    let mut rest = String::new();
    out.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "exactly one line on stdout");
}

fn county_with_stdin(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_county"))
        .args(args)
        .env_remove("RUST_LOG")
        .env_remove("COUNTY_DATA_DIR")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run county");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn clerk_add_reads_the_password_from_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let add = |name: &str, password: &str| {
        county_with_stdin(
            &["clerk", "add", "--data-dir", data, "--name", name],
            password,
        )
    };
    let ok = add("li", "correct horse battery\n");
    assert!(ok.status.success(), "{ok:?}");
    assert_eq!(stdout(&ok), "clerk li added\n");
    assert_one_line_error(&add("li", "another long password\n"), "already exists");
    assert_one_line_error(&add("wang", "short\n"), "at least 10 characters");
    assert_one_line_error(&add("a b", "correct horse battery\n"), "clerk's name");
    // Only a hash is stored.
    let conn = rusqlite::Connection::open(county::database_path(dir.path())).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM clerks WHERE name = 'li'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse"));
}

#[test]
fn station_revoke_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().to_str().unwrap();
    let provisioning = county::add_station(dir.path(), "Lost", "http://county.example").unwrap();
    let id = provisioning.station_id.as_str();
    let first = county(&["station", "revoke", "--data-dir", data, id]);
    assert!(first.status.success(), "{first:?}");
    assert_eq!(stdout(&first), format!("station {id} revoked\n"));
    let second = county(&["station", "revoke", "--data-dir", data, id]);
    assert!(second.status.success(), "{second:?}");
    assert!(
        stdout(&second).starts_with(&format!("station {id} was already revoked at ")),
        "{}",
        stdout(&second)
    );
    assert_one_line_error(
        &county(&["station", "revoke", "--data-dir", data, "st-nothere"]),
        "no station with id st-nothere",
    );
}

#[test]
fn catalog_publish_refuses_a_bad_file_whole_and_show_tells_what_is_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("county");
    let data = data.to_str().unwrap();
    let file = dir.path().join("publication.json");
    let file_arg = file.to_str().unwrap();
    let mut def: serde_json::Value =
        serde_json::from_str(include_str!("../../domain/services/elderly-card.json")).unwrap();

    // Revision 1 is the built-in one: the version must go up.
    def["title"]["en"] = "Elderly card (new)".into();
    std::fs::write(&file, def.to_string()).unwrap();
    let refused = county(&["catalog", "publish", "--data-dir", data, file_arg]);
    assert_one_line_error(&refused, "修订须用更高的版本号");
    assert!(stderr(&refused).contains("needs a higher version"));
    // Not a definition: the schema's strict reading names the problem.
    def["version"] = 2.into();
    def["fields"][0]["colour"] = "red".into();
    std::fs::write(&file, def.to_string()).unwrap();
    let refused = county(&["catalog", "publish", "--data-dir", data, file_arg]);
    assert_one_line_error(&refused, "不符合服务定义格式");
    assert!(
        stderr(&refused).contains("unknown field `colour`"),
        "{}",
        stderr(&refused)
    );
    std::fs::write(&file, "{not json").unwrap();
    assert_one_line_error(
        &county(&["catalog", "publish", "--data-dir", data, file_arg]),
        "not valid JSON",
    );
    let shown = county(&["catalog", "show", "--data-dir", data]);
    assert!(shown.status.success(), "{shown:?}");
    assert!(
        stdout(&shown).contains("catalog version 1 (nothing published)"),
        "{}",
        stdout(&shown)
    );

    let good: serde_json::Value =
        serde_json::from_str(include_str!("../../domain/services/elderly-card.json")).unwrap();
    let mut good = good;
    good["version"] = 2.into();
    let publication = serde_json::json!({"services": [good], "params": {"min_age": 65}});
    std::fs::write(&file, publication.to_string()).unwrap();
    let published = county(&[
        "catalog",
        "publish",
        "--data-dir",
        data,
        file_arg,
        "--clerk",
        "li",
    ]);
    assert!(published.status.success(), "{published:?}");
    assert!(
        stdout(&published).contains("published catalog version 2 (elderly-card v2, params)"),
        "{}",
        stdout(&published)
    );
    let again = county(&["catalog", "publish", "--data-dir", data, file_arg]);
    assert!(again.status.success());
    assert!(
        stdout(&again).contains("stays at version 2"),
        "{}",
        stdout(&again)
    );

    let shown = stdout(&county(&["catalog", "show", "--data-dir", data]));
    assert!(shown.contains("catalog version 2 (published "), "{shown}");
    assert!(shown.contains("by li)"), "{shown}");
    assert!(shown.contains("elderly-card\tv2\tpublished"), "{shown}");
    assert!(shown.contains("birth-permit\tv1\tbuilt-in"), "{shown}");
    assert!(shown.contains("min_age = 65"), "{shown}");
    let json = county(&["catalog", "show", "--data-dir", data, "--json"]);
    let catalog: county_api::Catalog = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(catalog.version, 2);
    assert_eq!(catalog.params["min_age"], 65);
}

#[test]
fn notice_publish_goes_to_every_station_or_the_chosen_ones() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("county");
    let data = data.to_str().unwrap();
    let out = dir.path().join("a.toml");
    let added = county(&[
        "station",
        "add",
        "--name",
        "A",
        "--url",
        "http://127.0.0.1:1",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    assert!(added.status.success(), "{added:?}");
    // The station id is the word of stdout that starts with "st-".
    let station = stdout(&added)
        .split_whitespace()
        .find(|w| w.starts_with("st-"))
        .unwrap()
        .to_owned();
    let notice = |extra: &[&str]| {
        let mut args = vec![
            "notice",
            "publish",
            "--data-dir",
            data,
            "--title-zh",
            "停电",
            "--title-en",
            "Power cut",
            "--body-zh",
            "周五停电。",
            "--body-en",
            "No power on Friday.",
        ];
        args.extend_from_slice(extra);
        county(&args)
    };
    let all = notice(&[]);
    assert!(all.status.success(), "{all:?}");
    assert!(stdout(&all).contains("published notice version 1 to every station"));
    let one = notice(&["--station", &station]);
    assert!(one.status.success(), "{one:?}");
    assert!(
        stdout(&one).contains(&format!("published notice version 2 to station {station}")),
        "{}",
        stdout(&one)
    );
    assert_one_line_error(
        &notice(&["--station", "st-nope"]),
        "no station with id st-nope",
    );
    assert_one_line_error(
        &notice(&["--expires-at", "next week"]),
        "不是 RFC 3339 时间",
    );
    let listed = stdout(&county(&["notice", "list", "--data-dir", data]));
    assert_eq!(listed.lines().count(), 2, "{listed}");
    assert!(
        listed.lines().next().unwrap().starts_with("2\t"),
        "{listed}"
    );
}

#[test]
fn serve_logs_the_sms_without_personal_data_and_refuses_a_bad_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let bad = county(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data.to_str().unwrap(),
        "--sms-webhook",
        "gateway",
    ]);
    assert_one_line_error(&bad, "the SMS webhook");

    // A decision taken before the server runs: its SMS waits in the queue.
    let provisioning = county::add_station(data, "Xiaozhai", "http://county.example").unwrap();
    let app = submit_in_process(data, &provisioning);
    let decided = county(&[
        "decide",
        "--data-dir",
        data.to_str().unwrap(),
        &app.to_string(),
        "approve",
    ]);
    assert!(decided.status.success(), "{decided:?}");

    let mut child = Command::new(env!("CARGO_BIN_EXE_county"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start county serve");
    let mut err = BufReader::new(child.stderr.take().unwrap());
    let (found, lines) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        while err.read_line(&mut line).unwrap_or(0) > 0 {
            if line.contains("SMS to the villager") {
                let _ = found.send(line.clone());
                return;
            }
            line.clear();
        }
    });
    let line = lines.recv_timeout(Duration::from_secs(20));
    // A graceful stop: the worker records the delivery it has made before the server exits.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    let line = line.expect("the logging notifier wrote its line");
    assert!(line.contains("EC-7") && line.contains("李**"), "{line}");
    for personal in ["李德华", "13712345678", "08763123456", "532627"] {
        assert!(!line.contains(personal), "{personal} in {line}");
    }
    assert_eq!(county::sms::queue_counts(data).unwrap(), (1, 0));
}
