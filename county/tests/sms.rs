//! The villager's SMS over a real webhook: a small HTTP receiver on 127.0.0.1 that fails
//! when told to, a real county server, decisions from the command-line path.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use common::{Server, application};
use county::sms::{Notifier, Retry, SmsMessage, WebhookNotifier};
use county_api::DecisionKind;

/// What the receiver saw.
#[derive(Default)]
struct Received {
    /// Answer 503 to this many requests first.
    fail_next: usize,
    attempts: usize,
    /// Accepted messages with their `Idempotency-Key` header.
    accepted: Vec<(String, SmsMessage)>,
}

type Shared = Arc<Mutex<Received>>;

async fn receive(
    State(shared): State<Shared>,
    headers: HeaderMap,
    axum::Json(message): axum::Json<SmsMessage>,
) -> StatusCode {
    let mut r = shared.lock().unwrap();
    r.attempts += 1;
    if r.fail_next > 0 {
        r.fail_next -= 1;
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    r.accepted.push((key, message));
    StatusCode::OK
}

/// The receiver on 127.0.0.1; returns its URL.
async fn receiver(shared: Shared) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/sms", listener.local_addr().unwrap());
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(receive))
        .with_state(shared);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// Test-only TLS material (tests/data/tls: `cert.pem` for 127.0.0.1, signed by `ca.pem`).
fn tls_file(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/tls")
        .join(name)
}

/// The receiver over real TLS on 127.0.0.1 (the county's own TLS listener and the test
/// certificate of a private CA); returns its `https://` URL.
async fn tls_receiver(shared: Shared) -> String {
    county::install_tls_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}/sms", listener.local_addr().unwrap());
    let config = county::tls::server_config(&tls_file("cert.pem"), &tls_file("key.pem")).unwrap();
    let listener = county::tls::TlsListener::new(listener, config).unwrap();
    let app = axum::Router::new()
        .route("/sms", axum::routing::post(receive))
        .with_state(shared);
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

const FAST: Retry = Retry {
    first: Duration::from_millis(50),
    max: Duration::from_millis(200),
    poll: Duration::from_millis(50),
};

async fn county_with_webhook(dir: tempfile::TempDir, url: &str) -> Server {
    let notifier = Arc::new(WebhookNotifier::new(url).unwrap());
    Server::start_with(dir, move |state| state.set_sms(notifier, FAST)).await
}

/// A station submits an application and a clerk approves it by `county decide`'s path,
/// outside the server: the worker finds the SMS in the queue.
async fn approved_application(server: &Server) -> (common::Station, county_api::SubmitApplication) {
    let station = server.station("Xiaozhai").await;
    let app = application(&[]);
    assert_eq!(station.submit(&app).await.status(), 201);
    county::decide(
        server.data_dir(),
        app.application_id,
        DecisionKind::Approve,
        None,
        "li",
    )
    .unwrap();
    (station, app)
}

async fn wait_for(shared: &Shared, accepted: usize) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while shared.lock().unwrap().accepted.len() < accepted {
        assert!(Instant::now() < deadline, "no SMS arrived in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_decisions_sms_is_retried_until_delivered_once_and_survives_a_restart() {
    let shared: Shared = Arc::new(Mutex::new(Received {
        fail_next: 2,
        ..Received::default()
    }));
    let url = receiver(shared.clone()).await;
    let server = county_with_webhook(tempfile::tempdir().unwrap(), &url).await;
    let (station, app) = approved_application(&server).await;
    wait_for(&shared, 1).await;
    // Time for a wrong second delivery to show up.
    tokio::time::sleep(Duration::from_millis(400)).await;
    {
        let r = shared.lock().unwrap();
        assert_eq!(r.attempts, 3, "two refusals, then delivered");
        assert_eq!(r.accepted.len(), 1, "delivered once");
        let (key, sms) = &r.accepted[0];
        assert_eq!(sms.id, format!("{}-1", station.id));
        assert_eq!(key, &sms.id, "Idempotency-Key is the message id");
        // birth-permit's contact.sms_phone; the mother tapped her card.
        assert_eq!(sms.phone, "13887654321");
        assert_eq!(sms.name_masked, "陶*");
        assert_eq!(sms.kind, "approve");
        assert_eq!(sms.tracking_number, app.tracking_number);
        assert_eq!(sms.station.name, "Xiaozhai");
        assert_eq!(sms.service.id, "birth-permit");
        assert!(sms.text.zh.contains("已获批准") && sms.text.en.contains("approved"));
    }
    assert_eq!(
        county::sms::queue_counts(server.data_dir()).unwrap(),
        (1, 0)
    );

    // A decision while the server is down waits in the queue; the next server sends it, and
    // only it.
    let dir = server.stop_keeping_data().await;
    county::decide(
        dir.path(),
        app.application_id,
        DecisionKind::Ready,
        None,
        "li",
    )
    .unwrap();
    assert_eq!(county::sms::queue_counts(dir.path()).unwrap(), (1, 1));
    let server = county_with_webhook(dir, &url).await;
    wait_for(&shared, 2).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    {
        let r = shared.lock().unwrap();
        assert_eq!(r.accepted.len(), 2);
        assert_eq!(r.accepted[1].1.id, format!("{}-2", station.id));
        assert_eq!(r.accepted[1].1.kind, "ready");
    }
    assert_eq!(
        county::sms::queue_counts(server.data_dir()).unwrap(),
        (2, 0)
    );
    server.stop().await;
}

#[tokio::test]
async fn a_refused_decision_queues_no_sms_and_a_bad_webhook_url_is_refused() {
    let server = Server::start().await;
    let station = server.station("A").await;
    let app = application(&[]);
    assert_eq!(station.submit(&app).await.status(), 201);
    // `ready` needs an approved application: refused, and nothing queued.
    assert!(
        county::decide(
            server.data_dir(),
            app.application_id,
            DecisionKind::Ready,
            None,
            "li"
        )
        .is_err()
    );
    assert_eq!(
        county::sms::queue_counts(server.data_dir()).unwrap(),
        (0, 0)
    );
    // With the default (logging) notifier a decision's SMS is "sent" to the log.
    county::decide(
        server.data_dir(),
        app.application_id,
        DecisionKind::Approve,
        None,
        "li",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while county::sms::queue_counts(server.data_dir()).unwrap() != (1, 0) {
        assert!(Instant::now() < deadline, "the log notifier never ran");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    for bad in ["ftp://x/sms", "not a url", "http://"] {
        let error = WebhookNotifier::new(bad).err().unwrap().to_string();
        assert!(
            error.contains("SMS webhook") && error.contains(" / "),
            "{error}"
        );
    }
    server.stop().await;
}

#[tokio::test]
async fn an_https_gateway_with_a_private_ca_gets_the_sms_and_only_through_that_ca() {
    let shared: Shared = Arc::new(Mutex::new(Received::default()));
    let url = tls_receiver(shared.clone()).await;
    assert!(url.starts_with("https://127.0.0.1:"));
    let ca = std::fs::read_to_string(tls_file("ca.pem")).unwrap();
    let notifier = Arc::new(WebhookNotifier::trusting(&url, Some(&ca)).unwrap());
    let server = Server::start_with(tempfile::tempdir().unwrap(), move |state| {
        state.set_sms(notifier, FAST)
    })
    .await;
    let (station, _) = approved_application(&server).await;
    wait_for(&shared, 1).await;
    let message = {
        let r = shared.lock().unwrap();
        assert_eq!(r.accepted.len(), 1);
        assert_eq!(r.accepted[0].1.id, format!("{}-1", station.id));
        r.accepted[0].1.clone()
    };
    server.stop().await;

    // Without the private CA (the system's store only) the same gateway is not trusted: a
    // failed delivery, which the worker retries; nothing reached the gateway.
    let untrusting = WebhookNotifier::new(&url).unwrap();
    let error = untrusting.deliver(&message).await.unwrap_err();
    assert!(error.to_string().contains("cannot be reached"), "{error}");
    // Trusting some other certificate (here the gateway's leaf, which did not sign
    // itself) is not trusting its CA either.
    let wrong = std::fs::read_to_string(tls_file("cert.pem")).unwrap();
    WebhookNotifier::trusting(&url, Some(&wrong))
        .unwrap()
        .deliver(&message)
        .await
        .unwrap_err();
    assert_eq!(
        shared.lock().unwrap().attempts,
        1,
        "only the trusted call arrived"
    );

    // What cannot be a CA is refused before anything is sent, in both languages.
    let key = std::fs::read_to_string(tls_file("key.pem")).unwrap();
    for (url, ca, says) in [
        (url.as_str(), key.as_str(), "private key"),
        (url.as_str(), "not a certificate", "no certificate"),
        ("http://127.0.0.1:9/sms", ca.as_str(), "https://"),
    ] {
        let error = WebhookNotifier::trusting(url, Some(ca))
            .err()
            .unwrap()
            .to_string();
        assert!(error.contains(says) && error.contains(" / "), "{error}");
    }
}
