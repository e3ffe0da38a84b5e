//! Authentication: passwords (argon2), login sessions (cookie), API tokens
//! (`Authorization: <token>` as in the reference §6.1, or `Bearer <token>`),
//! and the login rate limit.
//!
//! Secrets are never stored: sessions and tokens are kept as the SHA-256 of
//! the secret (hex), passwords as argon2id PHC strings.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use argon2::password_hash::phc::PasswordHash;
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use otwatch_store::{Role, Session, User};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::extract::{ClientIp, Json};
use crate::layer::{AuditNote, Runtime};
use crate::routes::RouteSpec;
use crate::{ApiConfig, ApiError, ApiState, Caller, blocking, now};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "otwatch_session";
/// API tokens start with this.
pub const TOKEN_PREFIX: &str = "otw_";
/// `last_used` of a token is written at most this often.
const TOUCH_EVERY_SECS: i64 = 60;

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new(
        "POST",
        "/api/login",
        None,
        "Log in (sets the session cookie)",
    ),
    RouteSpec::new("POST", "/api/logout", None, "Log out (ends the session)"),
    RouteSpec::new(
        "GET",
        "/api/me",
        Some(Role::Readonly),
        "Show the caller's name and role",
    ),
];

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/login", post(login))
        .route("/api/logout", post(logout))
        .route("/api/me", get(me))
}

/// A password could not be hashed.
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashError(String);

/// Hashes a password into an argon2id PHC string (random salt).
pub fn hash_password(password: &str) -> Result<String, HashError> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| HashError(e.to_string()))
}

/// Whether `password` matches the PHC string `hash` (false for a malformed hash).
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// A new API token: the secret to show once (`otw_` + 43 base64url
/// characters of 32 random bytes) and the SHA-256 hex to store.
pub fn new_token() -> (String, String) {
    let secret = format!("{TOKEN_PREFIX}{}", base64url(&random32()));
    let hash = sha256_hex(&secret);
    (secret, hash)
}

/// SHA-256 of `s`, lowercase hex (how session and token secrets are stored).
pub fn sha256_hex(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(HEX[(b >> 4) as usize]));
        out.push(char::from(HEX[(b & 15) as usize]));
    }
    out
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn random32() -> [u8; 32] {
    let mut b = [0u8; 32];
    // The OS random source failing is not recoverable for a security service.
    getrandom::fill(&mut b).expect("the operating system's random source is unavailable");
    b
}

/// Unpadded base64url.
fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = (u32::from(chunk[0]) << 16)
            | (u32::from(*chunk.get(1).unwrap_or(&0)) << 8)
            | u32::from(*chunk.get(2).unwrap_or(&0));
        let chars = chunk.len() + 1;
        for i in 0..chars {
            out.push(char::from(A[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// The credentials of a request: the `Authorization` header (a token, bare
/// or after `Bearer`), else the session cookie. `Ok(None)` when there are
/// none or they are not valid.
pub(crate) async fn authenticate(
    api: &ApiState,
    headers: &HeaderMap,
) -> Result<Option<Caller>, ApiError> {
    if let Some(v) = headers.get(header::AUTHORIZATION) {
        let Ok(v) = v.to_str() else { return Ok(None) };
        let v = v.trim();
        let token = match v.split_once(' ') {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => rest.trim(),
            _ => v,
        };
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = sha256_hex(token);
        let store = api.store.clone();
        return blocking(move || {
            let Some(t) = store.token_by_hash(&hash)? else {
                return Ok(None);
            };
            let ts = now();
            let stale = t
                .last_used
                .is_none_or(|u| ts.secs().saturating_sub(u.secs()) >= TOUCH_EVERY_SECS);
            if stale && let Err(e) = store.touch_token(t.id, ts) {
                eprintln!("otwatch api: token {} last_used not updated: {e}", t.id);
            }
            Ok(Some(Caller {
                actor: format!("token:{}", t.name),
                role: t.role,
            }))
        })
        .await;
    }
    let Some(secret) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    if secret.is_empty() || secret.len() > 256 {
        return Ok(None);
    }
    let hash = sha256_hex(secret);
    let store = api.store.clone();
    blocking(move || {
        let Some(s) = store.session(&hash)? else {
            return Ok(None);
        };
        if s.expires <= now() {
            store.delete_session(&hash)?;
            return Ok(None);
        }
        // The user's current role counts (a demoted or deleted user's
        // sessions lose their rights at once).
        Ok(store.user(&s.user)?.map(|u| Caller {
            actor: u.name,
            role: u.role,
        }))
    })
    .await
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.trim_matches('"'))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginBody {
    name: String,
    password: String,
}

#[derive(Serialize)]
struct LoginAnswer {
    name: String,
    role: Role,
    /// Session expiry, RFC 3339.
    expires: String,
}

/// A hash of a random password, verified against when the user does not
/// exist so that unknown and known users take about the same time.
pub(crate) fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        hash_password(&base64url(&random32())).unwrap_or_else(|_| String::from("$argon2id$"))
    })
}

async fn login(
    State(api): State<ApiState>,
    Extension(rt): Extension<Arc<Runtime>>,
    ClientIp(ip): ClientIp,
    Json(body): Json<LoginBody>,
) -> Result<Response, ApiError> {
    if body.name.is_empty() || body.name.len() > 128 {
        return Err(ApiError::bad("name", "must be 1 to 128 characters"));
    }
    if body.password.len() > 1024 {
        return Err(ApiError::bad("password", "longer than 1024 bytes"));
    }
    let key = (body.name.clone(), ip);
    if let Some(wait) = rt.logins.blocked(&key) {
        return Err(ApiError::TooMany { retry_after: wait });
    }
    let permit = rt
        .hashing
        .acquire()
        .await
        .map_err(|_| ApiError::Unavailable("the API is shutting down".into()))?;
    let store = api.store.clone();
    let name = body.name.clone();
    let user: Option<User> = blocking(move || {
        let u = store.user(&name)?;
        let hash = u
            .as_ref()
            .map_or(dummy_hash(), |u| u.password_hash.as_str());
        let ok = verify_password(&body.password, hash);
        Ok(u.filter(|_| ok))
    })
    .await?;
    drop(permit);
    let Some(user) = user else {
        rt.logins.failed(key);
        return Err(ApiError::Unauthorized);
    };
    rt.logins.succeeded(&key);
    let secret = base64url(&random32());
    let created = now();
    let ttl = api.config.session_ttl_secs;
    let expires = created.add_nanos(
        i64::try_from(ttl)
            .unwrap_or(i64::MAX / 2)
            .saturating_mul(1_000_000_000),
    );
    let session = Session {
        secret_hash: sha256_hex(&secret),
        user: user.name.clone(),
        role: user.role,
        created,
        expires,
    };
    let store = api.store.clone();
    let uname = user.name.clone();
    blocking(move || {
        store.add_session(&session)?;
        store.touch_user_login(&uname, created)?;
        Ok(())
    })
    .await?;
    let cookie = session_cookie(&api.config, &secret, ttl);
    let mut resp = Json(LoginAnswer {
        name: user.name.clone(),
        role: user.role,
        expires: expires.to_rfc3339(),
    })
    .into_response();
    resp.headers_mut().insert(header::SET_COOKIE, cookie);
    resp.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let mut note = AuditNote::new("session.login", &user.name);
    note.actor = Some(user.name);
    resp.extensions_mut().insert(note);
    Ok(resp)
}

fn session_cookie(cfg: &ApiConfig, secret: &str, max_age: u64) -> HeaderValue {
    let secure = if cfg.secure_cookies { "; Secure" } else { "" };
    let v = format!(
        "{SESSION_COOKIE}={secret}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Strict{secure}"
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

async fn logout(State(api): State<ApiState>, headers: HeaderMap) -> Result<Response, ApiError> {
    let mut actor = None;
    if let Some(secret) = cookie(&headers, SESSION_COOKIE).filter(|s| s.len() <= 256) {
        let hash = sha256_hex(secret);
        let store = api.store.clone();
        actor = blocking(move || {
            let s = store.session(&hash)?;
            if s.is_some() {
                store.delete_session(&hash)?;
            }
            Ok(s.map(|s| s.user))
        })
        .await?;
    }
    let mut resp = StatusCode::NO_CONTENT.into_response();
    resp.headers_mut()
        .insert(header::SET_COOKIE, session_cookie(&api.config, "", 0));
    if let Some(actor) = actor {
        let mut note = AuditNote::new("session.logout", &actor);
        note.actor = Some(actor);
        resp.extensions_mut().insert(note);
    }
    Ok(resp)
}

async fn me(caller: Caller) -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "name": caller.actor, "role": caller.role }))
}

/// Login failures per (user name, client address), bounded: when full, the
/// oldest entry is dropped.
pub struct LoginLimiter {
    max_failures: u32,
    window: Duration,
    table: Mutex<HashMap<LoginKey, (u32, Instant)>>,
}

/// A user name and the client address it was tried from.
pub type LoginKey = (String, Option<IpAddr>);

/// Most (user, address) pairs tracked.
const LIMITER_CAPACITY: usize = 10_000;

impl LoginLimiter {
    pub fn new(cfg: &ApiConfig) -> LoginLimiter {
        LoginLimiter {
            max_failures: cfg.login_max_failures.max(1),
            window: Duration::from_secs(cfg.login_window_secs.max(1)),
            table: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<LoginKey, (u32, Instant)>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Seconds to wait when `key` has used up its failures in the window.
    pub fn blocked(&self, key: &LoginKey) -> Option<u64> {
        let t = self.lock();
        let (n, first) = t.get(key)?;
        let elapsed = first.elapsed();
        if *n >= self.max_failures && elapsed < self.window {
            Some((self.window - elapsed).as_secs().max(1))
        } else {
            None
        }
    }

    pub fn failed(&self, key: LoginKey) {
        let mut t = self.lock();
        if t.len() >= LIMITER_CAPACITY && !t.contains_key(&key) {
            let window = self.window;
            t.retain(|_, (_, first)| first.elapsed() < window);
            if t.len() >= LIMITER_CAPACITY
                && let Some(oldest) = t
                    .iter()
                    .min_by_key(|(_, (_, f))| *f)
                    .map(|(k, _)| k.clone())
            {
                t.remove(&oldest);
            }
        }
        let e = t.entry(key).or_insert((0, Instant::now()));
        if e.1.elapsed() >= self.window {
            *e = (0, Instant::now());
        }
        e.0 += 1;
    }

    pub fn succeeded(&self, key: &LoginKey) {
        self.lock().remove(key);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_documented_form() {
        let (secret, hash) = new_token();
        assert!(secret.starts_with("otw_"));
        assert_eq!(secret.len(), 4 + 43);
        assert!(
            secret[4..]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(hash, sha256_hex(&secret));
        assert_eq!(hash.len(), 64);
        assert_ne!(new_token().0, secret);
    }

    #[test]
    fn base64url_and_sha256_match_known_values() {
        assert_eq!(base64url(b"\xfb\xff"), "-_8");
        assert_eq!(base64url(b"foobar"), "Zm9vYmFy");
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn passwords_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; otwatch_session=abc"),
        );
        assert_eq!(cookie(&h, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&h, "b"), None);
    }

    #[test]
    fn limiter_blocks_after_the_failures_and_stays_bounded() {
        let cfg = ApiConfig {
            login_max_failures: 2,
            ..ApiConfig::default()
        };
        let l = LoginLimiter::new(&cfg);
        let k = ("bob".to_string(), None);
        l.failed(k.clone());
        assert!(l.blocked(&k).is_none());
        l.failed(k.clone());
        assert!(l.blocked(&k).unwrap() > 0);
        l.succeeded(&k);
        assert!(l.blocked(&k).is_none());
        for i in 0..LIMITER_CAPACITY + 10 {
            l.failed((format!("u{i}"), None));
        }
        assert!(l.len() <= LIMITER_CAPACITY);
    }
}
