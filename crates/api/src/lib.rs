//! The sensor's REST API (axum).
//!
//! `router(state)` builds every route: our own API under `/api/` (designed
//! for an alert UI), the endpoints that match Defender for IoT's sensor API
//! exactly (`/api/v1/...`, `/api/v2/...`, reference §6.2 and §6.5), the
//! OpenAPI document at `/api/openapi.json` and Prometheus `/metrics`.
//!
//! Reads go to the [`Store`](otwatch_store::Store); anything that changes the
//! running sensor's state (alert triage, device edits that feed the baseline,
//! learning mode, engine settings, rules, threat intelligence, replay) goes
//! through [`Control`], which the sensor implements by handing the request to
//! its packet thread. Every route is declared once in a route table with the
//! least role it needs (`docs/api-roles.md` is checked against it by a test).

// One line per module (the route table and the router list them again below).
pub mod alerts;
pub mod auth;
pub mod control;
pub mod defender;
pub mod devices;
pub mod error;
pub mod extract;
pub mod layer;
pub mod metrics;
pub mod openapi;
pub mod routes;
pub mod serve;
pub mod settings;
pub mod system;
pub mod timeline;
pub mod users;

pub use control::{AlertAction, Control, ControlError, DeviceAction};
pub use error::ApiError;
pub use extract::{Json, Path, Query};
pub use layer::AuditNote;
pub use routes::RouteSpec;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use otwatch_core::Timestamp;
use otwatch_store::{Role, Store};

/// Every module's routes (one line per module).
#[rustfmt::skip]
fn route_tables() -> Vec<&'static [RouteSpec]> {
    vec![
        system::ROUTES,
        auth::ROUTES,
        users::ROUTES,
        settings::ROUTES,
        openapi::ROUTES,
        alerts::ROUTES,
        devices::ROUTES,
        timeline::ROUTES,
        defender::ROUTES,
    ]
}

/// Every module's router (one line per module).
#[rustfmt::skip]
fn module_routers() -> Vec<Router<ApiState>> {
    vec![
        system::router(),
        auth::router(),
        users::router(),
        settings::router(),
        openapi::router(),
        alerts::router(),
        devices::router(),
        timeline::router(),
        defender::router(),
    ]
}

/// Every route of the API with the least role it needs.
pub fn route_table() -> Vec<RouteSpec> {
    route_tables().into_iter().flatten().copied().collect()
}

/// The whole API: every module's routes behind the authorization layer, the
/// body limit, and a JSON 404 for unknown paths.
pub fn router(state: ApiState) -> Router {
    assemble(state, &route_table(), module_routers())
}

/// [`router`] from explicit parts (tests check that a route missing from
/// the table is refused).
#[doc(hidden)]
pub fn assemble(state: ApiState, table: &[RouteSpec], routers: Vec<Router<ApiState>>) -> Router {
    // Made now so that the first login of an unknown user is not the one
    // that pays for it (which would tell that the user does not exist).
    auth::dummy_hash();
    let rt = Arc::new(layer::Runtime::new(table, &state.config));
    let mut app = Router::new();
    for r in routers {
        app = app.merge(r);
    }
    let layer_state = layer::LayerState {
        api: state.clone(),
        rt: rt.clone(),
    };
    app.fallback(fallback)
        .layer(middleware::from_fn_with_state(
            layer_state,
            layer::authorize,
        ))
        .layer(DefaultBodyLimit::max(state.config.max_body))
        .layer(axum::Extension(rt))
        .with_state(state)
}

async fn fallback(uri: axum::http::Uri) -> ApiError {
    ApiError::not_found("route", uri.path())
}

/// The page size to use: the requested one (default `default_page`), at
/// least 1, at most `max_page`.
pub fn page_limit(cfg: &ApiConfig, requested: Option<usize>) -> usize {
    requested
        .unwrap_or(cfg.default_page)
        .clamp(1, cfg.max_page.max(1))
}

/// The wall clock as a [`Timestamp`] (API records: audit, sessions, tokens).
pub fn now() -> Timestamp {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Timestamp::from_parts(
        i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        u64::from(d.subsec_nanos()),
        1_000_000_000,
    )
}

/// Runs blocking work (store or control calls) off the async threads.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}

/// Calls the store off the async threads, mapping its errors.
pub async fn store_call<T: Send + 'static>(
    api: &ApiState,
    f: impl FnOnce(&dyn Store) -> otwatch_store::Result<T> + Send + 'static,
) -> Result<T, ApiError> {
    let store = api.store.clone();
    blocking(move || f(store.as_ref()).map_err(ApiError::from)).await
}

/// Calls the sensor off the async threads, mapping its errors.
pub async fn control_call<T: Send + 'static>(
    api: &ApiState,
    f: impl FnOnce(&dyn Control) -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ApiError> {
    let control = api.control.clone();
    blocking(move || f(control.as_ref()).map_err(ApiError::from)).await
}

/// What every handler can reach.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<dyn Store>,
    pub control: Arc<dyn Control>,
    pub config: Arc<ApiConfig>,
}

/// API limits and behaviour (the `[api]` table of the sensor config).
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// Largest request body in bytes (capture uploads excepted).
    pub max_body: usize,
    /// Largest capture upload in bytes.
    pub max_upload: usize,
    /// Largest page size; larger requests are clamped.
    pub max_page: usize,
    pub default_page: usize,
    /// Session lifetime in seconds.
    pub session_ttl_secs: u64,
    /// Cookies get `Secure` (set when TLS is on).
    pub secure_cookies: bool,
    /// Failed logins per user and client address within `login_window_secs`
    /// before further attempts are refused (429).
    pub login_max_failures: u32,
    pub login_window_secs: u64,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            max_body: 1 << 20,
            max_upload: 1 << 30,
            max_page: 1000,
            default_page: 100,
            session_ttl_secs: 8 * 3600,
            secure_cookies: true,
            login_max_failures: 5,
            login_window_secs: 300,
        }
    }
}

/// The authenticated caller of a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// User name, or `token:<name>` for API tokens.
    pub actor: String,
    pub role: Role,
}
