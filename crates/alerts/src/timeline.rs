//! The event timeline (reference §4.4, event types §6.3): what happened on
//! the network and to the alerts, in time order, each entry with a severity
//! (`INFO`, `NOTICE`, `ALERT`), a type with its reference title, the device
//! concerned and a text.
//!
//! Entries come from three places:
//! - the alert manager's change log ([`entry_for_manager_event`]): alert
//!   detected / updated / closed / learned / muted, exclusion hits, custom
//!   rule events;
//! - detections that are also network events ([`entry_for_detection`]):
//!   PLC programming, program upload, stop/start/reset, mode changes,
//!   firmware update, configuration read/write, scans, internet access;
//! - the network itself (`otwatch_engines::timeline::NetworkEvents`):
//!   remote access, logins and their failures, cleartext credentials, file
//!   transfers, SNMP traps, syslog messages, DHCP address updates, new
//!   device connections; and the inventory (device created / updated).
//!
//! The store, filters and CSV export of the sensor build on this type.

use std::net::IpAddr;

use otwatch_core::{MacAddr, Timestamp};
use serde::Serialize;

use crate::detection::Detection;
use crate::manager::{TimelineEvent, TimelineKind};

/// Severity of a timeline entry (the events API's values).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventSeverity {
    Info,
    Notice,
    Alert,
}

impl EventSeverity {
    pub fn as_str(self) -> &'static str {
        match self {
            EventSeverity::Info => "INFO",
            EventSeverity::Notice => "NOTICE",
            EventSeverity::Alert => "ALERT",
        }
    }
}

/// One timeline entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TimelineEntry {
    pub ts: Timestamp,
    pub severity: EventSeverity,
    /// The reference's event type (`PROGRAM_DEVICE`, `REMOTE_ACCESS`, ...).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The reference's title for the type ("PLC Programming").
    pub title: &'static str,
    /// The device the entry is about (the acting device for network events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_ip: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_mac: Option<MacAddr>,
    /// The other device, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub peer_ip: Option<IpAddr>,
    /// The user who acted (manual events and user operations), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// The alert concerned, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub alert_id: Option<String>,
    pub content: String,
}

/// The reference title of an event type (§6.3), `None` for a type otwatch
/// does not produce.
pub fn title_of(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "DEVICE_CREATE" => "Device Detected",
        "DEVICE_UPDATE" => "Device Updated",
        "ALERT_REPORTED" => "Alert Detected",
        "ALERT_UPDATED" => "Alert Updated",
        "SCAN" => "Scan Device Detected",
        "PROGRAM_DEVICE" => "PLC Programming",
        "EXCLUSION_RULE_CREATED" => "Exclusion Rule Created",
        "EXCLUSION_RULE_REMOVED" => "Exclusion Rule Removed",
        "EXCLUSION_RULE_UPDATED" => "Exclusion Rule Updated",
        "DEVICE_CONNECTION_CREATED" => "Device Connection Detected",
        "USER_LOGIN" => "User Login Attempt",
        "FILE_TRANSFER" => "File Transfer Detected",
        "CUSTOM_EVENT" => "User Defined Event",
        "REMOTE_ACCESS" => "Remote Access Connection Established",
        "HTTP_BASIC_AUTHENTICATION" => "HTTP Basic Authentication",
        "SNMP_TRAP" => "SNMP Trap detected",
        "FIRMWARE_UPDATE" => "Firmware Update",
        "PLC_START" => "PLC Start",
        "S7_PLC_MODE_CHANGE" => "PLC Mode Change",
        "USER_DEFINED_RULE_OPERATION" => "User Defined Rule Operation",
        "ENIP_CONTROLLER_GENERIC_RESET" => "Controller Reset",
        "ENIP_CONTROLLER_GENERIC_STOP" => "Controller Stop",
        "FTP_AUTHENTICATION_FAILURE" => "FTP Authentication Failure",
        "TELNET_AUTHENTICATION_FAILURE" => "Telnet Authentication Failure",
        "CLEARTEXT_AUTHENTICATION" => "Cleartext Authentication",
        "PROGRAM_UPLOAD_DEVICE" => "PLC Program Upload",
        "CONFIGURATION_CHANGE" => "PLC Configuration Write",
        "CONFIGURATION_READ" => "PLC Configuration Read",
        "SYSLOG_MSG" => "Syslog Message",
        "INTERNET_ACCESS" => "Internet Access",
        "MUTED_ALERT" => "Event Detected and Muted",
        "DHCP_UPDATE" => "Address Update",
        "PLC_OPERATING_MODE_CHANGED" => "PLC Operating Mode Change Detected",
        "FIRMWARE_CHANGED" => "PLC Firmware Changed",
        // otwatch's own names for the alert actions the reference lists
        // without an event type (§2: learning, muting and closing are
        // recorded on the timeline).
        "ALERT_CLOSED" => "Alert Closed",
        "ALERT_LEARNED" => "Alert Learned",
        "ALERT_UNLEARNED" => "Alert Unlearned",
        "ALERT_MUTED" => "Alert Muted",
        "ALERT_UNMUTED" => "Alert Unmuted",
        "ALERT_EXCLUDED" => "Alert Excluded by a Rule",
        "ALERT_DELETED" => "Alert Deleted",
        _ => return None,
    })
}

impl TimelineEntry {
    /// An entry of `kind` (a type [`title_of`] knows; unknown types get the
    /// type name as title).
    pub fn new(
        ts: Timestamp,
        severity: EventSeverity,
        kind: &'static str,
        content: impl Into<String>,
    ) -> Self {
        TimelineEntry {
            ts,
            severity,
            kind,
            title: title_of(kind).unwrap_or(kind),
            device_ip: None,
            device_mac: None,
            peer_ip: None,
            owner: None,
            alert_id: None,
            content: content.into(),
        }
    }

    pub fn device(mut self, ip: Option<IpAddr>, mac: Option<MacAddr>) -> Self {
        self.device_ip = ip;
        self.device_mac = mac;
        self
    }

    pub fn peer(mut self, ip: Option<IpAddr>) -> Self {
        self.peer_ip = ip;
        self
    }
}

/// The timeline entry of one alert-manager change. `device` is the alert's
/// source device when the caller knows it.
pub fn entry_for_manager_event(
    e: &TimelineEvent,
    device: Option<(Option<IpAddr>, Option<MacAddr>)>,
) -> TimelineEntry {
    let severity = match e.kind {
        TimelineKind::Detected | TimelineKind::MutedDetection => EventSeverity::Alert,
        TimelineKind::Updated | TimelineKind::UserDefinedRule => EventSeverity::Notice,
        _ => EventSeverity::Info,
    };
    let content = if e.message.is_empty() {
        e.title.clone()
    } else {
        format!("{}: {}", e.title, e.message)
    };
    let mut t = TimelineEntry::new(e.ts, severity, e.kind.api_name(), content);
    if let Some((ip, mac)) = device {
        t = t.device(ip, mac);
    }
    t.alert_id = e.alert_id.clone();
    t
}

/// The network event a detection also is (PLC programming, stop, firmware
/// update...), if any. These are recorded whether or not the detection
/// becomes an alert (learned, muted and excluded traffic still happened).
pub fn entry_for_detection(d: &Detection) -> Option<TimelineEntry> {
    let (kind, severity) = match d.type_id {
        "plc_programming" => ("PROGRAM_DEVICE", EventSeverity::Alert),
        "plc_program_upload" => ("PROGRAM_UPLOAD_DEVICE", EventSeverity::Notice),
        "firmware_update" => ("FIRMWARE_UPDATE", EventSeverity::Alert),
        "s7_plc_stop" => ("S7_PLC_MODE_CHANGE", EventSeverity::Alert),
        "controller_stop" if d.protocol == Some("enip") => {
            ("ENIP_CONTROLLER_GENERIC_STOP", EventSeverity::Alert)
        }
        "controller_stop" | "srtp_plc_stop" => ("PLC_OPERATING_MODE_CHANGED", EventSeverity::Alert),
        "controller_reset" => ("ENIP_CONTROLLER_GENERIC_RESET", EventSeverity::Alert),
        "plc_operating_mode_changed" => ("PLC_OPERATING_MODE_CHANGED", EventSeverity::Notice),
        "plc_configuration_write" => ("CONFIGURATION_CHANGE", EventSeverity::Notice),
        "plc_configuration_read" => ("CONFIGURATION_READ", EventSeverity::Info),
        "address_scan"
        | "long_duration_address_scan"
        | "port_scan"
        | "plc_scan"
        | "arp_address_scan" => ("SCAN", EventSeverity::Notice),
        "internet_access_detected"
        | "unauthorized_internet_connectivity"
        | "internal_public_address_internet" => ("INTERNET_ACCESS", EventSeverity::Notice),
        "firmware_version_changed"
        | "firmware_change_detected"
        | "beckhoff_software_changed"
        | "modbus_firmware_version_changed"
        | "mitsubishi_firmware_version_changed"
        | "s7plus_firmware_changed" => ("FIRMWARE_CHANGED", EventSeverity::Notice),
        _ => return None,
    };
    let content = if d.message.is_empty() {
        d.type_id.to_string()
    } else {
        d.message.clone()
    };
    Some(
        TimelineEntry::new(d.ts, severity, kind, content)
            .device(d.src.ip, d.src.mac)
            .peer(d.dst.ip),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detection::Endpoint;

    #[test]
    fn every_produced_type_has_its_reference_title() {
        for (k, t) in [
            ("PROGRAM_DEVICE", "PLC Programming"),
            ("REMOTE_ACCESS", "Remote Access Connection Established"),
            ("DHCP_UPDATE", "Address Update"),
            ("MUTED_ALERT", "Event Detected and Muted"),
        ] {
            assert_eq!(title_of(k), Some(t));
        }
        assert_eq!(title_of("NO_SUCH_TYPE"), None);
    }

    #[test]
    fn programming_detection_is_a_network_event() {
        let d = Detection::new(
            "plc_programming",
            Timestamp(5_000_000_000),
            Endpoint::ip("10.0.0.5".parse().unwrap()),
            Endpoint::ip("10.0.0.9".parse().unwrap()),
        )
        .message("S7 download of FC10");
        let e = entry_for_detection(&d).unwrap();
        assert_eq!(e.kind, "PROGRAM_DEVICE");
        assert_eq!(e.title, "PLC Programming");
        assert_eq!(e.severity, EventSeverity::Alert);
        assert_eq!(e.device_ip, d.src.ip);
        assert_eq!(e.peer_ip, d.dst.ip);
        assert_eq!(e.content, "S7 download of FC10");
        let other = Detection::new("modbus_exception", d.ts, d.src.clone(), d.dst.clone());
        assert!(entry_for_detection(&other).is_none());
    }

    #[test]
    fn severity_serializes_as_the_api_values() {
        let e = TimelineEntry::new(Timestamp(0), EventSeverity::Notice, "SYSLOG_MSG", "x");
        let v = serde_json::to_value(&e).unwrap();
        assert_eq!(v["severity"], "NOTICE");
        assert_eq!(v["type"], "SYSLOG_MSG");
        assert_eq!(v["title"], "Syslog Message");
    }
}
