//! The SMS that tells the villager about a decision: a durable queue in the database, a
//! [`Notifier`] that delivers, and a worker in `county serve` that drains the queue.
//!
//! - Enqueued in the decision's own transaction (`store::decide`, the path of the review page
//!   and `county decide` alike): a recorded decision always has its SMS row, a refused one
//!   never. One row per decision (`UNIQUE (station_id, cursor)`), so it is queued once.
//! - The villager: the application's first field filled from the ID card's name; the number:
//!   the first mobile number (`1[3-9]` + 9 digits) in a phone field meant for it (id ending
//!   `sms_phone`, e.g. birth-permit's `contact.sms_phone`), else in the card holder's group,
//!   else in any group. No mobile number: no SMS (a landline cannot get one); a log line with the
//!   tracking number says so.
//! - Delivered by the worker `county serve` runs ([`spawn_worker`]), oldest first; a row is
//!   marked sent only after the notifier succeeded (for the webhook: a 2xx answer). A failure
//!   is retried with a doubling delay (first [`Retry::first`], at most [`Retry::max`]),
//!   forever: nothing is dropped. Decisions taken while the server is down (`county decide`)
//!   are sent when it runs again.
//! - "Never sent twice": one worker per data directory, a row leaves the queue once; the only
//!   window is a crash between the gateway's 2xx and the row being marked, after which the
//!   same message is offered again with the same `id` (and `Idempotency-Key` header), which
//!   the gateway uses to drop the repeat (docs/sms-webhook.md).
//! - Logs carry the tracking number and the masked name (`李**`) only, never the phone number
//!   or the full name.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use county_api::{Decision, DecisionKind, I18nText};
use kiosk_domain::definition::{CardField, FieldKind};
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Deserialize, Serialize};

use crate::storage::SmsAttempt;
use crate::{AppState, CountyError};

/// The queue (migration 7; named V6 when written).
pub(crate) const V6_SMS_QUEUE: &str = "
CREATE TABLE sms_queue (
    id               INTEGER PRIMARY KEY,
    station_id       TEXT NOT NULL,
    cursor           INTEGER NOT NULL,
    -- The SmsMessage JSON the notifier gets (it holds the phone number).
    body             TEXT NOT NULL,
    tracking_number  TEXT NOT NULL,
    masked_name      TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    attempts         INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  TEXT NOT NULL,
    last_error       TEXT,
    sent_at          TEXT,
    UNIQUE (station_id, cursor)
) STRICT;
CREATE INDEX sms_queue_due ON sms_queue(next_attempt_at) WHERE sent_at IS NULL;
";

/// The SMS to send, as the webhook gets it (docs/sms-webhook.md).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SmsMessage {
    /// `<station id>-<decision cursor>`: the same for every attempt; the gateway drops a
    /// repeat of an id it has sent.
    pub id: String,
    /// The villager's mobile number (11 digits).
    pub phone: String,
    /// The villager's name with all but the first character masked (`李**`).
    pub name_masked: String,
    pub tracking_number: String,
    /// `approve`, `reject`, `more_papers` or `ready`.
    pub kind: String,
    /// The clerk's reason (reject, more_papers).
    pub reason: Option<String>,
    pub service: ServiceRef,
    pub station: StationRef,
    /// RFC 3339.
    pub decided_at: String,
    /// A ready-made text for the SMS, in Chinese and English.
    pub text: I18nText,
}

/// The service of the application.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRef {
    pub id: String,
    pub title: I18nText,
}

/// Where the villager applied (and picks up).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StationRef {
    pub id: String,
    pub name: String,
}

/// Why a delivery failed (it will be retried).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct NotifyError(pub String);

/// Delivers one SMS. Called by the worker, one message at a time; an error means "not
/// delivered, try again later".
pub trait Notifier: Send + Sync + 'static {
    fn deliver<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>>;
}

/// The default: writes a log line (tracking number, masked name, decision) instead of
/// sending, for a county without an SMS gateway.
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn deliver<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>> {
        Box::pin(async move {
            tracing::info!(
                tracking = %message.tracking_number,
                name = %message.name_masked,
                kind = %message.kind,
                "SMS to the villager (logged only: no --sms-webhook)"
            );
            Ok(())
        })
    }
}

/// POSTs the [`SmsMessage`] as JSON to a URL (docs/sms-webhook.md); any 2xx is delivered.
pub struct WebhookNotifier {
    url: reqwest::Url,
    client: reqwest::Client,
}

impl WebhookNotifier {
    /// A webhook at `url`: `http://` (the county's SMS gateway on its own network) or
    /// `https://`, trusting the system's certificate store.
    pub fn new(url: &str) -> Result<WebhookNotifier, CountyError> {
        WebhookNotifier::trusting(url, None)
    }

    /// [`WebhookNotifier::new`] where an `https://` gateway is trusted by `ca` (PEM: the
    /// private CA that signed the gateway's certificate, or that certificate itself when
    /// it is self-signed) and nothing else, as a station trusts only its county's anchor.
    /// A file holding a private key or no certificate is refused.
    pub fn trusting(url: &str, ca: Option<&str>) -> Result<WebhookNotifier, CountyError> {
        let parsed = reqwest::Url::parse(url).map_err(|e| {
            CountyError::InvalidInput(format!(
                "短信网关地址 {url:?} 无效（{e}） / the SMS webhook {url:?} is not a URL: {e}"
            ))
        })?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(CountyError::InvalidInput(format!(
                "短信网关地址须为 http:// 或 https://主机/路径 / the SMS webhook must be an \
                 http:// or https:// URL with a host (got {url:?})"
            )));
        }
        if ca.is_some() && parsed.scheme() != "https" {
            return Err(CountyError::InvalidInput(format!(
                "短信网关的 CA 证书只用于 https:// 地址 / a CA for the SMS webhook needs an \
                 https:// URL (got {url:?})"
            )));
        }
        // reqwest is built without a crypto provider (see `install_tls_provider`).
        crate::install_tls_provider();
        let builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none());
        let builder = match ca {
            None => builder,
            Some(pem) => builder.tls_backend_preconfigured(gateway_tls(pem)?),
        };
        let client = builder
            .build()
            .map_err(|e| CountyError::InvalidInput(format!("cannot build an HTTP client: {e}")))?;
        Ok(WebhookNotifier {
            url: parsed,
            client,
        })
    }
}

/// TLS that trusts exactly the certificates in `pem` (ring, as everywhere in the county).
fn gateway_tls(pem: &str) -> Result<rustls::ClientConfig, CountyError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| {
        CountyError::InvalidInput(format!(
            "短信网关的 CA 证书不可用（{why}） / the SMS webhook's CA cannot be used: {why}"
        ))
    };
    if pem.contains("PRIVATE KEY") {
        return Err(bad(
            "文件含有私钥，请只给证书 / it holds a private key; give the certificate only".into(),
        ));
    }
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
        let cert = cert.map_err(|e| bad(e.to_string()))?;
        roots.add(cert).map_err(|e| bad(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(bad(
            "文件里没有证书 / it holds no certificate (expected PEM: -----BEGIN CERTIFICATE-----)"
                .into(),
        ));
    }
    Ok(rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| bad(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth())
}

impl Notifier for WebhookNotifier {
    fn deliver<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<(), NotifyError>> + Send + 'a>> {
        Box::pin(async move {
            let response = self
                .client
                .post(self.url.clone())
                .header("idempotency-key", &message.id)
                .json(message)
                .send()
                .await
                .map_err(|e| NotifyError(format!("the SMS webhook cannot be reached: {e}")))?;
            let status = response.status();
            if status.is_success() {
                Ok(())
            } else {
                Err(NotifyError(format!("the SMS webhook answered {status}")))
            }
        })
    }
}

/// How failed deliveries are retried.
#[derive(Clone, Copy, Debug)]
pub struct Retry {
    /// The delay after the first failure; it doubles with each further one.
    pub first: Duration,
    /// The longest delay.
    pub max: Duration,
    /// How often the queue is looked at for decisions made outside the server (`county
    /// decide`); the server's own decisions wake the worker at once.
    pub poll: Duration,
}

impl Default for Retry {
    fn default() -> Retry {
        Retry {
            first: Duration::from_secs(5),
            max: Duration::from_secs(3600),
            poll: Duration::from_secs(1),
        }
    }
}

impl Retry {
    fn delay(&self, attempts: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempts.saturating_sub(1).min(20));
        self.first.saturating_mul(factor).min(self.max)
    }
}

/// The masked name: the first character, then one `*` per further character.
pub(crate) fn mask(name: &str) -> String {
    let mut chars = name.trim().chars();
    match chars.next() {
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
        None => "—".to_owned(),
    }
}

fn is_mobile(phone: &str) -> bool {
    let bytes = phone.as_bytes();
    bytes.len() == 11
        && bytes[0] == b'1'
        && (b'3'..=b'9').contains(&bytes[1])
        && bytes.iter().all(u8::is_ascii_digit)
}

fn text(kind: DecisionKind, service: &I18nText, tracking: &str, reason: Option<&str>) -> I18nText {
    let reason_zh = reason.map(|r| format!("原因：{r}。")).unwrap_or_default();
    let reason_en = reason.map(|r| format!(" Reason: {r}.")).unwrap_or_default();
    let (zh, en) = match kind {
        DecisionKind::Approve => (
            format!("您的{}申请（{tracking}）已获批准。", service.zh),
            format!("Your {} application ({tracking}) is approved.", service.en),
        ),
        DecisionKind::Reject => (
            format!("您的{}申请（{tracking}）未获批准。{reason_zh}", service.zh),
            format!(
                "Your {} application ({tracking}) was not approved.{reason_en}",
                service.en
            ),
        ),
        DecisionKind::MorePapers => (
            format!(
                "您的{}申请（{tracking}）需补交材料，请到村服务站办理。{reason_zh}",
                service.zh
            ),
            format!(
                "Your {} application ({tracking}) needs more papers; please come to the \
                 village service station.{reason_en}",
                service.en
            ),
        ),
        DecisionKind::Ready => (
            format!(
                "您的{}（{tracking}）已办好，请带身份证到村服务站领取。",
                service.zh
            ),
            format!(
                "Your {} ({tracking}) is ready; collect it at the village service station \
                 with your ID card.",
                service.en
            ),
        ),
    };
    I18nText { zh, en }
}

/// Queue the SMS of a decision just recorded in `tx` (called by `store::decide` before it
/// commits). No mobile number in the application: nothing is queued.
pub(crate) fn enqueue(
    tx: &Transaction<'_>,
    station: &str,
    decision: &Decision,
    now: &str,
) -> Result<(), CountyError> {
    let (body, service, version, station_name): (String, String, u32, String) = tx.query_row(
        "SELECT a.body, a.service, a.service_version, s.name
         FROM applications a JOIN stations s ON s.id = a.station_id WHERE a.id = ?1",
        [decision.application_id.to_string()],
        |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)),
    )?;
    let record: county_api::SubmitApplication = serde_json::from_str(&body)
        .map_err(|e| CountyError::Corrupt(format!("a stored application is unreadable: {e}")))?;
    let Some(def) = crate::catalog::revision(tx, &service, version)? else {
        tracing::warn!(tracking = %decision.tracking_number, "no definition for the application's service; no SMS");
        return Ok(());
    };
    let value = |id: &str| {
        record
            .fields
            .get(id)
            .map(|v| v.trim())
            .filter(|v| !v.is_empty())
    };
    let name_field = def
        .fields
        .iter()
        .find(|f| f.from_card == Some(CardField::Name) && value(&f.id).is_some());
    let name = name_field.and_then(|f| value(&f.id)).unwrap_or("");
    let group = name_field.map(|f| f.group_id().to_owned());
    let phones = def
        .fields
        .iter()
        .filter(|f| f.kind == FieldKind::Phone)
        .filter_map(|f| value(&f.id).filter(|v| is_mobile(v)).map(|v| (f, v)));
    // A field meant for the SMS (`….sms_phone`) first, then the card holder's own group.
    let rank = |field: &kiosk_domain::FieldDef| {
        if field.id.rsplit('.').next() == Some("sms_phone") {
            0
        } else if Some(field.group_id()) == group.as_deref() {
            1
        } else {
            2
        }
    };
    let phone = phones.min_by_key(|(field, _)| rank(field)).map(|(_, v)| v);
    let masked = mask(name);
    let Some(phone) = phone else {
        tracing::info!(tracking = %decision.tracking_number, "the application has no mobile number; no SMS");
        return Ok(());
    };
    let title = I18nText {
        zh: def.title.zh.clone(),
        en: def.title.en.clone(),
    };
    let kind = serde_json::to_value(decision.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let message = SmsMessage {
        id: format!("{station}-{}", decision.cursor),
        phone: phone.to_owned(),
        name_masked: masked.clone(),
        tracking_number: decision.tracking_number.clone(),
        kind,
        reason: decision.reason.clone(),
        text: text(
            decision.kind,
            &title,
            &decision.tracking_number,
            decision.reason.as_deref(),
        ),
        service: ServiceRef { id: service, title },
        station: StationRef {
            id: station.to_owned(),
            name: station_name,
        },
        decided_at: decision.decided_at.clone(),
    };
    let json = serde_json::to_string(&message)
        .map_err(|e| CountyError::Corrupt(format!("cannot serialise an SMS: {e}")))?;
    tx.execute(
        "INSERT INTO sms_queue (station_id, cursor, body, tracking_number, masked_name,
                                created_at, next_attempt_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (station_id, cursor) DO NOTHING",
        params![
            station,
            i64::try_from(decision.cursor).unwrap_or(i64::MAX),
            json,
            decision.tracking_number,
            masked,
            now,
            at(Duration::ZERO)
        ],
    )?;
    Ok(())
}

/// A queued SMS due for delivery.
pub(crate) struct QueuedSms {
    pub id: i64,
    pub attempts: u32,
    pub tracking: String,
    pub masked: String,
    pub message: SmsMessage,
}

pub(crate) fn due(conn: &Connection, now: &str) -> Result<Option<QueuedSms>, CountyError> {
    let row: Option<(i64, u32, String, String, String)> = conn
        .query_row(
            "SELECT id, attempts, tracking_number, masked_name, body FROM sms_queue
             WHERE sent_at IS NULL AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT 1",
            [now],
            |row| {
                Ok((
                    row.get(0)?,
                    row.get(1)?,
                    row.get(2)?,
                    row.get(3)?,
                    row.get(4)?,
                ))
            },
        )
        .optional()?;
    let Some((id, attempts, tracking, masked, body)) = row else {
        return Ok(None);
    };
    let message = serde_json::from_str(&body)
        .map_err(|e| CountyError::Corrupt(format!("a queued SMS is unreadable: {e}")))?;
    Ok(Some(QueuedSms {
        id,
        attempts,
        tracking,
        masked,
        message,
    }))
}

/// Record a delivery attempt: sent, or when to try again.
pub(crate) fn attempted(conn: &Connection, a: &SmsAttempt<'_>) -> Result<(), CountyError> {
    conn.execute(
        "UPDATE sms_queue SET attempts = ?2, sent_at = ?3, last_error = ?4, next_attempt_at = ?5
         WHERE id = ?1",
        params![a.id, a.attempts, a.sent_at, a.error, a.next_attempt_at],
    )?;
    Ok(())
}

/// (sent, waiting).
pub(crate) fn counts(conn: &Connection) -> Result<(u64, u64), CountyError> {
    let (sent, waiting): (i64, i64) = conn.query_row(
        "SELECT COUNT(sent_at), COUNT(*) - COUNT(sent_at) FROM sms_queue",
        [],
        |row| Ok((row.get(0)?, row.get(1)?)),
    )?;
    Ok((
        u64::try_from(sent).unwrap_or(0),
        u64::try_from(waiting).unwrap_or(0),
    ))
}

/// RFC 3339 (UTC, to the millisecond, so short test delays order correctly) of now + `d`.
fn at(d: Duration) -> String {
    let t = time::OffsetDateTime::now_utc() + d;
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// What the queue holds, for tests and the CLI: (sent, waiting).
pub fn queue_counts(data_dir: &std::path::Path) -> Result<(u64, u64), CountyError> {
    crate::cli_storage(data_dir)?.sms_counts()
}

/// Drain the queue until `stop` turns true: deliver each due SMS, mark it sent or schedule
/// its retry. Returns when stopped (a delivery under way is finished first).
pub(crate) fn spawn_worker(
    state: AppState,
    notifier: Arc<dyn Notifier>,
    retry: Retry,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let wake = state.sms_wake();
        loop {
            if *stop.borrow() {
                return;
            }
            let next = state.storage(|s, _| s.sms_due(&at(Duration::ZERO))).await;
            match next {
                Ok(Some(item)) => {
                    let outcome = notifier.deliver(&item.message).await;
                    let id = item.id;
                    let attempts = item.attempts + 1;
                    let (sent, error) = match &outcome {
                        Ok(()) => (Some(at(Duration::ZERO)), None),
                        Err(e) => (None, Some(e.to_string())),
                    };
                    let next_at = at(retry.delay(attempts));
                    let marked = state
                        .storage(move |s, _| {
                            s.sms_attempted(&SmsAttempt {
                                id,
                                attempts,
                                sent_at: sent.as_deref(),
                                error: error.as_deref(),
                                next_attempt_at: &next_at,
                            })
                        })
                        .await;
                    match (&outcome, marked) {
                        (_, Err(e)) => {
                            tracing::error!(tracking = %item.tracking, "cannot record an SMS delivery: {e}");
                            tokio::time::sleep(retry.poll).await;
                        }
                        (Ok(()), Ok(_)) => {
                            tracing::info!(tracking = %item.tracking, name = %item.masked, "SMS delivered");
                        }
                        (Err(e), Ok(_)) => {
                            tracing::warn!(
                                tracking = %item.tracking, attempts,
                                retry_in_s = retry.delay(attempts).as_secs_f32(),
                                "SMS not delivered: {e}"
                            );
                        }
                    }
                }
                Ok(None) => {
                    tokio::select! {
                        _ = tokio::time::sleep(retry.poll) => {}
                        _ = wake.notified() => {}
                        _ = stop.changed() => {}
                    }
                }
                Err(e) => {
                    tracing::error!("cannot read the SMS queue: {e}");
                    tokio::select! {
                        _ = tokio::time::sleep(retry.poll) => {}
                        _ = stop.changed() => {}
                    }
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_keeps_the_first_character_only() {
        assert_eq!(mask("李德华"), "李**");
        assert_eq!(mask(" 欧阳修 "), "欧**");
        assert_eq!(mask(""), "—");
    }

    #[test]
    fn only_mainland_mobiles_get_an_sms() {
        assert!(is_mobile("13712345678"));
        assert!(!is_mobile("12712345678"));
        assert!(!is_mobile("08763123456"));
        assert!(!is_mobile("0876-3123456"));
    }

    #[test]
    fn retries_double_up_to_the_maximum() {
        let retry = Retry {
            first: Duration::from_secs(5),
            max: Duration::from_secs(60),
            poll: Duration::from_secs(1),
        };
        let delays: Vec<u64> = (1..=6).map(|n| retry.delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 60, 60]);
    }
}
