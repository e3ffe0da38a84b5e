//! NDJSON form of a syslog message (the `syslog` object).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;

/// Message text bytes written per record.
pub const MAX_JSON_MSG: usize = 1024;

const SEVERITIES: [&str; 8] = [
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
];

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let txt = |v: &[u8]| String::from_utf8_lossy(v).into_owned();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("pri", &self.pri)?;
        m.serialize_entry("facility", &self.facility())?;
        m.serialize_entry("severity", &self.severity())?;
        m.serialize_entry("severity_name", SEVERITIES[self.severity() as usize])?;
        m.serialize_entry("format", &self.format)?;
        for (k, v) in [
            ("timestamp", self.timestamp),
            ("hostname", self.hostname),
            ("app_name", self.app_name),
            ("procid", self.procid),
            ("msgid", self.msgid),
        ] {
            if let Some(v) = v {
                m.serialize_entry(k, &txt(v))?;
            }
        }
        m.serialize_entry(
            "message",
            &txt(&self.msg[..self.msg.len().min(MAX_JSON_MSG)]),
        )?;
        m.end()
    }
}
