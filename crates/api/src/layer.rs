//! The authorization layer: every request is looked up in the route table by
//! method and matched path, authenticated when the route needs a role,
//! refused when the role is too low, audited when it changed something, and
//! counted for `/metrics`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Instant;

use axum::body::Body;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use otwatch_store::AuditRecord;

use crate::auth::{self, LoginLimiter};
use crate::extract::BodyLimit;
use crate::metrics::ApiMetrics;
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Caller};

/// What the layer and a few handlers share for the life of the router
/// (reachable from handlers as `Extension<Arc<Runtime>>`).
pub struct Runtime {
    /// Routes per path pattern.
    paths: HashMap<&'static str, Vec<RouteSpec>>,
    pub metrics: ApiMetrics,
    pub logins: LoginLimiter,
    /// Password verifications at once (each argon2 run takes ~19 MiB and a
    /// core for tens of milliseconds): bounds memory and CPU under a flood
    /// of logins for many user names.
    pub hashing: tokio::sync::Semaphore,
}

/// Concurrent password verifications.
const HASHING_PERMITS: usize = 2;

impl Runtime {
    pub(crate) fn new(routes: &[RouteSpec], cfg: &crate::ApiConfig) -> Runtime {
        let mut paths: HashMap<&'static str, Vec<RouteSpec>> = HashMap::new();
        let mut seen = HashSet::new();
        for r in routes {
            if seen.insert((r.method, r.path)) {
                paths.entry(r.path).or_default().push(*r);
            }
        }
        Runtime {
            paths,
            metrics: ApiMetrics::default(),
            logins: LoginLimiter::new(cfg),
            hashing: tokio::sync::Semaphore::new(HASHING_PERMITS),
        }
    }

    /// The route of `method` + `path` (HEAD is looked up as GET).
    pub fn lookup(&self, method: &Method, path: &str) -> Option<&RouteSpec> {
        let m = if method == Method::HEAD {
            "GET"
        } else {
            method.as_str()
        };
        self.paths.get(path)?.iter().find(|r| r.method == m)
    }
}

/// A handler's description of what it changed, for the audit trail. Put it in
/// the response extensions; without one the layer records
/// `<METHOD> <route>` on the request path.
#[derive(Clone, Debug, Default)]
pub struct AuditNote {
    /// `user.add`, `token.create`, ...
    pub action: String,
    pub target: String,
    pub detail: String,
    /// Actor on public routes (login); otherwise the caller.
    pub actor: Option<String>,
}

impl AuditNote {
    pub fn new(action: impl Into<String>, target: impl Into<String>) -> AuditNote {
        AuditNote {
            action: action.into(),
            target: target.into(),
            ..AuditNote::default()
        }
    }

    pub fn detail(mut self, detail: impl Into<String>) -> AuditNote {
        self.detail = detail.into();
        self
    }
}

#[derive(Clone)]
pub(crate) struct LayerState {
    pub api: ApiState,
    pub rt: Arc<Runtime>,
}

pub(crate) async fn authorize(
    State(st): State<LayerState>,
    mut req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let resp = authorize_inner(&st, &mut req, next).await;
    let mut resp = json_errors(resp).await;
    let h = resp.headers_mut();
    h.entry(header::X_CONTENT_TYPE_OPTIONS)
        .or_insert(header::HeaderValue::from_static("nosniff"));
    h.entry(header::CACHE_CONTROL)
        .or_insert(header::HeaderValue::from_static("no-store"));
    st.rt
        .metrics
        .observe(resp.status().as_u16(), start.elapsed());
    resp
}

async fn authorize_inner(st: &LayerState, req: &mut Request, next: Next) -> Response {
    req.extensions_mut()
        .insert(BodyLimit(st.api.config.max_body));
    let method = req.method().clone();
    let Some(matched) = req.extensions().get::<MatchedPath>().cloned() else {
        // No route matched: the fallback answers 404.
        return next.run(std::mem::take(req)).await;
    };
    let Some(spec) = st.rt.lookup(&method, matched.as_str()).copied() else {
        return match st.rt.paths.get(matched.as_str()) {
            Some(methods) => {
                let mut allow: Vec<&str> = methods.iter().map(|r| r.method).collect();
                if allow.contains(&"GET") {
                    allow.push("HEAD");
                }
                ApiError::MethodNotAllowed {
                    method: method.to_string(),
                    path: matched.as_str().to_string(),
                    allow: allow.join(", "),
                }
                .into_response()
            }
            // Routed but not declared: refused, never served unchecked.
            None => ApiError::not_found("route", req.uri().path()).into_response(),
        };
    };
    let caller = match spec.min_role {
        None => None,
        Some(min) => {
            let caller = match auth::authenticate(&st.api, req.headers()).await {
                Ok(Some(c)) => c,
                Ok(None) => return ApiError::Unauthorized.into_response(),
                Err(e) => return e.into_response(),
            };
            if caller.role < min {
                return forbidden(&caller, &spec).into_response();
            }
            req.extensions_mut().insert(caller.clone());
            Some(caller)
        }
    };
    let path = req.uri().path().to_string();
    let mut resp = next.run(std::mem::take(req)).await;
    if method != Method::GET && method != Method::HEAD && resp.status().is_success() {
        let note = resp.extensions_mut().remove::<AuditNote>();
        record_audit(&st.api, caller.as_ref(), &spec, &path, note).await;
    }
    resp
}

fn forbidden(caller: &Caller, spec: &RouteSpec) -> ApiError {
    let mut summary = spec.summary.to_string();
    if let Some(first) = summary.get(0..1) {
        summary = first.to_lowercase() + &summary[1..];
    }
    ApiError::Forbidden {
        role: caller.role.as_str().to_string(),
        action: format!("{summary} ({} {})", spec.method, spec.path),
    }
}

async fn record_audit(
    api: &ApiState,
    caller: Option<&Caller>,
    spec: &RouteSpec,
    path: &str,
    note: Option<AuditNote>,
) {
    let note =
        note.unwrap_or_else(|| AuditNote::new(format!("{} {}", spec.method, spec.path), path));
    // A public route with nobody behind it (logout without a session)
    // changed nothing worth recording.
    let Some(actor) = caller.map(|c| c.actor.clone()).or(note.actor) else {
        return;
    };
    let rec = AuditRecord {
        id: 0,
        ts: crate::now(),
        actor,
        action: note.action,
        target: note.target,
        detail: note.detail,
    };
    let store = api.store.clone();
    let res = tokio::task::spawn_blocking(move || store.audit(&rec)).await;
    match res {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("otwatch api: audit record not stored: {e}"),
        Err(e) => eprintln!("otwatch api: audit task failed: {e}"),
    }
}

/// Largest non-JSON error body turned into a JSON message.
const MAX_TEXT_ERROR: usize = 4096;

/// Errors answered by axum or a handler in plain text (rejections of axum's
/// own extractors, 405s of the method router...) are rewritten into the API's
/// JSON error shape, so that a client never has to parse text.
async fn json_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(resp.headers()) {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = match axum::body::to_bytes(body, MAX_TEXT_ERROR).await {
        Ok(b) => String::from_utf8_lossy(&b).trim().to_string(),
        Err(_) => String::new(),
    };
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_string()
    } else {
        text
    };
    let code = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "timeout",
        409 => "conflict",
        413 => "too_large",
        415 => "unsupported_media_type",
        422 => "bad_request",
        429 => "too_many_requests",
        503 => "unavailable",
        _ if status.is_server_error() => "internal",
        _ => "error",
    };
    let mut err = serde_json::Map::new();
    err.insert("code".into(), code.into());
    if status.is_client_error() {
        let field = crate::extract::field_in_message(&message);
        err.insert("message".into(), message.into());
        err.insert("field".into(), field.into());
    } else {
        eprintln!("otwatch api: {status}: {message}");
        err.insert(
            "message".into(),
            "internal error; see the sensor log".into(),
        );
    }
    // 422 (axum's "data error") is a 400 in this API.
    let status = if status.as_u16() == 422 {
        axum::http::StatusCode::BAD_REQUEST
    } else {
        status
    };
    let body = serde_json::json!({ "error": err }).to_string();
    let mut resp = Response::from_parts(parts, Body::from(body));
    *resp.status_mut() = status;
    resp.headers_mut().remove(header::CONTENT_LENGTH);
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn is_json(h: &HeaderMap) -> bool {
    h.get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}
