//! The reference county platform: the station–county API over HTTP, backed by one SQLite file
//! and a directory of content-addressed attachments.
//!
//! Key design decision: **the database decides.** Every request is answered from what one SQLite
//! transaction committed: a submission is accepted by `INSERT … ON CONFLICT DO NOTHING` on the
//! application id (the duplicate gets the saved answer), an upload's progress is the offset row
//! (the partial file on disk is truncated back to it), and every clerk decision is a row with a
//! per-station cursor that stations pull. A crash at any point leaves either the old answer or
//! the new one, never half of each.
//!
//! I/O contract:
//! - Reads and writes only `DATA_DIR`: `county.key` (the private key that opens sealed
//!   applications, mode 0600, made once), `county.sqlite3` (WAL, `synchronous=FULL`), partial
//!   uploads in `uploads/<application_id>/<name>.part`, finished attachments in
//!   `attachments/<sha256>` (moved there by rename after fsync, once the SHA-256 matched).
//!   One connection writes; four read-only ones serve the reads (see [`AppState`]). A
//!   station's last contact is written in batches, to a minute's resolution.
//! - Speaks exactly the contract of [`county_api`]: routes from [`county_api::paths`], bodies of
//!   its wire types, every error an [`county_api::ErrorBody`]. A submission needs a known
//!   service and revision, an RFC 3339 `submitted_at`, a well-formed attachment manifest
//!   listing every scan the revision requires, and fields (opened first when sealed) that
//!   pass the station's own validator (module `validation`); otherwise 422
//!   `invalid_application` names each field or missing paper and nothing is stored.
//! - The clerk side ([`add_station`], [`revoke_station`], [`add_clerk`],
//!   [`list_applications`], [`decide`], [`publish_catalog`], [`show_catalog`],
//!   [`publish_notice`], [`list_notices`]) goes through the same storage trait as the
//!   server (module `storage`) on its own connection, so the CLI works on a data directory
//!   that a running server holds open, under the server's rules.
//! - Every row is reached through `storage::Storage` (typed domain operations; SQLite is
//!   its one backend, `storage::sqlite`); no HTTP handler touches a connection.
//! - Catalog (module `catalog`): publications are checked whole against the definition
//!   schema and the domain's checks, versions only go up; `GET /v1/catalog` serves the latest
//!   with ETag `"<version>"`; intake takes every revision ever published.
//! - Each decision queues the villager's SMS in its own transaction; `serve` runs the worker
//!   that delivers it through an [`sms::Notifier`] (a log line by default, or the webhook of
//!   `docs/sms-webhook.md`).
//! - The review page for clerks lives under `/review` on the same server (module `review`:
//!   maud templates, Argon2id passwords, sessions and CSRF tokens in SQLite).
//!
//! Entry points: [`app`] (the router, testable in-process), [`serve`] (the server on a
//! listener), and the `county` binary in `src/main.rs`, which is glue over these.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use county_api::{Decision, DecisionKind, Provisioning};
use serde::Serialize;
use uuid::Uuid;

mod catalog;
mod error;
mod files;
mod http;
mod keys;
mod review;
mod selftests;
pub mod sms;
pub mod sneakernet;
mod storage;
mod store;
pub mod tls;
mod validation;

pub use error::CountyError;
pub use http::app;
use storage::Storage;
use storage::sqlite::SqliteStorage;

/// The largest JSON body the county reads, in bytes.
pub const MAX_JSON_BYTES: usize = 256 * 1024;

/// What the server shares between requests: the data directory, the [`storage::Storage`]
/// that holds every row (SQLite: one writing connection and a small pool of read-only ones,
/// see [`storage::sqlite`]), the batch of stations' last contacts and the SMS worker's
/// settings.
///
/// The storage blocks, so every call goes through [`AppState::storage`], which runs it on
/// tokio's blocking pool. A chunk upload's "append, fsync, record the offset" runs under
/// this process's upload lock ([`AppState::uploading`]), so two chunks of one attachment
/// never interleave; the partial files are this process's, on its disk.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    dirs: files::Dirs,
    storage: Arc<dyn Storage>,
    /// Held while a chunk is appended (see [`AppState::uploading`]).
    uploads: Mutex<()>,
    /// Stations' last contacts not yet written (see [`store::Contacts`]).
    contacts: store::Contacts,
    /// Served over TLS: the review page's cookies get `Secure`.
    tls: std::sync::atomic::AtomicBool,
    /// Opens what stations sealed (see `keys`).
    key: sealing::PrivateKey,
    /// Who delivers the villagers' SMS and how failures are retried (see [`sms`]).
    sms: Mutex<(Arc<dyn sms::Notifier>, sms::Retry)>,
    /// Wakes the SMS worker when this server recorded a decision.
    sms_wake: Arc<tokio::sync::Notify>,
}

impl AppState {
    /// Open (creating if needed) the data directory and its database, and bring the schema up
    /// to date.
    pub fn open(data_dir: &Path) -> Result<AppState, CountyError> {
        files::Dirs::create(data_dir)?;
        let storage = SqliteStorage::open(data_dir, storage::sqlite::SERVER_READERS)?;
        AppState::with_storage(data_dir, Arc::new(storage))
    }

    /// A state over any [`Storage`] (the conformance suite runs each backend through it).
    pub(crate) fn with_storage(
        data_dir: &Path,
        storage: Arc<dyn Storage>,
    ) -> Result<AppState, CountyError> {
        let dirs = files::Dirs::create(data_dir)?;
        let key = keys::load_or_create(data_dir)?;
        Ok(AppState {
            inner: Arc::new(Inner {
                dirs,
                storage,
                uploads: Mutex::new(()),
                contacts: store::Contacts::default(),
                tls: std::sync::atomic::AtomicBool::new(false),
                key,
                sms: Mutex::new((Arc::new(sms::LogNotifier), sms::Retry::default())),
                sms_wake: Arc::new(tokio::sync::Notify::new()),
            }),
        })
    }

    /// Deliver the villagers' SMS with `notifier` (default: [`sms::LogNotifier`]), retrying
    /// failures as `retry` says. Takes effect when serving starts.
    pub fn set_sms(&self, notifier: Arc<dyn sms::Notifier>, retry: sms::Retry) {
        *self
            .inner
            .sms
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = (notifier, retry);
    }

    /// The SMS worker's wake-up call (a decision was just recorded here).
    pub(crate) fn sms_wake(&self) -> Arc<tokio::sync::Notify> {
        Arc::clone(&self.inner.sms_wake)
    }

    /// Start the SMS worker; send `true` on the returned channel and await the handle to stop
    /// it.
    fn start_sms(
        &self,
    ) -> (
        tokio::sync::watch::Sender<bool>,
        tokio::task::JoinHandle<()>,
    ) {
        let (notifier, retry) = self
            .inner
            .sms
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = sms::spawn_worker(self.clone(), notifier, retry, stopped);
        (stop, worker)
    }

    /// The data directory this state was opened on.
    pub fn data_dir(&self) -> &Path {
        self.inner.dirs.root()
    }

    /// Whether this state is served over TLS.
    pub(crate) fn serves_tls(&self) -> bool {
        self.inner.tls.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The county's private key, to open sealed submissions and scans.
    pub(crate) fn key(&self) -> &sealing::PrivateKey {
        &self.inner.key
    }

    /// Run `f` with the storage and the attachment directories on tokio's blocking pool:
    /// the one way async code reaches the rows.
    pub(crate) async fn storage<T, E>(
        &self,
        f: impl FnOnce(&dyn Storage, &files::Dirs) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<CountyError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let joined =
            tokio::task::spawn_blocking(move || f(inner.storage.as_ref(), &inner.dirs)).await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(E::from(CountyError::Task(e.to_string()))),
        }
    }

    /// [`AppState::storage`] holding the upload lock: for appending a chunk, whose file
    /// write and offset row must not interleave with another chunk's.
    pub(crate) async fn uploading<T, E>(
        &self,
        f: impl FnOnce(&dyn Storage, &files::Dirs) -> Result<T, E> + Send + 'static,
    ) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<CountyError> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let joined = tokio::task::spawn_blocking(move || {
            // A panic while appending leaves at most a partial file longer than its offset
            // row, which the next chunk repairs; the lock is safe to take over.
            let _held = inner.uploads.lock().unwrap_or_else(PoisonError::into_inner);
            f(inner.storage.as_ref(), &inner.dirs)
        })
        .await;
        match joined {
            Ok(result) => result,
            Err(e) => Err(E::from(CountyError::Task(e.to_string()))),
        }
    }

    /// Note that a station was heard from now; the time is written in batches (at most one
    /// write a second for all stations) by a task this starts when none is pending.
    pub(crate) fn contact(&self, station: &str, last_recorded: Option<&str>) {
        if !self.inner.contacts.note(station, last_recorded) {
            return;
        }
        let state = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(store::CONTACT_BATCH).await;
            state.flush_contacts().await;
        });
    }

    /// Write the noted contacts now (also when the server stops).
    pub(crate) async fn flush_contacts(&self) {
        let batch = self.inner.contacts.take();
        if batch.is_empty() {
            return;
        }
        let written = self.storage(move |s, _| s.record_contacts(&batch)).await;
        if let Err(e) = written {
            // Only the dashboard's "last contact" is behind; the next polls note it again.
            tracing::warn!("cannot record the stations' last contact: {e}");
        }
    }
}

/// Serve the API on `listener` from `data_dir` until `shutdown` completes, then finish the
/// requests in flight and return.
pub async fn serve(
    listener: tokio::net::TcpListener,
    data_dir: &Path,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), CountyError> {
    let state = AppState::open(data_dir)?;
    serve_state(listener, state, shutdown).await
}

/// [`serve`] with a state opened beforehand (the binary opens it before it announces the
/// address, so a bad data directory fails before anything listens).
pub async fn serve_state(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), CountyError> {
    let address = listener.local_addr().map_err(CountyError::Serve)?;
    tracing::info!(%address, data_dir = %state.data_dir().display(), "serving the county API");
    let (stop_sms, sms_worker) = state.start_sms();
    let served = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(CountyError::Serve);
    state.flush_contacts().await;
    let _ = stop_sms.send(true);
    let _ = sms_worker.await;
    served?;
    tracing::info!("county API stopped");
    Ok(())
}

/// [`serve_state`] over TLS: every connection must complete a TLS handshake with `config`
/// (see [`tls::server_config`]) before it reaches the same router.
pub async fn serve_tls(
    listener: tokio::net::TcpListener,
    config: Arc<rustls::ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), CountyError> {
    let listener = tls::TlsListener::new(listener, config).map_err(CountyError::Serve)?;
    state
        .inner
        .tls
        .store(true, std::sync::atomic::Ordering::Relaxed);
    tracing::info!(
        address = %axum::serve::Listener::local_addr(&listener).map_err(CountyError::Serve)?,
        data_dir = %state.data_dir().display(),
        "serving the county API over TLS"
    );
    let (stop_sms, sms_worker) = state.start_sms();
    let served = axum::serve(listener, app(state.clone()))
        .with_graceful_shutdown(shutdown)
        .await
        .map_err(CountyError::Serve);
    state.flush_contacts().await;
    let _ = stop_sms.send(true);
    let _ = sms_worker.await;
    served?;
    tracing::info!("county API stopped");
    Ok(())
}

/// Make ring the process's default TLS crypto provider, once (later calls do nothing).
///
/// reqwest is built with `rustls-no-provider` (the station's link brings its own ring
/// configuration, see `store_and_forward::sync`), so any other `reqwest::Client` in the
/// same build — a webhook call here, a test's client — panics when it is built unless a
/// default provider is installed. Call this first in every process that builds one.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Register a new station: a fresh station id (`st-` and 8 base32 characters) and a random
/// one-time enrolment token, of which only the SHA-256 is stored. Returns the provisioning
/// file's content, with the county's public key (made on first use); the token cannot be
/// shown again.
pub fn add_station(data_dir: &Path, name: &str, url: &str) -> Result<Provisioning, CountyError> {
    add_station_trusting(data_dir, name, url, None)
}

/// [`add_station`] with the county's TLS trust anchor (PEM) for the provisioning file: the
/// CA certificate that signed the county's server certificate, or that certificate itself
/// when it is self-signed. The station trusts exactly this for an `https://` URL, so an
/// `https://` URL needs one; a file holding a private key or no certificate is refused.
pub fn add_station_trusting(
    data_dir: &Path,
    name: &str,
    url: &str,
    tls_anchor: Option<&str>,
) -> Result<Provisioning, CountyError> {
    if let Some(pem) = tls_anchor {
        check_tls_anchor(pem)?;
    } else if url
        .trim()
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Err(CountyError::InvalidInput(
            "an https:// URL needs the county's TLS trust anchor (--tls-anchor FILE: the CA \
             certificate that signed the county's certificate, or the certificate itself when \
             it is self-signed); the station trusts nothing else"
                .into(),
        ));
    }
    let name = name.trim();
    let url = url.trim();
    if name.is_empty() {
        return Err(CountyError::InvalidInput(
            "the station name must not be empty".into(),
        ));
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) || url.len() < 10 {
        return Err(CountyError::InvalidInput(format!(
            "the county URL must start with http:// or https:// (got {url:?})"
        )));
    }
    files::Dirs::create(data_dir)?;
    let key = keys::load_or_create(data_dir)?;
    let storage = cli_storage(data_dir)?;
    let token = files::random_base32(20);
    let token_sha = files::sha256_hex(token.as_bytes());
    let station_id = storage.add_station(name, url, &token_sha, &store::now())?;
    Ok(Provisioning {
        county_url: url.to_owned(),
        station_id,
        station_name: name.to_owned(),
        enrolment_token: token,
        county_public_key: key.public_key().to_string(),
        county_signing_key: Some(keys::signing_key(data_dir)?.verifying_key().to_string()),
        county_tls_anchor: tls_anchor.map(str::to_owned),
    })
}

/// A trust anchor must be one or more PEM certificates and nothing secret.
fn check_tls_anchor(pem: &str) -> Result<(), CountyError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    if pem.contains("PRIVATE KEY") {
        return Err(CountyError::InvalidInput(
            "the TLS trust anchor holds a private key: give the certificate (PEM), never the key"
                .into(),
        ));
    }
    let mut certs = 0;
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| {
            CountyError::InvalidInput(format!("the TLS trust anchor is not PEM: {e}"))
        })?;
        webpki_anchor(&cert)?;
        certs += 1;
    }
    if certs == 0 {
        return Err(CountyError::InvalidInput(
            "the TLS trust anchor holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)"
                .into(),
        ));
    }
    Ok(())
}

fn webpki_anchor(cert: &rustls::pki_types::CertificateDer<'_>) -> Result<(), CountyError> {
    rustls::RootCertStore::empty()
        .add(cert.clone())
        .map_err(|e| CountyError::InvalidInput(format!("the TLS trust anchor is unusable: {e}")))
}

/// One attachment in an [`ApplicationSummary`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct AttachmentSummary {
    pub name: String,
    pub size: u64,
    pub sha256: String,
    /// Arrived whole and checked.
    pub complete: bool,
}

/// An application as the clerk's list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ApplicationSummary {
    pub application_id: Uuid,
    pub tracking_number: String,
    /// The station id.
    pub station: String,
    pub station_name: String,
    pub service: String,
    /// Every attachment has arrived whole.
    pub complete: bool,
    pub attachments: Vec<AttachmentSummary>,
    /// [`county_api::CountyState::as_str`].
    pub state: String,
    /// When the county first received the record (RFC 3339).
    pub received_at: String,
}

/// Every application, oldest first.
pub fn list_applications(data_dir: &Path) -> Result<Vec<ApplicationSummary>, CountyError> {
    cli_storage(data_dir)?.list_applications()
}

/// Record a clerk's decision. `approve` needs a complete application; `reject` and
/// `more_papers` need a reason and a complete or approved application; `ready` needs an
/// approved one. The decision joins the station's decision stream with the next cursor, and an
/// audit row names the clerk.
pub fn decide(
    data_dir: &Path,
    application_id: Uuid,
    kind: DecisionKind,
    reason: Option<&str>,
    clerk: &str,
) -> Result<Decision, CountyError> {
    cli_storage(data_dir)?.decide(application_id, kind, reason, clerk, &store::now())
}

/// How `county station revoke` went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Revoked {
    /// Revoked now.
    Now,
    /// It had been revoked before, at this time (RFC 3339); nothing changed.
    Already(String),
}

/// Revoke a station: from now on every call with its credential is answered 403
/// `station_revoked`, and its enrolment token (if unspent) no longer works. Idempotent.
pub fn revoke_station(data_dir: &Path, station_id: &str) -> Result<Revoked, CountyError> {
    match cli_storage(data_dir)?.revoke_station(station_id.trim(), &store::now())? {
        storage::Revocation::Revoked => Ok(Revoked::Now),
        storage::Revocation::Already(at) => Ok(Revoked::Already(at)),
        storage::Revocation::NoSuchStation => {
            Err(CountyError::NoSuchStation(station_id.trim().to_owned()))
        }
    }
}

/// The shortest password a clerk may have, in characters.
pub use review::auth::MIN_PASSWORD_CHARS;

/// Add a clerk who can log in to the review page (`/review/`). The password is stored as an
/// Argon2id hash. Names are 1–64 letters, digits, `.`, `_` or `-` (Chinese letters too);
/// passwords at least [`MIN_PASSWORD_CHARS`] characters.
pub fn add_clerk(data_dir: &Path, name: &str, password: &str) -> Result<(), CountyError> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0
        || chars > 64
        || !name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        return Err(CountyError::InvalidInput(format!(
            "a clerk's name is 1 to 64 letters, digits, '.', '_' or '-' (got {name:?})"
        )));
    }
    let length = password.chars().count();
    if !(MIN_PASSWORD_CHARS..=1024).contains(&length) {
        return Err(CountyError::InvalidInput(format!(
            "the password must have at least {MIN_PASSWORD_CHARS} characters (and at most 1024)"
        )));
    }
    let hash = review::auth::hash_password(password)?;
    files::Dirs::create(data_dir)?;
    if cli_storage(data_dir)?.add_clerk(name, &hash, &store::now())? {
        Ok(())
    } else {
        Err(CountyError::InvalidInput(format!(
            "a clerk named {name:?} already exists"
        )))
    }
}

pub use catalog::{Published, PublishedInfo};

/// Publish service-definition revisions and/or county parameters from a publication file
/// (format in module `catalog`; documented in ARCHITECTURE.md): checked as a whole, stored
/// as the next catalog version, served by `GET /v1/catalog`. A refused file stores nothing
/// and the error says why in Chinese and English.
pub fn publish_catalog(data_dir: &Path, file: &Path, by: &str) -> Result<Published, CountyError> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        CountyError::InvalidInput(format!(
            "无法读取 {}（{e}） / cannot read {}: {e}",
            file.display(),
            file.display()
        ))
    })?;
    let checked = catalog::parse_publication(&text)?;
    files::Dirs::create(data_dir)?;
    cli_storage(data_dir)?.publish_catalog(checked.services, checked.params, by, &store::now())
}

/// What is published: the catalog version, the services in force and the parameters.
pub fn show_catalog(data_dir: &Path) -> Result<PublishedInfo, CountyError> {
    cli_storage(data_dir)?.show_catalog()
}

pub use storage::NoticeRow;

/// A notice's longest title and body, in characters.
pub const MAX_NOTICE_TITLE_CHARS: usize = 200;
pub const MAX_NOTICE_BODY_CHARS: usize = 10_000;

/// Check a notice before it is stored: both languages of title and body, within the
/// lengths, and an RFC 3339 expiry. The error is bilingual.
pub(crate) fn check_notice(
    title: &county_api::I18nText,
    body: &county_api::I18nText,
    expires_at: Option<&str>,
) -> Result<(), CountyError> {
    for (text, max, zh, en) in [
        (
            &title.zh,
            MAX_NOTICE_TITLE_CHARS,
            "中文标题",
            "the Chinese title",
        ),
        (
            &title.en,
            MAX_NOTICE_TITLE_CHARS,
            "英文标题",
            "the English title",
        ),
        (
            &body.zh,
            MAX_NOTICE_BODY_CHARS,
            "中文正文",
            "the Chinese body",
        ),
        (
            &body.en,
            MAX_NOTICE_BODY_CHARS,
            "英文正文",
            "the English body",
        ),
    ] {
        if text.trim().is_empty() {
            return Err(CountyError::InvalidInput(format!(
                "{zh}不能为空 / {en} must not be empty"
            )));
        }
        if text.chars().count() > max {
            return Err(CountyError::InvalidInput(format!(
                "{zh}超过 {max} 字 / {en} is longer than {max} characters"
            )));
        }
    }
    if let Some(at) = expires_at
        && time::OffsetDateTime::parse(at, &time::format_description::well_known::Rfc3339).is_err()
    {
        return Err(CountyError::InvalidInput(format!(
            "截止时间 {at:?} 不是 RFC 3339 时间 / the expiry {at:?} is not an RFC 3339 time"
        )));
    }
    Ok(())
}

/// Publish a notice to every station (`stations` empty) or to the chosen ones (一键发文到村);
/// stations pull it with `GET /v1/notices?after=`. Returns the rows written (one per chosen
/// station, or one for all).
pub fn publish_notice(
    data_dir: &Path,
    title: &county_api::I18nText,
    body: &county_api::I18nText,
    stations: &[String],
    expires_at: Option<&str>,
    by: &str,
) -> Result<Vec<NoticeRow>, CountyError> {
    check_notice(title, body, expires_at)?;
    let stations: Vec<String> = stations.iter().map(|s| s.trim().to_owned()).collect();
    cli_storage(data_dir)?.publish_notice(title, body, &stations, expires_at, by, &store::now())
}

/// Every notice the county published, newest first.
pub fn list_notices(data_dir: &Path) -> Result<Vec<NoticeRow>, CountyError> {
    cli_storage(data_dir)?.list_notices()
}

/// The storage of a data directory for one command: the clerk side and `county import`
/// go through the same [`Storage`] as the server, so the rules are the same. It opens its
/// own connection, so the CLI works on a data directory a running server holds open.
pub(crate) fn cli_storage(data_dir: &Path) -> Result<Box<dyn Storage>, CountyError> {
    Ok(Box::new(SqliteStorage::open(data_dir, 0)?))
}

/// Where the database lives inside a data directory.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join(store::DATABASE_FILE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    async fn call(state: &AppState, request: Request<Body>) -> (StatusCode, Vec<u8>) {
        let response = app(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, body.to_vec())
    }

    /// A station's polls and the credential check are answered while the writer is busy
    /// (here: held until the polls are done; were they queued behind it, this would hang
    /// until the timeout).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn polls_are_answered_while_the_writer_is_held() {
        let dir = tempfile::tempdir().unwrap();
        let storage =
            Arc::new(SqliteStorage::open(dir.path(), storage::sqlite::SERVER_READERS).unwrap());
        let state = AppState::with_storage(dir.path(), storage.clone()).unwrap();
        let prov = add_station(dir.path(), "a", "http://county.invalid").unwrap();
        let enrol = Request::post(county_api::paths::ENROL)
            .header("content-type", "application/json")
            .body(Body::from(
                serde_json::to_vec(&county_api::EnrolRequest {
                    station_id: prov.station_id.clone(),
                    enrolment_token: prov.enrolment_token.clone(),
                    signing_public_key: None,
                })
                .unwrap(),
            ))
            .unwrap();
        let (status, body) = call(&state, enrol).await;
        assert_eq!(status, StatusCode::OK);
        let credential = serde_json::from_slice::<county_api::EnrolResponse>(&body)
            .unwrap()
            .credential;

        let (taken_tx, taken_rx) = tokio::sync::oneshot::channel::<()>();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let writer = tokio::task::spawn_blocking(move || {
            storage.write(move |_conn| {
                let _ = taken_tx.send(());
                let _ = release_rx.recv();
                Ok(())
            })
        });
        taken_rx.await.unwrap();
        for path in [
            "/v1/decisions?after=0&limit=100",
            "/v1/notices?after=0",
            "/v1/catalog",
        ] {
            let get = Request::get(path)
                .header("authorization", format!("Bearer {credential}"))
                .body(Body::empty())
                .unwrap();
            let answered =
                tokio::time::timeout(std::time::Duration::from_secs(30), call(&state, get)).await;
            let (status, _) = answered.unwrap_or_else(|_| panic!("{path} waited for the writer"));
            assert_eq!(status, StatusCode::OK, "{path}");
        }
        release_tx.send(()).unwrap();
        writer.await.unwrap().unwrap();
    }
}
