//! What the API asks of the running sensor.

use otwatch_alerts::{Alert, SensorSeverity, Status};
use otwatch_store::DeviceEdits;
use serde::{Deserialize, Serialize};

/// A triage action on one alert (reference §2.1).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum AlertAction {
    Status { status: Status },
    Learn,
    Unlearn,
    Mute,
    Unmute,
    Comment { text: String },
    Severity { severity: SensorSeverity },
}

/// A device action that changes the sensor's view (inventory, baseline).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum DeviceAction {
    /// User-set attributes; `authorized`, `programming_device` and `scanner`
    /// also change the baseline.
    Edit {
        edits: DeviceEdits,
    },
    /// Merge `from` into the device.
    Merge {
        from: Vec<u64>,
    },
    Delete,
}

/// Why the sensor refused or failed a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("{what} {id} not found")]
    NotFound { what: String, id: String },
    /// The request is valid but not allowed in the current state (mute of an
    /// internet endpoint, unlearn of an alert that was not learned...).
    #[error("{0}")]
    Refused(String),
    /// A document (rules, settings, TI package) is invalid: `field` says where.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// The sensor is stopping or did not answer in time.
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    Internal(String),
}

/// Learning mode as the API shows it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LearningStatus {
    pub learning: bool,
    /// Learning ends by itself when the rate of new entries decays.
    pub auto_end: bool,
    /// Capture time learning started, RFC 3339.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub since: Option<String>,
    /// Baseline counts (devices, channels, ...).
    pub stats: serde_json::Value,
}

/// The running sensor, as the API sees it. Each call is answered by the
/// packet thread (between packets), so it sees and changes the live state.
/// Implementations must answer within a few seconds or return `Unavailable`.
pub trait Control: Send + Sync {
    /// Applies a triage action; returns the alert after it (also stored).
    fn alert_action(
        &self,
        id: &str,
        action: AlertAction,
        actor: &str,
    ) -> Result<Alert, ControlError>;
    /// Applies a device action; returns the device id concerned.
    fn device_action(
        &self,
        id: u64,
        action: DeviceAction,
        actor: &str,
    ) -> Result<u64, ControlError>;

    fn learning(&self) -> Result<LearningStatus, ControlError>;
    fn set_learning(&self, on: bool, actor: &str) -> Result<LearningStatus, ControlError>;

    /// Engines, alert types (enabled, thresholds) as JSON.
    fn alert_settings(&self) -> Result<serde_json::Value, ControlError>;
    /// Applies overrides in the `--alert-settings` TOML schema, given as JSON
    /// (`{"engines": {...}, "types": {"<id>": {"enabled": .., "thresholds": {..}}}}`).
    fn set_alert_settings(
        &self,
        overrides: &serde_json::Value,
        actor: &str,
    ) -> Result<serde_json::Value, ControlError>;

    /// Exclusion rules (docs/alerts.md schema, as JSON array).
    fn exclusions(&self) -> Result<serde_json::Value, ControlError>;
    fn set_exclusions(&self, rules: &serde_json::Value, actor: &str) -> Result<(), ControlError>;
    /// Custom rules (docs/custom-rules.md schema, as JSON array).
    fn custom_rules(&self) -> Result<serde_json::Value, ControlError>;
    fn set_custom_rules(&self, rules: &serde_json::Value, actor: &str) -> Result<(), ControlError>;

    /// Threat-intelligence packages: names and counts.
    fn ti_packages(&self) -> Result<serde_json::Value, ControlError>;
    /// Adds or replaces a package (docs/threat-intel.md format, as text).
    fn put_ti_package(&self, name: &str, text: &str, actor: &str) -> Result<(), ControlError>;
    fn delete_ti_package(&self, name: &str, actor: &str) -> Result<(), ControlError>;

    /// OT subnets (learned and set), and "resolve all internet traffic as internal".
    fn subnets(&self) -> Result<serde_json::Value, ControlError>;
    fn set_subnets(&self, doc: &serde_json::Value, actor: &str) -> Result<(), ControlError>;

    /// The baseline document (`Baseline::to_json`).
    fn baseline(&self) -> Result<Vec<u8>, ControlError>;

    /// Device-to-device connections (for `/api/connections` and
    /// `/api/v1/devices/connections`), as JSON array.
    fn connections(&self) -> Result<serde_json::Value, ControlError>;

    /// Queues a capture file (already saved by the API) for replay with its
    /// own timestamps; returns a replay id.
    fn replay(&self, path: std::path::PathBuf, actor: &str) -> Result<String, ControlError>;

    /// Capture statistics and sensor state (JSON object).
    fn status(&self) -> Result<serde_json::Value, ControlError>;
    /// The sensor's metrics in Prometheus text format (packets, drops, flows,
    /// messages per protocol, alerts per engine, queue depths, store latency).
    fn metrics(&self) -> String;
}

#[allow(dead_code)]
fn _object_safe(_: &dyn Control) {}

#[allow(dead_code)]
fn _status_used(_: Status) {}
