//! The alert object (reference §1.1).

use std::collections::BTreeMap;
use std::net::IpAddr;

use otwatch_core::{MacAddr, Timestamp};
use serde::ser::SerializeStruct;
use serde::{Serialize, Serializer};

use crate::catalog::{AlertType, Engine, SensorSeverity, Severity};

/// How many violations an alert keeps; older ones are counted in
/// [`Alert::violation_count`] only. (The reference's UI shows the first 10.)
pub const MAX_VIOLATIONS: usize = 100;

/// Alert status.
///
/// Serialized as the sensor and API names `New`, `Active`, `Closed`.
/// `Active` means "investigation under way"; it is an open status like `New`.
/// Learned and muted alerts are `Closed` with the matching flag set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
pub enum Status {
    #[default]
    New,
    Active,
    Closed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "New",
            Status::Active => "Active",
            Status::Closed => "Closed",
        }
    }

    /// The sensor API form: `unhandled` (open) or `handled` (closed).
    pub fn api_state(self) -> &'static str {
        if self.is_open() {
            "unhandled"
        } else {
            "handled"
        }
    }

    /// The management console's name: `Unacknowledged` or `Acknowledged`.
    pub fn console_name(self) -> &'static str {
        if self.is_open() {
            "Unacknowledged"
        } else {
            "Acknowledged"
        }
    }

    pub fn is_open(self) -> bool {
        self != Status::Closed
    }
}

/// A device an alert points at. Every part is optional: a link-layer alert
/// has no IP, a routed one may have no trustworthy MAC, an internet endpoint
/// has no inventory id.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DeviceRef {
    /// Inventory device id.
    pub id: Option<u64>,
    pub ip: Option<IpAddr>,
    pub mac: Option<MacAddr>,
    pub name: Option<String>,
}

/// One detection folded into an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Violation {
    pub ts: Timestamp,
    pub message: String,
}

/// A comment on an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Comment {
    pub ts: Timestamp,
    pub user: String,
    pub text: String,
}

/// One alert: an alert type raised for a set of devices, with every
/// detection that shares its aggregation key.
///
/// Every change goes through a method that increments [`Alert::revision`],
/// which only grows; the sync layer uses it to send changes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Alert {
    /// Globally unique id: `<sensor_id>-<sequence>`.
    pub id: String,
    /// The sequence number: unique on its sensor only.
    pub numeric_id: u64,
    pub sensor_id: String,
    /// Catalog id of the alert type.
    pub type_id: String,
    pub title: String,
    /// The instance message, with the concrete values.
    pub message: String,
    pub severity: Severity,
    pub sensor_severity: SensorSeverity,
    pub engine: Engine,
    pub category: String,
    /// The alert protocol (an otwatch `proto` name, or `tcp`/`udp`/`ip` for
    /// flow-level alerts); `None` for alerts about the sensor itself.
    pub protocol: Option<String>,
    pub source: DeviceRef,
    pub destination: DeviceRef,
    pub first_detection: Timestamp,
    pub last_detection: Timestamp,
    /// Last change of the record (detection, status, flags, comments).
    pub last_activity: Timestamp,
    /// The first [`MAX_VIOLATIONS`] detections.
    pub violations: Vec<Violation>,
    /// All detections, including those not kept in `violations`.
    pub violation_count: u64,
    pub mitre_tactics: Vec<String>,
    pub mitre_techniques: Vec<String>,
    pub remediation: Vec<String>,
    pub additional_info: BTreeMap<String, String>,
    /// Where the alert's capture is stored, when one is.
    pub pcap: Option<String>,
    pub pcap_available: bool,
    pub status: Status,
    pub learned: bool,
    pub muted: bool,
    pub comments: Vec<Comment>,
    pub revision: u64,
}

/// The globally unique alert id `<sensor_id>-<sequence>`.
pub fn global_id(sensor_id: &str, sequence: u64) -> String {
    format!("{sensor_id}-{sequence}")
}

impl Alert {
    /// A new alert of type `t` at its first detection (revision 1, status
    /// New, one violation carrying `message`).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        sensor_id: &str,
        sequence: u64,
        t: &AlertType,
        ts: Timestamp,
        message: String,
        protocol: Option<String>,
        source: DeviceRef,
        destination: DeviceRef,
    ) -> Alert {
        Alert {
            id: global_id(sensor_id, sequence),
            numeric_id: sequence,
            sensor_id: sensor_id.to_string(),
            type_id: t.id.clone(),
            title: t.title.clone(),
            violations: vec![Violation {
                ts,
                message: message.clone(),
            }],
            violation_count: 1,
            message,
            severity: t.severity,
            sensor_severity: t.sensor_severity,
            engine: t.engine,
            category: t.category.clone(),
            protocol,
            source,
            destination,
            first_detection: ts,
            last_detection: ts,
            last_activity: ts,
            mitre_tactics: t.mitre_tactics.clone(),
            mitre_techniques: t.mitre_techniques.clone(),
            remediation: t.remediation.clone(),
            additional_info: BTreeMap::new(),
            pcap: None,
            pcap_available: false,
            status: Status::New,
            learned: false,
            muted: false,
            comments: Vec::new(),
            revision: 1,
        }
    }

    fn changed(&mut self, ts: Timestamp) {
        self.revision += 1;
        if ts > self.last_activity {
            self.last_activity = ts;
        }
    }

    /// Folds another detection with the same aggregation key into the alert.
    pub fn record_violation(&mut self, ts: Timestamp, message: String) {
        if self.violations.len() < MAX_VIOLATIONS {
            self.violations.push(Violation { ts, message });
        }
        self.violation_count += 1;
        if ts > self.last_detection {
            self.last_detection = ts;
        }
        self.changed(ts);
    }

    pub fn set_status(&mut self, status: Status, ts: Timestamp) {
        self.status = status;
        self.changed(ts);
    }

    /// Sets the learned flag; learning also closes the alert. Unlearning
    /// reopens it (status New).
    pub fn set_learned(&mut self, learned: bool, ts: Timestamp) {
        self.learned = learned;
        self.status = if learned { Status::Closed } else { Status::New };
        self.changed(ts);
    }

    /// Sets the muted flag; muting also closes the alert. Unmuting leaves the
    /// status alone (the next matching traffic raises a new alert).
    pub fn set_muted(&mut self, muted: bool, ts: Timestamp) {
        self.muted = muted;
        if muted {
            self.status = Status::Closed;
        }
        self.changed(ts);
    }

    pub fn set_severity(&mut self, sensor_severity: SensorSeverity, ts: Timestamp) {
        self.sensor_severity = sensor_severity;
        self.severity = sensor_severity.severity();
        self.changed(ts);
    }

    pub fn add_comment(&mut self, ts: Timestamp, user: String, text: String) {
        self.comments.push(Comment { ts, user, text });
        self.changed(ts);
    }

    pub fn set_additional_info(&mut self, key: String, value: String, ts: Timestamp) {
        self.additional_info.insert(key, value);
        self.changed(ts);
    }

    /// Records where the alert's capture is stored.
    pub fn set_pcap(&mut self, reference: String, ts: Timestamp) {
        self.pcap = Some(reference);
        self.pcap_available = true;
        self.changed(ts);
    }
}

/// Serialized flat, as one NDJSON/JSON object: the devices become
/// `src_device_id`, `src_ip`, `src_mac`, `src_name` and the same with `dst_`.
impl Serialize for Alert {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Alert", 38)?;
        m.serialize_field("id", &self.id)?;
        m.serialize_field("numeric_id", &self.numeric_id)?;
        m.serialize_field("sensor_id", &self.sensor_id)?;
        m.serialize_field("type", &self.type_id)?;
        m.serialize_field("title", &self.title)?;
        m.serialize_field("message", &self.message)?;
        m.serialize_field("severity", &self.severity)?;
        m.serialize_field("sensor_severity", &self.sensor_severity)?;
        m.serialize_field("engine", &self.engine)?;
        m.serialize_field("category", &self.category)?;
        m.serialize_field("protocol", &self.protocol)?;
        m.serialize_field("src_device_id", &self.source.id)?;
        m.serialize_field("src_ip", &self.source.ip)?;
        m.serialize_field("src_mac", &self.source.mac)?;
        m.serialize_field("src_name", &self.source.name)?;
        m.serialize_field("dst_device_id", &self.destination.id)?;
        m.serialize_field("dst_ip", &self.destination.ip)?;
        m.serialize_field("dst_mac", &self.destination.mac)?;
        m.serialize_field("dst_name", &self.destination.name)?;
        m.serialize_field("first_detection", &self.first_detection)?;
        m.serialize_field("last_detection", &self.last_detection)?;
        m.serialize_field("last_activity", &self.last_activity)?;
        m.serialize_field("violations", &self.violations)?;
        m.serialize_field("violation_count", &self.violation_count)?;
        m.serialize_field("mitre_tactics", &self.mitre_tactics)?;
        m.serialize_field("mitre_techniques", &self.mitre_techniques)?;
        m.serialize_field("remediation", &self.remediation)?;
        m.serialize_field("additional_info", &self.additional_info)?;
        m.serialize_field("pcap", &self.pcap)?;
        m.serialize_field("pcap_available", &self.pcap_available)?;
        m.serialize_field("status", &self.status)?;
        m.serialize_field("learned", &self.learned)?;
        m.serialize_field("muted", &self.muted)?;
        m.serialize_field("comments", &self.comments)?;
        m.serialize_field("revision", &self.revision)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Catalog;

    fn sample() -> Alert {
        let t = Catalog::builtin().get("modbus_function_code").unwrap();
        Alert::new(
            "s1",
            7,
            t,
            Timestamp(1_000),
            "10.0.0.5 used Modbus function 16 on 10.0.0.9".into(),
            Some("modbus".into()),
            DeviceRef {
                ip: Some("10.0.0.5".parse().unwrap()),
                ..DeviceRef::default()
            },
            DeviceRef {
                ip: Some("10.0.0.9".parse().unwrap()),
                ..DeviceRef::default()
            },
        )
    }

    #[test]
    fn new_alert_takes_the_type_facts() {
        let a = sample();
        assert_eq!(a.id, "s1-7");
        assert_eq!(a.numeric_id, 7);
        assert_eq!(a.title, "Unpermitted Usage of Modbus Function Code");
        assert_eq!(a.engine, Engine::PolicyViolation);
        assert_eq!(a.status, Status::New);
        assert_eq!(a.violation_count, 1);
        assert_eq!(a.revision, 1);
        assert!(!a.remediation.is_empty());
    }

    #[test]
    fn every_change_bumps_the_revision() {
        let mut a = sample();
        a.record_violation(Timestamp(2_000), "function 5".into());
        assert_eq!((a.revision, a.last_detection), (2, Timestamp(2_000)));
        a.add_comment(Timestamp(3_000), "ann".into(), "checked".into());
        a.set_status(Status::Active, Timestamp(3_500));
        a.set_learned(true, Timestamp(4_000));
        assert_eq!(a.status, Status::Closed);
        assert_eq!(a.status.api_state(), "handled");
        a.set_learned(false, Timestamp(4_500));
        assert_eq!(a.status, Status::New);
        a.set_muted(true, Timestamp(5_000));
        a.set_pcap("pcap/s1-7.pcap".into(), Timestamp(5_100));
        a.set_severity(SensorSeverity::Warning, Timestamp(5_200));
        assert_eq!(a.severity, Severity::Low);
        assert_eq!(a.revision, 9);
        assert_eq!(a.last_activity, Timestamp(5_200));
        assert_eq!(a.first_detection, Timestamp(1_000));
    }

    #[test]
    fn violations_are_capped_but_counted() {
        let mut a = sample();
        for i in 0..(MAX_VIOLATIONS as i64 + 50) {
            a.record_violation(Timestamp(2_000 + i), format!("v{i}"));
        }
        assert_eq!(a.violations.len(), MAX_VIOLATIONS);
        assert_eq!(a.violation_count, MAX_VIOLATIONS as u64 + 51);
        assert_eq!(
            a.last_detection,
            Timestamp(2_000 + MAX_VIOLATIONS as i64 + 49)
        );
    }
}
