//! The sync engine: forwards the outbox to the county and brings decisions back.
//!
//! One round ([`Link::sync_once`]):
//! 1. For each application that is due (oldest first): `PUT` the small record first (its
//!    personal part sealed to the county's key), so the county sees it early; then upload
//!    each scan (sealed) in chunks, starting at the offset the
//!    county reports (so an interrupted upload resumes, never restarts); when the county says
//!    the application is complete, mark it `delivered`.
//! 2. Forward hand-overs recorded at the counter.
//! 3. Pull decisions after the stored cursor, apply them, store the cursor, acknowledge.
//! 4. Pull the service catalog (when its ETag changed) and new notices.
//!
//! What happens on bad answers:
//! - Connect error, timeout, 5xx, 429, or a body that is not what the contract says: the
//!   attempt fails, the application waits with exponential backoff, the round stops (the
//!   link is down; trying the next application would fail the same way). Nothing is lost:
//!   the outbox still holds everything and the next round resumes where the county left off.
//! - A 4xx that says the application itself is unacceptable (`invalid_application`,
//!   `conflict`): the application goes to `returned` with the county's reason for the
//!   operator, and the round goes on with the next one.
//! - `offset_mismatch`: resume at the county's offset. `checksum_mismatch`: resend the scan
//!   from byte 0 once in this attempt; a second mismatch fails the attempt.

use std::io::{Read, Seek, SeekFrom};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use county_api::{
    AttachmentManifest, AttachmentStatus, Catalog, Decision, DecisionAck, DecisionKind,
    DecisionPage, EnrolRequest, EnrolResponse, ErrorBody, ErrorCode, HandOver, NoticePage,
    Provisioning, SubmissionReceipt, SubmitApplication, paths,
};
use reqwest::{Method, StatusCode};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tokio::sync::{Notify, watch};

use crate::backoff;
use crate::outbox::{Outbox, OutboxError, Outgoing, OutgoingAttachment, StoredNotice};
use crate::state::AppState;

/// Bytes per `PATCH`. Small enough that a drop on a slow 3G link loses little.
pub const CHUNK_BYTES: usize = 256 * 1024;

/// How long a request may take, from connecting to the last byte of the answer; a chunk's
/// `PATCH` gets more (see [`chunk_timeout`]).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The slowest line a chunk must still cross, in bytes per second (8 kbit/s: poor GPRS).
const SLOWEST_LINE: u64 = 1_000;

/// Timeout of the `PATCH` that carries `len` bytes: [`REQUEST_TIMEOUT`] plus the time the
/// bytes take at [`SLOWEST_LINE`] (about 5 minutes for a full chunk).
///
/// Regression (found with the test proxy;
/// `tests/tests/chaos.rs::a_chunk_slower_than_the_request_timeout_still_arrives`): with 60 s
/// for every request, a full chunk could never cross a line slower than 4.4 kB/s
/// (35 kbit/s). Each attempt timed out and sent the same chunk again, for ever.
pub fn chunk_timeout(len: usize) -> Duration {
    REQUEST_TIMEOUT + Duration::from_secs(len as u64 / SLOWEST_LINE)
}

/// Why a round with the county stopped.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("the county cannot be reached: {0}")]
    Unreachable(String),
    #[error("the county is busy or failing (HTTP {status}): {message}")]
    Server { status: u16, message: String },
    #[error("the county's answer could not be understood: {0}")]
    Garbage(String),
    #[error("the county refused the request (HTTP {status}): {}", .body.message)]
    Refused { status: u16, body: ErrorBody },
    #[error(transparent)]
    Outbox(#[from] OutboxError),
    #[error("a stored scan could not be read: {0}")]
    Scan(std::io::Error),
    /// The county's TLS certificate does not chain to the trust anchor from the
    /// provisioning file (or names another host, or has expired), or an `https://` county
    /// has no trust anchor at all. Retrying does not help until the county's certificate or
    /// the station's provisioning changes, so the sync engine backs off and says so.
    #[error("the county's TLS certificate is not trusted: {0}")]
    Untrusted(String),
}

impl LinkError {
    /// Trying the same thing later may work.
    pub fn is_retryable(&self) -> bool {
        match self {
            LinkError::Unreachable(_)
            | LinkError::Server { .. }
            | LinkError::Garbage(_)
            | LinkError::Scan(_)
            // The county may renew its certificate; the backoff keeps the tries rare.
            | LinkError::Untrusted(_) => true,
            LinkError::Refused { body, .. } => body.retryable,
            LinkError::Outbox(_) => false,
        }
    }

    /// The county says this application will never be accepted as it is.
    fn returns_application(&self) -> bool {
        matches!(
            self,
            LinkError::Refused { body, .. }
                if matches!(body.code, ErrorCode::InvalidApplication | ErrorCode::Conflict)
        )
    }
}

/// The county's clock from an answer's `Date` header (RFC 9110 IMF-fixdate, e.g.
/// `Wed, 25 Nov 2026 19:30:12 GMT`), if it has a readable one.
fn county_time(resp: &reqwest::Response) -> Option<OffsetDateTime> {
    let text = resp.headers().get(reqwest::header::DATE)?.to_str().ok()?;
    parse_http_date(text)
}

fn parse_http_date(text: &str) -> Option<OffsetDateTime> {
    OffsetDateTime::parse(text, &time::format_description::well_known::Rfc2822).ok()
}

/// What one round achieved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SyncReport {
    pub delivered: u32,
    pub returned: u32,
    pub handovers: u32,
    pub decisions: u32,
    pub catalog_updated: bool,
    pub notices: u32,
}

/// The station's connection to its county: base URL plus the station credential.
#[derive(Clone)]
pub struct Link {
    client: reqwest::Client,
    base: String,
    credential: String,
    heartbeat: Option<Heartbeat>,
}

/// Called whenever the engine shows it is not stuck: before every request and at least every
/// [`HEARTBEAT_EVERY`] while it waits. Every request has a timeout, so the gap between two
/// calls is bounded by the longest timeout (a chunk's, see [`chunk_timeout`]).
pub type Heartbeat = Arc<dyn Fn() + Send + Sync>;

/// The longest the engine waits without calling its heartbeat while idle.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(10);

/// The HTTP client for `county_url`. `https://` trusts exactly `trust_anchor` (PEM: the
/// county's CA certificate, or its own self-signed certificate, from the provisioning file):
/// never the system's certificate store, so a station cannot be talked into another
/// "county" with a certificate some public CA issued. `http://` (loopback demos and tests)
/// needs no anchor. An `https://` URL without an anchor is refused before anything is sent.
fn client(county_url: &str, trust_anchor: Option<&str>) -> Result<reqwest::Client, LinkError> {
    let https = county_url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"));
    let roots = match trust_anchor {
        Some(pem) => trust_roots(pem)?,
        None if https => {
            return Err(LinkError::Untrusted(
                "the county URL is https:// but the station has no trust anchor for it (the \
                 provisioning file had none)"
                    .into(),
            ));
        }
        None => rustls::RootCertStore::empty(),
    };
    build_client(roots)
}

fn build_client(roots: rustls::RootCertStore) -> Result<reqwest::Client, LinkError> {
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| LinkError::Untrusted(format!("TLS setup: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .connect_timeout(Duration::from_secs(10))
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("village-kiosk/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| LinkError::Untrusted(format!("TLS setup: {e}")))
}

/// The certificates in a PEM trust anchor, or why it cannot be used.
pub fn trust_roots(pem: &str) -> Result<rustls::RootCertStore, LinkError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| LinkError::Untrusted(format!("the trust anchor is unusable: {why}"));
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad("it holds no certificate".into()));
    }
    Ok(roots)
}

fn lock(outbox: &Mutex<Outbox>) -> MutexGuard<'_, Outbox> {
    // The outbox's state lives in SQLite; a panic elsewhere cannot leave it half-written.
    outbox.lock().unwrap_or_else(|p| p.into_inner())
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn transport(e: reqwest::Error) -> LinkError {
    if let Some(why) = certificate_problem(&e) {
        return LinkError::Untrusted(why);
    }
    if e.is_decode() || e.is_body() {
        LinkError::Garbage(e.to_string())
    } else {
        LinkError::Unreachable(e.to_string())
    }
}

/// The TLS certificate error somewhere in `e`'s causes, in words. tokio-rustls hands a
/// `rustls::Error` up wrapped in an `io::Error`, whose `source()` skips the wrapped error, so
/// each `io::Error` is opened by hand.
fn certificate_problem(e: &reqwest::Error) -> Option<String> {
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = next {
        let inner = err
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .map(|i| i as &(dyn std::error::Error + 'static));
        for candidate in [Some(err), inner].into_iter().flatten() {
            if let Some(rustls::Error::InvalidCertificate(why)) =
                candidate.downcast_ref::<rustls::Error>()
            {
                return Some(match why {
                    rustls::CertificateError::UnknownIssuer => {
                        "it is not signed by the trust anchor from the provisioning file \
                         (UnknownIssuer)"
                            .to_string()
                    }
                    rustls::CertificateError::NotValidForName
                    | rustls::CertificateError::NotValidForNameContext { .. } => {
                        "it is issued for another name than the county URL's host \
                         (NotValidForName)"
                            .to_string()
                    }
                    other => format!("{other:?}"),
                });
            }
        }
        next = inner.or_else(|| err.source());
    }
    None
}

/// Turn a non-success answer into the right error.
async fn failure(resp: reqwest::Response) -> LinkError {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    let body: Option<ErrorBody> = serde_json::from_str(&text).ok();
    if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS {
        let message = body.map(|b| b.message).unwrap_or_else(|| snippet(&text));
        return LinkError::Server {
            status: status.as_u16(),
            message,
        };
    }
    match body {
        Some(body) if status.is_client_error() => LinkError::Refused {
            status: status.as_u16(),
            body,
        },
        _ => LinkError::Garbage(format!("HTTP {status}: {}", snippet(&text))),
    }
}

fn snippet(text: &str) -> String {
    let s: String = text.chars().take(120).collect();
    if s.is_empty() {
        "(empty body)".into()
    } else {
        s
    }
}

async fn json<T: serde::de::DeserializeOwned>(resp: reqwest::Response) -> Result<T, LinkError> {
    let bytes = resp.bytes().await.map_err(transport)?;
    serde_json::from_slice(&bytes).map_err(|e| {
        LinkError::Garbage(format!(
            "{e}: {}",
            snippet(&String::from_utf8_lossy(&bytes))
        ))
    })
}

/// Exchange the provisioning file's one-time token for the station's credential.
pub async fn enrol(
    prov: &Provisioning,
    signing_public_key: Option<String>,
) -> Result<EnrolResponse, LinkError> {
    let url = format!("{}{}", prov.county_url.trim_end_matches('/'), paths::ENROL);
    let resp = client(&prov.county_url, prov.county_tls_anchor.as_deref())?
        .post(url)
        .json(&EnrolRequest {
            station_id: prov.station_id.clone(),
            enrolment_token: prov.enrolment_token.clone(),
            signing_public_key,
        })
        .send()
        .await
        .map_err(transport)?;
    if !resp.status().is_success() {
        return Err(failure(resp).await);
    }
    json(resp).await
}

impl Link {
    /// A link to an `http://` county (loopback demos and tests). An `https://` county needs
    /// [`Link::trusting`]; without it every call fails with [`LinkError::Untrusted`].
    pub fn new(county_url: &str, credential: &str) -> Link {
        Link {
            // Trusts nothing: an https:// county fails every call as untrusted.
            client: build_client(rustls::RootCertStore::empty()).unwrap_or_default(),
            base: county_url.trim_end_matches('/').to_string(),
            credential: credential.to_string(),
            heartbeat: None,
        }
    }

    /// A link that trusts exactly `trust_anchor` (PEM, from the provisioning file) for an
    /// `https://` county. Refused when the anchor holds no usable certificate, or the URL
    /// is `https://` and there is no anchor.
    pub fn trusting(
        county_url: &str,
        credential: &str,
        trust_anchor: Option<&str>,
    ) -> Result<Link, LinkError> {
        Ok(Link {
            client: client(county_url, trust_anchor)?,
            base: county_url.trim_end_matches('/').to_string(),
            credential: credential.to_string(),
            heartbeat: None,
        })
    }

    /// Report liveness to `beat` (the appliance's watchdog).
    pub fn with_heartbeat(mut self, beat: Heartbeat) -> Link {
        self.heartbeat = Some(beat);
        self
    }

    fn beat(&self) {
        if let Some(b) = &self.heartbeat {
            b();
        }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        self.beat();
        self.client
            .request(method, format!("{}{}", self.base, path))
            .bearer_auth(&self.credential)
    }

    /// Send what is due, then pull decisions. Stops at the first link-level failure.
    pub async fn sync_once(&self, outbox: &Mutex<Outbox>) -> Result<SyncReport, LinkError> {
        let mut report = SyncReport::default();
        loop {
            let due = lock(outbox).next_due(now())?;
            let Some(app) = due else { break };
            match self.send(outbox, &app).await {
                Ok(()) => {
                    let mut ob = lock(outbox);
                    ob.transition(&app.id, AppState::Delivered, None, now())?;
                    ob.record_contact(now())?;
                    report.delivered += 1;
                    tracing::info!(tracking = %app.tracking_number, "delivered to the county");
                }
                Err(e) if e.returns_application() => {
                    let reason = match &e {
                        LinkError::Refused { body, .. } => {
                            format!("{} / {}", body.message_zh, body.message)
                        }
                        other => other.to_string(),
                    };
                    let mut ob = lock(outbox);
                    ob.transition(&app.id, AppState::Returned, Some(&reason), now())?;
                    ob.record_contact(now())?;
                    report.returned += 1;
                    tracing::warn!(tracking = %app.tracking_number, "the county returned the application");
                }
                Err(e) => {
                    let wait = backoff::delay(app.attempts, rand::random::<f64>());
                    let next = now() + wait;
                    lock(outbox).record_failure(&app.id, &e.to_string(), next)?;
                    tracing::info!(tracking = %app.tracking_number, error = %e, retry_in = ?wait, "send failed; will retry");
                    return Err(e);
                }
            }
        }
        report.handovers = self.send_handovers(outbox).await?;
        report.decisions = self.pull_decisions(outbox).await?;
        report.catalog_updated = self.pull_catalog(outbox).await?;
        report.notices = self.pull_notices(outbox).await?;
        self.send_selftest(outbox).await?;
        Ok(report)
    }

    /// The latest self-test, if one waits. A county that cannot take it (refused for good,
    /// or too old to know the path) is not asked again for this report.
    async fn send_selftest(&self, outbox: &Mutex<Outbox>) -> Result<(), LinkError> {
        let Some(report) = lock(outbox).pending_selftest()? else {
            return Ok(());
        };
        let resp = self
            .request(Method::POST, paths::SELFTEST)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(report.clone())
            .send()
            .await
            .map_err(transport)?;
        if resp.status().is_success() {
            lock(outbox).selftest_sent(&report)?;
            tracing::info!("self-test reported to the county");
            return Ok(());
        }
        match failure(resp).await {
            LinkError::Refused { body, .. } if !body.retryable => {
                tracing::warn!(error = %body.message, "the county does not take the self-test");
                lock(outbox).selftest_sent(&report)?;
                Ok(())
            }
            other => Err(other),
        }
    }

    /// Forward hand-overs recorded at the counter. Returns how many the county took.
    async fn send_handovers(&self, outbox: &Mutex<Outbox>) -> Result<u32, LinkError> {
        let pending = lock(outbox).pending_handovers()?;
        let mut sent = 0;
        for (id, at) in pending {
            let resp = self
                .request(Method::POST, &paths::handover(&id))
                .json(&HandOver {
                    handed_over_at: at.format(&Rfc3339).unwrap_or_default(),
                })
                .send()
                .await
                .map_err(transport)?;
            if resp.status().is_success() {
                lock(outbox).mark_handover_sent(&id)?;
                sent += 1;
                continue;
            }
            match failure(resp).await {
                // The county cannot take it (e.g. it never marked the result ready): keep the
                // local record, stop re-sending, and leave a trace for the technician.
                LinkError::Refused { body, .. } if !body.retryable => {
                    tracing::warn!(application = %id, error = %body.message, "hand-over refused by the county");
                    lock(outbox).mark_handover_sent(&id)?;
                }
                other => return Err(other),
            }
        }
        Ok(sent)
    }

    /// One authenticated, read-only call (the catalog) to prove the link and the credential
    /// work, for `kiosk selftest`. Changes nothing locally.
    pub async fn probe(&self) -> Result<(), LinkError> {
        let resp = self
            .request(Method::GET, paths::CATALOG)
            .send()
            .await
            .map_err(transport)?;
        if resp.status().is_success() || resp.status() == StatusCode::NOT_MODIFIED {
            Ok(())
        } else {
            Err(failure(resp).await)
        }
    }

    /// Pull the service catalog if the county has a newer one (ETag / If-None-Match).
    /// Returns whether it changed.
    pub async fn pull_catalog(&self, outbox: &Mutex<Outbox>) -> Result<bool, LinkError> {
        let have = lock(outbox).catalog()?.map(|(v, _)| v);
        let mut req = self.request(Method::GET, paths::CATALOG);
        if let Some(v) = have {
            req = req.header(reqwest::header::IF_NONE_MATCH, format!("\"{v}\""));
        }
        let resp = req.send().await.map_err(transport)?;
        if resp.status() == StatusCode::NOT_MODIFIED {
            return Ok(false);
        }
        if !resp.status().is_success() {
            return Err(failure(resp).await);
        }
        let catalog: Catalog = json(resp).await?;
        if have == Some(catalog.version) {
            return Ok(false);
        }
        let body = serde_json::to_string(&catalog)
            .map_err(|e| LinkError::Garbage(format!("catalog: {e}")))?;
        lock(outbox).store_catalog(catalog.version, &body)?;
        tracing::info!(version = catalog.version, "service catalog updated");
        Ok(true)
    }

    /// Pull notices newer than the stored version. Returns how many arrived.
    pub async fn pull_notices(&self, outbox: &Mutex<Outbox>) -> Result<u32, LinkError> {
        let after = lock(outbox).notice_version()?;
        let resp = self
            .request(Method::GET, paths::NOTICES)
            .query(&[("after", after)])
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(failure(resp).await);
        }
        let page: NoticePage = json(resp).await?;
        if page.notices.is_empty() && page.version <= after {
            return Ok(0);
        }
        let stored = page
            .notices
            .iter()
            .map(|n| {
                Ok(StoredNotice {
                    id: n.id,
                    version: n.version,
                    body: serde_json::to_string(n)
                        .map_err(|e| LinkError::Garbage(format!("notice: {e}")))?,
                    expires_at: n.expires_at.clone(),
                })
            })
            .collect::<Result<Vec<_>, LinkError>>()?;
        lock(outbox).store_notices(&stored, page.version.max(after))?;
        Ok(stored.len() as u32)
    }

    async fn send(&self, outbox: &Mutex<Outbox>, app: &Outgoing) -> Result<(), LinkError> {
        if app.state == AppState::Queued {
            lock(outbox).transition(&app.id, AppState::Sending, None, now())?;
        }
        let record = record(app);
        let resp = self
            .request(Method::PUT, &paths::application(&app.id))
            .json(&record)
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(failure(resp).await);
        }
        let receipt: SubmissionReceipt = json(resp).await?;
        lock(outbox).record_contact(now())?;
        for att in &app.attachments {
            let status = receipt.attachments.iter().find(|s| s.name == att.name);
            let (received, complete) = status.map_or((0, false), |s| (s.received, s.complete));
            if !complete {
                self.upload(outbox, app, att, received).await?;
            }
            lock(outbox).set_acked(&app.id, &att.name, att.size)?;
        }
        let resp = self
            .request(Method::GET, &paths::application(&app.id))
            .send()
            .await
            .map_err(transport)?;
        if !resp.status().is_success() {
            return Err(failure(resp).await);
        }
        let receipt: SubmissionReceipt = json(resp).await?;
        if receipt.complete {
            Ok(())
        } else {
            Err(LinkError::Garbage(
                "the county took every scan but does not report the application complete".into(),
            ))
        }
    }

    /// Upload one scan from `offset` to its end, chunk by chunk.
    async fn upload(
        &self,
        outbox: &Mutex<Outbox>,
        app: &Outgoing,
        att: &OutgoingAttachment,
        mut offset: u64,
    ) -> Result<(), LinkError> {
        let mut file = std::fs::File::open(&att.path).map_err(LinkError::Scan)?;
        let mut restarted = false;
        let path = paths::attachment(&app.id, &att.name);
        loop {
            if offset >= att.size && att.size > 0 {
                // Everything sent but not confirmed complete: ask where the county stands.
                let resp = self
                    .request(Method::GET, &path)
                    .send()
                    .await
                    .map_err(transport)?;
                if !resp.status().is_success() {
                    return Err(failure(resp).await);
                }
                let st: AttachmentStatus = json(resp).await?;
                if st.complete {
                    return Ok(());
                }
                offset = st.received;
                if offset >= att.size {
                    return Err(LinkError::Garbage(format!(
                        "the county holds all of {} but has not completed it",
                        att.name
                    )));
                }
            }
            let len = (att.size - offset).min(CHUNK_BYTES as u64) as usize;
            let mut chunk = vec![0u8; len];
            file.seek(SeekFrom::Start(offset))
                .map_err(LinkError::Scan)?;
            file.read_exact(&mut chunk).map_err(LinkError::Scan)?;
            let resp = self
                .request(Method::PATCH, &path)
                .header(county_api::UPLOAD_OFFSET_HEADER, offset.to_string())
                .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                .timeout(chunk_timeout(len))
                .body(chunk)
                .send()
                .await
                .map_err(transport)?;
            if resp.status().is_success() {
                let st: AttachmentStatus = json(resp).await?;
                lock(outbox).set_acked(&app.id, &att.name, st.received)?;
                if st.complete {
                    return Ok(());
                }
                if st.received <= offset {
                    return Err(LinkError::Garbage(format!(
                        "the county did not advance {} past byte {offset}",
                        att.name
                    )));
                }
                offset = st.received;
                continue;
            }
            match failure(resp).await {
                LinkError::Refused { body, .. }
                    if body.code == ErrorCode::OffsetMismatch && body.expected_offset.is_some() =>
                {
                    offset = body.expected_offset.unwrap_or(0);
                }
                LinkError::Refused { body, .. }
                    if body.code == ErrorCode::ChecksumMismatch && !restarted =>
                {
                    tracing::warn!(scan = %att.name, "the county saw a corrupted scan; sending it again");
                    restarted = true;
                    offset = 0;
                }
                other => return Err(other),
            }
        }
    }

    /// Fetch decisions after the stored cursor and apply them. Returns how many were applied.
    pub async fn pull_decisions(&self, outbox: &Mutex<Outbox>) -> Result<u32, LinkError> {
        let mut applied = 0;
        loop {
            let after = lock(outbox).decision_cursor()?;
            let resp = self
                .request(Method::GET, paths::DECISIONS)
                .query(&[("after", after)])
                .send()
                .await
                .map_err(transport)?;
            if let Some(county) = county_time(&resp) {
                lock(outbox).record_county_clock(county, now())?;
            }
            if !resp.status().is_success() {
                return Err(failure(resp).await);
            }
            let page: DecisionPage = json(resp).await?;
            {
                let mut ob = lock(outbox);
                applied += apply_decisions(&mut ob, &page.decisions, now())?;
                if page.next_cursor > after {
                    ob.set_decision_cursor(page.next_cursor)?;
                }
                ob.record_contact(now())?;
            }
            if page.next_cursor > after {
                let resp = self
                    .request(Method::POST, paths::DECISIONS_ACK)
                    .json(&DecisionAck {
                        cursor: page.next_cursor,
                    })
                    .send()
                    .await
                    .map_err(transport)?;
                if !resp.status().is_success() {
                    return Err(failure(resp).await);
                }
            }
            if !page.more || page.next_cursor <= after {
                return Ok(applied);
            }
        }
    }

    /// Run rounds until `shutdown` turns true: after a good round wait `poll` (or until
    /// `wake` is notified, e.g. by a new submission); after a failed one back off.
    pub async fn run(
        self,
        outbox: Arc<Mutex<Outbox>>,
        wake: Arc<Notify>,
        poll: Duration,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut failures = 0u32;
        // The last failure logged: a link that keeps failing the same way is logged once,
        // not once per retry.
        let mut logged: Option<String> = None;
        while !*shutdown.borrow() {
            let wait = match self.sync_once(&outbox).await {
                Ok(report) => {
                    failures = 0;
                    if logged.take().is_some() {
                        tracing::info!("the county link works again");
                    }
                    if report != SyncReport::default() {
                        tracing::debug!(?report, "sync round");
                    }
                    poll
                }
                Err(e) => {
                    let text = e.to_string();
                    if logged.as_deref() != Some(text.as_str()) {
                        if matches!(e, LinkError::Untrusted(_)) {
                            tracing::error!("县平台的证书不受信任 / {text}");
                        } else {
                            tracing::warn!("sync round failed: {text}");
                        }
                        logged = Some(text);
                    }
                    if let Err(e2) = lock(&outbox).record_link_error(&e.to_string()) {
                        tracing::error!(error = %e2, "could not record the link error");
                    }
                    failures = failures.saturating_add(1);
                    backoff::delay(failures, rand::random::<f64>())
                        .min(poll.max(backoff::BASE) * 30)
                }
            };
            let until = tokio::time::Instant::now() + wait;
            loop {
                self.beat();
                let step = until
                    .saturating_duration_since(tokio::time::Instant::now())
                    .min(HEARTBEAT_EVERY);
                if step.is_zero() {
                    break;
                }
                tokio::select! {
                    _ = tokio::time::sleep(step) => {}
                    _ = wake.notified() => break,
                    _ = shutdown.changed() => break,
                }
            }
        }
    }
}

/// The application record exactly as `PUT /v1/applications/{id}` carries it (and a
/// sneakernet bundle).
pub(crate) fn record(app: &Outgoing) -> SubmitApplication {
    SubmitApplication {
        application_id: app.id,
        tracking_number: app.tracking_number.clone(),
        service: app.service.clone(),
        service_version: app.service_version,
        submitted_at: app.submitted_at.format(&Rfc3339).unwrap_or_default(),
        fields: app.fields.clone(),
        attachments: app
            .attachments
            .iter()
            .map(|a| AttachmentManifest {
                name: a.name.clone(),
                scan: a.scan.clone(),
                content_type: a.content_type.clone(),
                size: a.size,
                sha256: a.sha256.clone(),
            })
            .collect(),
        // Sealed once at submission; the very same bytes on every retry.
        sealed: app.sealed_record.as_deref().map(hex::encode),
        clock: app.clock.clone(),
    }
}

/// Apply county decisions to the outbox, in order: the one path for decisions pulled over
/// the link and decisions brought by USB stick (`kiosk import`). The caller passes only
/// decisions past the stored cursor and advances it. Returns how many were applied.
pub(crate) fn apply_decisions(
    ob: &mut Outbox,
    decisions: &[Decision],
    now: OffsetDateTime,
) -> Result<u32, OutboxError> {
    let mut applied = 0;
    for d in decisions {
        let outcome = match d.kind {
            DecisionKind::Approve => "approved",
            DecisionKind::Reject => "rejected",
            DecisionKind::MorePapers => "more_papers",
            DecisionKind::Ready => "ready",
        };
        match ob.apply_decision(&d.application_id, outcome, d.reason.as_deref(), now) {
            Ok(()) => applied += 1,
            // One odd decision must not block the stream: note it and go on.
            Err(e @ (OutboxError::NotFound(_) | OutboxError::BadTransition { .. })) => {
                tracing::warn!(tracking = %d.tracking_number, error = %e, "decision not applied");
            }
            Err(e) => return Err(e),
        }
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn http_dates_are_read_and_junk_is_not() {
        assert_eq!(
            parse_http_date("Wed, 25 Nov 2026 19:30:12 GMT"),
            Some(datetime!(2026-11-25 19:30:12 UTC))
        );
        assert_eq!(parse_http_date("yesterday"), None);
        assert_eq!(parse_http_date(""), None);
    }

    const CA: &str = include_str!("../../county/tests/data/tls/ca.pem");

    #[test]
    fn a_trust_anchor_must_hold_a_certificate() {
        assert_eq!(trust_roots(CA).unwrap().len(), 1);
        for junk in [
            "",
            "hello",
            "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
        ] {
            assert!(
                matches!(trust_roots(junk), Err(LinkError::Untrusted(_))),
                "{junk:?}"
            );
        }
    }

    #[test]
    fn https_needs_an_anchor_and_http_does_not() {
        let err = client("https://county.example", None).unwrap_err();
        assert!(matches!(err, LinkError::Untrusted(_)), "{err}");
        assert!(err.to_string().contains("no trust anchor"), "{err}");
        assert!(client("HTTPS://county.example", None).is_err());
        assert!(client("http://127.0.0.1:9", None).is_ok());
        assert!(client("https://county.example", Some(CA)).is_ok());
        // Retrying later may work (the county may renew its certificate); the backoff
        // keeps the tries rare.
        assert!(err.is_retryable());
    }
}
