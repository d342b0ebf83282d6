//! The HTTP face: routes from `county_api::paths`, extractors that turn every rejection into an
//! `ErrorBody`, and thin handlers over the [`Storage`] trait (through
//! [`AppState::storage`]) and `files`.

use std::collections::{BTreeMap, BTreeSet};

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Request, State};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, ETAG, IF_NONE_MATCH};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use county_api::{
    DecisionAck, DecisionPage, DecisionQuery, EnrolRequest, EnrolResponse, ErrorCode, HandOver,
    NoticePage, NoticeQuery, SubmissionReceipt, SubmitApplication, paths,
};
use serde::de::DeserializeOwned;
use uuid::Uuid;

use crate::error::ApiError;
use crate::files;
use crate::storage::{Credential, HandedOver, Submitted};
use crate::storage::{NewApplication, Storage};
use crate::store;
use crate::{AppState, CountyError, MAX_JSON_BYTES};

/// Every route of the contract.
pub fn app(state: AppState) -> Router {
    let chunk_limit = usize::try_from(county_api::MAX_CHUNK_BYTES).unwrap_or(usize::MAX);
    Router::new()
        .route(paths::ENROL, post(enrol))
        .route(paths::APPLICATION, put(submit).get(get_application))
        .route(
            paths::ATTACHMENT,
            get(get_attachment)
                .patch(patch_attachment)
                .layer(DefaultBodyLimit::max(chunk_limit)),
        )
        .route(paths::HANDOVER, post(hand_over))
        .route(paths::DECISIONS, get(decisions))
        .route(paths::DECISIONS_ACK, post(ack_decisions))
        .route(paths::CATALOG, get(catalog))
        .route(paths::NOTICES, get(notices))
        .route(paths::SELFTEST, post(selftest))
        .route(paths::OPENAPI, get(openapi))
        .nest(crate::review::PREFIX, crate::review::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_JSON_BYTES))
        .layer(axum::middleware::from_fn(log_request))
        .with_state(state)
}

/// One debug line per request (never its headers: they carry credentials).
async fn log_request(request: Request, next: axum::middleware::Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    tracing::debug!(
        %method, %path, status = response.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64, "request"
    );
    response
}

// ---- Extractors ----

/// The station behind `Authorization: Bearer <credential>`; 401 otherwise, 403
/// `station_revoked` for a revoked station. Records a live station's last contact.
struct Station(String);

impl FromRequestParts<AppState> for Station {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let credential = parts
            .headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(ApiError::unauthorized)?;
        let hash = files::sha256_hex(credential.as_bytes());
        let station = state
            .storage(move |s, _| s.authenticate(&hash))
            .await
            .map_err(ApiError::from)?;
        match station {
            Credential::Station {
                id,
                last_contact_at,
            } => {
                state.contact(&id, last_contact_at.as_deref());
                Ok(Station(id))
            }
            Credential::Revoked(id) => Err(ApiError::station_revoked(&id)),
            Credential::Unknown => Err(ApiError::unauthorized()),
        }
    }
}

/// `axum::Json` whose rejections are `ErrorBody` answers (415, 413, 400).
struct JsonBody<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(JsonBody(value)),
            Err(rejection) => Err(json_rejection(rejection)),
        }
    }
}

fn json_rejection(rejection: JsonRejection) -> ApiError {
    ApiError::from_rejection(rejection.status(), rejection.body_text())
}

/// Path parameters; a malformed one (e.g. not a UUID) is a 400 `ErrorBody`.
struct PathParams<T>(T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for PathParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(PathParams(value)),
            Err(rejection) => Err(path_rejection(rejection)),
        }
    }
}

fn path_rejection(rejection: PathRejection) -> ApiError {
    ApiError::from_rejection(rejection.status(), rejection.body_text())
}

/// Query parameters; a malformed one is a 400 `ErrorBody`.
struct QueryParams<T>(T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(QueryParams(value)),
            Err(rejection) => Err(query_rejection(rejection)),
        }
    }
}

fn query_rejection(rejection: QueryRejection) -> ApiError {
    ApiError::from_rejection(rejection.status(), rejection.body_text())
}

/// An upload chunk: `Content-Type: application/octet-stream` (checked before the body is
/// read, 415) and at most `MAX_CHUNK_BYTES` (413).
struct Chunk(Bytes);

impl<S: Send + Sync> FromRequest<S> for Chunk {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let essence = content_type.split(';').next().unwrap_or("").trim();
        if !essence.eq_ignore_ascii_case("application/octet-stream") {
            return Err(ApiError::unsupported_media_type(format!(
                "a chunk must be sent as application/octet-stream, not {content_type:?}"
            )));
        }
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(Chunk(bytes)),
            Err(rejection) => Err(bytes_rejection(rejection)),
        }
    }
}

fn bytes_rejection(rejection: BytesRejection) -> ApiError {
    if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
        return ApiError::too_large(format!(
            "a chunk may hold at most {} bytes",
            county_api::MAX_CHUNK_BYTES
        ));
    }
    ApiError::from_rejection(rejection.status(), rejection.body_text())
}

// ---- Handlers ----

async fn not_found() -> ApiError {
    ApiError::not_found("no such route")
}

async fn method_not_allowed() -> ApiError {
    ApiError::bad_request("this method is not allowed on this route")
        .with_status(StatusCode::METHOD_NOT_ALLOWED)
}

async fn enrol(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<EnrolRequest>,
) -> Result<Json<EnrolResponse>, ApiError> {
    let refused = || {
        ApiError::new(
            ErrorCode::EnrolmentRefused,
            "the enrolment token is unknown or already spent",
            "注册令牌无效或已使用，请向县平台索取新的配置文件。",
        )
    };
    if request.station_id.is_empty() || request.enrolment_token.is_empty() {
        return Err(refused());
    }
    // Checked before the token is spent: a station with a damaged key can enrol again.
    let signing_key = match &request.signing_public_key {
        None => None,
        Some(k) => Some(
            k.parse::<sealing::sign::VerifyingKey>()
                .map_err(|_| {
                    ApiError::bad_request(
                        "signing_public_key must be an Ed25519 public key in 64 hex digits",
                    )
                })?
                .to_string(),
        ),
    };
    let token_sha = files::sha256_hex(request.enrolment_token.as_bytes());
    let credential = files::random_base32(30);
    let credential_sha = files::sha256_hex(credential.as_bytes());
    let station_id = request.station_id.clone();
    let name = state
        .storage(move |s, _| {
            s.enrol(
                &station_id,
                &token_sha,
                &credential_sha,
                signing_key.as_deref(),
                &store::now(),
            )
        })
        .await
        .map_err(ApiError::from)?
        .ok_or_else(refused)?;
    tracing::info!(station = %request.station_id, "station enrolled");
    Ok(Json(EnrolResponse {
        station_id: request.station_id,
        station_name: name,
        credential,
    }))
}

/// The shape checks of a submission: 400 for a malformed manifest, 422 for content the county
/// will not take.
fn check_submission(
    storage: &dyn Storage,
    application: &SubmitApplication,
) -> Result<(), ApiError> {
    let mut names = BTreeSet::new();
    for a in &application.attachments {
        if !county_api::is_valid_attachment_name(&a.name) {
            return Err(ApiError::bad_request(format!(
                "invalid attachment name {:?}",
                a.name
            )));
        }
        if !names.insert(a.name.as_str()) {
            return Err(ApiError::bad_request(format!(
                "attachment {} is listed twice",
                a.name
            )));
        }
        if a.size == 0 || a.size > county_api::MAX_ATTACHMENT_BYTES {
            return Err(ApiError::bad_request(format!(
                "attachment {} has size {}; it must be 1..={} bytes",
                a.name,
                a.size,
                county_api::MAX_ATTACHMENT_BYTES
            )));
        }
        if a.sha256.len() != 64
            || !a
                .sha256
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return Err(ApiError::bad_request(format!(
                "attachment {} needs a SHA-256 of 64 lower-case hex digits",
                a.name
            )));
        }
        if a.scan.trim().is_empty() || a.content_type.trim().is_empty() {
            return Err(ApiError::bad_request(format!(
                "attachment {} needs a scan slot and a content type",
                a.name
            )));
        }
    }
    let mut problems = BTreeMap::new();
    if application.tracking_number.trim().is_empty() {
        problems.insert("tracking_number".to_owned(), "must not be empty".to_owned());
    }
    if let Some(known) = crate::validation::unknown_service(storage, &application.service)? {
        problems.insert(
            "service".to_owned(),
            format!(
                "县平台不受理该服务 / unknown service {:?} (this county takes {})",
                application.service,
                known.join(", ")
            ),
        );
    }
    if time::OffsetDateTime::parse(
        &application.submitted_at,
        &time::format_description::well_known::Rfc3339,
    )
    .is_err()
    {
        problems.insert(
            "submitted_at".to_owned(),
            "must be an RFC 3339 time".to_owned(),
        );
    }
    if application.fields.is_empty() {
        problems.insert("fields".to_owned(), "no fields were sent".to_owned());
    }
    // Values may be empty (an optional field left blank); whether a required one is missing is
    // the service definition's call.
    if application
        .fields
        .keys()
        .any(|field| field.trim().is_empty())
    {
        problems.insert("fields".to_owned(), "a field id is empty".to_owned());
    }
    if problems.is_empty() {
        problems =
            crate::validation::problems(storage, application, time::OffsetDateTime::now_utc())?;
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(ApiError::new(
        ErrorCode::InvalidApplication,
        format!(
            "the application is invalid: {}",
            problems
                .iter()
                .map(|(k, v)| format!("{k} {v}"))
                .collect::<Vec<_>>()
                .join("; ")
        ),
        "申请内容不完整或有误，县平台无法受理。",
    )
    .with_field_errors(problems))
}

async fn submit(
    State(state): State<AppState>,
    Station(station): Station,
    PathParams(id): PathParams<Uuid>,
    JsonBody(application): JsonBody<SubmitApplication>,
) -> Result<(StatusCode, Json<SubmissionReceipt>), ApiError> {
    if application.application_id != id {
        return Err(ApiError::bad_request(format!(
            "the path names application {id} but the body {}",
            application.application_id
        )));
    }
    let key = state.key().clone();
    let taken = state
        .storage({
            let station = station.clone();
            move |s, _| intake(s, &key, &station, application)
        })
        .await?;
    if taken.created {
        tracing::info!(%station, application = %id, "application received");
        Ok((StatusCode::CREATED, Json(taken.receipt)))
    } else {
        Ok((StatusCode::OK, Json(taken.receipt)))
    }
}

/// How [`intake`] took an application record.
pub(crate) struct Taken {
    /// First time: stored now. `false`: the same record was already here.
    pub(crate) created: bool,
    pub(crate) receipt: SubmissionReceipt,
}

/// The county's one intake of an application record, for `PUT /v1/applications/{id}` and
/// for `county import` alike: open the sealed part, check it, store it unless its id is
/// taken. The same id with the same content is answered as before; other content is
/// refused (409), and so is another station's id (404).
pub(crate) fn intake(
    storage: &dyn Storage,
    key: &sealing::PrivateKey,
    station: &str,
    application: SubmitApplication,
) -> Result<Taken, ApiError> {
    let id = application.application_id;
    let (application, wire) = unseal(key, application)?;
    check_submission(storage, &application)?;
    // The typed value serialises canonically: fields in declaration order, maps sorted. It
    // is the plaintext (opened) record, so a repeat is recognised however it was sealed.
    let body = serde_json::to_string(&application)
        .map_err(|e| CountyError::Corrupt(format!("cannot serialise a submission: {e}")))?;
    let body_sha = files::sha256_hex(body.as_bytes());
    let outcome = storage.submit(
        station,
        &NewApplication {
            application: &application,
            wire: &wire,
            body: &body,
            body_sha256: &body_sha,
        },
        &store::now(),
    )?;
    match outcome {
        Submitted::Created(receipt) => Ok(Taken {
            created: true,
            receipt,
        }),
        Submitted::Repeated(receipt) => Ok(Taken {
            created: false,
            receipt,
        }),
        Submitted::Conflict => Err(ApiError::new(
            ErrorCode::Conflict,
            format!("application {id} was already submitted with different content"),
            "该申请编号已提交过不同的内容。",
        )),
        Submitted::OtherStation => Err(no_application(id)),
    }
}

fn unopenable(what: &str) -> ApiError {
    ApiError::new(
        ErrorCode::InvalidApplication,
        format!(
            "{what} does not open with this county's key (sealed to another county, or damaged)"
        ),
        "申请数据无法用本县平台的密钥解密，请重新配置服务站后再提交。",
    )
}

/// Open a sealed submission: the plaintext record (fields and the scans' plaintext size and
/// SHA-256 in the manifest) and the size and SHA-256 of each scan as it will be uploaded.
/// A plain submission comes back as it is, with no wire digests.
fn unseal(
    key: &sealing::PrivateKey,
    application: SubmitApplication,
) -> Result<(SubmitApplication, Vec<(u64, String)>), ApiError> {
    let Some(sealed) = &application.sealed else {
        return Ok((application, Vec::new()));
    };
    if !application.fields.is_empty() {
        return Err(ApiError::bad_request(
            "a sealed submission must not carry plain fields",
        ));
    }
    let bytes =
        hex::decode(sealed).map_err(|_| ApiError::bad_request("sealed must be hexadecimal"))?;
    let context = sealing::record_context(&application.application_id.to_string());
    let plain =
        sealing::open(key, &context, &bytes).map_err(|_| unopenable("the sealed record"))?;
    let record: county_api::SealedRecord = serde_json::from_slice(&plain).map_err(|e| {
        ApiError::new(
            ErrorCode::InvalidApplication,
            format!("the sealed record is not a SealedRecord: {e}"),
            "申请数据格式有误，县平台无法受理。",
        )
    })?;
    let names = |list: &mut dyn Iterator<Item = &str>| list.map(str::to_owned).collect::<Vec<_>>();
    if names(&mut application.attachments.iter().map(|a| a.name.as_str()))
        != names(&mut record.attachments.iter().map(|a| a.name.as_str()))
    {
        return Err(ApiError::bad_request(
            "the sealed record lists other attachments than the manifest",
        ));
    }
    let mut wire = Vec::with_capacity(record.attachments.len());
    let mut opened = application.clone();
    opened.sealed = None;
    opened.fields = record.fields;
    for (a, plain) in opened.attachments.iter_mut().zip(record.attachments) {
        if a.size != plain.size.saturating_add(sealing::OVERHEAD) || !is_sha256_hex(&a.sha256) {
            return Err(ApiError::bad_request(format!(
                "attachment {} is sealed: its size must be the plaintext's plus {} and its \
                 SHA-256 64 lower-case hex digits",
                a.name,
                sealing::OVERHEAD
            )));
        }
        wire.push((a.size, std::mem::take(&mut a.sha256)));
        a.size = plain.size;
        a.sha256 = plain.sha256;
    }
    Ok((opened, wire))
}

fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn no_application(id: Uuid) -> ApiError {
    ApiError::not_found(format!("no application {id} from this station"))
}

async fn get_application(
    State(state): State<AppState>,
    Station(station): Station,
    PathParams(id): PathParams<Uuid>,
) -> Result<Json<SubmissionReceipt>, ApiError> {
    state
        .storage(move |s, _| s.receipt(&station, id))
        .await?
        .map(Json)
        .ok_or_else(|| no_application(id))
}

fn checked_name(name: &str) -> Result<(), ApiError> {
    if county_api::is_valid_attachment_name(name) {
        Ok(())
    } else {
        Err(ApiError::bad_request(format!(
            "invalid attachment name {name:?}"
        )))
    }
}

fn no_attachment(id: Uuid, name: &str) -> ApiError {
    ApiError::not_found(format!(
        "no attachment {name} of application {id} from this station"
    ))
}

async fn get_attachment(
    State(state): State<AppState>,
    Station(station): Station,
    PathParams((id, name)): PathParams<(Uuid, String)>,
) -> Result<Json<county_api::AttachmentStatus>, ApiError> {
    checked_name(&name)?;
    let status = state
        .storage({
            let name = name.clone();
            move |s, _| s.attachment(&station, id, &name)
        })
        .await?;
    status.map(Json).ok_or_else(|| no_attachment(id, &name))
}

async fn patch_attachment(
    State(state): State<AppState>,
    Station(station): Station,
    PathParams((id, name)): PathParams<(Uuid, String)>,
    headers: HeaderMap,
    Chunk(chunk): Chunk,
) -> Result<Json<county_api::AttachmentStatus>, ApiError> {
    checked_name(&name)?;
    let offset: u64 = headers
        .get(county_api::UPLOAD_OFFSET_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(format!(
                "the {} header must hold the chunk's byte offset",
                county_api::UPLOAD_OFFSET_HEADER
            ))
        })?;
    let key = state.key().clone();
    state
        .uploading(move |s, dirs| {
            crate::http::append_chunk(s, dirs, &key, &station, id, &name, offset, &chunk)
        })
        .await
        .map(Json)
}

/// Append one chunk; the server runs it on the blocking pool holding its upload lock
/// ([`AppState::uploading`]), so it is the only writer of this attachment while it runs.
/// `county import` feeds a bundle's scans through it too.
#[allow(clippy::too_many_arguments)]
pub(crate) fn append_chunk(
    storage: &dyn Storage,
    dirs: &files::Dirs,
    key: &sealing::PrivateKey,
    station: &str,
    id: Uuid,
    name: &str,
    offset: u64,
    chunk: &[u8],
) -> Result<county_api::AttachmentStatus, ApiError> {
    let mut status = storage
        .attachment(station, id, name)?
        .ok_or_else(|| no_attachment(id, name))?;
    let part = dirs.part(id, name);
    if !status.complete {
        // The stored offset rules, but only over bytes that are on disk: after a crash
        // between the rename of a finished file and its row, or a lost partial file, start
        // again from what the partial file holds.
        let on_disk = files::part_len(&part)?;
        if on_disk < status.received {
            tracing::warn!(
                application = %id, attachment = name, stored = status.received, on_disk,
                "partial upload shorter than its recorded offset; resuming from the file"
            );
            storage.set_received(id, name, on_disk)?;
            status.received = on_disk;
        }
    }
    if offset != status.received {
        return Err(ApiError::new(
            ErrorCode::OffsetMismatch,
            format!(
                "the chunk starts at {offset}, but {} bytes of {name} have arrived",
                status.received
            ),
            "上传位置不一致，请从县平台告知的位置继续上传。",
        )
        .with_expected_offset(status.received));
    }
    let len = chunk.len() as u64;
    if offset.saturating_add(len) > status.size {
        return Err(ApiError::bad_request(format!(
            "the chunk runs to byte {}, past the end of {name} ({} bytes)",
            offset.saturating_add(len),
            status.size
        )));
    }
    if status.complete || chunk.is_empty() {
        return Ok(status);
    }
    files::append(&part, offset, chunk)?;
    let received = offset + len;
    if received < status.size {
        storage.set_received(id, name, received)?;
        status.received = received;
        return Ok(status);
    }
    // The last byte arrived: check the whole file.
    let actual = files::sha256_file(&part)?;
    if actual != status.sha256 {
        files::discard(&part)?;
        storage.set_received(id, name, 0)?;
        tracing::info!(application = %id, attachment = name, "checksum mismatch; upload restarts");
        return Err(ApiError::new(
            ErrorCode::ChecksumMismatch,
            format!(
                "{name} arrived whole but its SHA-256 is {actual}, not {}; send it again from 0",
                status.sha256
            ),
            "文件校验失败，需要从头重新上传。",
        )
        .with_expected_offset(0));
    }
    match storage.plain_digest(id, name)? {
        None => files::commit(&part, &dirs.attachment(&status.sha256))?,
        Some((size, sha256)) => {
            // Sealed: open it, check the plaintext against the sealed record's digest, keep
            // the plaintext. The sealed bytes arrived as sent, so sending them again would
            // not help: the application goes back to the station's operator.
            let sealed = std::fs::read(&part)
                .map_err(|e| CountyError::file(format!("cannot read {}", part.display()), e))?;
            let context = sealing::scan_context(&id.to_string(), name);
            let plain = sealing::open(key, &context, &sealed)
                .ok()
                .filter(|p| p.len() as u64 == size && files::sha256_hex(p) == sha256);
            let Some(plain) = plain else {
                files::discard(&part)?;
                storage.set_received(id, name, 0)?;
                tracing::warn!(application = %id, attachment = name, "a sealed scan does not open or does not match its digest");
                return Err(unopenable(&format!("the sealed scan {name}")));
            };
            files::commit_bytes(&part, &dirs.attachment(&sha256), &plain)?;
        }
    }
    storage.complete_attachment(station, id, name, &store::now())?;
    status.received = status.size;
    status.complete = true;
    Ok(status)
}

async fn hand_over(
    State(state): State<AppState>,
    Station(station): Station,
    PathParams(id): PathParams<Uuid>,
    JsonBody(request): JsonBody<HandOver>,
) -> Result<Json<SubmissionReceipt>, ApiError> {
    if time::OffsetDateTime::parse(
        &request.handed_over_at,
        &time::format_description::well_known::Rfc3339,
    )
    .is_err()
    {
        return Err(ApiError::bad_request(
            "handed_over_at must be an RFC 3339 time",
        ));
    }
    let outcome = state
        .storage(move |s, _| s.hand_over(&station, id, &request.handed_over_at, &store::now()))
        .await?;
    match outcome {
        HandedOver::Done(receipt) => Ok(Json(receipt)),
        HandedOver::NotFound => Err(no_application(id)),
        HandedOver::NotReady(current) => Err(ApiError::new(
            ErrorCode::Conflict,
            format!(
                "application {id} is {}; only a ready application can be handed over",
                current.as_str()
            ),
            "该申请尚未办结，不能领取。",
        )),
    }
}

async fn decisions(
    State(state): State<AppState>,
    Station(station): Station,
    QueryParams(query): QueryParams<DecisionQuery>,
) -> Result<Json<DecisionPage>, ApiError> {
    let limit = query.limit.unwrap_or(100);
    if !(1..=500).contains(&limit) {
        return Err(ApiError::bad_request("limit must be between 1 and 500"));
    }
    let page = state
        .storage(move |s, _| s.decisions(&station, query.after, limit))
        .await?;
    Ok(Json(page))
}

async fn ack_decisions(
    State(state): State<AppState>,
    Station(station): Station,
    JsonBody(ack): JsonBody<DecisionAck>,
) -> Result<StatusCode, ApiError> {
    let known = state
        .storage(move |s, _| s.ack(&station, ack.cursor))
        .await?;
    if known {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::bad_request(format!(
            "cursor {} is beyond the last decision for this station",
            ack.cursor
        )))
    }
}

/// The station's latest self-test, for the dashboard; a late older one changes nothing.
async fn selftest(
    State(state): State<AppState>,
    Station(station): Station,
    JsonBody(report): JsonBody<county_api::SelftestReport>,
) -> Result<StatusCode, ApiError> {
    let checked_at = crate::selftests::check(&report)?;
    let now = time::OffsetDateTime::now_utc();
    state
        .storage(move |s, _| s.record_selftest(&station, &report, checked_at, now))
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/catalog`: 304 when the station's ETag is the version in force (one primary-key
/// lookup), else the stored catalog JSON as it is.
async fn catalog(
    State(state): State<AppState>,
    Station(_station): Station,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked: Vec<String> = headers
        .get_all(IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim().trim_start_matches("W/").to_owned())
        .collect();
    let found = state
        .storage(move |s, _| {
            let version = s.catalog_version()?;
            let etag = format!("\"{version}\"");
            if asked.iter().any(|tag| *tag == etag || tag == "*") {
                Ok::<_, CountyError>((etag, None))
            } else {
                let (version, body) = s.catalog_json()?;
                Ok((format!("\"{version}\""), Some(body)))
            }
        })
        .await?;
    let (etag, body) = found;
    let etag_header = HeaderValue::from_str(&etag).unwrap_or(HeaderValue::from_static("\"0\""));
    Ok(match body {
        None => (StatusCode::NOT_MODIFIED, [(ETAG, etag_header)]).into_response(),
        Some(body) => (
            [
                (ETAG, etag_header),
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
            ],
            body,
        )
            .into_response(),
    })
}

async fn notices(
    State(state): State<AppState>,
    Station(station): Station,
    QueryParams(query): QueryParams<NoticeQuery>,
) -> Result<Json<NoticePage>, ApiError> {
    let page = state
        .storage(move |s, _| s.notices(&station, query.after))
        .await?;
    Ok(Json(page))
}

async fn openapi() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "application/yaml")],
        county_api::openapi::COMMITTED,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use county_api::AttachmentManifest;

    fn application() -> SubmitApplication {
        SubmitApplication {
            application_id: Uuid::now_v7(),
            tracking_number: "BP-1".into(),
            service: "birth-permit".into(),
            service_version: 1,
            submitted_at: "2024-05-01T08:00:00Z".into(),
            fields: {
                let text = include_str!("../../tests/data/applications/birth-permit.json");
                let sample: serde_json::Value = serde_json::from_str(text).unwrap();
                serde_json::from_value(sample["fields"].clone()).unwrap()
            },
            // Every scan birth-permit requires; the first is the one the cases break.
            attachments: [
                "mother_id_card",
                "father_id_card",
                "mother_household_register",
                "father_household_register",
                "marriage_certificate",
            ]
            .iter()
            .enumerate()
            .map(|(i, scan)| AttachmentManifest {
                name: if i == 0 {
                    "a.jpg".into()
                } else {
                    format!("{scan}.jpg")
                },
                scan: (*scan).into(),
                content_type: "image/jpeg".into(),
                size: 10,
                sha256: "0".repeat(64),
            })
            .collect(),
            sealed: None,
            clock: None,
        }
    }

    /// One case per rule: (what to break, expected code).
    #[test]
    fn submission_checks() {
        type Breaker = fn(&mut SubmitApplication);
        let cases: &[(&str, Breaker, Option<ErrorCode>)] = &[
            ("valid", |_| {}, None),
            (
                "path trick",
                |a| a.attachments[0].name = "../etc/passwd".into(),
                Some(ErrorCode::BadRequest),
            ),
            (
                "duplicate name",
                |a| a.attachments.push(a.attachments[0].clone()),
                Some(ErrorCode::BadRequest),
            ),
            (
                "too big",
                |a| a.attachments[0].size = county_api::MAX_ATTACHMENT_BYTES + 1,
                Some(ErrorCode::BadRequest),
            ),
            (
                "upper-case sha",
                |a| a.attachments[0].sha256 = "A".repeat(64),
                Some(ErrorCode::BadRequest),
            ),
            (
                "unknown service",
                |a| a.service = "tax".into(),
                Some(ErrorCode::InvalidApplication),
            ),
            (
                "empty optional value",
                |a| {
                    a.fields
                        .insert("children.expected_due_date".into(), String::new());
                },
                None,
            ),
            (
                "invalid field value",
                |a| {
                    a.fields.insert("mother.phone".into(), "123".into());
                },
                Some(ErrorCode::InvalidApplication),
            ),
            (
                "required field missing",
                |a| {
                    a.fields.remove("father.name");
                },
                Some(ErrorCode::InvalidApplication),
            ),
            (
                "required scan missing",
                |a| a.attachments.retain(|a| a.scan != "marriage_certificate"),
                Some(ErrorCode::InvalidApplication),
            ),
            (
                "a further page of a slot",
                |a| {
                    let mut page = a.attachments[0].clone();
                    page.name = "a-2.jpg".into();
                    a.attachments.push(page);
                },
                None,
            ),
            (
                "empty field id",
                |a| {
                    a.fields.insert(" ".into(), "x".into());
                },
                Some(ErrorCode::InvalidApplication),
            ),
            (
                "no fields",
                |a| a.fields.clear(),
                Some(ErrorCode::InvalidApplication),
            ),
            (
                "bad time",
                |a| a.submitted_at = "yesterday".into(),
                Some(ErrorCode::InvalidApplication),
            ),
        ];
        let storage = crate::storage::sqlite::SqliteStorage::in_memory();
        for (what, breaker, expected) in cases {
            let mut a = application();
            breaker(&mut a);
            let got = check_submission(&storage, &a).err().map(|e| e.body().code);
            assert_eq!(got, *expected, "{what}");
        }
    }
}
