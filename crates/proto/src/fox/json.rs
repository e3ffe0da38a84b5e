//! NDJSON form of a Fox message (the `fox` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::function_name;

/// Hello parameters copied into the record (the others are summarised).
const KEYS: &[&str] = &[
    "fox.version",
    "hostName",
    "hostAddress",
    "app.name",
    "app.version",
    "vm.name",
    "vm.version",
    "os.name",
    "os.version",
    "station.name",
    "brandId",
    "hostId",
    "lang",
    "timeZone",
];

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("type", &lossy(&[f.msg_type]))?;
        m.serialize_entry("channel", &lossy(f.channel))?;
        m.serialize_entry("command", &lossy(f.command))?;
        m.serialize_entry("function", function_name(f.function()))?;
        m.serialize_entry("params", &f.params().count())?;
        for k in KEYS {
            if let Some(v) = f.param(k) {
                m.serialize_entry(k, &lossy(v))?;
            }
        }
        if let Some(v) = f.param("sysInfo") {
            m.serialize_entry("sysInfo_length", &v.len())?;
        }
        m.end()
    }
}
