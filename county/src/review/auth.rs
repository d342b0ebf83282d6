//! Clerk authentication: Argon2id password hashes, server-side sessions behind an
//! `HttpOnly; SameSite=Strict` cookie, and the per-session CSRF token every form carries.
//!
//! Only the SHA-256 of a session token is stored, so a copy of the database opens no session.
//! The login form, which has no session yet, is protected by a double-submit token: a random
//! value in a `SameSite=Strict` cookie that the form must echo.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::header::COOKIE;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{Lang, redirect_to_login};
use crate::{AppState, CountyError, files, store};

/// The session cookie (scoped to `/review`).
pub(crate) const SESSION_COOKIE: &str = "county_session";
/// The login form's double-submit cookie.
pub(crate) const LOGIN_COOKIE: &str = "county_login";
/// How long a session lives, in seconds (one working day).
pub(crate) const SESSION_SECONDS: i64 = 12 * 3600;

/// After this many failed logins for one name within [`LOCKOUT_SECONDS`], that name is
/// refused (even with the right password) until the window has passed.
pub(crate) const MAX_FAILED_LOGINS: u64 = 5;
pub(crate) const LOCKOUT_SECONDS: i64 = 15 * 60;

/// Shortest password `county clerk add` accepts.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// Hash a password with Argon2id (the crate's default parameters: 19 MiB, 2 passes) and a
/// random salt; the result is a PHC string holding both.
pub(crate) fn hash_password(password: &str) -> Result<String, CountyError> {
    let mut salt = [0u8; 16];
    rand::fill(&mut salt[..]);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| CountyError::Corrupt(format!("cannot encode a salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| CountyError::InvalidInput(format!("cannot hash the password: {e}")))
}

/// Whether `password` matches the stored PHC string. A damaged hash never matches.
pub(crate) fn verify_password(password: &str, stored: &str) -> bool {
    match PasswordHash::new(stored) {
        Ok(hash) => Argon2::default()
            .verify_password(password.as_bytes(), &hash)
            .is_ok(),
        Err(_) => false,
    }
}

/// Checked against when the clerk does not exist, so that an unknown name costs as much time
/// as a wrong password and names cannot be probed by timing.
pub(crate) static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| hash_password(&files::random_base32(16)).unwrap_or_default());

/// Compare two secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub(crate) fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim().to_owned())
}

/// A `Set-Cookie` value for a secret cookie under `/review`; `max_age` 0 deletes it.
/// `secure` (the server speaks TLS) keeps the browser from ever sending it in clear.
pub(crate) fn secret_cookie(name: &str, value: &str, max_age: Option<i64>, secure: bool) -> String {
    let mut cookie = format!("{name}={value}; Path=/review; HttpOnly; SameSite=Strict");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    cookie
}

/// `now` plus `seconds`, RFC 3339 in UTC (comparable as text with `store::now`).
pub(crate) fn later(seconds: i64) -> String {
    let at = time::OffsetDateTime::now_utc() + time::Duration::seconds(seconds);
    let at = at.replace_nanosecond(0).unwrap_or(at);
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| store::now())
}

/// A logged-in clerk: the request carried the cookie of a live session. Without one, the
/// request is answered with a redirect to the login page (which comes back here afterwards).
pub(crate) struct Clerk {
    pub name: String,
    pub csrf: String,
    pub token_sha256: String,
}

impl Clerk {
    /// Whether a form carried this session's CSRF token (refuse it with [`forbidden`] if not).
    pub(crate) fn csrf_ok(&self, sent: &str) -> bool {
        same_secret(sent, &self.csrf)
    }
}

/// The plain 403 page for a form without the right token.
pub(crate) fn forbidden(lang: Lang) -> Response {
    let text = lang.tr(
        "表单已过期或来源不明，操作未执行。请返回页面刷新后重试。",
        "The form expired or did not come from this site; nothing was done. Go back, reload \
         the page and try again.",
    );
    (
        StatusCode::FORBIDDEN,
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/plain; charset=utf-8",
            ),
            (axum::http::header::CACHE_CONTROL, "no-store"),
        ],
        format!("403 {text}\n"),
    )
        .into_response()
}

impl FromRequestParts<AppState> for Clerk {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let back = super::original_path_and_query(parts);
        let Some(token) = cookie(&parts.headers, SESSION_COOKIE).filter(|t| !t.is_empty()) else {
            return Err(redirect_to_login(&back));
        };
        let token_sha256 = files::sha256_hex(token.as_bytes());
        let lookup = token_sha256.clone();
        let found = state
            .storage(move |s, _| s.session(&lookup, &store::now()))
            .await;
        match found {
            Ok(Some((name, csrf))) => Ok(Clerk {
                name,
                csrf,
                token_sha256,
            }),
            Ok(None) => Err(redirect_to_login(&back)),
            Err(e) => {
                tracing::error!("session lookup failed: {e}");
                Err(super::server_error())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(verify_password("correct horse battery", &hash));
        assert!(!verify_password("correct horse batterY", &hash));
        assert!(!verify_password("correct horse battery", "not a hash"));
        // Salted: the same password hashes differently.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        assert!(!same_secret("", ""));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, "a=1; county_session=tok; b=2".parse().unwrap());
        headers.append(COOKIE, "county_lang=en".parse().unwrap());
        assert_eq!(cookie(&headers, SESSION_COOKIE).as_deref(), Some("tok"));
        assert_eq!(cookie(&headers, "county_lang").as_deref(), Some("en"));
        assert_eq!(cookie(&headers, "missing"), None);
    }
}
