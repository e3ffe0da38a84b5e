//! Sensor settings passed through [`Control`](crate::Control): learning mode,
//! alert engines and types, exclusion rules, custom rules, threat
//! intelligence, OT subnets, and capture replay.
//!
//! Roles: reading any of these is open to every role (they hold no secrets);
//! exclusion and custom rules may be changed by analysts (reference §9.1,
//! the S23 permission tables, which S8 contradicts by asking for Admin — see
//! `docs/api.md`); everything else that changes the sensor needs admin.

use std::io::Write;
use std::path::PathBuf;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{FromRequest, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use http_body_util::BodyExt;
use otwatch_store::Role;
use serde::Deserialize;
use serde_json::Value;

use crate::extract::{BodyLimit, Json, Path, bytes_rejection};
use crate::layer::AuditNote;
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, Caller, control_call};

const RO: Option<Role> = Some(Role::Readonly);
const ANALYST: Option<Role> = Some(Role::Analyst);
const ADMIN: Option<Role> = Some(Role::Admin);

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new("GET", "/api/learning", RO, "Show learning mode"),
    RouteSpec::new(
        "PUT",
        "/api/learning",
        ADMIN,
        "Turn learning mode on or off",
    ),
    RouteSpec::new(
        "GET",
        "/api/settings/alerts",
        RO,
        "Show alert engines and types",
    ),
    RouteSpec::new(
        "PUT",
        "/api/settings/alerts",
        ADMIN,
        "Change alert engines, types and thresholds",
    ),
    RouteSpec::new("GET", "/api/exclusions", RO, "List alert exclusion rules"),
    RouteSpec::new(
        "PUT",
        "/api/exclusions",
        ANALYST,
        "Replace the alert exclusion rules",
    ),
    RouteSpec::new("GET", "/api/custom-rules", RO, "List custom alert rules"),
    RouteSpec::new(
        "PUT",
        "/api/custom-rules",
        ANALYST,
        "Replace the custom alert rules",
    ),
    RouteSpec::new("GET", "/api/ti", RO, "List threat-intelligence packages"),
    RouteSpec::new(
        "PUT",
        "/api/ti/{name}",
        ADMIN,
        "Add or replace a threat-intelligence package",
    ),
    RouteSpec::new(
        "DELETE",
        "/api/ti/{name}",
        ADMIN,
        "Delete a threat-intelligence package",
    ),
    RouteSpec::new("GET", "/api/subnets", RO, "Show OT subnets"),
    RouteSpec::new("PUT", "/api/subnets", ADMIN, "Set OT subnets"),
    RouteSpec::new(
        "POST",
        "/api/replay",
        ADMIN,
        "Upload a capture file and replay it",
    ),
];

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/learning", get(learning).put(set_learning))
        .route(
            "/api/settings/alerts",
            get(alert_settings).put(set_alert_settings),
        )
        .route("/api/exclusions", get(exclusions).put(set_exclusions))
        .route("/api/custom-rules", get(custom_rules).put(set_custom_rules))
        .route("/api/ti", get(ti))
        .route("/api/ti/{name}", put(put_ti).delete(delete_ti))
        .route("/api/subnets", get(subnets).put(set_subnets))
        .route("/api/replay", post(replay))
}

type JsonResult = Result<axum::Json<Value>, ApiError>;

fn audited(resp: impl IntoResponse, note: AuditNote) -> Response {
    let mut resp = resp.into_response();
    resp.extensions_mut().insert(note);
    resp
}

async fn learning(State(api): State<ApiState>) -> Result<Response, ApiError> {
    let l = control_call(&api, |c| c.learning()).await?;
    Ok(axum::Json(l).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LearningBody {
    learning: bool,
}

async fn set_learning(
    State(api): State<ApiState>,
    caller: Caller,
    Json(body): Json<LearningBody>,
) -> Result<Response, ApiError> {
    let on = body.learning;
    let l = control_call(&api, move |c| c.set_learning(on, &caller.actor)).await?;
    let state = if on { "on" } else { "off" };
    Ok(audited(
        axum::Json(l),
        AuditNote::new("learning.set", state),
    ))
}

async fn alert_settings(State(api): State<ApiState>) -> JsonResult {
    control_call(&api, |c| c.alert_settings())
        .await
        .map(axum::Json)
}

fn require_object(field: &str, v: &Value) -> Result<(), ApiError> {
    if v.is_object() {
        Ok(())
    } else {
        Err(ApiError::bad(field, "a JSON object is required"))
    }
}

fn require_array(field: &str, v: &Value) -> Result<(), ApiError> {
    if v.is_array() {
        Ok(())
    } else {
        Err(ApiError::bad(field, "a JSON array is required"))
    }
}

async fn set_alert_settings(
    State(api): State<ApiState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    require_object("body", &body)?;
    let v = control_call(&api, move |c| c.set_alert_settings(&body, &caller.actor)).await?;
    Ok(audited(
        axum::Json(v),
        AuditNote::new("settings.alerts", "alert settings"),
    ))
}

async fn exclusions(State(api): State<ApiState>) -> JsonResult {
    control_call(&api, |c| c.exclusions()).await.map(axum::Json)
}

async fn set_exclusions(
    State(api): State<ApiState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    require_array("body", &body)?;
    let n = body.as_array().map_or(0, Vec::len);
    control_call(&api, move |c| c.set_exclusions(&body, &caller.actor)).await?;
    let v = control_call(&api, |c| c.exclusions()).await?;
    Ok(audited(
        axum::Json(v),
        AuditNote::new("exclusions.set", "exclusions").detail(format!("{n} rules")),
    ))
}

async fn custom_rules(State(api): State<ApiState>) -> JsonResult {
    control_call(&api, |c| c.custom_rules())
        .await
        .map(axum::Json)
}

async fn set_custom_rules(
    State(api): State<ApiState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    require_array("body", &body)?;
    let n = body.as_array().map_or(0, Vec::len);
    control_call(&api, move |c| c.set_custom_rules(&body, &caller.actor)).await?;
    let v = control_call(&api, |c| c.custom_rules()).await?;
    Ok(audited(
        axum::Json(v),
        AuditNote::new("custom_rules.set", "custom rules").detail(format!("{n} rules")),
    ))
}

async fn ti(State(api): State<ApiState>) -> JsonResult {
    control_call(&api, |c| c.ti_packages())
        .await
        .map(axum::Json)
}

/// A threat-intelligence package name: 1 to 64 letters, digits, `.`, `_`, `-`.
fn check_package_name(name: &str) -> Result<(), ApiError> {
    crate::users::check_name("name", name)
}

async fn put_ti(
    State(api): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
    req: Request,
) -> Result<Response, ApiError> {
    check_package_name(&name)?;
    let limit = req.extensions().get::<BodyLimit>().map_or(0, |l| l.0);
    let bytes = Bytes::from_request(req, &())
        .await
        .map_err(|r| bytes_rejection(r, limit))?;
    let text = String::from_utf8(bytes.to_vec())
        .map_err(|e| ApiError::bad("body", format!("the package is not UTF-8 text: {e}")))?;
    if text.trim().is_empty() {
        return Err(ApiError::bad("body", "the package is empty"));
    }
    let n = name.clone();
    control_call(&api, move |c| c.put_ti_package(&n, &text, &caller.actor)).await?;
    Ok(audited(
        StatusCode::NO_CONTENT,
        AuditNote::new("ti.put", name),
    ))
}

async fn delete_ti(
    State(api): State<ApiState>,
    caller: Caller,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    check_package_name(&name)?;
    let n = name.clone();
    control_call(&api, move |c| c.delete_ti_package(&n, &caller.actor)).await?;
    Ok(audited(
        StatusCode::NO_CONTENT,
        AuditNote::new("ti.delete", name),
    ))
}

async fn subnets(State(api): State<ApiState>) -> JsonResult {
    control_call(&api, |c| c.subnets()).await.map(axum::Json)
}

async fn set_subnets(
    State(api): State<ApiState>,
    caller: Caller,
    Json(body): Json<Value>,
) -> Result<Response, ApiError> {
    require_object("body", &body)?;
    control_call(&api, move |c| c.set_subnets(&body, &caller.actor)).await?;
    let v = control_call(&api, |c| c.subnets()).await?;
    Ok(audited(
        axum::Json(v),
        AuditNote::new("subnets.set", "subnets"),
    ))
}

/// pcap (both byte orders, micro- and nanosecond) and pcapng magic numbers.
const CAPTURE_MAGICS: [[u8; 4]; 5] = [
    [0xd4, 0xc3, 0xb2, 0xa1],
    [0xa1, 0xb2, 0xc3, 0xd4],
    [0x4d, 0x3c, 0xb2, 0xa1],
    [0xa1, 0xb2, 0x3c, 0x4d],
    [0x0a, 0x0d, 0x0d, 0x0a],
];

/// Removes the upload unless it was handed over.
struct Upload {
    path: PathBuf,
    keep: bool,
}

impl Drop for Upload {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

fn upload_path() -> PathBuf {
    let mut b = [0u8; 12];
    getrandom::fill(&mut b).expect("the operating system's random source is unavailable");
    let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
    std::env::temp_dir().join(format!("otwatch-upload-{name}.cap"))
}

/// Streams the body to a file under `config.max_upload` bytes, checks that
/// it is a pcap or pcapng capture, and queues it for replay.
async fn replay(
    State(api): State<ApiState>,
    caller: Caller,
    req: Request,
) -> Result<Response, ApiError> {
    let cap = api.config.max_upload;
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > cap as u64) {
        return Err(ApiError::TooLarge { limit: cap });
    }
    let path = upload_path();
    let mut upload = Upload {
        path: path.clone(),
        keep: false,
    };
    // The file is written on the blocking pool; chunks reach it through a
    // small bounded channel, so a slow disk slows the upload down instead of
    // filling memory or stalling the async threads.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(8);
    let p = path.clone();
    let writer = tokio::task::spawn_blocking(move || -> Result<(), ApiError> {
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e: std::io::Error| ApiError::Internal(format!("writing {}: {e}", p.display()));
        let file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&p)
            .map_err(io)?;
        let mut w = std::io::BufWriter::with_capacity(1 << 16, file);
        while let Some(chunk) = rx.blocking_recv() {
            w.write_all(&chunk).map_err(io)?;
        }
        w.flush().map_err(io)
    });
    let streamed = async {
        let mut body = req.into_body();
        let mut total = 0usize;
        let mut head = Vec::with_capacity(4);
        while let Some(frame) = body.frame().await {
            let frame =
                frame.map_err(|e| ApiError::bad("body", format!("upload interrupted: {e}")))?;
            let Ok(chunk) = frame.into_data() else {
                continue;
            };
            total = total.saturating_add(chunk.len());
            if total > cap {
                return Err(ApiError::TooLarge { limit: cap });
            }
            if head.len() < 4 {
                let need = 4 - head.len();
                head.extend_from_slice(&chunk[..need.min(chunk.len())]);
            }
            if tx.send(chunk).await.is_err() {
                // The writer stopped: its error says why.
                break;
            }
        }
        Ok((total, head))
    }
    .await;
    drop(tx);
    // Wait for the writer in every case, so that the file is complete (or
    // closed) before it is handed over or removed.
    let written = writer
        .await
        .map_err(|e| ApiError::Internal(format!("upload writer failed: {e}")))?;
    let (total, head) = streamed?;
    written?;
    if total == 0 {
        return Err(ApiError::bad("body", "the upload is empty"));
    }
    if !CAPTURE_MAGICS.iter().any(|m| head.as_slice() == m) {
        return Err(ApiError::bad("body", "not a pcap or pcapng capture file"));
    }
    let p = path.clone();
    let actor = caller.actor.clone();
    let id = control_call(&api, move |c| c.replay(p, &actor)).await?;
    upload.keep = true;
    Ok(audited(
        (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({ "replay": id, "bytes": total })),
        ),
        AuditNote::new("replay.start", &id).detail(format!("{total} bytes")),
    ))
}
