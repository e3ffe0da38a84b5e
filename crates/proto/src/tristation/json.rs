//! NDJSON form of a TriStation frame (the `tristation` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{command_name, opcode_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let f = &self.frame;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("opcode", &f.opcode)?;
        m.serialize_entry("opcode_name", opcode_name(f.opcode))?;
        m.serialize_entry("channel", &f.channel)?;
        m.serialize_entry("data_length", &f.data_length)?;
        m.serialize_entry("crc16", &f.crc)?;
        if let Some(c) = f.command {
            m.serialize_entry("path", &c.path)?;
            m.serialize_entry("cid", &c.cid)?;
            m.serialize_entry("command", &c.command)?;
            m.serialize_entry("command_name", command_name(c.command))?;
            m.serialize_entry("sequence", &c.sequence)?;
            m.serialize_entry("ts_length", &c.length)?;
            if !c.data.is_empty() {
                m.serialize_entry("data", &Hex(&c.data[..c.data.len().min(64)]))?;
            }
        }
        m.end()
    }
}
