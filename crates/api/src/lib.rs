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

pub mod alerts;
pub mod control;
pub mod defender;
pub mod devices;
pub mod error;
pub mod routes;
pub mod timeline;

pub use control::{AlertAction, Control, ControlError, DeviceAction};
pub use error::ApiError;

use std::sync::Arc;

use otwatch_store::{Role, Store};

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
