//! The county's errors: [`CountyError`] for the library and the CLI, [`ApiError`] for HTTP
//! answers (always an [`ErrorBody`]).

use std::collections::BTreeMap;
use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use county_api::{ErrorBody, ErrorCode};
use uuid::Uuid;

/// Everything that can go wrong in the county library. `Display` is a readable sentence.
#[derive(Debug, thiserror::Error)]
pub enum CountyError {
    #[error("the data directory {} cannot be opened: {source}", path.display())]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the database {} cannot be opened: {source}", path.display())]
    Database {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("the database schema cannot be brought up to date: {0}")]
    Migration(String),
    #[error("the database failed: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{context}: {source}")]
    File {
        context: String,
        source: std::io::Error,
    },
    #[error("the stored data is inconsistent: {0}")]
    Corrupt(String),
    #[error("{0}")]
    InvalidInput(String),
    #[error("no station with id {0}")]
    NoSuchStation(String),
    #[error("no application with id {0}")]
    NoSuchApplication(Uuid),
    #[error("a reason is required to {0}")]
    ReasonRequired(&'static str),
    #[error("cannot {action} application {id}: it is {state}, and only {allowed} can be {done}")]
    InvalidTransition {
        id: Uuid,
        action: &'static str,
        done: &'static str,
        state: String,
        allowed: &'static str,
    },
    #[error("a background task failed: {0}")]
    Task(String),
    #[error("the server failed: {0}")]
    Serve(std::io::Error),
}

impl CountyError {
    pub(crate) fn file(context: impl Into<String>, source: std::io::Error) -> CountyError {
        CountyError::File {
            context: context.into(),
            source,
        }
    }
}

/// An HTTP error answer: a status and an [`ErrorBody`].
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    pub(crate) fn new(code: ErrorCode, message: impl Into<String>, message_zh: &str) -> ApiError {
        let status = match code {
            ErrorCode::Unauthorized => StatusCode::UNAUTHORIZED,
            ErrorCode::EnrolmentRefused | ErrorCode::StationRevoked => StatusCode::FORBIDDEN,
            ErrorCode::NotFound => StatusCode::NOT_FOUND,
            ErrorCode::Conflict | ErrorCode::OffsetMismatch => StatusCode::CONFLICT,
            ErrorCode::ChecksumMismatch | ErrorCode::InvalidApplication => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ErrorCode::BadRequest => StatusCode::BAD_REQUEST,
            ErrorCode::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ErrorCode::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorCode::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            ErrorCode::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        };
        let retryable = matches!(code, ErrorCode::RateLimited | ErrorCode::Internal);
        ApiError {
            status,
            body: ErrorBody {
                code,
                message: message.into(),
                message_zh: message_zh.to_owned(),
                retryable,
                expected_offset: None,
                field_errors: BTreeMap::new(),
            },
        }
    }

    pub(crate) fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    pub(crate) fn with_expected_offset(mut self, offset: u64) -> ApiError {
        self.body.expected_offset = Some(offset);
        self
    }

    pub(crate) fn with_field_errors(mut self, errors: BTreeMap<String, String>) -> ApiError {
        self.body.field_errors = errors;
        self
    }

    pub(crate) fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::BadRequest, message, "请求格式不正确。")
    }

    pub(crate) fn unauthorized() -> ApiError {
        ApiError::new(
            ErrorCode::Unauthorized,
            "missing or unknown station credential",
            "站点凭证无效或已被停用，请联系技术人员。",
        )
    }

    pub(crate) fn station_revoked(station: &str) -> ApiError {
        ApiError::new(
            ErrorCode::StationRevoked,
            format!("station {station} was revoked by the county; provision it anew"),
            "本站点已被县平台停用，请联系技术人员重新配置。",
        )
    }

    pub(crate) fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::NotFound, message, "县平台找不到该申请或附件。")
    }

    pub(crate) fn too_large(message: impl Into<String>) -> ApiError {
        ApiError::new(ErrorCode::TooLarge, message, "发送的数据过大。")
    }

    pub(crate) fn unsupported_media_type(message: impl Into<String>) -> ApiError {
        ApiError::new(
            ErrorCode::UnsupportedMediaType,
            message,
            "发送的数据类型不正确。",
        )
    }

    pub(crate) fn internal() -> ApiError {
        ApiError::new(
            ErrorCode::Internal,
            "the county failed; retry later",
            "县平台暂时出现故障，请稍后重试。",
        )
    }

    /// Map an axum extractor rejection (by its status) to an error answer.
    pub(crate) fn from_rejection(status: StatusCode, text: String) -> ApiError {
        match status {
            StatusCode::PAYLOAD_TOO_LARGE => ApiError::too_large(text),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::unsupported_media_type(text),
            s if s.is_server_error() => {
                tracing::error!(%status, "extractor failed: {text}");
                ApiError::internal()
            }
            _ => ApiError::bad_request(text),
        }
    }

    pub(crate) fn body(&self) -> &ErrorBody {
        &self.body
    }
}

impl From<CountyError> for ApiError {
    fn from(error: CountyError) -> ApiError {
        tracing::error!("{error}");
        ApiError::internal()
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(error: rusqlite::Error) -> ApiError {
        ApiError::from(CountyError::Sqlite(error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, code = ?self.body.code, "{}", self.body.message);
        } else {
            // Client errors are the client's business: visible when asked for, never alarming.
            tracing::debug!(status = %self.status, code = ?self.body.code, "{}", self.body.message);
        }
        (self.status, Json(self.body)).into_response()
    }
}
