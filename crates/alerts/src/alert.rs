//! The alert object (reference §1.1).

use std::collections::BTreeMap;
use std::net::IpAddr;

use otwatch_core::{MacAddr, Timestamp};
use serde::ser::SerializeStruct;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::catalog::{AlertType, Engine, SensorSeverity, Severity};

/// How many violations an alert keeps; older ones are counted in
/// [`Alert::violation_count`] only. (The reference's UI shows the first 10.)
pub const MAX_VIOLATIONS: usize = 100;

/// Alert status.
///
/// Serialized as the sensor and API names `New`, `Active`, `Closed`.
/// `Active` means "investigation under way"; it is an open status like `New`.
/// Learned and muted alerts are `Closed` with the matching flag set.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Violation {
    pub ts: Timestamp,
    pub message: String,
}

/// A comment on an alert.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
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

/// The flat form written by `Serialize for Alert`, field for field.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FlatAlert {
    id: String,
    numeric_id: u64,
    sensor_id: String,
    #[serde(rename = "type")]
    type_id: String,
    title: String,
    message: String,
    severity: Severity,
    sensor_severity: SensorSeverity,
    engine: Engine,
    category: String,
    protocol: Option<String>,
    src_device_id: Option<u64>,
    src_ip: Option<IpAddr>,
    src_mac: Option<String>,
    src_name: Option<String>,
    dst_device_id: Option<u64>,
    dst_ip: Option<IpAddr>,
    dst_mac: Option<String>,
    dst_name: Option<String>,
    first_detection: Timestamp,
    last_detection: Timestamp,
    last_activity: Timestamp,
    violations: Vec<Violation>,
    violation_count: u64,
    mitre_tactics: Vec<String>,
    mitre_techniques: Vec<String>,
    remediation: Vec<String>,
    additional_info: BTreeMap<String, String>,
    pcap: Option<String>,
    pcap_available: bool,
    status: Status,
    learned: bool,
    muted: bool,
    comments: Vec<Comment>,
    revision: u64,
}

/// Parses `aa:bb:cc:dd:ee:ff` (also with `-` separators), as `MacAddr`'s
/// `Display` writes it.
fn parse_mac(field: &str, text: &str) -> Result<MacAddr, String> {
    let mut out = [0u8; 6];
    let mut parts = text.split([':', '-']);
    for b in &mut out {
        let p = parts
            .next()
            .ok_or_else(|| format!("{field}: {text:?} has fewer than 6 octets"))?;
        if p.len() != 2 {
            return Err(format!("{field}: {text:?} is not a MAC address"));
        }
        *b = u8::from_str_radix(p, 16)
            .map_err(|_| format!("{field}: {text:?} is not a MAC address"))?;
    }
    if parts.next().is_some() {
        return Err(format!("{field}: {text:?} has more than 6 octets"));
    }
    Ok(MacAddr(out))
}

fn device_ref(
    field: &str,
    id: Option<u64>,
    ip: Option<IpAddr>,
    mac: Option<String>,
    name: Option<String>,
) -> Result<DeviceRef, String> {
    let mac = match mac {
        Some(m) => Some(parse_mac(field, &m)?),
        None => None,
    };
    Ok(DeviceRef { id, ip, mac, name })
}

/// Reads the flat form of `Serialize for Alert` back (the store keeps it).
impl<'de> Deserialize<'de> for Alert {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let f = FlatAlert::deserialize(d)?;
        let source = device_ref("src_mac", f.src_device_id, f.src_ip, f.src_mac, f.src_name)
            .map_err(D::Error::custom)?;
        let destination = device_ref("dst_mac", f.dst_device_id, f.dst_ip, f.dst_mac, f.dst_name)
            .map_err(D::Error::custom)?;
        Ok(Alert {
            id: f.id,
            numeric_id: f.numeric_id,
            sensor_id: f.sensor_id,
            type_id: f.type_id,
            title: f.title,
            message: f.message,
            severity: f.severity,
            sensor_severity: f.sensor_severity,
            engine: f.engine,
            category: f.category,
            protocol: f.protocol,
            source,
            destination,
            first_detection: f.first_detection,
            last_detection: f.last_detection,
            last_activity: f.last_activity,
            violations: f.violations,
            violation_count: f.violation_count,
            mitre_tactics: f.mitre_tactics,
            mitre_techniques: f.mitre_techniques,
            remediation: f.remediation,
            additional_info: f.additional_info,
            pcap: f.pcap,
            pcap_available: f.pcap_available,
            status: f.status,
            learned: f.learned,
            muted: f.muted,
            comments: f.comments,
            revision: f.revision,
        })
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

    #[test]
    fn serde_round_trip_is_exact() {
        let mut a = sample();
        a.source.mac = Some(MacAddr([0x00, 0x0e, 0x8c, 0xab, 0x01, 0xff]));
        a.source.id = Some(3);
        a.destination.name = Some("plc-1".into());
        a.record_violation(Timestamp(2_000_000_123), "function 5".into());
        a.add_comment(Timestamp(3_000), "ann".into(), "checked \"it\"".into());
        a.set_additional_info("unit".into(), "1".into(), Timestamp(3_100));
        a.set_pcap("pcap/s1-7.pcap".into(), Timestamp(3_200));
        a.set_muted(true, Timestamp(3_300));
        let text = serde_json::to_string(&a).unwrap();
        let back: Alert = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
        assert_eq!(serde_json::to_string(&back).unwrap(), text);
    }

    #[test]
    fn deserialize_rejects_bad_macs_and_unknown_fields() {
        let mut v = serde_json::to_value(sample()).unwrap();
        v["src_mac"] = "00:0e:8c:ab:01".into();
        let e = serde_json::from_value::<Alert>(v.clone()).unwrap_err();
        assert!(e.to_string().contains("src_mac"), "{e}");
        v["src_mac"] = serde_json::Value::Null;
        v["extra"] = 1.into();
        assert!(serde_json::from_value::<Alert>(v).is_err());
    }
}
