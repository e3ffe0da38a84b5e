//! NDJSON form of a HART-IP message (the `hart_ip` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{command_name, message_id_name, message_type_name, parse_command0, unpack_ascii};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.header;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("version", &h.version)?;
        m.serialize_entry("message_type", &h.message_type)?;
        m.serialize_entry("message_type_name", message_type_name(h.message_type))?;
        m.serialize_entry("message_id", &h.message_id)?;
        m.serialize_entry("message_id_name", message_id_name(h.message_id))?;
        m.serialize_entry("status", &h.status)?;
        m.serialize_entry("sequence", &h.sequence)?;
        m.serialize_entry("byte_count", &h.byte_count)?;
        if h.message_id == 0 && self.body.len() >= 5 {
            m.serialize_entry("master_type", &self.body[0])?;
            let t = u32::from_be_bytes([self.body[1], self.body[2], self.body[3], self.body[4]]);
            m.serialize_entry("inactivity_close_timer_ms", &t)?;
        }
        if let Some(p) = self.pdu {
            m.serialize_entry("delimiter", &p.delimiter)?;
            m.serialize_entry("address", &Hex(p.address))?;
            m.serialize_entry("command", &p.command)?;
            m.serialize_entry("command_name", command_name(p.command))?;
            if let Some(rc) = p.response_code {
                m.serialize_entry("response_code", &rc)?;
            }
            if let Some(ds) = p.device_status {
                m.serialize_entry("device_status", &ds)?;
            }
            if p.from_device()
                && p.command == 0
                && let Some(u) = parse_command0(p.data)
            {
                m.serialize_entry("manufacturer_id", &u.manufacturer_id)?;
                m.serialize_entry("device_type", &u.device_type)?;
                m.serialize_entry("device_id", &format!("{:06x}", u.device_id))?;
                m.serialize_entry("universal_revision", &u.universal_rev)?;
                m.serialize_entry("software_revision", &u.software_rev)?;
            }
            if p.from_device() && p.command == 13 && p.data.len() >= 6 {
                let mut tag = [0u8; 8];
                let n = unpack_ascii(&p.data[..6], &mut tag);
                m.serialize_entry("tag", String::from_utf8_lossy(&tag[..n]).trim_end())?;
            }
            if !p.data.is_empty() {
                m.serialize_entry("data", &Hex(&p.data[..p.data.len().min(64)]))?;
            }
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}
