//! otwatch alerts: the alert catalog (data embedded in the binary) and the
//! alert object.
//!
//! - [`Catalog`] holds every alert type otwatch can raise
//!   (`crates/alerts/catalog.toml`, parsed once by [`Catalog::builtin`]):
//!   title, engine, category, sensor and three-level severity, MITRE ATT&CK for
//!   ICS tactics and techniques, learnable/mutable/enabled, protocols,
//!   thresholds, aggregation key, description and remediation steps.
//!   [`Overrides`] are the admin's changes (engine and alert type switches,
//!   thresholds); [`Catalog::with_overrides`] applies them.
//! - [`Alert`] is one raised alert with the fields of the reference's alert
//!   record and a monotonically increasing revision.
//!
//! - [`Detection`] is what an engine (crate `otwatch-engines`) reports: one
//!   occurrence of an alert type with its endpoints, aggregation values and
//!   message, before the alert manager folds it into an [`Alert`].
//!
//! - [`AlertManager`] folds detections into alerts with the reference's
//!   lifecycle: dedupe while open, [`ExclusionRule`]s, learn and mute
//!   suppression by [`ScenarioKey`], triage actions, auto-close, retention
//!   and a bounded change log ([`TimelineEvent`]) for the event timeline.
//!
//! Nothing here runs per packet.
//!
//! # Aggregation keys
//!
//! Two detections of the same alert type with equal values for every field of
//! the type's `aggregation_key` belong to the same alert (while it is open);
//! they are appended to its violations. The field names:
//!
//! | field | meaning |
//! |---|---|
//! | `src` | the source device (inventory id, else IP, else MAC) |
//! | `dst` | the destination device (same identity rule) |
//! | `protocol` | the alert protocol (otwatch `proto` name) |
//! | `port` | the destination (server) port |
//! | `function_code` | the protocol's counted code (`code` in the event records): function, service, command, ASDU type, status |
//! | `object` | the object addressed: register range, CIP class/symbol, data block, BACnet object, network number, GOOSE/SV control block |
//! | `subnet` | the destination network (prefix given by the type's `subnet_prefix` threshold) |
//! | `value` | the new value observed: firmware version, User-Agent, queried name, LLDP description, IIN bits, operating mode |
//! | `indicator` | the threat-intelligence indicator that matched |
//! | `interface` | the sensor's capture interface |
//! | `rule` | the custom rule that matched (its name) |
//!
//! A type whose key lacks `function_code` gathers different codes in one
//! alert: *Unpermitted Usage of Modbus Function Code* uses `["src", "dst"]`,
//! so reads and writes of one client on one server are one alert.
//!
//! # Learn and mute
//!
//! `learnable` and `mutable` say which triage actions a type offers (the
//! reference: Learn for policy and anomaly alerts, Mute for anomaly,
//! protocol violation and operational alerts; malware alerts are
//! investigated and closed). Runtime rules that depend on the alert instance
//! are not catalog flags: muting is refused when either endpoint is an
//! internet address.

pub mod alert;
pub mod catalog;
pub mod detection;
pub mod exclusion;
pub mod manager;
pub mod timeline;

pub use alert::{Alert, Comment, DeviceRef, MAX_VIOLATIONS, Status, Violation, global_id};
pub use catalog::{
    AGGREGATION_FIELDS, AlertType, BUILTIN_TOML, Catalog, CatalogError, Engine, OverrideError,
    Overrides, SensorSeverity, Severity, Threshold, TypeOverride,
};
pub use detection::{Detection, Endpoint};
pub use exclusion::{
    Address, AddressDirection, Candidate, DeviceMatch, ExclusionError, ExclusionRule, LocalTime,
    TimeWindow, UtcOffset, parse_rules,
};
pub use manager::{
    AlertManager, MAX_COMMENTS, ManagerConfig, ManagerStats, Outcome, ResumeError, ScenarioKey,
    Suppression, TickReport, TimelineEvent, TimelineKind, TriageError, is_internet,
};
