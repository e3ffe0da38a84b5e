//! Health, status and metrics.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use otwatch_store::Role;

use crate::layer::Runtime;
use crate::routes::RouteSpec;
use crate::{ApiError, ApiState, control_call};

pub const ROUTES: &[RouteSpec] = &[
    RouteSpec::new("GET", "/api/health", None, "Liveness check"),
    RouteSpec::new("GET", "/api/status", Some(Role::Readonly), "Show capture statistics and sensor state"),
    RouteSpec::new("GET", "/metrics", Some(Role::Readonly), "Prometheus metrics"),
];

pub fn router() -> Router<ApiState> {
    Router::new()
        .route("/api/health", get(health))
        .route("/api/status", get(status))
        .route("/metrics", get(metrics))
}

async fn health() -> axum::Json<serde_json::Value> {
    axum::Json(serde_json::json!({ "status": "ok", "version": env!("CARGO_PKG_VERSION") }))
}

async fn status(State(api): State<ApiState>) -> Result<axum::Json<serde_json::Value>, ApiError> {
    control_call(&api, |c| c.status()).await.map(axum::Json)
}

async fn metrics(
    State(api): State<ApiState>,
    Extension(rt): Extension<Arc<Runtime>>,
) -> Result<Response, ApiError> {
    let mut text = control_call(&api, |c| Ok(c.metrics())).await?;
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    rt.metrics.render(&mut text);
    let mut resp = text.into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    Ok(resp)
}
