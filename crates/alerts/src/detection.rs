//! What an engine reports: one occurrence of an alert type, before the alert
//! manager folds it into an alert (dedupe by aggregation key, exclusion
//! rules, learned/muted suppression).
//!
//! Engines build a `Detection` only when something is found (never per
//! packet), so it may own strings.

use std::collections::BTreeMap;
use std::net::IpAddr;

use otwatch_core::{FlowId, MacAddr, Timestamp};

use crate::catalog::SensorSeverity;

/// One end of the detected activity.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Endpoint {
    pub ip: Option<IpAddr>,
    pub mac: Option<MacAddr>,
    pub port: Option<u16>,
}

impl Endpoint {
    pub fn ip(ip: IpAddr) -> Self {
        Endpoint {
            ip: Some(ip),
            ..Default::default()
        }
    }
}

/// One occurrence of an alert type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    /// Catalog id of the alert type (`crates/alerts/catalog.toml`).
    pub type_id: &'static str,
    /// Capture time of the packet that completed the detection.
    pub ts: Timestamp,
    /// otwatch `proto` name, or `tcp`/`udp`/`ip` for flow-level detections.
    pub protocol: Option<&'static str>,
    pub src: Endpoint,
    pub dst: Endpoint,
    /// Values of the type's aggregation-key fields beyond `src`, `dst` and
    /// `protocol` (`function_code`, `object`, `value`, `port`, ...), by field name.
    pub key: BTreeMap<&'static str, String>,
    /// The instance message with the concrete values ("function code 8
    /// (diagnostics) from 10.0.0.5 to 10.0.0.9, unit 1").
    pub message: String,
    /// Extra facts shown with the alert (register range, error detail...).
    pub info: BTreeMap<&'static str, String>,
    /// The flow the detection came from, for the alert's PCAP.
    pub flow: Option<FlowId>,
    /// A title that replaces the catalog's (custom rules named by the user).
    pub title: Option<String>,
    /// A severity that replaces the catalog's (custom rules).
    pub severity: Option<SensorSeverity>,
    /// Record a timeline event instead of raising an alert (custom rules
    /// whose action is `event`).
    pub event_only: bool,
}

impl Detection {
    /// A detection of `type_id` at `ts` between `src` and `dst`.
    pub fn new(type_id: &'static str, ts: Timestamp, src: Endpoint, dst: Endpoint) -> Self {
        Detection {
            type_id,
            ts,
            protocol: None,
            src,
            dst,
            key: BTreeMap::new(),
            message: String::new(),
            info: BTreeMap::new(),
            flow: None,
            title: None,
            severity: None,
            event_only: false,
        }
    }

    pub fn protocol(mut self, p: &'static str) -> Self {
        self.protocol = Some(p);
        self
    }

    pub fn message(mut self, m: impl Into<String>) -> Self {
        self.message = m.into();
        self
    }

    pub fn key(mut self, field: &'static str, v: impl ToString) -> Self {
        self.key.insert(field, v.to_string());
        self
    }

    pub fn info(mut self, field: &'static str, v: impl ToString) -> Self {
        self.info.insert(field, v.to_string());
        self
    }

    pub fn flow(mut self, f: FlowId) -> Self {
        self.flow = Some(f);
        self
    }

    pub fn title(mut self, t: impl Into<String>) -> Self {
        self.title = Some(t.into());
        self
    }

    pub fn severity(mut self, s: SensorSeverity) -> Self {
        self.severity = Some(s);
        self
    }

    pub fn event_only(mut self, on: bool) -> Self {
        self.event_only = on;
        self
    }
}
