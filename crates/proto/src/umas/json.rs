//! NDJSON form of a UMAS message (the `umas` object of an event record).

use serde::ser::{Serialize, SerializeMap, Serializer};

use super::Message;
use super::wire::{self, fc, function_name};
use crate::json::Hex;

impl Serialize for Message<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(
            "function_code",
            &crate::protocols::ProtoMessage::function_code(self),
        )?;
        m.serialize_entry("transaction_id", &self.transaction_id)?;
        m.serialize_entry("unit_id", &self.unit_id)?;
        if let Some(k) = self.session {
            m.serialize_entry("session", &k)?;
        }
        let f = self.function();
        m.serialize_entry("function", &f)?;
        m.serialize_entry("function_name", function_name(f))?;
        if let Some(st) = self.status() {
            m.serialize_entry("status", st)?;
        }
        if let Some(e) = self.exception_code {
            m.serialize_entry("exception_code", &e)?;
        }
        if !self.response
            && (f == fc::UPLOAD_BLOCK || f == fc::DOWNLOAD_BLOCK)
            && let Ok(b) = wire::parse_block(f, self.data)
        {
            m.serialize_entry("block", &b.block)?;
            m.serialize_entry("block_length", &b.data.len())?;
        }
        if let Some(r) = self.read_id() {
            m.serialize_entry("hardware_id", &format!("0x{:08x}", r.hardware_id))?;
            m.serialize_entry(
                "firmware",
                &format!("{:x}.{:02x}", r.version >> 8, r.version & 0xff),
            )?;
            if let Some(n) = r.name {
                m.serialize_entry("plc_name", &String::from_utf8_lossy(n))?;
            }
        }
        if !self.data.is_empty() {
            m.serialize_entry("data", &Hex(&self.data[..self.data.len().min(64)]))?;
        }
        if let Some(l) = self.latency_ns {
            m.serialize_entry("latency_us", &(l as f64 / 1000.0))?;
        }
        m.end()
    }
}
